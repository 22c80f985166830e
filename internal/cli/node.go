package cli

import (
	"context"
	"log/slog"
	"net/http"
	"os/exec"
	"runtime"
	"time"

	"github.com/satchelhq/satchel/internal/app"
	"github.com/satchelhq/satchel/internal/blob/disk"
	"github.com/satchelhq/satchel/internal/config"
	"github.com/satchelhq/satchel/internal/httpapi"
	"github.com/satchelhq/satchel/internal/jobs"
	"github.com/satchelhq/satchel/internal/metrics"
	"github.com/satchelhq/satchel/internal/secret"
	"github.com/satchelhq/satchel/internal/sqlstore"
	"github.com/satchelhq/satchel/internal/web"
)

// Options change how a node is built; tests use them to inject a clock,
// cheaper password hashing and a quicker job queue.
type Options struct {
	Now             func() time.Time
	HashParams      *secret.Params
	JobPollInterval time.Duration
}

// Node is one Satchel node, wired: what `satchel serve` runs and what the
// HTTP tests drive.
type Node struct {
	API        *httpapi.Server
	Handler    http.Handler
	Store      *sqlstore.Store
	Blobs      Blobs
	Uploads    *app.Uploads
	Files      *app.Files
	Thumbnails *app.Thumbnails
	Log        *slog.Logger
	// Jobs is the node's background work; serve starts and stops it.
	Jobs *jobs.Queue
}

// Build opens the database (migrating it) and the storage, and wires the
// services, the job queue and the HTTP handler.
func Build(ctx context.Context, cfg config.Config, log *slog.Logger, opts Options) (*Node, error) {
	clock := opts.Now
	if clock == nil {
		clock = time.Now
	}
	// Every time the services see is UTC in microseconds: what both
	// databases store, so what a request answers equals what a later read
	// returns.
	now := func() time.Time { return clock().UTC().Truncate(time.Microsecond) }
	params := secret.DefaultParams
	if opts.HashParams != nil {
		params = *opts.HashParams
	}
	store, err := openStore(ctx, cfg, log)
	if err != nil {
		return nil, err
	}
	fail := func(err error) (*Node, error) {
		store.Close()
		return nil, err
	}
	blobs, err := openBlobs(ctx, cfg)
	if err != nil {
		return fail(err)
	}
	m := metrics.New()
	hasher := secret.NewHasher(params, max(2, runtime.NumCPU()))
	accounts := app.NewAccounts(store, hasher, now, log, cfg.Registration == "open")
	limits := app.Limits{MaxFileSize: cfg.MaxFileSize, UserQuota: cfg.UserQuota}
	files := app.NewFiles(store, blobs, now, log, limits)
	uploads := app.NewUploads(store, blobs, now, log, limits, cfg.UploadTTL, m)
	shares, err := app.NewShares(ctx, store, blobs, hasher, now, log, m)
	if err != nil {
		return fail(err)
	}
	thumbs := app.NewThumbnails(store, blobs, now, log, app.ThumbnailConfig{
		MaxPixels: cfg.ThumbMaxPixels, FFmpeg: findFFmpeg(cfg.FFmpeg, log), VideoTimeout: time.Minute,
	})
	pages, err := web.New()
	if err != nil {
		return fail(err)
	}

	queue, err := jobs.New(store.DB(), jobs.Config{
		Database: store.Kind(), ThumbnailWorkers: cfg.ThumbWorkers, Workers: cfg.JobWorkers,
		JobTimeout: cfg.JobTimeout, PollInterval: opts.JobPollInterval, Log: log,
	}, thumbs, blobs, []jobs.Sweep{
		{Name: "expired-uploads", Every: min(time.Minute, cfg.UploadTTL/4), Do: func(ctx context.Context) error {
			n, err := uploads.SweepExpired(ctx)
			logSwept(ctx, log, "expired uploads", n)
			return err
		}},
		{Name: "stale-uploads", Every: 10 * time.Minute, Do: func(ctx context.Context) error {
			n, err := files.SweepStale(ctx)
			logSwept(ctx, log, "uploads cut off by a crash", n)
			return err
		}},
		{Name: "orphan-blobs", Every: time.Hour, Do: func(ctx context.Context) error {
			n, err := uploads.SweepOrphans(ctx)
			logSwept(ctx, log, "partial blobs without an upload", n)
			if err != nil {
				return err
			}
			if d, ok := blobs.(*disk.Store); ok {
				n, err = d.RemoveStaleTemp(ctx, now(), time.Hour)
				logSwept(ctx, log, "temporary files left by a crash", n)
			}
			return err
		}},
		{Name: "rate-limits", Every: 10 * time.Minute, Do: shares.SweepRateLimits},
		{Name: "sessions", Every: time.Hour, Do: accounts.SweepSessions},
	})
	if err != nil {
		return fail(err)
	}
	store.UseJobs(queue)
	m.Registry.MustRegister(queue.Collectors()...)

	api := httpapi.New(httpapi.Deps{
		Accounts: accounts, Files: files, Uploads: uploads, Shares: shares, Pages: pages, Database: store, Storage: blobs,
		Metrics: m, Log: log, PublicURL: cfg.PublicURL, UserQuota: cfg.UserQuota, BodyTimeout: cfg.BodyTimeout,
		TrustedProxies: cfg.TrustedProxies,
	})
	return &Node{API: api, Handler: api, Store: store, Blobs: blobs, Uploads: uploads, Files: files, Thumbnails: thumbs,
		Log: log, Jobs: queue}, nil
}

func logSwept(ctx context.Context, log *slog.Logger, what string, n int) {
	if n > 0 {
		log.InfoContext(ctx, "swept "+what, "count", n)
	}
}

// findFFmpeg resolves the configured ffmpeg, or "" when videos get no
// thumbnails.
func findFFmpeg(name string, log *slog.Logger) string {
	if name == "" || name == "none" {
		return ""
	}
	p, err := exec.LookPath(name)
	if err != nil {
		log.Info("ffmpeg not found: videos get no thumbnails", "ffmpeg", name)
		return ""
	}
	return p
}

// Close releases the node's database connections.
func (n *Node) Close() error { return n.Store.Close() }
