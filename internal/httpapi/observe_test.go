package httpapi

import (
	"bytes"
	"encoding/json"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

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
