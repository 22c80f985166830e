package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"time"

	"github.com/satchelhq/satchel/internal/satchel"
)

const userCols = `id, username, email, password_hash, storage_used_bytes, created_at, updated_at`

// prefixed returns userCols qualified by a table alias.
func userColsOf(alias string) string {
	return alias + ".id, " + alias + ".username, " + alias + ".email, " + alias + ".password_hash, " +
		alias + ".storage_used_bytes, " + alias + ".created_at, " + alias + ".updated_at"
}

func userDest(u *satchel.User) []any {
	return []any{&u.ID, &u.Username, &u.Email, &u.PasswordHash, &u.StorageUsed, tsCol{&u.CreatedAt}, tsCol{&u.UpdatedAt}}
}

// CreateUser inserts a user. A taken username or email is ErrConflict naming
// the field.
func (s *Store) CreateUser(ctx context.Context, u satchel.User) (satchel.User, error) {
	row := s.db.QueryRowContext(ctx, `INSERT INTO users (id, username, email, password_hash, created_at, updated_at)
		VALUES ($1, $2, $3, $4, $5, $5) RETURNING `+userCols,
		u.ID, u.Username, u.Email, u.PasswordHash, s.d.ts(u.CreatedAt))
	var out satchel.User
	if err := row.Scan(userDest(&out)...); err != nil {
		return out, s.wrap("create user", err)
	}
	return out, nil
}

// GetUser returns a user by ID.
func (s *Store) GetUser(ctx context.Context, id string) (satchel.User, error) {
	var u satchel.User
	err := s.db.QueryRowContext(ctx, `SELECT `+userCols+` FROM users WHERE id = $1`, id).Scan(userDest(&u)...)
	if errors.Is(err, sql.ErrNoRows) {
		return u, satchel.NotFound("user")
	}
	return u, s.wrap("get user", err)
}

// GetUserByLogin returns the user whose username or email is login, compared
// case-insensitively.
func (s *Store) GetUserByLogin(ctx context.Context, login string) (satchel.User, error) {
	var u satchel.User
	err := s.db.QueryRowContext(ctx, `SELECT `+userCols+` FROM users
		WHERE lower(username) = lower($1) OR lower(email) = lower($1)`, login).Scan(userDest(&u)...)
	if errors.Is(err, sql.ErrNoRows) {
		return u, satchel.NotFound("user")
	}
	return u, s.wrap("get user by login", err)
}

// UpdateUser changes a user's email and/or password hash; nil leaves a field
// as it is. When the password changes, it ends every login session of the
// user except keepSession.
func (s *Store) UpdateUser(ctx context.Context, id string, email, passwordHash *string, keepSession string, now time.Time) (satchel.User, error) {
	var u satchel.User
	err := s.tx(ctx, "update user", func(ctx context.Context, tx *sql.Tx) error {
		err := tx.QueryRowContext(ctx, `UPDATE users SET
			email = COALESCE($1, email), password_hash = COALESCE($2, password_hash), updated_at = $3
			WHERE id = $4 RETURNING `+userCols,
			email, passwordHash, s.d.ts(now), id).Scan(userDest(&u)...)
		if errors.Is(err, sql.ErrNoRows) {
			return satchel.NotFound("user")
		}
		if err != nil || passwordHash == nil {
			return err
		}
		if keepSession == "" {
			_, err = tx.ExecContext(ctx, `DELETE FROM login_sessions WHERE user_id = $1`, id)
		} else {
			_, err = tx.ExecContext(ctx, `DELETE FROM login_sessions WHERE user_id = $1 AND id <> $2`, id, keepSession)
		}
		return err
	})
	return u, err
}
