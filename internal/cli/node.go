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
	"github.com/satchelhq/satchel/internal/metrics"
	"github.com/satchelhq/satchel/internal/secret"
	"github.com/satchelhq/satchel/internal/sqlstore"
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
	Handler http.Handler
	Store   *sqlstore.Store
	Blobs   *disk.Store
	Log     *slog.Logger
}

// Build opens the database (migrating it) and the storage, and wires the
// services and the HTTP handler.
func Build(ctx context.Context, cfg config.Config, log *slog.Logger, opts Options) (*Node, error) {
	now := opts.Now
	if now == nil {
		now = time.Now
	}
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
	files := app.NewFiles(store, blobs, now, log, app.Limits{MaxFileSize: cfg.MaxFileSize, UserQuota: cfg.UserQuota})
	api := httpapi.New(httpapi.Deps{
		Accounts: accounts, Files: files, Database: store, Storage: blobs, Metrics: metrics.New(),
		Log: log, PublicURL: cfg.PublicURL, UserQuota: cfg.UserQuota,
	})
	return &Node{Handler: api, Store: store, Blobs: blobs, Log: log}, nil
}

// Close releases the node's database connections.
func (n *Node) Close() error { return n.Store.Close() }
