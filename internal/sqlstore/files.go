package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"strconv"
	"strings"
	"time"

	"github.com/satchelhq/satchel/internal/satchel"
)

const fileCols = `id, user_id, filename, storage_key, mime_type, size_bytes, sha256, upload_status, thumbnail_key, created_at, updated_at`

func fileDest(f *satchel.File) []any {
	return []any{&f.ID, &f.UserID, &f.Filename, &f.StorageKey, &f.MimeType, &f.Size, nullString{&f.SHA256},
		&f.Status, nullString{&f.ThumbnailKey}, tsCol{&f.CreatedAt}, tsCol{&f.UpdatedAt}}
}

// reserve adds n bytes to a user's storage counter. With quota > 0 it refuses
// (ErrQuotaExceeded) when the counter would pass the quota; the check and the
// addition are one statement, so concurrent uploads cannot together pass it.
func (s *Store) reserve(ctx context.Context, tx *sql.Tx, userID string, n, quota int64) error {
	q := `UPDATE users SET storage_used_bytes = storage_used_bytes + $1 WHERE id = $2`
	args := []any{n, userID}
	if quota > 0 && n > 0 {
		q += ` AND storage_used_bytes + $1 <= $3`
		args = append(args, quota)
	}
	res, err := tx.ExecContext(ctx, q, args...)
	if err != nil {
		return err
	}
	if affected, err := res.RowsAffected(); err != nil {
		return err
	} else if affected == 0 {
		return satchel.Errorf(satchel.ErrQuotaExceeded, "the upload does not fit in your storage quota")
	}
	return nil
}

// BeginFile records an upload in flight: a pending file row whose size_bytes
// is the space reserved for it, added to the user's storage counter.
func (s *Store) BeginFile(ctx context.Context, f satchel.File, quota int64) error {
	return s.tx(ctx, "begin file", func(ctx context.Context, tx *sql.Tx) error {
		if err := s.reserve(ctx, tx, f.UserID, f.Size, quota); err != nil {
			return err
		}
		_, err := tx.ExecContext(ctx, `INSERT INTO files (id, user_id, filename, storage_key, mime_type, size_bytes,
			upload_status, created_at, updated_at) VALUES ($1, $2, $3, $4, $5, $6, 'pending', $7, $7)`,
			f.ID, f.UserID, f.Filename, f.StorageKey, f.MimeType, f.Size, s.d.ts(f.CreatedAt))
		return err
	})
}

// GrowFile reserves more space for a pending file: want bytes, or as much of
// the quota as is left if less, but at least need; less than need is
// ErrQuotaExceeded. It returns the bytes reserved and marks the upload alive.
func (s *Store) GrowFile(ctx context.Context, userID, fileID string, need, want, quota int64, now time.Time) (int64, error) {
	var granted int64
	err := s.tx(ctx, "grow file reservation", func(ctx context.Context, tx *sql.Tx) error {
		var used int64
		if err := tx.QueryRowContext(ctx, `SELECT storage_used_bytes FROM users WHERE id = $1`+s.d.forUpdate, userID).Scan(&used); err != nil {
			return err
		}
		granted = want
		if quota > 0 {
			granted = min(want, quota-used)
		}
		if granted < need {
			return satchel.Errorf(satchel.ErrQuotaExceeded, "the upload does not fit in your storage quota")
		}
		if _, err := tx.ExecContext(ctx, `UPDATE users SET storage_used_bytes = storage_used_bytes + $1 WHERE id = $2`, granted, userID); err != nil {
			return err
		}
		res, err := tx.ExecContext(ctx, `UPDATE files SET size_bytes = size_bytes + $1, updated_at = $2
			WHERE id = $3 AND user_id = $4 AND upload_status = 'pending'`, granted, s.d.ts(now), fileID, userID)
		return oneRow(res, err, "upload")
	})
	return granted, err
}

// TouchFile marks a pending file's upload as still alive.
func (s *Store) TouchFile(ctx context.Context, fileID string, now time.Time) error {
	_, err := s.db.ExecContext(ctx, `UPDATE files SET updated_at = $1 WHERE id = $2 AND upload_status = 'pending'`, s.d.ts(now), fileID)
	return s.wrap("touch pending file", err)
}

// DeleteStalePendingFiles deletes up to limit pending files whose upload has
// shown no sign of life since before `before` (their request died with a
// crash), releases their reservations, and returns them so their blobs can
// be removed.
func (s *Store) DeleteStalePendingFiles(ctx context.Context, before time.Time, limit int) ([]satchel.File, error) {
	ids, err := queryAll(ctx, s, "find stale uploads", oneString,
		`SELECT id FROM files WHERE upload_status = 'pending' AND updated_at < $1 LIMIT $2`, s.d.ts(before), limit)
	if err != nil {
		return nil, err
	}
	var gone []satchel.File
	for _, id := range ids {
		var f satchel.File
		err := s.tx(ctx, "delete stale upload", func(ctx context.Context, tx *sql.Tx) error {
			err := tx.QueryRowContext(ctx, `DELETE FROM files WHERE id = $1 AND upload_status = 'pending' AND updated_at < $2
				RETURNING `+fileCols, id, s.d.ts(before)).Scan(fileDest(&f)...)
			if err != nil {
				return err
			}
			_, err = tx.ExecContext(ctx, `UPDATE users SET storage_used_bytes = storage_used_bytes - $1 WHERE id = $2`, f.Size, f.UserID)
			return err
		})
		if errors.Is(err, satchel.ErrNotFound) {
			continue // it showed life meanwhile
		}
		if err != nil {
			return gone, err
		}
		gone = append(gone, f)
	}
	return gone, nil
}

// CompleteFile turns a pending file into a completed one with its final size,
// digest and type, and settles the user's counter: the reservation is
// replaced by the real size.
func (s *Store) CompleteFile(ctx context.Context, f satchel.File, now time.Time) (satchel.File, error) {
	var out satchel.File
	err := s.tx(ctx, "complete file", func(ctx context.Context, tx *sql.Tx) error {
		var reserved int64
		err := tx.QueryRowContext(ctx, `SELECT size_bytes FROM files
			WHERE id = $1 AND user_id = $2 AND upload_status = 'pending'`, f.ID, f.UserID).Scan(&reserved)
		if errors.Is(err, sql.ErrNoRows) {
			return satchel.NotFound("upload")
		}
		if err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, `UPDATE users SET storage_used_bytes = storage_used_bytes + $1 WHERE id = $2`,
			f.Size-reserved, f.UserID); err != nil {
			return err
		}
		if err := tx.QueryRowContext(ctx, `UPDATE files SET upload_status = 'completed', size_bytes = $1, sha256 = $2,
			mime_type = $3, created_at = $4, updated_at = $4 WHERE id = $5 RETURNING `+fileCols,
			f.Size, f.SHA256, f.MimeType, s.d.ts(now), f.ID).Scan(fileDest(&out)...); err != nil {
			return err
		}
		return s.enqueueThumbnail(ctx, tx, out)
	})
	return out, err
}

// AbortFile forgets a pending file and releases its reservation. It reports
// whether there was a pending file to forget: false means it is gone, or it
// was completed after all.
func (s *Store) AbortFile(ctx context.Context, userID, fileID string) (bool, error) {
	removed := false
	err := s.tx(ctx, "abort file", func(ctx context.Context, tx *sql.Tx) error {
		var reserved int64
		err := tx.QueryRowContext(ctx, `DELETE FROM files WHERE id = $1 AND user_id = $2 AND upload_status = 'pending'
			RETURNING size_bytes`, fileID, userID).Scan(&reserved)
		if errors.Is(err, sql.ErrNoRows) {
			return nil
		}
		if err != nil {
			return err
		}
		removed = true
		_, err = tx.ExecContext(ctx, `UPDATE users SET storage_used_bytes = storage_used_bytes - $1 WHERE id = $2`, reserved, userID)
		return err
	})
	return removed, err
}

// GetFile returns one of a user's completed files.
func (s *Store) GetFile(ctx context.Context, userID, id string) (satchel.File, error) {
	var f satchel.File
	err := s.queryRow(ctx, `SELECT `+fileCols+` FROM files
		WHERE id = $1 AND user_id = $2 AND upload_status = 'completed'`, id, userID).Scan(fileDest(&f)...)
	if errors.Is(err, sql.ErrNoRows) {
		return f, satchel.NotFound("file")
	}
	return f, s.wrap("get file", err)
}

// ListFiles returns up to limit of a user's completed files, newest first,
// after the cursor when one is given, and the cursor of the next page.
// A search matches names that contain it, ignoring case.
func (s *Store) ListFiles(ctx context.Context, userID, search string, after *satchel.Cursor, limit int) (satchel.Page[satchel.File], error) {
	q := `SELECT ` + fileCols + ` FROM files WHERE user_id = $1 AND upload_status = 'completed'`
	args := []any{userID, limit + 1}
	if after != nil {
		q += ` AND (created_at < $3 OR (created_at = $3 AND id < $4))`
		args = append(args, s.d.ts(after.CreatedAt), after.ID)
	}
	if search != "" {
		// Both sides go through the database's lower(), so they agree
		// (SQLite's folds ASCII letters only).
		args = append(args, "%"+likeEscaper.Replace(search)+"%")
		q += ` AND lower(filename) LIKE lower($` + strconv.Itoa(len(args)) + `) ESCAPE '\'`
	}
	q += ` ORDER BY created_at DESC, id DESC LIMIT $2`
	return queryPage(ctx, s, "list files", fileDest, func(f satchel.File) satchel.Cursor {
		return satchel.Cursor{CreatedAt: f.CreatedAt, ID: f.ID}
	}, limit, q, args...)
}

// RenameFile changes a file's display name.
func (s *Store) RenameFile(ctx context.Context, userID, id, filename string, now time.Time) (satchel.File, error) {
	var f satchel.File
	err := s.db.QueryRowContext(ctx, `UPDATE files SET filename = $1, updated_at = $2
		WHERE id = $3 AND user_id = $4 AND upload_status = 'completed' RETURNING `+fileCols,
		filename, s.d.ts(now), id, userID).Scan(fileDest(&f)...)
	if errors.Is(err, sql.ErrNoRows) {
		return f, satchel.NotFound("file")
	}
	return f, s.wrap("rename file", err)
}

// DeleteFile deletes a file's row (its share links go with it) and releases
// its bytes from the user's counter. It returns the deleted row so the caller
// can remove the blob and thumbnail.
func (s *Store) DeleteFile(ctx context.Context, userID, id string) (satchel.File, error) {
	var f satchel.File
	err := s.tx(ctx, "delete file", func(ctx context.Context, tx *sql.Tx) error {
		err := tx.QueryRowContext(ctx, `DELETE FROM files WHERE id = $1 AND user_id = $2 AND upload_status = 'completed'
			RETURNING `+fileCols, id, userID).Scan(fileDest(&f)...)
		if errors.Is(err, sql.ErrNoRows) {
			return satchel.NotFound("file")
		}
		if err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, `UPDATE users SET storage_used_bytes = storage_used_bytes - $1 WHERE id = $2`, f.Size, userID); err != nil {
			return err
		}
		return s.enqueueBlobDeletion(ctx, tx, f.StorageKey, f.ThumbnailKey)
	})
	return f, err
}

// likeEscaper escapes LIKE's wildcards, so a search is plain text.
var likeEscaper = strings.NewReplacer(`\`, `\\`, `%`, `\%`, `_`, `\_`)

func oneRow(res sql.Result, err error, what string) error {
	if err != nil {
		return err
	}
	n, err := res.RowsAffected()
	if err != nil {
		return err
	}
	if n == 0 {
		return satchel.NotFound(what)
	}
	return nil
}
