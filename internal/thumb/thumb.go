// Package thumb makes thumbnails: it decodes an image (JPEG, PNG, GIF's
// first frame, WebP), applies its EXIF orientation, scales it to fit a box
// and encodes it as JPEG, or PNG when it has transparency. Videos go through
// ffmpeg. It reads dimensions before decoding and refuses images over a
// pixel budget, so a decompression bomb costs nothing.
package thumb

import (
	"bytes"
	"errors"
	"fmt"
	"image"
	_ "image/gif" // registers GIF
	"image/jpeg"
	"image/png"
	"io"

	xdraw "golang.org/x/image/draw"
	_ "golang.org/x/image/webp" // registers WebP
)

// MaxSide is the longest side of a thumbnail, in pixels.
const MaxSide = 320

// Errors for input that gets no thumbnail. They are not worth a retry.
var (
	ErrNotImage = errors.New("not an image this server can read")
	ErrTooBig   = errors.New("the image has too many pixels")
	ErrCorrupt  = errors.New("the image is damaged")
)

// Thumbnail is an encoded thumbnail.
type Thumbnail struct {
	Data   []byte
	Ext    string // ".jpg" or ".png"
	Width  int
	Height int
}

// Image makes the thumbnail of the image r holds. It refuses images of more
// than maxPixels before decoding them.
func Image(r io.ReadSeeker, maxPixels int64) (Thumbnail, error) {
	head := make([]byte, 128<<10)
	n, err := io.ReadFull(r, head)
	if err != nil && !errors.Is(err, io.ErrUnexpectedEOF) && !errors.Is(err, io.EOF) {
		return Thumbnail{}, fmt.Errorf("read image: %w", err)
	}
	head = head[:n]
	cfg, format, err := image.DecodeConfig(bytes.NewReader(head))
	if err != nil {
		return Thumbnail{}, fmt.Errorf("%w: %v", ErrNotImage, err)
	}
	if cfg.Width <= 0 || cfg.Height <= 0 || int64(cfg.Width)*int64(cfg.Height) > maxPixels {
		return Thumbnail{}, fmt.Errorf("%w: %d x %d", ErrTooBig, cfg.Width, cfg.Height)
	}
	orientation := 1
	if format == "jpeg" {
		orientation = Orientation(head)
	}
	if _, err := r.Seek(0, io.SeekStart); err != nil {
		return Thumbnail{}, fmt.Errorf("rewind image: %w", err)
	}
	src, _, err := image.Decode(r)
	if err != nil {
		return Thumbnail{}, fmt.Errorf("%w: %v", ErrCorrupt, err)
	}
	return Encode(Orient(Scale(src, MaxSide), orientation))
}

// Scale shrinks img to fit in a box of side×side, keeping its aspect; it
// never enlarges.
func Scale(img image.Image, side int) image.Image {
	b := img.Bounds()
	w, h := b.Dx(), b.Dy()
	m := max(w, h)
	if m <= side {
		return img
	}
	tw, th := max(1, w*side/m), max(1, h*side/m)
	var dst xdraw.Image
	if opaque(img) {
		dst = image.NewRGBA(image.Rect(0, 0, tw, th))
	} else {
		dst = image.NewNRGBA(image.Rect(0, 0, tw, th))
	}
	xdraw.BiLinear.Scale(dst, dst.Bounds(), img, b, xdraw.Src, nil)
	return dst
}

// Orient turns and flips img as an EXIF orientation (1 to 8) says, so that
// it shows upright.
func Orient(img image.Image, orientation int) image.Image {
	if orientation < 2 || orientation > 8 {
		return img
	}
	b := img.Bounds()
	w, h := b.Dx(), b.Dy()
	ow, oh := w, h
	if orientation >= 5 {
		ow, oh = h, w
	}
	dst := image.NewNRGBA(image.Rect(0, 0, ow, oh))
	for y := 0; y < oh; y++ {
		for x := 0; x < ow; x++ {
			var sx, sy int
			switch orientation {
			case 2: // mirrored
				sx, sy = w-1-x, y
			case 3: // upside down
				sx, sy = w-1-x, h-1-y
			case 4: // mirrored upside down
				sx, sy = x, h-1-y
			case 5: // mirrored, turned left
				sx, sy = y, x
			case 6: // turned left: show it turned right
				sx, sy = y, h-1-x
			case 7: // mirrored, turned right
				sx, sy = w-1-y, h-1-x
			case 8: // turned right: show it turned left
				sx, sy = w-1-y, x
			}
			dst.Set(x, y, img.At(b.Min.X+sx, b.Min.Y+sy))
		}
	}
	return dst
}

// Encode encodes a thumbnail: PNG when it has transparency, else JPEG.
func Encode(img image.Image) (Thumbnail, error) {
	var buf bytes.Buffer
	t := Thumbnail{Width: img.Bounds().Dx(), Height: img.Bounds().Dy()}
	if opaque(img) {
		t.Ext = ".jpg"
		if err := jpeg.Encode(&buf, img, &jpeg.Options{Quality: 82}); err != nil {
			return Thumbnail{}, fmt.Errorf("encode thumbnail: %w", err)
		}
	} else {
		t.Ext = ".png"
		if err := (&png.Encoder{CompressionLevel: png.BestSpeed}).Encode(&buf, img); err != nil {
			return Thumbnail{}, fmt.Errorf("encode thumbnail: %w", err)
		}
	}
	t.Data = buf.Bytes()
	return t, nil
}

// opaque reports whether an image has no transparent pixel.
func opaque(img image.Image) bool {
	if o, ok := img.(interface{ Opaque() bool }); ok {
		return o.Opaque()
	}
	b := img.Bounds()
	for y := b.Min.Y; y < b.Max.Y; y++ {
		for x := b.Min.X; x < b.Max.X; x++ {
			if _, _, _, a := img.At(x, y).RGBA(); a != 0xffff {
				return false
			}
		}
	}
	return true
}
