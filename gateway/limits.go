package gateway

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"pjd/gateway/fhir"
	"pjd/gateway/soap"
)

// Limits bound how long the server works on a request and how many
// requests it works on at once, so that a slow dependency (a database
// adding seconds to every round trip) or a slow client (a body that stops
// arriving, a download nobody reads) costs bounded time, goroutines and
// memory, and the clients beyond the bound get a clear 503 with
// Retry-After in their protocol's shape instead of waiting.
//
// Routes fall in three classes (see routeClassOf):
//   - operations (/healthz, /readyz, /metrics): never limited;
//   - transfers, which stream a body of any size (ITI-41 and ITI-43 on
//     /xds/repository, ITI-68 /mhd/document, ITI-65 POST /fhir/R4, the
//     UI's document content and CSV export under /ui/): no total deadline,
//     but cancelled once they make no progress (no body byte read, no
//     response byte written) for StallFactor × RequestTimeout — more than
//     a search may take, since a transfer's quiet phases include storing
//     a part in object storage and completing a large upload;
//   - everything else (searches and queries, ITI-42, the audit API, the
//     dev issuer): a deadline of RequestTimeout.
//
// Every request body is read with a deadline extended on progress
// (IdleTimeout), and every response is written with one: a client may
// upload or download for hours as long as bytes keep moving.
type Limits struct {
	// IdleTimeout ends a request whose body delivers no byte, or whose
	// response the client does not take, for this long.
	IdleTimeout time.Duration
	// RequestTimeout is the deadline of a non-streaming request; a
	// streaming one may go StallFactor times as long without progress.
	RequestTimeout time.Duration
	// MaxSearches and MaxTransfers bound the requests in flight per route
	// (pattern) of each class.
	MaxSearches  int
	MaxTransfers int
	// QueueWait is how long a request waits for a slot on a full route
	// before it is refused with 503.
	QueueWait time.Duration
}

// StallFactor × RequestTimeout is how long a transfer may go without
// progress.
const StallFactor = 4

// DefaultLimits are the limits of a Server that is not told otherwise.
var DefaultLimits = Limits{
	IdleTimeout:    30 * time.Second,
	RequestTimeout: 30 * time.Second,
	MaxSearches:    64,
	MaxTransfers:   32,
	QueueWait:      250 * time.Millisecond,
}

func (l Limits) withDefaults() Limits {
	d := DefaultLimits
	l.IdleTimeout = positiveOr(l.IdleTimeout, d.IdleTimeout)
	l.RequestTimeout = positiveOr(l.RequestTimeout, d.RequestTimeout)
	l.MaxSearches = positiveOr(l.MaxSearches, d.MaxSearches)
	l.MaxTransfers = positiveOr(l.MaxTransfers, d.MaxTransfers)
	l.QueueWait = positiveOr(l.QueueWait, d.QueueWait)
	return l
}

// positiveOr is v when it is set (positive), else the default d.
func positiveOr[T int | time.Duration](v, d T) T {
	if v > 0 {
		return v
	}
	return d
}

// Errors a handler may meet through its request.
var (
	// ErrBodyIdle: the request body delivered nothing for IdleTimeout. It
	// wraps the connection's deadline error (os.ErrDeadlineExceeded).
	ErrBodyIdle = errors.New("gateway: the request body stopped arriving")
	// ErrRequestTimeout is the cause of a non-streaming request's context
	// when its deadline passes (ctx.Err() is context.DeadlineExceeded).
	ErrRequestTimeout = errors.New("gateway: request deadline exceeded")
	// ErrNoProgress is the cause of a streaming request's context when it
	// made no progress for StallFactor × RequestTimeout (ctx.Err() is
	// context.Canceled).
	ErrNoProgress = errors.New("gateway: the request made no progress")
)

// SetLimits sets the server's limits (zero fields take DefaultLimits). It
// must be called before the first Handle.
func (s *Server) SetLimits(l Limits) {
	if s.routes > 0 {
		panic("gateway: SetLimits after Handle")
	}
	s.limits = l.withDefaults()
}

type routeClass int

const (
	classSearch routeClass = iota
	classTransfer
	classOps
)

// transferRoutes stream bodies of any size in or out.
var transferRoutes = map[string]bool{
	"POST /xds/repository": true, // ITI-41 upload, ITI-43 retrieve
	"POST /xca/responding": true, // ITI-39 retrieve (ITI-38 bounds itself: xca.Responding.QueryTimeout)
	"GET /mhd/document":    true, // ITI-68
	"POST /fhir/R4":        true, // ITI-65
	"POST /fhir/R4/":       true,
	"/ui/":                 true, // the UI's document content and CSV export stream
}

func routeClassOf(pattern string) routeClass {
	_, path, _ := strings.Cut(pattern, " ")
	if path == "" {
		path = pattern
	}
	switch {
	case path == "/healthz" || path == "/readyz" || path == "/metrics":
		return classOps
	case transferRoutes[pattern]:
		return classTransfer
	}
	return classSearch
}

// shape is the wire format a route answers errors in.
type shape int

const (
	shapeJSON shape = iota
	shapeSOAP
	shapeFHIR
)

func shapeOf(pattern string) shape {
	_, path, _ := strings.Cut(pattern, " ")
	if path == "" {
		path = pattern
	}
	switch {
	case strings.HasPrefix(path, "/xds/"), strings.HasPrefix(path, "/xca/"):
		return shapeSOAP
	case strings.HasPrefix(path, "/fhir/"), strings.HasPrefix(path, "/mhd/"):
		return shapeFHIR
	}
	return shapeJSON
}

// BusyRetryAfter is the Retry-After (seconds) of every 503 the limits
// send, and of a request whose deadline passed: the server is busy or
// slow, not missing a dependency (RetryAfter).
const BusyRetryAfter = 1

// busy answers a request the server will not take on now, in the shape
// of its protocol: a SOAP fault, an OperationOutcome (transient) or JSON,
// each with 503 and Retry-After.
func busy(w http.ResponseWriter, sh shape) {
	w.Header().Set("Retry-After", strconv.Itoa(BusyRetryAfter))
	const reason = "the service is busy; try again shortly"
	switch sh {
	case shapeSOAP:
		_ = soap.WriteFault(w, soap.BusyFault("The service is busy; try again shortly"))
	case shapeFHIR:
		fhir.WriteError(w, fhir.NewError(http.StatusServiceUnavailable, fhir.IssueTransient, "", "%s", reason))
	default:
		writeJSON(w, http.StatusServiceUnavailable, map[string]string{"error": "busy", "error_description": reason})
	}
}

// limit wraps the handler of pattern in its class's limits: a bounded
// number in flight (the rest wait QueueWait, then get 503), and a
// deadline (searches) or a no-progress watchdog (transfers).
func (s *Server) limit(pattern string, h http.Handler) http.Handler {
	class := routeClassOf(pattern)
	if class == classOps {
		return h
	}
	l := s.limits
	capacity := l.MaxSearches
	if class == classTransfer {
		capacity = l.MaxTransfers
	}
	slots := make(chan struct{}, capacity)
	sh := shapeOf(pattern)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !acquire(r.Context(), slots, l.QueueWait) {
			s.metrics.Shed(pattern)
			busy(w, sh)
			return
		}
		defer func() { <-slots }()
		s.metrics.InFlight(pattern, 1)
		defer s.metrics.InFlight(pattern, -1)
		ctx := r.Context()
		if class == classTransfer {
			var stop func()
			ctx, stop = watchProgress(ctx, progressOf(w), StallFactor*l.RequestTimeout)
			defer stop()
		} else {
			var cancel context.CancelFunc
			ctx, cancel = context.WithTimeoutCause(ctx, l.RequestTimeout, ErrRequestTimeout)
			defer cancel()
		}
		h.ServeHTTP(w, r.WithContext(ctx))
	})
}

// acquire takes a slot, waiting at most wait (or until ctx ends).
func acquire(ctx context.Context, slots chan struct{}, wait time.Duration) bool {
	select {
	case slots <- struct{}{}:
		return true
	default:
	}
	t := time.NewTimer(wait)
	defer t.Stop()
	select {
	case slots <- struct{}{}:
		return true
	case <-t.C:
		return false
	case <-ctx.Done():
		return false
	}
}

// progress records when a request last moved a byte.
type progress struct {
	start time.Time
	last  atomic.Int64 // time.Since(start) of the last progress, in ns
}

func newProgress() *progress { return &progress{start: time.Now()} }

func (p *progress) mark() {
	if p != nil {
		p.last.Store(int64(time.Since(p.start)))
	}
}

// idle is how long it has been since the last progress.
func (p *progress) idle() time.Duration {
	return time.Since(p.start) - time.Duration(p.last.Load())
}

func progressOf(w http.ResponseWriter) *progress {
	if sw, ok := w.(*statusWriter); ok {
		return sw.progress
	}
	return nil
}

// watchProgress returns ctx cancelled (cause ErrNoProgress) once p shows
// no progress for timeout, and a func that stops watching.
func watchProgress(ctx context.Context, p *progress, timeout time.Duration) (context.Context, func()) {
	ctx, cancel := context.WithCancelCause(ctx)
	if p == nil {
		p = newProgress()
	} else {
		p.mark() // waiting for a slot is not the handler's idleness
	}
	var mu sync.Mutex
	var t *time.Timer
	stopped := false
	check := func() {
		mu.Lock()
		defer mu.Unlock()
		if stopped {
			return
		}
		if idle := p.idle(); idle < timeout {
			t.Reset(timeout - idle)
			return
		}
		cancel(ErrNoProgress)
	}
	mu.Lock()
	t = time.AfterFunc(timeout, check)
	mu.Unlock()
	return ctx, func() {
		mu.Lock()
		stopped = true
		t.Stop()
		mu.Unlock()
		cancel(nil)
	}
}

// idleBody is a request body read with a deadline extended on progress:
// each Read may wait at most IdleTimeout for the next bytes.
type idleBody struct {
	body     io.ReadCloser
	rc       *http.ResponseController
	w        http.ResponseWriter
	timeout  time.Duration
	progress *progress
	done     bool // EOF or an error: the connection is no longer ours to time
}

func (b *idleBody) Read(p []byte) (int, error) {
	if b.done {
		return b.body.Read(p)
	}
	// Before the read, not after: a handler that did other work between
	// reads must not find the deadline already passed. After the body's
	// end, net/http reads the connection in the background with its own
	// (zero) deadline, which this must not touch: hence done.
	_ = b.rc.SetReadDeadline(time.Now().Add(b.timeout))
	n, err := b.body.Read(p)
	if n > 0 {
		b.progress.mark()
	}
	if err != nil {
		b.done = true
		if isTimeout(err) {
			b.w.Header().Set("Connection", "close")
			err = &bodyIdleError{err: err}
		}
	}
	return n, err
}

func (b *idleBody) Close() error { return b.body.Close() }

// bodyIdleError is ErrBodyIdle with the connection's deadline error.
type bodyIdleError struct{ err error }

func (e *bodyIdleError) Error() string   { return fmt.Sprintf("%v: %v", ErrBodyIdle, e.err) }
func (e *bodyIdleError) Unwrap() []error { return []error{ErrBodyIdle, e.err} }

func isTimeout(err error) bool {
	var ne interface{ Timeout() bool }
	return errors.As(err, &ne) && ne.Timeout()
}
