// Package disk stores blobs as files in a local directory. Writes go to a
// temporary file that is synced and renamed into place, so a blob is either
// whole and durable or absent. Reads hand out the *os.File itself so that
// downloads keep using sendfile.
package disk

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sync"
	"syscall"
	"time"

	"github.com/satchelhq/satchel/internal/blob"
	"github.com/satchelhq/satchel/internal/satchel"
)

// Store is a blob store in a directory.
type Store struct {
	dir      string
	tmp      string
	partials string // blobs being assembled from chunks
}

// New returns a Store in dir, creating it if needed.
func New(dir string) (*Store, error) {
	abs, err := filepath.Abs(dir)
	if err != nil {
		return nil, fmt.Errorf("blob directory %s: %w", dir, err)
	}
	s := &Store{dir: abs, tmp: filepath.Join(abs, ".tmp"), partials: filepath.Join(abs, ".uploads")}
	for _, d := range []string{s.tmp, s.partials} {
		if err := os.MkdirAll(d, 0o750); err != nil {
			return nil, fmt.Errorf("create blob directory: %w", err)
		}
	}
	return s, nil
}

// Dir returns the directory the blobs live in.
func (s *Store) Dir() string { return s.dir }

// validKey accepts the keys the server makes: letters, digits, '.', '_', '-',
// at least 3 characters, never a path.
func validKey(key string) bool {
	if len(key) < 3 || len(key) > 200 || key[0] == '.' {
		return false
	}
	for i := 0; i < len(key); i++ {
		c := key[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '.' || c == '_' || c == '-') {
			return false
		}
	}
	return true
}

func (s *Store) path(key string) (string, error) {
	if !validKey(key) {
		return "", fmt.Errorf("invalid blob key %q", key)
	}
	return filepath.Join(s.dir, key[:2], key), nil
}

var bufPool = sync.Pool{New: func() any { b := make([]byte, 256<<10); return &b }}

// Put writes everything r yields to a new blob and returns once the blob is
// durable. If r fails, ctx ends or the disk fills, nothing is left behind.
func (s *Store) Put(ctx context.Context, key string, r io.Reader) (int64, error) {
	final, err := s.path(key)
	if err != nil {
		return 0, err
	}
	f, err := os.CreateTemp(s.tmp, "put-*")
	if err != nil {
		return 0, mapErr("create temporary blob", err)
	}
	done := false
	defer func() {
		if !done {
			f.Close()
			os.Remove(f.Name())
		}
	}()
	buf := bufPool.Get().(*[]byte)
	n, err := io.CopyBuffer(&writebackWriter{w: f, fd: int(f.Fd())}, blob.ContextReader(ctx, r), *buf)
	bufPool.Put(buf)
	if err != nil {
		return n, mapErr("write blob", err)
	}
	if err := s.commit(f, final); err != nil {
		return n, err
	}
	done = true
	return n, nil
}

// commit syncs and closes f, then renames it to final and syncs the
// directory so the name survives a crash.
func (s *Store) commit(f *os.File, final string) error {
	if err := f.Sync(); err != nil {
		return mapErr("sync blob", err)
	}
	if err := f.Close(); err != nil {
		return mapErr("close blob", err)
	}
	dir := filepath.Dir(final)
	if err := os.MkdirAll(dir, 0o750); err != nil {
		return mapErr("create blob shard", err)
	}
	if err := os.Rename(f.Name(), final); err != nil {
		return mapErr("rename blob", err)
	}
	return syncDir(dir)
}

func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return mapErr("open blob shard", err)
	}
	defer d.Close()
	return mapErr("sync blob shard", d.Sync())
}

// Open returns the blob's file. The caller closes it.
func (s *Store) Open(ctx context.Context, key string) (io.ReadSeekCloser, error) {
	p, err := s.path(key)
	if err != nil {
		return nil, err
	}
	f, err := os.Open(p)
	if err != nil {
		return nil, mapErr("open blob", err)
	}
	return f, nil
}

// Delete removes a blob; deleting a missing blob is not an error.
func (s *Store) Delete(ctx context.Context, key string) error {
	p, err := s.path(key)
	if err != nil {
		return err
	}
	if err := os.Remove(p); err != nil && !errors.Is(err, os.ErrNotExist) {
		return mapErr("delete blob", err)
	}
	return nil
}

// Ping checks that the directory is there and writable.
func (s *Store) Ping(ctx context.Context) error {
	if err := syscall.Access(s.tmp, 2 /* W_OK */); err != nil {
		return fmt.Errorf("blob directory %s: %w: %w", s.dir, satchel.ErrUnavailable, err)
	}
	return nil
}

// RemoveStaleTemp removes temporary files older than age: writes that a crash
// cut off.
func (s *Store) RemoveStaleTemp(ctx context.Context, now time.Time, age time.Duration) (int, error) {
	entries, err := os.ReadDir(s.tmp)
	if err != nil {
		return 0, mapErr("list temporary blobs", err)
	}
	removed := 0
	for _, e := range entries {
		info, err := e.Info()
		if err != nil || now.Sub(info.ModTime()) < age {
			continue
		}
		if err := os.Remove(filepath.Join(s.tmp, e.Name())); err == nil {
			removed++
		}
	}
	return removed, nil
}

func (s *Store) partial(key string) (string, error) {
	if !validKey(key) {
		return "", fmt.Errorf("invalid blob key %q", key)
	}
	return filepath.Join(s.partials, key), nil
}

// BeginChunked creates the file a chunked upload's chunks are written into,
// at its full size (sparse until the chunks arrive). The disk needs no
// reference, so it returns "".
func (s *Store) BeginChunked(ctx context.Context, key string, size int64) (string, error) {
	p, err := s.partial(key)
	if err != nil {
		return "", err
	}
	f, err := os.OpenFile(p, os.O_CREATE|os.O_EXCL|os.O_WRONLY, 0o640)
	if err != nil {
		return "", mapErr("create partial blob", err)
	}
	err = f.Truncate(size)
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = syncDir(s.partials)
	}
	if err != nil {
		os.Remove(p)
		return "", mapErr("create partial blob", err)
	}
	return "", nil
}

// PutChunk writes the size bytes of r at offset into the partial blob and
// returns once they are on disk. It never creates the file, so a chunk that arrives after
// an abort finds nothing to write into.
func (s *Store) PutChunk(ctx context.Context, key, ref string, index int, offset, size int64, r io.Reader) (string, error) {
	p, err := s.partial(key)
	if err != nil {
		return "", err
	}
	f, err := os.OpenFile(p, os.O_WRONLY, 0)
	if err != nil {
		return "", mapErr("open partial blob", err)
	}
	defer f.Close()
	buf := bufPool.Get().(*[]byte)
	n, err := io.CopyBuffer(&writebackWriter{w: io.NewOffsetWriter(f, offset), fd: int(f.Fd()), base: offset}, blob.ContextReader(ctx, r), *buf)
	bufPool.Put(buf)
	if err == nil && n != size {
		err = fmt.Errorf("got %d bytes, want %d", n, size)
	}
	if err != nil {
		return "", mapErr(fmt.Sprintf("write chunk %d", index), err)
	}
	if err := syscall.Fdatasync(int(f.Fd())); err != nil {
		return "", mapErr(fmt.Sprintf("sync chunk %d", index), err)
	}
	return "", nil
}

// ReadChunk reads back part of a partial blob before it is complete.
func (s *Store) ReadChunk(ctx context.Context, key, ref string, offset, size int64) (io.ReadCloser, error) {
	p, err := s.partial(key)
	if err != nil {
		return nil, err
	}
	f, err := os.Open(p)
	if err != nil {
		return nil, mapErr("open partial blob", err)
	}
	return struct {
		io.Reader
		io.Closer
	}{io.NewSectionReader(f, offset, size), f}, nil
}

// CompleteChunked makes the assembled blob whole under its key: a rename,
// since the chunks were written in place. Completing twice is not an error.
func (s *Store) CompleteChunked(ctx context.Context, key, ref string, chunks []satchel.Chunk) error {
	p, err := s.partial(key)
	if err != nil {
		return err
	}
	final, _ := s.path(key)
	if err := os.MkdirAll(filepath.Dir(final), 0o750); err != nil {
		return mapErr("create blob shard", err)
	}
	if err := os.Rename(p, final); err != nil {
		if _, serr := os.Stat(final); errors.Is(err, os.ErrNotExist) && serr == nil {
			return nil // completed before
		}
		return mapErr("complete chunked blob", err)
	}
	if err := syncDir(filepath.Dir(final)); err != nil {
		return err
	}
	return syncDir(s.partials)
}

// AbortChunked removes a partial blob; a missing one is not an error.
func (s *Store) AbortChunked(ctx context.Context, key, ref string) error {
	p, err := s.partial(key)
	if err != nil {
		return err
	}
	if err := os.Remove(p); err != nil && !errors.Is(err, os.ErrNotExist) {
		return mapErr("remove partial blob", err)
	}
	return nil
}

// Locate returns the path of a blob, for a program that reads files.
func (s *Store) Locate(ctx context.Context, key string) (string, error) {
	p, err := s.path(key)
	if err != nil {
		return "", err
	}
	if _, err := os.Stat(p); err != nil {
		return "", mapErr("locate blob", err)
	}
	return p, nil
}

// StalePartials lists the partial blobs (chunked uploads) untouched since
// before `before`.
func (s *Store) StalePartials(ctx context.Context, before time.Time) ([]satchel.Partial, error) {
	entries, err := os.ReadDir(s.partials)
	if err != nil {
		return nil, mapErr("list partial blobs", err)
	}
	var out []satchel.Partial
	for _, e := range entries {
		if info, err := e.Info(); err == nil && info.ModTime().Before(before) && validKey(e.Name()) {
			out = append(out, satchel.Partial{Key: e.Name()})
		}
	}
	return out, nil
}

// Keys lists every file in the blob directory, temporary and partial ones
// included, for tools and tests.
func (s *Store) Keys(ctx context.Context) ([]string, error) {
	var keys []string
	err := filepath.WalkDir(s.dir, func(p string, d os.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.Type().IsRegular() {
			rel, _ := filepath.Rel(s.dir, p)
			keys = append(keys, rel)
		}
		return nil
	})
	return keys, mapErr("list blobs", err)
}

// mapErr wraps a filesystem error with what was being done and the domain
// kind it amounts to.
func mapErr(op string, err error) error {
	switch {
	case err == nil:
		return nil
	case errors.Is(err, os.ErrNotExist):
		return fmt.Errorf("%s: %w", op, satchel.NotFound("blob"))
	case errors.Is(err, syscall.ENOSPC), errors.Is(err, syscall.EDQUOT):
		return fmt.Errorf("%s: %w: %w", op, satchel.ErrStorageFull, err)
	case errors.Is(err, syscall.EIO), errors.Is(err, syscall.EROFS), errors.Is(err, syscall.EACCES):
		return fmt.Errorf("%s: %w: %w", op, satchel.ErrUnavailable, err)
	}
	return fmt.Errorf("%s: %w", op, err)
}
