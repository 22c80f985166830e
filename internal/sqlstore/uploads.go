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

const uploadCols = `id, user_id, file_name, total_size, chunk_size, total_chunks, COALESCE(uploaded_chunks, 0),
	COALESCE(status, 'in_progress'), file_id, mime_type, sha256, storage_key, storage_ref, hash_state, hashed_chunks,
	expires_at, created_at, updated_at`

func uploadDest(u *satchel.Upload) []any {
	return []any{&u.ID, &u.UserID, &u.FileName, &u.TotalSize, &u.ChunkSize, &u.TotalChunks, &u.UploadedChunks,
		&u.Status, nullString{&u.FileID}, nullString{&u.MimeType}, nullString{&u.SHA256}, nullString{&u.StorageKey},
		nullString{&u.StorageRef}, &u.HashState, &u.HashedChunks, tsCol{&u.ExpiresAt}, tsCol{&u.CreatedAt}, tsCol{&u.UpdatedAt}}
}

// CreateUpload records a new upload session and reserves its total size in
// the user's storage counter (refused past the quota).
func (s *Store) CreateUpload(ctx context.Context, u satchel.Upload, quota int64) error {
	return s.tx(ctx, "create upload", func(ctx context.Context, tx *sql.Tx) error {
		if err := s.reserve(ctx, tx, u.UserID, u.TotalSize, quota); err != nil {
			return err
		}
		_, err := tx.ExecContext(ctx, `INSERT INTO upload_sessions (id, user_id, file_name, total_size, chunk_size,
			total_chunks, uploaded_chunks, status, mime_type, sha256, storage_key, storage_ref, hash_state, hashed_chunks,
			expires_at, created_at, updated_at)
			VALUES ($1, $2, $3, $4, $5, $6, 0, 'in_progress', $7, $8, $9, $10, $11, 0, $12, $13, $13)`,
			u.ID, u.UserID, u.FileName, u.TotalSize, u.ChunkSize, u.TotalChunks, nullIfEmpty(u.MimeType),
			nullIfEmpty(u.SHA256), u.StorageKey, nullIfEmpty(u.StorageRef), u.HashState, s.d.ts(u.ExpiresAt), s.d.ts(u.CreatedAt))
		return err
	})
}

// GetUpload returns one of a user's unexpired uploads with its received chunks.
func (s *Store) GetUpload(ctx context.Context, userID, id string, now time.Time) (satchel.Upload, error) {
	var u satchel.Upload
	err := s.db.QueryRowContext(ctx, `SELECT `+uploadCols+` FROM upload_sessions
		WHERE id = $1 AND user_id = $2 AND expires_at > $3`, id, userID, s.d.ts(now)).Scan(uploadDest(&u)...)
	if errors.Is(err, sql.ErrNoRows) {
		return u, satchel.NotFound("upload")
	}
	if err != nil {
		return u, s.wrap("get upload", err)
	}
	return u, s.fillReceived(ctx, []*satchel.Upload{&u})
}

// ListUploads returns a page of a user's unfinished, unexpired uploads,
// newest first.
func (s *Store) ListUploads(ctx context.Context, userID string, after *satchel.Cursor, limit int, now time.Time) (satchel.Page[satchel.Upload], error) {
	q := `SELECT ` + uploadCols + ` FROM upload_sessions
		WHERE user_id = $1 AND status = 'in_progress' AND expires_at > $3`
	args := []any{userID, limit + 1, s.d.ts(now)}
	if after != nil {
		q += ` AND (created_at < $4 OR (created_at = $4 AND id < $5))`
		args = append(args, s.d.ts(after.CreatedAt), after.ID)
	}
	q += ` ORDER BY created_at DESC, id DESC LIMIT $2`
	page, err := queryPage(ctx, s, "list uploads", uploadDest, func(u satchel.Upload) satchel.Cursor {
		return satchel.Cursor{CreatedAt: u.CreatedAt, ID: u.ID}
	}, limit, q, args...)
	if err != nil {
		return page, err
	}
	ptrs := make([]*satchel.Upload, len(page.Items))
	for i := range page.Items {
		ptrs[i] = &page.Items[i]
	}
	return page, s.fillReceived(ctx, ptrs)
}

// fillReceived sets the Received lists of uploads with one query.
func (s *Store) fillReceived(ctx context.Context, uploads []*satchel.Upload) error {
	if len(uploads) == 0 {
		return nil
	}
	byID := make(map[string]*satchel.Upload, len(uploads))
	marks := make([]string, len(uploads))
	args := make([]any, len(uploads))
	for i, u := range uploads {
		u.Received = []int{}
		byID[u.ID] = u
		marks[i] = "$" + strconv.Itoa(i+1)
		args[i] = u.ID
	}
	rows, err := s.db.QueryContext(ctx, `SELECT upload_id, chunk_index FROM upload_chunks
		WHERE upload_id IN (`+strings.Join(marks, ", ")+`) ORDER BY upload_id, chunk_index`, args...)
	if err != nil {
		return s.wrap("list received chunks", err)
	}
	defer rows.Close()
	for rows.Next() {
		var (
			id    string
			index int
		)
		if err := rows.Scan(&id, &index); err != nil {
			return s.wrap("list received chunks", err)
		}
		if u := byID[id]; u != nil {
			u.Received = append(u.Received, index)
		}
	}
	return s.wrap("list received chunks", rows.Err())
}

// RecordChunk records a stored chunk of an unfinished upload and moves its
// expiry, in one transaction. When prefix is not nil it is the SHA-256 state
// after this chunk, stored if the hashed prefix still ends at the chunk.
// Recording an index again changes nothing. It returns the number of chunks
// in the hashed prefix afterwards.
func (s *Store) RecordChunk(ctx context.Context, uploadID string, c satchel.Chunk, prefix []byte, now, expiresAt time.Time) (int, error) {
	var hashed int
	err := s.tx(ctx, "record chunk", func(ctx context.Context, tx *sql.Tx) error {
		q := `UPDATE upload_sessions SET updated_at = $1, expires_at = $2`
		args := []any{s.d.ts(now), s.d.ts(expiresAt), uploadID}
		if prefix != nil {
			q += `, hash_state = CASE WHEN hashed_chunks = $4 THEN $5 ELSE hash_state END,
				hashed_chunks = CASE WHEN hashed_chunks = $4 THEN $6 ELSE hashed_chunks END`
			args = append(args, c.Index, prefix, c.Index+1)
		}
		err := tx.QueryRowContext(ctx, q+` WHERE id = $3 AND status = 'in_progress' RETURNING hashed_chunks`, args...).Scan(&hashed)
		if errors.Is(err, sql.ErrNoRows) {
			return satchel.NotFound("upload")
		}
		if err != nil {
			return err
		}
		res, err := tx.ExecContext(ctx, `INSERT INTO upload_chunks (upload_id, chunk_index, size_bytes, sha256, etag, created_at)
			VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (upload_id, chunk_index) DO NOTHING`,
			uploadID, c.Index, c.Size, c.SHA256, nullIfEmpty(c.ETag), s.d.ts(now))
		if err != nil {
			return err
		}
		if n, err := res.RowsAffected(); err != nil || n == 0 {
			return err
		}
		_, err = tx.ExecContext(ctx, `UPDATE upload_sessions SET uploaded_chunks = COALESCE(uploaded_chunks, 0) + 1 WHERE id = $1`, uploadID)
		return err
	})
	return hashed, err
}

// GetChunk returns a recorded chunk.
func (s *Store) GetChunk(ctx context.Context, uploadID string, index int) (satchel.Chunk, error) {
	var c satchel.Chunk
	err := s.db.QueryRowContext(ctx, `SELECT chunk_index, size_bytes, sha256, etag FROM upload_chunks
		WHERE upload_id = $1 AND chunk_index = $2`, uploadID, index).Scan(&c.Index, &c.Size, &c.SHA256, nullString{&c.ETag})
	if errors.Is(err, sql.ErrNoRows) {
		return c, satchel.NotFound("chunk")
	}
	return c, s.wrap("get chunk", err)
}

// ListChunks returns every recorded chunk of an upload, in index order.
func (s *Store) ListChunks(ctx context.Context, uploadID string) ([]satchel.Chunk, error) {
	return queryAll(ctx, s, "list chunks", func(c *satchel.Chunk) []any { return []any{&c.Index, &c.Size, &c.SHA256, nullString{&c.ETag}} },
		`SELECT chunk_index, size_bytes, sha256, etag FROM upload_chunks WHERE upload_id = $1 ORDER BY chunk_index`, uploadID)
}

// AdvanceHash stores the SHA-256 state after chunk `from` if the prefix still
// ends at from; it reports whether it did (another request may have moved it).
func (s *Store) AdvanceHash(ctx context.Context, uploadID string, from int, state []byte) (bool, error) {
	res, err := s.db.ExecContext(ctx, `UPDATE upload_sessions SET hash_state = $1, hashed_chunks = $2
		WHERE id = $3 AND hashed_chunks = $4 AND status = 'in_progress'`, state, from+1, uploadID, from)
	if err != nil {
		return false, s.wrap("advance upload hash", err)
	}
	n, err := res.RowsAffected()
	return n == 1, s.wrap("advance upload hash", err)
}

// ClaimCompletion gives the caller the right to complete an upload until
// `until`, unless another caller holds an unexpired claim.
func (s *Store) ClaimCompletion(ctx context.Context, uploadID string, now, until time.Time) (bool, error) {
	res, err := s.db.ExecContext(ctx, `UPDATE upload_sessions SET completing_until = $1
		WHERE id = $2 AND status = 'in_progress' AND (completing_until IS NULL OR completing_until <= $3)`,
		s.d.ts(until), uploadID, s.d.ts(now))
	if err != nil {
		return false, s.wrap("claim upload completion", err)
	}
	n, err := res.RowsAffected()
	return n == 1, s.wrap("claim upload completion", err)
}

// ReleaseCompletion gives up a completion claim, so that a retry may proceed.
func (s *Store) ReleaseCompletion(ctx context.Context, uploadID string) error {
	_, err := s.db.ExecContext(ctx, `UPDATE upload_sessions SET completing_until = NULL WHERE id = $1`, uploadID)
	return s.wrap("release upload completion", err)
}

// FinishUpload creates the completed file of an upload and marks the upload
// completed, in one transaction. The upload's reservation becomes the file's
// size, so the user's counter does not change.
func (s *Store) FinishUpload(ctx context.Context, u satchel.Upload, f satchel.File, now time.Time) (satchel.File, error) {
	var out satchel.File
	err := s.tx(ctx, "finish upload", func(ctx context.Context, tx *sql.Tx) error {
		err := tx.QueryRowContext(ctx, `INSERT INTO files (id, user_id, filename, storage_key, mime_type, size_bytes,
			sha256, upload_status, created_at, updated_at) VALUES ($1, $2, $3, $4, $5, $6, $7, 'completed', $8, $8)
			RETURNING `+fileCols,
			f.ID, f.UserID, f.Filename, f.StorageKey, f.MimeType, f.Size, f.SHA256, s.d.ts(now)).Scan(fileDest(&out)...)
		if err != nil {
			return err
		}
		res, err := tx.ExecContext(ctx, `UPDATE upload_sessions SET status = 'completed', file_id = $1, completing_until = NULL,
			hash_state = NULL, updated_at = $2 WHERE id = $3 AND status = 'in_progress'`, f.ID, s.d.ts(now), u.ID)
		if err := oneRow(res, err, "upload"); err != nil {
			return err
		}
		if f.Size != u.TotalSize {
			if _, err := tx.ExecContext(ctx, `UPDATE users SET storage_used_bytes = storage_used_bytes + $1 WHERE id = $2`,
				f.Size-u.TotalSize, u.UserID); err != nil {
				return err
			}
		}
		return s.enqueueThumbnail(ctx, tx, out)
	})
	return out, err
}

// FailUpload marks an unfinished upload failed and releases its reservation.
func (s *Store) FailUpload(ctx context.Context, u satchel.Upload, now time.Time) error {
	return s.tx(ctx, "fail upload", func(ctx context.Context, tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, `UPDATE upload_sessions SET status = 'failed', completing_until = NULL, hash_state = NULL,
			updated_at = $1 WHERE id = $2 AND status = 'in_progress'`, s.d.ts(now), u.ID)
		if err := oneRow(res, err, "upload"); err != nil {
			return err
		}
		if _, err = tx.ExecContext(ctx, `UPDATE users SET storage_used_bytes = storage_used_bytes - $1 WHERE id = $2`, u.TotalSize, u.UserID); err != nil {
			return err
		}
		return s.enqueueUploadDeletion(ctx, tx, u)
	})
}

// DeleteUpload deletes one of a user's uploads and, if it was unfinished,
// releases its reservation. An upload being completed is ErrConflict.
func (s *Store) DeleteUpload(ctx context.Context, userID, id string, now time.Time) (satchel.Upload, error) {
	var u satchel.Upload
	err := s.tx(ctx, "delete upload", func(ctx context.Context, tx *sql.Tx) error {
		err := tx.QueryRowContext(ctx, `DELETE FROM upload_sessions WHERE id = $1 AND user_id = $2 AND expires_at > $3
			AND (completing_until IS NULL OR completing_until <= $3) RETURNING `+uploadCols,
			id, userID, s.d.ts(now)).Scan(uploadDest(&u)...)
		if errors.Is(err, sql.ErrNoRows) {
			if _, gerr := s.GetUpload(ctx, userID, id, now); gerr == nil {
				return satchel.Errorf(satchel.ErrConflict, "the upload is being completed")
			}
			return satchel.NotFound("upload")
		}
		if err != nil || u.Status != satchel.UploadInProgress {
			return err
		}
		if _, err = tx.ExecContext(ctx, `UPDATE users SET storage_used_bytes = storage_used_bytes - $1 WHERE id = $2`, u.TotalSize, userID); err != nil {
			return err
		}
		return s.enqueueUploadDeletion(ctx, tx, u)
	})
	return u, err
}

// DeleteExpiredUploads deletes up to limit uploads that expired at or before
// now (and are not being completed), releases the reservations of the
// unfinished ones, and returns them so their bytes can be removed.
func (s *Store) DeleteExpiredUploads(ctx context.Context, now time.Time, limit int) ([]satchel.Upload, error) {
	ids, err := queryAll(ctx, s, "find expired uploads", oneString,
		`SELECT id FROM upload_sessions WHERE expires_at <= $1 LIMIT $2`, s.d.ts(now), limit)
	if err != nil {
		return nil, err
	}
	var gone []satchel.Upload
	for _, id := range ids {
		var u satchel.Upload
		err := s.tx(ctx, "delete expired upload", func(ctx context.Context, tx *sql.Tx) error {
			err := tx.QueryRowContext(ctx, `DELETE FROM upload_sessions WHERE id = $1 AND expires_at <= $2
				AND (completing_until IS NULL OR completing_until <= $2) RETURNING `+uploadCols,
				id, s.d.ts(now)).Scan(uploadDest(&u)...)
			if err != nil || u.Status != satchel.UploadInProgress {
				return err
			}
			if _, err = tx.ExecContext(ctx, `UPDATE users SET storage_used_bytes = storage_used_bytes - $1 WHERE id = $2`, u.TotalSize, u.UserID); err != nil {
				return err
			}
			return s.enqueueUploadDeletion(ctx, tx, u)
		})
		if errors.Is(err, satchel.ErrNotFound) {
			continue // touched or taken meanwhile
		}
		if err != nil {
			return gone, err
		}
		gone = append(gone, u)
	}
	return gone, nil
}
