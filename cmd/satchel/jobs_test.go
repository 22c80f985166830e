package main_test

import (
	"bytes"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/satchelhq/satchel/internal/testutil/dbtest"
)

// TestStuckJobRunsAfterKill kills the server while a thumbnail job runs
// (its ffmpeg hangs) and restarts it: the job is rescued and runs again.
func TestStuckJobRunsAfterKill(t *testing.T) {
	ffmpeg, err := exec.LookPath("ffmpeg")
	if err != nil {
		t.Fatalf("ffmpeg is needed (apt-get install ffmpeg): %v", err)
	}
	dir := t.TempDir()
	video := filepath.Join(dir, "clip.mp4")
	if out, err := exec.Command(ffmpeg, "-hide_banner", "-loglevel", "error", "-f", "lavfi", "-i", "testsrc=duration=2:size=320x240:rate=10", video).CombinedOutput(); err != nil {
		t.Fatalf("make a video: %v\n%s", err, out)
	}
	content, _ := os.ReadFile(video)
	hanging := filepath.Join(dir, "hanging-ffmpeg")
	if err := os.WriteFile(hanging, []byte("#!/bin/sh\nsleep 120\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	// The hanging "ffmpeg" outlives the server killed under it.
	t.Cleanup(func() { exec.Command("pkill", "-f", hanging).Run() })
	for _, kind := range dbtest.Kinds {
		t.Run(kind, func(t *testing.T) {
			t.Parallel()
			dataDir := t.TempDir()
			env := []string{}
			if kind == "postgres" {
				env = append(env, "SATCHEL_DATABASE_URL="+dbtest.NewPostgresURL(t, false))
			}
			p := startIn(t, dataDir, append(env, "SATCHEL_FFMPEG="+hanging, "SATCHEL_JOB_TIMEOUT=2m")...)
			key := keyFor(t, p.URL, "alice")
			st, b := call(t, "POST", p.URL+"/api/v1/files?filename=clip.mp4", key, bytes.NewReader(content))
			if st != 201 {
				t.Fatalf("upload: %d %s", st, b)
			}
			id := field(t, b, "id")
			waitMetric(t, p, `satchel_jobs{kind="thumbnail",state="running"} 1`)
			if err := p.cmd.Process.Kill(); err != nil {
				t.Fatal(err)
			}
			p.wait(t)

			q := startIn(t, dataDir, append(env, "SATCHEL_FFMPEG="+ffmpeg, "SATCHEL_JOB_TIMEOUT=2s")...)
			deadline := time.Now().Add(2 * time.Minute)
			for {
				_, b := call(t, "GET", q.URL+"/api/v1/files/"+id, key, nil)
				var f struct {
					HasThumbnail bool `json:"has_thumbnail"`
				}
				json.Unmarshal(b, &f)
				if f.HasThumbnail {
					break
				}
				if time.Now().After(deadline) {
					t.Fatalf("the stuck thumbnail job never ran again")
				}
				time.Sleep(250 * time.Millisecond)
			}
		})
	}
}

func waitMetric(t *testing.T, p *proc, line string) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for time.Now().Before(deadline) {
		if _, b := call(t, "GET", p.URL+"/metrics", "", nil); strings.Contains(string(b), line) {
			return
		}
		time.Sleep(100 * time.Millisecond)
	}
	t.Fatalf("no metric %q", line)
}
