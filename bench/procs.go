package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"time"
)

var client = &http.Client{Transport: &http.Transport{
	DisableCompression:  true,
	WriteBufferSize:     256 << 10,
	ReadBufferSize:      256 << 10,
	MaxIdleConnsPerHost: 64,
}}

// writeRandomFile writes size pseudo-random (incompressible) bytes.
func writeRandomFile(path string, size int64) error {
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	defer f.Close()
	rng := rand.NewChaCha8([32]byte{1, 2, 3})
	buf := make([]byte, 4<<20)
	for left := size; left > 0; {
		n := min(left, int64(len(buf)))
		rng.Read(buf[:n])
		if _, err := f.Write(buf[:n]); err != nil {
			return err
		}
		left -= n
	}
	return f.Sync()
}

func freePort() (string, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", err
	}
	defer ln.Close()
	return ln.Addr().String(), nil
}

func waitHTTP(ctx context.Context, url string) error {
	deadline := time.Now().Add(30 * time.Second)
	for time.Now().Before(deadline) {
		if resp, err := client.Head(url); err == nil {
			resp.Body.Close()
			return nil
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(50 * time.Millisecond):
		}
	}
	return fmt.Errorf("%s does not answer", url)
}

// download GETs url and checks that size bytes arrive.
func download(ctx context.Context, url, key string, size int64) error {
	req, err := http.NewRequestWithContext(ctx, "GET", url, nil)
	if err != nil {
		return err
	}
	if key != "" {
		req.Header.Set("Authorization", "Bearer "+key)
	}
	resp, err := client.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode != 200 {
		return fmt.Errorf("GET %s: %s", url, resp.Status)
	}
	n, err := io.Copy(io.Discard, resp.Body)
	if err == nil && n != size {
		err = fmt.Errorf("got %d bytes, want %d", n, size)
	}
	return err
}

// nginx is an nginx server with a root holding the source file and a WebDAV
// directory for uploads.
type nginx struct {
	cmd  *exec.Cmd
	URL  string
	Root string
}

func startNginx(ctx context.Context, work, src string) (*nginx, error) {
	bin, err := exec.LookPath("nginx")
	if err != nil {
		if _, serr := os.Stat("/usr/sbin/nginx"); serr != nil {
			return nil, errors.New("nginx is not installed (apt-get install nginx)")
		}
		bin = "/usr/sbin/nginx"
	}
	addr, err := freePort()
	if err != nil {
		return nil, err
	}
	root := filepath.Join(work, "nginx")
	for _, d := range []string{root, filepath.Join(root, "www", "dav"), filepath.Join(root, "body"), filepath.Join(root, "logs")} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			return nil, err
		}
	}
	if err := os.Link(src, filepath.Join(root, "www", "source.bin")); err != nil {
		return nil, err
	}
	conf := fmt.Sprintf(`user root;
daemon off;
worker_processes auto;
pid %[1]s/nginx.pid;
error_log stderr warn;
events { worker_connections 256; }
http {
  access_log off;
  sendfile on;
  tcp_nopush on;
  client_max_body_size 0;
  client_body_temp_path %[1]s/body;
  proxy_temp_path %[1]s/body;
  fastcgi_temp_path %[1]s/body;
  uwsgi_temp_path %[1]s/body;
  scgi_temp_path %[1]s/body;
  server {
    listen %[2]s;
    root %[1]s/www;
    location /dav/ { dav_methods PUT; create_full_put_path on; }
  }
}
`, root, addr)
	confPath := filepath.Join(root, "nginx.conf")
	if err := os.WriteFile(confPath, []byte(conf), 0o644); err != nil {
		return nil, err
	}
	cmd := exec.CommandContext(ctx, bin, "-p", root, "-c", confPath, "-e", "stderr")
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("start nginx: %w", err)
	}
	n := &nginx{cmd: cmd, URL: "http://" + addr, Root: filepath.Join(root, "www")}
	if err := waitHTTP(ctx, n.URL+"/source.bin"); err != nil {
		n.Stop()
		return nil, err
	}
	return n, nil
}

// PutDurably uploads src with a WebDAV PUT and then fsyncs the stored file:
// the durable work Satchel does before it answers.
func (n *nginx) PutDurably(ctx context.Context, src, name string) error {
	f, err := os.Open(src)
	if err != nil {
		return err
	}
	defer f.Close()
	st, _ := f.Stat()
	req, err := http.NewRequestWithContext(ctx, "PUT", n.URL+"/dav/"+name, f)
	if err != nil {
		return err
	}
	req.ContentLength = st.Size()
	resp, err := client.Do(req)
	if err != nil {
		return err
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 201 && resp.StatusCode != 204 {
		return fmt.Errorf("PUT: %s", resp.Status)
	}
	stored, err := os.OpenFile(filepath.Join(n.Root, "dav", name), os.O_RDWR, 0)
	if err != nil {
		return err
	}
	defer stored.Close()
	return stored.Sync()
}

func (n *nginx) Stop() {
	n.cmd.Process.Signal(os.Interrupt)
	done := make(chan struct{})
	go func() { n.cmd.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(5 * time.Second):
		n.cmd.Process.Kill()
	}
}

// satchel is a satchel serve process.
type satchel struct {
	cmd *exec.Cmd
	URL string
}

var listening = regexp.MustCompile(`satchel is listening" addr=(\S+)`)

func startSatchel(ctx context.Context, work string) (*satchel, error) {
	return startSatchelWith(ctx, work, "satchel-data")
}

// startSatchelWith builds satchel (once) and runs it with a data directory
// of its own and extra environment.
func startSatchelWith(ctx context.Context, work, dataDir string, env ...string) (*satchel, error) {
	bin := filepath.Join(work, "satchel")
	if _, err := os.Stat(bin); err != nil {
		build := exec.CommandContext(ctx, "go", "build", "-o", bin, "./cmd/satchel")
		build.Stderr = os.Stderr
		if err := build.Run(); err != nil {
			return nil, fmt.Errorf("build satchel (run the benchmark from the repository root): %w", err)
		}
	}
	cmd := exec.CommandContext(ctx, bin, "serve")
	cmd.Env = append(append(os.Environ(), "SATCHEL_ADDR=127.0.0.1:0", "SATCHEL_DATA_DIR="+filepath.Join(work, dataDir),
		"SATCHEL_MAX_FILE_SIZE=100GiB"), env...)
	stderr, err := cmd.StderrPipe()
	if err != nil {
		return nil, err
	}
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	addr := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(stderr)
		for sc.Scan() {
			if m := listening.FindStringSubmatch(sc.Text()); m != nil {
				addr <- m[1]
			}
		}
	}()
	select {
	case a := <-addr:
		return &satchel{cmd: cmd, URL: "http://" + a}, nil
	case <-time.After(30 * time.Second):
		cmd.Process.Kill()
		return nil, errors.New("satchel did not start")
	}
}

func (s *satchel) Stop() {
	s.cmd.Process.Signal(os.Interrupt)
	s.cmd.Wait()
}

func (s *satchel) do(ctx context.Context, method, path, key string, body io.Reader, size int64, want int) ([]byte, error) {
	req, err := http.NewRequestWithContext(ctx, method, s.URL+path, body)
	if err != nil {
		return nil, err
	}
	if size >= 0 {
		req.ContentLength = size
	}
	if key != "" {
		req.Header.Set("Authorization", "Bearer "+key)
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := client.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != want {
		return nil, fmt.Errorf("%s %s: %s %s", method, path, resp.Status, b)
	}
	return b, nil
}

// Account registers a user and returns an API key.
func (s *satchel) Account(ctx context.Context) (string, error) {
	body := `{"username":"bench","email":"bench@example.com","password":"benchmark password"}`
	if _, err := s.do(ctx, "POST", "/api/v1/users", "", strings.NewReader(body), int64(len(body)), 201); err != nil {
		return "", err
	}
	req, _ := http.NewRequestWithContext(ctx, "POST", s.URL+"/api/v1/sessions", strings.NewReader(`{"login":"bench","password":"benchmark password"}`))
	resp, err := client.Do(req)
	if err != nil {
		return "", err
	}
	resp.Body.Close()
	kreq, _ := http.NewRequestWithContext(ctx, "POST", s.URL+"/api/v1/api-keys", nil)
	for _, c := range resp.Cookies() {
		kreq.AddCookie(c)
	}
	kresp, err := client.Do(kreq)
	if err != nil {
		return "", err
	}
	defer kresp.Body.Close()
	var k struct{ Key string }
	if err := json.NewDecoder(kresp.Body).Decode(&k); err != nil || k.Key == "" {
		return "", fmt.Errorf("create api key: %v", err)
	}
	return k.Key, nil
}

// Upload uploads the file at path and returns its id.
func (s *satchel) Upload(ctx context.Context, key, path, name string) (string, error) {
	f, err := os.Open(path)
	if err != nil {
		return "", err
	}
	defer f.Close()
	st, _ := f.Stat()
	req, err := http.NewRequestWithContext(ctx, "POST", s.URL+"/api/v1/files?filename="+name, f)
	if err != nil {
		return "", err
	}
	req.ContentLength = st.Size()
	req.Header.Set("Authorization", "Bearer "+key)
	req.Header.Set("Content-Type", "application/octet-stream")
	resp, err := client.Do(req)
	if err != nil {
		return "", err
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != 201 {
		return "", fmt.Errorf("upload: %s %s", resp.Status, b)
	}
	var out struct{ ID string }
	if err := json.Unmarshal(b, &out); err != nil {
		return "", err
	}
	return out.ID, nil
}

func (s *satchel) Delete(ctx context.Context, key, id string) error {
	_, err := s.do(ctx, "DELETE", "/api/v1/files/"+id, key, nil, -1, 204)
	return err
}

// PeakRSS returns the process's peak resident set size (VmHWM).
func (s *satchel) PeakRSS() (int64, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", s.cmd.Process.Pid))
	if err != nil {
		return 0, err
	}
	for _, line := range bytes.Split(b, []byte("\n")) {
		if f := strings.Fields(string(line)); len(f) >= 2 && f[0] == "VmHWM:" {
			kb, err := strconv.ParseInt(f[1], 10, 64)
			return kb << 10, err
		}
	}
	return 0, errors.New("no VmHWM in /proc status")
}
