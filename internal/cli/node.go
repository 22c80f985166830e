package cli

import (
	"context"
	"log/slog"
	"net/http"
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

// Options change how a node is built; tests use them to inject a clock and
// cheaper password hashing.
type Options struct {
	Now        func() time.Time
	HashParams *secret.Params
}

// Node is one Satchel node, wired: what `satchel serve` runs and what the
// HTTP tests drive.
type Node struct {
	API     *httpapi.Server
	Handler http.Handler
	Store   *sqlstore.Store
	Blobs   *disk.Store
	Uploads *app.Uploads
	Files   *app.Files
	Log     *slog.Logger
	// Jobs is the node's background work; serve runs it.
	Jobs *jobs.Runner
}

// Build opens the database (migrating it) and the storage, and wires the
// services and the HTTP handler.
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
	blobs, err := openBlobs(cfg)
	if err != nil {
		store.Close()
		return nil, err
	}
	hasher := secret.NewHasher(params, max(2, runtime.NumCPU()))
	accounts := app.NewAccounts(store, hasher, now, log, cfg.Registration == "open")
	limits := app.Limits{MaxFileSize: cfg.MaxFileSize, UserQuota: cfg.UserQuota}
	m := metrics.New()
	files := app.NewFiles(store, blobs, now, log, limits)
	uploads := app.NewUploads(store, blobs, now, log, limits, cfg.UploadTTL, m)
	shares, err := app.NewShares(ctx, store, blobs, hasher, now, log, m)
	if err != nil {
		store.Close()
		return nil, err
	}
	pages, err := web.New()
	if err != nil {
		store.Close()
		return nil, err
	}
	api := httpapi.New(httpapi.Deps{
		Accounts: accounts, Files: files, Uploads: uploads, Shares: shares, Pages: pages, Database: store, Storage: blobs,
		Metrics: m, Log: log, PublicURL: cfg.PublicURL, UserQuota: cfg.UserQuota, BodyTimeout: cfg.BodyTimeout,
		TrustedProxies: cfg.TrustedProxies,
	})
	runner := jobs.NewRunner(log,
		jobs.Task{Name: "sweep expired uploads", Every: min(time.Minute, cfg.UploadTTL/4), Do: func(ctx context.Context) error {
			n, err := uploads.SweepExpired(ctx)
			if n > 0 {
				log.InfoContext(ctx, "swept expired uploads", "count", n)
			}
			return err
		}},
		jobs.Task{Name: "sweep rate-limit windows", Every: 10 * time.Minute, Do: shares.SweepRateLimits},
		jobs.Task{Name: "sweep stale direct uploads", Every: 10 * time.Minute, Do: func(ctx context.Context) error {
			n, err := files.SweepStale(ctx)
			if n > 0 {
				log.InfoContext(ctx, "swept uploads cut off by a crash", "count", n)
			}
			if _, terr := blobs.RemoveStaleTemp(ctx, now(), time.Hour); terr != nil && err == nil {
				err = terr
			}
			return err
		}},
	)
	return &Node{API: api, Handler: api, Store: store, Blobs: blobs, Uploads: uploads, Files: files, Log: log, Jobs: runner}, nil
}

// Close releases the node's database connections.
func (n *Node) Close() error { return n.Store.Close() }
