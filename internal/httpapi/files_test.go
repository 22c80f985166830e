package httpapi_test

import (
	"bytes"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"mime/multipart"
	"net"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/satchelhq/satchel/internal/testutil/apitest"
)

func randomBytes(t *testing.T, n int) []byte {
	t.Helper()
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		t.Fatal(err)
	}
	return b
}

func sha(b []byte) string {
	s := sha256.Sum256(b)
	return hex.EncodeToString(s[:])
}

// blobFiles lists what the node's storage holds, temporary and partial
// files included.
func blobFiles(t *testing.T, env *apitest.Env) []string {
	t.Helper()
	return append(env.BlobKeys(t), env.Partials(t)...)
}

func fileRows(t *testing.T, env *apitest.Env) int {
	t.Helper()
	var n int
	if err := env.Node.Store.DB().QueryRow(`SELECT count(*) FROM files`).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

func storageUsed(t *testing.T, c *apitest.Client) int64 {
	t.Helper()
	return int64(c.MustJSON("GET", "/api/v1/me", nil, 200)["storage_used_bytes"].(float64))
}

// assertNothingKept checks that no file row, no blob and no reserved byte
// remains.
func assertNothingKept(t *testing.T, env *apitest.Env, c *apitest.Client) {
	t.Helper()
	if n := fileRows(t, env); n != 0 {
		t.Errorf("file rows left: %d", n)
	}
	if files := blobFiles(t, env); len(files) != 0 {
		t.Errorf("blob files left: %v", files)
	}
	if used := storageUsed(t, c); used != 0 {
		t.Errorf("storage_used_bytes: got %d, want 0", used)
	}
}

// eventually polls cond until it holds or a generous deadline passes: the
// server cleans up after a disconnect on its own schedule.
func eventually(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("gave up waiting: %s", what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func TestUploadAndDownload(t *testing.T) {
	apitest.ForEach(t, func(t *testing.T, b apitest.Backend) {
		env := apitest.Start(t, b, nil)
		alice := env.UserWithKey("alice")
		content := randomBytes(t, 100_000)
		f := alice.Upload("report 2026 ✓.pdf", content)
		if f["filename"] != "report 2026 ✓.pdf" || f["size_bytes"] != float64(len(content)) || f["sha256"] != sha(content) ||
			f["upload_status"] != "completed" || f["mime_type"] != "application/pdf" || f["has_thumbnail"] != false {
			t.Errorf("uploaded file: %v", f)
		}
		id := f["id"].(string)
		if got := alice.MustJSON("GET", "/api/v1/files/"+id, nil, 200); got["sha256"] != sha(content) {
			t.Errorf("GET file: %v", got)
		}
		if used := storageUsed(t, alice); used != int64(len(content)) {
			t.Errorf("storage_used_bytes: got %d, want %d", used, len(content))
		}

		resp := alice.Do("GET", "/api/v1/files/"+id+"/content", nil)
		if resp.Status != 200 || !bytes.Equal(resp.Body, content) {
			t.Fatalf("download: status %d, %d bytes", resp.Status, len(resp.Body))
		}
		h := resp.Header
		for name, want := range map[string]string{
			"ETag":                    `"` + sha(content) + `"`,
			"Accept-Ranges":           "bytes",
			"X-Content-Type-Options":  "nosniff",
			"Content-Security-Policy": "sandbox",
			"Content-Type":            "application/pdf",
			"Content-Length":          fmt.Sprint(len(content)),
			"Content-Disposition":     `attachment; filename="report 2026 _.pdf"; filename*=UTF-8''report%202026%20%E2%9C%93.pdf`,
		} {
			if got := h.Get(name); got != want {
				t.Errorf("%s: got %q, want %q", name, got, want)
			}
		}
		if _, err := http.ParseTime(h.Get("Last-Modified")); err != nil {
			t.Errorf("Last-Modified %q: %v", h.Get("Last-Modified"), err)
		}

		etag := h.Get("ETag")
		for _, tt := range []struct {
			name    string
			headers []string
			status  int
			body    []byte
			cr      string
		}{
			{"first bytes", []string{"Range", "bytes=0-99"}, 206, content[:100], "bytes 0-99/100000"},
			{"middle", []string{"Range", "bytes=500-1499"}, 206, content[500:1500], "bytes 500-1499/100000"},
			{"suffix", []string{"Range", "bytes=-100"}, 206, content[len(content)-100:], "bytes 99900-99999/100000"},
			{"open end", []string{"Range", "bytes=99990-"}, 206, content[99990:], "bytes 99990-99999/100000"},
			{"end clamped", []string{"Range", "bytes=99990-200000"}, 206, content[99990:], "bytes 99990-99999/100000"},
			{"if-range matches", []string{"Range", "bytes=0-9", "If-Range", etag}, 206, content[:10], "bytes 0-9/100000"},
			{"if-range stale", []string{"Range", "bytes=0-9", "If-Range", `"stale"`}, 200, content, ""},
			{"if-none-match", []string{"If-None-Match", etag}, 304, nil, ""},
			{"if-none-match other", []string{"If-None-Match", `"other"`}, 200, content, ""},
		} {
			t.Run(tt.name, func(t *testing.T) {
				resp := alice.Do("GET", "/api/v1/files/"+id+"/content", nil, tt.headers...)
				if resp.Status != tt.status {
					t.Fatalf("got status %d, want %d", resp.Status, tt.status)
				}
				if !bytes.Equal(resp.Body, tt.body) {
					t.Errorf("got %d bytes, want %d", len(resp.Body), len(tt.body))
				}
				if got := resp.Header.Get("Content-Range"); got != tt.cr {
					t.Errorf("Content-Range: got %q, want %q", got, tt.cr)
				}
			})
		}
		p := apitest.Problem(t, alice.Do("GET", "/api/v1/files/"+id+"/content", nil, "Range", "bytes=100000-100010"), 416)
		if p["detail"] == "" {
			t.Errorf("416 problem has no detail")
		}

		head := alice.Do("HEAD", "/api/v1/files/"+id+"/content", nil)
		if head.Status != 200 || len(head.Body) != 0 || head.Header.Get("Content-Length") != fmt.Sprint(len(content)) || head.Header.Get("ETag") != etag {
			t.Errorf("HEAD: status %d, body %d bytes, headers %v", head.Status, len(head.Body), head.Header)
		}
	})
}

func TestUploadForms(t *testing.T) {
	apitest.ForEach(t, func(t *testing.T, b apitest.Backend) {
		env := apitest.Start(t, b, nil)
		alice := env.UserWithKey("alice")
		png := append([]byte("\x89PNG\r\n\x1a\n"), randomBytes(t, 600)...)

		t.Run("multipart", func(t *testing.T) {
			var body bytes.Buffer
			mw := multipart.NewWriter(&body)
			_ = mw.WriteField("comment", "ignored")
			part, _ := mw.CreateFormFile("file", "holiday.png")
			part.Write(png)
			mw.Close()
			resp := alice.Do("POST", "/api/v1/files", body.Bytes(), "Content-Type", mw.FormDataContentType())
			if resp.Status != 201 {
				t.Fatalf("multipart upload: got %d: %s", resp.Status, resp.Body)
			}
			f := resp.JSON(t)
			if f["filename"] != "holiday.png" || f["sha256"] != sha(png) || f["size_bytes"] != float64(len(png)) {
				t.Errorf("multipart upload: %v", f)
			}
		})
		t.Run("multipart without file part", func(t *testing.T) {
			var body bytes.Buffer
			mw := multipart.NewWriter(&body)
			_ = mw.WriteField("other", "x")
			mw.Close()
			resp := alice.Do("POST", "/api/v1/files?filename=x.bin", body.Bytes(), "Content-Type", mw.FormDataContentType())
			apitest.Problem(t, resp, 400)
		})
		// A second file would be lost without a word: the upload is refused
		// whole and leaves nothing, whichever part comes first.
		for _, tt := range []struct{ name, first, second string }{
			{"two file parts", "file", "file"},
			{"a file under another name after", "file", "attachment"},
			{"a file under another name before", "attachment", "file"},
		} {
			t.Run(tt.name, func(t *testing.T) {
				rows, blobs := fileRows(t, env), len(blobFiles(t, env))
				var body bytes.Buffer
				mw := multipart.NewWriter(&body)
				for _, field := range []string{tt.first, tt.second} {
					part, _ := mw.CreateFormFile(field, field+".bin")
					part.Write(randomBytes(t, 100<<10))
				}
				mw.Close()
				before := storageUsed(t, alice)
				p := apitest.Problem(t, alice.Do("POST", "/api/v1/files", body.Bytes(), "Content-Type", mw.FormDataContentType()), 400)
				if !strings.Contains(fmt.Sprint(p["detail"]), "one file per request") {
					t.Errorf("detail: %v", p["detail"])
				}
				if fileRows(t, env) != rows || len(blobFiles(t, env)) != blobs || storageUsed(t, alice) != before {
					t.Errorf("a refused upload left rows %d→%d, blobs %d→%d, used %d→%d", rows, fileRows(t, env),
						blobs, len(blobFiles(t, env)), before, storageUsed(t, alice))
				}
			})
		}
		// A browser sends an empty part for a file input left empty: that is
		// no second file. Fields, before or after the file, are limited to 16.
		t.Run("an empty file input and fields", func(t *testing.T) {
			var body bytes.Buffer
			mw := multipart.NewWriter(&body)
			for i := range 8 {
				_ = mw.WriteField(fmt.Sprint("before", i), "x")
			}
			part, _ := mw.CreateFormFile("file", "kept.bin")
			part.Write(png)
			mw.CreateFormFile("file", "")
			for i := range 7 {
				_ = mw.WriteField(fmt.Sprint("after", i), "x")
			}
			mw.Close()
			resp := alice.Do("POST", "/api/v1/files", body.Bytes(), "Content-Type", mw.FormDataContentType())
			if resp.Status != 201 || resp.JSON(t)["sha256"] != sha(png) {
				t.Fatalf("upload with an empty file input: %d %s", resp.Status, resp.Body)
			}
			body.Reset()
			mw = multipart.NewWriter(&body)
			part, _ = mw.CreateFormFile("file", "kept.bin")
			part.Write(png)
			for i := range 17 {
				_ = mw.WriteField(fmt.Sprint("after", i), "x")
			}
			mw.Close()
			apitest.Problem(t, alice.Do("POST", "/api/v1/files", body.Bytes(), "Content-Type", mw.FormDataContentType()), 400)
		})
		for _, tt := range []struct {
			name, filename, contentType string
			body                        []byte
			want                        string
		}{
			{"declared type wins", "notes.txt", "text/markdown", []byte("# hi"), "text/markdown"},
			{"curl's form default falls back to the extension", "photo.png", "application/x-www-form-urlencoded", png, "image/png"},
			{"octet-stream falls back to the extension", "doc.pdf", "application/octet-stream", []byte("%PDF-1.4"), "application/pdf"},
			{"no extension: sniffed", "blob", "", png, "image/png"},
			{"nothing known", "data", "", []byte{0, 1, 2, 3}, "application/octet-stream"},
		} {
			t.Run(tt.name, func(t *testing.T) {
				var headers []string
				if tt.contentType != "" {
					headers = []string{"Content-Type", tt.contentType}
				}
				resp := alice.Do("POST", "/api/v1/files?filename="+url.QueryEscape(tt.filename), tt.body, headers...)
				if resp.Status != 201 {
					t.Fatalf("got %d: %s", resp.Status, resp.Body)
				}
				if got := resp.JSON(t)["mime_type"]; got != tt.want {
					t.Errorf("mime_type: got %v, want %s", got, tt.want)
				}
			})
		}
		t.Run("html is served inert", func(t *testing.T) {
			resp := alice.Do("POST", "/api/v1/files?filename=evil.html", "<script>alert(1)</script>", "Content-Type", "text/html")
			id := resp.JSON(t)["id"].(string)
			got := alice.Do("GET", "/api/v1/files/"+id+"/content", nil)
			if !strings.HasPrefix(got.Header.Get("Content-Disposition"), "attachment;") ||
				got.Header.Get("Content-Security-Policy") != "sandbox" || got.Header.Get("X-Content-Type-Options") != "nosniff" {
				t.Errorf("html served with %v", got.Header)
			}
		})
	})
}

func TestFilenames(t *testing.T) {
	apitest.ForEach(t, func(t *testing.T, b apitest.Backend) {
		env := apitest.Start(t, b, nil)
		alice := env.UserWithKey("alice")
		for _, tt := range []struct {
			name, filename string
			status         int
		}{
			{"missing", "", 400},
			{"too long", strings.Repeat("é", 256), 400},
			{"longest", strings.Repeat("é", 255), 201},
			{"control character", "a\x07b", 400},
			{"newline", "a\nb.txt", 400},
			{"blank", "   ", 400},
			{"path-like text stays text", "../../etc/passwd", 201},
		} {
			t.Run(tt.name, func(t *testing.T) {
				resp := alice.Do("POST", "/api/v1/files?filename="+url.QueryEscape(tt.filename), "x")
				if resp.Status != tt.status {
					t.Fatalf("got %d, want %d: %s", resp.Status, tt.status, resp.Body)
				}
				if tt.status != 201 {
					apitest.Problem(t, resp, tt.status)
					return
				}
				if got := resp.JSON(t)["filename"]; got != tt.filename {
					t.Errorf("filename: got %q, want %q", got, tt.filename)
				}
			})
		}
		for _, key := range blobFiles(t, env) {
			if strings.Contains(key, "passwd") || strings.Contains(key, "..") || strings.Count(key, "/") > 1 {
				t.Errorf("blob key %q comes from user input", key)
			}
		}
	})
}

func TestListRenameDelete(t *testing.T) {
	apitest.ForEach(t, func(t *testing.T, b apitest.Backend) {
		env := apitest.Start(t, b, nil)
		alice := env.UserWithKey("alice")
		bob := env.UserWithKey("bob")
		var ids []string
		for i := range 7 {
			if i >= 4 {
				env.Clock.Advance(time.Second) // some share a timestamp, some do not
			}
			ids = append(ids, alice.Upload(fmt.Sprintf("f%d.txt", i), []byte(fmt.Sprintf("content %d", i)))["id"].(string))
		}
		bob.Upload("bob.txt", []byte("bob's"))

		// Newest first, in pages, each file exactly once.
		var seen []string
		cursor := ""
		for pages := 0; ; pages++ {
			path := "/api/v1/files?limit=3"
			if cursor != "" {
				path += "&cursor=" + url.QueryEscape(cursor)
			}
			page := alice.MustJSON("GET", path, nil, 200)
			for _, it := range page["items"].([]any) {
				seen = append(seen, it.(map[string]any)["id"].(string))
			}
			next, ok := page["next_cursor"]
			if !ok {
				t.Fatalf("page has no next_cursor member")
			}
			if next == nil {
				break
			}
			cursor = next.(string)
			if pages > 5 {
				t.Fatalf("pagination does not end")
			}
		}
		if len(seen) != 7 {
			t.Fatalf("listed %d files, want 7: %v", len(seen), seen)
		}
		for i := 0; i < 3; i++ { // the last three have distinct, increasing times
			if seen[i] != ids[6-i] {
				t.Errorf("position %d: got %s, want %s", i, seen[i], ids[6-i])
			}
		}
		uniq := map[string]bool{}
		for _, id := range seen {
			uniq[id] = true
		}
		if len(uniq) != 7 {
			t.Errorf("a file was listed twice: %v", seen)
		}
		for _, q := range []string{"limit=0", "limit=1001", "limit=abc", "cursor=nonsense", "cursor=" + url.QueryEscape("MTIz")} {
			apitest.Problem(t, alice.Do("GET", "/api/v1/files?"+q, nil), 400)
		}
		if items := bob.MustJSON("GET", "/api/v1/files", nil, 200)["items"].([]any); len(items) != 1 {
			t.Errorf("bob sees %d files, want 1", len(items))
		}

		// Rename.
		id := ids[0]
		f := alice.MustJSON("PATCH", "/api/v1/files/"+id, map[string]string{"filename": "renamed.txt"}, 200)
		if f["filename"] != "renamed.txt" {
			t.Errorf("rename: %v", f)
		}
		apitest.Problem(t, alice.Do("PATCH", "/api/v1/files/"+id, map[string]string{"filename": ""}), 400)
		apitest.Problem(t, alice.Do("PATCH", "/api/v1/files/"+id, map[string]any{}), 400)
		apitest.Problem(t, alice.Do("PATCH", "/api/v1/files/"+id, map[string]any{"filename": "x", "size_bytes": 1}), 400)

		// Another user's file, or no file, is 404 everywhere.
		for _, path := range []string{"/api/v1/files/" + id, "/api/v1/files/" + id + "/content", "/api/v1/files/" + id + "/thumbnail"} {
			apitest.Problem(t, bob.Do("GET", path, nil), 404)
		}
		apitest.Problem(t, bob.Do("PATCH", "/api/v1/files/"+id, map[string]string{"filename": "mine"}), 404)
		apitest.Problem(t, bob.Do("DELETE", "/api/v1/files/"+id, nil), 404)
		apitest.Problem(t, alice.Do("GET", "/api/v1/files/00000000-0000-0000-0000-000000000000", nil), 404)
		apitest.Problem(t, alice.Do("GET", "/api/v1/files/not-an-id", nil), 404)
		apitest.Problem(t, alice.Do("GET", "/api/v1/files/"+id+"/thumbnail", nil), 404)
		if got := alice.MustJSON("GET", "/api/v1/files/"+id, nil, 200)["filename"]; got != "renamed.txt" {
			t.Errorf("bob's rename changed the file: %v", got)
		}

		// Delete takes row, blob and bytes.
		before := len(blobFiles(t, env))
		usedBefore := storageUsed(t, alice)
		if resp := alice.Do("DELETE", "/api/v1/files/"+id, nil); resp.Status != 204 {
			t.Fatalf("delete: %d %s", resp.Status, resp.Body)
		}
		apitest.Problem(t, alice.Do("GET", "/api/v1/files/"+id, nil), 404)
		apitest.Problem(t, alice.Do("DELETE", "/api/v1/files/"+id, nil), 404)
		if after := len(blobFiles(t, env)); after != before-1 {
			t.Errorf("blobs after delete: got %d, want %d", after, before-1)
		}
		if got := storageUsed(t, alice); got != usedBefore-int64(len("content 0")) {
			t.Errorf("storage after delete: got %d, want %d", got, usedBefore-int64(len("content 0")))
		}
	})
}

func TestSizeLimit(t *testing.T) {
	apitest.ForEach(t, func(t *testing.T, b apitest.Backend) {
		env := apitest.Start(t, b, map[string]string{"SATCHEL_MAX_FILE_SIZE": "1KiB"})
		alice := env.UserWithKey("alice")
		alice.Upload("exact.bin", randomBytes(t, 1024))
		alice.MustJSON("DELETE", "/api/v1/files/"+alice.MustJSON("GET", "/api/v1/files", nil, 200)["items"].([]any)[0].(map[string]any)["id"].(string), nil, 204)

		apitest.Problem(t, alice.Do("POST", "/api/v1/files?filename=big.bin", randomBytes(t, 1025)), 413)
		assertNothingKept(t, env, alice)

		// Without a Content-Length the count stops it.
		req := alice.Request("POST", "/api/v1/files?filename=big.bin", io.MultiReader(bytes.NewReader(randomBytes(t, 4096))))
		req.ContentLength = -1
		apitest.Problem(t, alice.Send(req), 413)
		assertNothingKept(t, env, alice)
	})
}

func TestQuota(t *testing.T) {
	apitest.ForEach(t, func(t *testing.T, b apitest.Backend) {
		env := apitest.Start(t, b, map[string]string{"SATCHEL_USER_QUOTA": "100KiB"})
		alice := env.UserWithKey("alice")
		if q := alice.MustJSON("GET", "/api/v1/me", nil, 200)["storage_quota_bytes"]; q != float64(100<<10) {
			t.Errorf("storage_quota_bytes: got %v", q)
		}
		apitest.Problem(t, alice.Do("POST", "/api/v1/files?filename=big.bin", randomBytes(t, 100<<10+1)), 507)
		assertNothingKept(t, env, alice)

		// Chunked: the count passes the quota part way.
		req := alice.Request("POST", "/api/v1/files?filename=big.bin", io.MultiReader(bytes.NewReader(randomBytes(t, 150<<10))))
		req.ContentLength = -1
		apitest.Problem(t, alice.Send(req), 507)
		assertNothingKept(t, env, alice)

		// Chunked and within the quota: the reservation settles on the real size.
		req = alice.Request("POST", "/api/v1/files?filename=fits.bin", io.MultiReader(bytes.NewReader(randomBytes(t, 60<<10))))
		req.ContentLength = -1
		if resp := alice.Send(req); resp.Status != 201 {
			t.Fatalf("chunked upload within quota: %d %s", resp.Status, resp.Body)
		}
		if used := storageUsed(t, alice); used != 60<<10 {
			t.Errorf("storage_used_bytes: got %d, want %d", used, 60<<10)
		}
		apitest.Problem(t, alice.Do("POST", "/api/v1/files?filename=more.bin", randomBytes(t, 41<<10)), 507)
		alice.Upload("rest.bin", randomBytes(t, 40<<10))
		if used := storageUsed(t, alice); used != 100<<10 {
			t.Errorf("storage_used_bytes: got %d, want %d", used, 100<<10)
		}
		// Another user has a quota of their own.
		env.UserWithKey("bob").Upload("b.bin", randomBytes(t, 100<<10))
	})
}

func TestQuotaRace(t *testing.T) {
	apitest.ForEach(t, func(t *testing.T, b apitest.Backend) {
		env := apitest.Start(t, b, map[string]string{"SATCHEL_USER_QUOTA": "1MiB"})
		alice := env.UserWithKey("alice")
		const size = 300 << 10
		for _, chunked := range []bool{false, true} {
			t.Run(fmt.Sprintf("chunked=%v", chunked), func(t *testing.T) {
				var (
					wg       sync.WaitGroup
					mu       sync.Mutex
					statuses = map[int]int{}
				)
				for i := range 8 {
					wg.Add(1)
					go func() {
						defer wg.Done()
						var body io.Reader = bytes.NewReader(randomBytes(t, size))
						if chunked {
							body = io.MultiReader(body)
						}
						req := alice.Request("POST", fmt.Sprintf("/api/v1/files?filename=f%d.bin", i), body)
						if chunked {
							req.ContentLength = -1
						}
						resp, err := alice.HTTP.Do(req)
						if err != nil {
							t.Error(err)
							return
						}
						io.Copy(io.Discard, resp.Body)
						resp.Body.Close()
						mu.Lock()
						statuses[resp.StatusCode]++
						mu.Unlock()
					}()
				}
				wg.Wait()
				if statuses[201] > 3 || statuses[201]+statuses[507] != 8 || statuses[201] == 0 {
					t.Errorf("statuses: %v (at most 3 of 8 fit in the quota)", statuses)
				}
				files := alice.MustJSON("GET", "/api/v1/files", nil, 200)["items"].([]any)
				if used := storageUsed(t, alice); used != int64(len(files))*size || used > 1<<20 {
					t.Errorf("storage_used_bytes %d for %d files of %d bytes", used, len(files), size)
				}
				if n := len(blobFiles(t, env)); n != len(files) {
					t.Errorf("%d blobs for %d files", n, len(files))
				}
				for _, f := range files {
					alice.MustJSON("DELETE", "/api/v1/files/"+f.(map[string]any)["id"].(string), nil, 204)
				}
				assertNothingKept(t, env, alice)
			})
		}
	})
}

// TestDisconnectMidUpload cuts the connection half way through a body and
// checks that the server keeps nothing of it.
func TestDisconnectMidUpload(t *testing.T) {
	apitest.ForEach(t, func(t *testing.T, b apitest.Backend) {
		for _, tt := range []struct {
			name  string
			quota string
			head  string
		}{
			{"content-length", "", "Content-Length: 1048576\r\n"},
			{"chunked with quota", "10MiB", "Transfer-Encoding: chunked\r\n"},
		} {
			t.Run(tt.name, func(t *testing.T) {
				settings := map[string]string{}
				if tt.quota != "" {
					settings["SATCHEL_USER_QUOTA"] = tt.quota
				}
				env := apitest.Start(t, b, settings)
				alice := env.UserWithKey("alice")
				u, _ := url.Parse(env.URL)
				conn, err := net.Dial("tcp", u.Host)
				if err != nil {
					t.Fatal(err)
				}
				fmt.Fprintf(conn, "POST /api/v1/files?filename=cut.bin HTTP/1.1\r\nHost: %s\r\nAuthorization: Bearer %s\r\n%s\r\n", u.Host, alice.Key, tt.head)
				half := randomBytes(t, 512<<10)
				if strings.HasPrefix(tt.head, "Transfer") {
					fmt.Fprintf(conn, "%x\r\n", len(half))
				}
				conn.Write(half)
				// Wait until the server holds the upload in flight, then hang up.
				eventually(t, "the upload to start", func() bool { return fileRows(t, env) == 1 })
				conn.Close()
				eventually(t, "the cut-off upload to be cleaned up", func() bool {
					return fileRows(t, env) == 0 && len(blobFiles(t, env)) == 0
				})
				assertNothingKept(t, env, alice)
			})
		}
	})
}
