// Package cli is Satchel's command line: serve, migrate and user create. It is
// the only place that reads the environment and wires the parts together.
package cli

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"strings"
	"time"

	"github.com/satchelhq/satchel/internal/app"
	"github.com/satchelhq/satchel/internal/blob/disk"
	"github.com/satchelhq/satchel/internal/blob/s3"
	"github.com/satchelhq/satchel/internal/config"
	"github.com/satchelhq/satchel/internal/jobs"
	"github.com/satchelhq/satchel/internal/satchel"
	"github.com/satchelhq/satchel/internal/sqlstore"
)

// Env is the process environment the command line sees.
type Env struct {
	Getenv func(string) string
	Stdin  io.Reader
	Stdout io.Writer
	Stderr io.Writer
}

const usage = `Satchel: a self-hosted file upload and sharing server.

Usage:
  satchel serve [flags]          run the server (satchel serve -h lists the flags)
  satchel migrate [flags]        bring the database schema up to date and exit
  satchel user create --username U --email E --password-stdin [flags]
                                 create an account, even when registration is closed
`

// errUsage marks a mistake in how the command was called; it exits with 2.
var errUsage = errors.New("usage")

// Run runs the command line and returns the process exit code.
func Run(ctx context.Context, args []string, env Env) int {
	err := run(ctx, args, env)
	switch {
	case err == nil, errors.Is(err, flag.ErrHelp):
		return 0
	case errors.Is(err, errUsage):
		fmt.Fprintf(env.Stderr, "satchel: %v\n", strings.TrimPrefix(err.Error(), "usage: "))
		return 2
	}
	fmt.Fprintf(env.Stderr, "satchel: %v\n", err)
	return 1
}

func run(ctx context.Context, args []string, env Env) error {
	if len(args) == 0 {
		fmt.Fprint(env.Stderr, usage)
		return fmt.Errorf("%w: no command given", errUsage)
	}
	switch args[0] {
	case "serve":
		cfg, err := loadConfig("serve", args[1:], env, nil)
		if err != nil {
			return err
		}
		return serve(ctx, cfg, env)
	case "migrate":
		cfg, err := loadConfig("migrate", args[1:], env, nil)
		if err != nil {
			return err
		}
		return migrate(ctx, cfg, env)
	case "user":
		if len(args) < 2 || args[1] != "create" {
			return fmt.Errorf("%w: the user command has one subcommand: satchel user create", errUsage)
		}
		return userCreate(ctx, args[2:], env)
	case "help", "-h", "--help":
		fmt.Fprint(env.Stdout, usage)
		return nil
	}
	return fmt.Errorf("%w: unknown command %q (try satchel help)", errUsage, args[0])
}

// loadConfig parses a subcommand's flags and the environment. extra registers
// the subcommand's own flags.
func loadConfig(name string, args []string, env Env, extra func(fs *flag.FlagSet)) (config.Config, error) {
	fs := flag.NewFlagSet("satchel "+name, flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	if extra != nil {
		extra(fs)
	}
	cfg, err := config.Load(fs, args, env.Getenv)
	if errors.Is(err, flag.ErrHelp) {
		fs.SetOutput(env.Stdout)
		fmt.Fprintf(env.Stdout, "Usage of satchel %s:\n", name)
		fs.PrintDefaults()
		return cfg, err
	}
	if err != nil {
		return cfg, fmt.Errorf("%w: %v", errUsage, err)
	}
	return cfg, nil
}

// openStore connects to the configured database and migrates it.
func openStore(ctx context.Context, cfg config.Config, log *slog.Logger) (*sqlstore.Store, error) {
	kind, dsn, err := config.ParseDatabaseURL(cfg.DatabaseURL)
	if err != nil {
		return nil, err
	}
	store, err := sqlstore.Open(ctx, kind, dsn, cfg.DatabaseTimeout)
	if err != nil {
		return nil, err
	}
	applied, err := store.Migrate(ctx, jobs.Migrator(kind))
	if err != nil {
		store.Close()
		return nil, err
	}
	if applied > 0 {
		log.Info("database migrated", "database", kind, "migrations_applied", applied)
	}
	return store, nil
}

// Blobs is a storage backend as a node uses it.
type Blobs interface {
	app.BlobStore
	// Keys lists what the storage holds (for tools and tests).
	Keys(ctx context.Context) ([]string, error)
	StalePartials(ctx context.Context, before time.Time) ([]satchel.Partial, error)
}

var (
	_ Blobs = (*disk.Store)(nil)
	_ Blobs = (*s3.Store)(nil)
)

func openBlobs(ctx context.Context, cfg config.Config) (Blobs, error) {
	loc, err := config.ParseStorageURL(cfg.StorageURL)
	if err != nil {
		return nil, err
	}
	if loc.Kind == "s3" {
		l, err := s3.ParseURL(loc.URL)
		if err != nil {
			return nil, fmt.Errorf("SATCHEL_STORAGE_URL (--storage-url): %w", err)
		}
		l.Stall = cfg.StorageTimeout
		return s3.New(ctx, l)
	}
	return disk.New(loc.Path)
}

func newLogger(cfg config.Config, w io.Writer) *slog.Logger {
	opts := &slog.HandlerOptions{Level: cfg.LogLevel}
	if cfg.LogFormat == "json" {
		return slog.New(slog.NewJSONHandler(w, opts))
	}
	return slog.New(slog.NewTextHandler(w, opts))
}

func migrate(ctx context.Context, cfg config.Config, env Env) error {
	log := newLogger(cfg, env.Stderr)
	store, err := openStore(ctx, cfg, log)
	if err != nil {
		return err
	}
	defer store.Close()
	v, err := store.Version(ctx)
	if err != nil {
		return err
	}
	fmt.Fprintf(env.Stdout, "the database is at schema version %d\n", v)
	return nil
}
