package gateway

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"runtime/debug"
	"sync"
	"sync/atomic"
	"time"
)

// ReadyCheck is one dependency /readyz checks (database, object storage,
// Redis …). Check should honour ctx; one that does not is reported
// unavailable when its deadline passes, and is not started again while it
// still runs.
type ReadyCheck struct {
	Name  string
	Check func(ctx context.Context) error
	// Timeout bounds this check; default ReadyTimeout.
	Timeout time.Duration
}

// ReadyTimeout is how long a readiness check may take by default.
const ReadyTimeout = 2 * time.Second

// Server is pjd's HTTP front: one mux with every endpoint of the roles this
// process serves, wrapped in the common middleware (request ids, recovery,
// logging, metrics).
type Server struct {
	log     *slog.Logger
	metrics Metrics
	mux     *http.ServeMux
	ready   []*readyCheck
	handler http.Handler
	limits  Limits
	routes  int // patterns mounted with Handle
}

// readyCheck is a ReadyCheck and how many of its runs were abandoned at
// their deadline and have not returned yet.
type readyCheck struct {
	ReadyCheck
	abandoned atomic.Int32
}

// NewServer returns a Server with the operational endpoints (/healthz,
// /readyz, /metrics) mounted. Protocol endpoints are added with Handle.
func NewServer(log *slog.Logger, metrics Metrics, ready []ReadyCheck) *Server {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	if metrics == nil {
		metrics = NopMetrics{}
	}
	s := &Server{log: log, metrics: metrics, mux: http.NewServeMux(), limits: DefaultLimits}
	for _, c := range ready {
		s.AddReadyCheck(c)
	}
	s.mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, http.StatusOK, map[string]string{"status": "ok"})
	})
	s.mux.HandleFunc("GET /readyz", s.readyz)
	if h := metrics.Handler(); h != nil {
		s.mux.Handle("GET /metrics", h)
	}
	s.handler = s.middleware(s.mux)
	return s
}

// AddReadyCheck adds a dependency /readyz checks.
func (s *Server) AddReadyCheck(c ReadyCheck) {
	if c.Timeout <= 0 {
		c.Timeout = ReadyTimeout
	}
	s.ready = append(s.ready, &readyCheck{ReadyCheck: c})
}

// Handle mounts h at pattern (net/http ServeMux syntax, e.g. "POST
// /xds/registry") behind the limits of its route class (see Limits).
func (s *Server) Handle(pattern string, h http.Handler) {
	s.routes++
	s.mux.Handle(pattern, s.limit(pattern, h))
}

// ServeHTTP implements http.Handler.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) { s.handler.ServeHTTP(w, r) }

// readyz runs every check at once, each under its own deadline, so a
// dependency that hangs is reported unavailable without making the
// others look unavailable too.
func (s *Server) readyz(w http.ResponseWriter, r *http.Request) {
	results := make([]error, len(s.ready))
	var wg sync.WaitGroup
	for i, c := range s.ready {
		wg.Add(1)
		go func() {
			defer wg.Done()
			results[i] = s.runCheck(r.Context(), c)
		}()
	}
	wg.Wait()
	status := http.StatusOK
	checks := map[string]string{}
	for i, c := range s.ready {
		if err := results[i]; err != nil {
			status = http.StatusServiceUnavailable
			checks[c.Name] = "unavailable"
			s.log.WarnContext(r.Context(), "readiness check failed", "check", c.Name, "err", err)
			continue
		}
		checks[c.Name] = "ok"
	}
	state := "ready"
	if status != http.StatusOK {
		state = "not ready"
	}
	writeJSON(w, status, map[string]any{"status": state, "checks": checks})
}

// errCheckStuck: a run of the check abandoned at its deadline has not
// returned yet.
var errCheckStuck = errors.New("an earlier run of the check has not returned")

// Run states of one readiness check run.
const (
	runGoing int32 = iota
	runDone
	runAbandoned
)

// runCheck runs c under its deadline. A check that ignores its context is
// abandoned at the deadline, and while an abandoned run has not returned
// the check is reported unavailable without starting another, so a hung
// dependency cannot pile up goroutines. Concurrent probes of a check that
// answers run side by side.
func (s *Server) runCheck(ctx context.Context, c *readyCheck) error {
	if c.abandoned.Load() > 0 {
		return errCheckStuck
	}
	ctx, cancel := context.WithTimeout(ctx, c.Timeout)
	defer cancel()
	var state atomic.Int32
	done := make(chan error, 1)
	go func() {
		defer func() {
			if v := recover(); v != nil {
				done <- fmt.Errorf("check panicked: %v", v)
			}
			if !state.CompareAndSwap(runGoing, runDone) {
				c.abandoned.Add(-1)
			}
		}()
		done <- c.Check(ctx)
	}()
	select {
	case err := <-done:
		return err
	case <-ctx.Done():
		if state.CompareAndSwap(runGoing, runAbandoned) {
			c.abandoned.Add(1)
		}
		return fmt.Errorf("no answer within %v: %w", c.Timeout, ctx.Err())
	}
}

// statusWriter remembers the status code and bytes written, writes with a
// deadline extended on progress, and marks progress.
type statusWriter struct {
	http.ResponseWriter
	status   int
	bytes    int64
	rc       *http.ResponseController
	idle     time.Duration
	progress *progress
}

func (w *statusWriter) WriteHeader(code int) {
	if w.status == 0 {
		w.status = code
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *statusWriter) Write(p []byte) (int, error) {
	if w.status == 0 {
		w.status = http.StatusOK
	}
	_ = w.rc.SetWriteDeadline(time.Now().Add(w.idle))
	n, err := w.ResponseWriter.Write(p)
	w.bytes += int64(n)
	if n > 0 {
		w.progress.mark()
	}
	return n, err
}

// Unwrap lets http.ResponseController reach Flush and deadlines.
func (w *statusWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

func (s *Server) middleware(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		id := r.Header.Get("X-Request-Id")
		if !validRequestID(id) {
			id = newRequestID()
		}
		ctx := WithRequestID(r.Context(), id)
		r = r.WithContext(ctx)
		w.Header().Set("X-Request-Id", id)
		rc := http.NewResponseController(w)
		sw := &statusWriter{ResponseWriter: w, rc: rc, idle: s.limits.IdleTimeout, progress: newProgress()}
		if r.Body != nil && r.Body != http.NoBody {
			r.Body = &idleBody{body: r.Body, rc: rc, w: w, timeout: s.limits.IdleTimeout, progress: sw.progress}
		}
		defer func() {
			// What is still buffered is written after the handler
			// returns: that too must not wait on a client forever.
			_ = rc.SetWriteDeadline(time.Now().Add(s.limits.IdleTimeout))
			// A response cut off on purpose (http.ErrAbortHandler, e.g. a
			// document stream that broke) and a panic after the response
			// started both end in an aborted connection, so the client
			// can never take a partial response for a whole one; either
			// way the request is still logged and counted.
			v := recover()
			abort := v == http.ErrAbortHandler
			if v != nil && !abort {
				s.log.ErrorContext(ctx, "panic serving request", "panic", fmt.Sprint(v), "stack", string(debug.Stack()))
				if sw.status == 0 {
					writeJSON(sw, http.StatusInternalServerError, map[string]string{"error": "internal error", "request_id": id})
				} else {
					abort = true
				}
			}
			route := r.Pattern
			if route == "" {
				route = "unmatched"
			}
			status := sw.status
			if status == 0 {
				status = http.StatusOK
			}
			d := time.Since(start)
			s.metrics.Request(route, r.Method, status, d)
			s.log.InfoContext(ctx, "request", "method", r.Method, "route", route, "status", status,
				"bytes", sw.bytes, "duration_ms", float64(d.Microseconds())/1000, "remote", r.RemoteAddr, "aborted", abort)
			if abort {
				panic(http.ErrAbortHandler)
			}
		}()
		next.ServeHTTP(sw, r)
	})
}

// validRequestID accepts a caller's X-Request-Id only when it is short and
// plain, so it can be logged and echoed safely.
func validRequestID(id string) bool {
	if id == "" || len(id) > 64 {
		return false
	}
	for _, c := range id {
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '_' || c == '.') {
			return false
		}
	}
	return true
}

func newRequestID() string {
	var b [12]byte
	if _, err := rand.Read(b[:]); err != nil {
		panic(err) // crypto/rand never fails on Linux
	}
	return hex.EncodeToString(b[:])
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	_ = enc.Encode(v)
}

// ErrServerClosed is returned by Run after a graceful shutdown.
var ErrServerClosed = http.ErrServerClosed

// HTTPServer returns an *http.Server for h with pjd's explicit timeouts.
// WriteTimeout is left at zero because document downloads stream for as
// long as the client reads; handlers set per-request deadlines instead.
func HTTPServer(addr string, h http.Handler, log *slog.Logger) *http.Server {
	return &http.Server{
		Addr:              addr,
		Handler:           h,
		ReadHeaderTimeout: 10 * time.Second,
		IdleTimeout:       120 * time.Second,
		MaxHeaderBytes:    64 << 10,
		ErrorLog:          slog.NewLogLogger(log.Handler(), slog.LevelWarn),
	}
}

// ClientIP is the address the request came from (the direct peer; pjd does
// not trust X-Forwarded-For unless a proxy is configured in front).
func ClientIP(r *http.Request) string {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		return r.RemoteAddr
	}
	return host
}
