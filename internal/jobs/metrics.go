package jobs

import (
	"context"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// Collectors returns the queue's metrics: jobs finished by kind and result,
// and jobs waiting or running by kind, read from the queue's table on scrape
// (so they count every node's jobs).
func (q *Queue) Collectors() []prometheus.Collector {
	return []prometheus.Collector{q.events, &stateCollector{q: q}}
}

var jobsDesc = prometheus.NewDesc("satchel_jobs", "Jobs in the queue now, by kind and state (queued, scheduled, retrying, running).",
	[]string{"kind", "state"}, nil)

type stateCollector struct{ q *Queue }

func (c *stateCollector) Describe(ch chan<- *prometheus.Desc) { ch <- jobsDesc }

func (c *stateCollector) Collect(ch chan<- prometheus.Metric) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	rows, err := c.q.db.QueryContext(ctx, `SELECT kind, state, count(*) FROM river_job
		WHERE state IN ('available', 'scheduled', 'retryable', 'running') GROUP BY kind, state`)
	if err != nil {
		c.q.log.Warn("read job counts for metrics", "err", err)
		return
	}
	defer rows.Close()
	names := map[string]string{"available": "queued", "scheduled": "scheduled", "retryable": "retrying", "running": "running"}
	for rows.Next() {
		var (
			kind, state string
			n           float64
		)
		if err := rows.Scan(&kind, &state, &n); err != nil {
			return
		}
		ch <- prometheus.MustNewConstMetric(jobsDesc, prometheus.GaugeValue, n, kind, names[state])
	}
}
