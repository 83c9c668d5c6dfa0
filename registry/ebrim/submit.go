package ebrim

import (
	"github.com/beevik/etree"

	"pjd/registry"
)

// ParseSubmitObjectsRequest decodes an lcm:SubmitObjectsRequest (ITI-42,
// ITI-57, or the metadata of ITI-41) into a Submission. Ids are kept as
// given, symbolic or not.
//
// Every structural problem the model cannot hold is reported, as a
// registry.ErrorList of XDSRegistryMetadataError whose codeContext names the
// object and the slot or attribute. Whether the metadata is complete and
// well-formed (required attributes, formats, codes, patient ids) is for the
// registry to decide, not for this function.
func ParseSubmitObjectsRequest(el *etree.Element) (*registry.Submission, error) {
	p := newProblems(registry.ErrCodeRegistryMetadataError)
	sub := parseSubmit(el, p)
	if err := p.err(); err != nil {
		return nil, err
	}
	return sub, nil
}

func parseSubmit(el *etree.Element, p *problems) *registry.Submission {
	if !is(el, NSLcm, "SubmitObjectsRequest") {
		p.addf("expected {%s}SubmitObjectsRequest, got %s", NSLcm, elName(el))
		return nil
	}
	var list *etree.Element
	for _, c := range childElements(el) {
		switch {
		case is(c, NSRim, "RegistryObjectList"):
			if list != nil {
				p.addf("SubmitObjectsRequest: RegistryObjectList appears twice")
				continue
			}
			list = c
		case is(c, NSRs, "RequestSlotList"):
			// Request-level slots carry nothing XDS defines.
		default:
			p.addf("SubmitObjectsRequest: unexpected element %s", qname(c))
		}
	}
	if list == nil {
		p.addf("SubmitObjectsRequest: no RegistryObjectList")
		return nil
	}
	d := &decoder{p: p}
	set := d.decodeObjectList(list)
	sub := &registry.Submission{
		Documents:    set.docs,
		Folders:      set.folders,
		Associations: set.assocs,
	}
	switch len(set.subsets) {
	case 0:
		// Reported by the registry's validation (exactly one SubmissionSet).
	case 1:
		sub.SubmissionSet = set.subsets[0]
	default:
		for _, ss := range set.subsets[1:] {
			p.addf("%s: a second SubmissionSet in one request (the first is %s)",
				describe(kindRegistryPackage, ss.ID), q(set.subsets[0].ID))
		}
	}
	return sub
}

// elName names el for an error, nil included.
func elName(el *etree.Element) string {
	if el == nil {
		return "nothing"
	}
	return qname(el)
}

// EncodeSubmitObjectsRequest encodes sub as an lcm:SubmitObjectsRequest. The
// SubmissionSet comes first, then Folders, DocumentEntries and
// Associations; the SubmissionSet and Folder classifications are written
// inside their RegistryPackage.
func EncodeSubmitObjectsRequest(sub *registry.Submission) *etree.Element {
	root := newRoot("lcm:SubmitObjectsRequest", prefixLcm, prefixRim)
	encodeSubmitInto(root, sub)
	return root
}

func encodeSubmitInto(root *etree.Element, sub *registry.Submission) {
	list := root.CreateElement("rim:RegistryObjectList")
	if sub == nil {
		return
	}
	var subsets []*registry.SubmissionSet
	if sub.SubmissionSet != nil {
		subsets = []*registry.SubmissionSet{sub.SubmissionSet}
	}
	encodeObjects(list, sub.Documents, subsets, sub.Folders, sub.Associations, false)
}
