package ebrim

import (
	"github.com/beevik/etree"

	"pjd/registry"
)

// ParseAdhocQueryRequest decodes a query:AdhocQueryRequest (ITI-18, ITI-38,
// ITI-51): ResponseOption/@returnType, AdhocQuery/@id and @home, and every
// Slot in order with its raw values. A parameter sent as several Slots stays
// several entries. Whether the query id, return type and parameters make
// sense is for the stored-query code to decide; structural problems are
// returned as a registry.ErrorList of XDSRegistryError.
func ParseAdhocQueryRequest(el *etree.Element) (*registry.Query, error) {
	p := newProblems(registry.ErrCodeRegistryError)
	qry := parseQuery(el, p)
	if err := p.err(); err != nil {
		return nil, err
	}
	return qry, nil
}

func parseQuery(el *etree.Element, p *problems) *registry.Query {
	if !is(el, NSQuery, "AdhocQueryRequest") {
		p.addf("expected {%s}AdhocQueryRequest, got %s", NSQuery, elName(el))
		return nil
	}
	qry := &registry.Query{}
	var seenOption, seenQuery bool
	for _, c := range childElements(el) {
		switch {
		case is(c, NSQuery, "ResponseOption"):
			if p.twice(&seenOption, "AdhocQueryRequest", c) {
				continue
			}
			qry.ReturnType = attrValue(c, "returnType")
		case is(c, NSRim, "AdhocQuery"):
			if p.twice(&seenQuery, "AdhocQueryRequest", c) {
				continue
			}
			parseAdhocQuery(c, qry, p)
		case is(c, NSRs, "RequestSlotList"):
			// Request-level slots carry nothing ITI-18 defines.
		default:
			p.addf("AdhocQueryRequest: unexpected element %s", qname(c))
		}
	}
	if !seenOption {
		p.addf("AdhocQueryRequest: no ResponseOption")
	}
	if !seenQuery {
		p.addf("AdhocQueryRequest: no AdhocQuery")
	}
	return qry
}

func parseAdhocQuery(el *etree.Element, qry *registry.Query, p *problems) {
	qry.ID = attrValue(el, "id")
	qry.HomeCommunityID = attrValue(el, "home")
	d := &decoder{p: p}
	who := describe("AdhocQuery", qry.ID)
	n := 0
	for _, c := range childElements(el) {
		if c.NamespaceURI() != NSRim {
			p.addf("%s: unexpected element %s", who, qname(c))
			continue
		}
		switch c.Tag {
		case "Slot":
			n++
			name, ok := attr(c, "name")
			if !ok || name == "" {
				p.addf("%s: Slot #%d without a name", who, n)
				continue
			}
			qry.Params = append(qry.Params, registry.Slot{
				Name:   name,
				Values: d.slotValues(c, who+": slot "+q(name)),
			})
		case "Name", "Description", "VersionInfo", "QueryExpression":
			// Not used by stored queries.
		default:
			p.addf("%s: unexpected element %s", who, qname(c))
		}
	}
}

// EncodeAdhocQueryRequest encodes qry as a query:AdhocQueryRequest with
// returnComposedObjects="true".
func EncodeAdhocQueryRequest(qry *registry.Query) *etree.Element {
	root := newRoot("query:AdhocQueryRequest", prefixQuery, prefixRim)
	opt := root.CreateElement("query:ResponseOption")
	opt.CreateAttr("returnComposedObjects", "true")
	aq := root.CreateElement("rim:AdhocQuery")
	if qry == nil {
		return root
	}
	setAttrIf(opt, "returnType", qry.ReturnType)
	aq.CreateAttr("id", qry.ID)
	setAttrIf(aq, "home", qry.HomeCommunityID)
	for _, s := range qry.Params {
		addSlot(aq, s.Name, s.Values...)
	}
	return root
}

// EncodeAdhocQueryResponse encodes a query:AdhocQueryResponse. status is
// the ResponseStatusType; when empty it follows from the errors. The
// RegistryErrorList holds errs followed by those res.Warnings that errs
// does not already hold. For an ObjectRef result the RegistryObjectList
// holds one rim:ObjectRef per id, otherwise the full metadata of every
// object (LeafClass). res may be nil (a failed query).
func EncodeAdhocQueryResponse(res *registry.QueryResult, status string, errs registry.ErrorList) *etree.Element {
	all := append(registry.ErrorList(nil), errs...)
	if res != nil {
		for _, w := range res.Warnings {
			if !containsError(all, w) {
				all = append(all, w)
			}
		}
	}
	if status == "" {
		status = registry.StatusFor(all)
	}
	root := newRoot("query:AdhocQueryResponse", prefixQuery, prefixRim, prefixRs)
	root.CreateAttr("status", status)
	if el := registryErrorList(all); el != nil {
		root.AddChild(el)
	}
	list := root.CreateElement("rim:RegistryObjectList")
	if res == nil {
		return root
	}
	if res.ReturnType == registry.ReturnObjectRef {
		for _, id := range res.Refs {
			list.CreateElement("rim:ObjectRef").CreateAttr("id", id)
		}
		return root
	}
	encodeObjects(list, res.Documents, res.SubmissionSets, res.Folders, res.Associations, true)
	return root
}

func containsError(l registry.ErrorList, e registry.Error) bool {
	for _, x := range l {
		if x == e {
			return true
		}
	}
	return false
}

// ParseAdhocQueryResponse decodes a query:AdhocQueryResponse, as an
// initiating gateway or a consumer receives it. The Response carries the
// status and every RegistryError; the QueryResult's Warnings are the
// warning-severity ones among them. A RegistryObjectList of rim:ObjectRef
// gives an ObjectRef result; otherwise (an empty list included) the result
// is LeafClass. Structural problems are returned as a registry.ErrorList of
// XDSRegistryMetadataError.
func ParseAdhocQueryResponse(el *etree.Element) (*registry.QueryResult, registry.Response, error) {
	p := newProblems(registry.ErrCodeRegistryMetadataError)
	res, resp := parseQueryResponse(el, p)
	if err := p.err(); err != nil {
		return nil, registry.Response{}, err
	}
	return res, resp, nil
}

func parseQueryResponse(el *etree.Element, p *problems) (*registry.QueryResult, registry.Response) {
	var resp registry.Response
	if !is(el, NSQuery, "AdhocQueryResponse") {
		p.addf("expected {%s}AdhocQueryResponse, got %s", NSQuery, elName(el))
		return nil, resp
	}
	resp.Status = responseStatus(el, "AdhocQueryResponse", p)
	res := &registry.QueryResult{ReturnType: registry.ReturnLeafClass}
	var seenErrs, seenList bool
	for _, c := range childElements(el) {
		switch {
		case is(c, NSRs, "RegistryErrorList"):
			if p.twice(&seenErrs, "AdhocQueryResponse", c) {
				continue
			}
			resp.Errors = parseErrorList(c, p)
		case is(c, NSRs, "ResponseSlotList"):
			// Response-level slots carry nothing ITI-18 defines.
		case is(c, NSRim, "RegistryObjectList"):
			if p.twice(&seenList, "AdhocQueryResponse", c) {
				continue
			}
			d := &decoder{p: p}
			set := d.decodeObjectList(c)
			res.Documents, res.SubmissionSets = set.docs, set.subsets
			res.Folders, res.Associations = set.folders, set.assocs
			if len(set.refs) > 0 {
				if res.Len() > 0 {
					p.addf("AdhocQueryResponse: RegistryObjectList mixes ObjectRef and LeafClass objects")
				}
				res.ReturnType = registry.ReturnObjectRef
				res.Refs = set.refs
			}
		default:
			p.addf("AdhocQueryResponse: unexpected element %s", qname(c))
		}
	}
	for _, e := range resp.Errors {
		if e.IsWarning() {
			res.Warnings = append(res.Warnings, e)
		}
	}
	return res, resp
}

// responseStatus reads the required status attribute of a response.
func responseStatus(el *etree.Element, who string, p *problems) string {
	s, ok := attr(el, "status")
	if !ok || s == "" {
		p.addf("%s: no status", who)
	}
	return s
}
