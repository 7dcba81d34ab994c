package api

import (
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
)

// Metrics holds the broker's Prometheus collectors. Metric names and labels
// are part of the external contract. No label ever carries a token, a subject
// or a secret: profile labels take only configured profile names.
type Metrics struct {
	reg            *prometheus.Registry
	requests       *prometheus.HistogramVec
	served         *prometheus.CounterVec
	verifications  *prometheus.CounterVec
	stsCalls       *prometheus.CounterVec
	stsAttempts    *prometheus.CounterVec
	stsLatency     *prometheus.HistogramVec
	rateLimited    *prometheus.CounterVec
	connsRefused   prometheus.Counter
	cacheEntriesFn func() int
	connsOpenFn    func() int64
	auditErrorsFn  func() int64
}

// NewMetrics creates the collectors and registers them, with the Go runtime
// and process collectors, on a new registry.
func NewMetrics() *Metrics {
	m := &Metrics{
		reg: prometheus.NewRegistry(),
		requests: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "broker_http_request_duration_seconds",
			Help:    "HTTP request duration by route pattern and status code.",
			Buckets: []float64{.0005, .001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10},
		}, []string{"route", "status"}),
		served: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "broker_credentials_served_total",
			Help: "Credentials served by profile and cache outcome (hit, miss, refresh, stale).",
		}, []string{"profile", "cache"}),
		verifications: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "broker_token_verifications_total",
			Help: "Token verifications by result: ok, or the rejection reason.",
		}, []string{"result"}),
		stsCalls: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "broker_sts_calls_total",
			Help: "STS calls by action and outcome (ok, STS's error code, other, or error when no answer came), each counted once after the SDK's retries.",
		}, []string{"action", "outcome"}),
		stsAttempts: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "broker_sts_attempts_total",
			Help: "STS requests the SDK sent, each retry counted, by action and outcome; broker_sts_calls_total counts each call once, after its retries.",
		}, []string{"action", "outcome"}),
		stsLatency: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "broker_sts_call_duration_seconds",
			Help:    "STS call latency by action, SDK retries included.",
			Buckets: prometheus.ExponentialBuckets(0.005, 2, 12),
		}, []string{"action"}),
		rateLimited: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "broker_rate_limited_total",
			Help: "Requests answered 429, by the limit that refused them: identity, global, inflight or chains.",
		}, []string{"limit"}),
		connsRefused: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "broker_connections_refused_total",
			Help: "Connections to the main listener closed at once because server.max_connections were open.",
		}),
	}
	for _, l := range []string{limitIdentity, limitGlobal, limitInflight, limitChains} {
		m.rateLimited.WithLabelValues(l) // export zeros, not absent series
	}
	m.reg.MustRegister(m.requests, m.served, m.verifications, m.stsCalls, m.stsAttempts, m.stsLatency, m.rateLimited, m.connsRefused,
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{
			Name: "broker_connections_open",
			Help: "Open connections of the main listener.",
		}, func() float64 {
			if m.connsOpenFn == nil {
				return 0
			}
			return float64(m.connsOpenFn())
		}),
		prometheus.NewCounterFunc(prometheus.CounterOpts{
			Name: "broker_audit_write_errors_total",
			Help: "Audit lines that could not be written to a file or stdout audit.sink; the request was answered all the same.",
		}, func() float64 {
			if m.auditErrorsFn == nil {
				return 0
			}
			return float64(m.auditErrorsFn())
		}),
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{
			Name: "broker_cache_entries",
			Help: "Entries in the credentials cache (final and per-hop).",
		}, func() float64 {
			if m.cacheEntriesFn == nil {
				return 0
			}
			return float64(m.cacheEntriesFn())
		}),
		// The runtime's GC metrics include go_gc_heap_live_bytes, the live
		// heap at the last GC: what sizing the cache needs (resident memory
		// adds the GC's headroom).
		collectors.NewGoCollector(collectors.WithGoCollectorRuntimeMetrics(collectors.MetricsGC)),
		collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}),
	)
	return m
}

// Registry returns the registry to serve (promhttp.HandlerFor).
func (m *Metrics) Registry() *prometheus.Registry { return m.reg }

// ObserveSTSAttempt counts one attempt of an STS call; it is
// chain.ClientConfig.ObserveAttempt.
func (m *Metrics) ObserveSTSAttempt(action, outcome string) {
	m.stsAttempts.WithLabelValues(action, outcome).Inc()
}

// ObserveSTS records one STS call; it is the chain.RunnerConfig.Observe hook.
func (m *Metrics) ObserveSTS(action, outcome string, took time.Duration) {
	m.stsCalls.WithLabelValues(action, outcome).Inc()
	m.stsLatency.WithLabelValues(action).Observe(took.Seconds())
}

// CountAuditWriteErrors makes broker_audit_write_errors_total read fn, the
// number of audit lines whose write failed so far. Call it before serving.
func (m *Metrics) CountAuditWriteErrors(fn func() int64) { m.auditErrorsFn = fn }
