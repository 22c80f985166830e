-- Files beyond the seed: the SHA-256 of the content (the download ETag) and an
-- index for the newest-first keyset pagination of a user's files.
-- +goose Up
ALTER TABLE files ADD COLUMN sha256 TEXT CHECK (length(sha256) <= 64);
CREATE INDEX idx_files_user_created ON files (user_id, created_at DESC, id DESC);
