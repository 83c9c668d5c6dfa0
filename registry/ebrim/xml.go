package ebrim

import (
	"fmt"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/beevik/etree"
	"github.com/google/uuid"

	"pjd/registry"
)

// maxProblems bounds how many problems one parse reports, so a hostile
// message cannot make the error list (and the response) arbitrarily large.
const maxProblems = 100

// problems collects every structural problem of one message as
// RegistryErrors of one code.
type problems struct {
	code    string
	list    registry.ErrorList
	dropped int
}

func newProblems(code string) *problems { return &problems{code: code} }

func (p *problems) addf(format string, args ...any) {
	if len(p.list) >= maxProblems {
		p.dropped++
		return
	}
	p.list = append(p.list, registry.Errorf(p.code, format, args...))
}

// twice reports whether the child element c of parent, which may appear
// once, was *seen already (a problem, reported); otherwise it marks it
// seen.
func (p *problems) twice(seen *bool, parent string, c *etree.Element) bool {
	if *seen {
		p.addf("%s: %s appears twice", parent, c.Tag)
		return true
	}
	*seen = true
	return false
}

// err returns the collected problems as a registry.ErrorList, or nil.
func (p *problems) err() error {
	if len(p.list) == 0 {
		return nil
	}
	l := p.list
	if p.dropped > 0 {
		l = append(l, registry.Errorf(p.code, "%d further problems not reported", p.dropped))
	}
	return l
}

// q quotes a client-supplied string for a codeContext, shortened so that an
// error never echoes a large value back.
func q(s string) string {
	const max = 80
	if len(s) > max {
		cut := max
		for cut > 0 && !utf8.RuneStart(s[cut]) {
			cut--
		}
		s = s[:cut] + "…"
	}
	return strconv.Quote(s)
}

// qname names an element in a codeContext as {namespace}local.
func qname(el *etree.Element) string {
	ns := el.NamespaceURI()
	if ns == "" {
		return q(el.Tag)
	}
	return q("{" + ns + "}" + el.Tag)
}

// is reports whether el is the element ns:local, whatever its prefix.
func is(el *etree.Element, ns, local string) bool {
	return el != nil && el.Tag == local && el.NamespaceURI() == ns
}

// attr returns the unqualified attribute name of el.
func attr(el *etree.Element, name string) (string, bool) {
	for _, a := range el.Attr {
		if a.Space == "" && a.Key == name {
			return a.Value, true
		}
	}
	return "", false
}

func attrValue(el *etree.Element, name string) string {
	v, _ := attr(el, name)
	return v
}

// normURN removes white space from a scheme/node URN before it is compared
// with the constants: some senders (IPF's own samples among them) break
// UUIDs with a space. The value itself is never stored.
func normURN(s string) string {
	if strings.IndexFunc(s, unicode.IsSpace) < 0 {
		return s
	}
	return strings.Map(func(r rune) rune {
		if unicode.IsSpace(r) {
			return -1
		}
		return r
	}, s)
}

// text returns the character data of a leaf element. ok is false when el
// has child elements (a value must be text only).
func text(el *etree.Element) (s string, ok bool) {
	var b strings.Builder
	for _, t := range el.Child {
		switch c := t.(type) {
		case *etree.CharData:
			b.WriteString(c.Data)
		case *etree.Element:
			return "", false
		}
	}
	return b.String(), true
}

// childElements returns el's child elements; text, comments and processing
// instructions are skipped.
func childElements(el *etree.Element) []*etree.Element { return el.ChildElements() }

// ---- writing ----

// newRoot returns a detached element prefix:local that declares the given
// prefixes, so it stays self-contained wherever the caller places it.
func newRoot(tag string, prefixes ...string) *etree.Element {
	el := etree.NewElement(tag)
	for _, p := range prefixes {
		el.CreateAttr("xmlns:"+p, nsOf(p))
	}
	return el
}

func nsOf(prefix string) string {
	switch prefix {
	case prefixRim:
		return NSRim
	case prefixLcm:
		return NSLcm
	case prefixQuery:
		return NSQuery
	case prefixRs:
		return NSRs
	case prefixXDSB:
		return NSXDSB
	case prefixXOP:
		return NSXOP
	}
	panic("ebrim: unknown prefix " + prefix)
}

// idNamespace is the UUIDv5 namespace of the ids this codec derives for
// Classification and ExternalIdentifier elements.
var idNamespace = uuid.NewSHA1(uuid.NameSpaceURL, []byte("urn:pjd:registry:ebrim:derived-id"))

// derivedID is a stable id for the i-th sub-object of kind ("cl", "ei") of
// owner, so that encoding the same model twice gives the same bytes.
func derivedID(owner, kind string, i int) string {
	name := owner + "\x00" + kind + "\x00" + strconv.Itoa(i)
	return "urn:uuid:" + uuid.NewSHA1(idNamespace, []byte(name)).String()
}

func addSlot(parent *etree.Element, name string, values ...string) {
	s := parent.CreateElement("rim:Slot")
	s.CreateAttr("name", name)
	vl := s.CreateElement("rim:ValueList")
	for _, v := range values {
		vl.CreateElement("rim:Value").SetText(v)
	}
}

// addSlotIf writes a single-valued slot when v is set.
func addSlotIf(parent *etree.Element, name, v string) {
	if v != "" {
		addSlot(parent, name, v)
	}
}

// addSlotsIf writes a multi-valued slot when it has values.
func addSlotsIf(parent *etree.Element, name string, vs []string) {
	if len(vs) > 0 {
		addSlot(parent, name, vs...)
	}
}

func addLocalized(parent *etree.Element, tag, v string) {
	if v == "" {
		return
	}
	parent.CreateElement(tag).CreateElement("rim:LocalizedString").CreateAttr("value", v)
}

func setAttrIf(el *etree.Element, name, v string) {
	if v != "" {
		el.CreateAttr(name, v)
	}
}

func describe(kind, id string) string { return fmt.Sprintf("%s %s", kind, q(id)) }
