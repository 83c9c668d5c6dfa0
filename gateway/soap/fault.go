package soap

import (
	"bufio"
	"fmt"
	"net/http"
	"strings"

	"github.com/beevik/etree"
)

// Code is a SOAP 1.2 fault code: the local name of a QName in the SOAP
// envelope namespace.
type Code string

// The SOAP 1.2 fault codes (SOAP 1.2 Part 1 §5.4.6).
const (
	CodeVersionMismatch     Code = "VersionMismatch"
	CodeMustUnderstand      Code = "MustUnderstand"
	CodeDataEncodingUnknown Code = "DataEncodingUnknown"
	CodeSender              Code = "Sender"
	CodeReceiver            Code = "Receiver"
)

// QName is a namespace-qualified XML name.
type QName struct {
	Space string // namespace URI
	Local string
}

func (q QName) String() string {
	if q.Space == "" {
		return q.Local
	}
	return "{" + q.Space + "}" + q.Local
}

// WS-Addressing fault subcodes (WS-Addressing 1.0 SOAP Binding §6.4).
var (
	SubcodeInvalidAddressingHeader         = QName{NSAddressing, "InvalidAddressingHeader"}
	SubcodeInvalidCardinality              = QName{NSAddressing, "InvalidCardinality"}
	SubcodeActionMismatch                  = QName{NSAddressing, "ActionMismatch"}
	SubcodeOnlyAnonymousAddressSupported   = QName{NSAddressing, "OnlyAnonymousAddressSupported"}
	SubcodeInvalidEPR                      = QName{NSAddressing, "InvalidEPR"} // ReplyTo/FaultTo/From without an Address
	SubcodeMessageAddressingHeaderRequired = QName{NSAddressing, "MessageAddressingHeaderRequired"}
	SubcodeActionNotSupported              = QName{NSAddressing, "ActionNotSupported"}
)

// Fault is a SOAP 1.2 fault. It is the one error type this package returns
// for a message that cannot be accepted, and the error a Client returns
// when the remote side answers with a fault.
//
// Reason is sent to the client and must never carry internal detail; the
// internal cause of a fault built by this package is kept for logs and
// reachable with errors.Is / errors.As, never written to the wire.
type Fault struct {
	Code     Code
	Subcodes []QName // outermost first: Subcode, then its Subcode …
	Reason   string  // English, client-facing
	// Detail holds the children of env:Detail, if any. Each element must
	// declare the namespaces it uses.
	Detail []*etree.Element
	// RelatesTo is the MessageID of the request the fault answers, when it
	// was read before the fault arose.
	RelatesTo string
	// NotUnderstood lists the header blocks behind a MustUnderstand fault.
	NotUnderstood []QName

	kind   error // one of the Err* kinds
	cause  error // internal detail, never sent
	status int   // HTTP status override (415, 405); 0 = by code
	soap11 bool  // answer in SOAP 1.1 form (VersionMismatch to a 1.1 sender)
}

func (f *Fault) Error() string {
	var b strings.Builder
	b.WriteString("soap fault ")
	b.WriteString(string(f.Code))
	for _, s := range f.Subcodes {
		b.WriteByte('/')
		b.WriteString(s.Local)
	}
	b.WriteString(": ")
	b.WriteString(f.Reason)
	if f.cause != nil {
		b.WriteString(": ")
		b.WriteString(f.cause.Error())
	}
	return b.String()
}

// Unwrap exposes the fault's kind (ErrTooLarge, ErrAddressing …) and its
// internal cause to errors.Is and errors.As.
func (f *Fault) Unwrap() []error {
	var errs []error
	if f.kind != nil {
		errs = append(errs, f.kind)
	}
	if f.cause != nil {
		errs = append(errs, f.cause)
	}
	return errs
}

// HTTPStatus is the status the SOAP 1.2 HTTP binding gives this fault:
// 400 for env:Sender, 500 for everything else. A body that is not SOAP at
// all gets 415, a body that stopped arriving 408, and a request refused
// because the service is busy (BusyFault) 503.
func (f *Fault) HTTPStatus() int {
	if f.status != 0 {
		return f.status
	}
	if f.Code == CodeSender && !f.soap11 {
		return http.StatusBadRequest
	}
	return http.StatusInternalServerError
}

// Action is the WS-Addressing [action] of the fault message.
func (f *Fault) Action() string {
	for _, s := range f.Subcodes {
		if s.Space == NSAddressing {
			return ActionAddressingFault
		}
	}
	return ActionSOAPFault
}

// SenderFault is a fault blaming the request. reason goes to the client;
// cause (may be nil) stays in the server's logs.
func SenderFault(reason string, cause error) *Fault {
	return &Fault{Code: CodeSender, Reason: reason, cause: cause}
}

// ReceiverFault is a fault blaming the service. reason goes to the client
// and must be generic; cause (may be nil) stays in the server's logs.
func ReceiverFault(reason string, cause error) *Fault {
	return &Fault{Code: CodeReceiver, Reason: reason, kind: ErrReceiver, cause: cause}
}

// BusyFault is the fault of a request the service did not take on because
// it is at its limit of concurrent work: a Receiver fault sent with HTTP
// 503 and Retry-After, so that clients and load balancers retry later.
// reason goes to the client.
func BusyFault(reason string) *Fault {
	return &Fault{Code: CodeReceiver, Reason: reason, kind: ErrBusy, status: http.StatusServiceUnavailable}
}

// RetryAfter is the Retry-After (seconds) sent with a BusyFault.
const RetryAfter = "1"

// ActionNotSupportedFault is the WS-Addressing fault for an Action the
// endpoint does not implement.
func ActionNotSupportedFault(action string) *Fault {
	pa := newElement(NSAddressing, "wsa", "ProblemAction")
	a := pa.CreateElement("wsa:Action")
	a.SetText(action)
	return &Fault{
		Code:     CodeSender,
		Subcodes: []QName{SubcodeActionNotSupported},
		Reason:   "The [action] cannot be processed at the receiver",
		Detail:   []*etree.Element{pa},
		kind:     ErrActionNotSupported,
	}
}

// faultf builds a fault of the given kind; reason is client-facing.
func faultf(code Code, kind error, cause error, reason string, subcodes ...QName) *Fault {
	return &Fault{Code: code, Subcodes: subcodes, Reason: reason, kind: kind, cause: cause}
}

func problemHeader(local string) []*etree.Element {
	e := newElement(NSAddressing, "wsa", "ProblemHeaderQName")
	e.SetText("wsa:" + local)
	return []*etree.Element{e}
}

func headerRequired(local string) *Fault {
	f := faultf(CodeSender, ErrAddressing, nil,
		"A required header representing a Message Addressing Property is not present",
		SubcodeMessageAddressingHeaderRequired)
	f.Detail = problemHeader(local)
	return f
}

func invalidHeader(local string, sub QName, cause error) *Fault {
	f := faultf(CodeSender, ErrAddressing, cause,
		"A header representing a Message Addressing Property is not valid and the message cannot be processed",
		SubcodeInvalidAddressingHeader, sub)
	f.Detail = problemHeader(local)
	return f
}

func versionMismatch(soap11 bool, cause error) *Fault {
	f := faultf(CodeVersionMismatch, ErrVersion, cause, "Only SOAP 1.2 is supported")
	f.soap11 = soap11
	return f
}

// newElement makes a standalone element that declares its own namespace.
func newElement(space, prefix, local string) *etree.Element {
	e := etree.NewElement(prefix + ":" + local)
	e.CreateAttr("xmlns:"+prefix, space)
	return e
}

// WriteFault answers with f: a SOAP 1.2 env:Fault carrying WS-Addressing
// headers and the status from f.HTTPStatus(). A fault answering a SOAP 1.1
// message is written in SOAP 1.1 form with an env:Upgrade header, as SOAP
// 1.2 Part 1 Appendix A asks. Nothing of f's internal cause is written.
func WriteFault(w http.ResponseWriter, f *Fault) error {
	h := w.Header()
	if f.soap11 {
		h.Set("Content-Type", "text/xml; charset=utf-8")
	} else {
		h.Set("Content-Type", contentTypeWithAction(MediaSOAP12, f.Action()))
	}
	h.Del("Content-Length")
	if f.kind == ErrBusy {
		h.Set("Retry-After", RetryAfter)
	}
	w.WriteHeader(f.HTTPStatus())
	bw := bufio.NewWriter(w)
	if f.soap11 {
		writeFault11(bw, f)
	} else {
		writeEnvelope(bw, outHeader{
			action:        f.Action(),
			messageID:     newMessageID(),
			relatesTo:     f.RelatesTo,
			to:            AnonymousAddress,
			notUnderstood: f.NotUnderstood,
			upgrade:       f.Code == CodeVersionMismatch,
		}, f.element())
	}
	return bw.Flush()
}

// element renders the env:Fault element. Prefixes env and wsa are declared
// by the enclosing envelope.
func (f *Fault) element() *etree.Element {
	fe := etree.NewElement("env:Fault")
	code := fe.CreateElement("env:Code")
	code.CreateElement("env:Value").SetText("env:" + string(f.Code))
	parent := code
	for i, sc := range f.Subcodes {
		s := parent.CreateElement("env:Subcode")
		v := s.CreateElement("env:Value")
		switch sc.Space {
		case NSEnvelope:
			v.SetText("env:" + sc.Local)
		case NSAddressing:
			v.SetText("wsa:" + sc.Local)
		default:
			p := fmt.Sprintf("sc%d", i)
			v.CreateAttr("xmlns:"+p, sc.Space)
			v.SetText(p + ":" + sc.Local)
		}
		parent = s
	}
	t := fe.CreateElement("env:Reason").CreateElement("env:Text")
	t.CreateAttr("xml:lang", "en")
	t.SetText(f.Reason)
	if len(f.Detail) > 0 {
		d := fe.CreateElement("env:Detail")
		for _, c := range f.Detail {
			d.AddChild(c.Copy())
		}
	}
	return fe
}

func writeFault11(w *bufio.Writer, f *Fault) {
	w.WriteString(`<?xml version="1.0" encoding="UTF-8"?>` +
		`<s11:Envelope xmlns:s11="` + NSEnvelope11 + `"><s11:Header>` +
		`<env:Upgrade xmlns:env="` + NSEnvelope + `"><env:SupportedEnvelope qname="env:Envelope"/></env:Upgrade>` +
		`</s11:Header><s11:Body><s11:Fault><faultcode>s11:`)
	if f.Code == CodeVersionMismatch {
		w.WriteString("VersionMismatch")
	} else if f.Code == CodeSender {
		w.WriteString("Client")
	} else {
		w.WriteString("Server")
	}
	w.WriteString(`</faultcode><faultstring xml:lang="en">`)
	escapeText(w, f.Reason)
	w.WriteString(`</faultstring></s11:Fault></s11:Body></s11:Envelope>`)
}

// parseFault reads a received env:Fault element.
func parseFault(fe *etree.Element) *Fault {
	f := &Fault{Code: CodeReceiver}
	code := childNS(fe, NSEnvelope, "Code")
	if v := childNS(code, NSEnvelope, "Value"); v != nil {
		if q, ok := resolveQName(v, strings.TrimSpace(v.Text())); ok && q.Space == NSEnvelope {
			f.Code = Code(q.Local)
		}
	}
	for sc := childNS(code, NSEnvelope, "Subcode"); sc != nil && len(f.Subcodes) < 8; sc = childNS(sc, NSEnvelope, "Subcode") {
		v := childNS(sc, NSEnvelope, "Value")
		if v == nil {
			break
		}
		if q, ok := resolveQName(v, strings.TrimSpace(v.Text())); ok {
			f.Subcodes = append(f.Subcodes, q)
		}
	}
	if r := childNS(fe, NSEnvelope, "Reason"); r != nil {
		for _, t := range childrenNS(r, NSEnvelope, "Text") {
			lang := t.SelectAttrValue("xml:lang", "")
			if f.Reason == "" || strings.HasPrefix(strings.ToLower(lang), "en") {
				f.Reason = strings.TrimSpace(t.Text())
			}
		}
	}
	if d := childNS(fe, NSEnvelope, "Detail"); d != nil {
		f.Detail = d.ChildElements()
	}
	f.kind = kindOf(f)
	return f
}

func kindOf(f *Fault) error {
	for _, s := range f.Subcodes {
		switch s {
		case SubcodeActionNotSupported:
			return ErrActionNotSupported
		case SubcodeInvalidAddressingHeader, SubcodeMessageAddressingHeaderRequired:
			return ErrAddressing
		}
	}
	switch f.Code {
	case CodeVersionMismatch:
		return ErrVersion
	case CodeMustUnderstand:
		return ErrNotUnderstood
	case CodeReceiver:
		return ErrReceiver
	}
	return nil
}
