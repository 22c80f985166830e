// Package dbtest gives tests real databases: a SQLite file in a temporary
// directory, or a fresh PostgreSQL database copied from a migrated template
// and dropped when the test ends.
package dbtest

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	_ "github.com/jackc/pgx/v5/stdlib"

	"github.com/satchelhq/satchel/internal/jobs"
	"github.com/satchelhq/satchel/internal/sqlstore"
)

// Kinds are the databases every store and HTTP test runs on.
var Kinds = []string{sqlstore.SQLite, sqlstore.Postgres}

// AdminURL is the PostgreSQL server tests use: $SATCHEL_TEST_POSTGRES_URL, or
// the local server with trust authentication.
func AdminURL() string {
	if u := os.Getenv("SATCHEL_TEST_POSTGRES_URL"); u != "" {
		return u
	}
	return "postgres://postgres@127.0.0.1:5432/postgres?sslmode=disable"
}

var (
	mu        sync.Mutex
	admin     *sql.DB
	template  string
	templates []string
)

func randomName(prefix string) string {
	b := make([]byte, 6)
	_, _ = rand.Read(b)
	return prefix + hex.EncodeToString(b)
}

// withDatabase returns AdminURL with its database replaced by name.
func withDatabase(name string) string {
	u, err := url.Parse(AdminURL())
	if err != nil {
		panic(err)
	}
	u.Path = "/" + name
	return u.String()
}

func adminDB(t testing.TB) *sql.DB {
	t.Helper()
	if admin == nil {
		db, err := sql.Open("pgx", AdminURL())
		if err != nil {
			t.Fatalf("open postgres admin connection: %v", err)
		}
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		if err := db.PingContext(ctx); err != nil {
			t.Fatalf("PostgreSQL is not reachable at %s (start it, or set SATCHEL_TEST_POSTGRES_URL): %v", AdminURL(), err)
		}
		admin = db
	}
	return admin
}

// migratedTemplate returns the name of this process's template database,
// creating and migrating it on first use.
func migratedTemplate(t testing.TB) string {
	t.Helper()
	if template != "" {
		return template
	}
	db := adminDB(t)
	name := randomName("satchel_tpl_")
	if _, err := db.Exec("CREATE DATABASE " + name); err != nil {
		t.Fatalf("create template database: %v", err)
	}
	templates = append(templates, name)
	ctx := context.Background()
	s, err := sqlstore.Open(ctx, sqlstore.Postgres, withDatabase(name), 0)
	if err != nil {
		t.Fatalf("open template database: %v", err)
	}
	if _, err := s.Migrate(ctx, jobs.Migrator(sqlstore.Postgres)); err != nil {
		s.Close()
		t.Fatalf("migrate template database: %v", err)
	}
	s.Close()
	template = name
	return name
}

// NewPostgresURL creates an empty database (migrated when migrated is true)
// that is dropped when the test ends, and returns its URL.
func NewPostgresURL(t testing.TB, migrated bool) string {
	t.Helper()
	mu.Lock()
	defer mu.Unlock()
	db := adminDB(t)
	name := randomName("satchel_test_")
	q := "CREATE DATABASE " + name
	if migrated {
		q += " TEMPLATE " + migratedTemplate(t)
	}
	if _, err := db.Exec(q); err != nil {
		t.Fatalf("create test database: %v", err)
	}
	t.Cleanup(func() {
		if _, err := db.Exec("DROP DATABASE IF EXISTS " + name + " WITH (FORCE)"); err != nil {
			t.Errorf("drop test database %s: %v", name, err)
		}
	})
	return withDatabase(name)
}

// NewDatabaseURL returns a fresh, migrated database of the given kind in the
// form SATCHEL_DATABASE_URL takes.
func NewDatabaseURL(t testing.TB, kind string) string {
	t.Helper()
	if kind == sqlstore.Postgres {
		return NewPostgresURL(t, true)
	}
	return "sqlite:" + filepath.Join(t.TempDir(), "satchel.db")
}

// NewStore returns a migrated store of the given kind in a database of its
// own, closed when the test ends.
func NewStore(t testing.TB, kind string) *sqlstore.Store {
	t.Helper()
	ctx := context.Background()
	var dsn string
	switch kind {
	case sqlstore.Postgres:
		dsn = NewPostgresURL(t, true)
	case sqlstore.SQLite:
		dsn = filepath.Join(t.TempDir(), "satchel.db")
	default:
		t.Fatalf("unknown database kind %q", kind)
	}
	s, err := sqlstore.Open(ctx, kind, dsn, 0)
	if err != nil {
		t.Fatalf("open %s store: %v", kind, err)
	}
	t.Cleanup(func() { s.Close() })
	if kind == sqlstore.SQLite {
		if _, err := s.Migrate(ctx, jobs.Migrator(sqlstore.SQLite)); err != nil {
			t.Fatalf("migrate sqlite store: %v", err)
		}
	}
	return s
}

// Main runs a package's tests and then drops the template databases they made.
func Main(m *testing.M) int {
	code := m.Run()
	mu.Lock()
	defer mu.Unlock()
	if admin != nil {
		for _, name := range templates {
			if _, err := admin.Exec("DROP DATABASE IF EXISTS " + name + " WITH (FORCE)"); err != nil {
				fmt.Fprintf(os.Stderr, "drop template database %s: %v\n", name, err)
				code = 1
			}
		}
		admin.Close()
	}
	return code
}
