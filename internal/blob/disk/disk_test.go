package disk_test

import (
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/satchelhq/satchel/internal/blob/blobtest"
	"github.com/satchelhq/satchel/internal/blob/disk"
	"github.com/satchelhq/satchel/internal/satchel"
)

func newStore(t *testing.T) *disk.Store {
	t.Helper()
	s, err := disk.New(filepath.Join(t.TempDir(), "blobs"))
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func TestConformance(t *testing.T) {
	blobtest.Run(t, func(t *testing.T) blobtest.Store {
		s := newStore(t)
		t.Cleanup(func() {
			// Whatever a test did, no temporary or partial file may be
			// left behind.
			for _, d := range []string{".tmp", ".uploads"} {
				entries, err := os.ReadDir(filepath.Join(s.Dir(), d))
				if err != nil || len(entries) != 0 {
					t.Errorf("files left in %s: %v %v", d, entries, err)
				}
			}
		})
		return s
	})
}

func TestOpenReturnsFile(t *testing.T) {
	// Downloads rely on getting the *os.File itself: it is what lets
	// http.ServeContent use sendfile.
	s := newStore(t)
	ctx := context.Background()
	if _, err := s.Put(ctx, "abcdef", bytes.NewReader([]byte("hello"))); err != nil {
		t.Fatal(err)
	}
	r, err := s.Open(ctx, "abcdef")
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	if _, ok := r.(*os.File); !ok {
		t.Errorf("Open returned %T, want *os.File", r)
	}
}

func TestKeysAreNeverPaths(t *testing.T) {
	s := newStore(t)
	ctx := context.Background()
	for _, k := range []string{"../escape", "a/b/c", ".hidden", "", "ab", "x\x00y"} {
		if _, err := s.Put(ctx, k, bytes.NewReader([]byte("x"))); err == nil {
			t.Errorf("put with key %q succeeded", k)
		}
		if _, err := s.Open(ctx, k); err == nil || errors.Is(err, satchel.ErrNotFound) {
			t.Errorf("open with key %q: got %v, want a refusal", k, err)
		}
	}
}

func TestRemoveStaleTemp(t *testing.T) {
	s := newStore(t)
	tmp := filepath.Join(s.Dir(), ".tmp")
	old, fresh := filepath.Join(tmp, "put-old"), filepath.Join(tmp, "put-fresh")
	for _, p := range []string{old, fresh} {
		if err := os.WriteFile(p, []byte("x"), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	now := time.Now()
	if err := os.Chtimes(old, now.Add(-2*time.Hour), now.Add(-2*time.Hour)); err != nil {
		t.Fatal(err)
	}
	n, err := s.RemoveStaleTemp(context.Background(), now, time.Hour)
	if err != nil || n != 1 {
		t.Fatalf("removed %d, %v; want 1", n, err)
	}
	if _, err := os.Stat(old); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("stale temp file still there")
	}
	if _, err := os.Stat(fresh); err != nil {
		t.Errorf("fresh temp file removed: %v", err)
	}
}
