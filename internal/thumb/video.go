package thumb

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"image"
	"os/exec"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// ErrNoFrame means ffmpeg gave no frame: not a video it can read.
var ErrNoFrame = errors.New("no video frame")

// videoFormats are the containers ffmpeg may open. Others (playlists such
// as HLS, which can point at other files or hosts) are refused.
const videoFormats = "mov,mp4,m4a,3gp,3g2,mj2,matroska,webm,avi,mpegts,flv,ogg,mpeg,asf"

// Video makes the thumbnail of a video from its frame one second in (or
// its first frame, for a shorter one), with ffmpeg: run directly, no shell,
// under a timeout, decoding frames of at most maxPixels. input is a path or
// an http(s) URL ffmpeg can read.
func Video(ctx context.Context, ffmpeg, input string, maxPixels int64, timeout time.Duration) (Thumbnail, error) {
	for _, at := range []string{"1", "0"} {
		frame, err := videoFrame(ctx, ffmpeg, input, at, maxPixels, timeout)
		if errors.Is(err, ErrNoFrame) {
			continue
		}
		if err != nil {
			return Thumbnail{}, err
		}
		img, _, err := image.Decode(bytes.NewReader(frame))
		if err != nil {
			return Thumbnail{}, fmt.Errorf("%w: ffmpeg's frame: %v", ErrCorrupt, err)
		}
		return Encode(Scale(img, MaxSide))
	}
	return Thumbnail{}, ErrNoFrame
}

func videoFrame(ctx context.Context, ffmpeg, input, at string, maxPixels int64, timeout time.Duration) ([]byte, error) {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	// A file may only read that file; a URL only HTTP(S).
	protocols := "file"
	if strings.HasPrefix(input, "http://") || strings.HasPrefix(input, "https://") {
		protocols = "http,https,tcp,tls"
	}
	cmd := exec.CommandContext(ctx, ffmpeg,
		"-nostdin", "-hide_banner", "-loglevel", "error", "-threads", "1",
		"-protocol_whitelist", protocols,
		"-format_whitelist", videoFormats,
		"-max_pixels", strconv.FormatInt(maxPixels, 10),
		"-ss", at, "-i", input,
		"-frames:v", "1", "-an", "-sn",
		"-vf", fmt.Sprintf("scale=w='min(%d,iw)':h='min(%d,ih)':force_original_aspect_ratio=decrease", MaxSide, MaxSide),
		"-f", "image2pipe", "-c:v", "png", "pipe:1")
	// ffmpeg gets a process group of its own, so the timeout kills it and
	// anything it started; WaitDelay stops the wait for pipes a stray
	// child may still hold.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	cmd.Cancel = func() error { return syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL) }
	cmd.WaitDelay = 2 * time.Second
	var stdout, stderr bytes.Buffer
	cmd.Stdout = &limitedBuffer{buf: &stdout, max: 8 << 20}
	cmd.Stderr = &limitedBuffer{buf: &stderr, max: 4 << 10}
	err := cmd.Run()
	if ctx.Err() != nil {
		return nil, fmt.Errorf("ffmpeg took longer than %s: %w", timeout, ctx.Err())
	}
	var exitErr *exec.ExitError
	if errors.As(err, &exitErr) || (err == nil && stdout.Len() == 0) {
		return nil, fmt.Errorf("%w: %s", ErrNoFrame, bytes.TrimSpace(stderr.Bytes()))
	}
	if err != nil {
		return nil, fmt.Errorf("run ffmpeg: %w", err)
	}
	return stdout.Bytes(), nil
}

// limitedBuffer keeps at most max bytes and drops the rest.
type limitedBuffer struct {
	buf *bytes.Buffer
	max int
}

func (l *limitedBuffer) Write(p []byte) (int, error) {
	if room := l.max - l.buf.Len(); room > 0 {
		l.buf.Write(p[:min(len(p), room)])
	}
	return len(p), nil
}
