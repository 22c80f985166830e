-- Accounts beyond the seed: a storage counter for quotas, case-insensitive
-- uniqueness of usernames and emails, API key names and login sessions.
-- +goose Up
ALTER TABLE users ADD COLUMN storage_used_bytes BIGINT NOT NULL DEFAULT 0;
CREATE UNIQUE INDEX users_username_lower_key ON users (lower(username));
CREATE UNIQUE INDEX users_email_lower_key ON users (lower(email));

ALTER TABLE api_keys ADD COLUMN name VARCHAR(100) NOT NULL DEFAULT '';

CREATE TABLE login_sessions (
    id UUID PRIMARY KEY,
    user_id UUID NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    token_hash VARCHAR(64) NOT NULL UNIQUE,
    created_at TIMESTAMPTZ NOT NULL DEFAULT NOW(),
    expires_at TIMESTAMPTZ NOT NULL
);
CREATE INDEX idx_login_sessions_user_id ON login_sessions(user_id);
CREATE INDEX idx_login_sessions_expires_at ON login_sessions(expires_at);
