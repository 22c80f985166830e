package httpapi_test

import (
	"fmt"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/satchelhq/satchel/internal/testutil/apitest"
)

func TestRegisterValidation(t *testing.T) {
	apitest.ForEach(t, func(t *testing.T, b apitest.Backend) {
		env := apitest.Start(t, b, nil)
		c := env.Anonymous()
		tests := []struct {
			name   string
			body   any
			status int
			field  string
		}{
			{"short username", map[string]string{"username": "ab", "email": "a@example.com", "password": "password1"}, 400, "username"},
			{"long username", map[string]string{"username": strings.Repeat("a", 101), "email": "a@example.com", "password": "password1"}, 400, "username"},
			{"bad username chars", map[string]string{"username": "al ice", "email": "a@example.com", "password": "password1"}, 400, "username"},
			{"empty email", map[string]string{"username": "alice", "email": "", "password": "password1"}, 400, "email"},
			{"not an email", map[string]string{"username": "alice", "email": "alice", "password": "password1"}, 400, "email"},
			{"long email", map[string]string{"username": "alice", "email": strings.Repeat("a", 250) + "@example.com", "password": "password1"}, 400, "email"},
			{"short password", map[string]string{"username": "alice", "email": "a@example.com", "password": "short"}, 400, "password"},
			{"long password", map[string]string{"username": "alice", "email": "a@example.com", "password": strings.Repeat("p", 1025)}, 400, "password"},
			{"unknown field", map[string]any{"username": "alice", "email": "a@example.com", "password": "password1", "admin": true}, 400, "admin"},
			{"wrong type", map[string]any{"username": 5, "email": "a@example.com", "password": "password1"}, 400, "username"},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				p := apitest.Problem(t, c.Do("POST", "/api/v1/users", tt.body), tt.status)
				errs, _ := p["errors"].([]any)
				found := false
				for _, e := range errs {
					if e.(map[string]any)["field"] == tt.field {
						found = true
					}
				}
				if !found {
					t.Errorf("problem does not name field %q: %v", tt.field, p)
				}
			})
		}
		for _, tt := range []struct {
			name, body string
			status     int
		}{
			{"malformed", `{"username":`, 400},
			{"not an object", `[1,2]`, 400},
			{"empty", ``, 400},
			{"two values", `{} {}`, 400},
			{"oversized", `{"username":"` + strings.Repeat("a", 2<<20) + `"}`, 413},
		} {
			t.Run(tt.name, func(t *testing.T) {
				apitest.Problem(t, c.Do("POST", "/api/v1/users", tt.body, "Content-Type", "application/json"), tt.status)
			})
		}
		// Nothing of the refused requests was kept.
		var n int
		if err := env.Node.Store.DB().QueryRow(`SELECT count(*) FROM users`).Scan(&n); err != nil || n != 0 {
			t.Errorf("users after refused registrations: got %d (%v), want 0", n, err)
		}
	})
}

func TestRegisterConflicts(t *testing.T) {
	apitest.ForEach(t, func(t *testing.T, b apitest.Backend) {
		env := apitest.Start(t, b, nil)
		c := env.Anonymous()
		u := c.MustJSON("POST", "/api/v1/users", map[string]string{"username": "alice", "email": "Alice@Example.com", "password": "password1"}, 201)
		for _, k := range []string{"id", "username", "email", "created_at", "updated_at"} {
			if _, ok := u[k]; !ok {
				t.Errorf("user has no %q: %v", k, u)
			}
		}
		if _, ok := u["password_hash"]; ok {
			t.Errorf("user answer leaks the password hash")
		}
		for _, tt := range []struct {
			name, username, email, field string
		}{
			{"same username", "alice", "other@example.com", "username"},
			{"username in other case", "ALICE", "other@example.com", "username"},
			{"same email", "bob", "Alice@Example.com", "email"},
			{"email in other case", "bob", "alice@EXAMPLE.COM", "email"},
		} {
			t.Run(tt.name, func(t *testing.T) {
				p := apitest.Problem(t, c.Do("POST", "/api/v1/users", map[string]string{"username": tt.username, "email": tt.email, "password": "password1"}), 409)
				errs, _ := p["errors"].([]any)
				if len(errs) != 1 || errs[0].(map[string]any)["field"] != tt.field {
					t.Errorf("got errors %v, want one for %q", errs, tt.field)
				}
			})
		}
	})
}

// TestRegistrationLimit: one client address makes at most 20 accounts in
// 15 minutes (each costs a password hash); refused input does not count.
func TestRegistrationLimit(t *testing.T) {
	apitest.ForEach(t, func(t *testing.T, b apitest.Backend) {
		env := apitest.Start(t, b, nil)
		c := env.Anonymous()
		user := func(i int) map[string]string {
			return map[string]string{"username": fmt.Sprintf("user%d", i), "email": fmt.Sprintf("user%d@example.com", i), "password": "password1"}
		}
		for i := range 20 {
			c.MustJSON("POST", "/api/v1/users", user(i), 201)
			apitest.Problem(t, c.Do("POST", "/api/v1/users", map[string]string{"username": "x", "email": "bad", "password": "short"}), 400)
		}
		limited := c.Do("POST", "/api/v1/users", user(20))
		apitest.Problem(t, limited, 429)
		if ra := limited.Header.Get("Retry-After"); ra == "" || ra == "0" {
			t.Errorf("Retry-After: %q", ra)
		}
		env.Clock.Advance(16 * time.Minute)
		c.MustJSON("POST", "/api/v1/users", user(20), 201)
	})
}

func TestRegistrationClosed(t *testing.T) {
	apitest.ForEach(t, func(t *testing.T, b apitest.Backend) {
		env := apitest.Start(t, b, map[string]string{"SATCHEL_REGISTRATION": "closed"})
		apitest.Problem(t, env.Anonymous().Do("POST", "/api/v1/users",
			map[string]string{"username": "alice", "email": "a@example.com", "password": "password1"}), 403)
	})
}

func TestSessions(t *testing.T) {
	apitest.ForEach(t, func(t *testing.T, b apitest.Backend) {
		env := apitest.Start(t, b, nil)
		c := env.Anonymous()
		c.MustJSON("POST", "/api/v1/users", map[string]string{"username": "alice", "email": "alice@example.com", "password": "password1"}, 201)

		apitest.Problem(t, c.Do("GET", "/api/v1/me", nil), 401)
		for _, login := range []map[string]string{
			{"login": "alice", "password": "wrong-password"},
			{"login": "nobody", "password": "password1"},
			{"login": "", "password": ""},
		} {
			apitest.Problem(t, c.Do("POST", "/api/v1/sessions", login), 401)
		}

		resp := c.Do("POST", "/api/v1/sessions", map[string]string{"login": "ALICE@example.com", "password": "password1"})
		if resp.Status != 201 {
			t.Fatalf("login by email: got %d\n%s", resp.Status, resp.Body)
		}
		cookie := resp.Header.Get("Set-Cookie")
		for _, want := range []string{"satchel_session=", "HttpOnly", "SameSite=Lax", "Path=/"} {
			if !strings.Contains(cookie, want) {
				t.Errorf("Set-Cookie %q lacks %q", cookie, want)
			}
		}
		if strings.Contains(cookie, "Secure") {
			t.Errorf("Set-Cookie %q is Secure over plain HTTP", cookie)
		}
		body := resp.JSON(t)
		if body["user"].(map[string]any)["username"] != "alice" || body["expires_at"] == nil {
			t.Errorf("login answer: %v", body)
		}
		me := c.MustJSON("GET", "/api/v1/me", nil, 200)
		if me["username"] != "alice" || me["storage_used_bytes"] != float64(0) || me["storage_quota_bytes"] != nil {
			t.Errorf("GET /me: %v", me)
		}
		if _, ok := me["storage_quota_bytes"]; !ok {
			t.Errorf("GET /me has no storage_quota_bytes member")
		}

		// A second login, then logout of the first: the second lives on.
		other := env.Anonymous()
		other.MustJSON("POST", "/api/v1/sessions", map[string]string{"login": "alice", "password": "password1"}, 201)
		oldCookies := c.HTTP.Jar.Cookies(mustURL(t, env.URL))
		if resp := c.Do("DELETE", "/api/v1/sessions/current", nil); resp.Status != 204 {
			t.Fatalf("logout: got %d", resp.Status)
		}
		apitest.Problem(t, c.Do("GET", "/api/v1/me", nil), 401)
		// Replaying the old cookie does not work: the session is dead server-side.
		replay := env.Anonymous()
		replay.HTTP.Jar.SetCookies(mustURL(t, env.URL), oldCookies)
		apitest.Problem(t, replay.Do("GET", "/api/v1/me", nil), 401)
		other.MustJSON("GET", "/api/v1/me", nil, 200)

		// Sessions expire.
		env.Clock.Advance(31 * 24 * time.Hour)
		apitest.Problem(t, other.Do("GET", "/api/v1/me", nil), 401)
	})
}

func TestUpdateMe(t *testing.T) {
	apitest.ForEach(t, func(t *testing.T, b apitest.Backend) {
		env := apitest.Start(t, b, nil)
		first, second := env.Anonymous(), env.Anonymous()
		first.MustJSON("POST", "/api/v1/users", map[string]string{"username": "alice", "email": "alice@example.com", "password": "password1"}, 201)
		env.Anonymous().MustJSON("POST", "/api/v1/users", map[string]string{"username": "bob", "email": "bob@example.com", "password": "password1"}, 201)
		for _, c := range []*apitest.Client{first, second} {
			c.MustJSON("POST", "/api/v1/sessions", map[string]string{"login": "alice", "password": "password1"}, 201)
		}
		withKey := env.Anonymous()
		withKey.Key = first.MustJSON("POST", "/api/v1/api-keys", nil, 201)["key"].(string)

		apitest.Problem(t, first.Do("PATCH", "/api/v1/me", map[string]string{"email": "new@example.com"}), 400)
		apitest.Problem(t, first.Do("PATCH", "/api/v1/me", map[string]string{"email": "new@example.com", "current_password": "wrong-pass"}), 403)
		apitest.Problem(t, first.Do("PATCH", "/api/v1/me", map[string]string{"email": "BOB@example.com", "current_password": "password1"}), 409)
		apitest.Problem(t, first.Do("PATCH", "/api/v1/me", map[string]string{"password": "short", "current_password": "password1"}), 400)
		apitest.Problem(t, first.Do("PATCH", "/api/v1/me", map[string]string{"email": "not-an-email", "current_password": "password1"}), 400)

		me := first.MustJSON("PATCH", "/api/v1/me", map[string]string{"email": "new@example.com", "current_password": "password1"}, 200)
		if me["email"] != "new@example.com" {
			t.Errorf("email after change: %v", me["email"])
		}
		second.MustJSON("GET", "/api/v1/me", nil, 200) // an email change ends no session

		first.MustJSON("PATCH", "/api/v1/me", map[string]string{"password": "new-password", "current_password": "password1"}, 200)
		first.MustJSON("GET", "/api/v1/me", nil, 200)                // the session that changed it lives on
		apitest.Problem(t, second.Do("GET", "/api/v1/me", nil), 401) // every other session ends
		withKey.MustJSON("GET", "/api/v1/me", nil, 200)              // API keys are not sessions
		apitest.Problem(t, env.Anonymous().Do("POST", "/api/v1/sessions", map[string]string{"login": "alice", "password": "password1"}), 401)
		env.Anonymous().MustJSON("POST", "/api/v1/sessions", map[string]string{"login": "new@example.com", "password": "new-password"}, 201)

		// Whoever holds a key cannot guess the password behind it: after 10
		// wrong current passwords in 15 minutes even the right one is 429.
		change := map[string]string{"email": "guess@example.com", "current_password": "wrong-pass"}
		for range 9 { // one wrong one was made above, with the old password
			apitest.Problem(t, withKey.Do("PATCH", "/api/v1/me", change), 403)
		}
		change["current_password"] = "new-password"
		limited := withKey.Do("PATCH", "/api/v1/me", change)
		apitest.Problem(t, limited, 429)
		if ra := limited.Header.Get("Retry-After"); ra == "" || ra == "0" {
			t.Errorf("Retry-After: %q", ra)
		}
		env.Clock.Advance(16 * time.Minute)
		if me := withKey.MustJSON("PATCH", "/api/v1/me", change, 200); me["email"] != "guess@example.com" {
			t.Errorf("email after the window passed: %v", me["email"])
		}
	})
}

func TestAPIKeys(t *testing.T) {
	apitest.ForEach(t, func(t *testing.T, b apitest.Backend) {
		env := apitest.Start(t, b, nil)
		alice := env.UserWithKey("alice")
		bob := env.UserWithKey("bob")

		created := alice.MustJSON("POST", "/api/v1/api-keys", map[string]string{"name": "backup script"}, 201)
		key := created["key"].(string)
		prefix := created["prefix"].(string)
		if !strings.HasPrefix(key, prefix+"_") || !strings.HasPrefix(prefix, "sat_") || len(prefix) != 12 || len(key) < 12+1+32 {
			t.Errorf("key %q with prefix %q does not follow sat_<id>_<secret>", key, prefix)
		}
		if created["name"] != "backup script" || created["last_used_at"] != nil {
			t.Errorf("created key: %v", created)
		}
		apitest.Problem(t, alice.Do("POST", "/api/v1/api-keys", map[string]string{"name": strings.Repeat("n", 101)}), 400)

		list := alice.MustJSON("GET", "/api/v1/api-keys", nil, 200)
		items := list["items"].([]any)
		if len(items) != 2 {
			t.Fatalf("alice has %d keys, want 2", len(items))
		}
		for _, it := range items {
			if _, ok := it.(map[string]any)["key"]; ok {
				t.Errorf("listed key shows its secret: %v", it)
			}
		}
		if !strings.Contains(string(alice.Do("GET", "/api/v1/api-keys", nil).Body), prefix) {
			t.Errorf("the new key is not listed")
		}

		script := env.Anonymous()
		script.Key = key
		script.MustJSON("GET", "/api/v1/me", nil, 200)
		// last_used_at is recorded, and not rewritten within the minute.
		var first string
		for _, it := range alice.MustJSON("GET", "/api/v1/api-keys", nil, 200)["items"].([]any) {
			if it.(map[string]any)["prefix"] == prefix {
				first, _ = it.(map[string]any)["last_used_at"].(string)
			}
		}
		if first == "" {
			t.Fatalf("last_used_at not recorded")
		}
		env.Clock.Advance(30 * time.Second)
		script.MustJSON("GET", "/api/v1/me", nil, 200)
		if got := lastUsed(t, alice, prefix); got != first {
			t.Errorf("last_used_at rewritten within a minute: %s then %s", first, got)
		}
		env.Clock.Advance(31 * time.Second)
		script.MustJSON("GET", "/api/v1/me", nil, 200)
		if got := lastUsed(t, alice, prefix); got == first {
			t.Errorf("last_used_at not rewritten after a minute")
		}

		// Tampered keys and other schemes.
		for _, bad := range []string{
			key[:len(key)-1] + flip(key[len(key)-1]),
			prefix + "_" + strings.Repeat("A", 40),
			"sat_nope",
			"",
		} {
			tampered := env.Anonymous()
			tampered.Key = bad
			if bad == "" {
				tampered.Key = "x"
			}
			apitest.Problem(t, tampered.Do("GET", "/api/v1/me", nil), 401)
		}
		apitest.Problem(t, env.Anonymous().Do("GET", "/api/v1/me", nil, "Authorization", "Basic YTpi"), 401)

		// Bob cannot see or delete Alice's key.
		id := created["id"].(string)
		apitest.Problem(t, bob.Do("DELETE", "/api/v1/api-keys/"+id, nil), 404)
		apitest.Problem(t, alice.Do("DELETE", "/api/v1/api-keys/not-a-uuid", nil), 404)
		script.MustJSON("GET", "/api/v1/me", nil, 200)

		if resp := alice.Do("DELETE", "/api/v1/api-keys/"+id, nil); resp.Status != 204 {
			t.Fatalf("delete key: got %d", resp.Status)
		}
		apitest.Problem(t, script.Do("GET", "/api/v1/me", nil), 401)
		apitest.Problem(t, alice.Do("DELETE", "/api/v1/api-keys/"+id, nil), 404)

		// Only hashes are stored.
		var n int
		if err := env.Node.Store.DB().QueryRow(`SELECT count(*) FROM api_keys WHERE key_hash = $1 OR prefix = $1`, alice.Key).Scan(&n); err != nil || n != 0 {
			t.Errorf("a stored key matches the key text: %d %v", n, err)
		}
		if strings.Contains(env.LogText(), alice.Key) || strings.Contains(env.LogText(), key) {
			t.Errorf("a key appears in the logs")
		}
	})
}

func lastUsed(t *testing.T, c *apitest.Client, prefix string) string {
	t.Helper()
	for _, it := range c.MustJSON("GET", "/api/v1/api-keys", nil, 200)["items"].([]any) {
		if it.(map[string]any)["prefix"] == prefix {
			s, _ := it.(map[string]any)["last_used_at"].(string)
			return s
		}
	}
	t.Fatalf("key %s not listed", prefix)
	return ""
}

func flip(c byte) string {
	if c == 'a' {
		return "b"
	}
	return "a"
}

func mustURL(t *testing.T, s string) *url.URL {
	t.Helper()
	u, err := url.Parse(s)
	if err != nil {
		t.Fatal(err)
	}
	return u
}

// TestLoginLimits guesses passwords: 20 failures from one address, then
// even the right password is 429 with Retry-After until the window passes;
// right passwords do not count; guesses spread over addresses stop at 50
// per account, while the owner's other addresses are still limited only by
// the account.
func TestLoginLimits(t *testing.T) {
	apitest.ForEach(t, func(t *testing.T, b apitest.Backend) {
		env := apitest.Start(t, b, map[string]string{"SATCHEL_TRUSTED_PROXIES": "127.0.0.1"})
		c := env.Anonymous()
		c.MustJSON("POST", "/api/v1/users", map[string]string{"username": "alice", "email": "alice@example.com", "password": "password1"}, 201)
		c.MustJSON("POST", "/api/v1/users", map[string]string{"username": "bob", "email": "bob@example.com", "password": "password2"}, 201)
		login := func(from, user, password string) *apitest.Response {
			t.Helper()
			return c.Do("POST", "/api/v1/sessions", map[string]string{"login": user, "password": password}, "X-Forwarded-For", from)
		}

		for i := range 19 {
			apitest.Problem(t, login("10.0.0.1", "alice", fmt.Sprint("guess", i)), 401)
		}
		if r := login("10.0.0.1", "alice", "password1"); r.Status != 201 {
			t.Fatalf("right password after 19 failures: %d", r.Status)
		}
		apitest.Problem(t, login("10.0.0.1", "nobody", "guess"), 401) // the 20th failure
		limited := login("10.0.0.1", "bob", "password2")
		apitest.Problem(t, limited, 429)
		if ra := limited.Header.Get("Retry-After"); ra == "" || ra == "0" {
			t.Errorf("Retry-After: %q", ra)
		}
		if r := login("10.0.0.2", "bob", "password2"); r.Status != 201 {
			t.Errorf("another address: %d", r.Status)
		}

		// Alice's account: 50 failures in all, from three addresses.
		for i := range 19 {
			apitest.Problem(t, login("10.0.0.2", "alice", fmt.Sprint("guess", i)), 401)
		}
		for i := range 12 {
			apitest.Problem(t, login("10.0.0.3", "alice", fmt.Sprint("guess", i)), 401)
		}
		apitest.Problem(t, login("10.0.0.4", "alice", "password1"), 429)
		if r := login("10.0.0.4", "bob", "password2"); r.Status != 201 {
			t.Errorf("another account from a fresh address: %d", r.Status)
		}

		env.Clock.Advance(16 * time.Minute)
		if r := login("10.0.0.1", "alice", "password1"); r.Status != 201 {
			t.Errorf("after the window: %d", r.Status)
		}
		if strings.Contains(env.LogText(), "password1") {
			t.Errorf("a password appears in the log")
		}
	})
}
