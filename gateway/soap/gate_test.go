package soap

import (
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// TestRequestEnvelopeDefault: a request read with zero limits accepts an
// envelope of DefaultRequestEnvelope bytes and refuses one byte more,
// while a response (Client) still accepts the larger DefaultLimits.
func TestRequestEnvelopeDefault(t *testing.T) {
	head := strings.TrimSuffix(envelope(wsaHeaders(testAction), "<a>"), "</env:Body></env:Envelope>")
	tail := "</a></env:Body></env:Envelope>"
	fill := func(total int) string {
		return head + strings.Repeat("x", total-len(head)-len(tail)) + tail
	}
	url, results := captureServer(t, Limits{})
	for _, tc := range []struct {
		size int
		kind error
	}{
		{DefaultRequestEnvelope, nil},
		{DefaultRequestEnvelope + 1, ErrTooLarge},
	} {
		resp := post(t, url, ct12, strings.NewReader(fill(tc.size)))
		res := <-results
		if tc.kind == nil && res.err != nil || tc.kind != nil && !errors.Is(res.err, tc.kind) {
			t.Fatalf("%d-byte envelope: status %d, err %v, want %v", tc.size, resp.StatusCode, res.err, tc.kind)
		}
	}
	if DefaultLimits.MaxEnvelope <= DefaultRequestEnvelope {
		t.Fatalf("responses (%d) must be allowed larger envelopes than requests (%d)", DefaultLimits.MaxEnvelope, DefaultRequestEnvelope)
	}
}

// TestOversizeEnvelopeCostsItsLimit: refusing an envelope over the limit
// allocates about twice the limit (a buffer growing by doubling), not the
// body and not a buffer twice the limit.
func TestOversizeEnvelopeCostsItsLimit(t *testing.T) {
	const limit = 4 << 20
	body := envelope(wsaHeaders(testAction), "<a b='"+strings.Repeat("x", 31<<20)+"'/>")
	var err error
	alloc := allocatedBy(func() {
		_, err = readMessage(ct12, strings.NewReader(body), -1, Limits{MaxEnvelope: limit}.forRequests(), true)
	})
	if !errors.Is(err, ErrTooLarge) {
		t.Fatalf("err %v, want ErrTooLarge", err)
	}
	if alloc > limit*5/2 { // the buffer grows by doubling up to limit+1

		t.Fatalf("refusing a %d-byte envelope over a %d-byte limit allocated %d bytes", len(body), limit, alloc)
	}
	t.Logf("allocated %d bytes", alloc)
}

// stallBody delivers head, blocks until released, then delivers rest.
type stallBody struct {
	head, rest io.Reader
	release    chan struct{}
}

func (s *stallBody) Read(p []byte) (int, error) {
	if n, err := s.head.Read(p); n > 0 || err != io.EOF {
		return n, err
	}
	<-s.release
	return s.rest.Read(p)
}

// gatedMux is a Mux behind g that answers testAction with a small
// response.
func gatedMux(g *Gate) *Mux {
	mux := &Mux{Gate: g}
	mux.Handle(testAction, func(w http.ResponseWriter, r *Request) {
		_ = WriteResponse(w, testAction+"Response", r.Addressing.MessageID, etreeOK())
	})
	return mux
}

// TestGateBoundsConcurrentEnvelopes: with Concurrent turns taken by
// envelopes that are still arriving, the next request waits Wait and is
// refused with a 503 BusyFault and Retry-After; once a turn is free,
// requests are served again.
func TestGateBoundsConcurrentEnvelopes(t *testing.T) {
	g := NewGate(GateConfig{Concurrent: 2, Wait: 50 * time.Millisecond, ReturnMemoryAfter: -1})
	var entered atomic.Int32
	mux := gatedMux(g)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		entered.Add(1)
		mux.ServeHTTP(w, r)
	}))
	t.Cleanup(srv.Close)

	body := envelope(wsaHeaders(testAction), queryBody)
	half := len(body) / 2
	var stalls []*stallBody
	var wg sync.WaitGroup
	statuses := make(chan int, 2)
	for range 2 {
		s := &stallBody{head: strings.NewReader(body[:half]), rest: strings.NewReader(body[half:]), release: make(chan struct{})}
		stalls = append(stalls, s)
		req, _ := http.NewRequest(http.MethodPost, srv.URL, s)
		req.Header.Set("Content-Type", ct12)
		wg.Add(1)
		go func() {
			defer wg.Done()
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				statuses <- 0
				return
			}
			resp.Body.Close()
			statuses <- resp.StatusCode
		}()
	}
	// Both turns are taken once both requests are in and the gate is full.
	for deadline := time.Now().Add(10 * time.Second); entered.Load() < 2 || len(g.slots) < 2; {
		if time.Now().After(deadline) {
			t.Fatalf("the two stalled requests did not take the gate's turns (entered %d, slots %d)", entered.Load(), len(g.slots))
		}
		time.Sleep(5 * time.Millisecond)
	}
	resp := post(t, srv.URL, ct12, strings.NewReader(body))
	wf := readWireFault(t, resp)
	if wf.Status != http.StatusServiceUnavailable || resp.Header.Get("Retry-After") == "" || wf.Code != env12("Receiver") {
		t.Fatalf("a request beyond the gate: %d Retry-After %q code %s, want 503 with Retry-After, a Receiver fault\n%s",
			wf.Status, resp.Header.Get("Retry-After"), wf.Code, wf.Raw)
	}
	// The stalled requests were never harmed.
	for _, s := range stalls {
		close(s.release)
	}
	wg.Wait()
	close(statuses)
	for st := range statuses {
		if st != http.StatusOK {
			t.Fatalf("a stalled request that held a turn ended with %d, want 200", st)
		}
	}
	resp = post(t, srv.URL, ct12, strings.NewReader(body))
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("after the burst: %d, want 200", resp.StatusCode)
	}
}

// TestGateReadTimeout: a turn whose envelope does not arrive in time is
// refused with a 408 Sender fault, and the turn is free again.
func TestGateReadTimeout(t *testing.T) {
	now := time.Unix(1_700_000_000, 0)
	var mu sync.Mutex
	clock := func() time.Time { mu.Lock(); defer mu.Unlock(); return now }
	g := NewGate(GateConfig{Concurrent: 1, ReadTimeout: time.Minute, Now: clock, ReturnMemoryAfter: -1})
	srv := httptest.NewServer(gatedMux(g))
	t.Cleanup(srv.Close)
	body := envelope(wsaHeaders(testAction), queryBody)
	// The clock passes the turn's deadline while the body is half sent.
	pr, pw := io.Pipe()
	go func() {
		_, _ = io.WriteString(pw, body[:20])
		for len(g.slots) == 0 {
			time.Sleep(time.Millisecond)
		}
		mu.Lock()
		now = now.Add(2 * time.Minute)
		mu.Unlock()
		_, _ = io.WriteString(pw, body[20:])
		pw.Close()
	}()
	resp := post(t, srv.URL, ct12, pr)
	wf := readWireFault(t, resp)
	if wf.Status != http.StatusRequestTimeout || wf.Code != env12("Sender") {
		t.Fatalf("a late envelope: %d %s, want 408 Sender\n%s", wf.Status, wf.Code, wf.Raw)
	}
	if resp := post(t, srv.URL, ct12, strings.NewReader(body)); resp.StatusCode != http.StatusOK {
		t.Fatalf("the next request: %d, want 200 (the turn was not given back)", resp.StatusCode)
	}
}

// TestGateReturnsMemory: once requests that read ReturnMemoryAfter bytes
// of envelopes have finished, memory is returned once, after the quiet
// period; small traffic never triggers it.
func TestGateReturnsMemory(t *testing.T) {
	returned := make(chan struct{}, 8)
	g := NewGate(GateConfig{Concurrent: 4, ReturnMemoryAfter: 64 << 10, Quiet: time.Millisecond,
		ReturnMemory: func() { returned <- struct{}{} }})
	srv := httptest.NewServer(gatedMux(g))
	t.Cleanup(srv.Close)
	small := envelope(wsaHeaders(testAction), queryBody)
	for range 3 {
		if resp := post(t, srv.URL, ct12, strings.NewReader(small)); resp.StatusCode != http.StatusOK {
			t.Fatalf("status %d", resp.StatusCode)
		}
	}
	g.mu.Lock()
	pending := g.timer != nil
	g.mu.Unlock()
	if pending {
		t.Fatal("a few small envelopes scheduled returning memory")
	}
	big := envelope(wsaHeaders(testAction), "<a>"+strings.Repeat("x", 100<<10)+"</a>")
	if resp := post(t, srv.URL, ct12, strings.NewReader(big)); resp.StatusCode != http.StatusOK {
		t.Fatalf("status %d", resp.StatusCode)
	}
	select {
	case <-returned:
	case <-time.After(30 * time.Second):
		t.Fatal("memory was not returned after a large envelope")
	}
	if len(returned) != 0 {
		t.Fatal("memory returned more than once")
	}
}

// TestReadTimeoutIsAFault: a body read that hits the connection's
// deadline (the gateway's idle timeout) is a 408 Sender fault of kind
// ErrTimeout, not "malformed".
func TestReadTimeoutIsAFault(t *testing.T) {
	body := io.MultiReader(strings.NewReader(envelope(wsaHeaders(testAction), "")[:40]), errReader{fmt.Errorf("read tcp: %w", os.ErrDeadlineExceeded)})
	_, err := readMessage(ct12, body, -1, Limits{}.forRequests(), true)
	var f *Fault
	if !errors.Is(err, ErrTimeout) || !errors.As(err, &f) || f.HTTPStatus() != http.StatusRequestTimeout || f.Code != CodeSender {
		t.Fatalf("err %v, want a 408 Sender fault of kind ErrTimeout", err)
	}
}
