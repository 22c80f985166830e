package httpapi_test

import (
	"os"
	"strings"
	"testing"

	"github.com/satchelhq/satchel/internal/blob/disk"
	"github.com/satchelhq/satchel/internal/testutil/apitest"
)

func TestOperations(t *testing.T) {
	apitest.ForEach(t, func(t *testing.T, b apitest.Backend) {
		env := apitest.Start(t, b, nil)
		c := env.Anonymous()
		if resp := c.Do("GET", "/healthz", nil); resp.Status != 200 {
			t.Errorf("healthz: %d", resp.Status)
		}
		ready := c.MustJSON("GET", "/readyz", nil, 200)
		if ready["status"] != "ready" {
			t.Errorf("readyz: %v", ready)
		}
		metrics := string(c.Do("GET", "/metrics", nil).Body)
		for _, want := range []string{"satchel_http_requests_total", "satchel_http_request_duration_seconds", "satchel_uploads_in_flight",
			"satchel_http_request_body_bytes_total", "satchel_http_response_body_bytes_total", "go_goroutines", `route="GET /readyz"`} {
			if !strings.Contains(metrics, want) {
				t.Errorf("metrics lack %s", want)
			}
		}
		if resp := c.Do("GET", "/api/openapi.json", nil); resp.Status != 200 || !strings.Contains(string(resp.Body), `"openapi": "3.1`) {
			t.Errorf("openapi.json: %d", resp.Status)
		}

		// Storage gone: not ready, and a problem says which part. (The
		// fault tests take S3 and PostgreSQL away.)
		if d, ok := env.Node.Blobs.(*disk.Store); ok {
			if err := os.RemoveAll(d.Dir()); err != nil {
				t.Fatal(err)
			}
			p := apitest.Problem(t, c.Do("GET", "/readyz", nil), 503)
			if checks, _ := p["checks"].(map[string]any); checks["storage"] != "unavailable" || checks["database"] != "ok" {
				t.Errorf("readyz checks: %v", p["checks"])
			}
		}
	})
}

func TestUnknownRoutes(t *testing.T) {
	env := apitest.Start(t, apitest.Backends()[0], nil)
	c := env.Anonymous()
	apitest.Problem(t, c.Do("GET", "/api/v1/nothing-here", nil), 404)
	apitest.Problem(t, c.Do("GET", "/api/v2/files", nil), 404)
	apitest.Problem(t, c.Do("PUT", "/api/v1/files", nil), 405)
	resp := c.Do("DELETE", "/api/v1/me", nil)
	apitest.Problem(t, resp, 405)
	if allow := resp.Header.Get("Allow"); !strings.Contains(allow, "GET") || !strings.Contains(allow, "PATCH") {
		t.Errorf("Allow: %q", allow)
	}
	// Share links and the operations routes answer the same way.
	apitest.Problem(t, c.Do("GET", "/s/", nil), 404)
	apitest.Problem(t, c.Do("GET", "/s/sometoken/elsewhere", nil), 404)
	for path, allow := range map[string]string{"/s/sometoken/download": "GET, HEAD", "/s/sometoken": "GET", "/healthz": "GET", "/metrics": "GET"} {
		resp := c.Do("DELETE", path, nil)
		apitest.Problem(t, resp, 405)
		if got := resp.Header.Get("Allow"); !strings.HasPrefix(got, allow) {
			t.Errorf("DELETE %s: Allow %q, want %q", path, got, allow)
		}
	}
	// Elsewhere too; a browser asking for a page gets one.
	apitest.Problem(t, c.Do("GET", "/no-such-page", nil), 404)
	apitest.Problem(t, c.Do("POST", "/login", nil), 405)
	page := c.Do("GET", "/no-such-page", nil, "Accept", "text/html")
	if page.Status != 404 || !strings.HasPrefix(page.Header.Get("Content-Type"), "text/html") ||
		!strings.Contains(string(page.Body), "There is nothing here") || page.Header.Get("Content-Security-Policy") == "" {
		t.Errorf("a browser at an unknown path: %d %v %.200s", page.Status, page.Header, page.Body)
	}
	if resp := c.Do("GET", "/api/v1/nothing-here", nil, "Accept", "text/html"); resp.Header.Get("Content-Type") != "application/problem+json" {
		t.Errorf("an unknown API path asked for as a page: %v", resp.Header.Get("Content-Type"))
	}
	// A cross-origin browser request that changes state is refused.
	apitest.Problem(t, c.Do("POST", "/api/v1/sessions", map[string]string{"login": "x", "password": "y"}, "Sec-Fetch-Site", "cross-site"), 403)
	apitest.Problem(t, c.Do("POST", "/api/v1/sessions", map[string]string{"login": "x", "password": "y"}, "Origin", "https://evil.example"), 403)
}
