package soap

import (
	"errors"
	"log/slog"
	"net/http"
)

// Request is a SOAP 1.2 request read from an HTTP request.
type Request struct {
	*Message
	// HTTP is the underlying request (context, TLS state, remote address).
	// Its body belongs to the Message: read attachments with NextPart.
	HTTP *http.Request
}

// ReadRequest reads and checks a SOAP 1.2 request, plain
// (application/soap+xml) or MTOM (multipart/related;
// type="application/xop+xml"). The envelope is read into memory within
// lim; MTOM attachments stay on the connection and stream through
// NextPart. Every error is a *Fault ready for WriteFault; it also matches
// one of the Err* kinds with errors.Is. A zero lim.MaxEnvelope is
// DefaultRequestEnvelope.
//
// Checks, in order: media type and charset (SOAP 1.1 gets a
// VersionMismatch fault), size, XML safety (no DTD, entities, processing
// instructions; depth, element and attribute limits), SOAP 1.2 envelope
// structure, mustUnderstand header blocks, WS-Addressing (Action and
// MessageID required, no repeats, replies only to the anonymous address,
// the media-type action parameter equal to wsa:Action), a single Body
// element, and xop:Include references (cid: only).
func ReadRequest(r *http.Request, lim Limits) (*Request, error) {
	m, err := readMessage(r.Header.Get("Content-Type"), r.Body, r.ContentLength, lim.forRequests(), true)
	if err != nil {
		return nil, err
	}
	return &Request{Message: m, HTTP: r}, nil
}

// HandlerFunc handles one SOAP operation. It answers with WriteResponse,
// an MTOMWriter or WriteFault.
type HandlerFunc func(w http.ResponseWriter, r *Request)

// Mux is an http.Handler for one SOAP endpoint that dispatches on
// wsa:Action: it reads the request, answers every fault ReadRequest
// returns, and answers an Action no handler is registered for with
// wsa:ActionNotSupported.
type Mux struct {
	// Limits bound every request; zero fields take DefaultLimits.
	Limits Limits
	// Gate, if set, bounds how many envelopes are read and parsed at once
	// (shared by the endpoints it guards); a request that gets no turn is
	// answered with a BusyFault (503, Retry-After).
	Gate *Gate
	// Logger, if set, receives one record per fault the mux answers, with
	// the internal cause that the client never sees.
	Logger *slog.Logger

	handlers map[string]HandlerFunc
}

// Handle registers h for action.
func (m *Mux) Handle(action string, h HandlerFunc) {
	if m.handlers == nil {
		m.handlers = map[string]HandlerFunc{}
	}
	m.handlers[action] = h
}

// ServeHTTP implements http.Handler.
func (m *Mux) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodPost {
		w.Header().Set("Allow", http.MethodPost)
		http.Error(w, "SOAP endpoint: use POST", http.StatusMethodNotAllowed)
		return
	}
	if m.Gate != nil {
		t, err := m.Gate.enter(r)
		if err != nil {
			var f *Fault
			if !errors.As(err, &f) { // the client went away while waiting
				f = ReceiverFault("The request was cancelled", err)
			}
			m.fault(w, r, f)
			return
		}
		defer t.finish()
		req, err := ReadRequest(r, m.Limits)
		t.release()
		m.serve(w, r, req, err)
		return
	}
	req, err := ReadRequest(r, m.Limits)
	m.serve(w, r, req, err)
}

func (m *Mux) serve(w http.ResponseWriter, r *http.Request, req *Request, err error) {
	if err != nil {
		var f *Fault
		if !errors.As(err, &f) {
			f = ReceiverFault("The request could not be processed", err)
		}
		m.fault(w, r, f)
		return
	}
	h, ok := m.handlers[req.Addressing.Action]
	if !ok {
		f := ActionNotSupportedFault(req.Addressing.Action)
		f.RelatesTo = req.Addressing.MessageID
		m.fault(w, r, f)
		return
	}
	h(w, req)
}

func (m *Mux) fault(w http.ResponseWriter, r *http.Request, f *Fault) {
	if m.Logger != nil {
		attrs := []any{slog.String("code", string(f.Code)), slog.Int("status", f.HTTPStatus())}
		for _, s := range f.Subcodes {
			attrs = append(attrs, slog.String("subcode", s.Local))
		}
		if f.cause != nil {
			attrs = append(attrs, slog.String("cause", f.cause.Error()))
		}
		m.Logger.InfoContext(r.Context(), "soap fault", attrs...)
	}
	_ = WriteFault(w, f) // the client is gone if this fails; nothing left to tell it
}
