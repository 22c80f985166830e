package app

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding"
	"encoding/hex"
	"errors"
	"fmt"
	"hash"
	"io"
	"log/slog"
	"mime"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/satchelhq/satchel/internal/satchel"
)

// Chunk size rules: what S3 multipart uploads accept, so that each chunk can
// be a part.
const (
	DefaultChunkSize = 8 << 20
	MinChunkSize     = 5 << 20
	MaxChunkSize     = 64 << 20
	MaxChunks        = 10_000
)

// completionLease is how long one request may hold the right to complete an
// upload before another may take over.
const completionLease = 10 * time.Minute

// completionWait bounds how long a complete request waits for another one
// that is completing the same upload.
const completionWait = 2 * time.Minute

// catchUpChunks bounds how many stored chunks one chunk request reads back to
// extend the hash of the contiguous prefix.
const catchUpChunks = 16

// UploadStore is what resumable uploads need from the database.
type UploadStore interface {
	CreateUpload(ctx context.Context, u satchel.Upload, quota int64) error
	GetUpload(ctx context.Context, userID, id string, now time.Time) (satchel.Upload, error)
	ListUploads(ctx context.Context, userID string, after *satchel.Cursor, limit int, now time.Time) (satchel.Page[satchel.Upload], error)
	RecordChunk(ctx context.Context, uploadID string, c satchel.Chunk, prefix []byte, now, expiresAt time.Time) (int, error)
	GetChunk(ctx context.Context, uploadID string, index int) (satchel.Chunk, error)
	ListChunks(ctx context.Context, uploadID string) ([]satchel.Chunk, error)
	AdvanceHash(ctx context.Context, uploadID string, from int, state []byte) (bool, error)
	ClaimCompletion(ctx context.Context, uploadID string, now, until time.Time) (bool, error)
	ReleaseCompletion(ctx context.Context, uploadID string) error
	FinishUpload(ctx context.Context, u satchel.Upload, f satchel.File, now time.Time) (satchel.File, error)
	FailUpload(ctx context.Context, u satchel.Upload, now time.Time) error
	DeleteUpload(ctx context.Context, userID, id string, now time.Time) (satchel.Upload, error)
	DeleteExpiredUploads(ctx context.Context, now time.Time, limit int) ([]satchel.Upload, error)
	GetFile(ctx context.Context, userID, id string) (satchel.File, error)
	UploadKeyExists(ctx context.Context, key string) (bool, error)
}

// UploadObserver hears what happens to resumable uploads, for metrics.
type UploadObserver interface {
	UploadStarted()
	UploadCompleted()
	UploadAborted()
	UploadsExpired(n int)
	ChunkReceived(bytes int64)
}

// Uploads runs resumable uploads: sessions that receive a file as chunks, in
// any order and in parallel, survive crashes, and complete without copying
// the content again.
type Uploads struct {
	store  UploadStore
	blobs  BlobStore
	now    func() time.Time
	log    *slog.Logger
	limits Limits
	ttl    time.Duration
	obs    UploadObserver

	chunkLocks keyedMutex // one writer per chunk index on this node
	hashLocks  keyedMutex // one prefix catch-up per upload on this node
}

// NewUploads returns the resumable uploads service. Sessions idle longer than
// ttl expire.
func NewUploads(store UploadStore, blobs BlobStore, now func() time.Time, log *slog.Logger, limits Limits, ttl time.Duration, obs UploadObserver) *Uploads {
	return &Uploads{store: store, blobs: blobs, now: now, log: log, limits: limits, ttl: ttl, obs: obs}
}

// NewUpload is what a client declares when it starts an upload.
type NewUpload struct {
	FileName  string
	TotalSize int64
	ChunkSize int64 // 0: the server picks
	MimeType  string
	SHA256    string
}

// ChooseChunkSize applies the chunk size rules to what a client asked for
// (0: nothing) and returns the chunk size and the number of chunks.
func ChooseChunkSize(total, requested int64) (int64, int, error) {
	cs := requested
	if cs <= 0 {
		cs = DefaultChunkSize
	}
	cs = min(max(cs, MinChunkSize), MaxChunkSize)
	if n := (total + cs - 1) / cs; n > MaxChunks {
		cs = (total + MaxChunks - 1) / MaxChunks
		cs = (cs + 1<<20 - 1) &^ (1<<20 - 1) // a whole number of MiB
		if cs > MaxChunkSize {
			return 0, 0, satchel.Errorf(satchel.ErrTooLarge, "a resumable upload holds at most %d chunks of %d bytes", MaxChunks, MaxChunkSize)
		}
	}
	return cs, int((total + cs - 1) / cs), nil
}

// Create starts an upload: it checks the size against the limit and the
// quota, reserves the space, and prepares the storage.
func (s *Uploads) Create(ctx context.Context, userID string, in NewUpload) (satchel.Upload, error) {
	var fields []satchel.FieldError
	if msg := satchel.CheckFilename(in.FileName); msg != "" {
		fields = append(fields, satchel.FieldError{Field: "file_name", Message: msg})
	}
	if in.TotalSize < 0 {
		fields = append(fields, satchel.FieldError{Field: "total_size", Message: "must not be negative"})
	}
	if in.ChunkSize < 0 {
		fields = append(fields, satchel.FieldError{Field: "chunk_size", Message: "must not be negative"})
	}
	if in.MimeType != "" {
		if mt, _, err := mime.ParseMediaType(in.MimeType); err != nil || !strings.Contains(mt, "/") || len(mt) > satchel.MaxMimeTypeLen {
			fields = append(fields, satchel.FieldError{Field: "mime_type", Message: "is not a media type such as image/png"})
		} else {
			in.MimeType = mt
		}
	}
	if in.SHA256 != "" {
		in.SHA256 = strings.ToLower(in.SHA256)
		if b, err := hex.DecodeString(in.SHA256); err != nil || len(b) != sha256.Size {
			fields = append(fields, satchel.FieldError{Field: "sha256", Message: "must be 64 hexadecimal digits"})
		}
	}
	if len(fields) > 0 {
		return satchel.Upload{}, satchel.Invalid(fields...)
	}
	if in.TotalSize > s.limits.MaxFileSize {
		return satchel.Upload{}, tooLarge(s.limits.MaxFileSize)
	}
	cs, n, err := ChooseChunkSize(in.TotalSize, in.ChunkSize)
	if err != nil {
		return satchel.Upload{}, err
	}
	now := s.now()
	u := satchel.Upload{
		ID: satchel.NewID(), UserID: userID, FileName: in.FileName, TotalSize: in.TotalSize, ChunkSize: cs,
		TotalChunks: n, Received: []int{}, Status: satchel.UploadInProgress, MimeType: in.MimeType, SHA256: in.SHA256,
		StorageKey: NewStorageKey(), ExpiresAt: now.Add(s.ttl), CreatedAt: now, UpdatedAt: now,
	}
	if u.StorageRef, err = s.blobs.BeginChunked(ctx, u.StorageKey, u.TotalSize); err != nil {
		return satchel.Upload{}, fmt.Errorf("prepare storage for upload: %w", err)
	}
	if err := s.store.CreateUpload(ctx, u, s.limits.UserQuota); err != nil {
		s.dropBytes(ctx, u)
		return satchel.Upload{}, err
	}
	s.obs.UploadStarted()
	return u, nil
}

// Get returns one of the user's uploads.
func (s *Uploads) Get(ctx context.Context, userID, id string) (satchel.Upload, error) {
	if !satchel.ValidID(id) {
		return satchel.Upload{}, satchel.NotFound("upload")
	}
	return s.store.GetUpload(ctx, userID, id, s.now())
}

// List returns a page of the user's unfinished uploads, newest first.
func (s *Uploads) List(ctx context.Context, userID string, after *satchel.Cursor, limit int) (satchel.Page[satchel.Upload], error) {
	return s.store.ListUploads(ctx, userID, after, limit, s.now())
}

// PutChunk stores chunk index of an upload from body, which must hold
// exactly the chunk's length (size is its declared length, or -1). digest,
// when not nil, is the SHA-256 the client says the chunk has. The bytes are
// durable before the chunk is recorded; a chunk of the wrong length or
// digest is recorded nowhere. Sending a stored chunk again changes nothing.
func (s *Uploads) PutChunk(ctx context.Context, userID, id string, index int, size int64, digest []byte, body io.Reader) (satchel.Chunk, error) {
	if !satchel.ValidID(id) {
		return satchel.Chunk{}, satchel.NotFound("upload")
	}
	u, err := s.store.GetUpload(ctx, userID, id, s.now())
	if err != nil {
		return satchel.Chunk{}, err
	}
	if u.Status != satchel.UploadInProgress {
		return satchel.Chunk{}, satchel.Errorf(satchel.ErrConflict, "the upload is %s; it takes no more chunks", strings.ReplaceAll(u.Status, "_", " "))
	}
	if index < 0 || index >= u.TotalChunks {
		return satchel.Chunk{}, satchel.Invalid(satchel.FieldError{Field: "index",
			Message: fmt.Sprintf("must be from 0 to %d: the upload has %d chunks", u.TotalChunks-1, u.TotalChunks)})
	}
	want := u.ChunkLen(index)
	if size >= 0 && size != want {
		return satchel.Chunk{}, wrongLength(index, want, size)
	}
	unlock := s.chunkLocks.Lock(id + "/" + strconv.Itoa(index))
	defer unlock()

	if prev, err := s.store.GetChunk(ctx, id, index); err == nil {
		// A resend: read it to check it is the same chunk, but write nothing.
		cb := &chunkBody{r: body, want: want, index: index, h: sha256.New()}
		if _, err := io.Copy(io.Discard, cb); err != nil {
			return satchel.Chunk{}, cb.failure(err)
		}
		sum := cb.h.Sum(nil)
		if err := checkDigest(index, digest, sum); err != nil {
			return satchel.Chunk{}, err
		}
		if hex.EncodeToString(sum) != prev.SHA256 {
			return satchel.Chunk{}, satchel.Errorf(satchel.ErrConflict, "chunk %d was already received with other content", index)
		}
		return prev, nil
	} else if !errors.Is(err, satchel.ErrNotFound) {
		return satchel.Chunk{}, err
	}

	cb := &chunkBody{r: body, want: want, index: index, h: sha256.New()}
	if index == u.HashedChunks {
		// This chunk extends the hashed prefix: hash it on the way through.
		if cb.prefix, err = loadHash(u.HashState); err != nil {
			return satchel.Chunk{}, err
		}
	}
	etag, err := s.blobs.PutChunk(ctx, u.StorageKey, u.StorageRef, index, int64(index)*u.ChunkSize, want, cb)
	if err != nil {
		return satchel.Chunk{}, cb.failure(err)
	}
	sum := cb.h.Sum(nil)
	if err := checkDigest(index, digest, sum); err != nil {
		return satchel.Chunk{}, err
	}
	c := satchel.Chunk{Index: index, Size: want, SHA256: hex.EncodeToString(sum), ETag: etag}
	var prefix []byte
	if cb.prefix != nil {
		prefix = saveHash(cb.prefix)
	}
	now := s.now()
	hashed, err := s.store.RecordChunk(ctx, id, c, prefix, now, now.Add(s.ttl))
	if err != nil {
		return satchel.Chunk{}, err
	}
	s.obs.ChunkReceived(want)
	if hashed < u.TotalChunks {
		s.catchUp(ctx, u, hashed)
	}
	return c, nil
}

func wrongLength(index int, want, got int64) error {
	return satchel.Invalid(satchel.FieldError{Field: "body",
		Message: fmt.Sprintf("chunk %d must be exactly %d bytes, not %d", index, want, got)})
}

func checkDigest(index int, digest, sum []byte) error {
	if digest != nil && !bytes.Equal(digest, sum) {
		return satchel.Errorf(satchel.ErrChecksum, "chunk %d does not match its Content-Digest", index)
	}
	return nil
}

// catchUp extends the hashed prefix, which ends at chunk `from`, over chunks
// that are already stored, by reading them back, when the storage can (the
// local disk). It keeps the prefix close behind chunks that arrive a little
// out of order, as parallel streams make them, so that completion has little
// or nothing left to read.
func (s *Uploads) catchUp(ctx context.Context, u satchel.Upload, from int) {
	cr, ok := s.blobs.(ChunkReader)
	if !ok {
		return
	}
	if _, err := s.store.GetChunk(ctx, u.ID, from); err != nil {
		return // the next chunk of the prefix has not arrived: nothing to do
	}
	unlock := s.hashLocks.Lock(u.ID)
	defer unlock()
	u, err := s.store.GetUpload(ctx, u.UserID, u.ID, s.now())
	if err != nil || u.Status != satchel.UploadInProgress {
		return
	}
	received := make(map[int]bool, len(u.Received))
	for _, r := range u.Received {
		received[r] = true
	}
	h, err := loadHash(u.HashState)
	if err != nil {
		return
	}
	for k, steps := u.HashedChunks, 0; k < u.TotalChunks && received[k] && steps < catchUpChunks; k, steps = k+1, steps+1 {
		r, err := cr.ReadChunk(ctx, u.StorageKey, u.StorageRef, int64(k)*u.ChunkSize, u.ChunkLen(k))
		if err != nil {
			s.log.WarnContext(ctx, "read back chunk", "upload_id", u.ID, "index", k, "err", err)
			return
		}
		_, err = io.Copy(h, r)
		r.Close()
		if err != nil {
			return
		}
		if ok, err := s.store.AdvanceHash(ctx, u.ID, k, saveHash(h)); err != nil || !ok {
			return
		}
	}
}

// Complete turns a fully received upload into a File. It is idempotent: a
// completed upload returns its File. Of concurrent calls, one does the work
// and the others wait for its result.
func (s *Uploads) Complete(ctx context.Context, userID, id string) (satchel.File, error) {
	if !satchel.ValidID(id) {
		return satchel.File{}, satchel.NotFound("upload")
	}
	waitUntil := time.Now().Add(completionWait)
	for {
		u, err := s.store.GetUpload(ctx, userID, id, s.now())
		if err != nil {
			return satchel.File{}, err
		}
		switch u.Status {
		case satchel.UploadCompleted:
			f, err := s.store.GetFile(ctx, userID, u.FileID)
			if errors.Is(err, satchel.ErrNotFound) || u.FileID == "" {
				return satchel.File{}, satchel.Errorf(satchel.ErrNotFound, "the upload completed, but its file has been deleted since")
			}
			return f, err
		case satchel.UploadFailed:
			return satchel.File{}, satchel.Errorf(satchel.ErrChecksum, "the upload failed: its content did not match the declared sha256")
		}
		if missing := u.Missing(); len(missing) > 0 {
			return satchel.File{}, &satchel.Error{Kind: satchel.ErrConflict,
				Detail: fmt.Sprintf("%d of %d chunks are missing", len(missing), u.TotalChunks),
				Extra:  map[string]any{"missing": missing}}
		}
		now := s.now()
		claimed, err := s.store.ClaimCompletion(ctx, id, now, now.Add(completionLease))
		if err != nil {
			return satchel.File{}, err
		}
		if claimed {
			// The work goes on if the client hangs up: a retry then finds
			// the File instead of starting over.
			cctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), completionLease)
			defer cancel()
			return s.complete(cctx, u)
		}
		if time.Now().After(waitUntil) {
			return satchel.File{}, satchel.Errorf(satchel.ErrConflict, "another request is completing this upload; try again shortly")
		}
		select { // another request is completing it: wait for its result
		case <-ctx.Done():
			return satchel.File{}, ctx.Err()
		case <-time.After(25 * time.Millisecond):
		}
	}
}

// complete does the work of Complete for the holder of the claim.
func (s *Uploads) complete(ctx context.Context, u satchel.Upload) (satchel.File, error) {
	release := func() {
		rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), cleanupTimeout)
		defer cancel()
		if err := s.store.ReleaseCompletion(rctx, u.ID); err != nil {
			s.log.WarnContext(rctx, "release upload completion", "upload_id", u.ID, "err", err)
		}
	}
	chunks, err := s.store.ListChunks(ctx, u.ID)
	if err != nil {
		release()
		return satchel.File{}, err
	}
	if err := s.blobs.CompleteChunked(ctx, u.StorageKey, u.StorageRef, chunks); err != nil {
		release()
		return satchel.File{}, fmt.Errorf("assemble upload %s: %w", u.ID, err)
	}
	sum, head, err := s.finishHash(ctx, u)
	if err != nil {
		release()
		return satchel.File{}, err
	}
	if u.SHA256 != "" && sum != u.SHA256 {
		cctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), cleanupTimeout)
		defer cancel()
		if err := s.store.FailUpload(cctx, u, s.now()); err != nil {
			release()
			return satchel.File{}, err
		}
		if err := s.blobs.Delete(cctx, u.StorageKey); err != nil {
			s.log.ErrorContext(cctx, "remove bytes of failed upload", "upload_id", u.ID, "err", err)
		}
		return satchel.File{}, satchel.Errorf(satchel.ErrChecksum, "the content's sha256 is %s, not the declared %s; the upload is failed and its bytes removed", sum, u.SHA256)
	}
	f := satchel.File{
		ID: satchel.NewID(), UserID: u.UserID, Filename: u.FileName, StorageKey: u.StorageKey,
		MimeType: DetectType(u.MimeType, u.FileName, head), Size: u.TotalSize, SHA256: sum,
	}
	done, err := s.store.FinishUpload(ctx, u, f, s.now())
	if err != nil {
		// The blob is whole but unrecorded; the upload stays in progress
		// and a retry of complete finishes it (assembly is idempotent).
		release()
		return satchel.File{}, err
	}
	s.obs.UploadCompleted()
	return done, nil
}

// finishHash returns the SHA-256 of the whole assembled content: the stored
// state of the hashed prefix, extended by reading the rest once. It also
// returns the first bytes of the content when the type must be sniffed.
func (s *Uploads) finishHash(ctx context.Context, u satchel.Upload) (string, []byte, error) {
	h, err := loadHash(u.HashState)
	if err != nil {
		return "", nil, err
	}
	needHead := DetectType(u.MimeType, u.FileName, nil) == "application/octet-stream" && u.TotalSize > 0
	start := int64(u.HashedChunks) * u.ChunkSize
	if start >= u.TotalSize && !needHead {
		return hex.EncodeToString(h.Sum(nil)), nil, nil
	}
	r, err := s.blobs.Open(ctx, u.StorageKey)
	if err != nil {
		return "", nil, fmt.Errorf("open assembled upload %s: %w", u.ID, err)
	}
	defer r.Close()
	var head []byte
	if needHead {
		head = make([]byte, min(512, u.TotalSize))
		if _, err := io.ReadFull(r, head); err != nil {
			return "", nil, fmt.Errorf("read head of upload %s: %w", u.ID, err)
		}
	}
	if start < u.TotalSize {
		if _, err := r.Seek(start, io.SeekStart); err != nil {
			return "", nil, fmt.Errorf("seek in upload %s: %w", u.ID, err)
		}
		if _, err := io.Copy(h, r); err != nil {
			return "", nil, fmt.Errorf("hash upload %s: %w", u.ID, err)
		}
	}
	return hex.EncodeToString(h.Sum(nil)), head, nil
}

// Abort deletes an upload; an unfinished one takes its bytes and its
// reservation with it.
func (s *Uploads) Abort(ctx context.Context, userID, id string) error {
	if !satchel.ValidID(id) {
		return satchel.NotFound("upload")
	}
	u, err := s.store.DeleteUpload(ctx, userID, id, s.now())
	if err != nil {
		return err
	}
	if u.Status == satchel.UploadInProgress {
		s.dropBytes(ctx, u)
		s.obs.UploadAborted()
	}
	return nil
}

// SweepExpired deletes the uploads idle longer than the TTL, with the bytes
// of the unfinished ones. It returns how many it deleted.
func (s *Uploads) SweepExpired(ctx context.Context) (int, error) {
	total := 0
	for {
		gone, err := s.store.DeleteExpiredUploads(ctx, s.now(), 100)
		expired := 0
		for _, u := range gone {
			if u.Status == satchel.UploadInProgress {
				s.dropBytes(ctx, u)
				expired++
			}
		}
		total += len(gone)
		s.obs.UploadsExpired(expired)
		if err != nil || len(gone) < 100 {
			return total, err
		}
	}
}

// PartialLister is implemented by blob stores that keep partial blobs of
// chunked uploads where they can be listed (the local disk).
type PartialLister interface {
	StalePartials(ctx context.Context, before time.Time) ([]satchel.Partial, error)
}

// orphanAge is how old a partial blob with no upload must be to be swept: a
// crash between preparing the storage and recording the upload leaves one.
const orphanAge = time.Hour

// SweepOrphans removes partial blobs that no upload uses any more.
func (s *Uploads) SweepOrphans(ctx context.Context) (int, error) {
	lister, ok := s.blobs.(PartialLister)
	if !ok {
		return 0, nil
	}
	partials, err := lister.StalePartials(ctx, s.now().Add(-orphanAge))
	if err != nil {
		return 0, err
	}
	removed := 0
	for _, p := range partials {
		used, err := s.store.UploadKeyExists(ctx, p.Key)
		if err != nil {
			return removed, err
		}
		if used {
			continue
		}
		if err := s.blobs.AbortChunked(ctx, p.Key, p.Ref); err != nil {
			return removed, err
		}
		removed++
	}
	return removed, nil
}

// dropBytes removes what storage holds for an unfinished upload: its chunks
// and, should assembly have happened, the assembled blob.
func (s *Uploads) dropBytes(ctx context.Context, u satchel.Upload) {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), cleanupTimeout)
	defer cancel()
	if err := s.blobs.AbortChunked(ctx, u.StorageKey, u.StorageRef); err != nil {
		s.log.ErrorContext(ctx, "remove chunks of upload", "upload_id", u.ID, "err", err)
	}
	if err := s.blobs.Delete(ctx, u.StorageKey); err != nil {
		s.log.ErrorContext(ctx, "remove blob of upload", "upload_id", u.ID, "err", err)
	}
}

// chunkBody passes a chunk's bytes through, hashing them (and extending the
// prefix hash when set), and fails as soon as the body turns out longer or
// shorter than the chunk.
type chunkBody struct {
	r      io.Reader
	want   int64
	n      int64
	index  int
	h      hash.Hash
	prefix hash.Hash
	err    error // the body's fault: wrong length or a read error
}

func (c *chunkBody) Read(p []byte) (int, error) {
	if c.n == c.want {
		// Every expected byte is through: the body must end here.
		var one [1]byte
		for {
			k, err := c.r.Read(one[:])
			if k > 0 {
				c.err = wrongLength(c.index, c.want, c.want+1)
				return 0, c.err
			}
			if err == io.EOF {
				return 0, io.EOF
			}
			if err != nil {
				c.err = err
				return 0, err
			}
		}
	}
	if left := c.want - c.n; int64(len(p)) > left {
		p = p[:left]
	}
	k, err := c.r.Read(p)
	c.h.Write(p[:k])
	if c.prefix != nil {
		c.prefix.Write(p[:k])
	}
	c.n += int64(k)
	switch {
	case err == io.EOF && c.n < c.want:
		c.err = wrongLength(c.index, c.want, c.n)
		return k, c.err
	case err == io.EOF && c.n == c.want:
		return k, nil // the length check above sees the EOF again
	case err != nil:
		c.err = err
	}
	return k, err
}

// failure turns a failed chunk write into the error the client sees.
func (c *chunkBody) failure(err error) error {
	var de *satchel.Error
	switch {
	case c.err != nil && errors.As(c.err, &de):
		return c.err
	case c.err != nil:
		return satchel.Errorf(satchel.ErrInvalid, "chunk %d was cut off before its end", c.index)
	}
	return fmt.Errorf("store chunk %d: %w", c.index, err)
}

func loadHash(state []byte) (hash.Hash, error) {
	h := sha256.New()
	if len(state) == 0 {
		return h, nil
	}
	if err := h.(encoding.BinaryUnmarshaler).UnmarshalBinary(state); err != nil {
		return nil, fmt.Errorf("restore upload hash state: %w", err)
	}
	return h, nil
}

func saveHash(h hash.Hash) []byte {
	b, err := h.(encoding.BinaryMarshaler).MarshalBinary()
	if err != nil {
		panic("sha256 state does not marshal: " + err.Error())
	}
	return b
}

// keyedMutex is a set of mutexes by key, created on demand and dropped when
// unused.
type keyedMutex struct {
	mu    sync.Mutex
	locks map[string]*keyedEntry
}

type keyedEntry struct {
	mu   sync.Mutex
	refs int
}

// Lock locks key and returns its unlock function.
func (k *keyedMutex) Lock(key string) (unlock func()) {
	k.mu.Lock()
	if k.locks == nil {
		k.locks = map[string]*keyedEntry{}
	}
	e := k.locks[key]
	if e == nil {
		e = &keyedEntry{}
		k.locks[key] = e
	}
	e.refs++
	k.mu.Unlock()
	e.mu.Lock()
	return func() {
		e.mu.Unlock()
		k.mu.Lock()
		if e.refs--; e.refs == 0 {
			delete(k.locks, key)
		}
		k.mu.Unlock()
	}
}
