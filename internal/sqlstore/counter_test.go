package sqlstore_test

import (
	"context"
	"math/rand/v2"
	"sync"
	"testing"
	"time"

	"github.com/satchelhq/satchel/internal/satchel"
	"github.com/satchelhq/satchel/internal/sqlstore"
	"github.com/satchelhq/satchel/internal/testutil/dbtest"
)

// TestCountsAcrossNodes counts downloads of a few links from two stores on
// one PostgreSQL database, as two nodes do: no count fails (no deadlock
// between their batches), and each limit is exact.
func TestCountsAcrossNodes(t *testing.T) {
	ctx := context.Background()
	url := dbtest.NewPostgresURL(t, true)
	var nodes []*sqlstore.Store
	for range 2 {
		s, err := sqlstore.Open(ctx, sqlstore.Postgres, url, 0)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { s.Close() })
		nodes = append(nodes, s)
	}
	now := time.Now()
	u, err := nodes[0].CreateUser(ctx, satchel.User{ID: satchel.NewID(), Username: "alice", Email: "a@example.com", PasswordHash: "x", CreatedAt: now, UpdatedAt: now})
	if err != nil {
		t.Fatal(err)
	}
	var shares []satchel.Share
	limits := []int{7, 100_000, 100_000, 100_000}
	for i, limit := range limits {
		f := satchel.File{ID: satchel.NewID(), UserID: u.ID, Filename: "f", StorageKey: satchel.NewID()[:8] + "key" + string(rune('a'+i)), MimeType: "text/plain", Size: 1, CreatedAt: now}
		if err := nodes[0].BeginFile(ctx, f, 0); err != nil {
			t.Fatal(err)
		}
		if _, err := nodes[0].CompleteFile(ctx, f, now); err != nil {
			t.Fatal(err)
		}
		max := limit
		sh := satchel.Share{ID: satchel.NewID(), FileID: f.ID, UserID: u.ID, Token: satchel.NewID(), MaxDownloads: &max, CreatedAt: now}
		if err := nodes[0].CreateShare(ctx, sh); err != nil {
			t.Fatal(err)
		}
		shares = append(shares, sh)
	}
	var (
		wg       sync.WaitGroup
		mu       sync.Mutex
		ok       = make([]int, len(shares))
		attempts = make([]int, len(shares))
		errs     []error
	)
	for g := range 200 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range 50 {
				k := rand.IntN(len(shares))
				counted, err := nodes[g%2].CountDownload(ctx, shares[k].ID, "f", time.Now())
				mu.Lock()
				attempts[k]++
				if err != nil {
					errs = append(errs, err)
				} else if counted {
					ok[k]++
				}
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	if len(errs) > 0 {
		t.Fatalf("%d counts failed, the first: %v", len(errs), errs[0])
	}
	for k, limit := range limits {
		if want := min(limit, attempts[k]); ok[k] != want {
			t.Errorf("link %d (limit %d): %d downloads counted, want %d", k, limit, ok[k], want)
		}
	}
}
