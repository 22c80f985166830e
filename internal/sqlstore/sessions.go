package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"time"

	"github.com/satchelhq/satchel/internal/satchel"
)

// CreateSession stores a login session.
func (s *Store) CreateSession(ctx context.Context, sess satchel.Session) error {
	_, err := s.db.ExecContext(ctx, `INSERT INTO login_sessions (id, user_id, token_hash, created_at, expires_at)
		VALUES ($1, $2, $3, $4, $5)`, sess.ID, sess.UserID, sess.TokenHash, s.d.ts(sess.CreatedAt), s.d.ts(sess.ExpiresAt))
	return s.wrap("create session", err)
}

// GetSession returns the unexpired session whose token has the given hash,
// and its user.
func (s *Store) GetSession(ctx context.Context, tokenHash string, now time.Time) (satchel.Session, satchel.User, error) {
	var (
		sess satchel.Session
		u    satchel.User
	)
	dest := append([]any{&sess.ID, &sess.UserID, &sess.TokenHash, tsCol{&sess.CreatedAt}, tsCol{&sess.ExpiresAt}}, userDest(&u)...)
	err := s.queryRow(ctx, `SELECT s.id, s.user_id, s.token_hash, s.created_at, s.expires_at, `+userColsOf("u")+`
		FROM login_sessions s JOIN users u ON u.id = s.user_id
		WHERE s.token_hash = $1 AND s.expires_at > $2`, tokenHash, s.d.ts(now)).Scan(dest...)
	if errors.Is(err, sql.ErrNoRows) {
		return sess, u, satchel.NotFound("session")
	}
	return sess, u, s.wrap("get session", err)
}

// DeleteSession ends a login session.
func (s *Store) DeleteSession(ctx context.Context, id string) error {
	_, err := s.db.ExecContext(ctx, `DELETE FROM login_sessions WHERE id = $1`, id)
	return s.wrap("delete session", err)
}

// DeleteExpiredSessions removes sessions that expired before now.
func (s *Store) DeleteExpiredSessions(ctx context.Context, now time.Time) (int64, error) {
	res, err := s.db.ExecContext(ctx, `DELETE FROM login_sessions WHERE expires_at <= $1`, s.d.ts(now))
	if err != nil {
		return 0, s.wrap("delete expired sessions", err)
	}
	return res.RowsAffected()
}
