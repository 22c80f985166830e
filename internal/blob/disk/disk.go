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

	"github.com/satchelhq/satchel/internal/satchel"
)

// Store is a blob store in a directory.
type Store struct {
	dir string
	tmp string
}

// New returns a Store in dir, creating it if needed.
func New(dir string) (*Store, error) {
	abs, err := filepath.Abs(dir)
	if err != nil {
		return nil, fmt.Errorf("blob directory %s: %w", dir, err)
	}
	s := &Store{dir: abs, tmp: filepath.Join(abs, ".tmp")}
	if err := os.MkdirAll(s.tmp, 0o750); err != nil {
		return nil, fmt.Errorf("create blob directory: %w", err)
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

// writerOnly hides ReadFrom so io.CopyBuffer uses our large buffer.
type writerOnly struct{ io.Writer }

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
	n, err := io.CopyBuffer(writerOnly{f}, ctxReader{ctx, r}, *buf)
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

// ctxReader stops a copy when the context ends.
type ctxReader struct {
	ctx context.Context
	r   io.Reader
}

func (c ctxReader) Read(p []byte) (int, error) {
	if err := c.ctx.Err(); err != nil {
		return 0, err
	}
	return c.r.Read(p)
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
