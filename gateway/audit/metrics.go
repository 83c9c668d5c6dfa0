package audit

import (
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// Metrics receives what the audit log does. NopMetrics records nothing;
// NewPrometheusMetrics records into a registry the caller owns.
type Metrics interface {
	// AuditCommitted: one transaction committed n records in d.
	AuditCommitted(n int, d time.Duration)
	// AuditFailed: n records could not be committed (their requests failed).
	AuditFailed(n int)
	// SyslogSent: one record was written to the syslog connection.
	SyslogSent()
	// SyslogDropped: one record was not forwarded (queue full or closed).
	SyslogDropped()
	// SyslogConnError: connecting or writing to the syslog receiver failed.
	SyslogConnError()
}

// NopMetrics records nothing.
type NopMetrics struct{}

func (NopMetrics) AuditCommitted(int, time.Duration) {}
func (NopMetrics) AuditFailed(int)                   {}
func (NopMetrics) SyslogSent()                       {}
func (NopMetrics) SyslogDropped()                    {}
func (NopMetrics) SyslogConnError()                  {}

// PrometheusMetrics records into Prometheus collectors.
type PrometheusMetrics struct {
	records   prometheus.Counter
	failed    prometheus.Counter
	batch     prometheus.Histogram
	commit    prometheus.Histogram
	sent      prometheus.Counter
	dropped   prometheus.Counter
	connError prometheus.Counter
}

// NewPrometheusMetrics registers the audit collectors in reg.
func NewPrometheusMetrics(reg prometheus.Registerer) (*PrometheusMetrics, error) {
	m := &PrometheusMetrics{
		records: counter("records_committed_total",
			"Audit records committed to the audit log."),
		failed: counter("records_failed_total",
			"Audit records that could not be committed (their requests failed)."),
		batch: histogram("batch_size",
			"Records per audit transaction (group commit).",
			[]float64{1, 2, 4, 8, 16, 32, 64, 128, 256, 512}),
		commit: histogram("commit_duration_seconds",
			"Duration of one audit append transaction.",
			[]float64{.0005, .001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5}),
		sent: counter("syslog_sent_total",
			"Audit records forwarded to the syslog (ATNA) repository."),
		dropped: counter("syslog_dropped_total",
			"Audit records not forwarded to syslog because the queue was full or the forwarder closed."),
		connError: counter("syslog_connection_errors_total",
			"Failed connects or writes to the syslog repository."),
	}
	for _, c := range []prometheus.Collector{m.records, m.failed, m.batch, m.commit, m.sent, m.dropped, m.connError} {
		if err := reg.Register(c); err != nil {
			return nil, err
		}
	}
	return m, nil
}

// counter and histogram make the audit subsystem's collectors
// (pjd_audit_<name>).
func counter(name, help string) prometheus.Counter {
	return prometheus.NewCounter(prometheus.CounterOpts{Namespace: "pjd", Subsystem: "audit", Name: name, Help: help})
}

func histogram(name, help string, buckets []float64) prometheus.Histogram {
	return prometheus.NewHistogram(prometheus.HistogramOpts{Namespace: "pjd", Subsystem: "audit", Name: name, Help: help, Buckets: buckets})
}

func (m *PrometheusMetrics) AuditCommitted(n int, d time.Duration) {
	m.records.Add(float64(n))
	m.batch.Observe(float64(n))
	m.commit.Observe(d.Seconds())
}
func (m *PrometheusMetrics) AuditFailed(n int) { m.failed.Add(float64(n)) }
func (m *PrometheusMetrics) SyslogSent()       { m.sent.Inc() }
func (m *PrometheusMetrics) SyslogDropped()    { m.dropped.Inc() }
func (m *PrometheusMetrics) SyslogConnError()  { m.connError.Inc() }
