package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/jackc/pgx/v5/pgconn"
)

// downloadCounter commits download counts in groups. Each count is still its
// own conditional UPDATE, answered only after its transaction commits; but
// counts that arrive while a commit is under way wait and go together in the
// next transaction, so one fsync serves many downloads. Nothing waits on a
// timer: a lone count commits at once.
type downloadCounter struct {
	s     *Store
	queue chan *countRequest
	stop  chan struct{}
	done  sync.WaitGroup
}

type countRequest struct {
	shareID  string
	fileName string
	now      time.Time
	ok       bool
	err      error
	ready    chan struct{}
}

// maxCountBatch bounds the counts in one transaction.
const maxCountBatch = 256

func newDownloadCounter(s *Store) *downloadCounter {
	c := &downloadCounter{s: s, queue: make(chan *countRequest, maxCountBatch), stop: make(chan struct{})}
	c.done.Add(1)
	go c.run()
	return c
}

// count queues one count and waits for its transaction.
func (c *downloadCounter) count(ctx context.Context, shareID, fileName string, now time.Time) (bool, error) {
	req := &countRequest{shareID: shareID, fileName: fileName, now: now, ready: make(chan struct{})}
	select {
	case c.queue <- req:
	case <-c.stop:
		return false, fmt.Errorf("count download: %w", sql.ErrConnDone)
	case <-ctx.Done():
		return false, ctx.Err()
	}
	// Once queued, the count is committed or not whatever the caller does
	// meanwhile, so wait for the answer.
	<-req.ready
	return req.ok, req.err
}

// run owns the counter's goroutine until close.
func (c *downloadCounter) run() {
	defer c.done.Done()
	for {
		var first *countRequest
		select {
		case first = <-c.queue:
		case <-c.stop:
			c.drain()
			return
		}
		batch := []*countRequest{first}
	gather:
		for len(batch) < maxCountBatch {
			select {
			case r := <-c.queue:
				batch = append(batch, r)
			default:
				break gather
			}
		}
		c.commit(batch)
	}
}

// drain answers what is queued at shutdown.
func (c *downloadCounter) drain() {
	for {
		select {
		case r := <-c.queue:
			c.commit([]*countRequest{r})
		default:
			return
		}
	}
}

func (c *downloadCounter) commit(batch []*countRequest) {
	s := c.s
	ctx := context.Background() // each transaction is bounded (see tx)
	// Rows are locked in one order (by share), so that two nodes' batches
	// cannot deadlock; should the database still pick a victim, try again.
	ordered := slices.Clone(batch)
	slices.SortStableFunc(ordered, func(a, b *countRequest) int { return strings.Compare(a.shareID, b.shareID) })
	update, err := s.prepared(ctx, `UPDATE share_links SET download_count = download_count + 1
		WHERE id = $1 AND (max_downloads IS NULL OR download_count < max_downloads)
		AND (expires_at IS NULL OR expires_at > $2)
		AND EXISTS (SELECT 1 FROM files f WHERE f.id = share_links.file_id AND f.upload_status = 'completed' AND f.filename = $3)`)
	for attempt := 0; err == nil; attempt++ {
		err = s.tx(ctx, "count downloads", func(ctx context.Context, tx *sql.Tx) error {
			st := tx.StmtContext(ctx, update)
			for _, r := range ordered {
				res, err := st.ExecContext(ctx, r.shareID, s.d.ts(r.now), r.fileName)
				if err != nil {
					return err
				}
				n, err := res.RowsAffected()
				if err != nil {
					return err
				}
				r.ok = n == 1
			}
			return nil
		})
		if !retryable(err) || attempt == 4 {
			break
		}
	}
	for _, r := range batch {
		if err != nil {
			r.ok, r.err = false, err
		}
		close(r.ready)
	}
}

// retryable reports whether a transaction failed only because of another
// one (a deadlock or a serialization failure): running it again may work.
func retryable(err error) bool {
	var pe *pgconn.PgError
	return errors.As(err, &pe) && (pe.Code == "40P01" || pe.Code == "40001")
}

// close stops the counter after answering what is queued.
func (c *downloadCounter) close() {
	close(c.stop)
	c.done.Wait()
}
