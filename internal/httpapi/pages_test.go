package httpapi_test

import (
	"net/url"
	"strings"
	"testing"

	"github.com/satchelhq/satchel/internal/testutil/apitest"
)

func TestAppPages(t *testing.T) {
	env := apitest.Start(t, apitest.Backends()[0], nil)
	anon := env.Anonymous()
	for _, path := range []string{"/", "/shares", "/account"} {
		resp := anon.Do("GET", path, nil)
		if resp.Status != 303 || resp.Header.Get("Location") != "/login?next="+url.QueryEscape(path) {
			t.Errorf("%s without a session: %d %q", path, resp.Status, resp.Header.Get("Location"))
		}
	}
	login := anon.Do("GET", "/login", nil)
	if login.Status != 200 || !strings.Contains(string(login.Body), `id="login-form"`) || !strings.Contains(string(login.Body), `href="/register"`) {
		t.Errorf("login page: %d", login.Status)
	}

	browser := env.Anonymous()
	browser.MustJSON("POST", "/api/v1/users", map[string]string{"username": "alice", "email": "a@example.com", "password": "password1"}, 201)
	browser.MustJSON("POST", "/api/v1/sessions", map[string]string{"login": "alice", "password": "password1"}, 201)
	for _, tt := range []struct{ path, marker string }{
		{"/", `id="file-list"`}, {"/shares", `id="share-list"`}, {"/account", `id="key-list"`},
	} {
		resp := browser.Do("GET", tt.path, nil)
		body := string(resp.Body)
		if resp.Status != 200 || !strings.Contains(body, tt.marker) || !strings.Contains(body, `data-user="alice"`) {
			t.Errorf("%s: %d", tt.path, resp.Status)
		}
		csp := resp.Header.Get("Content-Security-Policy")
		if !strings.Contains(csp, "script-src 'self'") || strings.Contains(csp, "unsafe") || !strings.Contains(csp, "frame-ancestors 'none'") {
			t.Errorf("%s CSP: %q", tt.path, csp)
		}
		if strings.Contains(body, "<script>") || inlineHandler.MatchString(body) || strings.Contains(body, "style=") {
			t.Errorf("%s has inline script or style", tt.path)
		}
	}
	// Signed in, the sign-in page sends you on, but only within the site.
	for next, want := range map[string]string{"/shares": "/shares", "/account?x=1": "/account?x=1", "//evil.example": "/",
		"https://evil.example": "/", "/\\evil.example": "/", "/\t/evil.example": "/", "/%09/evil.example": "/%09/evil.example", "evil": "/"} {
		resp := browser.Do("GET", "/login?next="+url.QueryEscape(next), nil)
		if resp.Status != 303 || resp.Header.Get("Location") != want {
			t.Errorf("next=%q: %d %q, want %q", next, resp.Status, resp.Header.Get("Location"), want)
		}
	}
	if js := anon.Do("GET", "/static/app/files.js", nil); js.Status != 200 || !strings.Contains(js.Header.Get("Content-Type"), "javascript") {
		t.Errorf("files.js: %d %q", js.Status, js.Header.Get("Content-Type"))
	}

	closed := apitest.Start(t, apitest.Backends()[0], map[string]string{"SATCHEL_REGISTRATION": "closed"})
	if resp := closed.Anonymous().Do("GET", "/register", nil); resp.Status != 303 || resp.Header.Get("Location") != "/login" {
		t.Errorf("register page with registration closed: %d", resp.Status)
	}
	if body := string(closed.Anonymous().Do("GET", "/login", nil).Body); strings.Contains(body, `href="/register"`) {
		t.Errorf("the login page offers registration while it is closed")
	}
}

func TestShareQR(t *testing.T) {
	apitest.ForEach(t, func(t *testing.T, b apitest.Backend) {
		env := apitest.Start(t, b, nil)
		alice, bob := env.UserWithKey("alice"), env.UserWithKey("bob")
		_, sh := shareOf(t, alice, nil)
		if sh["file_name"] != "shared <b>file</b>.bin" {
			t.Errorf("share file_name: %v", sh["file_name"])
		}
		resp := alice.Do("GET", "/api/v1/shares/"+sh["id"].(string)+"/qr", nil)
		if resp.Status != 200 || resp.Header.Get("Content-Type") != "image/svg+xml" || !strings.HasPrefix(string(resp.Body), "<svg") {
			t.Errorf("QR: %d %q", resp.Status, resp.Header.Get("Content-Type"))
		}
		apitest.Problem(t, bob.Do("GET", "/api/v1/shares/"+sh["id"].(string)+"/qr", nil), 404)
		if items := alice.MustJSON("GET", "/api/v1/shares", nil, 200)["items"].([]any); items[0].(map[string]any)["file_name"] != "shared <b>file</b>.bin" {
			t.Errorf("listed share: %v", items[0])
		}
	})
}

func TestFileSearch(t *testing.T) {
	apitest.ForEach(t, func(t *testing.T, b apitest.Backend) {
		env := apitest.Start(t, b, nil)
		alice := env.UserWithKey("alice")
		for _, name := range []string{"Holiday Photos.zip", "holiday-video.mp4", "taxes_2026.pdf", "100% done.txt", "notes.txt", "École.odt"} {
			alice.Upload(name, []byte(name))
		}
		for q, want := range map[string]int{"holiday": 2, "HOLIDAY": 2, "_2026": 1, "%": 1, "_": 1, ".txt": 2, "nothing": 0, "": 6, "École": 1, "cole": 1} {
			items := alice.MustJSON("GET", "/api/v1/files?q="+url.QueryEscape(q), nil, 200)["items"].([]any)
			if len(items) != want {
				t.Errorf("q=%q: %d files, want %d", q, len(items), want)
			}
		}
		page := alice.MustJSON("GET", "/api/v1/files?limit=1&q=holiday", nil, 200)
		next := alice.MustJSON("GET", "/api/v1/files?limit=1&q=holiday&cursor="+url.QueryEscape(page["next_cursor"].(string)), nil, 200)
		if len(next["items"].([]any)) != 1 || next["next_cursor"] != nil {
			t.Errorf("paged search: %v", next)
		}
	})
}
