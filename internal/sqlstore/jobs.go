package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"time"

	"github.com/satchelhq/satchel/internal/satchel"
)

// JobQueue enqueues background work in the same transaction as the rows it
// is about, so a committed row always has its job, even across a crash.
type JobQueue interface {
	// EnqueueThumbnailTx asks for a thumbnail of a newly completed file.
	EnqueueThumbnailTx(ctx context.Context, tx *sql.Tx, fileID string) error
	// EnqueueBlobDeletionTx asks for blobs, and blobs being assembled, to be
	// removed (again, if the caller's own attempt fails or a crash
	// interrupts it).
	EnqueueBlobDeletionTx(ctx context.Context, tx *sql.Tx, keys []string, partials []satchel.Partial) error
}

// UseJobs makes the store enqueue background work on q. Without it (the
// command-line tools), nothing is enqueued.
func (s *Store) UseJobs(q JobQueue) { s.jobs = q }

func (s *Store) enqueueThumbnail(ctx context.Context, tx *sql.Tx, f satchel.File) error {
	if s.jobs == nil || f.Size == 0 {
		return nil
	}
	return s.jobs.EnqueueThumbnailTx(ctx, tx, f.ID)
}

func (s *Store) enqueueBlobDeletion(ctx context.Context, tx *sql.Tx, keys ...string) error {
	var nonEmpty []string
	for _, k := range keys {
		if k != "" {
			nonEmpty = append(nonEmpty, k)
		}
	}
	if s.jobs == nil || len(nonEmpty) == 0 {
		return nil
	}
	return s.jobs.EnqueueBlobDeletionTx(ctx, tx, nonEmpty, nil)
}

// enqueueUploadDeletion asks for the bytes of an unfinished upload to go:
// its chunks, and the blob they may have been assembled into.
func (s *Store) enqueueUploadDeletion(ctx context.Context, tx *sql.Tx, u satchel.Upload) error {
	if s.jobs == nil || u.StorageKey == "" {
		return nil
	}
	return s.jobs.EnqueueBlobDeletionTx(ctx, tx, []string{u.StorageKey}, []satchel.Partial{{Key: u.StorageKey, Ref: u.StorageRef}})
}

// GetFileByID returns a completed file whoever owns it, for background work.
func (s *Store) GetFileByID(ctx context.Context, id string) (satchel.File, error) {
	var f satchel.File
	err := s.db.QueryRowContext(ctx, `SELECT `+fileCols+` FROM files WHERE id = $1 AND upload_status = 'completed'`, id).Scan(fileDest(&f)...)
	if errors.Is(err, sql.ErrNoRows) {
		return f, satchel.NotFound("file")
	}
	return f, s.wrap("get file", err)
}

// SetThumbnail records a file's thumbnail. It reports false when the file is
// gone (or has one already): the caller then removes the blob it made.
func (s *Store) SetThumbnail(ctx context.Context, fileID, key string, now time.Time) (bool, error) {
	res, err := s.db.ExecContext(ctx, `UPDATE files SET thumbnail_key = $1, updated_at = $2
		WHERE id = $3 AND upload_status = 'completed' AND thumbnail_key IS NULL`, key, s.d.ts(now), fileID)
	if err != nil {
		return false, s.wrap("set thumbnail", err)
	}
	n, err := res.RowsAffected()
	return n == 1, s.wrap("set thumbnail", err)
}

// UploadKeyExists reports whether an upload session or a file still uses a
// blob key, so that a partial blob without either can be swept.
func (s *Store) UploadKeyExists(ctx context.Context, key string) (bool, error) {
	var n int
	err := s.db.QueryRowContext(ctx, `SELECT (SELECT count(*) FROM upload_sessions WHERE storage_key = $1) +
		(SELECT count(*) FROM files WHERE storage_key = $1)`, key).Scan(&n)
	return n > 0, s.wrap("look up blob key", err)
}
