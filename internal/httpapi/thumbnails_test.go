package httpapi_test

import (
	"bytes"
	"context"
	"encoding/binary"
	"fmt"
	"hash/crc32"
	"image"
	"image/color"
	"image/jpeg"
	"image/png"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/satchelhq/satchel/internal/testutil/apitest"
)

func pngBytes(t *testing.T, w, h int, alpha bool) []byte {
	t.Helper()
	img := image.NewNRGBA(image.Rect(0, 0, w, h))
	for y := 0; y < h; y++ {
		for x := 0; x < w; x++ {
			a := uint8(255)
			if alpha && x > w/2 {
				a = 0
			}
			img.SetNRGBA(x, y, color.NRGBA{uint8(x), uint8(y), 100, a})
		}
	}
	var buf bytes.Buffer
	png.Encode(&buf, img)
	return buf.Bytes()
}

func jpegBytes(t *testing.T, w, h int) []byte {
	t.Helper()
	img := image.NewRGBA(image.Rect(0, 0, w, h))
	for i := range img.Pix {
		img.Pix[i] = byte(i * 7)
	}
	var buf bytes.Buffer
	jpeg.Encode(&buf, img, nil)
	return buf.Bytes()
}

// waitThumbnail waits until a file has a thumbnail.
func waitThumbnail(t *testing.T, c *apitest.Client, id string) map[string]any {
	t.Helper()
	var f map[string]any
	eventually(t, "the thumbnail of "+id, func() bool {
		f = c.MustJSON("GET", "/api/v1/files/"+id, nil, 200)
		return f["has_thumbnail"] == true
	})
	return f
}

// jobsFinished reads satchel_jobs_finished_total for a kind and result.
func jobsFinished(t *testing.T, env *apitest.Env, kind, result string) int {
	t.Helper()
	for _, line := range strings.Split(string(env.Anonymous().Do("GET", "/metrics", nil).Body), "\n") {
		if strings.HasPrefix(line, fmt.Sprintf(`satchel_jobs_finished_total{kind=%q,result=%q} `, kind, result)) {
			var n float64
			fmt.Sscan(strings.Fields(line)[1], &n)
			return int(n)
		}
	}
	return 0
}

func TestThumbnails(t *testing.T) {
	apitest.ForEach(t, func(t *testing.T, b apitest.Backend) {
		env := apitest.Start(t, b, nil)
		alice, bob := env.UserWithKey("alice"), env.UserWithKey("bob")

		// A direct upload of a large PNG with transparency: a PNG thumbnail.
		f := alice.Upload("logo.png", pngBytes(t, 800, 400, true))
		id := f["id"].(string)
		waitThumbnail(t, alice, id)
		resp := alice.Do("GET", "/api/v1/files/"+id+"/thumbnail", nil)
		if resp.Status != 200 || resp.Header.Get("Content-Type") != "image/png" || resp.Header.Get("ETag") == "" ||
			resp.Header.Get("Content-Security-Policy") != "sandbox" {
			t.Fatalf("thumbnail: %d %v", resp.Status, resp.Header)
		}
		cfg, format, err := image.DecodeConfig(bytes.NewReader(resp.Body))
		if err != nil || format != "png" || cfg.Width != 320 || cfg.Height != 160 {
			t.Errorf("thumbnail image: %s %dx%d %v", format, cfg.Width, cfg.Height, err)
		}
		if again := alice.Do("GET", "/api/v1/files/"+id+"/thumbnail", nil, "If-None-Match", resp.Header.Get("ETag")); again.Status != 304 {
			t.Errorf("conditional thumbnail: %d", again.Status)
		}
		apitest.Problem(t, bob.Do("GET", "/api/v1/files/"+id+"/thumbnail", nil), 404)

		// Through a share link: never a download.
		sh := alice.MustJSON("POST", "/api/v1/files/"+id+"/shares", map[string]any{"max_downloads": 1}, 201)
		for range 3 {
			if r := env.Anonymous().Do("GET", "/s/"+sh["token"].(string)+"/thumbnail", nil); r.Status != 200 {
				t.Fatalf("share thumbnail: %d", r.Status)
			}
		}
		if page := string(env.Anonymous().Do("GET", "/s/"+sh["token"].(string), nil, "Accept", "text/html").Body); !strings.Contains(page, `class="thumb"`) {
			t.Errorf("the share page shows no thumbnail")
		}
		if got := alice.MustJSON("GET", "/api/v1/shares", nil, 200)["items"].([]any)[0].(map[string]any)["download_count"]; got != float64(0) {
			t.Errorf("thumbnails counted as downloads: %v", got)
		}

		// A resumable upload of a JPEG: a JPEG thumbnail.
		photo := jpegBytes(t, 1200, 1600)
		u := alice.MustJSON("POST", "/api/v1/uploads", map[string]any{"file_name": "portrait.jpg", "total_size": len(photo)}, 201)
		putChunk(alice, u["id"].(string), 0, photo)
		done := alice.MustJSON("POST", "/api/v1/uploads/"+u["id"].(string)+"/complete", nil, 200)
		waitThumbnail(t, alice, done["id"].(string))
		thumb := alice.Do("GET", "/api/v1/files/"+done["id"].(string)+"/thumbnail", nil)
		if cfg, format, err := image.DecodeConfig(bytes.NewReader(thumb.Body)); err != nil || format != "jpeg" || cfg.Width != 240 || cfg.Height != 320 {
			t.Errorf("resumable thumbnail: %s %dx%d %v", format, cfg.Width, cfg.Height, err)
		}

		// Deleting a file deletes its thumbnail.
		before := len(blobFiles(t, env))
		alice.MustJSON("DELETE", "/api/v1/files/"+id, nil, 204)
		if after := len(blobFiles(t, env)); after != before-2 {
			t.Errorf("blobs after deleting a file with a thumbnail: %d, want %d", after, before-2)
		}
		apitest.Problem(t, alice.Do("GET", "/api/v1/files/"+id+"/thumbnail", nil), 404)
	})
}

// TestHostileThumbnails uploads files that must get no thumbnail and must
// not hurt the server.
func TestHostileThumbnails(t *testing.T) {
	apitest.ForEach(t, func(t *testing.T, b apitest.Backend) {
		env := apitest.Start(t, b, nil)
		alice := env.UserWithKey("alice")
		var bomb bytes.Buffer
		bomb.WriteString("\x89PNG\r\n\x1a\n")
		ihdr := binary.BigEndian.AppendUint32(binary.BigEndian.AppendUint32(nil, 20000), 20000)
		ihdr = append(ihdr, 8, 6, 0, 0, 0)
		binary.Write(&bomb, binary.BigEndian, uint32(len(ihdr)))
		bomb.WriteString("IHDR")
		bomb.Write(ihdr)
		binary.Write(&bomb, binary.BigEndian, crc32.ChecksumIEEE(append([]byte("IHDR"), ihdr...)))
		bomb.Write(bytes.Repeat([]byte{0}, 64))
		full := jpegBytes(t, 640, 480)
		files := map[string][]byte{
			"bomb.png":  bomb.Bytes(),
			"cut.jpg":   full[:len(full)*6/10],
			"photo.jpg": randomBytes(t, 20_000),
			"notes.txt": []byte("plain text"),
		}
		var ids []string
		for name, data := range files {
			ids = append(ids, alice.Upload(name, data)["id"].(string))
		}
		eventually(t, "the thumbnail jobs to run", func() bool { return jobsFinished(t, env, "thumbnail", "succeeded") == len(files) })
		for _, id := range ids {
			f := alice.MustJSON("GET", "/api/v1/files/"+id, nil, 200)
			if f["has_thumbnail"] != false {
				t.Errorf("%s got a thumbnail", f["filename"])
			}
			apitest.Problem(t, alice.Do("GET", "/api/v1/files/"+id+"/thumbnail", nil), 404)
		}
		env.Anonymous().MustJSON("GET", "/readyz", nil, 200)
		// The same bytes under the pixel budget do get one.
		env2 := apitest.Start(t, b, map[string]string{"SATCHEL_THUMB_MAX_PIXELS": "1000"})
		bob := env2.UserWithKey("bob")
		small := bob.Upload("small.png", pngBytes(t, 30, 30, false))["id"].(string)
		large := bob.Upload("large.png", pngBytes(t, 40, 40, false))["id"].(string)
		waitThumbnail(t, bob, small)
		eventually(t, "both thumbnail jobs", func() bool { return jobsFinished(t, env2, "thumbnail", "succeeded") == 2 })
		if f := bob.MustJSON("GET", "/api/v1/files/"+large, nil, 200); f["has_thumbnail"] != false {
			t.Errorf("an image over the pixel budget got a thumbnail")
		}
	})
}

func TestVideoThumbnail(t *testing.T) {
	ffmpeg, err := exec.LookPath("ffmpeg")
	if err != nil {
		t.Fatalf("ffmpeg is needed (apt-get install ffmpeg): %v", err)
	}
	p := filepath.Join(t.TempDir(), "clip.mp4")
	if out, err := exec.Command(ffmpeg, "-hide_banner", "-loglevel", "error", "-f", "lavfi", "-i", "testsrc=duration=2:size=640x360:rate=10", p).CombinedOutput(); err != nil {
		t.Fatalf("make a video: %v\n%s", err, out)
	}
	video, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	env := apitest.Start(t, apitest.Backends()[0], nil)
	alice := env.UserWithKey("alice")
	id := alice.Upload("clip.mp4", video)["id"].(string)
	waitThumbnail(t, alice, id)
	thumb := alice.Do("GET", "/api/v1/files/"+id+"/thumbnail", nil)
	if cfg, format, err := image.DecodeConfig(bytes.NewReader(thumb.Body)); err != nil || format != "jpeg" || cfg.Width != 320 || cfg.Height != 180 {
		t.Errorf("video thumbnail: %s %dx%d %v", format, cfg.Width, cfg.Height, err)
	}
}

// TestBlobDeletionJob removes a blob through the queue, as when a deletion
// failed on the spot.
func TestBlobDeletionJob(t *testing.T) {
	apitest.ForEach(t, func(t *testing.T, b apitest.Backend) {
		env := apitest.Start(t, b, nil)
		ctx := context.Background()
		key := "0123456789abcdef0123456789abcdef"
		if _, err := env.Node.Blobs.Put(ctx, key, strings.NewReader("left behind")); err != nil {
			t.Fatal(err)
		}
		if err := env.Node.Jobs.RemoveBlobsLater(ctx, []string{key, "fedcba9876543210fedcba9876543210"}); err != nil {
			t.Fatal(err)
		}
		eventually(t, "the blob to be removed", func() bool { return len(blobFiles(t, env)) == 0 })
		eventually(t, "the job to be counted", func() bool { return jobsFinished(t, env, "delete_blobs", "succeeded") == 1 })
	})
}
