package jobs_test

import (
	"context"
	"errors"
	"log/slog"
	"sync/atomic"
	"testing"
	"time"

	"github.com/satchelhq/satchel/internal/jobs"
)

func TestRunnerRunsUntilCancelled(t *testing.T) {
	var runs, failures atomic.Int32
	ctx, cancel := context.WithCancel(context.Background())
	r := jobs.NewRunner(slog.New(slog.DiscardHandler),
		jobs.Task{Name: "count", Every: time.Millisecond, Do: func(context.Context) error {
			if runs.Add(1) == 5 {
				cancel()
			}
			return nil
		}},
		jobs.Task{Name: "fail", Every: time.Millisecond, Do: func(context.Context) error {
			failures.Add(1)
			return errors.New("boom")
		}},
	)
	done := make(chan struct{})
	go func() { r.Run(ctx); close(done) }()
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		t.Fatal("Run did not return after its context ended")
	}
	if runs.Load() < 5 || failures.Load() < 1 {
		t.Errorf("runs %d, failing runs %d", runs.Load(), failures.Load())
	}
	n := runs.Load()
	time.Sleep(20 * time.Millisecond)
	if runs.Load() != n {
		t.Errorf("a task ran after Run returned")
	}
}
