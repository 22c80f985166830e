package httpapi_test

import (
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/satchelhq/satchel/internal/blob/s3"
	"github.com/satchelhq/satchel/internal/testutil/apitest"
	"github.com/satchelhq/satchel/internal/testutil/dbtest"
	"github.com/satchelhq/satchel/internal/testutil/faultproxy"
	"github.com/satchelhq/satchel/internal/testutil/s3test"
)

// TestFaults takes PostgreSQL and the object store away (through proxies
// that refuse connections) and brings them back: requests answer 503
// problems meanwhile, readiness says which part is down, nothing is left
// half done, and everything works again without a restart.
func TestFaults(t *testing.T) {
	dbURL, err := url.Parse(dbtest.NewPostgresURL(t, true))
	if err != nil {
		t.Fatal(err)
	}
	dbProxy := faultproxy.New(t, dbURL.Host)
	dbURL.Host = dbProxy.Addr
	loc, err := s3.ParseURL(s3test.StorageURL(t))
	if err != nil {
		t.Fatal(err)
	}
	s3Proxy := faultproxy.New(t, strings.TrimPrefix(loc.Endpoint, "http://"))
	env := apitest.Start(t, apitest.Backends()[2], map[string]string{
		"SATCHEL_DATABASE_URL":     dbURL.String(),
		"SATCHEL_STORAGE_URL":      s3test.URL(loc.Bucket, "http://"+s3Proxy.Addr),
		"SATCHEL_USER_QUOTA":       "1GiB",
		"SATCHEL_DATABASE_TIMEOUT": "2s",
	})
	alice := env.UserWithKey("alice")
	f := alice.Upload("before.txt", []byte("written before the fault"))
	anon := env.Anonymous()

	// The object store goes away.
	s3Proxy.Down()
	p := apitest.Problem(t, anon.Do("GET", "/readyz", nil), 503)
	if checks := p["checks"].(map[string]any); checks["storage"] != "unavailable" || checks["database"] != "ok" {
		t.Errorf("readyz with the store down: %v", checks)
	}
	apitest.Problem(t, alice.Do("POST", "/api/v1/files?filename=during.bin", randomBytes(t, 20<<20)), 503)
	apitest.Problem(t, alice.Do("GET", "/api/v1/files/"+f["id"].(string)+"/content", nil), 503)
	alice.MustJSON("GET", "/api/v1/files", nil, 200) // what needs only the database works
	if n := fileRows(t, env); n != 1 {
		t.Errorf("file rows after an upload cut off by the store: %d, want 1", n)
	}
	if used := storageUsed(t, alice); used != int64(len("written before the fault")) {
		t.Errorf("storage after the failed upload: %d", used)
	}
	s3Proxy.Up(t)
	env.Anonymous().MustJSON("GET", "/readyz", nil, 200)
	if got := alice.Do("GET", "/api/v1/files/"+f["id"].(string)+"/content", nil); got.Status != 200 || string(got.Body) != "written before the fault" {
		t.Errorf("download after the store came back: %d", got.Status)
	}
	alice.Upload("after.bin", randomBytes(t, 20<<20))
	if keys := env.Partials(t); len(keys) != 0 {
		t.Errorf("multipart uploads left by the fault: %v", keys)
	}

	// The database goes away.
	dbProxy.Down()
	p = apitest.Problem(t, anon.Do("GET", "/readyz", nil), 503)
	if checks := p["checks"].(map[string]any); checks["database"] != "unavailable" {
		t.Errorf("readyz with the database down: %v", checks)
	}
	for _, path := range []string{"/api/v1/me", "/api/v1/files", "/api/v1/files/" + f["id"].(string) + "/content"} {
		resp := alice.Do("GET", path, nil)
		apitest.Problem(t, resp, 503)
		if strings.Contains(string(resp.Body), dbProxy.Addr) {
			t.Errorf("%s: the problem shows where the database is: %s", path, resp.Body)
		}
	}
	apitest.Problem(t, alice.Do("POST", "/api/v1/files?filename=x.txt", "x"), 503)
	dbProxy.Up(t)
	alice.MustJSON("GET", "/api/v1/me", nil, 200)

	// The database hangs: connections open, nothing answers. Requests
	// still end, as 503 problems, once the time limit of a database call
	// passes (the client's limit here only turns a hang into a failure).
	dbProxy.Stall()
	alice.HTTP.Timeout = time.Minute
	for _, path := range []string{"/api/v1/me", "/api/v1/files"} {
		apitest.Problem(t, alice.Do("GET", path, nil), 503)
	}
	apitest.Problem(t, alice.Do("POST", "/api/v1/files?filename=y.txt", "y"), 503)
	dbProxy.Resume()
	env.Anonymous().MustJSON("GET", "/readyz", nil, 200)
	alice.MustJSON("GET", "/api/v1/me", nil, 200)
	alice.Upload("recovered.txt", []byte("works again"))
	if items := alice.MustJSON("GET", "/api/v1/files", nil, 200)["items"].([]any); len(items) != 3 {
		t.Errorf("files after both faults: %d, want 3", len(items))
	}
}
