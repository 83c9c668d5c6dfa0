package gateway_test

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"pjd/gateway"
	"pjd/gateway/soap"
)

// limitsServer is a gateway.Server with limits l and extra routes, on a
// real loopback listener.
func limitsServer(t *testing.T, l gateway.Limits, routes func(s *gateway.Server)) (*httptest.Server, *gateway.Server) {
	t.Helper()
	s := gateway.NewServer(nil, gateway.NewPrometheusMetrics(prometheus.NewRegistry()), nil)
	s.SetLimits(l)
	routes(s)
	srv := httptest.NewServer(s)
	t.Cleanup(srv.Close)
	return srv, s
}

// countBody answers 200 with the number of body bytes read, or 408 when
// the body stopped arriving.
func countBody(w http.ResponseWriter, r *http.Request) {
	n, err := io.Copy(io.Discard, r.Body)
	if errors.Is(err, gateway.ErrBodyIdle) {
		http.Error(w, "the request body stopped arriving", http.StatusRequestTimeout)
		return
	}
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	fmt.Fprint(w, n)
}

// TestBodyIdleTimeout: a body that stops arriving is dropped after the
// idle timeout; a slow but steady one, which takes several idle timeouts
// in all, is read to the end. Outcomes are asserted, not times: the idle
// client's connection must end (with a 408) rather than stay open until
// the test's own guard.
func TestBodyIdleTimeout(t *testing.T) {
	const idle = 300 * time.Millisecond
	srv, _ := limitsServer(t, gateway.Limits{IdleTimeout: idle}, func(s *gateway.Server) {
		s.Handle("POST /test/upload", http.HandlerFunc(countBody))
		s.Handle("POST /xds/repository", http.HandlerFunc(countBody)) // a transfer route
	})
	addr := strings.TrimPrefix(srv.URL, "http://")

	for _, path := range []string{"/test/upload", "/xds/repository"} {
		t.Run("idle"+path, func(t *testing.T) {
			c, err := net.Dial("tcp", addr)
			if err != nil {
				t.Fatal(err)
			}
			defer c.Close()
			fmt.Fprintf(c, "POST %s HTTP/1.1\r\nHost: x\r\nContent-Length: 100000\r\n\r\n%s", path, strings.Repeat("a", 20))
			// The guard: far longer than the idle timeout. Reaching it
			// means the server kept the idle request open.
			_ = c.SetReadDeadline(time.Now().Add(30 * time.Second))
			resp, err := http.ReadResponse(bufio.NewReader(c), nil)
			if err != nil {
				t.Fatalf("no answer to an idle body: %v (the request is still open)", err)
			}
			if resp.StatusCode != http.StatusRequestTimeout {
				t.Fatalf("idle body: %d, want 408", resp.StatusCode)
			}
			_, _ = io.Copy(io.Discard, resp.Body)
			if _, err := c.Read(make([]byte, 1)); err == nil || isTimeout(err) {
				t.Fatalf("the connection of an idle body stays open: %v", err)
			}
		})
	}

	t.Run("steady", func(t *testing.T) {
		// 10 bytes every 100 ms for 1.5 s: five idle timeouts in all, but
		// never idle for one.
		const chunks = 15
		pr, pw := io.Pipe()
		go func() {
			tick := time.NewTicker(idle / 3)
			defer tick.Stop()
			for range chunks {
				<-tick.C
				if _, err := pw.Write([]byte("0123456789")); err != nil {
					return
				}
			}
			pw.Close()
		}()
		req, _ := http.NewRequest(http.MethodPost, srv.URL+"/xds/repository", pr)
		req.ContentLength = chunks * 10
		resp, err := srv.Client().Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		if resp.StatusCode != http.StatusOK || string(b) != strconv.Itoa(chunks*10) {
			t.Fatalf("a slow, steady body: %d %q, want 200 %d", resp.StatusCode, b, chunks*10)
		}
	})
}

func isTimeout(err error) bool {
	var ne net.Error
	return errors.As(err, &ne) && ne.Timeout()
}

// blocker is a handler that holds its request until released.
type blocker struct {
	entered chan struct{}
	release chan struct{}
}

func newBlocker() *blocker {
	return &blocker{entered: make(chan struct{}, 100), release: make(chan struct{})}
}

func (b *blocker) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	b.entered <- struct{}{}
	select {
	case <-b.release:
	case <-r.Context().Done():
	}
	w.WriteHeader(http.StatusOK)
}

// TestRouteInFlightLimit: a route holding its maximum of requests answers
// the next one 503 with Retry-After in the route's protocol shape (FHIR
// OperationOutcome, SOAP fault, JSON), while other routes are unaffected;
// once a request finishes the route takes requests again.
func TestRouteInFlightLimit(t *testing.T) {
	routes := map[string]*blocker{"/fhir/R4/DocumentReference": newBlocker(), "/xds/registry": newBlocker(), "/test/search": newBlocker()}
	srv, _ := limitsServer(t, gateway.Limits{MaxSearches: 2, QueueWait: 10 * time.Millisecond}, func(s *gateway.Server) {
		for p, b := range routes {
			s.Handle("POST "+p, b)
		}
		s.Handle("GET /test/free", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {}))
	})
	post := func(path string) *http.Response {
		resp, err := srv.Client().Post(srv.URL+path, "application/octet-stream", nil)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { resp.Body.Close() })
		return resp
	}
	var wg sync.WaitGroup
	for p, b := range routes {
		for range 2 {
			wg.Add(1)
			go func() { defer wg.Done(); post(p) }()
			<-b.entered
		}
	}
	for path, check := range map[string]func(t *testing.T, resp *http.Response, body []byte){
		"/fhir/R4/DocumentReference": func(t *testing.T, resp *http.Response, body []byte) {
			var oo struct {
				ResourceType string `json:"resourceType"`
				Issue        []struct {
					Code string `json:"code"`
				} `json:"issue"`
			}
			if json.Unmarshal(body, &oo) != nil || oo.ResourceType != "OperationOutcome" || len(oo.Issue) != 1 || oo.Issue[0].Code != "transient" {
				t.Fatalf("not a transient OperationOutcome: %s", body)
			}
		},
		"/xds/registry": func(t *testing.T, resp *http.Response, body []byte) {
			if !strings.HasPrefix(resp.Header.Get("Content-Type"), soap.MediaSOAP12) ||
				!strings.Contains(string(body), "<env:Fault>") || !strings.Contains(string(body), "env:Receiver") {
				t.Fatalf("not a SOAP Receiver fault: %s", body)
			}
		},
		"/test/search": func(t *testing.T, resp *http.Response, body []byte) {
			var e map[string]string
			if json.Unmarshal(body, &e) != nil || e["error"] != "busy" {
				t.Fatalf("not a JSON busy error: %s", body)
			}
		},
	} {
		resp := post(path)
		body, _ := io.ReadAll(resp.Body)
		if resp.StatusCode != http.StatusServiceUnavailable || resp.Header.Get("Retry-After") == "" {
			t.Fatalf("%s beyond its limit: %d, Retry-After %q; want 503 with Retry-After", path, resp.StatusCode, resp.Header.Get("Retry-After"))
		}
		check(t, resp, body)
	}
	if resp, err := srv.Client().Get(srv.URL + "/test/free"); err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("another route is affected: %v %v", resp, err)
	}
	if resp, err := srv.Client().Get(srv.URL + "/metrics"); err != nil {
		t.Fatal(err)
	} else {
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		for _, want := range []string{`pjd_http_requests_in_flight{route="POST /xds/registry"} 2`, `pjd_http_requests_shed_total{route="POST /xds/registry"} 1`} {
			if !strings.Contains(string(b), want) {
				t.Errorf("/metrics lacks %s:\n%s", want, grep(string(b), "pjd_http_requests"))
			}
		}
	}
	for _, b := range routes {
		close(b.release)
	}
	wg.Wait()
	for p := range routes {
		if resp := post(p); resp.StatusCode != http.StatusOK {
			t.Fatalf("%s after the burst: %d", p, resp.StatusCode)
		}
	}
}

// TestRequestDeadlines: a search gets a deadline (cause
// ErrRequestTimeout); a transfer has none while it makes progress, and is
// cancelled (cause ErrNoProgress) once it makes none for StallFactor
// deadlines.
func TestRequestDeadlines(t *testing.T) {
	const timeout = 200 * time.Millisecond
	type outcome struct {
		err, cause error
	}
	got := make(chan outcome, 4)
	wait := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		<-r.Context().Done()
		got <- outcome{r.Context().Err(), context.Cause(r.Context())}
	})
	srv, _ := limitsServer(t, gateway.Limits{RequestTimeout: timeout}, func(s *gateway.Server) {
		s.Handle("GET /fhir/R4/DocumentReference", wait)
		s.Handle("POST /fhir/R4", wait) // ITI-65: a transfer
		s.Handle("GET /mhd/document", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			// A download that writes a little every timeout/4, for ten
			// timeouts in all (2.5 times as long as a transfer may stall).
			for range 40 {
				if _, err := w.Write([]byte("x")); err != nil {
					break
				}
				http.NewResponseController(w).Flush()
				time.Sleep(timeout / 4)
			}
			got <- outcome{r.Context().Err(), context.Cause(r.Context())}
		}))
	})
	get := func(method, path string) {
		req, _ := http.NewRequest(method, srv.URL+path, nil)
		resp, err := srv.Client().Do(req)
		if err != nil {
			t.Fatal(err)
		}
		_, _ = io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
	}
	get(http.MethodGet, "/fhir/R4/DocumentReference")
	if o := <-got; !errors.Is(o.err, context.DeadlineExceeded) || !errors.Is(o.cause, gateway.ErrRequestTimeout) {
		t.Fatalf("search: %v (cause %v), want the request deadline", o.err, o.cause)
	}
	get(http.MethodPost, "/fhir/R4")
	if o := <-got; !errors.Is(o.cause, gateway.ErrNoProgress) {
		t.Fatalf("idle transfer: %v (cause %v), want cancelled for no progress", o.err, o.cause)
	}
	get(http.MethodGet, "/mhd/document")
	if o := <-got; o.err != nil {
		t.Fatalf("a transfer making progress was cancelled: %v (cause %v)", o.err, o.cause)
	}
}

// TestReadyzChecksInParallel: a check that hangs is reported unavailable
// without making the checks after it look unavailable, and a check that
// ignores its context is not started again while it still runs.
func TestReadyzChecksInParallel(t *testing.T) {
	release := make(chan struct{})
	var stubbornRuns atomic.Int32
	s := gateway.NewServer(nil, nil, []gateway.ReadyCheck{
		{Name: "object-storage", Timeout: 200 * time.Millisecond, Check: func(ctx context.Context) error {
			<-ctx.Done() // a dependency that never answers
			return ctx.Err()
		}},
		{Name: "stubborn", Timeout: 200 * time.Millisecond, Check: func(ctx context.Context) error {
			stubbornRuns.Add(1)
			<-release // ignores its context
			return nil
		}},
		{Name: "redis", Check: func(ctx context.Context) error { return ctx.Err() }},
		{Name: "audit-log", Check: func(ctx context.Context) error { return ctx.Err() }},
	})
	srv := httptest.NewServer(s)
	t.Cleanup(srv.Close)
	t.Cleanup(func() { close(release) }) // before srv.Close (cleanups run last first)
	for range 2 {
		resp, err := (&http.Client{Timeout: 30 * time.Second}).Get(srv.URL + "/readyz")
		if err != nil {
			t.Fatalf("/readyz did not answer: %v", err)
		}
		var r struct {
			Checks map[string]string `json:"checks"`
		}
		err = json.NewDecoder(resp.Body).Decode(&r)
		resp.Body.Close()
		if err != nil || resp.StatusCode != http.StatusServiceUnavailable {
			t.Fatalf("/readyz: %d %v", resp.StatusCode, err)
		}
		want := map[string]string{"object-storage": "unavailable", "stubborn": "unavailable", "redis": "ok", "audit-log": "ok"}
		for k, v := range want {
			if r.Checks[k] != v {
				t.Fatalf("/readyz checks %v, want %v", r.Checks, want)
			}
		}
	}
	if n := stubbornRuns.Load(); n != 1 {
		t.Fatalf("a check still running was started again: %d runs", n)
	}
}

// TestReadyzConcurrentProbes: probes at the same moment (several load
// balancers) all see a slow but answering check as ok.
func TestReadyzConcurrentProbes(t *testing.T) {
	var inside atomic.Int32
	both := make(chan struct{})
	var once sync.Once
	s := gateway.NewServer(nil, nil, []gateway.ReadyCheck{{Name: "registry-database", Check: func(ctx context.Context) error {
		if inside.Add(1) == 2 {
			once.Do(func() { close(both) })
		}
		select { // answers once both probes are in
		case <-both:
			return nil
		case <-ctx.Done():
			return ctx.Err()
		}
	}}})
	srv := httptest.NewServer(s)
	t.Cleanup(srv.Close)
	codes := make(chan int, 2)
	for range 2 {
		go func() {
			resp, err := (&http.Client{Timeout: 30 * time.Second}).Get(srv.URL + "/readyz")
			if err != nil {
				codes <- 0
				return
			}
			resp.Body.Close()
			codes <- resp.StatusCode
		}()
	}
	for range 2 {
		if c := <-codes; c != http.StatusOK {
			t.Fatalf("a concurrent probe: %d, want 200", c)
		}
	}
}
