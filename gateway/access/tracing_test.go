package access_test

import (
	"context"
	"strings"
	"testing"

	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/propagation"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	"go.opentelemetry.io/otel/trace"

	"pjd/gateway/audit"
	"pjd/gateway/xcaclient/xcatest"
	"pjd/registry"
)

// recordSpans installs, for the test, a tracer provider that keeps every
// ended span, and the W3C propagator (what tracing.Setup installs).
func recordSpans(t *testing.T) *tracetest.SpanRecorder {
	t.Helper()
	rec := tracetest.NewSpanRecorder()
	tp := sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(rec))
	prevTP, prevProp := otel.GetTracerProvider(), otel.GetTextMapPropagator()
	otel.SetTracerProvider(tp)
	otel.SetTextMapPropagator(propagation.TraceContext{})
	t.Cleanup(func() {
		otel.SetTracerProvider(prevTP)
		otel.SetTextMapPropagator(prevProp)
		_ = tp.Shutdown(context.Background())
	})
	return rec
}

// communitySpan is the ended client span named name of community home
// under parent, or nil.
func communitySpan(rec *tracetest.SpanRecorder, parent trace.SpanContext, name, home string) sdktrace.ReadOnlySpan {
	for _, s := range rec.Ended() {
		if s.Name() != name || s.SpanKind() != trace.SpanKindClient || s.Parent().SpanID() != parent.SpanID() ||
			s.SpanContext().TraceID() != parent.TraceID() {
			continue
		}
		for _, kv := range s.Attributes() {
			if string(kv.Key) == "pjd.community.home_community_id" && kv.Value.AsString() == home {
				return s
			}
		}
	}
	return nil
}

func spanAttr(s sdktrace.ReadOnlySpan, key string) string {
	for _, kv := range s.Attributes() {
		if string(kv.Key) == key {
			return kv.Value.AsString()
		}
	}
	return ""
}

// The initiating gateway's ITI-18 (POST /xca/initiating) asks each
// community under a client span of its own, as the federated MHD search
// does: named "ITI-38 <homeCommunityId>", with the community and its
// outcome, under the request's span; the traceparent the community gets
// names that span.
func TestInitiatingQuerySpanPerCommunity(t *testing.T) {
	f := newFederation(t, nil)
	f.nord.SetMode(xcatest.Down)
	rec := recordSpans(t)
	ctx, root := otel.Tracer("test").Start(context.Background(), "POST /xca/initiating")
	q := &registry.Query{ID: registry.QueryFindDocuments, ReturnType: registry.ReturnLeafClass, Params: []registry.Slot{
		{Name: registry.ParamDocumentEntryPatientID, Values: []string{"'" + cx(patientP) + "'"}},
		{Name: registry.ParamDocumentEntryStatus, Values: []string{"('" + registry.StatusApproved + "')"}},
	}}
	if _, err := f.guard.FederatedQuery(ctx, call(healthWorker(patientP), audit.TxITI18), q); err != nil {
		t.Fatal(err)
	}
	root.End()
	for _, r := range []struct {
		region  *xcatest.Region
		outcome string
	}{{f.vest, "ok"}, {f.nord, "unreachable"}} {
		s := communitySpan(rec, root.SpanContext(), "ITI-38 "+r.region.ID, r.region.ID)
		if s == nil {
			t.Errorf("no ITI-38 client span for %s under the request's span", r.region.Name)
			continue
		}
		if got := spanAttr(s, "pjd.community.outcome"); got != r.outcome {
			t.Errorf("%s: outcome %q, want %q", r.region.Name, got, r.outcome)
		}
	}
	_, hs := f.vest.Queries()
	s := communitySpan(rec, root.SpanContext(), "ITI-38 "+f.vest.ID, f.vest.ID)
	if len(hs) != 1 || s == nil || !strings.Contains(hs[0].Get("traceparent"), s.SpanContext().SpanID().String()) {
		t.Errorf("Helse Vest got traceparent %v, want the ITI-38 span's", hs)
	}
}

// A read of another community's document (ITI-68, the viewer, ITI-43 at
// /xca/initiating) is traced per call: the metadata lookup ("ITI-38
// <home>") and the retrieval ("ITI-39 <home>", which lasts until the
// document is closed), each a client span under the request's span with
// the community and its outcome.
func TestRemoteReadSpans(t *testing.T) {
	f := newFederation(t, nil)
	rec := recordSpans(t)
	ctx, root := otel.Tracer("test").Start(context.Background(), "GET /mhd/document")
	doc, err := f.guard.OpenDocumentIn(ctx, call(healthWorker(patientP), audit.TxITI68), f.vest.ID,
		registry.SampleRepositoryUniqueID, uidVest, patientP)
	if err != nil {
		t.Fatal(err)
	}
	// The test region answers no ITI-39: the retrieval fails, and its
	// span says so.
	if rc, _, err := doc.Open(ctx); err == nil {
		rc.Close()
		t.Fatal("the test region answered an ITI-39")
	}
	root.End()
	lookup := communitySpan(rec, root.SpanContext(), "ITI-38 "+f.vest.ID, f.vest.ID)
	if lookup == nil || spanAttr(lookup, "pjd.community.outcome") != "ok" {
		t.Errorf("metadata lookup span %v, want one with outcome ok", lookup)
	}
	retrieve := communitySpan(rec, root.SpanContext(), "ITI-39 "+f.vest.ID, f.vest.ID)
	if retrieve == nil {
		t.Fatal("no ITI-39 client span under the request's span")
	}
	if got := spanAttr(retrieve, "pjd.community.outcome"); got == "ok" || got == "" {
		t.Errorf("ITI-39 outcome %q, want the failure", got)
	}
}
