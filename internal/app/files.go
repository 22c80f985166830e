package app

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"hash"
	"io"
	"log/slog"
	"mime"
	"net/http"
	"path"
	"strings"
	"time"

	"github.com/satchelhq/satchel/internal/satchel"
)

// Limits are the size rules uploads obey.
type Limits struct {
	MaxFileSize int64
	UserQuota   int64 // 0: unlimited
}

// growStep is how much more space an upload of unknown length reserves at a
// time once it passes what it has reserved.
const growStep = 8 << 20

// cleanupTimeout bounds the clean-up after a failed upload, which runs even
// when the request's context has ended.
const cleanupTimeout = 30 * time.Second

// Files stores, lists, serves and deletes users' files.
type Files struct {
	store  FileStore
	blobs  BlobStore
	now    func() time.Time
	log    *slog.Logger
	limits Limits
}

// NewFiles returns the files service.
func NewFiles(store FileStore, blobs BlobStore, now func() time.Time, log *slog.Logger, limits Limits) *Files {
	return &Files{store: store, blobs: blobs, now: now, log: log, limits: limits}
}

// Limits returns the size rules.
func (s *Files) Limits() Limits { return s.limits }

// Upload is one direct upload.
type Upload struct {
	Filename string
	// ContentType is what the client declared; empty or generic types are
	// replaced by one guessed from the name or the first bytes.
	ContentType string
	// Size is the declared length of Body, or -1 when unknown.
	Size int64
	Body io.Reader
}

// NewStorageKey returns a fresh random blob key. Keys never come from user
// input.
func NewStorageKey() string {
	b := make([]byte, 16)
	if _, err := rand.Read(b); err != nil {
		panic("crypto/rand failed: " + err.Error())
	}
	return hex.EncodeToString(b)
}

// Upload streams a file into storage. Size and SHA-256 are computed in the
// same pass as the write; the file is committed only once its blob is
// durable. A refused, failed or cut-off upload leaves no row, no bytes and
// the user's counter as it was.
func (s *Files) Upload(ctx context.Context, userID string, up Upload) (satchel.File, error) {
	if msg := satchel.CheckFilename(up.Filename); msg != "" {
		return satchel.File{}, satchel.Invalid(satchel.FieldError{Field: "filename", Message: msg})
	}
	if up.Size > s.limits.MaxFileSize {
		return satchel.File{}, s.tooLarge()
	}
	reserve := max(up.Size, 0)
	now := s.now()
	f := satchel.File{
		ID: satchel.NewID(), UserID: userID, Filename: up.Filename, StorageKey: NewStorageKey(),
		MimeType: "application/octet-stream", Size: reserve, CreatedAt: now,
	}
	if err := s.store.BeginFile(ctx, f, s.limits.UserQuota); err != nil {
		return satchel.File{}, err
	}
	body := &countingReader{r: up.Body, h: sha256.New(), max: s.limits.MaxFileSize, reserved: reserve, lastTouch: now}
	body.touch = func() {
		now := s.now()
		if now.Sub(body.lastTouch) < touchInterval {
			return
		}
		body.lastTouch = now
		if err := s.store.TouchFile(ctx, f.ID, now); err != nil {
			s.log.WarnContext(ctx, "mark upload alive", "file_id", f.ID, "err", err)
		}
	}
	if s.limits.UserQuota > 0 && up.Size < 0 {
		body.grow = func(need int64) error {
			// Take a step, or what is left of the quota: near the quota,
			// one of several racing uploads gets the room and the others
			// fail at once, rather than all sharing it and all failing.
			granted, err := s.store.GrowFile(ctx, userID, f.ID, need, max(need, growStep), s.limits.UserQuota, s.now())
			body.reserved += granted
			return err
		}
	}
	if _, err := s.blobs.Put(ctx, f.StorageKey, body); err != nil {
		s.abort(ctx, f)
		return satchel.File{}, s.putError(body, err)
	}
	if up.Size >= 0 && body.n != up.Size {
		s.abort(ctx, f)
		return satchel.File{}, satchel.Errorf(satchel.ErrInvalid, "the body held %d bytes, not the %d its length declared", body.n, up.Size)
	}
	f.Size = body.n
	f.SHA256 = hex.EncodeToString(body.h.Sum(nil))
	f.MimeType = DetectType(up.ContentType, up.Filename, body.head)
	// The blob is durable: record it even if the client hangs up now, so a
	// commit that lands is never mistaken for a failure.
	cctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), cleanupTimeout)
	defer cancel()
	done, err := s.store.CompleteFile(cctx, f, s.now())
	if err != nil {
		s.abort(ctx, f)
		return satchel.File{}, err
	}
	return done, nil
}

// touchInterval is how often an upload in flight marks its pending row
// alive; staleAfter is how long without a sign of life makes it stale.
const (
	touchInterval = time.Minute
	staleAfter    = time.Hour
)

func (s *Files) tooLarge() error { return tooLarge(s.limits.MaxFileSize) }

// putError turns a failed Put into the error the client sees: a refusal as
// it is, a body that broke off as a 400, anything else as the server's fault.
func (s *Files) putError(body *countingReader, err error) error {
	switch {
	case body.stopErr != nil:
		return body.stopErr
	case body.bodyErr != nil:
		return satchel.Errorf(satchel.ErrInvalid, "the upload was cut off before its end")
	}
	return fmt.Errorf("store blob: %w", err)
}

// abort removes what a failed upload left: its pending row with the
// reservation and then, if the row was still pending, its blob. A row that
// turns out completed keeps its blob.
func (s *Files) abort(ctx context.Context, f satchel.File) {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), cleanupTimeout)
	defer cancel()
	removed, err := s.store.AbortFile(ctx, f.UserID, f.ID)
	if err != nil {
		// The row stays pending; the stale upload sweep takes it later.
		s.log.ErrorContext(ctx, "remove row of failed upload", "file_id", f.ID, "err", err)
		return
	}
	if !removed {
		return
	}
	if err := s.blobs.Delete(ctx, f.StorageKey); err != nil {
		// Usually there is none (the write failed); a stale-upload sweep
		// would not find this one, so say so.
		s.log.WarnContext(ctx, "remove blob of failed upload", "file_id", f.ID, "err", err)
	}
}

// SweepStale removes uploads whose request died without cleaning up (the
// process crashed or was cut off at shutdown): their pending rows, their
// reservations and their blobs. It returns how many it removed.
func (s *Files) SweepStale(ctx context.Context) (int, error) {
	total := 0
	for {
		gone, err := s.store.DeleteStalePendingFiles(ctx, s.now().Add(-staleAfter), 100)
		for _, f := range gone {
			if derr := s.blobs.Delete(ctx, f.StorageKey); derr != nil {
				s.log.ErrorContext(ctx, "remove blob of stale upload", "file_id", f.ID, "err", derr)
			}
		}
		total += len(gone)
		if err != nil || len(gone) < 100 {
			return total, err
		}
	}
}

// countingReader passes the upload through while it counts, hashes and keeps
// the first bytes for type detection, and stops it as soon as it passes the
// size limit or the quota.
type countingReader struct {
	r         io.Reader
	h         hash.Hash
	n         int64
	max       int64
	reserved  int64
	grow      func(need int64) error
	touch     func()
	lastTouch time.Time
	head      []byte
	stopErr   error // why the server stopped the upload
	bodyErr   error // the body's own read error: the client went away
}

func (c *countingReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	if n > 0 {
		total := c.n + int64(n)
		if total > c.max {
			c.stopErr = tooLarge(c.max)
			return 0, c.stopErr
		}
		if c.grow != nil && total > c.reserved {
			if gerr := c.grow(total - c.reserved); gerr != nil {
				c.stopErr = gerr
				return 0, gerr
			}
		}
		c.h.Write(p[:n])
		if len(c.head) < 512 {
			c.head = append(c.head, p[:min(n, 512-len(c.head))]...)
		}
		c.n = total
		if c.touch != nil {
			c.touch()
		}
	}
	var refusal *satchel.Error
	switch {
	case err == nil || err == io.EOF:
	case errors.As(err, &refusal):
		c.stopErr = err // the body itself is not acceptable (see the caller's reader)
	default:
		c.bodyErr = err
	}
	return n, err
}

func tooLarge(limit int64) error {
	return satchel.Errorf(satchel.ErrTooLarge, "the file is larger than this server accepts (%d bytes)", limit)
}

// DetectType picks a file's media type: the client's declared type when it
// is specific, else the name's extension, else the content's first bytes.
func DetectType(declared, filename string, head []byte) string {
	if mt, _, err := mime.ParseMediaType(declared); err == nil && len(mt) <= satchel.MaxMimeTypeLen {
		switch {
		case mt == "application/octet-stream", mt == "application/x-www-form-urlencoded",
			strings.HasPrefix(mt, "multipart/"), !strings.Contains(mt, "/"):
		default:
			return mt
		}
	}
	if ext := path.Ext(filename); ext != "" {
		if t := mime.TypeByExtension(strings.ToLower(ext)); t != "" {
			if mt, _, err := mime.ParseMediaType(t); err == nil && len(mt) <= satchel.MaxMimeTypeLen {
				return mt
			}
		}
	}
	if len(head) > 0 {
		if mt, _, err := mime.ParseMediaType(http.DetectContentType(head)); err == nil {
			return mt
		}
	}
	return "application/octet-stream"
}

// Get returns one of the user's files.
func (s *Files) Get(ctx context.Context, userID, id string) (satchel.File, error) {
	if !satchel.ValidID(id) {
		return satchel.File{}, satchel.NotFound("file")
	}
	return s.store.GetFile(ctx, userID, id)
}

// List returns a page of the user's files, newest first; with a search, only
// those whose name contains it (ignoring case).
func (s *Files) List(ctx context.Context, userID, search string, after *satchel.Cursor, limit int) (satchel.Page[satchel.File], error) {
	if len(search) > satchel.MaxFilenameLen*4 {
		return satchel.Page[satchel.File]{}, satchel.Invalid(satchel.FieldError{Field: "q", Message: "is too long"})
	}
	return s.store.ListFiles(ctx, userID, search, after, limit)
}

// Rename changes a file's display name.
func (s *Files) Rename(ctx context.Context, userID, id, filename string) (satchel.File, error) {
	if msg := satchel.CheckFilename(filename); msg != "" {
		return satchel.File{}, satchel.Invalid(satchel.FieldError{Field: "filename", Message: msg})
	}
	if !satchel.ValidID(id) {
		return satchel.File{}, satchel.NotFound("file")
	}
	return s.store.RenameFile(ctx, userID, id, filename, s.now())
}

// Delete deletes a file with its content, thumbnail and share links.
func (s *Files) Delete(ctx context.Context, userID, id string) error {
	if !satchel.ValidID(id) {
		return satchel.NotFound("file")
	}
	f, err := s.store.DeleteFile(ctx, userID, id)
	if err != nil {
		return err
	}
	// The row is gone, so the file is gone for the user; the bytes go now,
	// even if the client has hung up.
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), cleanupTimeout)
	defer cancel()
	for _, key := range []string{f.StorageKey, f.ThumbnailKey} {
		if key == "" {
			continue
		}
		if err := s.blobs.Delete(ctx, key); err != nil {
			s.log.ErrorContext(ctx, "delete blob of deleted file", "file_id", f.ID, "err", err)
		}
	}
	return nil
}

// Open returns a file and its content for reading. The caller closes it.
func (s *Files) Open(ctx context.Context, userID, id string) (satchel.File, io.ReadSeekCloser, error) {
	f, err := s.Get(ctx, userID, id)
	if err != nil {
		return f, nil, err
	}
	r, err := s.openBlob(ctx, f.ID, f.StorageKey)
	return f, r, err
}

// OpenThumbnail returns a file and its thumbnail; ErrNotFound while it has none.
func (s *Files) OpenThumbnail(ctx context.Context, userID, id string) (satchel.File, io.ReadSeekCloser, error) {
	f, err := s.Get(ctx, userID, id)
	if err != nil {
		return f, nil, err
	}
	if !f.HasThumbnail() {
		return f, nil, satchel.NotFound("thumbnail")
	}
	r, err := s.openBlob(ctx, f.ID, f.ThumbnailKey)
	return f, r, err
}

func (s *Files) openBlob(ctx context.Context, fileID, key string) (io.ReadSeekCloser, error) {
	r, err := s.blobs.Open(ctx, key)
	if errors.Is(err, satchel.ErrNotFound) {
		// A row without its blob is damage, not a user error: report it
		// as a server fault.
		return nil, fmt.Errorf("blob of file %s is missing: %v", fileID, err)
	}
	return r, err
}
