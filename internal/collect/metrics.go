package collect

import (
	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"
)

// Metrics are the collector's Prometheus series. Labels carry contract URIs from
// the registry (never from the request: unknown schemas are labelled "unknown"),
// protocols and fixed reasons, so cardinality stays bounded and no label can
// carry a payload value.
type Metrics struct {
	events         *prometheus.CounterVec
	requests       *prometheus.CounterVec
	requestSeconds *prometheus.HistogramVec
	ackSeconds     prometheus.Histogram
	bufferErrors   prometheus.Counter
	spread         prometheus.Counter
	bodyBytes      prometheus.Gauge
	bodyWaits      prometheus.Counter
}

// NewMetrics registers the collector's series on reg.
func NewMetrics(reg prometheus.Registerer) (*Metrics, error) {
	m := &Metrics{
		events: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "accord_collector_events_total",
			Help: "Events received, by protocol, contract, outcome (accepted or rejected) and rejection reason.",
		}, []string{"protocol", "schema", "outcome", "reason"}),
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "accord_collector_requests_total",
			Help: "HTTP requests to ingest endpoints, by protocol and status code.",
		}, []string{"protocol", "code"}),
		requestSeconds: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "accord_collector_request_duration_seconds",
			Help:    "Time from reading a request to answering it, by protocol.",
			Buckets: []float64{.0001, .00025, .0005, .001, .0025, .005, .01, .025, .05, .1, .25, .5, 1},
		}, []string{"protocol"}),
		ackSeconds: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name:    "accord_collector_ack_duration_seconds",
			Help:    "Time to make a request's events durable in the buffer (group commit included).",
			Buckets: []float64{.00005, .0001, .00025, .0005, .001, .0025, .005, .01, .025, .05, .1},
		}),
		bufferErrors: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "accord_collector_buffer_errors_total",
			Help: "Appends to the buffer that failed (full, closed or I/O), so the producer had to retry.",
		}),
		spread: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "accord_collector_spread_requests_total",
			Help: "Requests whose events were spread over several goroutines because a buyer was new to the vault (its key needed a store commit).",
		}),
		bodyBytes: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "accord_collector_body_bytes",
			Help: "Bytes of request bodies held now, counted against limits.max_inflight_bytes.",
		}),
		bodyWaits: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "accord_collector_body_waits_total",
			Help: "Requests that waited for room under limits.max_inflight_bytes before their body was read.",
		}),
	}
	for _, c := range []prometheus.Collector{m.events, m.requests, m.requestSeconds, m.ackSeconds, m.bufferErrors, m.spread, m.bodyBytes, m.bodyWaits} {
		if err := reg.Register(c); err != nil {
			return nil, err
		}
	}
	return m, nil
}

// ObserveRequest records one answered ingest request.
func (m *Metrics) ObserveRequest(protocol string, code int, seconds float64) {
	m.requests.WithLabelValues(protocol, statusText(code)).Inc()
	m.requestSeconds.WithLabelValues(protocol).Observe(seconds)
}

func statusText(code int) string {
	const digits = "0123456789"
	if code < 100 || code > 999 {
		return "other"
	}
	return string([]byte{digits[code/100], digits[code/10%10], digits[code%10]})
}

// SpreadRequests is accord_collector_spread_requests_total, for tests.
func (m *Metrics) SpreadRequests() float64 {
	var out dto.Metric
	if err := m.spread.Write(&out); err != nil {
		return 0
	}
	return out.GetCounter().GetValue()
}

// BodyBytes returns the bytes of request bodies held now (accord_collector_body_bytes).
func (m *Metrics) BodyBytes() float64 {
	var out dto.Metric
	if err := m.bodyBytes.Write(&out); err != nil {
		return 0
	}
	return out.GetGauge().GetValue()
}
