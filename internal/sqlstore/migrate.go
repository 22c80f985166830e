package sqlstore

import (
	"context"
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"syscall"
	"time"

	"github.com/pressly/goose/v3"
	"github.com/pressly/goose/v3/lock"
)

//go:embed migrations/postgres/*.sql migrations/sqlite/*.sql
var migrationFiles embed.FS

// Migrations returns the embedded migrations of a dialect.
func Migrations(kind string) (fs.FS, error) {
	return fs.Sub(migrationFiles, "migrations/"+kind)
}

// Migrate brings the schema up to date. Two nodes that start at once do not
// race: on PostgreSQL the migrations run under an advisory lock, on SQLite
// under an exclusive lock on a file beside the database.
func (s *Store) Migrate(ctx context.Context) (applied int, err error) {
	fsys, err := Migrations(s.d.name)
	if err != nil {
		return 0, err
	}
	opts := []goose.ProviderOption{}
	var dialect goose.Dialect
	switch s.d.name {
	case Postgres:
		dialect = goose.DialectPostgres
		locker, err := lock.NewPostgresSessionLocker(lock.WithLockTimeout(1, 900))
		if err != nil {
			return 0, fmt.Errorf("migration lock: %w", err)
		}
		opts = append(opts, goose.WithSessionLocker(locker))
	case SQLite:
		dialect = goose.DialectSQLite3
		unlock, err := s.lockFile(ctx)
		if err != nil {
			return 0, err
		}
		defer unlock()
	}
	p, err := goose.NewProvider(dialect, s.db, fsys, opts...)
	if err != nil {
		return 0, fmt.Errorf("load migrations: %w", err)
	}
	results, err := p.Up(ctx)
	if err != nil {
		return len(results), fmt.Errorf("migrate %s database: %w", s.d.name, err)
	}
	return len(results), nil
}

// Version returns the schema version the database is at.
func (s *Store) Version(ctx context.Context) (int64, error) {
	fsys, err := Migrations(s.d.name)
	if err != nil {
		return 0, err
	}
	dialect := goose.DialectSQLite3
	if s.d.name == Postgres {
		dialect = goose.DialectPostgres
	}
	p, err := goose.NewProvider(dialect, s.db, fsys)
	if err != nil {
		return 0, err
	}
	return p.GetDBVersion(ctx)
}

// lockFile takes an exclusive flock on <database>.migrate-lock, waiting for
// another process that holds it until ctx ends.
func (s *Store) lockFile(ctx context.Context) (unlock func(), err error) {
	if s.path == "" {
		return func() {}, nil
	}
	f, err := os.OpenFile(s.path+".migrate-lock", os.O_CREATE|os.O_RDWR, 0o600)
	if err != nil {
		return nil, fmt.Errorf("open migration lock: %w", err)
	}
	for {
		err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB)
		if err == nil {
			break
		}
		if !errors.Is(err, syscall.EWOULDBLOCK) {
			f.Close()
			return nil, fmt.Errorf("take migration lock: %w", err)
		}
		select {
		case <-ctx.Done():
			f.Close()
			return nil, fmt.Errorf("wait for migration lock: %w", ctx.Err())
		case <-time.After(50 * time.Millisecond):
		}
	}
	return func() {
		_ = syscall.Flock(int(f.Fd()), syscall.LOCK_UN)
		f.Close()
	}, nil
}
