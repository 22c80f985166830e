-- Resumable uploads: what the contract's Upload object needs beyond the seed's
-- upload_sessions, the chunks received so far, and the SHA-256 state of the
-- contiguous prefix of chunks (so an in-order upload completes without
-- reading its bytes again).
-- +goose Up
ALTER TABLE upload_sessions ADD COLUMN total_size BIGINT NOT NULL DEFAULT 0;
ALTER TABLE upload_sessions ADD COLUMN chunk_size BIGINT NOT NULL DEFAULT 0;
ALTER TABLE upload_sessions ADD COLUMN mime_type VARCHAR(100);
ALTER TABLE upload_sessions ADD COLUMN sha256 VARCHAR(64);
ALTER TABLE upload_sessions ADD COLUMN storage_key TEXT UNIQUE;
ALTER TABLE upload_sessions ADD COLUMN storage_ref TEXT;
ALTER TABLE upload_sessions ADD COLUMN file_id UUID REFERENCES files(id) ON DELETE SET NULL;
ALTER TABLE upload_sessions ADD COLUMN expires_at TIMESTAMPTZ;
ALTER TABLE upload_sessions ADD COLUMN hash_state BYTEA;
ALTER TABLE upload_sessions ADD COLUMN hashed_chunks INT NOT NULL DEFAULT 0;
ALTER TABLE upload_sessions ADD COLUMN completing_until TIMESTAMPTZ;
CREATE INDEX idx_upload_sessions_expires_at ON upload_sessions(expires_at);
CREATE INDEX idx_upload_sessions_user_created ON upload_sessions(user_id, created_at DESC, id DESC);

CREATE TABLE upload_chunks (
    upload_id UUID NOT NULL REFERENCES upload_sessions(id) ON DELETE CASCADE,
    chunk_index INT NOT NULL,
    size_bytes BIGINT NOT NULL,
    sha256 VARCHAR(64) NOT NULL,
    etag TEXT,
    created_at TIMESTAMPTZ NOT NULL DEFAULT NOW(),
    PRIMARY KEY (upload_id, chunk_index)
);
