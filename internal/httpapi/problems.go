package httpapi

import (
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"net/http"
	"strconv"

	"github.com/satchelhq/satchel/internal/satchel"
)

// problem is an RFC 9457 problem document.
type problem struct {
	Type      string               `json:"type"`
	Title     string               `json:"title"`
	Status    int                  `json:"status"`
	Detail    string               `json:"detail,omitempty"`
	Errors    []satchel.FieldError `json:"errors,omitempty"`
	RequestID string               `json:"request_id,omitempty"`
	extra     map[string]any
}

func (p problem) MarshalJSON() ([]byte, error) {
	type plain problem
	b, err := json.Marshal(plain(p))
	if err != nil || len(p.extra) == 0 {
		return b, err
	}
	m := map[string]any{}
	if err := json.Unmarshal(b, &m); err != nil {
		return nil, err
	}
	for k, v := range p.extra {
		if _, taken := m[k]; !taken {
			m[k] = v
		}
	}
	return json.Marshal(m)
}

// kind is one row of the error map.
type kind struct {
	err    error
	status int
	slug   string
	title  string
}

// kinds is the one map from domain errors to HTTP statuses.
var kinds = []kind{
	{satchel.ErrInvalid, http.StatusBadRequest, "invalid-input", "Invalid input"},
	{satchel.ErrUnauthenticated, http.StatusUnauthorized, "unauthenticated", "Not authenticated"},
	{satchel.ErrForbidden, http.StatusForbidden, "forbidden", "Not allowed"},
	{satchel.ErrNotFound, http.StatusNotFound, "not-found", "Not found"},
	{satchel.ErrConflict, http.StatusConflict, "conflict", "Conflict"},
	{satchel.ErrGone, http.StatusGone, "gone", "Gone"},
	{satchel.ErrTooLarge, http.StatusRequestEntityTooLarge, "too-large", "Too large"},
	{satchel.ErrChecksum, http.StatusUnprocessableEntity, "checksum-mismatch", "Checksum mismatch"},
	{satchel.ErrRateLimited, http.StatusTooManyRequests, "rate-limited", "Too many requests"},
	{satchel.ErrUnavailable, http.StatusServiceUnavailable, "unavailable", "Service unavailable"},
	{satchel.ErrQuotaExceeded, http.StatusInsufficientStorage, "quota-exceeded", "Storage quota exceeded"},
	{satchel.ErrStorageFull, http.StatusInsufficientStorage, "storage-full", "Storage full"},
}

var internalKind = kind{nil, http.StatusInternalServerError, "internal", "Internal server error"}

// ProblemType returns the type URI of a problem slug.
func ProblemType(slug string) string { return "urn:satchel:problem:" + slug }

// classify finds the row of the error map for err.
func classify(err error) kind {
	for _, k := range kinds {
		if errors.Is(err, k.err) {
			return k
		}
	}
	if errors.Is(err, context.DeadlineExceeded) {
		return kind{nil, http.StatusServiceUnavailable, "unavailable", "Service unavailable"}
	}
	return internalKind
}

// writeError answers a request with the problem document for err. Server
// faults are logged with the request ID and described to the client only in
// general terms; client errors are not logged as errors.
func writeError(w http.ResponseWriter, r *http.Request, err error) {
	ctx := r.Context()
	log := loggerFrom(ctx)
	if errors.Is(err, context.Canceled) && ctx.Err() != nil {
		// The client went away; nobody reads the answer.
		log.DebugContext(ctx, "request cancelled by the client", "err", err)
		w.WriteHeader(499)
		return
	}
	k := classify(err)
	p := problem{Type: ProblemType(k.slug), Title: k.title, Status: k.status, RequestID: requestID(ctx)}
	var de *satchel.Error
	if errors.As(err, &de) {
		p.Detail, p.Errors, p.extra = de.Detail, de.Fields, de.Extra
		if de.RetryAfter > 0 {
			w.Header().Set("Retry-After", strconv.Itoa(int(de.RetryAfter.Seconds()+0.999)))
		}
	}
	switch {
	case k.status == http.StatusInternalServerError:
		log.ErrorContext(ctx, "request failed", "err", err)
		p.Detail = "something went wrong on the server; the request ID identifies it in the logs"
	case k.status >= 500:
		log.WarnContext(ctx, "request failed", "err", err)
		if p.Detail == "" {
			p.Detail = "the database or the storage does not answer; try again shortly"
		}
	default:
		log.DebugContext(ctx, "request refused", "status", k.status, "err", err)
	}
	if k.status == http.StatusUnauthorized {
		w.Header().Set("WWW-Authenticate", `Bearer realm="satchel"`)
	}
	writeProblem(w, p)
}

func writeProblem(w http.ResponseWriter, p problem) {
	h := w.Header()
	clearContentHeaders(h)
	h.Set("Content-Type", "application/problem+json")
	h.Set("Cache-Control", "no-store")
	h.Set("Content-Security-Policy", "default-src 'none'; frame-ancestors 'none'")
	w.WriteHeader(p.Status)
	_ = json.NewEncoder(w).Encode(p)
}

// clearContentHeaders removes the headers that describe content, set by
// http.ServeContent before it turned out to send none.
func clearContentHeaders(h http.Header) {
	for _, k := range []string{"Content-Disposition", "Content-Length", "Content-Range", "Content-Encoding", "ETag", "Last-Modified", "Accept-Ranges"} {
		h.Del(k)
	}
}

// problemForStatus makes a problem for a status the standard library chose
// (a 416 from http.ServeContent, a 405 from the router).
func problemForStatus(ctx context.Context, status int, detail string) problem {
	slug, title := "http-"+strconv.Itoa(status), http.StatusText(status)
	for _, k := range append(kinds, internalKind) {
		if k.status == status {
			slug, title = k.slug, k.title
			break
		}
	}
	return problem{Type: ProblemType(slug), Title: title, Status: status, Detail: detail, RequestID: requestID(ctx)}
}

// loggerFrom returns the request's logger.
func loggerFrom(ctx context.Context) *slog.Logger {
	if l, ok := ctx.Value(loggerKey{}).(*slog.Logger); ok {
		return l
	}
	return slog.New(slog.DiscardHandler)
}

type loggerKey struct{}
type requestIDKey struct{}

func requestID(ctx context.Context) string {
	id, _ := ctx.Value(requestIDKey{}).(string)
	return id
}
