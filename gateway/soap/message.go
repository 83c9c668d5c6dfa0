package soap

import (
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/beevik/etree"
)

// SOAP 1.2 roles a node always plays.
const (
	roleNext             = "http://www.w3.org/2003/05/soap-envelope/role/next"
	roleUltimateReceiver = "http://www.w3.org/2003/05/soap-envelope/role/ultimateReceiver"
)

// Addressing holds a message's WS-Addressing 1.0 message addressing
// properties.
type Addressing struct {
	Action    string
	MessageID string
	To        string
	// ReplyTo and FaultTo are the Address of the endpoint references;
	// empty when the header is absent (which means anonymous).
	ReplyTo   string
	FaultTo   string
	RelatesTo string
}

// Message is a SOAP 1.2 message that has been read and checked: a request
// (ReadRequest) or a response (Client). Its envelope is in memory; MTOM
// attachments are not — they stream from the connection through NextPart.
type Message struct {
	// Envelope is the parsed envelope document.
	Envelope   *etree.Document
	Addressing Addressing

	header   *etree.Element
	body     *etree.Element
	security *etree.Element
	fault    *Fault // a response whose body is env:Fault
	mtom     bool
	parts    *partReader
	includes []Include
}

// Header is the env:Header element, or nil when the message has none.
func (m *Message) Header() *etree.Element { return m.header }

// Body is the single child element of env:Body.
func (m *Message) Body() *etree.Element { return m.body }

// Security is the wsse:Security header block addressed to this node (the
// XUA assertion lives inside it), or nil. This package only locates it; the
// caller must verify it.
func (m *Message) Security() *etree.Element { return m.security }

// MTOM reports whether the message arrived as multipart/related XOP.
func (m *Message) MTOM() bool { return m.mtom }

// Includes lists the xop:Include elements of the envelope in document order.
// Each names the Content-ID of the attachment that carries the content of
// the Include's parent element. The caller maps Content-ID to its own
// identifiers (e.g. the XDS Document id) and then reads the parts, which
// arrive in the sender's order, with NextPart.
func (m *Message) Includes() []Include { return m.includes }

// Include is one xop:Include in an envelope.
type Include struct {
	ContentID string         // without "cid:" and <>, URL-unescaped
	Element   *etree.Element // the xop:Include element; its parent holds the content
}

// Part is one MIME part after the root part of an MTOM message.
type Part struct {
	ContentID   string // without <> and "cid:", URL-unescaped
	ContentType string
	// Include is the xop:Include in the envelope that names this part; its
	// parent (e.g. xdsb:Document) says what the part is. Every part has one:
	// a part no Include refers to is an error.
	Include *etree.Element
	// Body streams the part's content straight from the connection; it is
	// valid until the next call to NextPart. Reading past
	// Limits.MaxRequest fails with an error matching ErrTooLarge.
	Body io.Reader
}

// ReadAll reads a small part into memory, failing with an error matching
// ErrTooLarge when it holds more than max bytes. Use it only where a part is
// known to be small; documents stream through Body.
func (p *Part) ReadAll(max int64) ([]byte, error) {
	b, err := io.ReadAll(io.LimitReader(p.Body, max+1))
	if err != nil {
		return nil, err
	}
	if int64(len(b)) > max {
		return nil, faultf(CodeSender, ErrTooLarge, fmt.Errorf("part %q larger than %d bytes", p.ContentID, max),
			"An attachment is larger than this service accepts")
	}
	return b, nil
}

// NextPart returns the next attachment of an MTOM message, streaming, or
// io.EOF after the last one (at once for a plain SOAP message). Parts come
// in the sender's order. A part that no xop:Include refers to, a repeated
// Content-ID, or reaching the end with an xop:Include whose part never
// arrived is an error matching ErrXOP. Errors are *Fault values.
func (m *Message) NextPart() (*Part, error) {
	if m.parts == nil {
		return nil, io.EOF
	}
	return m.parts.next()
}

// parseEnvelope checks the SOAP 1.2 structure and header blocks of doc.
// For a request, WS-Addressing Action and MessageID are required and
// replies must go to the anonymous address.
func parseEnvelope(doc *etree.Document, request bool) (*Message, error) {
	root := doc.Root()
	if root == nil {
		return nil, faultf(CodeSender, ErrMalformed, errors.New("no root"), "The message is not a SOAP envelope")
	}
	if root.Tag != "Envelope" {
		return nil, faultf(CodeSender, ErrMalformed, fmt.Errorf("root element %q", root.Tag), "The message is not a SOAP envelope")
	}
	switch ns := root.NamespaceURI(); ns {
	case NSEnvelope:
	case NSEnvelope11:
		return nil, versionMismatch(true, errors.New("SOAP 1.1 envelope"))
	default:
		return nil, versionMismatch(false, fmt.Errorf("envelope namespace %q", ns))
	}
	m := &Message{Envelope: doc}
	for _, c := range root.ChildElements() {
		switch {
		case is(c, NSEnvelope, "Header") && m.header == nil && m.body == nil:
			m.header = c
		case is(c, NSEnvelope, "Body") && m.body == nil:
			m.body = c
		default:
			return nil, faultf(CodeSender, ErrMalformed, fmt.Errorf("unexpected <%s> in Envelope", c.FullTag()),
				"The SOAP envelope must hold an optional Header followed by a Body")
		}
	}
	if m.body == nil {
		return nil, faultf(CodeSender, ErrMalformed, errors.New("no Body"), "The SOAP envelope has no Body")
	}
	if err := m.readHeader(); err != nil {
		return m, err
	}
	kids := m.body.ChildElements()
	if len(kids) != 1 {
		return m, faultf(CodeSender, ErrMalformed, fmt.Errorf("%d body children", len(kids)),
			"The SOAP Body must hold exactly one element")
	}
	m.body = kids[0]
	if is(m.body, NSEnvelope, "Fault") {
		if request {
			return m, faultf(CodeSender, ErrMalformed, errors.New("fault as request"), "A fault is not a request")
		}
		m.fault = parseFault(m.body)
		m.fault.RelatesTo = m.Addressing.RelatesTo
		return m, nil
	}
	if request {
		a := m.Addressing
		switch {
		case a.Action == "":
			return m, headerRequired("Action")
		case a.MessageID == "":
			return m, headerRequired("MessageID")
		case a.ReplyTo != "" && a.ReplyTo != AnonymousAddress:
			return m, invalidHeader("ReplyTo", SubcodeOnlyAnonymousAddressSupported, fmt.Errorf("ReplyTo %q", a.ReplyTo))
		case a.FaultTo != "" && a.FaultTo != AnonymousAddress:
			return m, invalidHeader("FaultTo", SubcodeOnlyAnonymousAddressSupported, fmt.Errorf("FaultTo %q", a.FaultTo))
		}
	}
	includes, err := findIncludes(m.body)
	if err != nil {
		return m, err
	}
	m.includes = includes
	return m, nil
}

// readHeader processes the header blocks addressed to this node: it
// records WS-Addressing properties and the wsse:Security block, rejects a
// repeated one, and faults with MustUnderstand on any other block marked
// mustUnderstand.
func (m *Message) readHeader() error {
	if m.header == nil {
		return nil
	}
	seen := map[string]bool{}
	var notUnderstood []QName
	for _, hb := range m.header.ChildElements() {
		mu := false
		if v, ok := attrNS(hb, NSEnvelope, "mustUnderstand"); ok {
			switch strings.TrimSpace(v) {
			case "true", "1":
				mu = true
			case "false", "0":
			default:
				return faultf(CodeSender, ErrMalformed, fmt.Errorf("mustUnderstand=%q", v),
					"The mustUnderstand attribute must be a boolean")
			}
		}
		if role, ok := attrNS(hb, NSEnvelope, "role"); ok {
			if r := strings.TrimSpace(role); r != "" && r != roleNext && r != roleUltimateReceiver {
				continue // addressed to another node
			}
		}
		ns := hb.NamespaceURI()
		switch {
		case ns == NSAddressing && isAddressingProperty(hb.Tag):
			if seen[hb.Tag] {
				return invalidHeader(hb.Tag, SubcodeInvalidCardinality, fmt.Errorf("repeated wsa:%s", hb.Tag))
			}
			seen[hb.Tag] = true
			if err := m.setAddressing(hb); err != nil {
				return err
			}
		case ns == NSSecurity && hb.Tag == "Security":
			if m.security != nil {
				return faultf(CodeSender, ErrMalformed, errors.New("repeated wsse:Security"),
					"The message has more than one Security header for this node")
			}
			m.security = hb
		case mu:
			notUnderstood = append(notUnderstood, QName{Space: ns, Local: hb.Tag})
		}
	}
	if len(notUnderstood) > 0 {
		f := faultf(CodeMustUnderstand, ErrNotUnderstood, fmt.Errorf("not understood: %v", notUnderstood),
			"One or more mandatory SOAP header blocks not understood")
		f.NotUnderstood = notUnderstood
		return f
	}
	return nil
}

func isAddressingProperty(local string) bool {
	switch local {
	case "Action", "MessageID", "To", "RelatesTo", "ReplyTo", "FaultTo", "From":
		return true
	}
	return false
}

func (m *Message) setAddressing(hb *etree.Element) error {
	a := &m.Addressing
	switch hb.Tag {
	case "ReplyTo", "FaultTo", "From":
		addr := childNS(hb, NSAddressing, "Address")
		if addr == nil || !hasOnlyText(addr) || textOf(addr) == "" {
			return invalidHeader(hb.Tag, SubcodeInvalidEPR, errors.New("no Address"))
		}
		switch hb.Tag {
		case "ReplyTo":
			a.ReplyTo = textOf(addr)
		case "FaultTo":
			a.FaultTo = textOf(addr)
		}
		return nil
	}
	if !hasOnlyText(hb) || textOf(hb) == "" {
		return invalidHeader(hb.Tag, SubcodeInvalidCardinality, fmt.Errorf("wsa:%s empty or structured", hb.Tag))
	}
	v := textOf(hb)
	switch hb.Tag {
	case "Action":
		a.Action = v
	case "MessageID":
		a.MessageID = v
	case "To":
		a.To = v
	case "RelatesTo":
		a.RelatesTo = v
	}
	return nil
}

// findIncludes collects the xop:Include elements under e, checking that
// each refers to a cid: URL, is the only content of its parent and names a
// Content-ID no other Include names. Anything but cid: is refused so that
// an Include can never make anyone fetch a file or URL.
func findIncludes(e *etree.Element) ([]Include, error) {
	var out []Include
	seen := map[string]bool{}
	var walk func(*etree.Element) error
	walk = func(el *etree.Element) error {
		for _, c := range el.ChildElements() {
			if !is(c, NSXOP, "Include") {
				if err := walk(c); err != nil {
					return err
				}
				continue
			}
			href := strings.TrimSpace(c.SelectAttrValue("href", ""))
			if len(href) < 4 || !strings.EqualFold(href[:4], "cid:") {
				return faultf(CodeSender, ErrXOP, fmt.Errorf("href %q", href), "An xop:Include must refer to a cid: URL")
			}
			id := normalizeCID(href)
			if id == "" {
				return faultf(CodeSender, ErrXOP, errors.New("empty cid"), "An xop:Include must refer to a cid: URL")
			}
			if seen[id] {
				return faultf(CodeSender, ErrXOP, fmt.Errorf("cid %q twice", id), "Two xop:Include elements refer to the same part")
			}
			if len(el.ChildElements()) != 1 || strings.TrimSpace(el.Text()) != "" || strings.TrimSpace(c.Tail()) != "" {
				return faultf(CodeSender, ErrXOP, errors.New("include has siblings"), "An xop:Include must be the only content of its parent")
			}
			seen[id] = true
			out = append(out, Include{ContentID: id, Element: c})
		}
		return nil
	}
	if is(e, NSXOP, "Include") {
		return nil, faultf(CodeSender, ErrXOP, errors.New("body is an include"), "The SOAP Body cannot be an xop:Include")
	}
	if err := walk(e); err != nil {
		return nil, err
	}
	return out, nil
}
