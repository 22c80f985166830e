package jobs

import (
	"context"
	"fmt"
	"time"

	"github.com/riverqueue/river"

	"github.com/satchelhq/satchel/internal/satchel"
)

// ThumbnailArgs asks for the thumbnail of a file.
type ThumbnailArgs struct {
	FileID string `json:"file_id"`
}

// Kind names the job.
func (ThumbnailArgs) Kind() string { return "thumbnail" }

// InsertOpts puts thumbnails on their own queue, with a few attempts.
func (ThumbnailArgs) InsertOpts() river.InsertOpts {
	return river.InsertOpts{Queue: QueueThumbnails, MaxAttempts: 5}
}

type thumbnailWorker struct {
	river.WorkerDefaults[ThumbnailArgs]
	thumbs  Thumbnailer
	timeout time.Duration
}

// Timeout bounds one thumbnail (ffmpeg has its own, shorter, timeout).
func (w *thumbnailWorker) Timeout(*river.Job[ThumbnailArgs]) time.Duration { return w.timeout }

func (w *thumbnailWorker) Work(ctx context.Context, job *river.Job[ThumbnailArgs]) error {
	return w.thumbs.MakeThumbnail(ctx, job.Args.FileID)
}

// DeleteBlobsArgs asks for blobs, and blobs being assembled, to be removed.
type DeleteBlobsArgs struct {
	Keys     []string          `json:"keys"`
	Partials []satchel.Partial `json:"partials,omitempty"`
}

// Kind names the job.
func (DeleteBlobsArgs) Kind() string { return "delete_blobs" }

type deleteBlobsWorker struct {
	river.WorkerDefaults[DeleteBlobsArgs]
	blobs BlobRemover
}

func (w *deleteBlobsWorker) Work(ctx context.Context, job *river.Job[DeleteBlobsArgs]) error {
	for _, p := range job.Args.Partials {
		if err := w.blobs.AbortChunked(ctx, p.Key, p.Ref); err != nil {
			return fmt.Errorf("remove partial blob %s: %w", p.Key, err)
		}
	}
	for _, key := range job.Args.Keys {
		if err := w.blobs.Delete(ctx, key); err != nil {
			return fmt.Errorf("delete blob %s: %w", key, err)
		}
	}
	return nil
}

// SweepArgs asks for one of the periodic sweeps.
type SweepArgs struct {
	Name string `json:"name"`
}

// Kind names the job.
func (SweepArgs) Kind() string { return "sweep" }

// InsertOpts gives a failed sweep a couple more tries; the next period
// brings a new one anyway.
func (SweepArgs) InsertOpts() river.InsertOpts { return river.InsertOpts{MaxAttempts: 3} }

type sweepWorker struct {
	river.WorkerDefaults[SweepArgs]
	sweeps map[string]Sweep
}

func (w *sweepWorker) Work(ctx context.Context, job *river.Job[SweepArgs]) error {
	s, ok := w.sweeps[job.Args.Name]
	if !ok {
		return river.JobCancel(fmt.Errorf("no sweep called %q", job.Args.Name))
	}
	return s.Do(ctx)
}
