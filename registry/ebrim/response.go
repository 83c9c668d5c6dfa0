package ebrim

import (
	"github.com/beevik/etree"

	"pjd/registry"
)

// EncodeRegistryResponse encodes an rs:RegistryResponse (the answer to
// ITI-41, ITI-42, ITI-57, ITI-62). An empty Status follows from the errors:
// Failure when one has Error severity, Success otherwise.
func EncodeRegistryResponse(resp registry.Response) *etree.Element {
	root := newRoot("rs:RegistryResponse", prefixRs)
	encodeResponseInto(root, resp)
	return root
}

func encodeResponseInto(el *etree.Element, resp registry.Response) {
	status := resp.Status
	if status == "" {
		status = registry.StatusFor(resp.Errors)
	}
	el.CreateAttr("status", status)
	if l := registryErrorList(resp.Errors); l != nil {
		el.AddChild(l)
	}
}

// EncodeRegistryErrorList encodes errs as an rs:RegistryErrorList that
// declares its own namespace, for use inside other responses. It returns
// nil for an empty list (the schema requires at least one RegistryError).
func EncodeRegistryErrorList(errs registry.ErrorList) *etree.Element {
	el := registryErrorList(errs)
	if el != nil {
		el.CreateAttr("xmlns:rs", NSRs)
	}
	return el
}

// registryErrorList builds the element without a namespace declaration (the
// caller's root declares rs).
func registryErrorList(errs registry.ErrorList) *etree.Element {
	if len(errs) == 0 {
		return nil
	}
	el := etree.NewElement("rs:RegistryErrorList")
	highest := registry.SeverityWarning
	if errs.Failed() {
		highest = registry.SeverityError
	}
	el.CreateAttr("highestSeverity", highest)
	for _, e := range errs {
		re := el.CreateElement("rs:RegistryError")
		re.CreateAttr("errorCode", e.Code)
		re.CreateAttr("codeContext", e.Context)
		setAttrIf(re, "location", e.Location)
		sev := e.Severity
		if sev == "" {
			sev = registry.SeverityError
		}
		re.CreateAttr("severity", sev)
	}
	return el
}

// ParseRegistryResponse decodes an rs:RegistryResponse. Structural problems
// are returned as a registry.ErrorList of XDSRegistryError.
func ParseRegistryResponse(el *etree.Element) (registry.Response, error) {
	p := newProblems(registry.ErrCodeRegistryError)
	resp := parseResponse(el, p)
	if err := p.err(); err != nil {
		return registry.Response{}, err
	}
	return resp, nil
}

func parseResponse(el *etree.Element, p *problems) registry.Response {
	var resp registry.Response
	if !is(el, NSRs, "RegistryResponse") {
		p.addf("expected {%s}RegistryResponse, got %s", NSRs, elName(el))
		return resp
	}
	resp.Status = responseStatus(el, "RegistryResponse", p)
	seen := false
	for _, c := range childElements(el) {
		switch {
		case is(c, NSRs, "RegistryErrorList"):
			if p.twice(&seen, "RegistryResponse", c) {
				continue
			}
			resp.Errors = parseErrorList(c, p)
		case is(c, NSRs, "ResponseSlotList"):
		default:
			p.addf("RegistryResponse: unexpected element %s", qname(c))
		}
	}
	return resp
}

// parseErrorList reads the RegistryErrors of an rs:RegistryErrorList. A
// RegistryError without codeContext but with text gets the text as
// context; one without severity is an error (the schema default).
func parseErrorList(el *etree.Element, p *problems) registry.ErrorList {
	var l registry.ErrorList
	for i, c := range childElements(el) {
		if !is(c, NSRs, "RegistryError") {
			p.addf("RegistryErrorList: unexpected element %s", qname(c))
			continue
		}
		e := registry.Error{
			Code:     attrValue(c, "errorCode"),
			Context:  attrValue(c, "codeContext"),
			Location: attrValue(c, "location"),
			Severity: attrValue(c, "severity"),
		}
		if e.Code == "" {
			p.addf("RegistryError #%d: no errorCode", i+1)
		}
		if e.Context == "" {
			if t, ok := text(c); ok {
				e.Context = t
			}
		}
		if e.Severity == "" {
			e.Severity = registry.SeverityError
		}
		l = append(l, e)
	}
	return l
}
