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
func Encode(w io.Writer, v any, pretty bool) error {
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(false)
	if pretty {
		enc.SetIndent("", "  ")
	}
	return enc.Encode(v)
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
