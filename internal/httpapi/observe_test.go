package httpapi

import (
	"bytes"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/satchelhq/satchel/internal/metrics"
)

// TestPanicBecomesProblem checks that a panicking handler answers a 500
// problem without a stack trace, and that the stack goes to the log.
func TestPanicBecomesProblem(t *testing.T) {
	var logs bytes.Buffer
	s := &Server{log: slog.New(slog.NewTextHandler(&logs, nil)), metrics: metrics.New()}
	h := s.observe(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		panic("boom: secret internals")
	}))
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest("GET", "/api/v1/me", nil))
	if rec.Code != 500 || rec.Header().Get("Content-Type") != "application/problem+json" {
		t.Fatalf("got %d %q", rec.Code, rec.Header().Get("Content-Type"))
	}
	var p map[string]any
	if err := json.Unmarshal(rec.Body.Bytes(), &p); err != nil {
		t.Fatal(err)
	}
	if p["status"] != float64(500) || p["request_id"] != rec.Header().Get("X-Request-Id") {
		t.Errorf("problem: %v", p)
	}
	if strings.Contains(rec.Body.String(), "boom") || strings.Contains(rec.Body.String(), "goroutine") {
		t.Errorf("the answer leaks the panic: %s", rec.Body)
	}
	if !strings.Contains(logs.String(), "boom: secret internals") || !strings.Contains(logs.String(), "status=500") {
		t.Errorf("the panic is not logged:\n%s", logs.String())
	}
}

func TestContentDisposition(t *testing.T) {
	for _, tt := range []struct{ name, want string }{
		{"plain.txt", `attachment; filename="plain.txt"; filename*=UTF-8''plain.txt`},
		{`quo"te\.txt`, `attachment; filename="quo_te_.txt"; filename*=UTF-8''quo%22te%5C.txt`},
		{"naïve résumé.pdf", `attachment; filename="na_ve r_sum_.pdf"; filename*=UTF-8''na%C3%AFve%20r%C3%A9sum%C3%A9.pdf`},
		{"semi;colon,comma", `attachment; filename="semi;colon,comma"; filename*=UTF-8''semi%3Bcolon%2Ccomma`},
	} {
		if got := contentDisposition("attachment", tt.name); got != tt.want {
			t.Errorf("contentDisposition(%q):\ngot  %s\nwant %s", tt.name, got, tt.want)
		}
	}
}

// readerFromRecorder is a ResponseWriter that, like net/http's, implements
// io.ReaderFrom (which is where sendfile happens) and records its use.
type readerFromRecorder struct {
	*httptest.ResponseRecorder
	readFrom bool
}

func (r *readerFromRecorder) ReadFrom(src io.Reader) (int64, error) {
	r.readFrom = true
	return io.Copy(r.ResponseRecorder, src)
}

// TestContentKeepsSendfile checks that the middleware and the content
// writer hand file copies to the underlying ReadFrom, so that an *os.File
// reaches net/http's sendfile path.
func TestContentKeepsSendfile(t *testing.T) {
	f, err := os.CreateTemp(t.TempDir(), "blob")
	if err != nil {
		t.Fatal(err)
	}
	f.WriteString(strings.Repeat("x", 10000))
	s := &Server{log: slog.New(slog.DiscardHandler), metrics: metrics.New()}
	for _, rng := range []string{"", "bytes=10-99"} {
		rec := &readerFromRecorder{ResponseRecorder: httptest.NewRecorder()}
		h := s.observe(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			serveContent(w, r, "attachment", "x.txt", "text/plain", "abc", time.Now(), f)
		}))
		req := httptest.NewRequest("GET", "/x", nil)
		if rng != "" {
			req.Header.Set("Range", rng)
		}
		h.ServeHTTP(rec, req)
		if !rec.readFrom {
			t.Errorf("range %q: the body was not copied with ReadFrom", rng)
		}
		if rec.Code != 200 && rec.Code != 206 {
			t.Errorf("range %q: status %d", rng, rec.Code)
		}
	}
}
