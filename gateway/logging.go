package gateway

import (
	"context"
	"log/slog"
	"regexp"
	"strings"
)

// Personal data never reaches the logs: attributes whose key names a person
// or a national identity number are dropped, and string values that look
// like an 11-digit Norwegian identity number are masked. Audit records, not
// logs, are where who-looked-at-whom is kept.

var sensitiveKeys = map[string]bool{
	"patient": true, "patient_id": true, "patientid": true, "fnr": true, "nin": true, "pid": true,
	"name": true, "given": true, "family": true, "person": true, "subject": true, "ssn": true,
	"authorization_header": true, "token": true, "access_token": true, "dpop": true,
}

var ninPattern = regexp.MustCompile(`\b\d{11}\b`)

// RedactingHandler wraps a slog.Handler and removes personal data from
// every record: attributes with sensitive keys, and identity-number-shaped
// digits in string values (including the message).
type RedactingHandler struct{ next slog.Handler }

// NewRedactingHandler returns h wrapped so that it never logs personal data.
func NewRedactingHandler(h slog.Handler) *RedactingHandler { return &RedactingHandler{next: h} }

func (h *RedactingHandler) Enabled(ctx context.Context, l slog.Level) bool {
	return h.next.Enabled(ctx, l)
}

func (h *RedactingHandler) Handle(ctx context.Context, r slog.Record) error {
	nr := slog.NewRecord(r.Time, r.Level, maskNIN(r.Message), r.PC)
	r.Attrs(func(a slog.Attr) bool {
		if a, ok := redactAttr(a); ok {
			nr.AddAttrs(a)
		}
		return true
	})
	if id := RequestIDFrom(ctx); id != "" {
		nr.AddAttrs(slog.String("request_id", id))
	}
	return h.next.Handle(ctx, nr)
}

func (h *RedactingHandler) WithAttrs(attrs []slog.Attr) slog.Handler {
	kept := make([]slog.Attr, 0, len(attrs))
	for _, a := range attrs {
		if a, ok := redactAttr(a); ok {
			kept = append(kept, a)
		}
	}
	return &RedactingHandler{next: h.next.WithAttrs(kept)}
}

func (h *RedactingHandler) WithGroup(name string) slog.Handler {
	return &RedactingHandler{next: h.next.WithGroup(name)}
}

func redactAttr(a slog.Attr) (slog.Attr, bool) {
	if sensitiveKeys[strings.ToLower(a.Key)] {
		return a, false
	}
	v := a.Value.Resolve()
	switch v.Kind() {
	case slog.KindString:
		return slog.String(a.Key, maskNIN(v.String())), true
	case slog.KindGroup:
		var kept []any
		for _, g := range v.Group() {
			if g, ok := redactAttr(g); ok {
				kept = append(kept, g)
			}
		}
		return slog.Group(a.Key, kept...), true
	case slog.KindAny:
		if err, ok := v.Any().(error); ok {
			return slog.String(a.Key, maskNIN(err.Error())), true
		}
		return slog.Attr{Key: a.Key, Value: v}, true
	default:
		return slog.Attr{Key: a.Key, Value: v}, true
	}
}

func maskNIN(s string) string {
	if !strings.ContainsAny(s, "0123456789") {
		return s
	}
	return ninPattern.ReplaceAllString(s, "***********")
}

type ctxKey int

const requestIDKey ctxKey = iota

// WithRequestID returns ctx carrying the request id.
func WithRequestID(ctx context.Context, id string) context.Context {
	return context.WithValue(ctx, requestIDKey, id)
}

// RequestIDFrom returns the request id in ctx, or "".
func RequestIDFrom(ctx context.Context) string {
	id, _ := ctx.Value(requestIDKey).(string)
	return id
}
