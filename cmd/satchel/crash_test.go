package main_test

import (
	"bytes"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"testing"

	"github.com/satchelhq/satchel/internal/testutil/dbtest"
)

// TestChunksSurviveKill acknowledges chunks, kills the server with SIGKILL,
// restarts it on the same data, and completes the upload.
func TestChunksSurviveKill(t *testing.T) {
	const chunk = 5 << 20
	for _, kind := range dbtest.Kinds {
		t.Run(kind, func(t *testing.T) {
			dataDir := t.TempDir()
			var env []string
			if kind == "postgres" {
				env = append(env, "SATCHEL_DATABASE_URL="+dbtest.NewPostgresURL(t, false))
			}
			p := startIn(t, dataDir, env...)
			key := keyFor(t, p.URL, "alice")
			content := make([]byte, 3*chunk-17)
			rand.Read(content)
			id := createUpload(t, p.URL, key, "crash.bin", len(content), chunk)
			put := func(url string, i int) {
				t.Helper()
				end := min((i+1)*chunk, len(content))
				if st, b := call(t, "PUT", fmt.Sprintf("%s/api/v1/uploads/%s/chunks/%d", url, id, i), key,
					bytes.NewReader(content[i*chunk:end])); st != 200 {
					t.Fatalf("chunk %d: %d %s", i, st, b)
				}
			}
			put(p.URL, 2)
			put(p.URL, 0)

			if err := p.cmd.Process.Kill(); err != nil {
				t.Fatal(err)
			}
			p.wait(t)

			q := startIn(t, dataDir, env...)
			st, b := call(t, "GET", q.URL+"/api/v1/uploads/"+id, key, nil)
			var u struct {
				Received []int `json:"received"`
			}
			if err := json.Unmarshal(b, &u); st != 200 || err != nil || fmt.Sprint(u.Received) != "[0 2]" {
				t.Fatalf("after the crash: %d %s", st, b)
			}
			put(q.URL, 1)
			st, b = call(t, "POST", q.URL+"/api/v1/uploads/"+id+"/complete", key, nil)
			sum := sha256.Sum256(content)
			if st != 200 || field(t, b, "sha256") != hex.EncodeToString(sum[:]) {
				t.Fatalf("complete after the crash: %d %s", st, b)
			}
			st, got := call(t, "GET", q.URL+"/api/v1/files/"+field(t, b, "id")+"/content", key, nil)
			if st != 200 || !bytes.Equal(got, content) {
				t.Errorf("the content after the crash differs (%d bytes)", len(got))
			}
		})
	}
}
