package soap

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"mime"
	"mime/multipart"
	"net/http"
	"net/textproto"

	"github.com/beevik/etree"
	"github.com/google/uuid"
)

// rootPartType is the Content-Type of the root part of every MTOM message
// this package writes (SOAP 1.2 MTOM §3.2 / XOP §4.1).
const rootPartType = `application/xop+xml; charset=UTF-8; type="application/soap+xml"`

var writeSettings = etree.WriteSettings{}

// outHeader is what goes into the env:Header of a message we write.
type outHeader struct {
	action, messageID, relatesTo, to string
	replyTo                          bool // add ReplyTo anonymous (requests)
	extra                            []*etree.Element
	notUnderstood                    []QName
	upgrade                          bool
}

func newMessageID() string { return "urn:uuid:" + uuid.NewString() }

// writeEnvelope writes a SOAP 1.2 envelope. The prefixes env and wsa are
// declared on the Envelope; body and extra header blocks must declare any
// other prefix they use (checkNamespaces).
func writeEnvelope(w *bufio.Writer, h outHeader, body *etree.Element) {
	w.WriteString(`<?xml version="1.0" encoding="UTF-8"?><env:Envelope xmlns:env="` + NSEnvelope +
		`" xmlns:wsa="` + NSAddressing + `"><env:Header>`)
	writeWSA(w, "Action", h.action, true)
	writeWSA(w, "MessageID", h.messageID, false)
	if h.relatesTo != "" {
		writeWSA(w, "RelatesTo", h.relatesTo, false)
	}
	if h.replyTo {
		w.WriteString(`<wsa:ReplyTo><wsa:Address>` + AnonymousAddress + `</wsa:Address></wsa:ReplyTo>`)
	}
	if h.to != "" {
		writeWSA(w, "To", h.to, true)
	}
	for i, q := range h.notUnderstood {
		fmt.Fprintf(w, `<env:NotUnderstood xmlns:nu%d="`, i)
		escapeText(w, q.Space)
		fmt.Fprintf(w, `" qname="nu%d:`, i)
		escapeText(w, q.Local)
		w.WriteString(`"/>`)
	}
	if h.upgrade {
		w.WriteString(`<env:Upgrade><env:SupportedEnvelope qname="env:Envelope"/></env:Upgrade>`)
	}
	for _, e := range h.extra {
		e.WriteTo(w, &writeSettings)
	}
	w.WriteString(`</env:Header><env:Body>`)
	body.WriteTo(w, &writeSettings)
	w.WriteString(`</env:Body></env:Envelope>`)
}

func writeWSA(w *bufio.Writer, local, value string, mustUnderstand bool) {
	w.WriteString(`<wsa:` + local)
	if mustUnderstand {
		w.WriteString(` env:mustUnderstand="true"`)
	}
	w.WriteByte('>')
	escapeText(w, value)
	w.WriteString(`</wsa:` + local + `>`)
}

func contentTypeWithAction(mediaType, action string) string {
	params := map[string]string{"charset": "utf-8"}
	if action != "" {
		params["action"] = action
	}
	return mime.FormatMediaType(mediaType, params)
}

// checkOut validates an element before anything is written, so that a bad
// body is an error the caller can still turn into a fault rather than a
// half-written response.
func checkOut(action string, body *etree.Element, extra []*etree.Element) error {
	if !validAction(action) {
		return fmt.Errorf("soap: invalid action %q", action)
	}
	if body == nil {
		return errors.New("soap: nil body")
	}
	for _, e := range append([]*etree.Element{body}, extra...) {
		if err := checkNamespaces(e, []string{"env", "wsa"}); err != nil {
			return err
		}
	}
	return nil
}

// validAction accepts an absolute IRI without whitespace, control
// characters or quotes, so it is safe both in XML and in the action
// media-type parameter.
func validAction(action string) bool {
	if action == "" {
		return false
	}
	for _, r := range action {
		if r <= ' ' || r == 0x7f || r == '"' || r == '\\' {
			return false
		}
	}
	return mime.FormatMediaType(MediaSOAP12, map[string]string{"action": action}) != ""
}

// checkNamespaces makes sure every prefix used in e's subtree is declared
// there or is one the envelope declares, so that what we write is
// namespace-well-formed.
func checkNamespaces(e *etree.Element, scope []string) error {
	for _, a := range e.Attr {
		if a.Space == "xmlns" {
			scope = append(scope, a.Key)
		}
	}
	declared := func(p string) bool {
		if p == "" || p == "xml" {
			return true
		}
		for i := len(scope) - 1; i >= 0; i-- {
			if scope[i] == p {
				return true
			}
		}
		return false
	}
	if !declared(e.Space) {
		return fmt.Errorf("soap: element <%s> uses undeclared prefix %q", e.FullTag(), e.Space)
	}
	for _, a := range e.Attr {
		if a.Space != "" && a.Space != "xmlns" && !declared(a.Space) {
			return fmt.Errorf("soap: attribute %s on <%s> uses undeclared prefix %q", a.FullKey(), e.FullTag(), a.Space)
		}
	}
	scope = scope[:len(scope):len(scope)] // children append to a copy
	for _, c := range e.ChildElements() {
		if err := checkNamespaces(c, scope); err != nil {
			return err
		}
	}
	return nil
}

// WriteResponse answers with a plain SOAP 1.2 message: body inside an
// envelope whose header carries wsa:Action, a fresh wsa:MessageID,
// wsa:RelatesTo (the request's MessageID) and wsa:To anonymous. body must
// declare the namespaces it uses. An invalid action or body is reported
// before anything is written.
func WriteResponse(w http.ResponseWriter, action, relatesTo string, body *etree.Element) error {
	if err := checkOut(action, body, nil); err != nil {
		return err
	}
	w.Header().Set("Content-Type", contentTypeWithAction(MediaSOAP12, action))
	w.WriteHeader(http.StatusOK)
	bw := bufio.NewWriterSize(w, 32<<10)
	writeEnvelope(bw, outHeader{action: action, messageID: newMessageID(), relatesTo: relatesTo, to: AnonymousAddress}, body)
	return bw.Flush()
}

// NewInclude makes an xop:Include element with a fresh Content-ID, to be
// put as the only child of the element whose content travels as an
// attachment (e.g. xdsb:Document). Pass the returned id to
// MTOMWriter.WriteAttachment or Attachment.ContentID.
func NewInclude() (include *etree.Element, contentID string) {
	contentID = uuid.NewString() + "@pjd"
	include = newElement(NSXOP, "xop", "Include")
	include.CreateAttr("href", "cid:"+contentID)
	return include, contentID
}

// mtomEncoder writes an MTOM (XOP) multipart/related message: the root
// part, then attachments copied straight from their readers.
type mtomEncoder struct {
	mw     *multipart.Writer
	rootID string
	want   map[string]bool // Content-IDs named by xop:Include → sent
	order  []string
	state  int // 0 new, 1 root written, 2 closed, 3 failed
}

const (
	encNew = iota
	encRoot
	encClosed
	encFailed
)

func newMTOMEncoder(w io.Writer) *mtomEncoder {
	return &mtomEncoder{mw: multipart.NewWriter(w), rootID: "root." + uuid.NewString() + "@pjd"}
}

func (e *mtomEncoder) contentType(action string) string {
	params := map[string]string{
		"type":       MediaXOP,
		"boundary":   e.mw.Boundary(),
		"start":      "<" + e.rootID + ">",
		"start-info": MediaSOAP12,
	}
	if action != "" {
		params["action"] = action
	}
	return mime.FormatMediaType(MediaMultipart, params)
}

// prepare checks body and records the Content-IDs its includes name.
func (e *mtomEncoder) prepare(action string, body *etree.Element, extra []*etree.Element) error {
	if e.state != encNew {
		return errors.New("soap: MTOM envelope already written")
	}
	if err := checkOut(action, body, extra); err != nil {
		return err
	}
	incs, err := findIncludes(body)
	if err != nil {
		return fmt.Errorf("soap: body: %w", err)
	}
	e.want = make(map[string]bool, len(incs))
	for _, inc := range incs {
		if !headerSafe(inc.ContentID) {
			return fmt.Errorf("soap: Content-ID %q cannot be sent in a MIME header", inc.ContentID)
		}
		e.want[inc.ContentID] = false
		e.order = append(e.order, inc.ContentID)
	}
	return nil
}

func headerSafe(id string) bool {
	if id == "" {
		return false
	}
	for i := 0; i < len(id); i++ {
		if c := id[i]; c <= ' ' || c >= 0x7f || c == '<' || c == '>' {
			return false
		}
	}
	return true
}

func (e *mtomEncoder) writeRoot(h outHeader, body *etree.Element) error {
	pw, err := e.mw.CreatePart(textproto.MIMEHeader{
		"Content-ID":                {"<" + e.rootID + ">"},
		"Content-Transfer-Encoding": {"binary"},
		"Content-Type":              {rootPartType},
	})
	if err != nil {
		e.state = encFailed
		return err
	}
	bw := bufio.NewWriterSize(pw, 32<<10)
	writeEnvelope(bw, h, body)
	if err := bw.Flush(); err != nil {
		e.state = encFailed
		return err
	}
	e.state = encRoot
	return nil
}

func (e *mtomEncoder) writeAttachment(contentID, contentType string, r io.Reader) (int64, error) {
	if e.state != encRoot {
		return 0, errors.New("soap: attachment written before the envelope, after Close, or after a failure")
	}
	id := normalizeCID(contentID)
	sent, ok := e.want[id]
	if !ok {
		return 0, fmt.Errorf("soap: no xop:Include refers to attachment %q", id)
	}
	if sent {
		return 0, fmt.Errorf("soap: attachment %q written twice", id)
	}
	if r == nil {
		return 0, fmt.Errorf("soap: attachment %q has no reader", id)
	}
	if contentType == "" {
		contentType = "application/octet-stream"
	}
	if _, _, err := mime.ParseMediaType(contentType); err != nil {
		return 0, fmt.Errorf("soap: attachment %q content type %q: %w", id, contentType, err)
	}
	pw, err := e.mw.CreatePart(textproto.MIMEHeader{
		"Content-ID":                {"<" + id + ">"},
		"Content-Transfer-Encoding": {"binary"},
		"Content-Type":              {contentType},
	})
	if err != nil {
		e.state = encFailed
		return 0, err
	}
	e.want[id] = true
	n, err := io.Copy(pw, r)
	if err != nil {
		e.state = encFailed
		return n, err
	}
	return n, nil
}

func (e *mtomEncoder) close() error {
	if e.state != encRoot {
		return errors.New("soap: MTOM message not closed: envelope missing or a write failed")
	}
	for _, id := range e.order {
		if !e.want[id] {
			e.state = encFailed
			return fmt.Errorf("soap: no attachment written for xop:Include %q", id)
		}
	}
	e.state = encClosed
	return e.mw.Close()
}

// MTOMWriter writes an MTOM response that streams: the envelope first,
// then each attachment copied from its reader to the connection, so a
// 1 GiB document costs no more memory than a small one.
//
//	mw := soap.NewMTOMWriter(w, action, req.Addressing.MessageID)
//	inc, cid := soap.NewInclude()
//	doc.AddChild(inc) // inside the response body
//	if err := mw.WriteEnvelope(body); err != nil { … still free to WriteFault … }
//	if _, err := mw.WriteAttachment(cid, "application/pdf", blob); err != nil { return } // no Close
//	return mw.Close()
//
// Until WriteEnvelope succeeds nothing has been written. After it, an
// error cannot become a fault any more: return without calling Close. The
// message then lacks its closing boundary and is reported as truncated by
// any MTOM reader (this package's included), never taken as complete.
type MTOMWriter struct {
	w                 http.ResponseWriter
	action, relatesTo string
	enc               *mtomEncoder
}

// NewMTOMWriter prepares an MTOM response answering the request whose
// MessageID is relatesTo.
func NewMTOMWriter(w http.ResponseWriter, action, relatesTo string) *MTOMWriter {
	return &MTOMWriter{w: w, action: action, relatesTo: relatesTo, enc: newMTOMEncoder(w)}
}

// WriteEnvelope sends the HTTP headers and the root part holding body.
// Every xop:Include in body must later get its attachment.
func (m *MTOMWriter) WriteEnvelope(body *etree.Element) error {
	if err := m.enc.prepare(m.action, body, nil); err != nil {
		return err
	}
	m.w.Header().Set("Content-Type", m.enc.contentType(m.action))
	m.w.Header().Del("Content-Length")
	m.w.WriteHeader(http.StatusOK)
	return m.enc.writeRoot(outHeader{action: m.action, messageID: newMessageID(), relatesTo: m.relatesTo, to: AnonymousAddress}, body)
}

// WriteAttachment streams one attachment. contentID must be one named by an
// xop:Include in the envelope, each exactly once.
func (m *MTOMWriter) WriteAttachment(contentID, contentType string, r io.Reader) (int64, error) {
	return m.enc.writeAttachment(contentID, contentType, r)
}

// Close writes the closing boundary, after checking that every
// xop:Include got its attachment.
func (m *MTOMWriter) Close() error {
	return m.enc.close()
}
