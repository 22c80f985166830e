-- Resumable uploads: what the contract's Upload object needs beyond the seed's
-- upload_sessions, the chunks received so far, and the SHA-256 state of the
-- contiguous prefix of chunks (so an in-order upload completes without
-- reading its bytes again).
-- +goose Up
ALTER TABLE upload_sessions ADD COLUMN total_size INTEGER NOT NULL DEFAULT 0;
ALTER TABLE upload_sessions ADD COLUMN chunk_size INTEGER NOT NULL DEFAULT 0;
ALTER TABLE upload_sessions ADD COLUMN mime_type TEXT CHECK (length(mime_type) <= 100);
ALTER TABLE upload_sessions ADD COLUMN sha256 TEXT CHECK (length(sha256) <= 64);
ALTER TABLE upload_sessions ADD COLUMN storage_key TEXT;
ALTER TABLE upload_sessions ADD COLUMN storage_ref TEXT;
ALTER TABLE upload_sessions ADD COLUMN file_id TEXT REFERENCES files(id) ON DELETE SET NULL;
ALTER TABLE upload_sessions ADD COLUMN expires_at TEXT;
ALTER TABLE upload_sessions ADD COLUMN hash_state BLOB;
ALTER TABLE upload_sessions ADD COLUMN hashed_chunks INTEGER NOT NULL DEFAULT 0;
ALTER TABLE upload_sessions ADD COLUMN completing_until TEXT;
-- SQLite cannot add a UNIQUE column; a unique index does the same.
CREATE UNIQUE INDEX upload_sessions_storage_key_key ON upload_sessions(storage_key);
CREATE INDEX idx_upload_sessions_expires_at ON upload_sessions(expires_at);
CREATE INDEX idx_upload_sessions_user_created ON upload_sessions(user_id, created_at DESC, id DESC);

CREATE TABLE upload_chunks (
    upload_id TEXT NOT NULL REFERENCES upload_sessions(id) ON DELETE CASCADE,
    chunk_index INTEGER NOT NULL,
    size_bytes INTEGER NOT NULL,
    sha256 TEXT NOT NULL CHECK (length(sha256) <= 64),
    etag TEXT,
    created_at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')),
    PRIMARY KEY (upload_id, chunk_index)
) STRICT;
