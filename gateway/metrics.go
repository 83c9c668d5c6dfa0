package gateway

import (
	"net/http"
	"strconv"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// Metrics records what the gateway does. The zero value of the interface
// (NopMetrics) records nothing; NewPrometheusMetrics records into a
// registry the caller owns and exposes it at /metrics.
type Metrics interface {
	// Request records one finished HTTP request.
	Request(route, method string, status int, d time.Duration)
	// Transaction records one IHE transaction outcome (e.g. "ITI-18",
	// "Success"/"Failure"/"PartialSuccess"/"Fault").
	Transaction(tx, outcome string)
	// InFlight adds delta to the requests in flight on route.
	InFlight(route string, delta int)
	// Shed records a request on route refused because the route was full.
	Shed(route string)
	// Handler serves the metrics, or nil when there is nothing to serve.
	Handler() http.Handler
}

// NopMetrics records nothing.
type NopMetrics struct{}

func (NopMetrics) Request(string, string, int, time.Duration) {}
func (NopMetrics) Transaction(string, string)                 {}
func (NopMetrics) InFlight(string, int)                       {}
func (NopMetrics) Shed(string)                                {}
func (NopMetrics) Handler() http.Handler                      { return nil }

// PrometheusMetrics records into a Prometheus registry.
type PrometheusMetrics struct {
	reg      *prometheus.Registry
	requests *prometheus.HistogramVec
	txs      *prometheus.CounterVec
	inFlight *prometheus.GaugeVec
	shed     *prometheus.CounterVec
}

// NewPrometheusMetrics registers pjd's collectors (and the Go/process
// collectors) in reg.
func NewPrometheusMetrics(reg *prometheus.Registry) *PrometheusMetrics {
	m := &PrometheusMetrics{
		reg: reg,
		requests: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Namespace: "pjd",
			Name:      "http_request_duration_seconds",
			Help:      "HTTP requests by route, method and status.",
			Buckets:   []float64{.001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10, 30},
		}, []string{"route", "method", "status"}),
		txs: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: "pjd",
			Name:      "transactions_total",
			Help:      "IHE transactions by transaction and outcome.",
		}, []string{"transaction", "outcome"}),
	}
	m.inFlight = prometheus.NewGaugeVec(prometheus.GaugeOpts{
		Namespace: "pjd",
		Name:      "http_requests_in_flight",
		Help:      "HTTP requests being served, by route.",
	}, []string{"route"})
	m.shed = prometheus.NewCounterVec(prometheus.CounterOpts{
		Namespace: "pjd",
		Name:      "http_requests_shed_total",
		Help:      "HTTP requests refused with 503 because their route was at its limit, by route.",
	}, []string{"route"})
	reg.MustRegister(m.requests, m.txs, m.inFlight, m.shed,
		collectors.NewGoCollector(),
		collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	return m
}

func (m *PrometheusMetrics) Request(route, method string, status int, d time.Duration) {
	m.requests.WithLabelValues(route, method, strconv.Itoa(status)).Observe(d.Seconds())
}

func (m *PrometheusMetrics) Transaction(tx, outcome string) {
	m.txs.WithLabelValues(tx, outcome).Inc()
}

func (m *PrometheusMetrics) InFlight(route string, delta int) {
	m.inFlight.WithLabelValues(route).Add(float64(delta))
}

func (m *PrometheusMetrics) Shed(route string) { m.shed.WithLabelValues(route).Inc() }

func (m *PrometheusMetrics) Handler() http.Handler {
	return promhttp.HandlerFor(m.reg, promhttp.HandlerOpts{Registry: m.reg})
}
