package fhir

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"strconv"
)

// ContentType is the media type of every FHIR response pjd sends.
const ContentType = "application/fhir+json; charset=utf-8"

// Encode writes v as FHIR JSON (no HTML escaping of <, > and &, which
// FHIR does not need; indented when pretty, as _pretty=true asks).
//
// A Bundle (a search answer) is written by encodeBundle, byte for byte
// what encoding/json writes, without the cost encoding/json adds to every
// entry: it re-scans and compacts what Resource.MarshalJSON returns.
func Encode(w io.Writer, v any, pretty bool) error {
	if !pretty {
		switch b := v.(type) {
		case Bundle:
			return encodeBundle(w, &b)
		case *Bundle:
			if b != nil {
				return encodeBundle(w, b)
			}
		}
	}
	return encodeJSON(w, v, pretty)
}

// encodeJSON is Encode by encoding/json alone.
func encodeJSON(w io.Writer, v any, pretty bool) error {
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(false)
	if pretty {
		enc.SetIndent("", "  ")
	}
	return enc.Encode(v)
}

// bundleWriter writes JSON values into buf without HTML escaping.
type bundleWriter struct {
	buf *bytes.Buffer
	enc *json.Encoder
	err error
}

// field writes `,"name":` (no comma when first) and v, as encoding/json.
func (bw *bundleWriter) field(first bool, name string, v any) {
	if bw.err != nil {
		return
	}
	if !first {
		bw.buf.WriteByte(',')
	}
	bw.buf.WriteString(`"` + name + `":`)
	bw.value(v)
}

// value writes v as encoding/json does (without the newline Encode adds).
func (bw *bundleWriter) value(v any) {
	if bw.err != nil {
		return
	}
	if bw.err = bw.enc.Encode(v); bw.err == nil {
		bw.buf.Truncate(bw.buf.Len() - 1)
	}
}

// resource writes r as encoding/json writes a *Resource field: the held
// resource encoded directly, a RawResource compacted.
func (bw *bundleWriter) resource(r *Resource) {
	if bw.err != nil {
		return
	}
	switch v := r.Value.(type) {
	case *RawResource:
		bw.err = json.Compact(bw.buf, v.JSON)
	case nil:
		bw.buf.WriteString("null")
	default:
		bw.value(v)
	}
}

// encodeBundle writes b as encodeJSON(w, b, false) does, field by field in
// the struct's order with its omitempty rules (TestEncodeBundleFields
// fails when Bundle or BundleEntry gains a field this does not know).
//
// Like encoding/json, it writes all or nothing: into w directly when w is
// a bytes.Buffer (cut back on error), else through a buffer of its own.
func encodeBundle(w io.Writer, b *Bundle) error {
	bw := &bundleWriter{}
	direct, _ := w.(*bytes.Buffer)
	start := 0
	if direct != nil {
		bw.buf, start = direct, direct.Len()
	} else {
		bw.buf = &bytes.Buffer{}
	}
	bw.enc = json.NewEncoder(bw.buf)
	bw.enc.SetEscapeHTML(false)
	bw.buf.WriteByte('{')
	bw.field(true, "resourceType", b.ResourceType)
	if b.ID != "" {
		bw.field(false, "id", b.ID)
	}
	if b.Meta != nil {
		bw.field(false, "meta", b.Meta)
	}
	bw.field(false, "type", b.Type)
	if b.Timestamp != "" {
		bw.field(false, "timestamp", b.Timestamp)
	}
	if b.Total != nil {
		bw.field(false, "total", *b.Total)
	}
	if len(b.Link) > 0 {
		bw.field(false, "link", b.Link)
	}
	if len(b.Entry) > 0 {
		bw.buf.WriteString(`,"entry":[`)
		for i := range b.Entry {
			e := &b.Entry[i]
			if i > 0 {
				bw.buf.WriteByte(',')
			}
			bw.buf.WriteByte('{')
			first := true
			if e.FullURL != "" {
				bw.field(first, "fullUrl", e.FullURL)
				first = false
			}
			if e.Resource != nil {
				if !first {
					bw.buf.WriteByte(',')
				}
				bw.buf.WriteString(`"resource":`)
				bw.resource(e.Resource)
				first = false
			}
			if e.Search != nil {
				bw.field(first, "search", e.Search)
				first = false
			}
			if e.Request != nil {
				bw.field(first, "request", e.Request)
				first = false
			}
			if e.Response != nil {
				bw.field(first, "response", e.Response)
			}
			bw.buf.WriteByte('}')
		}
		bw.buf.WriteByte(']')
	}
	bw.buf.WriteString("}\n")
	if bw.err != nil {
		bw.buf.Truncate(start)
		return bw.err
	}
	if direct != nil {
		return nil
	}
	_, err := w.Write(bw.buf.Bytes())
	return err
}

// renderingFailed is sent when a value cannot be encoded (which only a
// bug can cause): it says nothing more.
var renderingFailed = []byte(`{"resourceType":"OperationOutcome","issue":[{"severity":"error","code":"exception","diagnostics":"internal error"}]}` + "\n")

// Write answers with v as FHIR JSON: status, ContentType, Content-Length,
// no caching and no sniffing. It is the one writer of FHIR responses;
// WriteError and WriteTransient go through it.
func Write(w http.ResponseWriter, status int, v any, pretty bool) {
	var b bytes.Buffer
	if err := Encode(&b, v, pretty); err != nil {
		WriteBody(w, http.StatusInternalServerError, renderingFailed)
		return
	}
	WriteBody(w, status, b.Bytes())
}

// WriteBody answers with body, FHIR JSON already rendered (an answer
// rendered while its audit record commits), with the headers of Write.
func WriteBody(w http.ResponseWriter, status int, body []byte) {
	h := w.Header()
	h.Set("Content-Type", ContentType)
	h.Set("Cache-Control", "no-store")
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Content-Length", strconv.Itoa(len(body)))
	w.WriteHeader(status)
	_, _ = w.Write(body)
}

// WriteError answers with e's status and OperationOutcome.
func WriteError(w http.ResponseWriter, e *Error) { Write(w, e.Status, e.Outcome, false) }

// WriteTransient answers a request that failed because something the
// server depends on is unavailable: 503, Retry-After (seconds), and an
// OperationOutcome with code transient saying what to do.
func WriteTransient(w http.ResponseWriter, retryAfter int, msg string) {
	w.Header().Set("Retry-After", strconv.Itoa(retryAfter))
	WriteError(w, NewError(http.StatusServiceUnavailable, IssueTransient, "", "%s", msg))
}
