// Package blobtest is the conformance suite every blob storage backend must
// pass: the behaviour the rest of Satchel relies on, whatever keeps the bytes.
package blobtest

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"io"
	"testing"

	"github.com/satchelhq/satchel/internal/satchel"
)

// Store is the blob storage interface under test.
type Store interface {
	Put(ctx context.Context, key string, r io.Reader) (int64, error)
	Open(ctx context.Context, key string) (io.ReadSeekCloser, error)
	Delete(ctx context.Context, key string) error
	Ping(ctx context.Context) error

	BeginChunked(ctx context.Context, key string, size int64) (string, error)
	PutChunk(ctx context.Context, key, ref string, index int, offset, size int64, r io.Reader) (string, error)
	CompleteChunked(ctx context.Context, key, ref string, chunks []satchel.Chunk) error
	AbortChunked(ctx context.Context, key, ref string) error
}

func random(t *testing.T, n int) []byte {
	t.Helper()
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		t.Fatal(err)
	}
	return b
}

func key(t *testing.T) string {
	t.Helper()
	return "k" + hex.EncodeToString(random(t, 8))
}

// failingReader yields some bytes, then an error.
type failingReader struct {
	r   io.Reader
	err error
}

func (f *failingReader) Read(p []byte) (int, error) {
	n, err := f.r.Read(p)
	if err == io.EOF {
		return n, f.err
	}
	return n, err
}

// Run runs the suite on stores made by newStore.
func Run(t *testing.T, newStore func(t *testing.T) Store) {
	ctx := context.Background()
	t.Run("put and read back", func(t *testing.T) {
		s := newStore(t)
		for _, size := range []int{0, 1, 4096, 5<<20 + 17} {
			content := random(t, size)
			k := key(t)
			n, err := s.Put(ctx, k, bytes.NewReader(content))
			if err != nil || n != int64(size) {
				t.Fatalf("put %d bytes: got %d, %v", size, n, err)
			}
			r, err := s.Open(ctx, k)
			if err != nil {
				t.Fatalf("open: %v", err)
			}
			got, err := io.ReadAll(r)
			r.Close()
			if err != nil || !bytes.Equal(got, content) {
				t.Fatalf("read back %d bytes (%v), want the %d put", len(got), err, size)
			}
		}
	})
	t.Run("seek and read a range", func(t *testing.T) {
		s := newStore(t)
		content := random(t, 100_000)
		k := key(t)
		if _, err := s.Put(ctx, k, bytes.NewReader(content)); err != nil {
			t.Fatal(err)
		}
		r, err := s.Open(ctx, k)
		if err != nil {
			t.Fatal(err)
		}
		defer r.Close()
		size, err := r.Seek(0, io.SeekEnd)
		if err != nil || size != int64(len(content)) {
			t.Fatalf("size by seeking to the end: got %d, %v", size, err)
		}
		if _, err := r.Seek(40_000, io.SeekStart); err != nil {
			t.Fatal(err)
		}
		buf := make([]byte, 1000)
		if _, err := io.ReadFull(r, buf); err != nil || !bytes.Equal(buf, content[40_000:41_000]) {
			t.Fatalf("range read: %v", err)
		}
	})
	t.Run("missing blob is ErrNotFound", func(t *testing.T) {
		s := newStore(t)
		if _, err := s.Open(ctx, key(t)); !errors.Is(err, satchel.ErrNotFound) {
			t.Fatalf("open missing: got %v, want ErrNotFound", err)
		}
	})
	t.Run("delete is idempotent", func(t *testing.T) {
		s := newStore(t)
		k := key(t)
		if _, err := s.Put(ctx, k, bytes.NewReader([]byte("x"))); err != nil {
			t.Fatal(err)
		}
		for i := range 2 {
			if err := s.Delete(ctx, k); err != nil {
				t.Fatalf("delete #%d: %v", i+1, err)
			}
		}
		if _, err := s.Open(ctx, k); !errors.Is(err, satchel.ErrNotFound) {
			t.Fatalf("open deleted: got %v, want ErrNotFound", err)
		}
	})
	t.Run("a failing reader leaves nothing", func(t *testing.T) {
		s := newStore(t)
		k := key(t)
		boom := errors.New("client went away")
		_, err := s.Put(ctx, k, &failingReader{r: bytes.NewReader(random(t, 3<<20)), err: boom})
		if !errors.Is(err, boom) {
			t.Fatalf("put: got %v, want the reader's error", err)
		}
		if _, err := s.Open(ctx, k); !errors.Is(err, satchel.ErrNotFound) {
			t.Fatalf("open after failed put: got %v, want ErrNotFound", err)
		}
	})
	t.Run("a cancelled context leaves nothing", func(t *testing.T) {
		s := newStore(t)
		k := key(t)
		cctx, cancel := context.WithCancel(ctx)
		pr, pw := io.Pipe()
		go func() {
			pw.Write(random(t, 1<<20))
			cancel()
			pw.Write(random(t, 1<<20))
			pw.Close()
		}()
		if _, err := s.Put(cctx, k, pr); err == nil {
			t.Fatalf("put with a cancelled context succeeded")
		}
		pr.Close()
		if _, err := s.Open(ctx, k); !errors.Is(err, satchel.ErrNotFound) {
			t.Fatalf("open after cancelled put: got %v, want ErrNotFound", err)
		}
	})
	t.Run("chunks in any order assemble into one blob", func(t *testing.T) {
		s := newStore(t)
		const chunk = 5 << 20
		content := random(t, 3*chunk+1000)
		k := key(t)
		ref, err := s.BeginChunked(ctx, k, int64(len(content)))
		if err != nil {
			t.Fatal(err)
		}
		var chunks []satchel.Chunk
		for _, i := range []int{3, 1, 0, 2} {
			part := content[i*chunk : min((i+1)*chunk, len(content))]
			etag, err := s.PutChunk(ctx, k, ref, i, int64(i*chunk), int64(len(part)), bytes.NewReader(part))
			if err != nil {
				t.Fatalf("put chunk %d: %v", i, err)
			}
			chunks = append(chunks, satchel.Chunk{Index: i, Size: int64(len(part)), ETag: etag})
		}
		// A chunk sent twice is harmless.
		if _, err := s.PutChunk(ctx, k, ref, 1, chunk, chunk, bytes.NewReader(content[chunk:2*chunk])); err != nil {
			t.Fatal(err)
		}
		if _, err := s.Open(ctx, k); !errors.Is(err, satchel.ErrNotFound) {
			t.Fatalf("the blob exists before completion: %v", err)
		}
		sorted := []satchel.Chunk{chunks[2], chunks[1], chunks[3], chunks[0]}
		for range 2 { // completing twice is not an error
			if err := s.CompleteChunked(ctx, k, ref, sorted); err != nil {
				t.Fatalf("complete: %v", err)
			}
		}
		r, err := s.Open(ctx, k)
		if err != nil {
			t.Fatal(err)
		}
		got, _ := io.ReadAll(r)
		r.Close()
		if !bytes.Equal(got, content) {
			t.Fatalf("assembled %d bytes differ from the %d sent", len(got), len(content))
		}
	})
	t.Run("an aborted assembly leaves nothing and takes no more chunks", func(t *testing.T) {
		s := newStore(t)
		k := key(t)
		ref, err := s.BeginChunked(ctx, k, 10<<20)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := s.PutChunk(ctx, k, ref, 0, 0, 5<<20, bytes.NewReader(random(t, 5<<20))); err != nil {
			t.Fatal(err)
		}
		for range 2 {
			if err := s.AbortChunked(ctx, k, ref); err != nil {
				t.Fatalf("abort: %v", err)
			}
		}
		if _, err := s.PutChunk(ctx, k, ref, 1, 5<<20, 5<<20, bytes.NewReader(random(t, 5<<20))); err == nil {
			t.Errorf("a chunk was accepted after the abort")
		}
		if _, err := s.Open(ctx, k); !errors.Is(err, satchel.ErrNotFound) {
			t.Errorf("open after abort: got %v, want ErrNotFound", err)
		}
	})
	t.Run("ping", func(t *testing.T) {
		if err := newStore(t).Ping(ctx); err != nil {
			t.Fatalf("ping: %v", err)
		}
	})
}
