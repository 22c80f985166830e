package app

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"strings"
	"time"

	"github.com/satchelhq/satchel/internal/satchel"
	"github.com/satchelhq/satchel/internal/thumb"
)

// ThumbnailStore is what thumbnails need from the database.
type ThumbnailStore interface {
	GetFileByID(ctx context.Context, id string) (satchel.File, error)
	SetThumbnail(ctx context.Context, fileID, key string, now time.Time) (bool, error)
}

// BlobLocator is implemented by blob stores that can name a blob for an
// outside program such as ffmpeg: a local path, or a URL it can fetch.
type BlobLocator interface {
	Locate(ctx context.Context, key string) (string, error)
}

// ThumbnailConfig says how thumbnails are made.
type ThumbnailConfig struct {
	// MaxPixels refuses images larger than this before decoding them.
	MaxPixels int64
	// FFmpeg is the ffmpeg program; empty: videos get no thumbnail.
	FFmpeg       string
	VideoTimeout time.Duration
}

// Thumbnails makes files' thumbnails, from their stored blobs, so that
// direct and resumable uploads (and every storage) are treated alike.
type Thumbnails struct {
	store ThumbnailStore
	blobs BlobStore
	now   func() time.Time
	log   *slog.Logger
	cfg   ThumbnailConfig
}

// NewThumbnails returns the thumbnails service.
func NewThumbnails(store ThumbnailStore, blobs BlobStore, now func() time.Time, log *slog.Logger, cfg ThumbnailConfig) *Thumbnails {
	if cfg.VideoTimeout <= 0 {
		cfg.VideoTimeout = time.Minute
	}
	return &Thumbnails{store: store, blobs: blobs, now: now, log: log, cfg: cfg}
}

// MakeThumbnail makes and records the thumbnail of a file. A file that gets
// none (not an image or a video, damaged, too big, or lying about its type)
// is left as it was and nil is returned; an error means try again later.
func (t *Thumbnails) MakeThumbnail(ctx context.Context, fileID string) error {
	f, err := t.store.GetFileByID(ctx, fileID)
	if errors.Is(err, satchel.ErrNotFound) {
		return nil // deleted meanwhile
	}
	if err != nil || f.HasThumbnail() {
		return err
	}
	r, err := t.blobs.Open(ctx, f.StorageKey)
	if errors.Is(err, satchel.ErrNotFound) {
		return nil // deleted meanwhile
	}
	if err != nil {
		return fmt.Errorf("open file %s: %w", f.ID, err)
	}
	defer r.Close()
	head := make([]byte, 512)
	n, err := io.ReadFull(r, head)
	if err != nil && !errors.Is(err, io.ErrUnexpectedEOF) && !errors.Is(err, io.EOF) {
		return fmt.Errorf("read file %s: %w", f.ID, err)
	}
	if _, err := r.Seek(0, io.SeekStart); err != nil {
		return fmt.Errorf("rewind file %s: %w", f.ID, err)
	}
	// The content decides, not the name or the declared type.
	sniffed := http.DetectContentType(head[:n])
	var th thumb.Thumbnail
	switch {
	case sniffed == "image/jpeg", sniffed == "image/png", sniffed == "image/gif", sniffed == "image/webp":
		th, err = thumb.Image(r, t.cfg.MaxPixels)
	case strings.HasPrefix(sniffed, "video/"), strings.HasPrefix(f.MimeType, "video/") && sniffed == "application/octet-stream":
		if t.cfg.FFmpeg == "" {
			return nil
		}
		th, err = t.video(ctx, f, r)
	default:
		return nil
	}
	if errors.Is(err, thumb.ErrNotImage) || errors.Is(err, thumb.ErrTooBig) || errors.Is(err, thumb.ErrCorrupt) || errors.Is(err, thumb.ErrNoFrame) {
		t.log.InfoContext(ctx, "no thumbnail for this file", "file_id", f.ID, "reason", err)
		return nil
	}
	if err != nil {
		return fmt.Errorf("thumbnail of file %s: %w", f.ID, err)
	}
	// A key of its own for each attempt: two attempts that overlap (a
	// rescued job whose first run still goes on) cannot remove each
	// other's thumbnail.
	key := f.StorageKey + ".thumb-" + NewStorageKey()[:8] + th.Ext
	if _, err := t.blobs.Put(ctx, key, bytes.NewReader(th.Data)); err != nil {
		return fmt.Errorf("store thumbnail of file %s: %w", f.ID, err)
	}
	ok, err := t.store.SetThumbnail(ctx, f.ID, key, t.now())
	if err != nil || !ok {
		// The file went away meanwhile (or the record failed): the
		// thumbnail must not outlive it.
		if derr := t.blobs.Delete(context.WithoutCancel(ctx), key); derr != nil {
			t.log.WarnContext(ctx, "remove an unused thumbnail", "file_id", f.ID, "err", derr)
		}
	}
	return err
}

// video runs ffmpeg on the file: where it lies, if the storage can say, or
// else on a temporary copy.
func (t *Thumbnails) video(ctx context.Context, f satchel.File, r io.Reader) (thumb.Thumbnail, error) {
	if loc, ok := t.blobs.(BlobLocator); ok {
		where, err := loc.Locate(ctx, f.StorageKey)
		if err != nil {
			return thumb.Thumbnail{}, fmt.Errorf("locate file %s: %w", f.ID, err)
		}
		return thumb.Video(ctx, t.cfg.FFmpeg, where, t.cfg.MaxPixels, t.cfg.VideoTimeout)
	}
	tmp, err := os.CreateTemp("", "satchel-video-*")
	if err != nil {
		return thumb.Thumbnail{}, err
	}
	defer os.Remove(tmp.Name())
	defer tmp.Close()
	if _, err := io.Copy(tmp, r); err != nil {
		return thumb.Thumbnail{}, fmt.Errorf("copy file %s for ffmpeg: %w", f.ID, err)
	}
	return thumb.Video(ctx, t.cfg.FFmpeg, tmp.Name(), t.cfg.MaxPixels, t.cfg.VideoTimeout)
}
