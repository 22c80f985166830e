// Package jobs runs Satchel's background work on a durable queue that every
// node shares: River, on the same database as everything else (PostgreSQL,
// or SQLite). Jobs are enqueued in the transaction of the row they are about,
// survive crashes, retry with backoff, and run once however many nodes there
// are; periodic housekeeping runs on one node (River's elected leader).
// Queue owns River's client: Start and Stop bracket its goroutines.
package jobs

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/riverqueue/river"
	"github.com/riverqueue/river/riverdriver"
	"github.com/riverqueue/river/riverdriver/riverdatabasesql"
	"github.com/riverqueue/river/riverdriver/riversqlite"
	"github.com/riverqueue/river/rivermigrate"

	"github.com/satchelhq/satchel/internal/satchel"
)

// Queue names: thumbnails have their own, so that how many are made at once
// (and the memory that takes) is bounded apart from the rest.
const (
	QueueThumbnails   = "thumbnails"
	QueueHousekeeping = river.QueueDefault
)

// Thumbnailer makes the thumbnail of a file. It returns nil when the file
// gets none (not an image, damaged, too big); an error means try again.
type Thumbnailer interface {
	MakeThumbnail(ctx context.Context, fileID string) error
}

// BlobRemover removes blobs, and blobs being assembled; a missing one is not
// an error.
type BlobRemover interface {
	Delete(ctx context.Context, key string) error
	AbortChunked(ctx context.Context, key, ref string) error
}

// Sweep is housekeeping done every Every, on one node.
type Sweep struct {
	Name  string
	Every time.Duration
	Do    func(ctx context.Context) error
}

// Config is how the queue works.
type Config struct {
	// Database is "sqlite" or "postgres".
	Database         string
	ThumbnailWorkers int
	Workers          int
	// JobTimeout bounds one run of a job; a job running longer than that
	// (its node died) is rescued and run again.
	JobTimeout time.Duration
	// PollInterval is how often idle nodes look for new jobs.
	PollInterval time.Duration
	Log          *slog.Logger
}

// Queue is the job queue of a node.
type Queue struct {
	client  *river.Client[*sql.Tx]
	db      *sql.DB
	log     *slog.Logger
	events  *prometheus.CounterVec
	stop    func()
	stopped sync.WaitGroup
}

func driver(kind string, db *sql.DB) riverdriver.Driver[*sql.Tx] {
	if kind == "sqlite" {
		return riversqlite.New(db)
	}
	return riverdatabasesql.New(db)
}

// Migrator returns the migration that creates the queue's tables.
func Migrator(kind string) func(ctx context.Context, db *sql.DB) error {
	return func(ctx context.Context, db *sql.DB) error {
		m, err := rivermigrate.New(driver(kind, db), nil)
		if err != nil {
			return fmt.Errorf("job queue migrations: %w", err)
		}
		if _, err := m.Migrate(ctx, rivermigrate.DirectionUp, nil); err != nil {
			return fmt.Errorf("migrate the job queue: %w", err)
		}
		return nil
	}
}

// New makes a node's queue on db with its workers and sweeps.
func New(db *sql.DB, cfg Config, thumbs Thumbnailer, blobs BlobRemover, sweeps []Sweep) (*Queue, error) {
	workers := river.NewWorkers()
	river.AddWorker(workers, &thumbnailWorker{thumbs: thumbs, timeout: cfg.JobTimeout})
	river.AddWorker(workers, &deleteBlobsWorker{blobs: blobs})
	byName := map[string]Sweep{}
	var periodic []*river.PeriodicJob
	for _, s := range sweeps {
		byName[s.Name] = s
		name := s.Name
		periodic = append(periodic, river.NewPeriodicJob(river.PeriodicInterval(s.Every),
			func() (river.JobArgs, *river.InsertOpts) { return SweepArgs{Name: name}, nil },
			&river.PeriodicJobOpts{RunOnStart: true, ID: "sweep-" + name}))
	}
	river.AddWorker(workers, &sweepWorker{sweeps: byName})
	poll := cfg.PollInterval
	if poll <= 0 {
		poll = time.Second
	}
	timeout := cfg.JobTimeout
	if timeout <= 0 {
		timeout = 5 * time.Minute
	}
	client, err := river.NewClient(driver(cfg.Database, db), &river.Config{
		Queues: map[string]river.QueueConfig{
			QueueThumbnails:   {MaxWorkers: max(1, cfg.ThumbnailWorkers)},
			QueueHousekeeping: {MaxWorkers: max(1, cfg.Workers)},
		},
		Workers:              workers,
		PeriodicJobs:         periodic,
		JobTimeout:           timeout,
		RescueStuckJobsAfter: timeout + 10*time.Second,
		FetchPollInterval:    poll,
		FetchCooldown:        min(poll, 100*time.Millisecond),
		MaxAttempts:          8,
		Logger:               quiet(cfg.Log),
	})
	if err != nil {
		return nil, fmt.Errorf("job queue: %w", err)
	}
	return &Queue{client: client, db: db, log: cfg.Log, events: prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "satchel_jobs_finished_total", Help: "Jobs that ran, by kind and result (succeeded, failed, discarded).",
	}, []string{"kind", "result"})}, nil
}

// quiet passes River's warnings and errors on; its routine chatter is noise.
func quiet(log *slog.Logger) *slog.Logger {
	if log == nil {
		return slog.New(slog.DiscardHandler)
	}
	return slog.New(levelFilter{log.Handler(), slog.LevelWarn})
}

type levelFilter struct {
	slog.Handler
	min slog.Level
}

func (f levelFilter) Enabled(ctx context.Context, l slog.Level) bool {
	return l >= f.min && f.Handler.Enabled(ctx, l)
}

// Start starts the workers and the periodic sweeps.
func (q *Queue) Start(ctx context.Context) error {
	events, cancel := q.client.Subscribe(river.EventKindJobCompleted, river.EventKindJobFailed, river.EventKindJobCancelled)
	if err := q.client.Start(ctx); err != nil {
		cancel()
		return fmt.Errorf("start the job queue: %w", err)
	}
	done := make(chan struct{})
	q.stop = func() {
		cancel()
		close(done)
	}
	q.stopped.Add(1)
	go func() {
		defer q.stopped.Done()
		for {
			select {
			case <-done:
				return
			case ev, ok := <-events:
				if !ok {
					return
				}
				q.count(ev)
			}
		}
	}()
	return nil
}

func (q *Queue) count(ev *river.Event) {
	if ev.Job == nil {
		return
	}
	result := "succeeded"
	switch ev.Kind {
	case river.EventKindJobFailed:
		result = "failed"
		if ev.Job.State == "discarded" {
			result = "discarded"
		}
	case river.EventKindJobCancelled:
		result = "discarded"
	}
	q.events.WithLabelValues(ev.Job.Kind, result).Inc()
}

// Stop stops taking jobs and waits (until ctx ends) for those running.
func (q *Queue) Stop(ctx context.Context) error {
	err := q.client.Stop(ctx)
	if q.stop != nil {
		q.stop()
		q.stopped.Wait()
	}
	if errors.Is(err, context.DeadlineExceeded) || errors.Is(err, context.Canceled) {
		q.log.Warn("jobs still running at the shutdown deadline were left to be rescued", "err", err)
		return nil
	}
	return err
}

// EnqueueThumbnailTx enqueues a file's thumbnail in tx.
func (q *Queue) EnqueueThumbnailTx(ctx context.Context, tx *sql.Tx, fileID string) error {
	_, err := q.client.InsertTx(ctx, tx, ThumbnailArgs{FileID: fileID}, nil)
	if err != nil {
		return fmt.Errorf("enqueue thumbnail: %w", err)
	}
	return nil
}

// EnqueueBlobDeletionTx enqueues the removal of blobs and partial blobs in tx.
func (q *Queue) EnqueueBlobDeletionTx(ctx context.Context, tx *sql.Tx, keys []string, partials []satchel.Partial) error {
	_, err := q.client.InsertTx(ctx, tx, DeleteBlobsArgs{Keys: keys, Partials: partials}, nil)
	if err != nil {
		return fmt.Errorf("enqueue blob deletion: %w", err)
	}
	return nil
}

// RemoveBlobsLater enqueues the removal of blobs, outside any transaction:
// for a removal that failed.
func (q *Queue) RemoveBlobsLater(ctx context.Context, keys []string) error {
	_, err := q.client.Insert(ctx, DeleteBlobsArgs{Keys: keys}, nil)
	if err != nil {
		return fmt.Errorf("enqueue blob deletion: %w", err)
	}
	return nil
}
