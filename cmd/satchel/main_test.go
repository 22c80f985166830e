package main_test

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/satchelhq/satchel/internal/testutil/dbtest"
	"github.com/satchelhq/satchel/internal/testutil/s3test"
)

var binary string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "satchel-bin-")
	if err != nil {
		panic(err)
	}
	binary = filepath.Join(dir, "satchel")
	if out, err := exec.Command("go", "build", "-o", binary, ".").CombinedOutput(); err != nil {
		fmt.Fprintf(os.Stderr, "build satchel: %v\n%s", err, out)
		os.Exit(1)
	}
	code := s3test.Main(m)
	os.RemoveAll(dir)
	os.Exit(code)
}

// proc is a running satchel process.
type proc struct {
	cmd    *exec.Cmd
	URL    string
	mu     sync.Mutex
	stderr bytes.Buffer
	exited chan struct{} // closed when the process has exited
	err    error         // its exit error, once exited is closed
}

// wait waits for the process to exit and returns its exit error.
func (p *proc) wait(t *testing.T) error {
	t.Helper()
	select {
	case <-p.exited:
		return p.err
	case <-time.After(60 * time.Second):
		t.Fatalf("satchel did not exit")
	}
	return nil
}

func (p *proc) Logs() string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.stderr.String()
}

var listening = regexp.MustCompile(`satchel is listening" addr=(\S+)`)

// start runs `satchel serve` with env on a free port and waits until it listens.
func start(t *testing.T, env ...string) *proc {
	t.Helper()
	cmd := exec.Command(binary, "serve")
	cmd.Env = append(os.Environ(), append([]string{"SATCHEL_ADDR=127.0.0.1:0", "SATCHEL_DATA_DIR=" + t.TempDir()}, env...)...)
	stderr, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	p := &proc{cmd: cmd, exited: make(chan struct{})}
	addr := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(stderr)
		for sc.Scan() {
			line := sc.Text()
			p.mu.Lock()
			p.stderr.WriteString(line + "\n")
			p.mu.Unlock()
			if m := listening.FindStringSubmatch(line); m != nil {
				addr <- m[1]
			}
		}
		p.err = cmd.Wait()
		close(p.exited)
	}()
	t.Cleanup(func() {
		cmd.Process.Kill()
		<-p.exited
		if t.Failed() {
			t.Logf("satchel's log:\n%s", p.Logs())
		}
	})
	select {
	case a := <-addr:
		p.URL = "http://" + a
	case <-p.exited:
		t.Fatalf("satchel exited before listening: %v\n%s", p.err, p.Logs())
	case <-time.After(30 * time.Second):
		t.Fatalf("satchel did not start listening\n%s", p.Logs())
	}
	return p
}

// stop sends SIGTERM and returns the exit error.
func (p *proc) stop(t *testing.T) error {
	t.Helper()
	if err := p.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	return p.wait(t)
}

func call(t *testing.T, method, url, key string, body io.Reader, headers ...string) (int, []byte) {
	t.Helper()
	req, err := http.NewRequest(method, url, body)
	if err != nil {
		t.Fatal(err)
	}
	if key != "" {
		req.Header.Set("Authorization", "Bearer "+key)
	}
	for i := 0; i+1 < len(headers); i += 2 {
		req.Header.Set(headers[i], headers[i+1])
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, url, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, b
}

// createUpload starts a resumable upload and returns its id.
func createUpload(t *testing.T, url, key, name string, size, chunk int) string {
	t.Helper()
	st, body := call(t, "POST", url+"/api/v1/uploads", key,
		strings.NewReader(fmt.Sprintf(`{"file_name":%q,"total_size":%d,"chunk_size":%d}`, name, size, chunk)))
	if st != 201 {
		t.Fatalf("create upload: %d %s", st, body)
	}
	return field(t, body, "id")
}

func field(t *testing.T, body []byte, name string) string {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal(body, &m); err != nil {
		t.Fatalf("not JSON: %s", body)
	}
	s, _ := m[name].(string)
	return s
}

// keyFor registers a user and returns an API key of theirs.
func keyFor(t *testing.T, url, name string) string {
	t.Helper()
	body := fmt.Sprintf(`{"username":%q,"email":"%s@example.com","password":"password-1"}`, name, name)
	if st, b := call(t, "POST", url+"/api/v1/users", "", strings.NewReader(body)); st != 201 {
		t.Fatalf("register: %d %s", st, b)
	}
	return login(t, url, name, "password-1")
}

func login(t *testing.T, url, name, password string) string {
	t.Helper()
	req, _ := http.NewRequest("POST", url+"/api/v1/sessions", strings.NewReader(fmt.Sprintf(`{"login":%q,"password":%q}`, name, password)))
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 201 {
		t.Fatalf("login: %d", resp.StatusCode)
	}
	kreq, _ := http.NewRequest("POST", url+"/api/v1/api-keys", nil)
	for _, c := range resp.Cookies() {
		kreq.AddCookie(c)
	}
	kresp, err := http.DefaultClient.Do(kreq)
	if err != nil {
		t.Fatal(err)
	}
	defer kresp.Body.Close()
	b, _ := io.ReadAll(kresp.Body)
	if kresp.StatusCode != 201 {
		t.Fatalf("create key: %d %s", kresp.StatusCode, b)
	}
	return field(t, b, "key")
}

func TestServeOnEachDatabase(t *testing.T) {
	for _, kind := range dbtest.Kinds {
		t.Run(kind, func(t *testing.T) {
			var env []string
			if kind == "postgres" {
				env = append(env, "SATCHEL_DATABASE_URL="+dbtest.NewPostgresURL(t, false))
			}
			p := start(t, env...)
			for _, path := range []string{"/healthz", "/readyz", "/metrics", "/api/openapi.json"} {
				if st, b := call(t, "GET", p.URL+path, "", nil); st != 200 {
					t.Errorf("GET %s: %d %s", path, st, b)
				}
			}
			key := keyFor(t, p.URL, "alice")
			st, b := call(t, "POST", p.URL+"/api/v1/files?filename=a.txt", key, strings.NewReader("hello from a real process"))
			if st != 201 {
				t.Fatalf("upload: %d %s", st, b)
			}
			id := field(t, b, "id")
			if st, b := call(t, "GET", p.URL+"/api/v1/files/"+id+"/content", key, nil, "Range", "bytes=0-4"); st != 206 || string(b) != "hello" {
				t.Errorf("range download: %d %q", st, b)
			}
			if st, b := call(t, "GET", p.URL+"/metrics", "", nil); st != 200 || !strings.Contains(string(b), `satchel_http_requests_total{code="201",method="POST",route="POST /api/v1/files"} 1`) {
				t.Errorf("metrics do not count the upload:\n%s", b)
			}
			if err := p.stop(t); err != nil {
				t.Errorf("exit after SIGTERM: %v", err)
			}
			logs := p.Logs()
			if !strings.Contains(logs, "msg=stopped") {
				t.Errorf("no clean stop in the log")
			}
			if strings.Contains(logs, key) || strings.Contains(logs, "password-1") {
				t.Errorf("a secret appears in the log")
			}
		})
	}
}

// TestShutdownDrainsRequests sends SIGTERM in the middle of an upload: the
// upload completes, then the process exits cleanly.
func TestShutdownDrainsRequests(t *testing.T) {
	p := start(t)
	key := keyFor(t, p.URL, "alice")
	pr, pw := io.Pipe()
	result := make(chan int, 1)
	go func() {
		req, _ := http.NewRequest("POST", p.URL+"/api/v1/files?filename=slow.bin", pr)
		req.Header.Set("Authorization", "Bearer "+key)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			result <- 0
			return
		}
		resp.Body.Close()
		result <- resp.StatusCode
	}()
	pw.Write(bytes.Repeat([]byte("a"), 64<<10))
	waitInFlight(t, p)
	if err := p.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	// The server stops listening but finishes the request in flight.
	deadline := time.Now().Add(10 * time.Second)
	for !strings.Contains(p.Logs(), "shutting down") && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	pw.Write(bytes.Repeat([]byte("b"), 64<<10))
	pw.Close()
	if st := <-result; st != 201 {
		t.Errorf("upload in flight during shutdown: got status %d, want 201", st)
	}
	if err := p.wait(t); err != nil {
		t.Errorf("exit: %v", err)
	}
}

func TestBusyPort(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	cmd := exec.Command(binary, "serve", "--addr", ln.Addr().String(), "--data-dir", t.TempDir())
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	err = cmd.Run()
	if ee, ok := err.(*exec.ExitError); !ok || ee.ExitCode() != 1 {
		t.Fatalf("exit: %v", err)
	}
	last := lastLine(stderr.String())
	if !strings.HasPrefix(last, "satchel: listen on "+ln.Addr().String()) {
		t.Errorf("last line %q", last)
	}
}

func lastLine(s string) string {
	lines := strings.Split(strings.TrimSpace(s), "\n")
	return lines[len(lines)-1]
}

func TestBadConfigurationExitsWithOneLine(t *testing.T) {
	for _, tt := range []struct {
		args []string
		env  string
		want string
	}{
		{[]string{"serve", "--max-file-size", "10XB"}, "", "SATCHEL_MAX_FILE_SIZE"},
		{[]string{"serve"}, "SATCHEL_REGISTRATION=sometimes", "SATCHEL_REGISTRATION"},
		{[]string{"serve", "--nope"}, "", "nope"},
		{[]string{"frobnicate"}, "", "unknown command"},
	} {
		cmd := exec.Command(binary, tt.args...)
		cmd.Env = append(os.Environ(), tt.env, "SATCHEL_DATA_DIR="+t.TempDir())
		out, err := cmd.CombinedOutput()
		if ee, ok := err.(*exec.ExitError); !ok || ee.ExitCode() != 2 {
			t.Errorf("%v: exit %v, want 2", tt.args, err)
		}
		text := strings.TrimSpace(string(out))
		if strings.Count(text, "\n") != 0 || !strings.Contains(text, tt.want) || !strings.HasPrefix(text, "satchel: ") {
			t.Errorf("%v: output should be one line naming %s:\n%s", tt.args, tt.want, text)
		}
	}
}

func TestUserCreateWithClosedRegistration(t *testing.T) {
	for _, kind := range dbtest.Kinds {
		t.Run(kind, func(t *testing.T) {
			dataDir := t.TempDir()
			env := append(os.Environ(), "SATCHEL_DATA_DIR="+dataDir)
			if kind == "postgres" {
				env = append(env, "SATCHEL_DATABASE_URL="+dbtest.NewPostgresURL(t, false))
			}
			cmd := exec.Command(binary, "user", "create", "--username", "admin", "--email", "admin@example.com", "--password-stdin")
			cmd.Env = env
			cmd.Stdin = strings.NewReader("a long password\n")
			out, err := cmd.CombinedOutput()
			if err != nil || !strings.Contains(string(out), "created user admin") {
				t.Fatalf("user create: %v\n%s", err, out)
			}
			again := exec.Command(binary, "user", "create", "--username", "ADMIN", "--email", "x@example.com", "--password-stdin")
			again.Env, again.Stdin = env, strings.NewReader("a long password\n")
			if out, err := again.CombinedOutput(); err == nil || !strings.Contains(string(out), "taken") {
				t.Errorf("a second admin was created: %v\n%s", err, out)
			}
			migrate := exec.Command(binary, "migrate")
			migrate.Env = env
			if out, err := migrate.CombinedOutput(); err != nil || !strings.Contains(string(out), "schema version 6") {
				t.Errorf("migrate: %v\n%s", err, out)
			}

			var db []string
			for _, e := range env {
				if strings.HasPrefix(e, "SATCHEL_DATABASE_URL=") {
					db = append(db, e)
				}
			}
			cmdEnv := append(db, "SATCHEL_REGISTRATION=closed")
			p := startIn(t, dataDir, cmdEnv...)
			if st, _ := call(t, "POST", p.URL+"/api/v1/users", "", strings.NewReader(`{"username":"eve","email":"eve@example.com","password":"password-1"}`)); st != 403 {
				t.Errorf("register with closed registration: %d", st)
			}
			key := login(t, p.URL, "admin", "a long password")
			if st, b := call(t, "GET", p.URL+"/api/v1/me", key, nil); st != 200 || field(t, b, "username") != "admin" {
				t.Errorf("me: %d %s", st, b)
			}
		})
	}
}

// startIn is start with a given data directory.
func startIn(t *testing.T, dataDir string, env ...string) *proc {
	t.Helper()
	return start(t, append(env, "SATCHEL_DATA_DIR="+dataDir)...)
}

// waitInFlight waits until the server is receiving an upload.
func waitInFlight(t *testing.T, p *proc) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for time.Now().Before(deadline) {
		if _, b := call(t, "GET", p.URL+"/metrics", "", nil); strings.Contains(string(b), "satchel_uploads_in_flight 1") {
			return
		}
		time.Sleep(10 * time.Millisecond)
	}
	t.Fatalf("the upload never started")
}

// TestShutdownDeadlineCutsUploadCleanly stops the server while an upload
// stalls past the shutdown timeout: the upload is cut off, and it leaves no
// row, no bytes and no reservation behind.
func TestShutdownDeadlineCutsUploadCleanly(t *testing.T) {
	for _, kind := range dbtest.Kinds {
		t.Run(kind, func(t *testing.T) {
			dataDir := t.TempDir()
			env := []string{"SATCHEL_USER_QUOTA=1GiB", "SATCHEL_SHUTDOWN_TIMEOUT=1s"}
			if kind == "postgres" {
				env = append(env, "SATCHEL_DATABASE_URL="+dbtest.NewPostgresURL(t, false))
			}
			p := startIn(t, dataDir, env...)
			key := keyFor(t, p.URL, "alice")
			pr, pw := io.Pipe()
			defer pw.Close()
			go func() {
				req, _ := http.NewRequest("POST", p.URL+"/api/v1/files?filename=stuck.bin", pr)
				req.ContentLength = 100 << 20
				req.Header.Set("Authorization", "Bearer "+key)
				if resp, err := http.DefaultClient.Do(req); err == nil {
					resp.Body.Close()
				}
			}()
			pw.Write(bytes.Repeat([]byte("a"), 1<<20))
			waitInFlight(t, p)
			if err := p.stop(t); err != nil {
				t.Fatalf("exit: %v", err)
			}
			if logs := p.Logs(); strings.Contains(logs, "level=ERROR") {
				t.Errorf("errors while stopping:\n%s", logs)
			}
			q := startIn(t, dataDir, env...)
			st, b := call(t, "GET", q.URL+"/api/v1/me", key, nil)
			if st != 200 || !strings.Contains(string(b), `"storage_used_bytes":0`) {
				t.Errorf("after the cut-off upload: %d %s", st, b)
			}
			var blobs []string
			filepath.WalkDir(filepath.Join(dataDir, "blobs"), func(path string, d os.DirEntry, err error) error {
				if err == nil && d.Type().IsRegular() {
					blobs = append(blobs, path)
				}
				return nil
			})
			if len(blobs) != 0 {
				t.Errorf("blobs left: %v", blobs)
			}
		})
	}
}
