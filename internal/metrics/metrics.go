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
	}
	m.Registry.MustRegister(
		collectors.NewGoCollector(),
		collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}),
		m.HTTPRequests, m.HTTPDuration, m.HTTPReceived, m.HTTPSent, m.UploadsInFlight,
	)
	return m
}
