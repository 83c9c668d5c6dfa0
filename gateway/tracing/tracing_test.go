package tracing

import (
	"context"
	"net/http"
	"net/http/httptest"
	"testing"

	"go.opentelemetry.io/otel/trace"
)

func TestTracesURL(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"http://127.0.0.1:4318", "http://127.0.0.1:4318/v1/traces"},
		{"http://127.0.0.1:4318/", "http://127.0.0.1:4318/v1/traces"},
		{"https://otel.example.no/custom/traces", "https://otel.example.no/custom/traces"},
		{"127.0.0.1:4318", ""},
		{"grpc://127.0.0.1:4317", ""},
		{"http://", ""},
		{"http://127.0.0.1:4318/?a=b", ""},
		{"http://127.0.0.1:4318/#f", ""},
	} {
		got, err := tracesURL(tc.in)
		if tc.want == "" {
			if err == nil {
				t.Errorf("tracesURL(%q) = %q, want an error", tc.in, got)
			}
			continue
		}
		if err != nil || got != tc.want {
			t.Errorf("tracesURL(%q) = %q, %v, want %q", tc.in, got, err, tc.want)
		}
	}
}

// Without Setup (no --otlp-endpoint) the handler neither continues the
// incoming traceparent nor puts a span in the context, and Inject leaves
// the outbound header to the caller.
func TestNoTracerIsNoOp(t *testing.T) {
	var ctx context.Context
	h := Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ctx = r.Context()
		w.WriteHeader(http.StatusTeapot)
	}))
	r := httptest.NewRequest(http.MethodGet, "/x", nil)
	r.Header.Set("traceparent", "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01")
	w := httptest.NewRecorder()
	h.ServeHTTP(w, r)
	if w.Code != http.StatusTeapot {
		t.Fatalf("status %d, want the handler's 418", w.Code)
	}
	if trace.SpanContextFromContext(ctx).IsValid() {
		t.Fatal("without Setup the request context has a span context")
	}
	cctx, span := StartClient(ctx, "call")
	defer span.End()
	hdr := http.Header{}
	if Inject(cctx, hdr) || hdr.Get("traceparent") != "" {
		t.Fatalf("without Setup Inject set %q", hdr.Get("traceparent"))
	}
}
