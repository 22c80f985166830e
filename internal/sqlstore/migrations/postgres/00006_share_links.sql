-- Share links beyond the seed: a download limit and keyset pagination of a
-- user's links; a secret all nodes share (it signs share-unlock cookies); and
-- rate-limit windows that hold across nodes and restarts.
-- +goose Up
ALTER TABLE share_links ADD COLUMN max_downloads INT CHECK (max_downloads IS NULL OR max_downloads >= 1);
CREATE INDEX idx_share_links_user_created ON share_links(created_by_user_id, created_at DESC, id DESC);

CREATE TABLE server_secrets (
    name VARCHAR(50) PRIMARY KEY,
    value BYTEA NOT NULL,
    created_at TIMESTAMPTZ NOT NULL DEFAULT NOW()
);

CREATE TABLE rate_limits (
    key VARCHAR(200) PRIMARY KEY,
    window_start TIMESTAMPTZ NOT NULL,
    count INT NOT NULL
);
CREATE INDEX idx_rate_limits_window_start ON rate_limits(window_start);
