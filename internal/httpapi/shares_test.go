package httpapi_test

import (
	"fmt"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/satchelhq/satchel/internal/testutil/apitest"
)

// shareOf makes a share link of a new file and returns the file's content
// and the share.
func shareOf(t *testing.T, c *apitest.Client, body map[string]any) ([]byte, map[string]any) {
	t.Helper()
	content := randomBytes(t, 4096)
	f := c.Upload("shared <b>file</b>.bin", content)
	return content, c.MustJSON("POST", "/api/v1/files/"+f["id"].(string)+"/shares", body, 201)
}

func TestShareOwnerAPI(t *testing.T) {
	apitest.ForEach(t, func(t *testing.T, b apitest.Backend) {
		env := apitest.Start(t, b, nil)
		alice, bob := env.UserWithKey("alice"), env.UserWithKey("bob")
		f := alice.Upload("a.txt", []byte("hello"))
		id := f["id"].(string)
		future := env.Clock.Now().Add(time.Hour).Format(time.RFC3339)
		for _, tt := range []struct {
			name string
			body any
		}{
			{"expiry in the past", map[string]any{"expires_at": env.Clock.Now().Add(-time.Second).Format(time.RFC3339)}},
			{"expiry now", map[string]any{"expires_at": env.Clock.Now().Format(time.RFC3339)}},
			{"expiry not a time", map[string]any{"expires_at": "tomorrow"}},
			{"zero downloads", map[string]any{"max_downloads": 0}},
			{"negative downloads", map[string]any{"max_downloads": -1}},
			{"empty password", map[string]any{"password": ""}},
			{"unknown field", map[string]any{"max_uses": 3}},
		} {
			t.Run(tt.name, func(t *testing.T) {
				apitest.Problem(t, alice.Do("POST", "/api/v1/files/"+id+"/shares", tt.body), 400)
			})
		}
		apitest.Problem(t, bob.Do("POST", "/api/v1/files/"+id+"/shares", nil), 404)
		apitest.Problem(t, bob.Do("GET", "/api/v1/files/"+id+"/shares", nil), 404)
		apitest.Problem(t, alice.Do("POST", "/api/v1/files/00000000-0000-0000-0000-000000000000/shares", nil), 404)

		plain := alice.MustJSON("POST", "/api/v1/files/"+id+"/shares", nil, 201)
		if plain["has_password"] != false || plain["expires_at"] != nil || plain["max_downloads"] != nil ||
			plain["download_count"] != float64(0) || plain["state"] != "active" || plain["file_id"] != id {
			t.Errorf("plain share: %v", plain)
		}
		token := plain["token"].(string)
		if len(token) < 22 || plain["url"] != env.Config.PublicURL+"/s/"+token {
			t.Errorf("token %q, url %v", token, plain["url"])
		}
		full := alice.MustJSON("POST", "/api/v1/files/"+id+"/shares", map[string]any{"password": "open sesame", "expires_at": future, "max_downloads": 2}, 201)
		if full["has_password"] != true || full["expires_at"] != future || full["max_downloads"] != float64(2) {
			t.Errorf("full share: %v", full)
		}
		if strings.Contains(fmt.Sprint(full), "open sesame") {
			t.Errorf("the share echoes its password")
		}
		for i := range 3 {
			env.Clock.Advance(time.Second)
			alice.MustJSON("POST", "/api/v1/files/"+alice.Upload(fmt.Sprint(i), []byte("x"))["id"].(string)+"/shares", nil, 201)
		}
		if items := alice.MustJSON("GET", "/api/v1/files/"+id+"/shares", nil, 200)["items"].([]any); len(items) != 2 {
			t.Errorf("shares of the file: %d, want 2", len(items))
		}
		var all []string
		cursor := ""
		for range 5 {
			page := alice.MustJSON("GET", "/api/v1/shares?limit=2"+cursor, nil, 200)
			for _, it := range page["items"].([]any) {
				all = append(all, it.(map[string]any)["id"].(string))
			}
			if page["next_cursor"] == nil {
				break
			}
			cursor = "&cursor=" + url.QueryEscape(page["next_cursor"].(string))
		}
		if len(all) != 5 {
			t.Errorf("paged through %d shares, want 5", len(all))
		}
		if items := bob.MustJSON("GET", "/api/v1/shares", nil, 200)["items"].([]any); len(items) != 0 {
			t.Errorf("bob sees alice's shares")
		}
		apitest.Problem(t, bob.Do("DELETE", "/api/v1/shares/"+plain["id"].(string), nil), 404)
		if resp := env.Anonymous().Do("GET", "/s/"+token, nil, "Accept", "application/json"); resp.Status != 200 {
			t.Errorf("the link before revoking: %d", resp.Status)
		}
		if resp := alice.Do("DELETE", "/api/v1/shares/"+plain["id"].(string), nil); resp.Status != 204 {
			t.Fatalf("revoke: %d", resp.Status)
		}
		apitest.Problem(t, env.Anonymous().Do("GET", "/s/"+token+"/download", nil), 404)
		apitest.Problem(t, alice.Do("DELETE", "/api/v1/shares/"+plain["id"].(string), nil), 404)

		// Unlocking a link without a password just shows it.
		if resp := env.Anonymous().Do("POST", "/s/"+full["token"].(string)+"/unlock", "password=x", "Content-Type", "application/x-www-form-urlencoded"); resp.Status != 401 {
			t.Errorf("wrong password: %d", resp.Status)
		}
		open := alice.MustJSON("POST", "/api/v1/files/"+id+"/shares", nil, 201)
		resp := env.Anonymous().Do("POST", "/s/"+open["token"].(string)+"/unlock", "password=x", "Content-Type", "application/x-www-form-urlencoded")
		if resp.Status != 303 || resp.Header.Get("Set-Cookie") != "" {
			t.Errorf("unlocking a link without a password: %d %v", resp.Status, resp.Header)
		}

		// Deleting the file takes its links with it.
		alice.MustJSON("DELETE", "/api/v1/files/"+id, nil, 204)
		apitest.Problem(t, env.Anonymous().Do("GET", "/s/"+full["token"].(string), nil, "Accept", "application/json"), 404)
	})
}

func TestShareDownloadLimitIsExact(t *testing.T) {
	apitest.ForEach(t, func(t *testing.T, b apitest.Backend) {
		env := apitest.Start(t, b, nil)
		alice := env.UserWithKey("alice")
		content, sh := shareOf(t, alice, map[string]any{"max_downloads": 3})
		token := sh["token"].(string)
		var (
			wg       sync.WaitGroup
			mu       sync.Mutex
			statuses = map[int]int{}
		)
		for range 50 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				resp := env.Anonymous().Do("GET", "/s/"+token+"/download", nil)
				mu.Lock()
				defer mu.Unlock()
				statuses[resp.Status]++
				if resp.Status == 200 && string(resp.Body) != string(content) {
					t.Errorf("a download got other bytes")
				}
			}()
		}
		wg.Wait()
		if statuses[200] != 3 || statuses[410] != 47 {
			t.Errorf("statuses: %v, want 3 x 200 and 47 x 410", statuses)
		}
		got := alice.MustJSON("GET", "/api/v1/shares", nil, 200)["items"].([]any)[0].(map[string]any)
		if got["download_count"] != float64(3) || got["state"] != "exhausted" {
			t.Errorf("share after the race: %v", got)
		}
		p := apitest.Problem(t, env.Anonymous().Do("GET", "/s/"+token+"/download", nil), 410)
		if !strings.Contains(p["detail"].(string), "used up") {
			t.Errorf("detail: %v", p["detail"])
		}
	})
}

func TestShareCounting(t *testing.T) {
	apitest.ForEach(t, func(t *testing.T, b apitest.Backend) {
		env := apitest.Start(t, b, nil)
		alice := env.UserWithKey("alice")
		content, sh := shareOf(t, alice, map[string]any{"max_downloads": 2})
		token := sh["token"].(string)
		anon := env.Anonymous()
		etag := `"` + sha(content) + `"`
		for _, tt := range []struct {
			name    string
			method  string
			headers []string
			status  int
		}{
			{"head", "HEAD", nil, 200},
			{"range from the middle", "GET", []string{"Range", "bytes=100-199"}, 206},
			{"suffix range", "GET", []string{"Range", "bytes=-10"}, 206},
			{"several ranges, none from byte 0", "GET", []string{"Range", "bytes=5-6,8-9"}, 206},
			{"not modified", "GET", []string{"If-None-Match", etag}, 304},
			{"range past the end", "GET", []string{"Range", "bytes=5000-"}, 416},
			{"thumbnail", "GET", nil, 404},
		} {
			t.Run(tt.name, func(t *testing.T) {
				path := "/s/" + token + "/download"
				if tt.name == "thumbnail" {
					path = "/s/" + token + "/thumbnail"
				}
				if resp := anon.Do(tt.method, path, nil, tt.headers...); resp.Status != tt.status {
					t.Fatalf("got %d, want %d", resp.Status, tt.status)
				}
			})
		}
		count := func() float64 {
			for _, it := range alice.MustJSON("GET", "/api/v1/shares", nil, 200)["items"].([]any) {
				if it.(map[string]any)["token"] == token {
					return it.(map[string]any)["download_count"].(float64)
				}
			}
			t.Fatalf("share %s not listed", token)
			return 0
		}
		// What counts is what is sent, however the request is phrased.
		for _, tt := range []struct {
			name    string
			headers []string
			status  int
		}{
			{"future If-Modified-Since", []string{"If-Modified-Since", time.Now().Add(time.Hour).UTC().Format(http.TimeFormat)}, 304},
			{"past If-Unmodified-Since", []string{"If-Unmodified-Since", "Mon, 01 Jan 2001 00:00:00 GMT"}, 412},
			{"malformed range", []string{"Range", "bytes=0-abc"}, 416},
		} {
			if resp := anon.Do("GET", "/s/"+token+"/download", nil, tt.headers...); resp.Status != tt.status {
				t.Errorf("%s: got %d, want %d", tt.name, resp.Status, tt.status)
			}
		}
		if n := count(); n != 0 {
			t.Fatalf("requests that send nothing from byte 0 were counted: %v", n)
		}
		// Several ranges that add up to the file, or an If-Range date that
		// is not the file's, send it all: that counts.
		for _, headers := range [][]string{
			{"Range", "bytes=1-,0-"},
			{"Range", "bytes=1-,0-0"},
			{"Range", "bytes=100-199,-4096"},
			{"Range", "bytes=500-", "If-Range", time.Now().Add(time.Hour).UTC().Format(http.TimeFormat)},
		} {
			_, sh := shareOf(t, alice, map[string]any{"max_downloads": 1})
			link := "/s/" + sh["token"].(string) + "/download"
			if resp := anon.Do("GET", link, nil, headers...); resp.Status != 200 && resp.Status != 206 {
				t.Fatalf("%v: %d", headers, resp.Status)
			}
			if resp := anon.Do("GET", link, nil, headers...); resp.Status != 410 {
				t.Errorf("%v sent the file again after the link was used up: %d", headers, resp.Status)
			}
		}
		resp := anon.Do("GET", "/s/"+token+"/download", nil, "Range", "bytes=0-99")
		if resp.Status != 206 || string(resp.Body) != string(content[:100]) {
			t.Fatalf("range from 0: %d", resp.Status)
		}
		if n := count(); n != 1 {
			t.Errorf("a range from byte 0 was not counted: %v", n)
		}
		resp = anon.Do("GET", "/s/"+token+"/download", nil)
		if resp.Status != 200 || resp.Header.Get("Content-Disposition") == "" || resp.Header.Get("Referrer-Policy") != "no-referrer" ||
			resp.Header.Get("X-Robots-Tag") == "" || resp.Header.Get("Content-Security-Policy") != "sandbox" {
			t.Errorf("download: %d %v", resp.Status, resp.Header)
		}
		if n := count(); n != 2 {
			t.Errorf("count after a full download: %v", n)
		}
		// Used up: everything about the link is gone.
		for _, method := range []string{"GET", "HEAD"} {
			if resp := anon.Do(method, "/s/"+token+"/download", nil, "Range", "bytes=10-20"); resp.Status != 410 {
				t.Errorf("%s of a used-up link: %d", method, resp.Status)
			}
		}
		if v := metricValue(t, env, "satchel_share_downloads_total"); v != 6 {
			t.Errorf("downloads counted metric: %v", v)
		}
	})
}

func TestShareExpiry(t *testing.T) {
	apitest.ForEach(t, func(t *testing.T, b apitest.Backend) {
		env := apitest.Start(t, b, nil)
		alice := env.UserWithKey("alice")
		_, sh := shareOf(t, alice, map[string]any{"expires_at": env.Clock.Now().Add(time.Hour).Format(time.RFC3339)})
		token := sh["token"].(string)
		anon := env.Anonymous()
		if resp := anon.Do("GET", "/s/"+token+"/download", nil); resp.Status != 200 {
			t.Fatalf("before expiry: %d", resp.Status)
		}
		env.Clock.Advance(time.Hour)
		p := apitest.Problem(t, anon.Do("GET", "/s/"+token+"/download", nil), 410)
		if !strings.Contains(p["detail"].(string), "expired") {
			t.Errorf("detail: %v", p["detail"])
		}
		apitest.Problem(t, anon.Do("GET", "/s/"+token, nil, "Accept", "application/json"), 410)
		if got := alice.MustJSON("GET", "/api/v1/shares", nil, 200)["items"].([]any)[0].(map[string]any)["state"]; got != "expired" {
			t.Errorf("state: %v", got)
		}
	})
}

func TestSharePassword(t *testing.T) {
	apitest.ForEach(t, func(t *testing.T, b apitest.Backend) {
		env := apitest.Start(t, b, nil)
		alice := env.UserWithKey("alice")
		content, sh := shareOf(t, alice, map[string]any{"password": "open sesame"})
		_, other := shareOf(t, alice, map[string]any{"password": "open sesame"})
		token, otherToken := sh["token"].(string), other["token"].(string)
		anon := env.Anonymous()

		info := anon.Do("GET", "/s/"+token, nil, "Accept", "application/json")
		if info.Status != 200 || info.JSON(t)["has_password"] != true || info.JSON(t)["filename"] == nil {
			t.Errorf("JSON form: %d %s", info.Status, info.Body)
		}
		apitest.Problem(t, anon.Do("GET", "/s/"+token+"/download", nil), 401)
		apitest.Problem(t, anon.Do("GET", "/s/"+token+"/download", nil, "X-Share-Password", "wrong"), 401)
		if resp := anon.Do("GET", "/s/"+token+"/download", nil, "X-Share-Password", "open sesame"); resp.Status != 200 || string(resp.Body) != string(content) {
			t.Fatalf("download with the password header: %d", resp.Status)
		}

		// The form: a wrong password is a 401 page, the right one a 303 and a
		// cookie for this link only.
		form := url.Values{"password": {"nope"}}.Encode()
		resp := anon.Do("POST", "/s/"+token+"/unlock", form, "Content-Type", "application/x-www-form-urlencoded", "Accept", "text/html")
		if resp.Status != 401 || !strings.Contains(string(resp.Body), "That password is not right") {
			t.Errorf("wrong password: %d\n%s", resp.Status, resp.Body)
		}
		form = url.Values{"password": {"open sesame"}}.Encode()
		resp = anon.Do("POST", "/s/"+token+"/unlock", form, "Content-Type", "application/x-www-form-urlencoded", "Accept", "text/html")
		if resp.Status != 303 || resp.Header.Get("Location") != "/s/"+token {
			t.Fatalf("right password: %d %v", resp.Status, resp.Header)
		}
		cookie := resp.Header.Get("Set-Cookie")
		for _, want := range []string{"satchel_unlock=", "Path=/s/" + token, "HttpOnly", "SameSite=Lax"} {
			if !strings.Contains(cookie, want) {
				t.Errorf("Set-Cookie %q lacks %q", cookie, want)
			}
		}
		if resp := anon.Do("GET", "/s/"+token+"/download", nil); resp.Status != 200 {
			t.Errorf("download with the unlock cookie: %d", resp.Status)
		}
		page := anon.Do("GET", "/s/"+token, nil, "Accept", "text/html")
		if !strings.Contains(string(page.Body), `href="/s/`+token+`/download"`) {
			t.Errorf("the unlocked page has no download link")
		}
		// The cookie does not open another link, even sent along with it.
		value := strings.TrimPrefix(strings.Split(cookie, ";")[0], "satchel_unlock=")
		apitest.Problem(t, env.Anonymous().Do("GET", "/s/"+otherToken+"/download", nil, "Cookie", "satchel_unlock="+value), 401)
		if strings.Contains(env.LogText(), "open sesame") || strings.Contains(env.LogText(), value) {
			t.Errorf("a password or cookie appears in the log")
		}

		// Brute force: after 5 wrong passwords for the link, 429 with
		// Retry-After, even for the right one; the window passes.
		for range 5 {
			apitest.Problem(t, env.Anonymous().Do("GET", "/s/"+otherToken+"/download", nil, "X-Share-Password", "guess"), 401)
		}
		limited := env.Anonymous().Do("GET", "/s/"+otherToken+"/download", nil, "X-Share-Password", "open sesame")
		apitest.Problem(t, limited, 429)
		if ra := limited.Header.Get("Retry-After"); ra == "" || ra == "0" {
			t.Errorf("Retry-After: %q", ra)
		}
		html := env.Anonymous().Do("POST", "/s/"+otherToken+"/unlock", form, "Content-Type", "application/x-www-form-urlencoded", "Accept", "text/html")
		if html.Status != 429 || !strings.Contains(string(html.Body), "Too many wrong passwords") || html.Header.Get("Retry-After") == "" {
			t.Errorf("limited unlock page: %d %v", html.Status, html.Header)
		}
		env.Clock.Advance(16 * time.Minute)
		if resp := env.Anonymous().Do("GET", "/s/"+otherToken+"/download", nil, "X-Share-Password", "open sesame"); resp.Status != 200 {
			t.Errorf("after the window: %d", resp.Status)
		}
		if v := metricValue(t, env, "satchel_share_unlock_failures_total"); v != 7 {
			t.Errorf("unlock failures metric: %v, want 7", v)
		}
	})
}

// TestUnlockLimitPerAddress makes 20 wrong guesses across links from one
// address: the 21st is refused whatever the link.
func TestUnlockLimitPerAddress(t *testing.T) {
	apitest.ForEach(t, func(t *testing.T, b apitest.Backend) {
		env := apitest.Start(t, b, nil)
		alice := env.UserWithKey("alice")
		var tokens []string
		for range 5 {
			_, sh := shareOf(t, alice, map[string]any{"password": "secret"})
			tokens = append(tokens, sh["token"].(string))
		}
		anon := env.Anonymous()
		for i := range 20 {
			apitest.Problem(t, anon.Do("GET", "/s/"+tokens[i%4]+"/download", nil, "X-Share-Password", "guess"), 401)
		}
		apitest.Problem(t, anon.Do("GET", "/s/"+tokens[4]+"/download", nil, "X-Share-Password", "secret"), 429)
	})
}

func TestSharePages(t *testing.T) {
	apitest.ForEach(t, func(t *testing.T, b apitest.Backend) {
		env := apitest.Start(t, b, nil)
		alice := env.UserWithKey("alice")
		_, active := shareOf(t, alice, map[string]any{"max_downloads": 5})
		_, locked := shareOf(t, alice, map[string]any{"password": "pw"})
		_, used := shareOf(t, alice, map[string]any{"max_downloads": 1})
		_, expiring := shareOf(t, alice, map[string]any{"expires_at": env.Clock.Now().Add(time.Minute).Format(time.RFC3339)})
		env.Anonymous().Do("GET", "/s/"+used["token"].(string)+"/download", nil)
		env.Clock.Advance(2 * time.Minute)
		for _, tt := range []struct {
			name, token string
			status      int
			want        []string
			not         []string
		}{
			{"active", active["token"].(string), 200,
				[]string{"shared &lt;b&gt;file&lt;/b&gt;.bin", "4.1 KB", "application/octet-stream", "Downloads left", "/download", "Download</a>"},
				[]string{"<b>file</b>", "type=\"password\""}},
			{"password", locked["token"].(string), 200,
				[]string{"type=\"password\"", "/unlock", "<label for=\"password\">"}, []string{"/download\""}},
			{"exhausted", used["token"].(string), 410, []string{"used up"}, []string{"/download\""}},
			{"expired", expiring["token"].(string), 410, []string{"expired"}, []string{"/download\""}},
			{"unknown", "AAAAAAAAAAAAAAAAAAAAAAAA", 404, []string{"does not work"}, nil},
			{"malformed", "x", 404, []string{"does not work"}, nil},
		} {
			t.Run(tt.name, func(t *testing.T) {
				resp := env.Anonymous().Do("GET", "/s/"+tt.token, nil, "Accept", "text/html,application/xhtml+xml")
				if resp.Status != tt.status {
					t.Fatalf("status %d, want %d", resp.Status, tt.status)
				}
				body := string(resp.Body)
				for _, w := range tt.want {
					if !strings.Contains(body, w) {
						t.Errorf("page lacks %q", w)
					}
				}
				for _, n := range append(tt.not, "<script", "style=") {
					if strings.Contains(body, n) {
						t.Errorf("page has %q", n)
					}
				}
				if m := inlineHandler.FindString(body); m != "" {
					t.Errorf("page has an inline event handler: %q", m)
				}
				for name, want := range map[string]string{
					"Content-Type": "text/html; charset=utf-8", "Referrer-Policy": "no-referrer", "X-Robots-Tag": "noindex",
					"X-Frame-Options": "DENY", "X-Content-Type-Options": "nosniff",
				} {
					if got := resp.Header.Get(name); got != want {
						t.Errorf("%s: %q, want %q", name, got, want)
					}
				}
				if csp := resp.Header.Get("Content-Security-Policy"); !strings.Contains(csp, "default-src 'none'") ||
					strings.Contains(csp, "unsafe-inline") || !strings.Contains(csp, "frame-ancestors 'none'") {
					t.Errorf("CSP: %q", csp)
				}
			})
		}
		if css := env.Anonymous().Do("GET", "/static/satchel.css", nil); css.Status != 200 || !strings.HasPrefix(css.Header.Get("Content-Type"), "text/css") {
			t.Errorf("stylesheet: %d %q", css.Status, css.Header.Get("Content-Type"))
		}
		if v := metricValue(t, env, "satchel_share_page_views_total"); v != 2 {
			t.Errorf("page views: %v, want 2", v)
		}
	})
}

var inlineHandler = regexp.MustCompile(`(?i)\son[a-z]+\s*=`)

// TestShareDownloadSeesChangesAtOnce changes links and files behind the
// server's back, as another node would, after a download has let the server
// keep its own copy of each link: every kind of download request must see
// the change at once.
func TestShareDownloadSeesChangesAtOnce(t *testing.T) {
	apitest.ForEach(t, func(t *testing.T, b apitest.Backend) {
		env := apitest.Start(t, b, nil)
		alice := env.UserWithKey("alice")
		anon := env.Anonymous()
		db := env.Node.Store.DB()
		exec := func(q string, args ...any) {
			t.Helper()
			if _, err := db.Exec(q, args...); err != nil {
				t.Fatal(err)
			}
		}
		// warm makes a link and downloads it once.
		warm := func() (fileID, shareID, token string) {
			t.Helper()
			_, sh := shareOf(t, alice, nil)
			token = sh["token"].(string)
			if resp := anon.Do("GET", "/s/"+token+"/download", nil); resp.Status != 200 {
				t.Fatalf("first download: %d", resp.Status)
			}
			return sh["file_id"].(string), sh["id"].(string), token
		}
		requests := []struct {
			name    string
			method  string
			headers []string
		}{
			{"get", "GET", nil},
			{"head", "HEAD", nil},
			{"range from the middle", "GET", []string{"Range", "bytes=100-199"}},
			{"not modified", "GET", []string{"If-None-Match", "*"}},
		}
		for _, rq := range requests {
			t.Run("renamed/"+rq.name, func(t *testing.T) {
				fileID, shareID, token := warm()
				exec(`UPDATE files SET filename = 'after.bin' WHERE id = $1`, fileID)
				resp := anon.Do(rq.method, "/s/"+token+"/download", nil, rq.headers...)
				if resp.Status >= 400 || !strings.Contains(resp.Header.Get("Content-Disposition"), `filename="after.bin"`) {
					t.Errorf("after a rename: %d, Content-Disposition %q", resp.Status, resp.Header.Get("Content-Disposition"))
				}
				want := 1
				if rq.method == "GET" && rq.headers == nil {
					want = 2
				}
				var n int
				if err := db.QueryRow(`SELECT download_count FROM share_links WHERE id = $1`, shareID).Scan(&n); err != nil || n != want {
					t.Errorf("download_count %d (%v), want %d", n, err, want)
				}
			})
			t.Run("revoked/"+rq.name, func(t *testing.T) {
				_, shareID, token := warm()
				exec(`DELETE FROM share_links WHERE id = $1`, shareID)
				if resp := anon.Do(rq.method, "/s/"+token+"/download", nil, rq.headers...); resp.Status != 404 {
					t.Errorf("a revoked link: %d, want 404", resp.Status)
				}
			})
			t.Run("file deleted/"+rq.name, func(t *testing.T) {
				fileID, _, token := warm()
				alice.MustJSON("DELETE", "/api/v1/files/"+fileID, nil, 204)
				if resp := anon.Do(rq.method, "/s/"+token+"/download", nil, rq.headers...); resp.Status != 404 {
					t.Errorf("the link of a deleted file: %d, want 404", resp.Status)
				}
			})
			t.Run("revoked after a refusal/"+rq.name, func(t *testing.T) {
				// A refusal seen once (used up) must not outlive the link.
				_, sh := shareOf(t, alice, map[string]any{"max_downloads": 1})
				link := "/s/" + sh["token"].(string) + "/download"
				for _, want := range []int{200, 410} {
					if resp := anon.Do("GET", link, nil); resp.Status != want {
						t.Fatalf("download: %d, want %d", resp.Status, want)
					}
				}
				alice.MustJSON("DELETE", "/api/v1/shares/"+sh["id"].(string), nil, 204)
				if resp := anon.Do(rq.method, link, nil, rq.headers...); resp.Status != 404 {
					t.Errorf("a used-up link after it was revoked: %d, want 404", resp.Status)
				}
			})
			t.Run("password link revoked/"+rq.name, func(t *testing.T) {
				_, sh := shareOf(t, alice, map[string]any{"password": "open sesame"})
				link := "/s/" + sh["token"].(string) + "/download"
				if resp := anon.Do("GET", link, nil, "X-Share-Password", "open sesame"); resp.Status != 200 {
					t.Fatalf("download with the password: %d", resp.Status)
				}
				exec(`DELETE FROM share_links WHERE id = $1`, sh["id"])
				for _, password := range []string{"", "wrong guess", "open sesame"} {
					headers := append([]string{"X-Share-Password", password}, rq.headers...)
					if resp := anon.Do(rq.method, link, nil, headers...); resp.Status != 404 {
						t.Errorf("a revoked password link with password %q: %d, want 404", password, resp.Status)
					}
				}
			})
			t.Run("used up elsewhere/"+rq.name, func(t *testing.T) {
				_, shareID, token := warm()
				exec(`UPDATE share_links SET max_downloads = 1 WHERE id = $1`, shareID)
				if resp := anon.Do(rq.method, "/s/"+token+"/download", nil, rq.headers...); resp.Status != 410 {
					t.Errorf("a used-up link: %d, want 410", resp.Status)
				}
			})
		}
	})
}
