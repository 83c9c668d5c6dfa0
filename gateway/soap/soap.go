package soap

import "errors"

// XML namespaces this package reads and writes.
const (
	NSEnvelope   = "http://www.w3.org/2003/05/soap-envelope"
	NSEnvelope11 = "http://schemas.xmlsoap.org/soap/envelope/"
	NSAddressing = "http://www.w3.org/2005/08/addressing"
	NSXOP        = "http://www.w3.org/2004/08/xop/include"
	NSSecurity   = "http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-wssecurity-secext-1.0.xsd"
)

// Well-known WS-Addressing values.
const (
	// AnonymousAddress is the only reply address pjd accepts: replies go
	// back on the HTTP response.
	AnonymousAddress = "http://www.w3.org/2005/08/addressing/anonymous"
	// NoneAddress means "do not send a reply"; pjd rejects it for
	// request-response operations.
	NoneAddress = "http://www.w3.org/2005/08/addressing/none"

	// ActionAddressingFault is the [action] of faults defined by
	// WS-Addressing 1.0 SOAP Binding §6 (InvalidAddressingHeader,
	// MessageAddressingHeaderRequired, ActionNotSupported …).
	ActionAddressingFault = "http://www.w3.org/2005/08/addressing/fault"
	// ActionSOAPFault is the [action] of faults defined by SOAP itself
	// (Sender, Receiver, VersionMismatch, MustUnderstand), WS-Addressing
	// 1.0 SOAP Binding §6.
	ActionSOAPFault = "http://www.w3.org/2005/08/addressing/soap/fault"
)

// Media types.
const (
	MediaSOAP12    = "application/soap+xml"
	MediaSOAP11    = "text/xml"
	MediaXOP       = "application/xop+xml"
	MediaMultipart = "multipart/related"
)

// Error kinds. Every error this package returns from reading a message is a
// *Fault (or wraps one) that also matches one of these with errors.Is, so a
// caller can decide what to answer without looking at strings.
var (
	// ErrTooLarge: the envelope exceeded Limits.MaxEnvelope or the whole
	// body exceeded Limits.MaxRequest. A handler in the middle of storing a
	// document answers "document too large".
	ErrTooLarge = errors.New("soap: message too large")
	// ErrMalformed: not well-formed XML, invalid UTF-8, broken MIME
	// framing, a truncated body, or an envelope that is not SOAP 1.2 shaped.
	ErrMalformed = errors.New("soap: malformed message")
	// ErrForbiddenXML: a DTD, entity declaration, processing instruction or
	// other construct SOAP 1.2 forbids.
	ErrForbiddenXML = errors.New("soap: forbidden XML construct")
	// ErrLimit: nesting depth, element count, attribute count or part count
	// exceeded its limit.
	ErrLimit = errors.New("soap: structural limit exceeded")
	// ErrMediaType: the HTTP Content-Type is not SOAP 1.2 or MTOM, or a
	// charset other than UTF-8 was declared.
	ErrMediaType = errors.New("soap: unsupported media type")
	// ErrVersion: the message is SOAP 1.1 (or another envelope version).
	ErrVersion = errors.New("soap: unsupported SOAP version")
	// ErrAddressing: a WS-Addressing header is missing, repeated or invalid.
	ErrAddressing = errors.New("soap: missing or invalid WS-Addressing header")
	// ErrActionNotSupported: the endpoint has no operation for the Action.
	ErrActionNotSupported = errors.New("soap: action not supported")
	// ErrNotUnderstood: a header block marked mustUnderstand is not one
	// this package understands.
	ErrNotUnderstood = errors.New("soap: mandatory header not understood")
	// ErrXOP: an xop:Include is malformed, refers to something other than
	// a cid: URL, or names a part that is missing or repeated.
	ErrXOP = errors.New("soap: invalid XOP include")
	// ErrReceiver: the service failed while processing a valid request.
	ErrReceiver = errors.New("soap: receiver error")
	// ErrBusy: the service is at its limit of concurrent work and did not
	// read the request; the client should retry later (HTTP 503 with
	// Retry-After).
	ErrBusy = errors.New("soap: service busy")
	// ErrTimeout: the message stopped arriving, or did not arrive within
	// the time allowed, before it was complete.
	ErrTimeout = errors.New("soap: message did not arrive in time")

	// ErrRelatesTo (client): the response's RelatesTo is not the request's
	// MessageID.
	ErrRelatesTo = errors.New("soap: response does not relate to the request")
	// ErrUnexpectedResponse (client): the HTTP response is not a SOAP
	// message (wrong status or content type).
	ErrUnexpectedResponse = errors.New("soap: unexpected HTTP response")
)

// Limits bound what reading a message may cost. A zero field takes the
// value from DefaultLimits (MaxEnvelope of a request: from
// DefaultRequestEnvelope).
type Limits struct {
	// MaxEnvelope is the largest SOAP envelope in bytes: the whole body of
	// a plain SOAP message, or the root part of an MTOM message. The
	// envelope is held in memory (and parsed into a tree several times its
	// size); attachments are not.
	MaxEnvelope int64
	// MaxRequest is the largest HTTP body in bytes, all MIME parts
	// together. It is enforced while attachments stream.
	MaxRequest int64
	// MaxDepth is the deepest element nesting allowed in the envelope.
	MaxDepth int
	// MaxElements is the most elements plus comments the envelope may hold.
	MaxElements int
	// MaxAttrs is the most attributes (namespace declarations included) one
	// element may carry.
	MaxAttrs int
	// MaxParts is the most MIME parts after the root part.
	MaxParts int
}

// DefaultRequestEnvelope is the largest request envelope ReadRequest
// accepts when Limits.MaxEnvelope is zero. Requests are read before their
// sender is authenticated (the XUA assertion is inside), so this bound is
// what an anonymous client can make the server hold. 4 MiB is room for an
// ITI-42 register of a few thousand DocumentEntries, or ITI-41 documents
// of about 3 MiB sent inline as base64; larger documents travel as MTOM
// attachments, which stream and do not count. A stored query is a few KiB.
const DefaultRequestEnvelope = 4 << 20

// DefaultLimits suit XDS.b traffic: response envelopes of up to 32 MiB
// (an ITI-18 answer of thousands of DocumentEntries), request envelopes of
// DefaultRequestEnvelope, and attachments up to 2 GiB in total.
var DefaultLimits = Limits{
	MaxEnvelope: 32 << 20,
	MaxRequest:  2 << 30,
	MaxDepth:    64,
	MaxElements: 200_000,
	MaxAttrs:    128,
	MaxParts:    10_000,
}

// forRequests fills l's zero fields for reading a request.
func (l Limits) forRequests() Limits {
	orDefault(&l.MaxEnvelope, DefaultRequestEnvelope)
	return l.withDefaults()
}

func (l Limits) withDefaults() Limits {
	d := DefaultLimits
	orDefault(&l.MaxEnvelope, d.MaxEnvelope)
	orDefault(&l.MaxRequest, d.MaxRequest)
	orDefault(&l.MaxDepth, d.MaxDepth)
	orDefault(&l.MaxElements, d.MaxElements)
	orDefault(&l.MaxAttrs, d.MaxAttrs)
	orDefault(&l.MaxParts, d.MaxParts)
	return l
}

// orDefault sets *v to d when it is not positive.
func orDefault[T int | int64](v *T, d T) {
	if *v <= 0 {
		*v = d
	}
}
