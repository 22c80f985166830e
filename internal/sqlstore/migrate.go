package sqlstore

import (
	"context"
	"database/sql"
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"syscall"
	"time"

	"github.com/pressly/goose/v3"
)

//go:embed migrations/postgres/*.sql migrations/sqlite/*.sql
var migrationFiles embed.FS

// Migrations returns the embedded migrations of a dialect.
func Migrations(kind string) (fs.FS, error) {
	return fs.Sub(migrationFiles, "migrations/"+kind)
}

// Migration is a step of schema work beyond Satchel's own migrations (the
// job queue's tables), run under the same lock.
type Migration func(ctx context.Context, db *sql.DB) error

// Migrate brings the schema up to date: Satchel's migrations, then extra.
// Two nodes that start at once do not race: on PostgreSQL everything runs
// under an advisory lock, on SQLite under an exclusive lock on a file beside
// the database.
func (s *Store) Migrate(ctx context.Context, extra ...Migration) (applied int, err error) {
	fsys, err := Migrations(s.d.name)
	if err != nil {
		return 0, err
	}
	unlock, err := s.migrationLock(ctx)
	if err != nil {
		return 0, err
	}
	defer unlock()
	dialect := goose.DialectSQLite3
	if s.d.name == Postgres {
		dialect = goose.DialectPostgres
	}
	p, err := goose.NewProvider(dialect, s.db.DB, fsys)
	if err != nil {
		return 0, fmt.Errorf("load migrations: %w", err)
	}
	results, err := p.Up(ctx)
	if err != nil {
		return len(results), fmt.Errorf("migrate %s database: %w", s.d.name, err)
	}
	for _, m := range extra {
		if err := m(ctx, s.db.DB); err != nil {
			return len(results), err
		}
	}
	return len(results), nil
}

// migrationLockID is the PostgreSQL advisory lock that serializes migrations.
const migrationLockID = 0x5a7c4e1

func (s *Store) migrationLock(ctx context.Context) (unlock func(), err error) {
	if s.d.name == SQLite {
		return s.lockFile(ctx)
	}
	conn, err := s.db.Conn(ctx)
	if err != nil {
		return nil, s.wrap("take migration lock", err)
	}
	if _, err := conn.ExecContext(ctx, `SELECT pg_advisory_lock($1)`, migrationLockID); err != nil {
		conn.Close()
		return nil, s.wrap("take migration lock", err)
	}
	return func() {
		_, _ = conn.ExecContext(context.WithoutCancel(ctx), `SELECT pg_advisory_unlock($1)`, migrationLockID)
		conn.Close()
	}, nil
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
	p, err := goose.NewProvider(dialect, s.db.DB, fsys)
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
