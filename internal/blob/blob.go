// Package blob holds what the storage backends (disk, s3) share.
package blob

import (
	"context"
	"io"
)

// ContextReader returns a reader that stops a copy from r once ctx ends,
// with ctx's error.
func ContextReader(ctx context.Context, r io.Reader) io.Reader { return ctxReader{ctx, r} }

type ctxReader struct {
	ctx context.Context
	r   io.Reader
}

func (c ctxReader) Read(p []byte) (int, error) {
	if err := c.ctx.Err(); err != nil {
		return 0, err
	}
	return c.r.Read(p)
}
