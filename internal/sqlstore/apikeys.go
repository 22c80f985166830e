package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"time"

	"github.com/satchelhq/satchel/internal/satchel"
)

const apiKeyCols = `k.id, k.user_id, k.name, k.prefix, k.key_hash, k.created_at, k.last_used_at`

func apiKeyDest(k *satchel.APIKey) []any {
	return []any{&k.ID, &k.UserID, &k.Name, &k.Prefix, &k.KeyHash, tsCol{&k.CreatedAt}, nullTSCol{&k.LastUsedAt}}
}

// CreateAPIKey stores an API key (its hash, never the key).
func (s *Store) CreateAPIKey(ctx context.Context, k satchel.APIKey) error {
	_, err := s.db.ExecContext(ctx, `INSERT INTO api_keys (id, user_id, name, prefix, key_hash, created_at)
		VALUES ($1, $2, $3, $4, $5, $6)`, k.ID, k.UserID, k.Name, k.Prefix, k.KeyHash, s.d.ts(k.CreatedAt))
	return s.wrap("create api key", err)
}

// ListAPIKeys returns a user's keys, newest first.
func (s *Store) ListAPIKeys(ctx context.Context, userID string) ([]satchel.APIKey, error) {
	return queryAll(ctx, s, "list api keys", apiKeyDest, `SELECT `+apiKeyCols+` FROM api_keys k
		WHERE k.user_id = $1 ORDER BY k.created_at DESC, k.id DESC`, userID)
}

// GetAPIKeyByPrefix returns the key with the given public prefix and its user.
func (s *Store) GetAPIKeyByPrefix(ctx context.Context, prefix string) (satchel.APIKey, satchel.User, error) {
	var (
		k satchel.APIKey
		u satchel.User
	)
	err := s.queryRow(ctx, `SELECT `+apiKeyCols+`, `+userColsOf("u")+`
		FROM api_keys k JOIN users u ON u.id = k.user_id WHERE k.prefix = $1`, prefix).
		Scan(append(apiKeyDest(&k), userDest(&u)...)...)
	if errors.Is(err, sql.ErrNoRows) {
		return k, u, satchel.NotFound("api key")
	}
	return k, u, s.wrap("get api key", err)
}

// TouchAPIKey records that a key was used at now, unless that was already
// recorded less than minAge ago: a busy key costs one write a minute, not one
// a request.
func (s *Store) TouchAPIKey(ctx context.Context, id string, now time.Time, minAge time.Duration) error {
	_, err := s.db.ExecContext(ctx, `UPDATE api_keys SET last_used_at = $1
		WHERE id = $2 AND (last_used_at IS NULL OR last_used_at <= $3)`,
		s.d.ts(now), id, s.d.ts(now.Add(-minAge)))
	return s.wrap("touch api key", err)
}

// DeleteAPIKey deletes one of a user's keys.
func (s *Store) DeleteAPIKey(ctx context.Context, userID, id string) error {
	res, err := s.db.ExecContext(ctx, `DELETE FROM api_keys WHERE id = $1 AND user_id = $2`, id, userID)
	if err != nil {
		return s.wrap("delete api key", err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return satchel.NotFound("api key")
	}
	return nil
}
