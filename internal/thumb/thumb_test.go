package thumb

import (
	"bytes"
	"encoding/binary"
	"errors"
	"flag"
	"fmt"
	"hash/crc32"
	"image"
	"image/color"
	"image/gif"
	"image/jpeg"
	"image/png"
	"math/rand/v2"
	"os"
	"path/filepath"
	"testing"
)

var update = flag.Bool("update", false, "rewrite the fixtures and golden thumbnails in testdata/")

// upright is the picture every orientation fixture shows once turned
// upright: red, green / blue, yellow quadrants, twice as wide as tall.
func upright() *image.NRGBA {
	img := image.NewNRGBA(image.Rect(0, 0, 64, 32))
	for y := 0; y < 32; y++ {
		for x := 0; x < 64; x++ {
			c := color.NRGBA{255, 0, 0, 255} // red
			switch {
			case x >= 32 && y < 16:
				c = color.NRGBA{0, 200, 0, 255} // green
			case x < 32 && y >= 16:
				c = color.NRGBA{0, 0, 255, 255} // blue
			case x >= 32 && y >= 16:
				c = color.NRGBA{255, 220, 0, 255} // yellow
			}
			img.SetNRGBA(x, y, c)
		}
	}
	return img
}

// stored returns the pixels a camera would store for the upright picture
// with the given orientation: turning them as the orientation says gives
// the upright picture back.
func stored(up *image.NRGBA, orientation int) *image.NRGBA {
	w, h := up.Bounds().Dx(), up.Bounds().Dy() // of the upright picture
	sw, sh := w, h
	if orientation >= 5 {
		sw, sh = h, w
	}
	s := image.NewNRGBA(image.Rect(0, 0, sw, sh))
	for y := 0; y < h; y++ {
		for x := 0; x < w; x++ {
			var sx, sy int
			switch orientation {
			case 1:
				sx, sy = x, y
			case 2:
				sx, sy = sw-1-x, y
			case 3:
				sx, sy = sw-1-x, sh-1-y
			case 4:
				sx, sy = x, sh-1-y
			case 5:
				sx, sy = y, x
			case 6:
				sx, sy = y, sh-1-x
			case 7:
				sx, sy = sw-1-y, sh-1-x
			case 8:
				sx, sy = sw-1-y, x
			}
			s.SetNRGBA(sx, sy, up.NRGBAAt(x, y))
		}
	}
	return s
}

// withExif encodes img as a JPEG with an EXIF orientation tag.
func withExif(t *testing.T, img image.Image, orientation int) []byte {
	t.Helper()
	var plain bytes.Buffer
	if err := jpeg.Encode(&plain, img, &jpeg.Options{Quality: 95}); err != nil {
		t.Fatal(err)
	}
	tiff := []byte("MM\x00\x2a\x00\x00\x00\x08")
	tiff = binary.BigEndian.AppendUint16(tiff, 1)                            // one entry
	tiff = append(tiff, 0x01, 0x12, 0x00, 0x03, 0x00, 0x00, 0x00, 0x01)      // orientation, SHORT, count 1
	tiff = append(tiff, byte(orientation>>8), byte(orientation), 0x00, 0x00) // value
	tiff = append(tiff, 0, 0, 0, 0)                                          // no next IFD
	segment := append([]byte("Exif\x00\x00"), tiff...)
	app1 := append([]byte{0xFF, 0xE1}, binary.BigEndian.AppendUint16(nil, uint16(len(segment)+2))...)
	app1 = append(app1, segment...)
	b := plain.Bytes()
	return append(append(append([]byte{}, b[:2]...), app1...), b[2:]...)
}

// fixture returns testdata/name, writing it with make under -update.
func fixture(t *testing.T, name string, make func() []byte) []byte {
	t.Helper()
	p := filepath.Join("testdata", name)
	if *update {
		if err := os.WriteFile(p, make(), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	b, err := os.ReadFile(p)
	if err != nil {
		t.Fatalf("read fixture (run go test -update to make it): %v", err)
	}
	return b
}

// compareGolden checks a thumbnail against testdata/golden/name.png,
// pixel by pixel within a tolerance (JPEG is lossy).
func compareGolden(t *testing.T, name string, th Thumbnail) {
	t.Helper()
	got, _, err := image.Decode(bytes.NewReader(th.Data))
	if err != nil {
		t.Fatalf("the thumbnail does not decode: %v", err)
	}
	p := filepath.Join("testdata", "golden", name+".png")
	if *update {
		var buf bytes.Buffer
		png.Encode(&buf, got)
		os.MkdirAll(filepath.Dir(p), 0o755)
		if err := os.WriteFile(p, buf.Bytes(), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	f, err := os.Open(p)
	if err != nil {
		t.Fatalf("golden %s (run go test -update to make it): %v", p, err)
	}
	defer f.Close()
	want, err := png.Decode(f)
	if err != nil {
		t.Fatal(err)
	}
	if got.Bounds().Size() != want.Bounds().Size() {
		t.Fatalf("size %v, golden %v", got.Bounds().Size(), want.Bounds().Size())
	}
	var diff, n float64
	for y := 0; y < want.Bounds().Dy(); y++ {
		for x := 0; x < want.Bounds().Dx(); x++ {
			r1, g1, b1, a1 := got.At(got.Bounds().Min.X+x, got.Bounds().Min.Y+y).RGBA()
			r2, g2, b2, a2 := want.At(want.Bounds().Min.X+x, want.Bounds().Min.Y+y).RGBA()
			for _, d := range []int64{int64(r1) - int64(r2), int64(g1) - int64(g2), int64(b1) - int64(b2), int64(a1) - int64(a2)} {
				diff += float64(max(d, -d)) / 257
				n++
			}
		}
	}
	if mean := diff / n; mean > 6 {
		t.Errorf("differs from its golden by %.1f per channel on average", mean)
	}
}

func near(c color.Color, want color.NRGBA) bool {
	r, g, b, _ := c.RGBA()
	d := func(a uint32, b uint8) int { return max(int(a>>8)-int(b), int(b)-int(a>>8)) }
	return d(r, want.R) < 48 && d(g, want.G) < 48 && d(b, want.B) < 48
}

func TestOrientation(t *testing.T) {
	quadrants := []struct {
		x, y int
		want color.NRGBA
	}{
		{16, 8, color.NRGBA{255, 0, 0, 255}}, {48, 8, color.NRGBA{0, 200, 0, 255}},
		{16, 24, color.NRGBA{0, 0, 255, 255}}, {48, 24, color.NRGBA{255, 220, 0, 255}},
	}
	for o := 1; o <= 8; o++ {
		t.Run(fmt.Sprint("orientation ", o), func(t *testing.T) {
			data := fixture(t, fmt.Sprintf("orientation-%d.jpg", o), func() []byte { return withExif(t, stored(upright(), o), o) })
			if got := Orientation(data); got != o {
				t.Fatalf("read orientation %d, want %d", got, o)
			}
			th, err := Image(bytes.NewReader(data), 50_000_000)
			if err != nil {
				t.Fatal(err)
			}
			if th.Ext != ".jpg" || th.Width != 64 || th.Height != 32 {
				t.Fatalf("thumbnail %s %dx%d, want .jpg 64x32 (upright)", th.Ext, th.Width, th.Height)
			}
			img, _, _ := image.Decode(bytes.NewReader(th.Data))
			for _, q := range quadrants {
				if c := img.At(q.x, q.y); !near(c, q.want) {
					t.Errorf("at (%d,%d): %v, want %v: not upright", q.x, q.y, c, q.want)
				}
			}
			compareGolden(t, fmt.Sprintf("orientation-%d", o), th)
		})
	}
}

func TestDimensions(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	for _, tt := range []struct {
		w, h, tw, th int
	}{
		{1000, 500, 320, 160}, {500, 1000, 160, 320}, {321, 321, 320, 320}, {100, 50, 100, 50}, {4000, 3, 320, 1},
	} {
		img := image.NewRGBA(image.Rect(0, 0, tt.w, tt.h))
		for i := range img.Pix {
			img.Pix[i] = byte(rng.IntN(256))
			if i%4 == 3 {
				img.Pix[i] = 255
			}
		}
		var buf bytes.Buffer
		png.Encode(&buf, img)
		th, err := Image(bytes.NewReader(buf.Bytes()), 50_000_000)
		if err != nil {
			t.Fatalf("%dx%d: %v", tt.w, tt.h, err)
		}
		if th.Width != tt.tw || th.Height != tt.th || th.Ext != ".jpg" {
			t.Errorf("%dx%d became %s %dx%d, want .jpg %dx%d", tt.w, tt.h, th.Ext, th.Width, th.Height, tt.tw, tt.th)
		}
	}
}

func TestTransparencyKept(t *testing.T) {
	data := fixture(t, "transparent.png", func() []byte {
		img := image.NewNRGBA(image.Rect(0, 0, 640, 480))
		for y := 0; y < 480; y++ {
			for x := 0; x < 640; x++ {
				if x < 320 {
					img.SetNRGBA(x, y, color.NRGBA{255, 0, 0, 255})
				} // the right half stays transparent
			}
		}
		var buf bytes.Buffer
		png.Encode(&buf, img)
		return buf.Bytes()
	})
	th, err := Image(bytes.NewReader(data), 50_000_000)
	if err != nil {
		t.Fatal(err)
	}
	if th.Ext != ".png" || th.Width != 320 || th.Height != 240 {
		t.Fatalf("got %s %dx%d, want .png 320x240", th.Ext, th.Width, th.Height)
	}
	img, _, _ := image.Decode(bytes.NewReader(th.Data))
	if _, _, _, a := img.At(300, 100).RGBA(); a != 0 {
		t.Errorf("the transparent half is not transparent (alpha %d)", a)
	}
	if _, _, _, a := img.At(20, 100).RGBA(); a != 0xffff {
		t.Errorf("the opaque half is not opaque (alpha %d)", a)
	}
	compareGolden(t, "transparent", th)
}

func TestFormats(t *testing.T) {
	gifData := fixture(t, "two-frames.gif", func() []byte {
		pal := color.Palette{color.NRGBA{255, 0, 0, 255}, color.NRGBA{0, 200, 0, 255}}
		frames := []*image.Paletted{image.NewPaletted(image.Rect(0, 0, 40, 20), pal), image.NewPaletted(image.Rect(0, 0, 40, 20), pal)}
		for i := range frames[1].Pix {
			frames[1].Pix[i] = 1
		}
		var buf bytes.Buffer
		gif.EncodeAll(&buf, &gif.GIF{Image: frames, Delay: []int{10, 10}})
		return buf.Bytes()
	})
	th, err := Image(bytes.NewReader(gifData), 50_000_000)
	if err != nil {
		t.Fatal(err)
	}
	img, _, _ := image.Decode(bytes.NewReader(th.Data))
	if !near(img.At(20, 10), color.NRGBA{255, 0, 0, 255}) {
		t.Errorf("the GIF's thumbnail is not its first frame: %v", img.At(20, 10))
	}
	compareGolden(t, "two-frames", th)

	// A WebP made by ffmpeg once (libwebp): a 96x64 picture, left red.
	webp, err := os.ReadFile(filepath.Join("testdata", "photo.webp"))
	if err != nil {
		t.Fatal(err)
	}
	th, err = Image(bytes.NewReader(webp), 50_000_000)
	if err != nil {
		t.Fatalf("webp: %v", err)
	}
	if th.Width != 96 || th.Height != 64 {
		t.Errorf("webp thumbnail %dx%d, want 96x64", th.Width, th.Height)
	}
	compareGolden(t, "photo-webp", th)
}

func TestHostileInput(t *testing.T) {
	// A PNG header that claims 20000 x 20000 pixels over a tiny body.
	var bomb bytes.Buffer
	bomb.WriteString("\x89PNG\r\n\x1a\n")
	ihdr := binary.BigEndian.AppendUint32(nil, 20000)
	ihdr = binary.BigEndian.AppendUint32(ihdr, 20000)
	ihdr = append(ihdr, 8, 6, 0, 0, 0)
	binary.Write(&bomb, binary.BigEndian, uint32(len(ihdr)))
	bomb.WriteString("IHDR")
	bomb.Write(ihdr)
	binary.Write(&bomb, binary.BigEndian, crc32.ChecksumIEEE(append([]byte("IHDR"), ihdr...)))
	bomb.WriteString("\x00\x00\x00\x00IEND\xaeB`\x82")

	var good bytes.Buffer
	jpeg.Encode(&good, upright(), nil)
	// A photo-sized JPEG cut in the middle of its image data.
	noise := image.NewRGBA(image.Rect(0, 0, 640, 480))
	rand.NewChaCha8([32]byte{5}).Read(noise.Pix)
	var big bytes.Buffer
	jpeg.Encode(&big, noise, nil)
	random := make([]byte, 50_000)
	rand.NewChaCha8([32]byte{3, 4}).Read(random)

	for _, tt := range []struct {
		name string
		data []byte
		want error
	}{
		{"decompression bomb", bomb.Bytes(), ErrTooBig},
		{"truncated JPEG", big.Bytes()[:big.Len()*6/10], ErrCorrupt},
		{"random bytes called photo.jpg", random, ErrNotImage},
		{"empty", nil, ErrNotImage},
	} {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Image(bytes.NewReader(tt.data), 50_000_000)
			if !errors.Is(err, tt.want) {
				t.Errorf("got %v, want %v", err, tt.want)
			}
		})
	}
	// Within budget, the same size is refused when the budget is lower.
	if _, err := Image(bytes.NewReader(good.Bytes()), 100); !errors.Is(err, ErrTooBig) {
		t.Errorf("a 64x32 image under a 100-pixel budget: %v", err)
	}
}
