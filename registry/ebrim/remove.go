package ebrim

import (
	"github.com/beevik/etree"

	"pjd/registry"
)

// DeletionScopeDeleteAll is the only deletionScope ITI-62 accepts (and
// the ebRS default when the attribute is absent).
const DeletionScopeDeleteAll = "urn:oasis:names:tc:ebxml-regrep:DeletionScopeType:DeleteAll"

// ParseRemoveObjectsRequest decodes an lcm:RemoveObjectsRequest (ITI-62
// Remove Metadata): the ids of its rim:ObjectRefList, in order, as sent.
// Whether they name registry objects, and whether removing them keeps the
// metadata consistent, is the registry's decision.
//
// Structural problems are returned as a registry.ErrorList of
// XDSRegistryError (the request carries references, not metadata, like an
// AdhocQueryRequest): no or an empty ObjectRefList, an AdhocQuery (ITI-62
// names its objects; IPF OBJECT_SHALL_NOT_BE_SPECIFIED), a deletionScope
// other than DeleteAll (IPF WRONG_DELETION_SCOPE; the MU supplement says
// the attribute shall not be sent, and an absent one means DeleteAll), an
// ObjectRef without id.
func ParseRemoveObjectsRequest(el *etree.Element) ([]string, error) {
	p := newProblems(registry.ErrCodeRegistryError)
	ids := parseRemove(el, p)
	if err := p.err(); err != nil {
		return nil, err
	}
	return ids, nil
}

func parseRemove(el *etree.Element, p *problems) []string {
	if !is(el, NSLcm, "RemoveObjectsRequest") {
		p.addf("expected {%s}RemoveObjectsRequest, got %s", NSLcm, elName(el))
		return nil
	}
	if scope, ok := attr(el, "deletionScope"); ok && normURN(scope) != DeletionScopeDeleteAll {
		p.addf("RemoveObjectsRequest: deletionScope %s is not supported (only %s)", q(scope), DeletionScopeDeleteAll)
	}
	var ids []string
	seenList := false
	for _, c := range childElements(el) {
		switch {
		case is(c, NSRim, "ObjectRefList"):
			if p.twice(&seenList, "RemoveObjectsRequest", c) {
				continue
			}
			for i, r := range childElements(c) {
				if !is(r, NSRim, "ObjectRef") {
					p.addf("ObjectRefList: unexpected element %s", qname(r))
					continue
				}
				id := attrValue(r, "id")
				if id == "" {
					p.addf("ObjectRef #%d of ObjectRefList: no id", i+1)
					continue
				}
				ids = append(ids, id)
			}
		case is(c, NSRim, "AdhocQuery"):
			p.addf("RemoveObjectsRequest: an AdhocQuery shall not be specified in ITI-62; name the objects in an ObjectRefList")
		case is(c, NSRs, "RequestSlotList"):
			// Request-level slots carry nothing ITI-62 defines.
		default:
			p.addf("RemoveObjectsRequest: unexpected element %s", qname(c))
		}
	}
	if len(ids) == 0 && len(p.list) == 0 {
		p.addf("RemoveObjectsRequest: no ObjectRef (the ObjectRefList must name at least one object)")
	}
	return ids
}

// EncodeRemoveObjectsRequest encodes an lcm:RemoveObjectsRequest naming
// the objects ids (without deletionScope, as ITI-62 asks).
func EncodeRemoveObjectsRequest(ids []string) *etree.Element {
	root := newRoot("lcm:RemoveObjectsRequest", prefixLcm, prefixRim)
	list := root.CreateElement("rim:ObjectRefList")
	for _, id := range ids {
		list.CreateElement("rim:ObjectRef").CreateAttr("id", id)
	}
	return root
}
