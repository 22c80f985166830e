// Package sqlstore keeps Satchel's metadata in SQLite or PostgreSQL. The SQL is
// written once in the subset both speak; a small dialect value covers the
// rest (time values, error codes, migrations and their lock).
package sqlstore

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/jackc/pgx/v5/pgconn"
	_ "github.com/jackc/pgx/v5/stdlib" // registers the "pgx" database/sql driver
	"modernc.org/sqlite"
	sqlite3 "modernc.org/sqlite/lib"

	"github.com/satchelhq/satchel/internal/satchel"
)

// Kinds of database.
const (
	SQLite   = "sqlite"
	Postgres = "postgres"
)

// Store is the metadata store.
type Store struct {
	db      boundedDB
	d       dialect
	path    string // the SQLite file; "" on PostgreSQL
	counter *downloadCounter
	stmts   sync.Map // query text → *sql.Stmt, for the hot paths
	jobs    JobQueue
}

// DefaultTimeout is the time limit of one database call when Open is given
// none.
const DefaultTimeout = 15 * time.Second

// Open connects to a database: kind is SQLite (dsn is a file path) or
// Postgres (dsn is a postgres:// URL). Every call on it may take timeout at
// most (0: DefaultTimeout). It does not run migrations.
func Open(ctx context.Context, kind, dsn string, timeout time.Duration) (*Store, error) {
	if timeout <= 0 {
		timeout = DefaultTimeout
	}
	var (
		db  *sql.DB
		err error
	)
	switch kind {
	case SQLite:
		if err := os.MkdirAll(filepath.Dir(dsn), 0o750); err != nil {
			return nil, fmt.Errorf("create database directory: %w", err)
		}
		// WAL lets readers run beside the one writer; every transaction
		// takes the write lock at BEGIN so two writers never deadlock on an
		// upgrade; synchronous=FULL makes each commit durable.
		q := "?_pragma=journal_mode(WAL)&_pragma=synchronous(FULL)&_pragma=busy_timeout(10000)" +
			"&_pragma=foreign_keys(1)&_txlock=immediate"
		db, err = sql.Open("sqlite", "file:"+dsn+q)
		if err == nil {
			db.SetMaxOpenConns(8)
			db.SetMaxIdleConns(8)
		}
	case Postgres:
		db, err = sql.Open("pgx", withConnectTimeout(dsn))
		if err == nil {
			db.SetMaxOpenConns(32)
			db.SetMaxIdleConns(16)
			db.SetConnMaxIdleTime(5 * time.Minute)
		}
	default:
		return nil, fmt.Errorf("unknown database kind %q", kind)
	}
	if err != nil {
		return nil, fmt.Errorf("open %s database: %w", kind, err)
	}
	s := &Store{db: boundedDB{DB: db, timeout: timeout}, d: dialects[kind]}
	if kind == SQLite {
		s.path = dsn
	}
	pingCtx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	if err := ping(pingCtx, db); err != nil {
		db.Close()
		return nil, fmt.Errorf("connect to %s database: %w", kind, err)
	}
	s.counter = newDownloadCounter(s)
	return s, nil
}

// ping opens the first connection. A new SQLite file switches to WAL on
// its first connection, which needs the file to itself; SQLite answers
// SQLITE_BUSY at once, without waiting, when another process (a second node
// or `satchel migrate` started beside `serve`) opens the same new file at the
// same moment. That is retried until ctx ends; any other error is final.
func ping(ctx context.Context, db *sql.DB) error {
	for wait := 5 * time.Millisecond; ; wait = min(2*wait, 200*time.Millisecond) {
		err := db.PingContext(ctx)
		var se *sqlite.Error
		if err == nil || !errors.As(err, &se) || se.Code()&0xff != sqlite3.SQLITE_BUSY {
			return err
		}
		select {
		case <-ctx.Done():
			return err
		case <-time.After(wait):
		}
	}
}

// Kind returns SQLite or Postgres.
func (s *Store) Kind() string { return s.d.name }

// DB returns the underlying handle, for tests and tools that inspect the schema.
func (s *Store) DB() *sql.DB { return s.db.DB }

// Close stops the store's background work and closes the database.
func (s *Store) Close() error {
	s.counter.close()
	s.stmts.Range(func(_, v any) bool {
		v.(*sql.Stmt).Close()
		return true
	})
	return s.db.Close()
}

// prepared returns the prepared statement of a query, preparing it on first
// use. The SQLite driver parses every unprepared query anew, which on the
// hot paths (authentication, share links) costs more than running it.
func (s *Store) prepared(ctx context.Context, query string) (*sql.Stmt, error) {
	if st, ok := s.stmts.Load(query); ok {
		return st.(*sql.Stmt), nil
	}
	st, err := s.db.PrepareContext(ctx, query)
	if err != nil {
		return nil, err
	}
	if prev, loaded := s.stmts.LoadOrStore(query, st); loaded {
		st.Close()
		return prev.(*sql.Stmt), nil
	}
	return st, nil
}

// queryRow is db.QueryRowContext through a prepared statement.
func (s *Store) queryRow(ctx context.Context, query string, args ...any) *rowScanner {
	st, err := s.prepared(ctx, query)
	if err != nil {
		return &rowScanner{err: err}
	}
	ctx, cancel := s.db.bound(ctx)
	return &rowScanner{row: st.QueryRowContext(ctx, args...), cancel: cancel}
}

// Ping checks that the database answers.
func (s *Store) Ping(ctx context.Context) error {
	if err := s.db.PingContext(ctx); err != nil {
		return s.wrap("ping database", err)
	}
	return nil
}

// dialect holds what differs between the two databases.
type dialect struct {
	name string
	// ts turns a time into the value the driver stores: a time.Time for
	// PostgreSQL, fixed-width RFC 3339 text for SQLite (so it sorts).
	ts func(time.Time) any
	// forUpdate locks the rows a SELECT reads until the transaction ends.
	// SQLite needs no clause: its transactions take the write lock at BEGIN.
	forUpdate string
}

const sqliteTimeLayout = "2006-01-02T15:04:05.000000Z"

var dialects = map[string]dialect{
	Postgres: {name: Postgres, ts: func(t time.Time) any { return t.UTC().Truncate(time.Microsecond) }, forUpdate: " FOR UPDATE"},
	SQLite:   {name: SQLite, ts: func(t time.Time) any { return t.UTC().Format(sqliteTimeLayout) }},
}

// tsCol scans a time column from either database.
type tsCol struct{ t *time.Time }

func (c tsCol) Scan(src any) error {
	switch v := src.(type) {
	case time.Time:
		*c.t = v.UTC()
		return nil
	case string:
		return c.parse(v)
	case []byte:
		return c.parse(string(v))
	}
	return fmt.Errorf("cannot scan %T into a time", src)
}

func (c tsCol) parse(s string) error {
	t, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		return fmt.Errorf("parse time %q: %w", s, err)
	}
	*c.t = t.UTC()
	return nil
}

// nullTSCol scans a nullable time column.
type nullTSCol struct{ t **time.Time }

func (c nullTSCol) Scan(src any) error {
	if src == nil {
		*c.t = nil
		return nil
	}
	var t time.Time
	if err := (tsCol{&t}).Scan(src); err != nil {
		return err
	}
	*c.t = &t
	return nil
}

// nullString scans a nullable text column into "" when NULL.
type nullString struct{ s *string }

func (c nullString) Scan(src any) error {
	switch v := src.(type) {
	case nil:
		*c.s = ""
	case string:
		*c.s = v
	case []byte:
		*c.s = string(v)
	default:
		return fmt.Errorf("cannot scan %T into a string", src)
	}
	return nil
}

// nullIfEmpty stores "" as NULL.
func nullIfEmpty(s string) any {
	if s == "" {
		return nil
	}
	return s
}

// tx runs fn in a transaction and commits it if fn returns nil. The whole
// transaction is one call under the time limit: fn gets the bounded context
// and must use it.
func (s *Store) tx(ctx context.Context, op string, fn func(ctx context.Context, tx *sql.Tx) error) error {
	ctx, cancel := s.db.bound(ctx)
	defer cancel()
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return s.wrap(op, err)
	}
	if err := fn(ctx, tx); err != nil {
		_ = tx.Rollback()
		return s.wrap(op, err)
	}
	if err := tx.Commit(); err != nil {
		return s.wrap(op, err)
	}
	return nil
}

// wrap translates driver errors into the domain's kinds and says what was
// being done. Errors that already carry a domain kind pass through.
func (s *Store) wrap(op string, err error) error {
	var de *satchel.Error
	switch {
	case err == nil:
		return nil
	case errors.As(err, &de):
		return err
	case errors.Is(err, sql.ErrNoRows):
		return fmt.Errorf("%s: %w", op, satchel.ErrNotFound)
	case errors.Is(err, context.Canceled), errors.Is(err, context.DeadlineExceeded):
		return fmt.Errorf("%s: %w", op, err)
	}
	if name, ok := uniqueViolation(err); ok {
		return &satchel.Error{Kind: satchel.ErrConflict, Detail: conflictDetail(name), Fields: conflictFields(name)}
	}
	if diskFull(err) {
		return fmt.Errorf("%s: %w: %w", op, satchel.ErrStorageFull, err)
	}
	if unavailable(err) {
		return fmt.Errorf("%s: %w: %w", op, satchel.ErrUnavailable, err)
	}
	return fmt.Errorf("%s: %w", op, err)
}

// uniqueViolation reports whether err is a unique constraint violation and
// names the constraint or column involved.
func uniqueViolation(err error) (string, bool) {
	var pe *pgconn.PgError
	if errors.As(err, &pe) && pe.Code == "23505" {
		return pe.ConstraintName, true
	}
	var se *sqlite.Error
	if errors.As(err, &se) && (se.Code() == sqlite3.SQLITE_CONSTRAINT_UNIQUE || se.Code() == sqlite3.SQLITE_CONSTRAINT_PRIMARYKEY) {
		return se.Error(), true
	}
	return "", false
}

func conflictFields(name string) []satchel.FieldError {
	switch {
	case strings.Contains(name, "username"):
		return []satchel.FieldError{{Field: "username", Message: "is already taken"}}
	case strings.Contains(name, "email"):
		return []satchel.FieldError{{Field: "email", Message: "is already taken"}}
	}
	return nil
}

func conflictDetail(name string) string {
	switch {
	case strings.Contains(name, "username"):
		return "that username is already taken"
	case strings.Contains(name, "email"):
		return "that email address is already taken"
	}
	return "the object already exists"
}

// unavailable reports whether err means the database cannot be reached:
// it refuses connections, or a connection broke under the query.
func unavailable(err error) bool {
	var (
		ce *pgconn.ConnectError
		ne net.Error
	)
	if errors.As(err, &ce) || pgconn.SafeToRetry(err) || errors.Is(err, sql.ErrConnDone) ||
		errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, driver.ErrBadConn) || errors.As(err, &ne) ||
		errors.Is(err, syscall.ECONNREFUSED) || errors.Is(err, syscall.ECONNRESET) || errors.Is(err, syscall.EPIPE) {
		return true
	}
	var pe *pgconn.PgError
	if errors.As(err, &pe) && (strings.HasPrefix(pe.Code, "08") || pe.Code == "57P01" || pe.Code == "57P03") {
		return true
	}
	var se *sqlite.Error
	if errors.As(err, &se) {
		switch se.Code() & 0xff {
		case sqlite3.SQLITE_BUSY, sqlite3.SQLITE_LOCKED, sqlite3.SQLITE_IOERR, sqlite3.SQLITE_CANTOPEN:
			return true
		}
	}
	return false
}

// diskFull reports whether err means the database's disk is full.
func diskFull(err error) bool {
	var pe *pgconn.PgError
	if errors.As(err, &pe) && pe.Code == "53100" {
		return true
	}
	var se *sqlite.Error
	return errors.As(err, &se) && se.Code()&0xff == sqlite3.SQLITE_FULL
}

// withConnectTimeout bounds how long a connection attempt may take, unless
// the URL says otherwise, so that a database that is down answers fast.
func withConnectTimeout(dsn string) string {
	if strings.Contains(dsn, "connect_timeout=") {
		return dsn
	}
	if strings.Contains(dsn, "?") {
		return dsn + "&connect_timeout=5"
	}
	return dsn + "?connect_timeout=5"
}
