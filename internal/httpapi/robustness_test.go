package httpapi_test

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"mime/multipart"
	"net"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/satchelhq/satchel/internal/satchel"
	"github.com/satchelhq/satchel/internal/testutil/apitest"
)

// multipartBody returns a form with one file part of content.
func multipartBody(t *testing.T, name string, content []byte) ([]byte, string) {
	t.Helper()
	var body bytes.Buffer
	mw := multipart.NewWriter(&body)
	part, err := mw.CreateFormFile("file", name)
	if err != nil {
		t.Fatal(err)
	}
	part.Write(content)
	mw.Close()
	return body.Bytes(), mw.FormDataContentType()
}

func TestMultipartLimits(t *testing.T) {
	apitest.ForEach(t, func(t *testing.T, b apitest.Backend) {
		env := apitest.Start(t, b, map[string]string{"SATCHEL_MAX_FILE_SIZE": "64KiB", "SATCHEL_USER_QUOTA": "100KiB"})
		alice := env.UserWithKey("alice")
		body, ct := multipartBody(t, "big.bin", randomBytes(t, 64<<10+1))
		apitest.Problem(t, alice.Do("POST", "/api/v1/files", body, "Content-Type", ct), 413)
		assertNothingKept(t, env, alice)

		body, ct = multipartBody(t, "fits.bin", randomBytes(t, 60<<10))
		if resp := alice.Do("POST", "/api/v1/files", body, "Content-Type", ct); resp.Status != 201 {
			t.Fatalf("multipart within limits: %d %s", resp.Status, resp.Body)
		}
		body, ct = multipartBody(t, "over.bin", randomBytes(t, 50<<10))
		apitest.Problem(t, alice.Do("POST", "/api/v1/files", body, "Content-Type", ct), 507)
		if used := storageUsed(t, alice); used != 60<<10 {
			t.Errorf("storage after a refused multipart upload: %d", used)
		}
		if n := fileRows(t, env); n != 1 {
			t.Errorf("file rows: %d, want 1", n)
		}
	})
}

// TestMultipartCutOff hangs up in the middle of a form upload.
func TestMultipartCutOff(t *testing.T) {
	apitest.ForEach(t, func(t *testing.T, b apitest.Backend) {
		env := apitest.Start(t, b, map[string]string{"SATCHEL_USER_QUOTA": "10MiB"})
		alice := env.UserWithKey("alice")
		body, ct := multipartBody(t, "cut.bin", randomBytes(t, 2<<20))
		u, _ := url.Parse(env.URL)
		conn, err := net.Dial("tcp", u.Host)
		if err != nil {
			t.Fatal(err)
		}
		fmt.Fprintf(conn, "POST /api/v1/files HTTP/1.1\r\nHost: %s\r\nAuthorization: Bearer %s\r\nContent-Type: %s\r\nContent-Length: %d\r\n\r\n",
			u.Host, alice.Key, ct, len(body))
		conn.Write(body[:1<<20])
		eventually(t, "the upload to start", func() bool { return fileRows(t, env) == 1 })
		conn.Close()
		eventually(t, "the cut-off upload to be cleaned up", func() bool {
			return fileRows(t, env) == 0 && len(blobFiles(t, env)) == 0
		})
		assertNothingKept(t, env, alice)
	})
}

// TestStalledBodyIsCutOff sends half a body and then nothing: the server
// gives up after the body timeout and keeps nothing.
func TestStalledBodyIsCutOff(t *testing.T) {
	apitest.ForEach(t, func(t *testing.T, b apitest.Backend) {
		env := apitest.Start(t, b, map[string]string{"SATCHEL_BODY_TIMEOUT": "1s", "SATCHEL_USER_QUOTA": "10MiB"})
		alice := env.UserWithKey("alice")
		u, _ := url.Parse(env.URL)
		conn, err := net.Dial("tcp", u.Host)
		if err != nil {
			t.Fatal(err)
		}
		defer conn.Close()
		fmt.Fprintf(conn, "POST /api/v1/files?filename=slow.bin HTTP/1.1\r\nHost: %s\r\nAuthorization: Bearer %s\r\nContent-Length: 1000000\r\n\r\n",
			u.Host, alice.Key)
		conn.Write(randomBytes(t, 100_000))
		// The server answers (and closes) on its own: the client sent nothing more.
		conn.SetReadDeadline(time.Now().Add(30 * time.Second))
		reply, _ := io.ReadAll(conn)
		if !strings.HasPrefix(string(reply), "HTTP/1.1 400") {
			t.Errorf("reply to a stalled body: %q", reply)
		}
		eventually(t, "the stalled upload to be cleaned up", func() bool {
			return fileRows(t, env) == 0 && len(blobFiles(t, env)) == 0
		})
		assertNothingKept(t, env, alice)
	})
}

// TestStaleUploadSweep plays a crash in the middle of an upload: a pending
// row with its reservation and a blob, whose request is gone. The sweep
// removes them once they are stale, and not before.
func TestStaleUploadSweep(t *testing.T) {
	apitest.ForEach(t, func(t *testing.T, b apitest.Backend) {
		env := apitest.Start(t, b, map[string]string{"SATCHEL_USER_QUOTA": "10MiB"})
		alice := env.UserWithKey("alice")
		ctx := context.Background()
		f := satchel.File{ID: satchel.NewID(), UserID: alice.UserID, Filename: "crashed.bin", StorageKey: "0123456789abcdef0123456789abcdef",
			MimeType: "application/octet-stream", Size: 4 << 20, CreatedAt: env.Clock.Now()}
		if err := env.Node.Store.BeginFile(ctx, f, 10<<20); err != nil {
			t.Fatal(err)
		}
		if _, err := env.Node.Blobs.Put(ctx, f.StorageKey, bytes.NewReader([]byte("partial"))); err != nil {
			t.Fatal(err)
		}
		if used := storageUsed(t, alice); used != 4<<20 {
			t.Fatalf("reserved: %d", used)
		}
		env.Clock.Advance(30 * time.Minute)
		if n, err := env.Node.Files.SweepStale(ctx); err != nil || n != 0 {
			t.Fatalf("swept a live upload: %d %v", n, err)
		}
		env.Clock.Advance(31 * time.Minute)
		if n, err := env.Node.Files.SweepStale(ctx); err != nil || n != 1 {
			t.Fatalf("sweep: %d %v, want 1", n, err)
		}
		assertNothingKept(t, env, alice)
	})
}

func TestSecureCookieOverHTTPS(t *testing.T) {
	env := apitest.Start(t, apitest.Backends()[0], map[string]string{"SATCHEL_PUBLIC_URL": "https://files.example.com"})
	c := env.Anonymous()
	c.MustJSON("POST", "/api/v1/users", map[string]string{"username": "alice", "email": "a@example.com", "password": "password1"}, 201)
	resp := c.Do("POST", "/api/v1/sessions", map[string]string{"login": "alice", "password": "password1"})
	if cookie := resp.Header.Get("Set-Cookie"); !strings.Contains(cookie, "; Secure") {
		t.Errorf("Set-Cookie %q is not Secure behind an https public URL", cookie)
	}
}

// TestUpdatedAt checks that updated_at follows the application's clock on
// both databases, and that a user's does not move with their storage.
func TestUpdatedAt(t *testing.T) {
	apitest.ForEach(t, func(t *testing.T, b apitest.Backend) {
		env := apitest.Start(t, b, nil)
		alice := env.UserWithKey("alice")
		before := alice.MustJSON("GET", "/api/v1/me", nil, 200)["updated_at"]
		env.Clock.Advance(time.Hour)
		f := alice.Upload("a.txt", []byte("hello"))
		if after := alice.MustJSON("GET", "/api/v1/me", nil, 200)["updated_at"]; after != before {
			t.Errorf("the user's updated_at moved with an upload: %v then %v", before, after)
		}
		env.Clock.Advance(time.Hour)
		renamed := alice.MustJSON("PATCH", "/api/v1/files/"+f["id"].(string), map[string]string{"filename": "b.txt"}, 200)
		want := env.Clock.Now().UTC().Format(time.RFC3339Nano)
		if renamed["updated_at"] != want {
			t.Errorf("updated_at after rename: got %v, want the clock's %s", renamed["updated_at"], want)
		}
		if renamed["created_at"] != f["created_at"] {
			t.Errorf("created_at changed with a rename")
		}
	})
}

func TestFilenameBidiControls(t *testing.T) {
	env := apitest.Start(t, apitest.Backends()[0], nil)
	alice := env.UserWithKey("alice")
	apitest.Problem(t, alice.Do("POST", "/api/v1/files?filename="+url.QueryEscape("invoice\u202Egpj.exe"), "x"), 400)
}

// TestDeclaredBodyNeverSent declares a body and sends none to routes that
// do not read it (one needs no account): the server, which reads past an
// unread body before it answers, gives up after the body timeout instead of
// holding the connection for ever.
func TestDeclaredBodyNeverSent(t *testing.T) {
	env := apitest.Start(t, apitest.Backends()[0], map[string]string{"SATCHEL_BODY_TIMEOUT": "1s"})
	alice := env.UserWithKey("alice")
	u, _ := url.Parse(env.URL)
	for _, tt := range []struct{ name, request, status string }{
		{"a method the route does not take", "POST /healthz HTTP/1.1\r\n", "405"},
		{"a route that reads no body", "GET /api/v1/me HTTP/1.1\r\nAuthorization: Bearer " + alice.Key + "\r\n", "200"},
		{"no account", "DELETE /api/v1/files/00000000-0000-0000-0000-000000000000 HTTP/1.1\r\n", "401"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			conn, err := net.Dial("tcp", u.Host)
			if err != nil {
				t.Fatal(err)
			}
			defer conn.Close()
			fmt.Fprintf(conn, "%sHost: %s\r\nContent-Length: 100000\r\n\r\n", tt.request, u.Host)
			conn.SetReadDeadline(time.Now().Add(30 * time.Second))
			reply, err := io.ReadAll(conn)
			if !strings.HasPrefix(string(reply), "HTTP/1.1 "+tt.status) {
				t.Errorf("reply: %q, %v; want %s and the connection closed", reply, err, tt.status)
			}
		})
	}
}
