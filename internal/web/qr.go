package web

import (
	"bytes"
	"fmt"

	qrcode "github.com/yeqown/go-qrcode/v2"
)

// QRSVG draws text as a QR code in SVG: one path of dark modules on a light
// background with a quiet zone, crisp at any size.
func QRSVG(text string) ([]byte, error) {
	qr, err := qrcode.NewWith(text, qrcode.WithErrorCorrectionLevel(qrcode.ErrorCorrectionMedium))
	if err != nil {
		return nil, fmt.Errorf("encode QR code: %w", err)
	}
	w := &svgWriter{}
	if err := qr.Save(w); err != nil {
		return nil, fmt.Errorf("draw QR code: %w", err)
	}
	return w.buf.Bytes(), nil
}

// svgWriter is a qrcode.Writer that keeps the drawing as SVG.
type svgWriter struct{ buf bytes.Buffer }

func (w *svgWriter) Write(mat qrcode.Matrix) error {
	const quiet = 4
	bitmap := mat.Bitmap()
	size := len(bitmap) + 2*quiet
	fmt.Fprintf(&w.buf, `<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 %d %d" shape-rendering="crispEdges">`, size, size)
	fmt.Fprintf(&w.buf, `<rect width="%d" height="%d" fill="#fff"/><path fill="#000" d="`, size, size)
	for y, row := range bitmap {
		for x, dark := range row {
			if dark {
				fmt.Fprintf(&w.buf, "M%d %dh1v1h-1z", x+quiet, y+quiet)
			}
		}
	}
	w.buf.WriteString(`"/></svg>`)
	return nil
}

func (w *svgWriter) Close() error { return nil }
