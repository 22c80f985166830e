package app

import (
	"context"
	"fmt"
	"time"

	"github.com/satchelhq/satchel/internal/satchel"
)

// attemptTaker counts attempts against rate limits, in the database, so
// that the limits hold across nodes and restarts.
type attemptTaker interface {
	TakeAttempts(ctx context.Context, limits []satchel.RateLimit, now time.Time) (time.Duration, error)
}

// takeAttempt counts one attempt against every limit, before the check it
// guards. Past a limit it returns ErrRateLimited with how long to wait:
// "too many <what>; try again in …".
func takeAttempt(ctx context.Context, store attemptTaker, now time.Time, what string, limits ...satchel.RateLimit) error {
	wait, err := store.TakeAttempts(ctx, limits, now)
	if err != nil {
		return err
	}
	if wait > 0 {
		return &satchel.Error{Kind: satchel.ErrRateLimited, RetryAfter: wait,
			Detail: fmt.Sprintf("too many %s; try again in %s", what, roundUp(wait))}
	}
	return nil
}

func roundUp(d time.Duration) string {
	if d <= time.Minute {
		return fmt.Sprintf("%d seconds", int(d.Seconds()+0.999))
	}
	return fmt.Sprintf("%d minutes", int(d.Minutes()+0.999))
}
