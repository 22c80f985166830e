-- updated_at follows the application's clock when a statement sets it, and
-- the database's otherwise, in the same fixed-width format the application
-- writes (so times sort as text); a user's updated_at moves when their
-- account changes, not when their storage counter does.
-- +goose Up
DROP TRIGGER trigger_set_updated_at_users;
DROP TRIGGER trigger_set_updated_at_files;
DROP TRIGGER trigger_set_updated_at_upload_sessions;

-- +goose StatementBegin
CREATE TRIGGER trigger_set_updated_at_users AFTER UPDATE OF username, email, password_hash ON users
FOR EACH ROW WHEN NEW.updated_at IS OLD.updated_at
BEGIN
    UPDATE users SET updated_at = strftime('%Y-%m-%dT%H:%M:%f', 'now') || '000Z' WHERE id = NEW.id;
END;
-- +goose StatementEnd

-- +goose StatementBegin
CREATE TRIGGER trigger_set_updated_at_files AFTER UPDATE ON files
FOR EACH ROW WHEN NEW.updated_at IS OLD.updated_at
BEGIN
    UPDATE files SET updated_at = strftime('%Y-%m-%dT%H:%M:%f', 'now') || '000Z' WHERE id = NEW.id;
END;
-- +goose StatementEnd

-- +goose StatementBegin
CREATE TRIGGER trigger_set_updated_at_upload_sessions AFTER UPDATE ON upload_sessions
FOR EACH ROW WHEN NEW.updated_at IS OLD.updated_at
BEGIN
    UPDATE upload_sessions SET updated_at = strftime('%Y-%m-%dT%H:%M:%f', 'now') || '000Z' WHERE id = NEW.id;
END;
-- +goose StatementEnd
