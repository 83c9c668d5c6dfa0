package gateway_test

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"pjd/gateway"
)

func metricsText(t *testing.T, h *harness) string {
	t.Helper()
	resp := h.do(nil, http.MethodGet, "/metrics", nil, nil)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("/metrics: %d", resp.StatusCode)
	}
	return string(readBody(t, resp))
}

func grep(s, substr string) string {
	var out []string
	for _, l := range strings.Split(s, "\n") {
		if strings.Contains(l, substr) {
			out = append(out, l)
		}
	}
	return strings.Join(out, "\n")
}

func TestHealthAndReadiness(t *testing.T) {
	var dbDown atomic.Bool
	h := newHarness(t, options{ready: []gateway.ReadyCheck{
		{Name: "registry-database", Check: func(ctx context.Context) error {
			if dbDown.Load() {
				return errors.New("dial tcp 10.0.0.5:5432: connection refused (secret detail)")
			}
			return nil
		}},
	}})
	h.server.AddReadyCheck(gateway.ReadyCheck{Name: "audit-log", Check: h.audit.Ping})

	resp := h.do(nil, http.MethodGet, "/healthz", nil, nil)
	if resp.StatusCode != http.StatusOK || !strings.Contains(string(readBody(t, resp)), `"ok"`) {
		t.Fatalf("/healthz: %d", resp.StatusCode)
	}
	type ready struct {
		Status string            `json:"status"`
		Checks map[string]string `json:"checks"`
	}
	readyz := func() (int, ready, []byte) {
		resp := h.do(nil, http.MethodGet, "/readyz", nil, nil)
		b := readBody(t, resp)
		var r ready
		if err := json.Unmarshal(b, &r); err != nil {
			t.Fatalf("/readyz body: %v\n%s", err, b)
		}
		if resp.Header.Get("Cache-Control") != "no-store" {
			t.Errorf("/readyz may be cached")
		}
		return resp.StatusCode, r, b
	}
	if code, r, _ := readyz(); code != http.StatusOK || r.Status != "ready" || r.Checks["registry-database"] != "ok" || r.Checks["audit-log"] != "ok" {
		t.Fatalf("/readyz: %d %+v", code, r)
	}
	dbDown.Store(true)
	code, r, b := readyz()
	if code != http.StatusServiceUnavailable || r.Status != "not ready" || r.Checks["registry-database"] != "unavailable" || r.Checks["audit-log"] != "ok" {
		t.Fatalf("/readyz with the database down: %d %+v", code, r)
	}
	if bytes.Contains(b, []byte("10.0.0.5")) || bytes.Contains(b, []byte("secret")) {
		t.Fatalf("/readyz tells why: %s", b)
	}
	dbDown.Store(false)
	// A dependency closed for good.
	h.audit.Close()
	if code, r, _ := readyz(); code != http.StatusServiceUnavailable || r.Checks["audit-log"] != "unavailable" {
		t.Fatalf("/readyz with the audit log closed: %d %+v", code, r)
	}
	if resp := h.do(nil, http.MethodPost, "/healthz", nil, nil); resp.StatusCode != http.StatusMethodNotAllowed {
		t.Fatalf("POST /healthz: %d", resp.StatusCode)
	}
}

func TestMetrics(t *testing.T) {
	h := newHarness(t, options{devLoopback: true})
	h.seed()
	h.do(nil, http.MethodGet, "/healthz", nil, nil)
	h.do(nil, http.MethodGet, "/no/such/path/12887040093", nil, nil)
	if _, rr, err := h.xds.Query(context.Background(), findDocuments(patientP)); err != nil || rr.Status == "" {
		t.Fatal(err)
	}
	m := metricsText(t, h)
	for _, want := range []string{
		`pjd_http_request_duration_seconds_count{method="GET",route="GET /healthz",status="200"} 1`,
		`pjd_http_request_duration_seconds_count{method="GET",route="unmatched",status="404"} 1`,
		`pjd_http_request_duration_seconds_count{method="POST",route="POST /xds/registry",status="200"} 1`,
		`pjd_transactions_total{outcome="Success",transaction="ITI-18"} 1`,
		`go_goroutines`,
	} {
		if !strings.Contains(m, want) {
			t.Errorf("/metrics lacks %s\n%s", want, grep(m, "pjd_"))
		}
	}
	// Paths (which may carry identifiers) never become label values.
	if strings.Contains(m, "12887040093") || strings.Contains(m, "/no/such") {
		t.Fatal("a request path reached the metrics")
	}
}

func TestNopMetricsServeNothing(t *testing.T) {
	s := gateway.NewServer(nil, nil, nil)
	rec := httptest.NewRecorder()
	s.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/metrics", nil))
	if rec.Code != http.StatusNotFound {
		t.Fatalf("/metrics without metrics: %d", rec.Code)
	}
	rec = httptest.NewRecorder()
	s.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/healthz", nil))
	if rec.Code != http.StatusOK || rec.Header().Get("X-Request-Id") == "" {
		t.Fatalf("/healthz: %d %v", rec.Code, rec.Header())
	}
}

func TestRequestIDs(t *testing.T) {
	h := newHarness(t, options{})
	get := func(id string) string {
		hdr := http.Header{}
		if id != "" {
			hdr.Set("X-Request-Id", id)
		}
		return h.do(nil, http.MethodGet, "/healthz", nil, hdr).Header.Get("X-Request-Id")
	}
	if got := get("trace-1234.abc_DEF"); got != "trace-1234.abc_DEF" {
		t.Fatalf("a plain request id was not kept: %q", got)
	}
	seen := map[string]bool{}
	for _, bad := range []string{"", "has space", strings.Repeat("a", 65), "inject\"quote", "æøå", "12887040093;drop"} {
		got := get(bad)
		if got == bad || len(got) != 24 || seen[got] {
			t.Fatalf("request id %q became %q; want a fresh generated one", bad, got)
		}
		seen[got] = true
	}
	// The request id reaches the log records of the request.
	id := "log-correlation-7"
	get(id)
	found := false
	sc := bufio.NewScanner(strings.NewReader(h.logs.String()))
	for sc.Scan() {
		var rec map[string]any
		if json.Unmarshal(sc.Bytes(), &rec) == nil && rec["msg"] == "request" && rec["request_id"] == id {
			found = true
		}
	}
	if !found {
		t.Fatalf("no request log record carries request_id %s", id)
	}
}

func TestPanicRecovery(t *testing.T) {
	h := newHarness(t, options{extra: func(s *gateway.Server) {
		s.Handle("GET /test/panic", http.HandlerFunc(func(http.ResponseWriter, *http.Request) {
			panic("database password is hunter2")
		}))
		s.Handle("GET /test/panic-midway", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			w.WriteHeader(http.StatusOK)
			_, _ = w.Write([]byte("the first half of a document"))
			http.NewResponseController(w).Flush()
			panic("nil map")
		}))
		s.Handle("GET /test/abort", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Length", "100")
			w.WriteHeader(http.StatusOK)
			_, _ = w.Write([]byte("partial"))
			panic(http.ErrAbortHandler)
		}))
	}})
	resp := h.do(nil, http.MethodGet, "/test/panic", nil, nil)
	b := readBody(t, resp)
	if resp.StatusCode != http.StatusInternalServerError || bytes.Contains(b, []byte("hunter2")) || bytes.Contains(b, []byte("goroutine")) {
		t.Fatalf("panic answered %d: %s", resp.StatusCode, b)
	}
	var body map[string]string
	if json.Unmarshal(b, &body) != nil || body["request_id"] != resp.Header.Get("X-Request-Id") {
		t.Fatalf("panic answer %s lacks the request id", b)
	}
	// The server goes on.
	if resp := h.do(nil, http.MethodGet, "/healthz", nil, nil); resp.StatusCode != http.StatusOK {
		t.Fatal("server down after a panic")
	}
	// An aborted response, and one whose handler panicked after it began,
	// are cut off (never complete), and still logged and counted.
	for _, path := range []string{"/test/abort", "/test/panic-midway"} {
		req, _ := http.NewRequest(http.MethodGet, h.base+path, nil)
		if r, err := h.srv.Client().Do(req); err == nil {
			_, err = io.ReadAll(r.Body)
			r.Body.Close()
			if err == nil {
				t.Fatalf("%s: a cut-off response read as complete", path)
			}
		}
	}
	deadline := time.Now().Add(5 * time.Second)
	for !strings.Contains(metricsText(t, h), `route="GET /test/abort"`) {
		if time.Now().After(deadline) {
			t.Fatal("the aborted request is not in the metrics")
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func TestHTTPServerTimeouts(t *testing.T) {
	s := gateway.HTTPServer("127.0.0.1:0", http.NotFoundHandler(), slog.New(slog.DiscardHandler))
	if s.ReadHeaderTimeout <= 0 || s.IdleTimeout <= 0 || s.MaxHeaderBytes <= 0 || s.ErrorLog == nil {
		t.Fatalf("server without explicit limits: %+v", s)
	}
	if s.WriteTimeout != 0 {
		t.Fatal("a write timeout would cut off long document downloads")
	}
}

// The Prometheus metrics register in the caller's registry and expose it.
func TestPrometheusMetrics(t *testing.T) {
	reg := prometheus.NewRegistry()
	m := gateway.NewPrometheusMetrics(reg)
	m.Request("GET /x", "GET", 200, 3*time.Millisecond)
	m.Transaction("ITI-67", "Success")
	rec := httptest.NewRecorder()
	m.Handler().ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/metrics", nil))
	if !strings.Contains(rec.Body.String(), `pjd_transactions_total{outcome="Success",transaction="ITI-67"} 1`) {
		t.Fatalf("metrics:\n%s", grep(rec.Body.String(), "pjd_"))
	}
	var nop gateway.Metrics = gateway.NopMetrics{}
	nop.Request("a", "b", 1, 0)
	nop.Transaction("a", "b")
	if nop.Handler() != nil {
		t.Fatal("NopMetrics serves something")
	}
}
