package s3_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"errors"
	"io"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/satchelhq/satchel/internal/blob/blobtest"
	"github.com/satchelhq/satchel/internal/blob/s3"
	"github.com/satchelhq/satchel/internal/satchel"
	"github.com/satchelhq/satchel/internal/testutil/faultproxy"
	"github.com/satchelhq/satchel/internal/testutil/s3test"
)

func TestMain(m *testing.M) { os.Exit(s3test.Main(m)) }

func newStore(t *testing.T, url string) *s3.Store {
	t.Helper()
	loc, err := s3.ParseURL(url)
	if err != nil {
		t.Fatal(err)
	}
	s, err := s3.New(context.Background(), loc)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func TestConformance(t *testing.T) {
	blobtest.Run(t, func(t *testing.T) blobtest.Store {
		s := newStore(t, s3test.StorageURL(t))
		t.Cleanup(func() {
			// Whatever a test did, no multipart upload may be left open.
			partials, err := s.StalePartials(context.Background(), time.Now().Add(time.Hour))
			if err != nil || len(partials) != 0 {
				t.Errorf("multipart uploads left: %v %v", partials, err)
			}
		})
		return s
	})
}

func TestParseURL(t *testing.T) {
	loc, err := s3.ParseURL("s3://media?endpoint=http://127.0.0.1:7070&region=eu-west-1&path_style=true&prefix=satchel/")
	if err != nil || loc.Bucket != "media" || loc.Endpoint != "http://127.0.0.1:7070" || loc.Region != "eu-west-1" || !loc.PathStyle || loc.Prefix != "satchel" {
		t.Errorf("got %+v, %v", loc, err)
	}
	if loc, _ := s3.ParseURL("s3://media"); loc.Region != "us-east-1" || loc.PathStyle {
		t.Errorf("defaults: %+v", loc)
	}
	for _, bad := range []string{"s3://", "http://media", "s3://media?endpoint=ftp://x", "s3://media?path_style=maybe", "s3://media?colour=blue"} {
		if _, err := s3.ParseURL(bad); err == nil {
			t.Errorf("ParseURL(%q) accepted", bad)
		}
	}
}

// behindProxy returns a store on a fresh bucket reached through a proxy;
// stall is the store's stall time (0: the default).
func behindProxy(t *testing.T, stall time.Duration) (*s3.Store, *faultproxy.Proxy) {
	t.Helper()
	loc, err := s3.ParseURL(s3test.StorageURL(t))
	if err != nil {
		t.Fatal(err)
	}
	loc.Stall = stall
	proxy := faultproxy.New(t, strings.TrimPrefix(loc.Endpoint, "http://"))
	loc.Endpoint = "http://" + proxy.Addr
	s, err := s3.New(context.Background(), loc)
	if err != nil {
		t.Fatal(err)
	}
	return s, proxy
}

// TestRangeFetchesOnlyTheRange reads 100 bytes in the middle of a 24 MiB
// blob through a proxy that counts bytes: far less than the blob crosses.
func TestRangeFetchesOnlyTheRange(t *testing.T) {
	s, proxy := behindProxy(t, 0)
	ctx := context.Background()
	content := make([]byte, 24<<20)
	rand.Read(content)
	if _, err := s.Put(ctx, "bigblob", bytes.NewReader(content)); err != nil {
		t.Fatal(err)
	}
	r, err := s.Open(ctx, "bigblob")
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	before := proxy.BytesDown()
	if size, _ := r.Seek(0, io.SeekEnd); size != int64(len(content)) {
		t.Fatalf("size %d", size)
	}
	r.Seek(10<<20, io.SeekStart)
	buf := make([]byte, 100)
	if _, err := io.ReadFull(r, buf); err != nil || !bytes.Equal(buf, content[10<<20:10<<20+100]) {
		t.Fatalf("range read: %v", err)
	}
	if n := proxy.BytesDown() - before; n > 2<<20 {
		t.Errorf("reading 100 bytes fetched %d bytes", n)
	}
	// Reading on in order gets the rest right, in growing windows.
	rest, err := io.ReadAll(r)
	if err != nil || !bytes.Equal(rest, content[10<<20+100:]) {
		t.Errorf("reading on: %d bytes, %v", len(rest), err)
	}
}

// TestStoreDown: with the object store gone, calls fail as unavailable and
// an upload leaves nothing once it is back.
func TestStoreDown(t *testing.T) {
	s, proxy := behindProxy(t, 0)
	ctx := context.Background()
	proxy.Down()
	if err := s.Ping(ctx); err == nil {
		t.Errorf("ping with the store down succeeded")
	}
	if _, err := s.Put(ctx, "k1", bytes.NewReader([]byte("x"))); err == nil {
		t.Errorf("put with the store down succeeded")
	}
	proxy.Up(t)
	if err := s.Ping(ctx); err != nil {
		t.Errorf("ping after the store came back: %v", err)
	}
	if _, err := s.Open(ctx, "k1"); err == nil {
		t.Errorf("the failed put left a blob")
	}
}

// TestStalledStore: a store that stops moving bytes partway through a
// download or an upload fails the call as unavailable after the stall time,
// instead of holding it for ever.
func TestStalledStore(t *testing.T) {
	// The stall time is short for a test, yet long enough that a loaded
	// machine does not make a healthy store look stalled.
	s, proxy := behindProxy(t, 2*time.Second)
	ctx := context.Background()
	content := make([]byte, 40<<20)
	rand.Read(content)
	if _, err := s.Put(ctx, "big", bytes.NewReader(content)); err != nil {
		t.Fatal(err)
	}
	// within runs f, failing the test if it has not returned after a
	// minute: without a bound on stalls it would never return.
	within := func(what string, f func() error) error {
		t.Helper()
		done := make(chan error, 1)
		go func() { done <- f() }()
		select {
		case err := <-done:
			return err
		case <-time.After(time.Minute):
			proxy.Resume()
			t.Fatalf("%s: still waiting on a stalled store after a minute", what)
			return nil
		}
	}
	r, err := s.Open(ctx, "big")
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	// Reading in order widens the windows (1, 2, 4, 8, 16 MiB): stop a
	// little into the 16 MiB one, more than socket buffers hold, so that the
	// stall comes in the middle of a response body.
	if _, err := io.ReadFull(r, make([]byte, 15<<20+100<<10)); err != nil {
		t.Fatal(err)
	}
	proxy.Stall()
	err = within("download", func() error { _, err := io.Copy(io.Discard, r); return err })
	if !errors.Is(err, satchel.ErrUnavailable) {
		t.Errorf("download from a stalled store: %v, want ErrUnavailable", err)
	}
	err = within("upload", func() error { _, err := s.Put(ctx, "other", bytes.NewReader(content)); return err })
	if !errors.Is(err, satchel.ErrUnavailable) {
		t.Errorf("upload to a stalled store: %v, want ErrUnavailable", err)
	}
	err = within("open", func() error { _, err := s.Open(ctx, "big"); return err })
	if !errors.Is(err, satchel.ErrUnavailable) {
		t.Errorf("open on a stalled store: %v, want ErrUnavailable", err)
	}
	proxy.Resume()
	// It recovers by itself, and the failed upload left no blob.
	r2, err := s.Open(ctx, "big")
	if err != nil {
		t.Fatalf("open after the store moved again: %v", err)
	}
	defer r2.Close()
	if got, err := io.ReadAll(r2); err != nil || !bytes.Equal(got, content) {
		t.Errorf("read after the store moved again: %d bytes, %v", len(got), err)
	}
	if _, err := s.Open(ctx, "other"); !errors.Is(err, satchel.ErrNotFound) {
		t.Errorf("the failed upload: %v, want ErrNotFound", err)
	}
}

// slowReader hands over its bytes in two halves with a pause between: a
// client trickling an upload.
type slowReader struct {
	b      []byte
	pause  time.Duration
	paused bool
}

func (r *slowReader) Read(p []byte) (int, error) {
	if len(r.b) == 0 {
		return 0, io.EOF
	}
	if len(r.b) <= len(p) && !r.paused {
		r.paused = true
		time.Sleep(r.pause)
	}
	n := copy(p, r.b[:min(len(p), max(len(r.b)/2, 1))])
	r.b = r.b[n:]
	return n, nil
}

// TestSlowClientIsNotAStall: the stall time counts only while Satchel waits
// on the store. A client that pauses a download, or trickles a chunk, for
// longer than that loses nothing.
func TestSlowClientIsNotAStall(t *testing.T) {
	s, proxy := behindProxy(t, 2*time.Second)
	const pause = 4 * time.Second // longer than the stall time
	ctx := context.Background()
	content := make([]byte, 3<<20)
	rand.Read(content)
	if _, err := s.Put(ctx, "big", bytes.NewReader(content)); err != nil {
		t.Fatal(err)
	}
	r, err := s.Open(ctx, "big")
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	head := make([]byte, 32<<10)
	if _, err := io.ReadFull(r, head); err != nil {
		t.Fatal(err)
	}
	time.Sleep(pause) // the client pauses the download
	rest, err := io.ReadAll(r)
	if err != nil || !bytes.Equal(append(head, rest...), content) {
		t.Errorf("a download paused by its client: %d bytes, %v", len(head)+len(rest), err)
	}

	// If the store drops the connection meanwhile, the rest is fetched anew.
	r2, err := s.Open(ctx, "big")
	if err != nil {
		t.Fatal(err)
	}
	defer r2.Close()
	if _, err := io.ReadFull(r2, head); err != nil {
		t.Fatal(err)
	}
	proxy.Down()
	proxy.Up(t)
	rest, err = io.ReadAll(r2)
	if err != nil || !bytes.Equal(append(head, rest...), content) {
		t.Errorf("a download whose store connection dropped: %d bytes, %v", len(head)+len(rest), err)
	}

	chunk := content[:200<<10]
	ref, err := s.BeginChunked(ctx, "chunked", int64(len(chunk)))
	if err != nil {
		t.Fatal(err)
	}
	etag, err := s.PutChunk(ctx, "chunked", ref, 0, 0, int64(len(chunk)), &slowReader{b: chunk, pause: pause})
	if err != nil {
		t.Fatalf("a chunk its client trickles: %v", err)
	}
	if err := s.CompleteChunked(ctx, "chunked", ref, []satchel.Chunk{{Index: 0, Size: int64(len(chunk)), ETag: etag}}); err != nil {
		t.Fatal(err)
	}
	got, err := s.Open(ctx, "chunked")
	if err != nil {
		t.Fatal(err)
	}
	defer got.Close()
	if b, err := io.ReadAll(got); err != nil || !bytes.Equal(b, chunk) {
		t.Errorf("the trickled chunk: %d bytes, %v", len(b), err)
	}
}
