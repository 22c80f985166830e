package thumb

import (
	"context"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"
)

func ffmpegPath(t *testing.T) string {
	t.Helper()
	p, err := exec.LookPath("ffmpeg")
	if err != nil {
		t.Fatalf("ffmpeg is needed for the video tests (apt-get install ffmpeg): %v", err)
	}
	return p
}

func TestVideo(t *testing.T) {
	ffmpeg := ffmpegPath(t)
	dir := t.TempDir()
	for _, tt := range []struct {
		name, args string
		w, h       int
	}{
		{"two seconds.mp4", "testsrc=duration=2:size=640x360:rate=10", 320, 180},
		{"short.webm", "testsrc=duration=0.5:size=200x300:rate=10", 200, 300},
	} {
		t.Run(tt.name, func(t *testing.T) {
			p := filepath.Join(dir, tt.name)
			if out, err := exec.Command(ffmpeg, "-hide_banner", "-loglevel", "error", "-f", "lavfi", "-i", tt.args, p).CombinedOutput(); err != nil {
				t.Fatalf("make the video: %v\n%s", err, out)
			}
			th, err := Video(context.Background(), ffmpeg, p, 50_000_000, 30*time.Second)
			if err != nil {
				t.Fatal(err)
			}
			if th.Ext != ".jpg" || th.Width != tt.w || th.Height != tt.h {
				t.Errorf("thumbnail %s %dx%d, want .jpg %dx%d", th.Ext, th.Width, th.Height, tt.w, tt.h)
			}
		})
	}
}

func TestHostileVideo(t *testing.T) {
	ffmpeg := ffmpegPath(t)
	dir := t.TempDir()
	// An HLS playlist would make ffmpeg read other files; it is refused.
	playlist := filepath.Join(dir, "movie.mp4")
	os.WriteFile(playlist, []byte("#EXTM3U\n#EXT-X-MEDIA-SEQUENCE:0\n#EXTINF:10.0,\n/etc/passwd\n#EXT-X-ENDLIST\n"), 0o644)
	notVideo := filepath.Join(dir, "clip.mp4")
	os.WriteFile(notVideo, []byte("this is not a video at all"), 0o644)
	for _, p := range []string{playlist, notVideo} {
		if _, err := Video(context.Background(), ffmpeg, p, 50_000_000, 30*time.Second); !errors.Is(err, ErrNoFrame) {
			t.Errorf("%s: got %v, want ErrNoFrame", filepath.Base(p), err)
		}
	}
	// A video with larger frames than the budget gets none.
	big := filepath.Join(dir, "big.mp4")
	if out, err := exec.Command(ffmpeg, "-hide_banner", "-loglevel", "error", "-f", "lavfi", "-i", "testsrc=duration=1:size=640x480:rate=5", big).CombinedOutput(); err != nil {
		t.Fatalf("make a video: %v\n%s", err, out)
	}
	if _, err := Video(context.Background(), ffmpeg, big, 100_000, 30*time.Second); !errors.Is(err, ErrNoFrame) {
		t.Errorf("a video over the pixel budget: got %v, want ErrNoFrame", err)
	}
	// A hung ffmpeg is stopped by the timeout.
	slow := filepath.Join(dir, "slow-ffmpeg")
	os.WriteFile(slow, []byte("#!/bin/sh\nsleep 30\n"), 0o755)
	if _, err := Video(context.Background(), slow, notVideo, 50_000_000, 500*time.Millisecond); !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("a hung ffmpeg: got %v, want a timeout", err)
	}
}
