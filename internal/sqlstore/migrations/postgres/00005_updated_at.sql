-- updated_at follows the application's clock when a statement sets it, and
-- the database's otherwise; a user's updated_at moves when their account
-- changes, not when their storage counter does.
-- +goose Up
-- +goose StatementBegin
CREATE OR REPLACE FUNCTION set_updated_at()
RETURNS TRIGGER AS $$
BEGIN
    IF NEW.updated_at IS NOT DISTINCT FROM OLD.updated_at THEN
        NEW.updated_at = NOW();
    END IF;
    RETURN NEW;
END;
$$ LANGUAGE plpgsql;
-- +goose StatementEnd

DROP TRIGGER trigger_set_updated_at_users ON users;
CREATE TRIGGER trigger_set_updated_at_users
BEFORE UPDATE OF username, email, password_hash ON users
FOR EACH ROW
EXECUTE FUNCTION set_updated_at();
