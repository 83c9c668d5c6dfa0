package gateway

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"strconv"
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
		x := v.Any()
		if err, ok := x.(error); ok {
			return slog.String(a.Key, maskNIN(err.Error())), true
		}
		// Any other value (a slice, a struct, a URL, raw JSON …) is
		// rendered by the next handler with fmt or encoding/json; if
		// either rendering would show an identity number, the value is
		// logged as its masked rendering instead.
		if f := render(func() string { return fmt.Sprintf("%+v", x) }); hasNIN(f) {
			return slog.String(a.Key, maskNIN(f)), true
		}
		if j := render(func() string { b, _ := json.Marshal(x); return string(b) }); hasNIN(j) {
			return slog.String(a.Key, maskNIN(j)), true
		}
		return slog.Attr{Key: a.Key, Value: v}, true
	case slog.KindInt64, slog.KindUint64, slog.KindFloat64:
		// An identity number parsed into a number is still one.
		s := v.String()
		if v.Kind() == slog.KindFloat64 {
			s = strconv.FormatFloat(v.Float64(), 'f', -1, 64)
		}
		if hasNIN(s) {
			return slog.String(a.Key, maskNIN(s)), true
		}
		return slog.Attr{Key: a.Key, Value: v}, true
	default:
		return slog.Attr{Key: a.Key, Value: v}, true
	}
}

// maskNIN replaces every run of exactly eleven digits in s — however it is
// surrounded ("pid12345678901", "fnr_…", "…^^^&OID") — with asterisks.
func maskNIN(s string) string {
	if !strings.ContainsAny(s, "0123456789") {
		return s
	}
	var b []byte
	run := 0
	for i := 0; i <= len(s); i++ {
		if i < len(s) && s[i] >= '0' && s[i] <= '9' {
			run++
			continue
		}
		if run == 11 {
			if b == nil {
				b = []byte(s)
			}
			for j := i - 11; j < i; j++ {
				b[j] = '*'
			}
		}
		run = 0
	}
	if b == nil {
		return s
	}
	return string(b)
}

func hasNIN(s string) bool { return maskNIN(s) != s }

// render calls fn, treating a panic (from a value's String or MarshalJSON
// method) as an empty rendering.
func render(fn func() string) (s string) {
	defer func() {
		if recover() != nil {
			s = ""
		}
	}()
	return fn()
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
