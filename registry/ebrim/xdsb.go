package ebrim

import (
	"encoding/base64"
	"fmt"
	"net/url"
	"strings"

	"github.com/beevik/etree"

	"pjd/registry"
)

// DocumentPart is one xdsb:Document of a ProvideAndRegisterDocumentSetRequest:
// either an MTOM/XOP reference to a MIME part (IncludeHref) or the document
// itself sent inline as base64 text (Inline).
type DocumentPart struct {
	// ID is Document/@id, the id of the DocumentEntry it belongs to.
	ID string
	// IncludeHref is the href of the xop:Include, "cid:" followed by the
	// Content-ID with its URL escapes undone ("cid:doc1@example.org").
	IncludeHref string
	// Inline is the decoded base64 content when there is no xop:Include.
	Inline []byte
}

// DocumentRequest is one DocumentRequest of a RetrieveDocumentSetRequest.
type DocumentRequest struct {
	HomeCommunityID    string
	RepositoryUniqueID string
	DocumentUniqueID   string
}

// DocumentResponse is one DocumentResponse of a RetrieveDocumentSetResponse.
// The content is either a XOP reference (IncludeHref, as in DocumentPart) or
// inline bytes.
type DocumentResponse struct {
	HomeCommunityID    string
	RepositoryUniqueID string
	DocumentUniqueID   string
	// NewRepositoryUniqueID and NewDocumentUniqueID are set only for
	// on-demand documents (a stable snapshot was made).
	NewRepositoryUniqueID string
	NewDocumentUniqueID   string
	MimeType              string
	IncludeHref           string
	Inline                []byte
}

// ParseProvideAndRegister decodes an xdsb:ProvideAndRegisterDocumentSetRequest
// (ITI-41): the SubmitObjectsRequest as ParseSubmitObjectsRequest does, and
// every Document in order. Problems, the metadata's included, are returned
// together as a registry.ErrorList of XDSRepositoryMetadataError (the
// repository's error code for what it is sent). Which Document belongs to
// which DocumentEntry is for the repository to check.
func ParseProvideAndRegister(el *etree.Element) (*registry.Submission, []DocumentPart, error) {
	p := newProblems(registry.ErrCodeRepositoryMetadataError)
	if !is(el, NSXDSB, "ProvideAndRegisterDocumentSetRequest") {
		p.addf("expected {%s}ProvideAndRegisterDocumentSetRequest, got %s", NSXDSB, elName(el))
		return nil, nil, p.err()
	}
	var (
		sub   *registry.Submission
		seen  bool
		parts []DocumentPart
	)
	for i, c := range childElements(el) {
		switch {
		case is(c, NSLcm, "SubmitObjectsRequest"):
			if p.twice(&seen, "ProvideAndRegisterDocumentSetRequest", c) {
				continue
			}
			sub = parseSubmit(c, p)
		case is(c, NSXDSB, "Document"):
			if !seen {
				p.addf("ProvideAndRegisterDocumentSetRequest: Document #%d before SubmitObjectsRequest", i+1)
			}
			id := attrValue(c, "id")
			if id == "" {
				p.addf("Document #%d: no id", i+1)
				continue
			}
			if part, ok := parseDocumentContent(c, describe("Document", id), p); ok {
				parts = append(parts, DocumentPart{ID: id, IncludeHref: part.href, Inline: part.inline})
			}
		default:
			p.addf("ProvideAndRegisterDocumentSetRequest: unexpected element %s", qname(c))
		}
	}
	if !seen {
		p.addf("ProvideAndRegisterDocumentSetRequest: no SubmitObjectsRequest")
	}
	if err := p.err(); err != nil {
		return nil, nil, err
	}
	return sub, parts, nil
}

type content struct {
	href   string
	inline []byte
}

// parseDocumentContent reads the content of an xdsb:Document: either one
// xop:Include or base64 text. who names the Document in errors.
func parseDocumentContent(el *etree.Element, who string, p *problems) (content, bool) {
	var (
		c        content
		b        strings.Builder
		includes []*etree.Element
	)
	for _, t := range el.Child {
		switch x := t.(type) {
		case *etree.CharData:
			b.WriteString(x.Data)
		case *etree.Element:
			if !is(x, NSXOP, "Include") {
				p.addf("%s: unexpected element %s", who, qname(x))
				return c, false
			}
			includes = append(includes, x)
		}
	}
	txt := strings.TrimSpace(b.String())
	switch {
	case len(includes) > 1:
		p.addf("%s: more than one xop:Include", who)
		return c, false
	case len(includes) == 1 && txt != "":
		p.addf("%s: both an xop:Include and inline text", who)
		return c, false
	case len(includes) == 1:
		href, ok := parseXOPHref(attrValue(includes[0], "href"))
		if !ok {
			p.addf("%s: xop:Include href %s is not a cid: URL", who, q(attrValue(includes[0], "href")))
			return c, false
		}
		c.href = href
		return c, true
	}
	data, err := decodeBase64(txt)
	if err != nil {
		p.addf("%s: content is not valid base64", who)
		return c, false
	}
	c.inline = data
	return c, true
}

// parseXOPHref checks that href is a cid: URL and undoes its %-escapes.
func parseXOPHref(href string) (string, bool) {
	const scheme = "cid:"
	if len(href) <= len(scheme) || !strings.EqualFold(href[:len(scheme)], scheme) {
		return "", false
	}
	id, err := url.PathUnescape(href[len(scheme):])
	if err != nil || id == "" {
		return "", false
	}
	return scheme + id, true
}

// xopHref is the inverse of parseXOPHref: "cid:" plus the escaped
// Content-ID.
func xopHref(includeHref string) string {
	id := strings.TrimPrefix(includeHref, "cid:")
	return "cid:" + url.PathEscape(id)
}

// decodeBase64 decodes base64Binary text; XML Schema allows white space
// (line breaks) anywhere in it. Empty text is an empty document (nil).
func decodeBase64(s string) ([]byte, error) {
	s = strings.Map(func(r rune) rune {
		switch r {
		case ' ', '\t', '\r', '\n':
			return -1
		}
		return r
	}, s)
	if s == "" {
		return nil, nil
	}
	return base64.StdEncoding.DecodeString(s)
}

// setContent writes content as an xop:Include when href is set, else as
// base64 text.
func setContent(el *etree.Element, href string, inline []byte) {
	if href != "" {
		el.CreateElement("xop:Include").CreateAttr("href", xopHref(href))
		return
	}
	el.SetText(base64.StdEncoding.EncodeToString(inline))
}

func needsXOP(hrefs ...string) bool {
	for _, h := range hrefs {
		if h != "" {
			return true
		}
	}
	return false
}

// EncodeProvideAndRegister encodes an xdsb:ProvideAndRegisterDocumentSetRequest:
// the SubmitObjectsRequest, then one Document per part, as an xop:Include
// when IncludeHref is set and as base64 text otherwise.
func EncodeProvideAndRegister(sub *registry.Submission, parts []DocumentPart) *etree.Element {
	hrefs := make([]string, len(parts))
	for i, dp := range parts {
		hrefs[i] = dp.IncludeHref
	}
	prefixes := []string{prefixXDSB, prefixLcm, prefixRim}
	if needsXOP(hrefs...) {
		prefixes = append(prefixes, prefixXOP)
	}
	root := newRoot("xdsb:ProvideAndRegisterDocumentSetRequest", prefixes...)
	encodeSubmitInto(root.CreateElement("lcm:SubmitObjectsRequest"), sub)
	for _, dp := range parts {
		doc := root.CreateElement("xdsb:Document")
		doc.CreateAttr("id", dp.ID)
		setContent(doc, dp.IncludeHref, dp.Inline)
	}
	return root
}

// ParseRetrieveDocumentSetRequest decodes an xdsb:RetrieveDocumentSetRequest
// (ITI-43, ITI-39). Values are trimmed of surrounding white space; missing
// or unknown ids are for the repository to report. Structural problems are
// returned as a registry.ErrorList of XDSRepositoryError.
func ParseRetrieveDocumentSetRequest(el *etree.Element) ([]DocumentRequest, error) {
	p := newProblems(registry.ErrCodeRepositoryError)
	if !is(el, NSXDSB, "RetrieveDocumentSetRequest") {
		p.addf("expected {%s}RetrieveDocumentSetRequest, got %s", NSXDSB, elName(el))
		return nil, p.err()
	}
	reqs := parseDocumentRequests(el, "RetrieveDocumentSetRequest", p, nil)
	if len(reqs) == 0 {
		p.addf("RetrieveDocumentSetRequest: no DocumentRequest")
	}
	if err := p.err(); err != nil {
		return nil, err
	}
	return reqs, nil
}

// parseDocumentRequests reads the xdsb:DocumentRequest children of el,
// the request called parent in messages. check, when not nil, is called
// on each request (with its position) as soon as it is read.
func parseDocumentRequests(el *etree.Element, parent string, p *problems, check func(pos int, r DocumentRequest)) []DocumentRequest {
	var reqs []DocumentRequest
	for i, c := range childElements(el) {
		if !is(c, NSXDSB, "DocumentRequest") {
			p.addf("%s: unexpected element %s", parent, qname(c))
			continue
		}
		var r DocumentRequest
		readFields(c, "DocumentRequest", i+1, p, map[string]*string{
			"HomeCommunityId":    &r.HomeCommunityID,
			"RepositoryUniqueId": &r.RepositoryUniqueID,
			"DocumentUniqueId":   &r.DocumentUniqueID,
		}, nil)
		if check != nil {
			check(i+1, r)
		}
		reqs = append(reqs, r)
	}
	return reqs
}

// readFields reads the text-only xdsb children of el into fields (each at
// most once). An xdsb child named in other is handed to it instead.
func readFields(el *etree.Element, who string, pos int, p *problems, fields map[string]*string,
	other func(c *etree.Element)) {
	seen := map[string]bool{}
	for _, c := range childElements(el) {
		dst, known := fields[c.Tag]
		if c.NamespaceURI() != NSXDSB {
			known = false
		}
		switch {
		case known && seen[c.Tag]:
			p.addf("%s #%d: %s appears twice", who, pos, c.Tag)
		case known:
			seen[c.Tag] = true
			t, ok := text(c)
			if !ok {
				p.addf("%s #%d: %s holds an element", who, pos, c.Tag)
				continue
			}
			*dst = strings.TrimSpace(t)
		case other != nil && c.NamespaceURI() == NSXDSB && seen[c.Tag]:
			p.addf("%s #%d: %s appears twice", who, pos, c.Tag)
		case other != nil && c.NamespaceURI() == NSXDSB:
			seen[c.Tag] = true
			other(c)
		default:
			p.addf("%s #%d: unexpected element %s", who, pos, qname(c))
		}
	}
}

// EncodeRetrieveDocumentSetRequest encodes an xdsb:RetrieveDocumentSetRequest.
func EncodeRetrieveDocumentSetRequest(reqs []DocumentRequest) *etree.Element {
	root := newRoot("xdsb:RetrieveDocumentSetRequest", prefixXDSB)
	encodeDocumentRequests(root, reqs)
	return root
}

// encodeDocumentRequests adds an xdsb:DocumentRequest to root for each of
// reqs.
func encodeDocumentRequests(root *etree.Element, reqs []DocumentRequest) {
	for _, r := range reqs {
		dr := root.CreateElement("xdsb:DocumentRequest")
		if r.HomeCommunityID != "" {
			dr.CreateElement("xdsb:HomeCommunityId").SetText(r.HomeCommunityID)
		}
		dr.CreateElement("xdsb:RepositoryUniqueId").SetText(r.RepositoryUniqueID)
		dr.CreateElement("xdsb:DocumentUniqueId").SetText(r.DocumentUniqueID)
	}
}

// EncodeRetrieveDocumentSetResponse encodes an
// xdsb:RetrieveDocumentSetResponse: the rs:RegistryResponse first, then one
// DocumentResponse per document.
func EncodeRetrieveDocumentSetResponse(resp registry.Response, docs []DocumentResponse) *etree.Element {
	hrefs := make([]string, len(docs))
	for i, d := range docs {
		hrefs[i] = d.IncludeHref
	}
	prefixes := []string{prefixXDSB, prefixRs}
	if needsXOP(hrefs...) {
		prefixes = append(prefixes, prefixXOP)
	}
	root := newRoot("xdsb:RetrieveDocumentSetResponse", prefixes...)
	encodeResponseInto(root.CreateElement("rs:RegistryResponse"), resp)
	for _, d := range docs {
		dr := root.CreateElement("xdsb:DocumentResponse")
		if d.HomeCommunityID != "" {
			dr.CreateElement("xdsb:HomeCommunityId").SetText(d.HomeCommunityID)
		}
		dr.CreateElement("xdsb:RepositoryUniqueId").SetText(d.RepositoryUniqueID)
		dr.CreateElement("xdsb:DocumentUniqueId").SetText(d.DocumentUniqueID)
		if d.NewRepositoryUniqueID != "" {
			dr.CreateElement("xdsb:NewRepositoryUniqueId").SetText(d.NewRepositoryUniqueID)
		}
		if d.NewDocumentUniqueID != "" {
			dr.CreateElement("xdsb:NewDocumentUniqueId").SetText(d.NewDocumentUniqueID)
		}
		dr.CreateElement("xdsb:mimeType").SetText(d.MimeType)
		setContent(dr.CreateElement("xdsb:Document"), d.IncludeHref, d.Inline)
	}
	return root
}

// ParseRetrieveDocumentSetResponse decodes an xdsb:RetrieveDocumentSetResponse.
// Structural problems (a bad Document among them) are returned as a
// registry.ErrorList of XDSRepositoryError.
func ParseRetrieveDocumentSetResponse(el *etree.Element) (registry.Response, []DocumentResponse, error) {
	p := newProblems(registry.ErrCodeRepositoryError)
	if !is(el, NSXDSB, "RetrieveDocumentSetResponse") {
		p.addf("expected {%s}RetrieveDocumentSetResponse, got %s", NSXDSB, elName(el))
		return registry.Response{}, nil, p.err()
	}
	var (
		resp     registry.Response
		seenResp bool
		docs     []DocumentResponse
	)
	for i, c := range childElements(el) {
		switch {
		case is(c, NSRs, "RegistryResponse"):
			if p.twice(&seenResp, "RetrieveDocumentSetResponse", c) {
				continue
			}
			resp = parseResponse(c, p)
		case is(c, NSXDSB, "DocumentResponse"):
			docs = append(docs, parseDocumentResponse(c, i+1, p))
		default:
			p.addf("RetrieveDocumentSetResponse: unexpected element %s", qname(c))
		}
	}
	if !seenResp {
		p.addf("RetrieveDocumentSetResponse: no RegistryResponse")
	}
	if err := p.err(); err != nil {
		return registry.Response{}, nil, err
	}
	return resp, docs, nil
}

func parseDocumentResponse(el *etree.Element, pos int, p *problems) DocumentResponse {
	var d DocumentResponse
	seenDoc := false
	readFields(el, "DocumentResponse", pos, p, map[string]*string{
		"HomeCommunityId":       &d.HomeCommunityID,
		"RepositoryUniqueId":    &d.RepositoryUniqueID,
		"DocumentUniqueId":      &d.DocumentUniqueID,
		"NewRepositoryUniqueId": &d.NewRepositoryUniqueID,
		"NewDocumentUniqueId":   &d.NewDocumentUniqueID,
		"mimeType":              &d.MimeType,
	}, func(c *etree.Element) {
		if c.Tag != "Document" {
			p.addf("DocumentResponse #%d: unexpected element %s", pos, qname(c))
			return
		}
		seenDoc = true
		who := fmt.Sprintf("DocumentResponse #%d (DocumentUniqueId %s): Document", pos, q(d.DocumentUniqueID))
		if part, ok := parseDocumentContent(c, who, p); ok {
			d.IncludeHref, d.Inline = part.href, part.inline
		}
	})
	if !seenDoc {
		p.addf("DocumentResponse #%d: no Document", pos)
	}
	return d
}
