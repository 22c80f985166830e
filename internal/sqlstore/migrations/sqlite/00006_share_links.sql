-- Share links beyond the seed: a download limit and keyset pagination of a
-- user's links; a secret all nodes share (it signs share-unlock cookies); and
-- rate-limit windows that hold across nodes and restarts.
-- +goose Up
ALTER TABLE share_links ADD COLUMN max_downloads INTEGER CHECK (max_downloads IS NULL OR max_downloads >= 1);
CREATE INDEX idx_share_links_user_created ON share_links(created_by_user_id, created_at DESC, id DESC);

CREATE TABLE server_secrets (
    name TEXT PRIMARY KEY NOT NULL CHECK (length(name) <= 50),
    value BLOB NOT NULL,
    created_at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%f', 'now') || '000Z')
) STRICT;

CREATE TABLE rate_limits (
    key TEXT PRIMARY KEY NOT NULL CHECK (length(key) <= 200),
    window_start TEXT NOT NULL,
    count INTEGER NOT NULL
) STRICT;
CREATE INDEX idx_rate_limits_window_start ON rate_limits(window_start);
