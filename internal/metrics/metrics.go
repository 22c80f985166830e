// Package metrics defines Satchel's Prometheus metrics on a registry of its
// own (never the global default), with the Go runtime and process collectors.
package metrics

import (
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
)

// Metrics holds every metric a node exports.
type Metrics struct {
	Registry *prometheus.Registry

	HTTPRequests    *prometheus.CounterVec
	HTTPDuration    *prometheus.HistogramVec
	HTTPReceived    *prometheus.CounterVec
	HTTPSent        *prometheus.CounterVec
	UploadsInFlight prometheus.Gauge

	ResumableStarted    prometheus.Counter
	ResumableCompleted  prometheus.Counter
	ResumableAborted    prometheus.Counter
	ResumableExpired    prometheus.Counter
	ResumableChunkBytes prometheus.Counter

	SharePageViews      prometheus.Counter
	ShareDownloads      prometheus.Counter
	ShareRefusals       *prometheus.CounterVec
	ShareUnlockFailures prometheus.Counter
}

// New registers and returns the metrics.
func New() *Metrics {
	m := &Metrics{
		Registry: prometheus.NewRegistry(),
		HTTPRequests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "satchel_http_requests_total", Help: "HTTP requests by route, method and status code.",
		}, []string{"route", "method", "code"}),
		HTTPDuration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "satchel_http_request_duration_seconds",
			Help:    "Time from a request's arrival to the end of its response, by route and method.",
			Buckets: []float64{.001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10, 30, 60, 300},
		}, []string{"route", "method"}),
		HTTPReceived: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "satchel_http_request_body_bytes_total", Help: "Bytes read from request bodies, by route.",
		}, []string{"route"}),
		HTTPSent: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "satchel_http_response_body_bytes_total", Help: "Bytes written in response bodies, by route.",
		}, []string{"route"}),
		UploadsInFlight: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "satchel_uploads_in_flight", Help: "Direct uploads being received now.",
		}),
		ResumableStarted: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "satchel_resumable_uploads_started_total", Help: "Resumable uploads started.",
		}),
		ResumableCompleted: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "satchel_resumable_uploads_completed_total", Help: "Resumable uploads completed into a file.",
		}),
		ResumableAborted: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "satchel_resumable_uploads_aborted_total", Help: "Resumable uploads aborted by their owner.",
		}),
		ResumableExpired: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "satchel_resumable_uploads_expired_total", Help: "Resumable uploads swept after idling past the TTL.",
		}),
		ResumableChunkBytes: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "satchel_resumable_upload_chunk_bytes_total", Help: "Bytes of resumable upload chunks stored.",
		}),
		SharePageViews: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "satchel_share_page_views_total", Help: "Views of share link pages.",
		}),
		ShareDownloads: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "satchel_share_downloads_total", Help: "Share link downloads counted (those that start at the first byte).",
		}),
		ShareRefusals: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "satchel_share_refused_total", Help: "Share link requests refused, by reason.",
		}, []string{"reason"}),
		ShareUnlockFailures: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "satchel_share_unlock_failures_total", Help: "Wrong share link passwords.",
		}),
	}
	m.Registry.MustRegister(
		collectors.NewGoCollector(),
		collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}),
		m.HTTPRequests, m.HTTPDuration, m.HTTPReceived, m.HTTPSent, m.UploadsInFlight,
		m.ResumableStarted, m.ResumableCompleted, m.ResumableAborted, m.ResumableExpired, m.ResumableChunkBytes,
		m.SharePageViews, m.ShareDownloads, m.ShareRefusals, m.ShareUnlockFailures,
	)
	return m
}

// The upload observer: the app reports what happens to resumable uploads.

func (m *Metrics) UploadStarted()            { m.ResumableStarted.Inc() }
func (m *Metrics) UploadCompleted()          { m.ResumableCompleted.Inc() }
func (m *Metrics) UploadAborted()            { m.ResumableAborted.Inc() }
func (m *Metrics) UploadsExpired(n int)      { m.ResumableExpired.Add(float64(n)) }
func (m *Metrics) ChunkReceived(bytes int64) { m.ResumableChunkBytes.Add(float64(bytes)) }

// The share observer: the app reports what happens on share links.

func (m *Metrics) SharePageViewed()           { m.SharePageViews.Inc() }
func (m *Metrics) ShareDownloadCounted()      { m.ShareDownloads.Inc() }
func (m *Metrics) ShareRefused(reason string) { m.ShareRefusals.WithLabelValues(reason).Inc() }
func (m *Metrics) ShareUnlockFailed()         { m.ShareUnlockFailures.Inc() }
