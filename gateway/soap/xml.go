package soap

import (
	"bytes"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"strings"
	"unicode/utf8"

	"github.com/beevik/etree"
)

var utf8BOM = []byte{0xEF, 0xBB, 0xBF}

var errCharset = errors.New("only UTF-8 is accepted")

// parseXML turns an envelope into an etree document, but only after a first
// pass over its tokens has shown it is safe: UTF-8, well-formed, no DTD or
// other directive, no processing instruction but the XML declaration, and
// within the depth, element and attribute limits. The first pass stops at
// the first offending token, so a billion-laughs or quadratic-blowup body
// is rejected after reading its DOCTYPE, with no expansion and no tree.
//
// encoding/xml never expands entities beyond the five predefined ones and
// character references, and has no notion of external entities; the first
// pass rejects the DTD that would declare them anyway, so the message gets
// a clear fault instead of a confusing "invalid entity" error.
func parseXML(b []byte, lim Limits) (*etree.Document, error) {
	b = bytes.TrimPrefix(b, utf8BOM)
	if err := checkXML(b, lim); err != nil {
		return nil, err
	}
	doc := etree.NewDocument()
	doc.ReadSettings = etree.ReadSettings{
		MaxDepth:      lim.MaxDepth + 1,
		CharsetReader: utf8Only,
	}
	if err := doc.ReadFromBytes(b); err != nil {
		// checkXML accepted it, so this is a disagreement between the two
		// parsers; treat it as malformed input.
		return nil, faultf(CodeSender, ErrMalformed, err, "The message is not well-formed XML")
	}
	return doc, nil
}

func utf8Only(label string, r io.Reader) (io.Reader, error) {
	switch strings.ToLower(label) {
	case "utf-8", "utf8", "us-ascii", "ascii":
		return r, nil
	}
	return nil, fmt.Errorf("%w: encoding %q", errCharset, label)
}

func limitFault(what string, max int) error {
	reasons := map[string]string{
		"depth":      "The message nests elements too deeply",
		"elements":   "The message has too many elements",
		"attributes": "An element has too many attributes",
	}
	return faultf(CodeSender, ErrLimit, fmt.Errorf("%s > %d", what, max), reasons[what])
}

// scanLimits enforces the depth, element and attribute limits on the raw
// bytes, before encoding/xml sees them: the decoder gathers all attributes
// of a start tag before returning it, so a single tag with millions of
// attributes would otherwise be held in memory at once. The scan allocates
// nothing. It is exact for well-formed XML; on malformed input it may
// report a limit where the decoder would report a syntax error, which is
// as good a reason to refuse. At a DTD or other <! directive it stops and
// leaves the refusal to checkXML.
func scanLimits(b []byte, lim Limits) error {
	depth, elements := 0, 0
	for i := 0; i < len(b); {
		j := bytes.IndexByte(b[i:], '<')
		if j < 0 {
			return nil
		}
		i += j + 1
		rest := b[i:]
		switch {
		case bytes.HasPrefix(rest, []byte("!--")):
			k := bytes.Index(rest[3:], []byte("-->"))
			if k < 0 {
				return nil
			}
			i += 3 + k + 3
			elements++ // comments count like elements (checkXML does the same)
			if elements > lim.MaxElements {
				return limitFault("elements", lim.MaxElements)
			}
		case bytes.HasPrefix(rest, []byte("![CDATA[")):
			k := bytes.Index(rest, []byte("]]>"))
			if k < 0 {
				return nil
			}
			i += k + 3
		case bytes.HasPrefix(rest, []byte("!")):
			return nil // DOCTYPE and friends: checkXML refuses them
		case bytes.HasPrefix(rest, []byte("?")):
			k := bytes.Index(rest, []byte("?>"))
			if k < 0 {
				return nil
			}
			i += k + 2
		case bytes.HasPrefix(rest, []byte("/")):
			depth--
		default: // start tag: count attributes up to the closing '>'
			elements++
			depth++
			if elements > lim.MaxElements {
				return limitFault("elements", lim.MaxElements)
			}
			if depth > lim.MaxDepth {
				return limitFault("depth", lim.MaxDepth)
			}
			attrs := 0
			var quote byte
			var last byte
			k := 0
			for ; k < len(rest); k++ {
				c := rest[k]
				if quote != 0 {
					if c == quote {
						quote = 0
					}
					continue
				}
				if c == '"' || c == '\'' {
					quote = c
					continue
				}
				if c == '=' {
					attrs++
					if attrs > lim.MaxAttrs {
						return limitFault("attributes", lim.MaxAttrs)
					}
				}
				if c == '>' {
					break
				}
				if c > ' ' {
					last = c
				}
			}
			if last == '/' {
				depth-- // <empty/>
			}
			i += k
		}
	}
	return nil
}

func checkXML(b []byte, lim Limits) error {
	malformed := func(cause error) error {
		return faultf(CodeSender, ErrMalformed, cause, "The message is not well-formed XML")
	}
	if !utf8.Valid(b) {
		return malformed(errors.New("invalid UTF-8"))
	}
	if err := scanLimits(b, lim); err != nil {
		return err
	}
	d := xml.NewDecoder(bytes.NewReader(b))
	d.Strict = true
	d.CharsetReader = utf8Only

	var (
		stack    []xml.Name
		elements int
		rooted   bool
		prolog   = true // only whitespace seen so far
	)
	for {
		tok, err := d.RawToken()
		if err == io.EOF {
			break
		}
		if err != nil {
			if errors.Is(err, errCharset) {
				return faultf(CodeSender, ErrMediaType, err, "Only UTF-8 encoded messages are accepted")
			}
			return malformed(err)
		}
		switch t := tok.(type) {
		case xml.StartElement:
			prolog = false
			if len(stack) == 0 && rooted {
				return malformed(errors.New("more than one root element"))
			}
			rooted = true
			elements++
			if len(stack) >= lim.MaxDepth {
				return limitFault("depth", lim.MaxDepth)
			}
			if elements > lim.MaxElements {
				return limitFault("elements", lim.MaxElements)
			}
			if len(t.Attr) > lim.MaxAttrs {
				return limitFault("attributes", lim.MaxAttrs)
			}
			if dup := duplicateAttr(t.Attr); dup != "" {
				return malformed(fmt.Errorf("duplicate attribute %s", dup))
			}
			stack = append(stack, t.Name)
		case xml.EndElement:
			if len(stack) == 0 || stack[len(stack)-1] != t.Name {
				return malformed(errors.New("mismatched end tag"))
			}
			stack = stack[:len(stack)-1]
		case xml.CharData:
			if len(stack) == 0 && len(bytes.TrimSpace(t)) > 0 {
				return malformed(errors.New("text outside the root element"))
			}
		case xml.Comment:
			prolog = false
			elements++
			if elements > lim.MaxElements {
				return limitFault("elements", lim.MaxElements)
			}
		case xml.ProcInst:
			if t.Target != "xml" || !prolog {
				return faultf(CodeSender, ErrForbiddenXML, fmt.Errorf("processing instruction %q", t.Target),
					"Processing instructions are not allowed in SOAP messages")
			}
			prolog = false
		case xml.Directive:
			return faultf(CodeSender, ErrForbiddenXML, errors.New("directive (DTD)"),
				"Document type declarations are not allowed in SOAP messages")
		}
	}
	if !rooted || len(stack) != 0 {
		return malformed(errors.New("no complete root element"))
	}
	return nil
}

func duplicateAttr(attrs []xml.Attr) string {
	if len(attrs) < 2 {
		return ""
	}
	if len(attrs) <= 16 {
		for i := 1; i < len(attrs); i++ {
			for j := 0; j < i; j++ {
				if attrs[i].Name == attrs[j].Name {
					return attrs[i].Name.Space + ":" + attrs[i].Name.Local
				}
			}
		}
		return ""
	}
	seen := make(map[xml.Name]struct{}, len(attrs))
	for _, a := range attrs {
		if _, ok := seen[a.Name]; ok {
			return a.Name.Space + ":" + a.Name.Local
		}
		seen[a.Name] = struct{}{}
	}
	return ""
}

// is reports whether e is the element {space}local.
func is(e *etree.Element, space, local string) bool {
	return e != nil && e.Tag == local && e.NamespaceURI() == space
}

// childNS returns e's first child element {space}local, or nil.
func childNS(e *etree.Element, space, local string) *etree.Element {
	if e == nil {
		return nil
	}
	for _, c := range e.ChildElements() {
		if is(c, space, local) {
			return c
		}
	}
	return nil
}

func childrenNS(e *etree.Element, space, local string) []*etree.Element {
	if e == nil {
		return nil
	}
	var out []*etree.Element
	for _, c := range e.ChildElements() {
		if is(c, space, local) {
			out = append(out, c)
		}
	}
	return out
}

// attrNS returns the value of e's attribute {space}local and whether it is
// present.
func attrNS(e *etree.Element, space, local string) (string, bool) {
	for _, a := range e.Attr {
		if a.Key == local && a.Space != "" && a.Space != "xmlns" && a.NamespaceURI() == space {
			return a.Value, true
		}
	}
	return "", false
}

// lookupPrefix resolves a namespace prefix ("" for the default namespace)
// in scope at e.
func lookupPrefix(e *etree.Element, prefix string) (string, bool) {
	if prefix == "xml" {
		return "http://www.w3.org/XML/1998/namespace", true
	}
	for ; e != nil; e = e.Parent() {
		for _, a := range e.Attr {
			if prefix == "" && a.Space == "" && a.Key == "xmlns" {
				return a.Value, true
			}
			if prefix != "" && a.Space == "xmlns" && a.Key == prefix {
				return a.Value, true
			}
		}
	}
	return "", prefix == ""
}

// resolveQName resolves a QName written as text content ("wsa:Action").
func resolveQName(e *etree.Element, s string) (QName, bool) {
	prefix, local, found := strings.Cut(s, ":")
	if !found {
		prefix, local = "", s
	}
	if local == "" {
		return QName{}, false
	}
	space, ok := lookupPrefix(e, prefix)
	if !ok {
		return QName{}, false
	}
	return QName{Space: space, Local: local}, true
}

// textOf is the trimmed text content of e.
func textOf(e *etree.Element) string {
	return strings.TrimSpace(e.Text())
}

// hasOnlyText reports whether e has no child elements.
func hasOnlyText(e *etree.Element) bool {
	return len(e.ChildElements()) == 0
}

type stringWriter interface {
	io.Writer
	WriteString(string) (int, error)
}

func escapeText(w stringWriter, s string) {
	_ = xml.EscapeText(w, []byte(s))
}
