package sqlstore

import (
	"context"
	"crypto/rand"
	"database/sql"
	"errors"
	"time"

	"github.com/satchelhq/satchel/internal/satchel"
)

const shareCols = `s.id, s.file_id, s.created_by_user_id, s.token, s.password_hash, s.expires_at, s.max_downloads,
	s.download_count, s.created_at`

func shareDest(sh *satchel.Share) []any {
	return []any{&sh.ID, &sh.FileID, &sh.UserID, &sh.Token, nullString{&sh.PasswordHash}, nullTSCol{&sh.ExpiresAt},
		nullInt{&sh.MaxDownloads}, &sh.DownloadCount, tsCol{&sh.CreatedAt}}
}

// listShareCols adds the file's name, for lists (joined as f).
const listShareCols = shareCols + `, f.filename`

func listShareDest(sh *satchel.Share) []any { return append(shareDest(sh), &sh.FileName) }

// nullInt scans a nullable integer column.
type nullInt struct{ p **int }

func (c nullInt) Scan(src any) error {
	var n sql.NullInt64
	if err := n.Scan(src); err != nil {
		return err
	}
	if !n.Valid {
		*c.p = nil
		return nil
	}
	v := int(n.Int64)
	*c.p = &v
	return nil
}

func (s *Store) tsPtr(t *time.Time) any {
	if t == nil {
		return nil
	}
	return s.d.ts(*t)
}

// CreateShare stores a share link of one of the user's completed files.
func (s *Store) CreateShare(ctx context.Context, sh satchel.Share) error {
	return s.tx(ctx, "create share", func(ctx context.Context, tx *sql.Tx) error {
		var id string
		err := tx.QueryRowContext(ctx, `SELECT id FROM files WHERE id = $1 AND user_id = $2 AND upload_status = 'completed'`+s.d.forUpdate,
			sh.FileID, sh.UserID).Scan(&id)
		if errors.Is(err, sql.ErrNoRows) {
			return satchel.NotFound("file")
		}
		if err != nil {
			return err
		}
		_, err = tx.ExecContext(ctx, `INSERT INTO share_links (id, file_id, created_by_user_id, token, password_hash,
			expires_at, max_downloads, download_count, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7, 0, $8)`,
			sh.ID, sh.FileID, sh.UserID, sh.Token, nullIfEmpty(sh.PasswordHash), s.tsPtr(sh.ExpiresAt), sh.MaxDownloads, s.d.ts(sh.CreatedAt))
		return err
	})
}

// ListFileShares returns the share links of one of the user's files, newest
// first.
func (s *Store) ListFileShares(ctx context.Context, userID, fileID string) ([]satchel.Share, error) {
	return queryAll(ctx, s, "list file shares", listShareDest, `SELECT `+listShareCols+` FROM share_links s JOIN files f ON f.id = s.file_id
		WHERE s.file_id = $1 AND s.created_by_user_id = $2 ORDER BY s.created_at DESC, s.id DESC`, fileID, userID)
}

// ListShares returns a page of the user's share links, newest first.
func (s *Store) ListShares(ctx context.Context, userID string, after *satchel.Cursor, limit int) (satchel.Page[satchel.Share], error) {
	q := `SELECT ` + listShareCols + ` FROM share_links s JOIN files f ON f.id = s.file_id WHERE s.created_by_user_id = $1`
	args := []any{userID, limit + 1}
	if after != nil {
		q += ` AND (s.created_at < $3 OR (s.created_at = $3 AND s.id < $4))`
		args = append(args, s.d.ts(after.CreatedAt), after.ID)
	}
	q += ` ORDER BY s.created_at DESC, s.id DESC LIMIT $2`
	return queryPage(ctx, s, "list shares", listShareDest, func(sh satchel.Share) satchel.Cursor {
		return satchel.Cursor{CreatedAt: sh.CreatedAt, ID: sh.ID}
	}, limit, q, args...)
}

// GetShare returns one of the user's share links.
func (s *Store) GetShare(ctx context.Context, userID, id string) (satchel.Share, error) {
	var sh satchel.Share
	err := s.db.QueryRowContext(ctx, `SELECT `+listShareCols+` FROM share_links s JOIN files f ON f.id = s.file_id
		WHERE s.id = $1 AND s.created_by_user_id = $2`, id, userID).Scan(listShareDest(&sh)...)
	if errors.Is(err, sql.ErrNoRows) {
		return sh, satchel.NotFound("share")
	}
	return sh, s.wrap("get share", err)
}

// DeleteShare deletes one of the user's share links.
func (s *Store) DeleteShare(ctx context.Context, userID, id string) error {
	res, err := s.db.ExecContext(ctx, `DELETE FROM share_links WHERE id = $1 AND created_by_user_id = $2`, id, userID)
	if err != nil {
		return s.wrap("delete share", err)
	}
	return oneRow(res, nil, "share")
}

// GetShareByToken returns a share link and its file.
func (s *Store) GetShareByToken(ctx context.Context, token string) (satchel.Share, satchel.File, error) {
	var (
		sh satchel.Share
		f  satchel.File
	)
	dest := append(shareDest(&sh), &f.ID, &f.UserID, &f.Filename, &f.StorageKey, &f.MimeType, &f.Size, nullString{&f.SHA256},
		&f.Status, nullString{&f.ThumbnailKey}, tsCol{&f.CreatedAt}, tsCol{&f.UpdatedAt})
	err := s.queryRow(ctx, `SELECT `+shareCols+`, f.id, f.user_id, f.filename, f.storage_key, f.mime_type,
		f.size_bytes, f.sha256, f.upload_status, f.thumbnail_key, f.created_at, f.updated_at
		FROM share_links s JOIN files f ON f.id = s.file_id
		WHERE s.token = $1 AND f.upload_status = 'completed'`, token).Scan(dest...)
	if errors.Is(err, sql.ErrNoRows) {
		return sh, f, satchel.NotFound("share link")
	}
	return sh, f, s.wrap("get share", err)
}

// CountDownload counts one download of a link, if the link still allows one
// at now: it exists, is not expired, is under its download limit, and its
// file is complete and still named fileName (the name the response is about
// to send, so that a caller serving from a copy of the link learns when the
// copy is out of date). The check and the count are one conditional UPDATE,
// so however many downloads race, exactly the limit succeed. Concurrent
// counts share a transaction (see counter.go), so a busy link costs one
// commit for many downloads, not one each.
func (s *Store) CountDownload(ctx context.Context, shareID, fileName string, now time.Time) (bool, error) {
	return s.counter.count(ctx, shareID, fileName, now)
}

// ServerSecret returns the named secret that all nodes share, making it (32
// random bytes) if no node has yet.
func (s *Store) ServerSecret(ctx context.Context, name string, now time.Time) ([]byte, error) {
	fresh := make([]byte, 32)
	if _, err := rand.Read(fresh); err != nil {
		return nil, err
	}
	if _, err := s.db.ExecContext(ctx, `INSERT INTO server_secrets (name, value, created_at) VALUES ($1, $2, $3)
		ON CONFLICT (name) DO NOTHING`, name, fresh, s.d.ts(now)); err != nil {
		return nil, s.wrap("create server secret", err)
	}
	var value []byte
	err := s.db.QueryRowContext(ctx, `SELECT value FROM server_secrets WHERE name = $1`, name).Scan(&value)
	return value, s.wrap("read server secret", err)
}

// TakeAttempts counts one attempt against every limit, atomically: either
// all have room and all count it, or none does and it returns how long until
// the first full one has room again.
func (s *Store) TakeAttempts(ctx context.Context, limits []satchel.RateLimit, now time.Time) (time.Duration, error) {
	var wait time.Duration
	err := s.tx(ctx, "take rate-limited attempt", func(ctx context.Context, tx *sql.Tx) error {
		for _, l := range limits {
			var count int
			err := tx.QueryRowContext(ctx, `INSERT INTO rate_limits (key, window_start, count) VALUES ($1, $2, 1)
				ON CONFLICT (key) DO UPDATE SET
					count = CASE WHEN rate_limits.window_start <= $3 THEN 1 ELSE rate_limits.count + 1 END,
					window_start = CASE WHEN rate_limits.window_start <= $3 THEN $2 ELSE rate_limits.window_start END
				WHERE rate_limits.window_start <= $3 OR rate_limits.count < $4
				RETURNING count`, l.Key, s.d.ts(now), s.d.ts(now.Add(-l.Window)), l.Max).Scan(&count)
			if errors.Is(err, sql.ErrNoRows) {
				var start time.Time
				if err := tx.QueryRowContext(ctx, `SELECT window_start FROM rate_limits WHERE key = $1`, l.Key).Scan(tsCol{&start}); err != nil {
					return err
				}
				wait = max(start.Add(l.Window).Sub(now), time.Second)
				return errLimited
			}
			if err != nil {
				return err
			}
		}
		return nil
	})
	if errors.Is(err, errLimited) {
		return wait, nil
	}
	return 0, err
}

var errLimited = errors.New("limited")

// GiveBackAttempts uncounts an attempt that turned out fine (a right password).
func (s *Store) GiveBackAttempts(ctx context.Context, keys []string) error {
	return s.tx(ctx, "give back attempt", func(ctx context.Context, tx *sql.Tx) error {
		for _, k := range keys {
			if _, err := tx.ExecContext(ctx, `UPDATE rate_limits SET count = count - 1 WHERE key = $1 AND count > 0`, k); err != nil {
				return err
			}
		}
		return nil
	})
}

// DeleteOldRateLimits removes rate-limit windows that started before `before`.
func (s *Store) DeleteOldRateLimits(ctx context.Context, before time.Time) (int64, error) {
	res, err := s.db.ExecContext(ctx, `DELETE FROM rate_limits WHERE window_start < $1`, s.d.ts(before))
	if err != nil {
		return 0, s.wrap("delete old rate limits", err)
	}
	return res.RowsAffected()
}
