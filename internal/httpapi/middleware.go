package httpapi

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"runtime/debug"
	"strings"
	"time"
)

// statusWriter records the status and body size of a response. It passes
// ReadFrom through, so copying an *os.File into the response still uses
// sendfile.
type statusWriter struct {
	http.ResponseWriter
	status int
	bytes  int64
}

func (w *statusWriter) WriteHeader(code int) {
	if w.status == 0 && code >= 200 {
		w.status = code
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *statusWriter) Write(p []byte) (int, error) {
	if w.status == 0 {
		w.status = http.StatusOK
	}
	n, err := w.ResponseWriter.Write(p)
	w.bytes += int64(n)
	return n, err
}

func (w *statusWriter) ReadFrom(r io.Reader) (int64, error) {
	if w.status == 0 {
		w.status = http.StatusOK
	}
	var (
		n   int64
		err error
	)
	if rf, ok := w.ResponseWriter.(io.ReaderFrom); ok {
		n, err = rf.ReadFrom(r)
	} else {
		n, err = io.Copy(struct{ io.Writer }{w.ResponseWriter}, r)
	}
	w.bytes += n
	return n, err
}

func (w *statusWriter) Flush() {
	if f, ok := w.ResponseWriter.(http.Flusher); ok {
		f.Flush()
	}
}

func (w *statusWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

// countingBody counts the bytes read from a request body and keeps a read
// deadline a stall timeout ahead from the start of the request until the
// body ends: a client that trickles bytes (or none) cannot hold a
// connection, an upload and its reservation for ever, and neither can one
// that declares a body no handler reads (the server reads past it before it
// answers).
type countingBody struct {
	io.ReadCloser
	n     int64
	rc    *http.ResponseController
	stall time.Duration
	armed time.Time // when the deadline was last moved
}

// arm moves the read deadline a stall timeout past now.
func (b *countingBody) arm(now time.Time) {
	_ = b.rc.SetReadDeadline(now.Add(b.stall))
	b.armed = now
}

func (b *countingBody) Read(p []byte) (int, error) {
	if now := time.Now(); now.Sub(b.armed) > time.Second {
		b.arm(now)
	}
	n, err := b.ReadCloser.Read(p)
	b.n += int64(n)
	if err != nil {
		// The body is done; the server's own reads after it (to notice a
		// client hanging up) must not inherit the deadline.
		_ = b.rc.SetReadDeadline(time.Time{})
	}
	return n, err
}

func newRequestID() string {
	b := make([]byte, 8)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

// quietRoutes are logged at debug level: probes and scrapes would drown the rest.
var quietRoutes = map[string]bool{"GET /healthz": true, "GET /readyz": true, "GET /metrics": true}

// observe gives each request an ID and a logger, turns panics into a 500
// problem, and logs and measures the request when it ends. The log line names
// the route pattern, never the path, so tokens in URLs stay out of logs.
func (s *Server) observe(next http.Handler) http.Handler {
	return http.HandlerFunc(func(rw http.ResponseWriter, r *http.Request) {
		start := time.Now()
		id := newRequestID()
		log := s.log.With("request_id", id)
		ctx := context.WithValue(context.WithValue(r.Context(), requestIDKey{}, id), loggerKey{}, log)
		r = r.WithContext(ctx)
		w := &statusWriter{ResponseWriter: rw}
		body := &countingBody{ReadCloser: r.Body, rc: http.NewResponseController(rw), stall: s.bodyTimeout}
		if r.ContentLength != 0 && r.Body != http.NoBody {
			body.arm(start)
		}
		r.Body = body
		h := w.Header()
		h.Set("X-Request-Id", id)
		h.Set("X-Content-Type-Options", "nosniff")
		h.Set("X-Frame-Options", "DENY")
		h.Set("Referrer-Policy", "same-origin")

		defer func() {
			if v := recover(); v != nil {
				if v == http.ErrAbortHandler {
					panic(v)
				}
				log.ErrorContext(ctx, "panic", "panic", fmt.Sprint(v), "stack", string(debug.Stack()))
				if w.status == 0 {
					writeProblem(w, problemForStatus(ctx, http.StatusInternalServerError,
						"something went wrong on the server; the request ID identifies it in the logs"))
				}
			}
			route := r.Pattern
			if route == "" {
				route = "unmatched"
			}
			status := w.status
			if status == 0 {
				status = http.StatusOK
			}
			elapsed := time.Since(start)
			m := s.metrics
			m.HTTPRequests.WithLabelValues(route, r.Method, fmt.Sprint(status)).Inc()
			m.HTTPDuration.WithLabelValues(route, r.Method).Observe(elapsed.Seconds())
			m.HTTPReceived.WithLabelValues(route).Add(float64(body.n))
			m.HTTPSent.WithLabelValues(route).Add(float64(w.bytes))
			level := slog.LevelInfo
			if quietRoutes[route] {
				level = slog.LevelDebug
			}
			log.Log(ctx, level, "request", "method", r.Method, "route", route, "status", status,
				"bytes_in", body.n, "bytes_out", w.bytes, "duration_ms", float64(elapsed.Microseconds())/1000)
		}()
		next.ServeHTTP(w, r)
	})
}

// contentWriter serves user content through http.ServeContent and turns the
// error answers it writes itself (416, 412) into problem documents.
type contentWriter struct {
	*statusWriter
	r       *http.Request
	swallow bool
}

func (w *contentWriter) WriteHeader(code int) {
	if code >= 400 && !w.swallow {
		w.swallow = true
		detail := "the request cannot be served"
		if code == http.StatusRequestedRangeNotSatisfiable {
			detail = "the requested range is outside the file"
		}
		writeProblem(w.statusWriter, problemForStatus(w.r.Context(), code, detail))
		return
	}
	w.statusWriter.WriteHeader(code)
}

func (w *contentWriter) Write(p []byte) (int, error) {
	if w.swallow {
		return len(p), nil
	}
	return w.statusWriter.Write(p)
}

func (w *contentWriter) ReadFrom(r io.Reader) (int64, error) {
	if w.swallow {
		return io.Copy(io.Discard, r)
	}
	return w.statusWriter.ReadFrom(r)
}

// asStatusWriter finds the statusWriter that observe installed.
func asStatusWriter(w http.ResponseWriter) *statusWriter {
	if sw, ok := w.(*statusWriter); ok {
		return sw
	}
	return &statusWriter{ResponseWriter: w}
}

// contentDisposition builds a Content-Disposition header with an ASCII
// fallback filename and the exact UTF-8 name (RFC 6266, RFC 8187).
func contentDisposition(disposition, name string) string {
	var ascii, ext strings.Builder
	for _, r := range name {
		if r < 0x20 || r > 0x7e || r == '"' || r == '\\' || r == '%' {
			ascii.WriteByte('_')
		} else {
			ascii.WriteRune(r)
		}
	}
	const attrChar = "!#$&+-.^_`|~"
	for _, b := range []byte(name) {
		if b >= 'a' && b <= 'z' || b >= 'A' && b <= 'Z' || b >= '0' && b <= '9' || strings.IndexByte(attrChar, b) >= 0 {
			ext.WriteByte(b)
		} else {
			fmt.Fprintf(&ext, "%%%02X", b)
		}
	}
	return fmt.Sprintf(`%s; filename="%s"; filename*=UTF-8''%s`, disposition, ascii.String(), ext.String())
}

// serveContent sends user content with the full semantics of
// http.ServeContent (Range, If-Range, If-None-Match, HEAD) and the headers
// that keep a browser from running it in Satchel's origin.
func serveContent(w http.ResponseWriter, r *http.Request, disposition, name, mimeType, sha string, modtime time.Time, content io.ReadSeeker) {
	h := w.Header()
	h.Set("Content-Type", mimeType)
	h.Set("Content-Disposition", contentDisposition(disposition, name))
	h.Set("Content-Security-Policy", "sandbox")
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Cross-Origin-Resource-Policy", "same-origin")
	h.Set("Cache-Control", "private, no-cache")
	if sha != "" {
		h.Set("ETag", `"`+sha+`"`)
	}
	cw := &contentWriter{statusWriter: asStatusWriter(w), r: r}
	http.ServeContent(cw, r, "", modtime, content)
}
