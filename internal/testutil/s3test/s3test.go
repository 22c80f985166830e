// Package s3test gives tests a real S3 server: versitygw (go install
// github.com/versity/versitygw/cmd/versitygw@v1.8.0) on a posix directory,
// started once per test binary, with a fresh bucket per test.
package s3test

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/config"
	awss3 "github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/satchelhq/satchel/internal/testutil/dbtest"
)

// The credentials of the test server; Main puts them in the standard AWS
// environment variables, where Satchel (in process or not) finds them.
const (
	AccessKey = "satchel-test"
	SecretKey = "satchel-test-secret"
)

var (
	mu       sync.Mutex
	server   *Server
	startErr error
)

// Server is a running versitygw.
type Server struct {
	cmd  *exec.Cmd
	Addr string // host:port
	Root string
	done chan struct{}
}

// Binary finds versitygw: on PATH, or where go install puts it.
func Binary() (string, error) {
	if p, err := exec.LookPath("versitygw"); err == nil {
		return p, nil
	}
	gopath, err := exec.Command("go", "env", "GOPATH").Output()
	if err == nil {
		p := filepath.Join(string(trimNL(gopath)), "bin", "versitygw")
		if _, err := os.Stat(p); err == nil {
			return p, nil
		}
	}
	return "", fmt.Errorf("versitygw is not installed: go install github.com/versity/versitygw/cmd/versitygw@v1.8.0")
}

func trimNL(b []byte) []byte {
	for len(b) > 0 && (b[len(b)-1] == '\n' || b[len(b)-1] == '\r') {
		b = b[:len(b)-1]
	}
	return b
}

// StartServer starts a versitygw on addr ("127.0.0.1:0" picks a port) over
// root, and waits until it answers.
func StartServer(addr, root string) (*Server, error) {
	bin, err := Binary()
	if err != nil {
		return nil, err
	}
	if addr == "" || addr == "127.0.0.1:0" {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			return nil, err
		}
		addr = ln.Addr().String()
		ln.Close()
	}
	cmd := exec.Command(bin, "--port", addr, "--access", AccessKey, "--secret", SecretKey, "--quiet", "posix", root)
	cmd.Stdout, cmd.Stderr = nil, nil // its chatter is not the tests'
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("start versitygw: %w", err)
	}
	s := &Server{cmd: cmd, Addr: addr, Root: root, done: make(chan struct{})}
	go func() { cmd.Wait(); close(s.done) }()
	deadline := time.Now().Add(30 * time.Second)
	for time.Now().Before(deadline) {
		if c, err := net.DialTimeout("tcp", addr, time.Second); err == nil {
			c.Close()
			return s, nil
		}
		select {
		case <-s.done:
			return nil, fmt.Errorf("versitygw exited at start")
		case <-time.After(50 * time.Millisecond):
		}
	}
	s.Stop()
	return nil, fmt.Errorf("versitygw did not start listening on %s", addr)
}

// Stop stops the server.
func (s *Server) Stop() {
	s.cmd.Process.Kill()
	<-s.done
}

// Endpoint is the server's URL.
func (s *Server) Endpoint() string { return "http://" + s.Addr }

// shared returns this binary's server, starting it on first use.
func shared(t testing.TB) *Server {
	t.Helper()
	mu.Lock()
	defer mu.Unlock()
	if server == nil && startErr == nil {
		root, err := os.MkdirTemp("", "satchel-s3-")
		if err == nil {
			server, startErr = StartServer("", root)
		} else {
			startErr = err
		}
	}
	if startErr != nil {
		t.Fatalf("S3 test server: %v", startErr)
	}
	return server
}

// NewBucket makes an empty bucket on server and returns its name.
func NewBucket(t testing.TB, endpoint string) string {
	t.Helper()
	b := make([]byte, 6)
	rand.Read(b)
	name := "satchel-" + hex.EncodeToString(b)
	ctx := context.Background()
	cfg, err := config.LoadDefaultConfig(ctx, config.WithRegion("us-east-1"))
	if err != nil {
		t.Fatal(err)
	}
	client := awss3.NewFromConfig(cfg, func(o *awss3.Options) {
		o.BaseEndpoint = aws.String(endpoint)
		o.UsePathStyle = true
	})
	if _, err := client.CreateBucket(ctx, &awss3.CreateBucketInput{Bucket: aws.String(name)}); err != nil {
		t.Fatalf("create bucket: %v", err)
	}
	return name
}

// StorageURL makes a fresh bucket on the shared server and returns the
// SATCHEL_STORAGE_URL that names it.
func StorageURL(t testing.TB) string {
	t.Helper()
	s := shared(t)
	return URL(NewBucket(t, s.Endpoint()), s.Endpoint())
}

// URL is the storage URL of a bucket at endpoint.
func URL(bucket, endpoint string) string {
	return "s3://" + bucket + "?endpoint=" + endpoint + "&region=us-east-1&path_style=true"
}

// Main runs a package's tests with the test credentials in the environment,
// then stops the server and drops the databases they made.
func Main(m *testing.M) int {
	os.Setenv("AWS_ACCESS_KEY_ID", AccessKey)
	os.Setenv("AWS_SECRET_ACCESS_KEY", SecretKey)
	os.Setenv("AWS_REGION", "us-east-1")
	code := dbtest.Main(m)
	mu.Lock()
	defer mu.Unlock()
	if server != nil {
		server.Stop()
		os.RemoveAll(server.Root)
	}
	return code
}
