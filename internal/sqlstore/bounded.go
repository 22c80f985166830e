package sqlstore

import (
	"context"
	"database/sql"
	"time"
)

// boundedDB is the database handle with a time limit on every call, so that
// a database that stops answering (a cut network, a frozen server) fails the
// call with context.DeadlineExceeded instead of holding a request forever.
// A call's limit runs until its rows or row are read and closed.
type boundedDB struct {
	*sql.DB
	timeout time.Duration
}

func (b boundedDB) bound(ctx context.Context) (context.Context, context.CancelFunc) {
	return context.WithTimeout(ctx, b.timeout)
}

func (b boundedDB) ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error) {
	ctx, cancel := b.bound(ctx)
	defer cancel()
	return b.DB.ExecContext(ctx, query, args...)
}

func (b boundedDB) QueryContext(ctx context.Context, query string, args ...any) (*boundedRows, error) {
	ctx, cancel := b.bound(ctx)
	rows, err := b.DB.QueryContext(ctx, query, args...)
	if err != nil {
		cancel()
		return nil, err
	}
	return &boundedRows{Rows: rows, cancel: cancel}, nil
}

func (b boundedDB) QueryRowContext(ctx context.Context, query string, args ...any) *rowScanner {
	ctx, cancel := b.bound(ctx)
	return &rowScanner{row: b.DB.QueryRowContext(ctx, query, args...), cancel: cancel}
}

func (b boundedDB) PrepareContext(ctx context.Context, query string) (*sql.Stmt, error) {
	ctx, cancel := b.bound(ctx)
	defer cancel()
	return b.DB.PrepareContext(ctx, query)
}

func (b boundedDB) PingContext(ctx context.Context) error {
	ctx, cancel := b.bound(ctx)
	defer cancel()
	return b.DB.PingContext(ctx)
}

// boundedRows are rows whose call's limit ends when they are closed.
type boundedRows struct {
	*sql.Rows
	cancel context.CancelFunc
}

func (r *boundedRows) Close() error {
	err := r.Rows.Close()
	r.cancel()
	return err
}

// rowScanner is a *sql.Row (or the error of preparing its statement) whose
// call's limit ends when it is scanned.
type rowScanner struct {
	row    *sql.Row
	err    error
	cancel context.CancelFunc
}

func (r *rowScanner) Scan(dest ...any) error {
	if r.cancel != nil {
		defer r.cancel()
	}
	if r.err != nil {
		return r.err
	}
	return r.row.Scan(dest...)
}
