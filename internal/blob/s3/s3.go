// Package s3 stores blobs in an S3-compatible object store (AWS, MinIO, Ceph,
// versitygw, R2…) with aws-sdk-go-v2. Uploads stream through multipart
// uploads with a bounded number of part buffers, whatever their size; reads
// fetch the ranges they need and no more; chunked uploads map chunks to
// parts, so completing one is CompleteMultipartUpload, with no copy.
package s3

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	"github.com/aws/aws-sdk-go-v2/config"
	awss3 "github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/s3/types"
	"github.com/aws/smithy-go"

	"github.com/satchelhq/satchel/internal/blob"
	"github.com/satchelhq/satchel/internal/satchel"
)

// Part sizes and how many parts one upload keeps in memory at once: the
// memory a direct upload takes is bounded by partSize × (partsInFlight + 1).
const (
	partSize      = 8 << 20
	partsInFlight = 3
	// Reads fetch windows that grow while reading goes on in order.
	firstWindow = 1 << 20
	maxWindow   = 64 << 20
)

// Location is a parsed s3:// storage URL.
type Location struct {
	Bucket    string
	Endpoint  string
	Region    string
	PathStyle bool
	Prefix    string
	// Stall is how long a request may make no progress (no answer, or no
	// bytes moving either way) before it fails; 0 is DefaultStall.
	Stall time.Duration
}

// DefaultStall is the stall time of a Location that sets none.
const DefaultStall = time.Minute

// ParseURL parses s3://bucket?endpoint=…&region=…&path_style=true&prefix=….
func ParseURL(s string) (Location, error) {
	u, err := url.Parse(s)
	if err != nil || u.Scheme != "s3" || u.Host == "" {
		return Location{}, fmt.Errorf("%q is not s3://bucket?endpoint=…&region=…", s)
	}
	q := u.Query()
	loc := Location{Bucket: u.Host, Endpoint: q.Get("endpoint"), Region: q.Get("region"), Prefix: strings.Trim(q.Get("prefix"), "/")}
	if loc.Region == "" {
		loc.Region = "us-east-1"
	}
	if v := q.Get("path_style"); v != "" {
		if loc.PathStyle, err = strconv.ParseBool(v); err != nil {
			return Location{}, fmt.Errorf("path_style=%q is neither true nor false", v)
		}
	}
	if loc.Endpoint != "" {
		if e, err := url.Parse(loc.Endpoint); err != nil || (e.Scheme != "http" && e.Scheme != "https") || e.Host == "" {
			return Location{}, fmt.Errorf("endpoint=%q is not an http(s) URL", loc.Endpoint)
		}
	}
	for k := range q {
		switch k {
		case "endpoint", "region", "path_style", "prefix":
		default:
			return Location{}, fmt.Errorf("unknown parameter %q in the storage URL", k)
		}
	}
	return loc, nil
}

// Store is a blob store in a bucket.
type Store struct {
	client  *awss3.Client
	presign *awss3.PresignClient
	bucket  string
	prefix  string
	bufs    sync.Pool
	stall   time.Duration
}

// New connects to the bucket a Location names. Credentials come from the
// standard AWS environment variables and files.
func New(ctx context.Context, loc Location) (*Store, error) {
	stall := loc.Stall
	if stall <= 0 {
		stall = DefaultStall
	}
	// The SDK's own client, so that AWS_CA_BUNDLE and the like still
	// apply; with a short dial timeout, so that a store that is down
	// answers fast.
	httpClient := awshttp.NewBuildableClient().
		WithDialerOptions(func(d *net.Dialer) { d.Timeout = 5 * time.Second }).
		WithTransportOptions(func(t *http.Transport) {
			t.MaxIdleConnsPerHost = 64
			t.ResponseHeaderTimeout = stall
		})
	cfg, err := config.LoadDefaultConfig(ctx, config.WithRegion(loc.Region), config.WithHTTPClient(httpClient))
	if err != nil {
		return nil, fmt.Errorf("load AWS configuration: %w", err)
	}
	client := awss3.NewFromConfig(cfg, func(o *awss3.Options) {
		if loc.Endpoint != "" {
			o.BaseEndpoint = aws.String(loc.Endpoint)
		}
		o.UsePathStyle = loc.PathStyle
		// Checksums only where S3 requires them: streamed bodies cannot
		// be read twice, and the SHA-256 of every blob is ours anyway.
		o.RequestChecksumCalculation = aws.RequestChecksumCalculationWhenRequired
		o.ResponseChecksumValidation = aws.ResponseChecksumValidationWhenRequired
	})
	s := &Store{client: client, presign: awss3.NewPresignClient(client), bucket: loc.Bucket, prefix: loc.Prefix, stall: stall}
	s.bufs.New = func() any { b := make([]byte, partSize); return &b }
	return s, nil
}

func (s *Store) key(k string) string {
	if s.prefix == "" {
		return k
	}
	return s.prefix + "/" + k
}

// errStalled is why a request that made no progress for the stall time was
// cut off.
var errStalled = errors.New("the object store stopped answering")

// watchdog ends a request to the store that keeps Satchel waiting for the
// stall time. Its clock runs only while Satchel waits on the store (for an
// answer, for body bytes, or for the store to take the bytes sent to it),
// never while the store's side waits on Satchel's other side: a client that
// pauses a download, or trickles the chunk being uploaded. It bounds what
// ResponseHeaderTimeout does not: a body that stops moving partway.
type watchdog struct {
	ctx    context.Context // the request's
	cancel context.CancelCauseFunc
	t      *time.Timer
	stall  time.Duration
}

// watch starts a watchdog, waiting: the request is about to be sent.
func (s *Store) watch(ctx context.Context) *watchdog {
	wctx, cancel := context.WithCancelCause(ctx)
	return &watchdog{ctx: wctx, cancel: cancel, stall: s.stall, t: time.AfterFunc(s.stall, func() { cancel(errStalled) })}
}

func (w *watchdog) waiting()    { w.t.Reset(w.stall) }
func (w *watchdog) notWaiting() { w.t.Stop() }

// stop releases the watchdog once the request is over.
func (w *watchdog) stop() {
	w.t.Stop()
	w.cancel(nil)
}

// stalled reports whether the watchdog cut the request off.
func (w *watchdog) stalled() bool { return errors.Is(context.Cause(w.ctx), errStalled) }

// failed maps the error of a watched request: one cut off for stalling is
// ErrUnavailable.
func (w *watchdog) failed(op string, err error) error {
	if w.stalled() {
		return fmt.Errorf("%s: %w: %w", op, satchel.ErrUnavailable, errStalled)
	}
	return mapErr(op, err)
}

// watchedBody is a request body under a watchdog: while the SDK is reading
// it, Satchel waits on its own source; between reads, on the store.
type watchedBody struct {
	r io.Reader
	w *watchdog
}

func (b *watchedBody) Read(p []byte) (int, error) {
	b.w.notWaiting()
	defer b.w.waiting()
	return b.r.Read(p)
}

// watchedSeeker is a watchedBody over a *bytes.Reader. It keeps Seek (the
// SDK rewinds the bodies it signs or retries) and hides WriteTo, which
// would send the body in one unwatched write.
type watchedSeeker struct {
	watchedBody
	sk io.Seeker
}

func (b *watchedSeeker) Seek(offset int64, whence int) (int64, error) {
	return b.sk.Seek(offset, whence)
}

// body wraps a request body for the watchdog.
func (w *watchdog) body(r io.Reader) io.Reader {
	if br, ok := r.(*bytes.Reader); ok {
		return &watchedSeeker{watchedBody{br, w}, br}
	}
	return &watchedBody{r, w}
}

// putPart uploads one part of a multipart upload under a watchdog.
func (s *Store) putPart(ctx context.Context, key string, uploadID *string, num int32, body io.Reader, size int64, opts ...func(*awss3.Options)) (*string, error) {
	w := s.watch(ctx)
	defer w.stop()
	out, err := s.client.UploadPart(w.ctx, &awss3.UploadPartInput{
		Bucket: &s.bucket, Key: aws.String(s.key(key)), UploadId: uploadID, PartNumber: aws.Int32(num),
		Body: w.body(body), ContentLength: aws.Int64(size),
	}, opts...)
	if err != nil {
		return nil, w.failed(fmt.Sprintf("upload part %d", num), err)
	}
	return out.ETag, nil
}

// unsigned streams a body without hashing it first for the signature: a
// streamed body cannot be read twice.
var unsigned = awss3.WithAPIOptions(v4.SwapComputePayloadSHA256ForUnsignedPayloadMiddleware)

// Put streams r into the blob: one PutObject for a small blob, otherwise a
// multipart upload with at most partsInFlight parts in memory, aborted if
// anything fails.
func (s *Store) Put(ctx context.Context, key string, r io.Reader) (int64, error) {
	buf := s.bufs.Get().(*[]byte)
	n, err := io.ReadFull(blob.ContextReader(ctx, r), *buf)
	if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
		defer s.bufs.Put(buf)
		w := s.watch(ctx)
		defer w.stop()
		_, err := s.client.PutObject(w.ctx, &awss3.PutObjectInput{
			Bucket: &s.bucket, Key: aws.String(s.key(key)), ContentLength: aws.Int64(int64(n)),
			Body: w.body(bytes.NewReader((*buf)[:n])),
		})
		if err != nil {
			return 0, w.failed("put blob", err)
		}
		return int64(n), nil
	}
	if err != nil {
		s.bufs.Put(buf)
		return 0, err // the reader's own error, as the disk store gives it
	}
	return s.putMultipart(ctx, key, r, buf, n)
}

func (s *Store) putMultipart(ctx context.Context, key string, r io.Reader, first *[]byte, firstLen int) (total int64, err error) {
	created, err := s.client.CreateMultipartUpload(ctx, &awss3.CreateMultipartUploadInput{Bucket: &s.bucket, Key: aws.String(s.key(key))})
	if err != nil {
		s.bufs.Put(first)
		return 0, mapErr("start multipart upload", err)
	}
	uploadID := created.UploadId
	defer func() {
		if err != nil {
			actx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 30*time.Second)
			defer cancel()
			_, _ = s.client.AbortMultipartUpload(actx, &awss3.AbortMultipartUploadInput{Bucket: &s.bucket, Key: aws.String(s.key(key)), UploadId: uploadID})
		}
	}()
	ctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	var (
		wg    sync.WaitGroup
		mu    sync.Mutex
		parts []types.CompletedPart
		slots = make(chan struct{}, partsInFlight)
	)
	send := func(num int32, buf *[]byte, n int) {
		defer wg.Done()
		defer func() { <-slots }()
		defer s.bufs.Put(buf)
		etag, err := s.putPart(ctx, key, uploadID, num, bytes.NewReader((*buf)[:n]), int64(n))
		if err != nil {
			cancel(err)
			return
		}
		mu.Lock()
		parts = append(parts, types.CompletedPart{ETag: etag, PartNumber: aws.Int32(num)})
		mu.Unlock()
	}
	buf, n := first, firstLen // a full part
	for num := int32(1); ; num++ {
		select {
		case slots <- struct{}{}:
		case <-ctx.Done():
			s.bufs.Put(buf)
			wg.Wait()
			return total, context.Cause(ctx)
		}
		wg.Add(1)
		total += int64(n)
		go send(num, buf, n)
		if n < partSize {
			break // that was the last, short part
		}
		buf = s.bufs.Get().(*[]byte)
		var rerr error
		n, rerr = io.ReadFull(blob.ContextReader(ctx, r), *buf)
		switch {
		case errors.Is(rerr, io.EOF): // nothing more
			s.bufs.Put(buf)
		case errors.Is(rerr, io.ErrUnexpectedEOF): // a short last part: sent next round
			continue
		case rerr != nil:
			s.bufs.Put(buf)
			wg.Wait()
			if cause := context.Cause(ctx); cause != nil {
				return total, cause // a part failed first
			}
			return total, rerr // the reader's own error
		default:
			continue
		}
		break
	}
	wg.Wait()
	if cause := context.Cause(ctx); cause != nil {
		return total, cause
	}
	slices.SortFunc(parts, func(a, b types.CompletedPart) int { return int(*a.PartNumber - *b.PartNumber) })
	if _, err := s.client.CompleteMultipartUpload(ctx, &awss3.CompleteMultipartUploadInput{
		Bucket: &s.bucket, Key: aws.String(s.key(key)), UploadId: uploadID,
		MultipartUpload: &types.CompletedMultipartUpload{Parts: parts},
	}); err != nil {
		return total, mapErr("complete multipart upload", err)
	}
	return total, nil
}

// Open returns the blob for reading: its size comes from HeadObject, and
// bytes are fetched with ranged GETs only as they are read.
func (s *Store) Open(ctx context.Context, key string) (io.ReadSeekCloser, error) {
	head, err := s.client.HeadObject(ctx, &awss3.HeadObjectInput{Bucket: &s.bucket, Key: aws.String(s.key(key))})
	if err != nil {
		return nil, mapErr("open blob", err)
	}
	return &object{s: s, ctx: ctx, key: s.key(key), size: aws.ToInt64(head.ContentLength), window: firstWindow}, nil
}

// object reads a blob in windows: a read at a position fetches a range
// from there; reading on in order widens the windows.
type object struct {
	s        *Store
	ctx      context.Context // the request's: reads are part of it
	key      string
	size     int64
	pos      int64
	body     io.ReadCloser
	watch    *watchdog // the open body's
	bodyAt   int64     // the position the open body reads from
	bodyTo   int64     // where the open body ends
	window   int64
	reopened bool // the open body replaces one that broke off
}

func (o *object) Read(p []byte) (int, error) {
	if o.pos >= o.size {
		return 0, io.EOF
	}
	if o.body == nil || o.bodyAt != o.pos || o.bodyAt >= o.bodyTo {
		if o.body != nil {
			o.closeBody()
			if o.bodyAt == o.pos {
				o.window = min(o.window*2, maxWindow) // reading on in order
			} else {
				o.window = firstWindow
			}
		}
		end := min(o.pos+o.window, o.size)
		w := o.s.watch(o.ctx)
		out, err := o.s.client.GetObject(w.ctx, &awss3.GetObjectInput{
			Bucket: &o.s.bucket, Key: &o.key, Range: aws.String(fmt.Sprintf("bytes=%d-%d", o.pos, end-1)),
		})
		if err != nil {
			err = w.failed("read blob", err)
			w.stop()
			return 0, err
		}
		w.notWaiting() // until the next Read: the client may pause
		o.body, o.watch, o.bodyAt, o.bodyTo = out.Body, w, o.pos, end
	}
	o.watch.waiting()
	n, err := o.body.Read(p[:min(int64(len(p)), o.bodyTo-o.bodyAt)])
	o.watch.notWaiting()
	o.pos += int64(n)
	o.bodyAt += int64(n)
	if errors.Is(err, io.EOF) && o.bodyAt >= o.bodyTo {
		err = nil // the window is done; the next Read opens the next one
	}
	if err == nil {
		if n > 0 {
			o.reopened = false
		}
		return n, nil
	}
	if errors.Is(err, io.EOF) {
		err = io.ErrUnexpectedEOF
	}
	if o.reopened || o.watch.stalled() || o.ctx.Err() != nil {
		return n, o.watch.failed("read blob", err)
	}
	// The store dropped the connection (say, after the client paused for
	// long): fetch the rest of the window again, once.
	o.closeBody()
	o.reopened = true
	if n > 0 {
		return n, nil
	}
	return o.Read(p)
}

func (o *object) closeBody() {
	o.body.Close()
	o.watch.stop()
	o.body = nil
}

func (o *object) Seek(offset int64, whence int) (int64, error) {
	switch whence {
	case io.SeekStart:
	case io.SeekCurrent:
		offset += o.pos
	case io.SeekEnd:
		offset += o.size
	}
	if offset < 0 {
		return 0, errors.New("seek before the start of the blob")
	}
	o.pos = offset
	return offset, nil
}

func (o *object) Close() error {
	if o.body != nil {
		o.closeBody()
	}
	return nil
}

// Delete removes a blob; a missing one is not an error.
func (s *Store) Delete(ctx context.Context, key string) error {
	_, err := s.client.DeleteObject(ctx, &awss3.DeleteObjectInput{Bucket: &s.bucket, Key: aws.String(s.key(key))})
	if err != nil && !errors.Is(mapErr("", err), satchel.ErrNotFound) {
		return mapErr("delete blob", err)
	}
	return nil
}

// Ping checks that the bucket answers.
func (s *Store) Ping(ctx context.Context) error {
	_, err := s.client.HeadBucket(ctx, &awss3.HeadBucketInput{Bucket: &s.bucket})
	if err != nil {
		return fmt.Errorf("bucket %s: %w: %w", s.bucket, satchel.ErrUnavailable, err)
	}
	return nil
}

// BeginChunked starts the multipart upload a chunked upload's chunks go
// into; its upload ID is the reference. An empty blob needs none.
func (s *Store) BeginChunked(ctx context.Context, key string, size int64) (string, error) {
	if size == 0 {
		return "", nil
	}
	out, err := s.client.CreateMultipartUpload(ctx, &awss3.CreateMultipartUploadInput{Bucket: &s.bucket, Key: aws.String(s.key(key))})
	if err != nil {
		return "", mapErr("start multipart upload", err)
	}
	return aws.ToString(out.UploadId), nil
}

// PutChunk streams chunk index as part index+1 and returns its ETag.
func (s *Store) PutChunk(ctx context.Context, key, ref string, index int, offset, size int64, r io.Reader) (string, error) {
	etag, err := s.putPart(ctx, key, aws.String(ref), int32(index+1), blob.ContextReader(ctx, r), size, unsigned)
	if err != nil {
		return "", err
	}
	return aws.ToString(etag), nil
}

// CompleteChunked assembles the parts into the blob: CompleteMultipartUpload,
// no copy. Completing twice is not an error.
func (s *Store) CompleteChunked(ctx context.Context, key, ref string, chunks []satchel.Chunk) error {
	if ref == "" {
		_, err := s.client.PutObject(ctx, &awss3.PutObjectInput{Bucket: &s.bucket, Key: aws.String(s.key(key)), Body: bytes.NewReader(nil)})
		return mapErr("put empty blob", err)
	}
	parts := make([]types.CompletedPart, 0, len(chunks))
	for _, c := range chunks {
		parts = append(parts, types.CompletedPart{ETag: aws.String(c.ETag), PartNumber: aws.Int32(int32(c.Index + 1))})
	}
	slices.SortFunc(parts, func(a, b types.CompletedPart) int { return int(*a.PartNumber - *b.PartNumber) })
	_, err := s.client.CompleteMultipartUpload(ctx, &awss3.CompleteMultipartUploadInput{
		Bucket: &s.bucket, Key: aws.String(s.key(key)), UploadId: aws.String(ref),
		MultipartUpload: &types.CompletedMultipartUpload{Parts: parts},
	})
	if err == nil {
		return nil
	}
	var nsu *types.NoSuchUpload
	if errors.As(err, &nsu) || apiCode(err) == "NoSuchUpload" {
		if _, herr := s.client.HeadObject(ctx, &awss3.HeadObjectInput{Bucket: &s.bucket, Key: aws.String(s.key(key))}); herr == nil {
			return nil // completed before
		}
	}
	return mapErr("complete multipart upload", err)
}

// AbortChunked drops a multipart upload's parts; a missing one is not an error.
func (s *Store) AbortChunked(ctx context.Context, key, ref string) error {
	if ref == "" {
		return nil
	}
	_, err := s.client.AbortMultipartUpload(ctx, &awss3.AbortMultipartUploadInput{
		Bucket: &s.bucket, Key: aws.String(s.key(key)), UploadId: aws.String(ref),
	})
	if err != nil && apiCode(err) != "NoSuchUpload" && !errors.Is(mapErr("", err), satchel.ErrNotFound) {
		return mapErr("abort multipart upload", err)
	}
	return nil
}

// Locate returns a short-lived presigned URL of a blob, for ffmpeg.
func (s *Store) Locate(ctx context.Context, key string) (string, error) {
	req, err := s.presign.PresignGetObject(ctx, &awss3.GetObjectInput{Bucket: &s.bucket, Key: aws.String(s.key(key))},
		awss3.WithPresignExpires(15*time.Minute))
	if err != nil {
		return "", mapErr("presign blob", err)
	}
	return req.URL, nil
}

// Keys lists the blobs in the store, for tools and tests.
func (s *Store) Keys(ctx context.Context) ([]string, error) {
	var keys []string
	p := awss3.NewListObjectsV2Paginator(s.client, &awss3.ListObjectsV2Input{Bucket: &s.bucket, Prefix: prefixOf(s.prefix)})
	for p.HasMorePages() {
		page, err := p.NextPage(ctx)
		if err != nil {
			return nil, mapErr("list blobs", err)
		}
		for _, o := range page.Contents {
			keys = append(keys, strings.TrimPrefix(aws.ToString(o.Key), aws.ToString(prefixOf(s.prefix))))
		}
	}
	return keys, nil
}

func prefixOf(p string) *string {
	if p == "" {
		return nil
	}
	return aws.String(p + "/")
}

// StalePartials lists multipart uploads started before `before`: with no
// upload of Satchel's using them, they are leftovers of a crash.
func (s *Store) StalePartials(ctx context.Context, before time.Time) ([]satchel.Partial, error) {
	var out []satchel.Partial
	in := &awss3.ListMultipartUploadsInput{Bucket: &s.bucket, Prefix: prefixOf(s.prefix)}
	for {
		page, err := s.client.ListMultipartUploads(ctx, in)
		if err != nil {
			return nil, mapErr("list multipart uploads", err)
		}
		for _, u := range page.Uploads {
			if u.Initiated != nil && u.Initiated.Before(before) {
				out = append(out, satchel.Partial{Key: strings.TrimPrefix(aws.ToString(u.Key), aws.ToString(prefixOf(s.prefix))), Ref: aws.ToString(u.UploadId)})
			}
		}
		if !aws.ToBool(page.IsTruncated) {
			return out, nil
		}
		in.KeyMarker, in.UploadIdMarker = page.NextKeyMarker, page.NextUploadIdMarker
	}
}

func apiCode(err error) string {
	var ae smithy.APIError
	if errors.As(err, &ae) {
		return ae.ErrorCode()
	}
	return ""
}

// mapErr translates S3 errors into the domain's kinds.
func mapErr(op string, err error) error {
	if err == nil {
		return nil
	}
	var (
		nsk *types.NoSuchKey
		nf  *types.NotFound
		re  interface{ HTTPStatusCode() int }
	)
	switch {
	case errors.As(err, &nsk), errors.As(err, &nf), apiCode(err) == "NoSuchKey", apiCode(err) == "NotFound":
		return fmt.Errorf("%s: %w", op, satchel.NotFound("blob"))
	case errors.Is(err, context.Canceled):
		return fmt.Errorf("%s: %w", op, err)
	case apiCode(err) == "EntityTooLarge":
		return fmt.Errorf("%s: %w: %w", op, satchel.ErrTooLarge, err)
	case apiCode(err) == "InsufficientStorage", apiCode(err) == "QuotaExceeded":
		return fmt.Errorf("%s: %w: %w", op, satchel.ErrStorageFull, err)
	}
	if errors.As(err, &re) && re.HTTPStatusCode() == http.StatusNotFound {
		return fmt.Errorf("%s: %w", op, satchel.NotFound("blob"))
	}
	if errors.As(err, &re) && re.HTTPStatusCode() >= 500 || isNetwork(err) {
		return fmt.Errorf("%s: %w: %w", op, satchel.ErrUnavailable, err)
	}
	return fmt.Errorf("%s: %w", op, err)
}

func isNetwork(err error) bool {
	var ne net.Error
	var oe *net.OpError
	return errors.As(err, &oe) || errors.As(err, &ne) || errors.Is(err, context.DeadlineExceeded) || errors.Is(err, io.ErrUnexpectedEOF)
}
