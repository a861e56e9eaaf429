// Package metrics defines omnichat's Prometheus metrics, served on /metrics:
// the product's own (ingest, latency, first response, warnings, sends) and the
// Temporal SDK's, through SDKHandler.
package metrics

import (
	"net/http"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// Metrics holds the product's collectors, registered on one registry.
type Metrics struct {
	Registry *prometheus.Registry

	// IngestMessages counts customer messages stored, by platform.
	IngestMessages *prometheus.CounterVec
	// IngestDuplicates counts platform retries recognised and dropped.
	IngestDuplicates *prometheus.CounterVec
	// HTTPDuration is the latency of every route, labelled by its template.
	HTTPDuration *prometheus.HistogramVec
	// WebhookDuration is the time from a webhook's arrival to its acknowledgement.
	WebhookDuration *prometheus.HistogramVec
	// FirstResponse is the wait from a session's first customer message to
	// the first agent reply.
	FirstResponse *prometheus.HistogramVec
	// Warnings counts sessions reaching "soon" and "overdue".
	Warnings *prometheus.CounterVec
	// SendOutcomes counts delivery outcomes by platform, status and failure reason.
	SendOutcomes *prometheus.CounterVec
	// EventsDelivered counts events fanned out to agents' and visitors' streams.
	EventsDelivered *prometheus.CounterVec
	// StreamClients is the number of open event streams.
	StreamClients *prometheus.GaugeVec
}

// New registers the collectors, plus the Go runtime and process collectors.
func New() *Metrics {
	reg := prometheus.NewRegistry()
	m := &Metrics{
		Registry: reg,
		IngestMessages: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "omnichat_ingest_messages_total", Help: "Customer messages stored, by platform.",
		}, []string{"platform"}),
		IngestDuplicates: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "omnichat_ingest_duplicates_total", Help: "Repeated deliveries of an already stored message, by platform.",
		}, []string{"platform"}),
		HTTPDuration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name: "omnichat_http_request_duration_seconds", Help: "HTTP request latency by route template, method and status code.",
			Buckets: []float64{.001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5},
		}, []string{"route", "method", "code"}),
		WebhookDuration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name: "omnichat_webhook_duration_seconds", Help: "Time to store and acknowledge an inbound delivery, by platform.",
			Buckets: []float64{.001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5},
		}, []string{"platform"}),
		FirstResponse: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name: "omnichat_first_response_seconds", Help: "Wait from a session's first customer message to the first agent reply, by platform.",
			Buckets: []float64{5, 15, 30, 60, 120, 180, 300, 600, 1800, 3600, 4 * 3600, 24 * 3600},
		}, []string{"platform"}),
		Warnings: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "omnichat_session_warnings_total", Help: "Sessions that reached a response-time threshold, by level (soon, overdue) and platform.",
		}, []string{"level", "platform"}),
		SendOutcomes: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "omnichat_send_outcomes_total", Help: "Outbound delivery outcomes by platform, status and failure reason.",
		}, []string{"platform", "status", "reason"}),
		EventsDelivered: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "omnichat_stream_events_total", Help: "Events written to event streams, by audience (agent, visitor) and type.",
		}, []string{"audience", "type"}),
		StreamClients: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "omnichat_stream_clients", Help: "Open event streams, by audience.",
		}, []string{"audience"}),
	}
	reg.MustRegister(
		collectors.NewGoCollector(),
		collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}),
		m.IngestMessages, m.IngestDuplicates, m.HTTPDuration, m.WebhookDuration, m.FirstResponse,
		m.Warnings, m.SendOutcomes, m.EventsDelivered, m.StreamClients,
	)
	return m
}

// ObserveFirstResponse records a first response time.
func (m *Metrics) ObserveFirstResponse(platform string, d time.Duration) {
	m.FirstResponse.WithLabelValues(platform).Observe(d.Seconds())
}

// Handler serves the registry in the Prometheus text format.
func (m *Metrics) Handler() http.Handler {
	return promhttp.HandlerFor(m.Registry, promhttp.HandlerOpts{})
}
