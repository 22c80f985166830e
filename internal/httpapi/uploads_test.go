package httpapi_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/base64"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/satchelhq/satchel/internal/blob/disk"
	"github.com/satchelhq/satchel/internal/testutil/apitest"
)

const MiB = 1 << 20

// newUpload starts an upload of content with 5 MiB chunks.
func newUpload(t *testing.T, c *apitest.Client, name string, content []byte, extra map[string]any) map[string]any {
	t.Helper()
	body := map[string]any{"file_name": name, "total_size": len(content), "chunk_size": 5 * MiB}
	for k, v := range extra {
		body[k] = v
	}
	return c.MustJSON("POST", "/api/v1/uploads", body, 201)
}

func chunkOf(content []byte, index int) []byte {
	start := index * 5 * MiB
	return content[start:min(start+5*MiB, len(content))]
}

func putChunk(c *apitest.Client, id string, index int, data []byte, headers ...string) *apitest.Response {
	return c.Do("PUT", fmt.Sprintf("/api/v1/uploads/%s/chunks/%d", id, index), data, headers...)
}

func digestHeader(b []byte) string {
	s := sha256.Sum256(b)
	return "sha-256=:" + base64.StdEncoding.EncodeToString(s[:]) + ":"
}

func received(t *testing.T, c *apitest.Client, id string) []int {
	t.Helper()
	u := c.MustJSON("GET", "/api/v1/uploads/"+id, nil, 200)
	var out []int
	for _, r := range u["received"].([]any) {
		out = append(out, int(r.(float64)))
	}
	if int(u["uploaded_chunks"].(float64)) != len(out) {
		t.Errorf("uploaded_chunks %v but %d received", u["uploaded_chunks"], len(out))
	}
	return out
}

// partials lists the blobs being assembled (partial files or multipart
// uploads).
func partials(t *testing.T, env *apitest.Env) []string {
	t.Helper()
	return env.Partials(t)
}

func hashedChunks(t *testing.T, env *apitest.Env, id string) int {
	t.Helper()
	var n int
	if err := env.Node.Store.DB().QueryRow(`SELECT hashed_chunks FROM upload_sessions WHERE id = $1`, id).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

func TestResumableUploadParallel(t *testing.T) {
	apitest.ForEach(t, func(t *testing.T, b apitest.Backend) {
		env := apitest.Start(t, b, nil)
		alice := env.UserWithKey("alice")
		content := randomBytes(t, 15*MiB+1234)
		u := newUpload(t, alice, "video.mp4", content, nil)
		id := u["id"].(string)
		if u["total_chunks"] != float64(4) || u["chunk_size"] != float64(5*MiB) || u["uploaded_chunks"] != float64(0) ||
			u["status"] != "in_progress" || u["file_id"] != nil || len(u["received"].([]any)) != 0 || u["expires_at"] == nil {
			t.Errorf("new upload: %v", u)
		}
		if used := storageUsed(t, alice); used != int64(len(content)) {
			t.Errorf("storage_used_bytes after create: %d, want the reservation %d", used, len(content))
		}
		var wg sync.WaitGroup
		for i := range 4 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				resp := putChunk(alice, id, i, chunkOf(content, i), "Content-Digest", digestHeader(chunkOf(content, i)))
				if resp.Status != 200 {
					t.Errorf("chunk %d: %d %s", i, resp.Status, resp.Body)
					return
				}
				got := resp.JSON(t)
				if got["index"] != float64(i) || got["size"] != float64(len(chunkOf(content, i))) || got["sha256"] != sha(chunkOf(content, i)) {
					t.Errorf("chunk %d receipt: %v", i, got)
				}
			}()
		}
		wg.Wait()
		if got := received(t, alice, id); fmt.Sprint(got) != "[0 1 2 3]" {
			t.Errorf("received: %v", got)
		}
		f := alice.MustJSON("POST", "/api/v1/uploads/"+id+"/complete", nil, 200)
		if f["sha256"] != sha(content) || f["size_bytes"] != float64(len(content)) || f["filename"] != "video.mp4" ||
			f["mime_type"] != "video/mp4" || f["upload_status"] != "completed" {
			t.Errorf("completed file: %v", f)
		}
		dl := alice.Do("GET", "/api/v1/files/"+f["id"].(string)+"/content", nil)
		if !bytes.Equal(dl.Body, content) {
			t.Errorf("downloaded content differs (%d bytes)", len(dl.Body))
		}
		after := alice.MustJSON("GET", "/api/v1/uploads/"+id, nil, 200)
		if after["status"] != "completed" || after["file_id"] != f["id"] {
			t.Errorf("upload after completion: %v", after)
		}
		if used := storageUsed(t, alice); used != int64(len(content)) {
			t.Errorf("storage_used_bytes after completion: %d", used)
		}
		if p := partials(t, env); len(p) != 0 {
			t.Errorf("partial blobs left: %v", p)
		}
		// Completing again is idempotent.
		if again := alice.MustJSON("POST", "/api/v1/uploads/"+id+"/complete", nil, 200); again["id"] != f["id"] {
			t.Errorf("second complete made another file: %v", again)
		}
		apitest.Problem(t, putChunk(alice, id, 0, chunkOf(content, 0)), 409)
		for name, want := range map[string]float64{
			"satchel_resumable_uploads_started_total":    1,
			"satchel_resumable_uploads_completed_total":  1,
			"satchel_resumable_upload_chunk_bytes_total": float64(len(content)),
		} {
			if got := metricValue(t, env, name); got != want {
				t.Errorf("%s: got %v, want %v", name, got, want)
			}
		}
	})
}

func TestResumableChunkRules(t *testing.T) {
	apitest.ForEach(t, func(t *testing.T, b apitest.Backend) {
		env := apitest.Start(t, b, nil)
		alice := env.UserWithKey("alice")
		content := randomBytes(t, 10*MiB+100)
		id := newUpload(t, alice, "data.bin", content, nil)["id"].(string)
		first := chunkOf(content, 0)
		if resp := putChunk(alice, id, 0, first); resp.Status != 200 {
			t.Fatalf("chunk 0: %d %s", resp.Status, resp.Body)
		}
		chunked := func(data []byte) io.Reader { return io.MultiReader(bytes.NewReader(data)) }
		for _, tt := range []struct {
			name    string
			index   string
			body    io.Reader
			headers []string
			status  int
		}{
			{"short", "1", bytes.NewReader(first[:100]), nil, 400},
			{"long", "1", bytes.NewReader(append(append([]byte{}, first...), 'x')), nil, 400},
			{"empty", "1", bytes.NewReader(nil), nil, 400},
			{"short, chunked", "1", chunked(first[:100]), nil, 400},
			{"long, chunked", "1", chunked(append(append([]byte{}, first...), 'x')), nil, 400},
			{"last chunk full size", "2", bytes.NewReader(first), nil, 400},
			{"index past the end", "3", bytes.NewReader(content[10*MiB:]), nil, 400},
			{"negative index", "-1", bytes.NewReader(first), nil, 400},
			{"index not a number", "one", bytes.NewReader(first), nil, 400},
			{"wrong digest", "1", bytes.NewReader(chunkOf(content, 1)), []string{"Content-Digest", digestHeader(first)}, 422},
			{"malformed digest", "1", bytes.NewReader(chunkOf(content, 1)), []string{"Content-Digest", "sha-256=abc"}, 400},
			{"resend with other content", "0", bytes.NewReader(chunkOf(content, 1)), nil, 409},
		} {
			t.Run(tt.name, func(t *testing.T) {
				req := alice.Request("PUT", "/api/v1/uploads/"+id+"/chunks/"+tt.index, tt.body, tt.headers...)
				if _, ok := tt.body.(*bytes.Reader); !ok {
					req.ContentLength = -1
				}
				apitest.Problem(t, alice.Send(req), tt.status)
				if got := received(t, alice, id); fmt.Sprint(got) != "[0]" {
					t.Errorf("received after a refused chunk: %v", got)
				}
			})
		}
		// The refused writes did not damage chunk 0, and resending it is safe.
		if resp := putChunk(alice, id, 0, first, "Content-Digest", digestHeader(first)); resp.Status != 200 {
			t.Fatalf("resend chunk 0: %d %s", resp.Status, resp.Body)
		}
		for i := 1; i < 3; i++ {
			if resp := putChunk(alice, id, i, chunkOf(content, i)); resp.Status != 200 {
				t.Fatalf("chunk %d: %d %s", i, resp.Status, resp.Body)
			}
		}
		if got := received(t, alice, id); fmt.Sprint(got) != "[0 1 2]" {
			t.Errorf("received: %v", got)
		}
		f := alice.MustJSON("POST", "/api/v1/uploads/"+id+"/complete", nil, 200)
		if f["sha256"] != sha(content) {
			t.Errorf("sha256 %v, want %s", f["sha256"], sha(content))
		}
	})
}

func TestResumableCompleteRules(t *testing.T) {
	apitest.ForEach(t, func(t *testing.T, b apitest.Backend) {
		env := apitest.Start(t, b, nil)
		alice := env.UserWithKey("alice")
		content := randomBytes(t, 20*MiB+7)

		t.Run("gaps", func(t *testing.T) {
			id := newUpload(t, alice, "gaps.bin", content, nil)["id"].(string)
			putChunk(alice, id, 1, chunkOf(content, 1))
			putChunk(alice, id, 3, chunkOf(content, 3))
			p := apitest.Problem(t, alice.Do("POST", "/api/v1/uploads/"+id+"/complete", nil), 409)
			if fmt.Sprint(p["missing"]) != "[0 2 4]" {
				t.Errorf("missing: %v", p["missing"])
			}
			alice.MustJSON("DELETE", "/api/v1/uploads/"+id, nil, 204)
		})

		t.Run("declared sha256 mismatch", func(t *testing.T) {
			before := storageUsed(t, alice)
			id := newUpload(t, alice, "bad.bin", content, map[string]any{"sha256": sha([]byte("something else"))})["id"].(string)
			for i := range 5 {
				putChunk(alice, id, i, chunkOf(content, i))
			}
			p := apitest.Problem(t, alice.Do("POST", "/api/v1/uploads/"+id+"/complete", nil), 422)
			if !strings.Contains(p["detail"].(string), sha(content)) {
				t.Errorf("detail does not give the actual sha256: %v", p["detail"])
			}
			if got := alice.MustJSON("GET", "/api/v1/uploads/"+id, nil, 200)["status"]; got != "failed" {
				t.Errorf("status after mismatch: %v", got)
			}
			apitest.Problem(t, alice.Do("POST", "/api/v1/uploads/"+id+"/complete", nil), 422)
			if used := storageUsed(t, alice); used != before {
				t.Errorf("storage_used_bytes after a failed upload: %d, want %d", used, before)
			}
			if p := partials(t, env); len(p) != 0 {
				t.Errorf("partial blobs left: %v", p)
			}
			if files := blobFiles(t, env); len(files) != 0 {
				t.Errorf("blobs left: %v", files)
			}
		})

		t.Run("declared sha256 match, out of order", func(t *testing.T) {
			id := newUpload(t, alice, "good.bin", content, map[string]any{"sha256": strings.ToUpper(sha(content))})["id"].(string)
			for _, i := range []int{4, 2, 0, 3, 1} {
				if resp := putChunk(alice, id, i, chunkOf(content, i)); resp.Status != 200 {
					t.Fatalf("chunk %d: %d", i, resp.Status)
				}
			}
			// Chunks read back on the local disk keep the hash up to date:
			// completion has nothing left to read. S3 cannot read parts
			// before completion: there the remainder is read once then.
			if n := hashedChunks(t, env, id); b.Storage == "disk" && n != 5 {
				t.Errorf("hashed_chunks before complete: %d, want 5", n)
			}
			f := alice.MustJSON("POST", "/api/v1/uploads/"+id+"/complete", nil, 200)
			if f["sha256"] != sha(content) {
				t.Errorf("sha256: %v", f["sha256"])
			}
			alice.MustJSON("DELETE", "/api/v1/files/"+f["id"].(string), nil, 204)
		})

		t.Run("in order, the prefix is hashed as chunks arrive", func(t *testing.T) {
			id := newUpload(t, alice, "seq.bin", content, nil)["id"].(string)
			for i := range 5 {
				putChunk(alice, id, i, chunkOf(content, i))
				if n := hashedChunks(t, env, id); n != i+1 {
					t.Errorf("after chunk %d: hashed_chunks %d", i, n)
				}
			}
			f := alice.MustJSON("POST", "/api/v1/uploads/"+id+"/complete", nil, 200)
			if f["sha256"] != sha(content) {
				t.Errorf("sha256: %v", f["sha256"])
			}
			alice.MustJSON("DELETE", "/api/v1/files/"+f["id"].(string), nil, 204)
		})

		t.Run("concurrent complete makes one file", func(t *testing.T) {
			id := newUpload(t, alice, "race.bin", content, nil)["id"].(string)
			for _, i := range []int{1, 2, 3, 4, 0} {
				putChunk(alice, id, i, chunkOf(content, i))
			}
			var (
				wg  sync.WaitGroup
				mu  sync.Mutex
				ids = map[string]int{}
			)
			for range 8 {
				wg.Add(1)
				go func() {
					defer wg.Done()
					resp := alice.Do("POST", "/api/v1/uploads/"+id+"/complete", nil)
					mu.Lock()
					defer mu.Unlock()
					if resp.Status != 200 {
						t.Errorf("complete: %d %s", resp.Status, resp.Body)
						return
					}
					ids[resp.JSON(t)["id"].(string)]++
				}()
			}
			wg.Wait()
			if len(ids) != 1 {
				t.Errorf("concurrent completes made %d files: %v", len(ids), ids)
			}
			var n int
			env.Node.Store.DB().QueryRow(`SELECT count(*) FROM files WHERE filename = 'race.bin'`).Scan(&n)
			if n != 1 {
				t.Errorf("file rows: %d", n)
			}
		})

		t.Run("empty file", func(t *testing.T) {
			u := alice.MustJSON("POST", "/api/v1/uploads", map[string]any{"file_name": "empty.txt", "total_size": 0}, 201)
			if u["total_chunks"] != float64(0) {
				t.Errorf("total_chunks of an empty file: %v", u["total_chunks"])
			}
			f := alice.MustJSON("POST", "/api/v1/uploads/"+u["id"].(string)+"/complete", nil, 200)
			if f["size_bytes"] != float64(0) || f["sha256"] != sha(nil) {
				t.Errorf("empty file: %v", f)
			}
		})
	})
}

func TestResumableCreateRules(t *testing.T) {
	apitest.ForEach(t, func(t *testing.T, b apitest.Backend) {
		env := apitest.Start(t, b, map[string]string{"SATCHEL_MAX_FILE_SIZE": "100MiB", "SATCHEL_USER_QUOTA": "30MiB"})
		alice := env.UserWithKey("alice")
		for _, tt := range []struct {
			name   string
			body   map[string]any
			status int
		}{
			{"no total_size", map[string]any{"file_name": "a"}, 400},
			{"negative size", map[string]any{"file_name": "a", "total_size": -1}, 400},
			{"no name", map[string]any{"total_size": 10}, 400},
			{"bad sha256", map[string]any{"file_name": "a", "total_size": 10, "sha256": "xyz"}, 400},
			{"bad mime type", map[string]any{"file_name": "a", "total_size": 10, "mime_type": "nonsense"}, 400},
			{"negative chunk size", map[string]any{"file_name": "a", "total_size": 10, "chunk_size": -5}, 400},
			{"unknown field", map[string]any{"file_name": "a", "total_size": 10, "parts": 3}, 400},
			{"over the size limit", map[string]any{"file_name": "a", "total_size": 100*MiB + 1}, 413},
			{"over the quota", map[string]any{"file_name": "a", "total_size": 30*MiB + 1}, 507},
		} {
			t.Run(tt.name, func(t *testing.T) {
				apitest.Problem(t, alice.Do("POST", "/api/v1/uploads", tt.body), tt.status)
			})
		}
		if used := storageUsed(t, alice); used != 0 {
			t.Errorf("refused uploads reserved %d bytes", used)
		}
		if p := partials(t, env); len(p) != 0 {
			t.Errorf("refused uploads left partial blobs: %v", p)
		}
		for _, tt := range []struct {
			requested, total int64
			want             float64
		}{{0, 20 * MiB, 8 * MiB}, {MiB, 20 * MiB, 5 * MiB}, {128 * MiB, 20 * MiB, 64 * MiB}} {
			u := alice.MustJSON("POST", "/api/v1/uploads", map[string]any{"file_name": "x", "total_size": tt.total, "chunk_size": tt.requested}, 201)
			if u["chunk_size"] != tt.want {
				t.Errorf("asked for chunks of %d: got %v, want %v", tt.requested, u["chunk_size"], tt.want)
			}
			alice.MustJSON("DELETE", "/api/v1/uploads/"+u["id"].(string), nil, 204)
		}

		// A session's reservation counts against the quota until it ends.
		u := alice.MustJSON("POST", "/api/v1/uploads", map[string]any{"file_name": "big", "total_size": 25 * MiB}, 201)
		apitest.Problem(t, alice.Do("POST", "/api/v1/files?filename=small.bin", randomBytes(t, 6*MiB)), 507)
		apitest.Problem(t, alice.Do("POST", "/api/v1/uploads", map[string]any{"file_name": "b", "total_size": 6 * MiB}), 507)
		alice.MustJSON("DELETE", "/api/v1/uploads/"+u["id"].(string), nil, 204)
		alice.Upload("small.bin", randomBytes(t, 6*MiB))
	})
}

func TestResumableAbortAndOwnership(t *testing.T) {
	apitest.ForEach(t, func(t *testing.T, b apitest.Backend) {
		env := apitest.Start(t, b, nil)
		alice, bob := env.UserWithKey("alice"), env.UserWithKey("bob")
		content := randomBytes(t, 6*MiB)
		id := newUpload(t, alice, "mine.bin", content, nil)["id"].(string)
		putChunk(alice, id, 0, chunkOf(content, 0))

		apitest.Problem(t, bob.Do("GET", "/api/v1/uploads/"+id, nil), 404)
		apitest.Problem(t, putChunk(bob, id, 1, chunkOf(content, 1)), 404)
		apitest.Problem(t, bob.Do("POST", "/api/v1/uploads/"+id+"/complete", nil), 404)
		apitest.Problem(t, bob.Do("DELETE", "/api/v1/uploads/"+id, nil), 404)
		apitest.Problem(t, alice.Do("GET", "/api/v1/uploads/not-an-id", nil), 404)
		if items := bob.MustJSON("GET", "/api/v1/uploads", nil, 200)["items"].([]any); len(items) != 0 {
			t.Errorf("bob lists alice's upload")
		}
		if items := alice.MustJSON("GET", "/api/v1/uploads", nil, 200)["items"].([]any); len(items) != 1 {
			t.Errorf("alice lists %d uploads, want 1", len(items))
		}

		if resp := alice.Do("DELETE", "/api/v1/uploads/"+id, nil); resp.Status != 204 {
			t.Fatalf("abort: %d", resp.Status)
		}
		apitest.Problem(t, alice.Do("GET", "/api/v1/uploads/"+id, nil), 404)
		apitest.Problem(t, putChunk(alice, id, 1, chunkOf(content, 1)), 404)
		apitest.Problem(t, alice.Do("DELETE", "/api/v1/uploads/"+id, nil), 404)
		if used := storageUsed(t, alice); used != 0 {
			t.Errorf("storage after abort: %d", used)
		}
		if p := partials(t, env); len(p) != 0 {
			t.Errorf("partial blobs after abort: %v", p)
		}
		var chunks int
		env.Node.Store.DB().QueryRow(`SELECT count(*) FROM upload_chunks`).Scan(&chunks)
		if chunks != 0 {
			t.Errorf("chunk rows after abort: %d", chunks)
		}
	})
}

func TestResumableExpiry(t *testing.T) {
	apitest.ForEach(t, func(t *testing.T, b apitest.Backend) {
		env := apitest.Start(t, b, map[string]string{"SATCHEL_UPLOAD_TTL": "1h"})
		alice := env.UserWithKey("alice")
		content := randomBytes(t, 6*MiB)
		idle := newUpload(t, alice, "idle.bin", content, nil)["id"].(string)
		busy := newUpload(t, alice, "busy.bin", content, nil)["id"].(string)
		putChunk(alice, idle, 0, chunkOf(content, 0))
		created := alice.MustJSON("GET", "/api/v1/uploads/"+busy, nil, 200)["expires_at"].(string)

		env.Clock.Advance(50 * time.Minute)
		putChunk(alice, busy, 0, chunkOf(content, 0)) // activity moves the expiry
		if got := alice.MustJSON("GET", "/api/v1/uploads/"+busy, nil, 200)["expires_at"].(string); got <= created {
			t.Errorf("expires_at did not move with activity: %s then %s", created, got)
		}
		env.Clock.Advance(11 * time.Minute)

		// Expired: gone for the user at once, and swept with its bytes.
		apitest.Problem(t, alice.Do("GET", "/api/v1/uploads/"+idle, nil), 404)
		n, err := env.Node.Uploads.SweepExpired(context.Background())
		if err != nil || n != 1 {
			t.Fatalf("swept %d (%v), want 1", n, err)
		}
		if used := storageUsed(t, alice); used != int64(len(content)) {
			t.Errorf("storage after the sweep: %d, want the busy upload's %d", used, len(content))
		}
		if p := partials(t, env); len(p) != 1 {
			t.Errorf("partial blobs after the sweep: %v, want the busy one", p)
		}
		putChunk(alice, busy, 1, chunkOf(content, 1))
		alice.MustJSON("POST", "/api/v1/uploads/"+busy+"/complete", nil, 200)

		// A completed upload's record is swept too, but its file stays.
		env.Clock.Advance(2 * time.Hour)
		if n, err := env.Node.Uploads.SweepExpired(context.Background()); err != nil || n != 1 {
			t.Fatalf("second sweep: %d %v", n, err)
		}
		files := alice.MustJSON("GET", "/api/v1/files", nil, 200)["items"].([]any)
		if len(files) != 1 {
			t.Fatalf("files after sweeping the completed upload: %d", len(files))
		}
		dl := alice.Do("GET", "/api/v1/files/"+files[0].(map[string]any)["id"].(string)+"/content", nil)
		if !bytes.Equal(dl.Body, content) {
			t.Errorf("the file's content was lost with its upload")
		}
		if got := metricValue(t, env, "satchel_resumable_uploads_expired_total"); got != 1 {
			t.Errorf("expired uploads counted: %v, want 1 (a completed upload's record is not an expired upload)", got)
		}
	})
}

func TestResumableListPagination(t *testing.T) {
	env := apitest.Start(t, apitest.Backends()[0], nil)
	alice := env.UserWithKey("alice")
	var want []string
	for i := range 5 {
		env.Clock.Advance(time.Second)
		want = append(want, alice.MustJSON("POST", "/api/v1/uploads", map[string]any{"file_name": fmt.Sprint(i), "total_size": 10}, 201)["id"].(string))
	}
	var got []string
	cursor := ""
	for range 5 {
		page := alice.MustJSON("GET", "/api/v1/uploads?limit=2"+cursor, nil, 200)
		for _, it := range page["items"].([]any) {
			got = append(got, it.(map[string]any)["id"].(string))
		}
		if page["next_cursor"] == nil {
			break
		}
		cursor = "&cursor=" + page["next_cursor"].(string)
	}
	slices.Reverse(want) // newest first
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("pages: got %v, want %v", got, want)
	}
}

// metricValue reads an unlabelled metric from /metrics.
func metricValue(t *testing.T, env *apitest.Env, name string) float64 {
	t.Helper()
	for _, line := range strings.Split(string(env.Anonymous().Do("GET", "/metrics", nil).Body), "\n") {
		if v, ok := strings.CutPrefix(line, name+" "); ok {
			f, err := strconv.ParseFloat(v, 64)
			if err != nil {
				t.Fatalf("metric %s: %v", line, err)
			}
			return f
		}
	}
	t.Fatalf("no metric %s", name)
	return 0
}

// TestOrphanPartialsSweep plays a crash between preparing a chunked upload's
// storage and recording the upload: the partial blob with no upload is
// swept once old, one with an upload is kept.
func TestOrphanPartialsSweep(t *testing.T) {
	apitest.ForEachOf(t, apitest.DiskBackends(), func(t *testing.T, b apitest.Backend) {
		env := apitest.Start(t, b, nil)
		alice := env.UserWithKey("alice")
		ctx := context.Background()
		if _, err := env.Node.Blobs.BeginChunked(ctx, "0123456789abcdef0123456789abcdef", 100); err != nil {
			t.Fatal(err)
		}
		newUpload(t, alice, "live.bin", randomBytes(t, 100), nil)
		old := env.Clock.Now().Add(-2 * time.Hour)
		dir := env.Node.Blobs.(*disk.Store).Dir()
		for _, name := range partials(t, env) {
			os.Chtimes(filepath.Join(dir, ".uploads", name), old, old)
		}
		n, err := env.Node.Uploads.SweepOrphans(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if n != 1 || len(partials(t, env)) != 1 {
			t.Errorf("swept %d, left %v; want the orphan gone and the live upload's kept", n, partials(t, env))
		}
	})
}
