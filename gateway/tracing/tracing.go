// Package tracing is pjd's OpenTelemetry wiring, in one place: the
// exporter serve installs for --otlp-endpoint, the server span of every
// incoming request, and the spans of a federated search.
//
// Without Setup the global OpenTelemetry API stays a no-op: spans cost
// nothing, nothing is sent, no traceparent is extracted here, and the
// outbound XCA client forwards the consumer's traceparent header as it
// always has.
package tracing

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"

	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/exporters/otlp/otlptrace/otlptracehttp"
	"go.opentelemetry.io/otel/propagation"
	"go.opentelemetry.io/otel/sdk/resource"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	semconv "go.opentelemetry.io/otel/semconv/v1.43.0"
	"go.opentelemetry.io/otel/trace"
)

// ServiceName is the service.name of pjd's spans.
const ServiceName = "pjd"

// Attribute keys of pjd's own spans.
const (
	AttrCommunity = attribute.Key("pjd.community.home_community_id")
	AttrOutcome   = attribute.Key("pjd.community.outcome")
)

var errEndpoint = errors.New("the OTLP endpoint must be an http(s) URL like http://127.0.0.1:4318")

// CheckEndpoint reports whether endpoint is a usable --otlp-endpoint: an
// http(s) URL of an OTLP/HTTP receiver. A URL without a path gets the
// standard /v1/traces.
func CheckEndpoint(endpoint string) error {
	_, err := tracesURL(endpoint)
	return err
}

func tracesURL(endpoint string) (string, error) {
	u, err := url.Parse(endpoint)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || u.RawQuery != "" || u.Fragment != "" {
		return "", errEndpoint
	}
	if u.Path == "" || u.Path == "/" {
		u.Path = "/v1/traces"
	}
	return u.String(), nil
}

// Setup installs, as the global tracer provider, one that batches spans to
// the OTLP/HTTP receiver at endpoint, and the W3C trace-context
// propagator. The returned function flushes and stops it (bounded by its
// context); serve calls it on shutdown. Export errors are logged to log.
func Setup(ctx context.Context, endpoint string, log *slog.Logger) (shutdown func(context.Context) error, err error) {
	u, err := tracesURL(endpoint)
	if err != nil {
		return nil, err
	}
	exp, err := otlptracehttp.New(ctx, otlptracehttp.WithEndpointURL(u))
	if err != nil {
		return nil, fmt.Errorf("OTLP exporter: %w", err)
	}
	res, err := resource.Merge(resource.Default(), resource.NewWithAttributes(semconv.SchemaURL, semconv.ServiceName(ServiceName)))
	if err != nil {
		return nil, fmt.Errorf("OTLP resource: %w", err)
	}
	tp := sdktrace.NewTracerProvider(sdktrace.WithBatcher(exp), sdktrace.WithResource(res))
	otel.SetErrorHandler(otel.ErrorHandlerFunc(func(err error) {
		log.WarnContext(ctx, "OpenTelemetry export failed", "err", err)
	}))
	otel.SetTracerProvider(tp)
	otel.SetTextMapPropagator(propagation.TraceContext{})
	return tp.Shutdown, nil
}

func tracer() trace.Tracer { return otel.Tracer("pjd") }

// Handler wraps h so every request is a server span that continues the
// request's traceparent (when a propagator is installed by Setup).
func Handler(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ctx := otel.GetTextMapPropagator().Extract(r.Context(), propagation.HeaderCarrier(r.Header))
		ctx, span := tracer().Start(ctx, r.Method+" "+r.URL.Path, trace.WithSpanKind(trace.SpanKindServer),
			trace.WithAttributes(semconv.HTTPRequestMethodKey.String(r.Method), semconv.URLPath(r.URL.Path)))
		defer span.End()
		if !span.IsRecording() {
			h.ServeHTTP(w, r.WithContext(ctx))
			return
		}
		sw := &statusWriter{ResponseWriter: w, status: http.StatusOK}
		h.ServeHTTP(sw, r.WithContext(ctx))
		span.SetAttributes(semconv.HTTPResponseStatusCode(sw.status))
		if sw.status >= 500 {
			span.SetStatus(codes.Error, http.StatusText(sw.status))
		}
	})
}

type statusWriter struct {
	http.ResponseWriter
	status int
	wrote  bool
}

func (w *statusWriter) WriteHeader(code int) {
	if !w.wrote {
		w.status, w.wrote = code, true
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *statusWriter) Write(b []byte) (int, error) {
	w.wrote = true
	return w.ResponseWriter.Write(b)
}

// Unwrap lets http.ResponseController reach the underlying writer.
func (w *statusWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

// Start starts an internal span named name under ctx's span.
func Start(ctx context.Context, name string, attrs ...attribute.KeyValue) (context.Context, trace.Span) {
	return tracer().Start(ctx, name, trace.WithAttributes(attrs...))
}

// StartClient starts a client span (an outbound call) named name.
func StartClient(ctx context.Context, name string, attrs ...attribute.KeyValue) (context.Context, trace.Span) {
	return tracer().Start(ctx, name, trace.WithSpanKind(trace.SpanKindClient), trace.WithAttributes(attrs...))
}

// End ends span, recording err (nil for success).
func End(span trace.Span, err error) {
	if err != nil {
		span.RecordError(err)
		span.SetStatus(codes.Error, err.Error())
	}
	span.End()
}

// Inject puts ctx's trace context into h as a traceparent header and
// reports whether it did: false when ctx has no span (no tracer
// installed), so the caller keeps its own traceparent.
func Inject(ctx context.Context, h http.Header) bool {
	if !trace.SpanContextFromContext(ctx).IsValid() {
		return false
	}
	otel.GetTextMapPropagator().Inject(ctx, propagation.HeaderCarrier(h))
	return h.Get("traceparent") != ""
}
