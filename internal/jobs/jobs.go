// Package jobs runs Satchel's background work and owns its goroutines: each
// task runs until the context given to Run ends, and Run returns only when
// every task has stopped.
package jobs

import (
	"context"
	"log/slog"
	"sync"
	"time"
)

// Task is work done every Every.
type Task struct {
	Name  string
	Every time.Duration
	Do    func(ctx context.Context) error
}

// Runner runs tasks periodically.
type Runner struct {
	tasks []Task
	log   *slog.Logger
}

// NewRunner returns a Runner for tasks.
func NewRunner(log *slog.Logger, tasks ...Task) *Runner {
	return &Runner{tasks: tasks, log: log}
}

// Run runs every task once at start and then every period, until ctx ends;
// it returns when all have stopped.
func (r *Runner) Run(ctx context.Context) {
	var wg sync.WaitGroup
	for _, t := range r.tasks {
		wg.Add(1)
		go func() {
			defer wg.Done()
			r.loop(ctx, t)
		}()
	}
	wg.Wait()
}

func (r *Runner) loop(ctx context.Context, t Task) {
	tick := time.NewTicker(t.Every)
	defer tick.Stop()
	for {
		if err := t.Do(ctx); err != nil && ctx.Err() == nil {
			r.log.WarnContext(ctx, "background task failed", "task", t.Name, "err", err)
		}
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
	}
}
