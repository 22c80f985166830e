// Package apitest runs a whole Satchel node behind httptest for HTTP tests,
// on each backend, with a clock the test controls, and gives tests a small
// client for it.
package apitest

import (
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"io"
	"log/slog"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/satchelhq/satchel/internal/cli"
	"github.com/satchelhq/satchel/internal/config"
	"github.com/satchelhq/satchel/internal/secret"
	"github.com/satchelhq/satchel/internal/sqlstore"
	"github.com/satchelhq/satchel/internal/testutil/dbtest"
	"github.com/satchelhq/satchel/internal/testutil/s3test"
)

// Backend names a database and storage pair that the HTTP suites run on.
type Backend struct {
	Name     string
	Database string // sqlstore.SQLite or sqlstore.Postgres
	Storage  string // "disk" or "s3"
}

// Backends lists every backend: the embedded default, PostgreSQL with the
// local disk, and PostgreSQL with S3 (versitygw) as many nodes run.
func Backends() []Backend {
	return []Backend{
		{Name: "sqlite", Database: sqlstore.SQLite, Storage: "disk"},
		{Name: "postgres", Database: sqlstore.Postgres, Storage: "disk"},
		{Name: "postgres+s3", Database: sqlstore.Postgres, Storage: "s3"},
	}
}

// DiskBackends lists the backends on the local disk, for tests of what only
// the disk does (reading chunks back early, its temporary files).
func DiskBackends() []Backend {
	var out []Backend
	for _, b := range Backends() {
		if b.Storage == "disk" {
			out = append(out, b)
		}
	}
	return out
}

// ForEach runs fn as a subtest on every backend.
func ForEach(t *testing.T, fn func(t *testing.T, b Backend)) {
	t.Helper()
	ForEachOf(t, Backends(), fn)
}

// ForEachOf runs fn as a subtest on each of backends.
func ForEachOf(t *testing.T, backends []Backend, fn func(t *testing.T, b Backend)) {
	t.Helper()
	for _, b := range backends {
		t.Run(b.Name, func(t *testing.T) { fn(t, b) })
	}
}

// Clock is a settable clock.
type Clock struct {
	mu  sync.Mutex
	now time.Time
}

// Now returns the clock's time.
func (c *Clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

// Advance moves the clock forward.
func (c *Clock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
}

// Env is a running node.
type Env struct {
	T       testing.TB
	URL     string
	Config  config.Config
	Node    *cli.Node
	Clock   *Clock
	Logs    *bytes.Buffer
	logMu   *sync.Mutex
	Backend Backend
}

// CheapHash makes password hashing fast in tests; the secret package tests
// the real parameters.
var CheapHash = secret.Params{Memory: 1024, Time: 1, Threads: 1}

// Start runs a node on backend with the given settings (environment variable
// names to values) on top of a fresh database and data directory, on a clock
// the test moves.
func Start(t testing.TB, b Backend, settings map[string]string) *Env {
	t.Helper()
	return StartWith(t, Options{Backend: b, Settings: settings})
}

// Options says how to start a node.
type Options struct {
	Backend  Backend
	Settings map[string]string
	// RealClock runs the node on the wall clock, for tests whose other
	// side (a browser) has its own.
	RealClock bool
}

// StartWith runs a node as Options say.
func StartWith(t testing.TB, o Options) *Env {
	t.Helper()
	b, settings := o.Backend, o.Settings
	dataDir := t.TempDir()
	env := map[string]string{
		"SATCHEL_DATA_DIR":  dataDir,
		"SATCHEL_LOG_LEVEL": "debug",
	}
	if _, ok := settings["SATCHEL_DATABASE_URL"]; !ok {
		env["SATCHEL_DATABASE_URL"] = dbtest.NewDatabaseURL(t, b.Database)
	}
	if _, ok := settings["SATCHEL_STORAGE_URL"]; !ok && b.Storage == "s3" {
		env["SATCHEL_STORAGE_URL"] = s3test.StorageURL(t)
	}
	for k, v := range settings {
		env[k] = v
	}
	srv := httptest.NewUnstartedServer(nil)
	if _, ok := env["SATCHEL_PUBLIC_URL"]; !ok {
		env["SATCHEL_PUBLIC_URL"] = "http://" + srv.Listener.Addr().String()
	}
	fs := flag.NewFlagSet("test", flag.ContinueOnError)
	cfg, err := config.Load(fs, nil, func(k string) string { return env[k] })
	if err != nil {
		t.Fatalf("config: %v", err)
	}
	logs := &bytes.Buffer{}
	mu := &sync.Mutex{}
	log := slog.New(slog.NewTextHandler(&lockedWriter{mu: mu, w: logs}, &slog.HandlerOptions{Level: slog.LevelDebug}))
	clock := &Clock{now: time.Date(2026, 12, 4, 12, 0, 0, 0, time.UTC)}
	now := clock.Now
	if o.RealClock {
		now = time.Now
	}
	node, err := cli.Build(context.Background(), cfg, log, cli.Options{Now: now, HashParams: &CheapHash, JobPollInterval: 50 * time.Millisecond})
	if err != nil {
		srv.Close()
		t.Fatalf("build node: %v", err)
	}
	if err := node.Jobs.Start(context.Background()); err != nil {
		srv.Close()
		node.Close()
		t.Fatalf("start the job queue: %v", err)
	}
	srv.Config.Handler = node.Handler
	srv.Start()
	e := &Env{T: t, URL: srv.URL, Config: cfg, Node: node, Clock: clock, Logs: logs, logMu: mu, Backend: b}
	t.Cleanup(func() {
		if t.Failed() {
			text := e.LogText()
			t.Logf("the node's log (the end of it):\n%s", text[max(0, len(text)-8000):])
		}
		srv.Close()
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		if err := node.Jobs.Stop(ctx); err != nil {
			t.Errorf("stop the job queue: %v", err)
		}
		node.Close()
	})
	return e
}

// BlobKeys lists everything the node's storage holds: blobs, and on the
// disk its temporary and partial files too.
func (e *Env) BlobKeys(t testing.TB) []string {
	t.Helper()
	keys, err := e.Node.Blobs.Keys(context.Background())
	if err != nil {
		t.Fatalf("list blobs: %v", err)
	}
	return keys
}

// Partials lists the blobs being assembled from chunks (partial files on
// the disk, multipart uploads on S3).
func (e *Env) Partials(t testing.TB) []string {
	t.Helper()
	ps, err := e.Node.Blobs.StalePartials(context.Background(), time.Now().Add(100*365*24*time.Hour))
	if err != nil {
		t.Fatalf("list partial blobs: %v", err)
	}
	var keys []string
	for _, p := range ps {
		keys = append(keys, p.Key)
	}
	return keys
}

// LogText returns what the node has logged so far.
func (e *Env) LogText() string {
	e.logMu.Lock()
	defer e.logMu.Unlock()
	return e.Logs.String()
}

type lockedWriter struct {
	mu *sync.Mutex
	w  io.Writer
}

func (l *lockedWriter) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Write(p)
}

// Client talks to a node as one user (or none).
type Client struct {
	env    *Env
	HTTP   *http.Client
	Key    string // sent as a Bearer token when set
	UserID string
}

// Anonymous returns a client with no credentials and its own cookie jar.
func (e *Env) Anonymous() *Client {
	jar, _ := cookiejar.New(nil)
	return &Client{env: e, HTTP: &http.Client{Jar: jar, CheckRedirect: func(*http.Request, []*http.Request) error {
		return http.ErrUseLastResponse
	}}}
}

// UserWithKey registers a user named name and returns a client that
// authenticates with a new API key of theirs.
func (e *Env) UserWithKey(name string) *Client {
	e.T.Helper()
	c := e.Anonymous()
	u := c.MustJSON("POST", "/api/v1/users", map[string]string{
		"username": name, "email": name + "@example.com", "password": "password-" + name,
	}, http.StatusCreated)
	c.UserID = u["id"].(string)
	c.MustJSON("POST", "/api/v1/sessions", map[string]string{"login": name, "password": "password-" + name}, http.StatusCreated)
	k := c.MustJSON("POST", "/api/v1/api-keys", map[string]string{"name": "test"}, http.StatusCreated)
	c.Key = k["key"].(string)
	c.HTTP.Jar, _ = cookiejar.New(nil) // from now on, the key alone
	return c
}

// Response is a finished response with its body read.
type Response struct {
	Status int
	Header http.Header
	Body   []byte
}

// JSON decodes the body into a map.
func (r *Response) JSON(t testing.TB) map[string]any {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal(r.Body, &m); err != nil {
		t.Fatalf("response body is not a JSON object: %v\n%s", err, r.Body)
	}
	return m
}

// Do sends a request. body may be nil, an io.Reader, []byte or a value to
// encode as JSON. headers come in name, value pairs.
func (c *Client) Do(method, path string, body any, headers ...string) *Response {
	c.env.T.Helper()
	return c.Send(c.Request(method, path, body, headers...))
}

// Send sends a request built with Request (and changed, say to stream its
// body without a length) and reads the response. Call it from the test's
// goroutine: it fails the test if the request cannot be sent.
func (c *Client) Send(req *http.Request) *Response {
	c.env.T.Helper()
	resp, err := c.HTTP.Do(req)
	if err != nil {
		c.env.T.Fatalf("%s %s: %v", req.Method, req.URL.Path, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		c.env.T.Fatalf("%s %s: read body: %v", req.Method, req.URL.Path, err)
	}
	return &Response{Status: resp.StatusCode, Header: resp.Header, Body: b}
}

// Request builds a request as Do would send it.
func (c *Client) Request(method, path string, body any, headers ...string) *http.Request {
	c.env.T.Helper()
	var r io.Reader
	isJSON := false
	switch b := body.(type) {
	case nil:
	case io.Reader:
		r = b
	case []byte:
		r = bytes.NewReader(b)
	case string:
		r = strings.NewReader(b)
	default:
		j, err := json.Marshal(b)
		if err != nil {
			c.env.T.Fatalf("encode request: %v", err)
		}
		r, isJSON = bytes.NewReader(j), true
	}
	req, err := http.NewRequest(method, c.env.URL+path, r)
	if err != nil {
		c.env.T.Fatalf("new request: %v", err)
	}
	if isJSON {
		req.Header.Set("Content-Type", "application/json")
	}
	if c.Key != "" {
		req.Header.Set("Authorization", "Bearer "+c.Key)
	}
	for i := 0; i+1 < len(headers); i += 2 {
		req.Header.Set(headers[i], headers[i+1])
	}
	return req
}

// MustJSON sends a request, checks its status and decodes a JSON object answer.
func (c *Client) MustJSON(method, path string, body any, want int) map[string]any {
	c.env.T.Helper()
	resp := c.Do(method, path, body)
	if resp.Status != want {
		c.env.T.Fatalf("%s %s: got status %d, want %d\n%s", method, path, resp.Status, want, resp.Body)
	}
	if len(resp.Body) == 0 {
		return nil
	}
	return resp.JSON(c.env.T)
}

// Problem checks that resp is a problem document with the given status and
// returns it.
func Problem(t testing.TB, resp *Response, status int) map[string]any {
	t.Helper()
	if resp.Status != status {
		t.Fatalf("got status %d, want %d\n%s", resp.Status, status, resp.Body)
	}
	if ct := resp.Header.Get("Content-Type"); ct != "application/problem+json" {
		t.Fatalf("got Content-Type %q, want application/problem+json\n%s", ct, resp.Body)
	}
	p := resp.JSON(t)
	if got := p["status"]; got != float64(status) {
		t.Errorf("problem status member: got %v, want %d", got, status)
	}
	for _, k := range []string{"type", "title"} {
		if s, _ := p[k].(string); s == "" {
			t.Errorf("problem has no %q member: %s", k, resp.Body)
		}
	}
	return p
}

// Upload uploads content as a raw body and returns the File.
func (c *Client) Upload(name string, content []byte) map[string]any {
	c.env.T.Helper()
	return c.MustJSON("POST", "/api/v1/files?filename="+url.QueryEscape(name), content, http.StatusCreated)
}
