package sqlstore_test

import (
	"context"
	"database/sql"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/pressly/goose/v3"

	"github.com/satchelhq/satchel/internal/sqlstore"
	"github.com/satchelhq/satchel/internal/testutil/dbtest"
)

func TestMain(m *testing.M) { os.Exit(dbtest.Main(m)) }

func migrationNames(t *testing.T, kind string) []string {
	t.Helper()
	fsys, err := sqlstore.Migrations(kind)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	err = fs.WalkDir(fsys, ".", func(p string, d fs.DirEntry, err error) error {
		if err == nil && !d.IsDir() {
			names = append(names, p)
		}
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return names
}

// TestMigrationSetsMatch fails when the dialects' migrations differ in number
// or name: every change to the schema is made for both.
func TestMigrationSetsMatch(t *testing.T) {
	pg, lite := migrationNames(t, sqlstore.Postgres), migrationNames(t, sqlstore.SQLite)
	if len(pg) < 3 {
		t.Fatalf("only %d postgres migrations found", len(pg))
	}
	if diff := cmp.Diff(pg, lite); diff != "" {
		t.Errorf("postgres (-) and sqlite (+) migrations differ:\n%s", diff)
	}
}

// TestDialectsHaveSameColumns compares the migrated schemas: every table has
// the same columns on both databases.
func TestDialectsHaveSameColumns(t *testing.T) {
	ctx := context.Background()
	columns := func(kind string) map[string][]string {
		s := dbtest.NewStore(t, kind)
		q := `SELECT table_name, column_name FROM information_schema.columns WHERE table_schema = 'public'`
		if kind == sqlstore.SQLite {
			q = `SELECT m.name, p.name FROM sqlite_master m, pragma_table_info(m.name) p WHERE m.type = 'table'`
		}
		rows, err := s.DB().QueryContext(ctx, q)
		if err != nil {
			t.Fatal(err)
		}
		defer rows.Close()
		out := map[string][]string{}
		for rows.Next() {
			var table, col string
			if err := rows.Scan(&table, &col); err != nil {
				t.Fatal(err)
			}
			if strings.HasPrefix(table, "goose_") || strings.HasPrefix(table, "sqlite_") || strings.HasPrefix(table, "river_") {
				continue
			}
			out[table] = append(out[table], col)
		}
		for _, cols := range out {
			sort.Strings(cols)
		}
		return out
	}
	if diff := cmp.Diff(columns(sqlstore.Postgres), columns(sqlstore.SQLite)); diff != "" {
		t.Errorf("postgres (-) and sqlite (+) columns differ:\n%s", diff)
	}
}

// catalog describes a PostgreSQL schema: columns with their types and
// defaults, constraints, indexes, triggers and functions.
func catalog(t *testing.T, db *sql.DB) []string {
	t.Helper()
	queries := []string{
		`SELECT table_name || '.' || column_name || ' ' || data_type || ' ' || coalesce(character_maximum_length::text, '') ||
			' null=' || is_nullable || ' default=' || coalesce(column_default, '')
		 FROM information_schema.columns WHERE table_schema = 'public' AND table_name NOT LIKE 'goose%'`,
		`SELECT conrelid::regclass || ' ' || conname || ' ' || pg_get_constraintdef(oid)
		 FROM pg_constraint WHERE connamespace = 'public'::regnamespace AND conrelid::regclass::text NOT LIKE 'goose%'`,
		`SELECT indexdef FROM pg_indexes WHERE schemaname = 'public' AND tablename NOT LIKE 'goose%'`,
		`SELECT pg_get_triggerdef(oid) FROM pg_trigger WHERE NOT tgisinternal`,
		`SELECT proname || ' ' || prosrc FROM pg_proc WHERE pronamespace = 'public'::regnamespace`,
	}
	var out []string
	for _, q := range queries {
		rows, err := db.Query(q)
		if err != nil {
			t.Fatalf("%s: %v", q, err)
		}
		for rows.Next() {
			var s string
			if err := rows.Scan(&s); err != nil {
				t.Fatal(err)
			}
			out = append(out, s)
		}
		rows.Close()
	}
	sort.Strings(out)
	return out
}

// TestFirstMigrationIsTheSeed checks that migration 1 on PostgreSQL makes
// exactly the schema that the seed file makes when run by itself.
func TestFirstMigrationIsTheSeed(t *testing.T) {
	ctx := context.Background()
	seed, err := os.ReadFile(filepath.Join("testdata", "seed-schema.sql"))
	if err != nil {
		t.Fatal(err)
	}
	open := func(url string) *sql.DB {
		db, err := sql.Open("pgx", url)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { db.Close() })
		return db
	}
	plain := open(dbtest.NewPostgresURL(t, false))
	if _, err := plain.ExecContext(ctx, string(seed)); err != nil {
		t.Fatalf("run the seed file: %v", err)
	}
	migrated := open(dbtest.NewPostgresURL(t, false))
	fsys, _ := sqlstore.Migrations(sqlstore.Postgres)
	p, err := goose.NewProvider(goose.DialectPostgres, migrated, fsys)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := p.UpTo(ctx, 1); err != nil {
		t.Fatalf("migrate to version 1: %v", err)
	}
	want, got := catalog(t, plain), catalog(t, migrated)
	if len(want) < 30 {
		t.Fatalf("the seed catalog has only %d entries", len(want))
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("seed file (-) and migration 1 (+) differ:\n%s", diff)
	}
}

// TestConcurrentMigrate starts two "nodes" on one empty database at once:
// both must succeed and the schema must be applied once.
func TestConcurrentMigrate(t *testing.T) {
	for _, kind := range dbtest.Kinds {
		t.Run(kind, func(t *testing.T) {
			ctx := context.Background()
			dsn := filepath.Join(t.TempDir(), "satchel.db")
			if kind == sqlstore.Postgres {
				dsn = dbtest.NewPostgresURL(t, false)
			}
			var (
				wg      sync.WaitGroup
				mu      sync.Mutex
				applied []int
				errs    []error
			)
			for range 4 {
				wg.Add(1)
				go func() {
					defer wg.Done()
					s, err := sqlstore.Open(ctx, kind, dsn, 0)
					if err == nil {
						var n int
						n, err = s.Migrate(ctx)
						mu.Lock()
						applied = append(applied, n)
						mu.Unlock()
						s.Close()
					}
					if err != nil {
						mu.Lock()
						errs = append(errs, err)
						mu.Unlock()
					}
				}()
			}
			wg.Wait()
			if len(errs) > 0 {
				t.Fatalf("concurrent migrations failed: %v", errs)
			}
			total := 0
			for _, n := range applied {
				total += n
			}
			if want := len(migrationNames(t, kind)); total != want {
				t.Errorf("migrations applied in all: got %d (%v), want %d", total, applied, want)
			}
			s, err := sqlstore.Open(ctx, kind, dsn, 0)
			if err != nil {
				t.Fatal(err)
			}
			defer s.Close()
			if v, err := s.Version(ctx); err != nil || v != int64(len(migrationNames(t, kind))) {
				t.Errorf("version: got %d, %v", v, err)
			}
		})
	}
}

func ExampleMigrations() {
	fsys, _ := sqlstore.Migrations(sqlstore.SQLite)
	names, _ := fs.Glob(fsys, "00001_*.sql")
	fmt.Println(names)
	// Output: [00001_seed.sql]
}
