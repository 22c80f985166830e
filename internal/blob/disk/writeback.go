package disk

import (
	"io"

	"golang.org/x/sys/unix"
)

// writebackWindow is how much a long write may leave dirty before the kernel
// is asked to start writing it out.
const writebackWindow = 8 << 20

// writebackWriter writes to a file and starts the kernel's writeback of each
// window as soon as it is written, waiting for the window before it. The
// final sync then has little left to do, and a large upload does not fill
// the page cache with dirty data that one fsync must flush at the end.
// It is the same durable work as one write and one fsync, spread out.
type writebackWriter struct {
	w       io.Writer
	fd      int
	base    int64 // the file offset of the first byte written
	n       int64 // bytes written
	started int64 // bytes whose writeback has been started
	waited  int64 // bytes whose writeback has completed
}

func (w *writebackWriter) Write(p []byte) (int, error) {
	n, err := w.w.Write(p)
	w.n += int64(n)
	if w.n-w.started >= writebackWindow {
		// Errors are ignored: this only schedules work the final
		// fsync does anyway, and that fsync reports any failure.
		_ = unix.SyncFileRange(w.fd, w.base+w.started, w.n-w.started, unix.SYNC_FILE_RANGE_WRITE)
		if w.started > w.waited {
			_ = unix.SyncFileRange(w.fd, w.base+w.waited, w.started-w.waited,
				unix.SYNC_FILE_RANGE_WAIT_BEFORE|unix.SYNC_FILE_RANGE_WRITE|unix.SYNC_FILE_RANGE_WAIT_AFTER)
			w.waited = w.started
		}
		w.started = w.n
	}
	return n, err
}
