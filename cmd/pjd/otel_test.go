package main

import (
	"bytes"
	"compress/gzip"
	"encoding/hex"
	"io"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	collectortrace "go.opentelemetry.io/proto/otlp/collector/trace/v1"
	tracepb "go.opentelemetry.io/proto/otlp/trace/v1"
	"google.golang.org/protobuf/proto"
)

// otlpReceiver is a small OTLP/HTTP trace receiver: it accepts POST
// /v1/traces with a protobuf ExportTraceServiceRequest and keeps the
// spans, each with its resource's service.name.
type otlpReceiver struct {
	*httptest.Server
	mu       sync.Mutex
	requests int
	spans    []receivedSpan
}

type receivedSpan struct {
	service string
	*tracepb.Span
}

func (s receivedSpan) attr(key string) string {
	for _, kv := range s.Attributes {
		if kv.Key == key {
			return kv.Value.GetStringValue()
		}
	}
	return ""
}

func newOTLPReceiver(t *testing.T) *otlpReceiver {
	t.Helper()
	rc := &otlpReceiver{}
	rc.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodPost || r.URL.Path != "/v1/traces" {
			t.Errorf("OTLP receiver: %s %s, want POST /v1/traces", r.Method, r.URL.Path)
			http.NotFound(w, r)
			return
		}
		var body io.Reader = r.Body
		if r.Header.Get("Content-Encoding") == "gzip" {
			zr, err := gzip.NewReader(r.Body)
			if err != nil {
				http.Error(w, err.Error(), http.StatusBadRequest)
				return
			}
			body = zr
		}
		b, err := io.ReadAll(body)
		var req collectortrace.ExportTraceServiceRequest
		if err == nil {
			err = proto.Unmarshal(b, &req)
		}
		if err != nil {
			t.Errorf("OTLP receiver: undecodable body: %v", err)
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		rc.mu.Lock()
		rc.requests++
		for _, rs := range req.ResourceSpans {
			service := ""
			for _, kv := range rs.GetResource().GetAttributes() {
				if kv.Key == "service.name" {
					service = kv.Value.GetStringValue()
				}
			}
			for _, ss := range rs.ScopeSpans {
				for _, sp := range ss.Spans {
					rc.spans = append(rc.spans, receivedSpan{service: service, Span: sp})
				}
			}
		}
		rc.mu.Unlock()
		out, _ := proto.Marshal(&collectortrace.ExportTraceServiceResponse{})
		w.Header().Set("Content-Type", "application/x-protobuf")
		w.Write(out)
	}))
	t.Cleanup(rc.Close)
	return rc
}

func (rc *otlpReceiver) snapshot() (int, []receivedSpan) {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	return rc.requests, append([]receivedSpan(nil), rc.spans...)
}

// With --otlp-endpoint, a federated search is one trace at the receiver:
// the MHD request's server span, the federated search with one client span
// per community (its homeCommunityId and outcome) and the local registry
// query, and each region's server span for the ITI-38 it answered (the
// regions run in the same process, so their spans come here too).
func TestOTLPFederatedSearchTrace(t *testing.T) {
	rc := newOTLPReceiver(t)
	devRegionsSearch(t, "--otlp-endpoint", rc.URL)

	var spans []receivedSpan
	var missing []string
	for i := 0; ; i++ {
		_, spans = rc.snapshot()
		missing = missingSpans(spans)
		if len(missing) == 0 {
			break
		}
		if i == 300 {
			t.Fatalf("after 30 s the receiver has %d spans and lacks: %s", len(spans), strings.Join(missing, "; "))
		}
		time.Sleep(100 * time.Millisecond)
	}
	search := findSpan(spans, func(s receivedSpan) bool { return s.Name == "federated search" })
	trace := search.TraceId
	for _, s := range spans {
		if s.service != "pjd" {
			t.Errorf("span %q has service.name %q, want pjd", s.Name, s.service)
		}
	}
	inTrace := func(s receivedSpan) bool { return bytes.Equal(s.TraceId, trace) }
	server := findSpan(spans, func(s receivedSpan) bool {
		return inTrace(s) && s.Kind == tracepb.Span_SPAN_KIND_SERVER && strings.Contains(s.Name, "/fhir/")
	})
	if server == nil {
		t.Fatalf("no MHD server span in trace %s", hex.EncodeToString(trace))
	}
	if !bytes.Equal(search.ParentSpanId, server.SpanId) {
		t.Errorf("the federated search span's parent is not the MHD server span")
	}
	if findSpan(spans, func(s receivedSpan) bool {
		return inTrace(s) && s.Name == "local registry query" && bytes.Equal(s.ParentSpanId, search.SpanId)
	}) == nil {
		t.Errorf("no local registry query span under the federated search")
	}
	for _, r := range devRegions {
		call := findSpan(spans, func(s receivedSpan) bool {
			return inTrace(s) && s.Kind == tracepb.Span_SPAN_KIND_CLIENT && s.attr("pjd.community.home_community_id") == r.id
		})
		if call == nil {
			t.Errorf("no client span for %s in the trace", r.id)
			continue
		}
		if !bytes.Equal(call.ParentSpanId, search.SpanId) {
			t.Errorf("the %s call's parent is not the federated search span", r.id)
		}
		if got := call.attr("pjd.community.outcome"); got != "ok" {
			t.Errorf("the %s call's outcome = %q, want ok", r.id, got)
		}
		// The region's server span continues the traceparent the call sent.
		if findSpan(spans, func(s receivedSpan) bool {
			return inTrace(s) && s.Kind == tracepb.Span_SPAN_KIND_SERVER && strings.HasPrefix(s.Name, "POST "+r.path()+"/") &&
				bytes.Equal(s.ParentSpanId, call.SpanId)
		}) == nil {
			t.Errorf("no server span of %s under its client span", r.slug)
		}
	}
}

// With --otlp-endpoint, the read of another region's document is one
// trace too: under the ITI-68 server span, a client span for the metadata
// lookup (ITI-38) and one for the retrieval (ITI-39), each with the
// region's homeCommunityId and outcome, and the region's server span for
// each under its client span.
func TestOTLPFederatedReadTrace(t *testing.T) {
	rc := newOTLPReceiver(t)
	ds := devRegionsSearch(t, "--otlp-endpoint", rc.URL)
	var url string
	for _, f := range strings.Fields(ds.out) {
		if strings.HasPrefix(f, "http") && strings.Contains(f, "homeCommunityId=") {
			url = f
			break
		}
	}
	if url == "" {
		t.Fatalf("no other region's document in:\n%s", ds.out)
	}
	if _, err := runPJD(t, time.Minute, "mhd", "read", "--url", ds.p.URL, "--token-file", ds.tokFile, "--patient", ds.patient.ID,
		"--o", filepath.Join(t.TempDir(), "doc"), url); err != nil {
		t.Fatal(err)
	}
	var region devRegion
	for _, r := range devRegions {
		if strings.Contains(url, "homeCommunityId="+strings.ReplaceAll(r.id, ":", "%3A")) {
			region = r
		}
	}
	if region.id == "" {
		t.Fatalf("%s names no dev region", url)
	}
	// call is the client span of tx to the region under parent (any
	// parent when nil).
	call := func(spans []receivedSpan, tx string, parent *receivedSpan) *receivedSpan {
		return findSpan(spans, func(sp receivedSpan) bool {
			return sp.Kind == tracepb.Span_SPAN_KIND_CLIENT && sp.Name == tx+" "+region.id &&
				sp.attr("pjd.community.home_community_id") == region.id &&
				(parent == nil || bytes.Equal(sp.ParentSpanId, parent.SpanId) && bytes.Equal(sp.TraceId, parent.TraceId))
		})
	}
	regionServer := func(spans []receivedSpan, parent *receivedSpan) *receivedSpan {
		return findSpan(spans, func(sp receivedSpan) bool {
			return sp.Kind == tracepb.Span_SPAN_KIND_SERVER && strings.HasPrefix(sp.Name, "POST "+region.path()+"/") &&
				bytes.Equal(sp.ParentSpanId, parent.SpanId)
		})
	}
	readServer := func(spans []receivedSpan) *receivedSpan {
		return findSpan(spans, func(sp receivedSpan) bool {
			return sp.Kind == tracepb.Span_SPAN_KIND_SERVER && sp.Name == "GET /mhd/document"
		})
	}
	var lookup, retrieve *receivedSpan
	for i := 0; ; i++ {
		_, spans := rc.snapshot()
		if server := readServer(spans); server != nil {
			lookup, retrieve = call(spans, "ITI-38", server), call(spans, "ITI-39", server)
			if lookup != nil && retrieve != nil && regionServer(spans, lookup) != nil && regionServer(spans, retrieve) != nil {
				break
			}
		}
		if i == 300 {
			t.Fatalf("after 30 s the receiver has %d spans: ITI-68 server span %v; under it ITI-38 %v, ITI-39 %v (and the region's server span under each)",
				len(spans), readServer(spans) != nil, lookup != nil, retrieve != nil)
		}
		time.Sleep(100 * time.Millisecond)
	}
	for _, c := range []*receivedSpan{lookup, retrieve} {
		if got := c.attr("pjd.community.outcome"); got != "ok" {
			t.Errorf("the %s span's outcome = %q, want ok", c.Name, got)
		}
	}
}

// missingSpans names what a federated search trace still lacks.
func missingSpans(spans []receivedSpan) []string {
	var missing []string
	if findSpan(spans, func(s receivedSpan) bool { return s.Name == "federated search" }) == nil {
		missing = append(missing, "federated search")
	}
	for _, r := range devRegions {
		if findSpan(spans, func(s receivedSpan) bool {
			return s.Kind == tracepb.Span_SPAN_KIND_SERVER && strings.HasPrefix(s.Name, "POST "+r.path()+"/")
		}) == nil {
			missing = append(missing, "server span of "+r.slug)
		}
	}
	return missing
}

func findSpan(spans []receivedSpan, ok func(receivedSpan) bool) *receivedSpan {
	for i := range spans {
		if ok(spans[i]) {
			return &spans[i]
		}
	}
	return nil
}

// Without --otlp-endpoint pjd exports nothing, not even to the standard
// OTEL_EXPORTER_OTLP_* endpoints: a federated search and a clean shutdown
// (which would flush a batch) leave the receiver untouched.
func TestNoOTLPWithoutEndpoint(t *testing.T) {
	rc := newOTLPReceiver(t)
	t.Setenv("OTEL_EXPORTER_OTLP_ENDPOINT", rc.URL)
	t.Setenv("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", rc.URL+"/v1/traces")
	p := devRegionsSearch(t).p
	p.stop()
	if n, spans := rc.snapshot(); n != 0 || len(spans) != 0 {
		t.Fatalf("without --otlp-endpoint the receiver got %d requests (%d spans)", n, len(spans))
	}
}
