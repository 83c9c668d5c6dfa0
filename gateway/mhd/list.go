package mhd

import (
	"strconv"
	"strings"

	"pjd/gateway/fhir"
	"pjd/registry"
)

// MemberKind says what a HasMember target is.
type MemberKind int

// Kinds of List members.
const (
	MemberOther MemberKind = iota // an association or anything not listed
	MemberDocument
	MemberFolder
)

// ListMember is one entry of a List: a DocumentEntry or a Folder id.
type ListMember struct {
	ID   string
	Kind MemberKind
}

// Members picks the List entries of the SubmissionSet or Folder with id
// from assocs: the targets of its HasMember associations, in the order
// given, typed by kind (the caller knows which ids are documents and which
// folders). Targets of kind MemberOther (SubmissionSet→Association
// HasMembers) are left out.
func Members(id string, assocs []*registry.Association, kind func(id string) MemberKind) []ListMember {
	var out []ListMember
	for _, a := range assocs {
		if a.Type != registry.AssocHasMember || a.Source != id {
			continue
		}
		if k := kind(a.Target); k != MemberOther {
			out = append(out, ListMember{ID: a.Target, Kind: k})
		}
	}
	return out
}

func (m ListMember) reference() fhir.Reference {
	typ := "DocumentReference"
	if m.Kind == MemberFolder {
		typ = "List"
	}
	if id := resourceID(m.ID); id != "" {
		return fhir.Reference{Reference: typ + "/" + id}
	}
	return fhir.Reference{Type: typ, Identifier: &fhir.Identifier{System: SystemURI, Value: m.ID}}
}

// listStatus maps availabilityStatus to List.status: Approved → current,
// Deprecated → retired (List.status has no "superseded"; ITI-66 searches
// accept both words).
func listStatus(s string) string {
	switch s {
	case registry.StatusApproved:
		return "current"
	case registry.StatusDeprecated:
		return "retired"
	}
	return ""
}

func listIdentifiers(uniqueID, entryUUID string) []fhir.Identifier {
	var ids []fhir.Identifier
	if uniqueID != "" {
		ids = append(ids, fhir.Identifier{Use: "usual", System: SystemURI, Value: uniqueIDValue(uniqueID)})
	}
	if entryUUID != "" {
		ids = append(ids, entryUUIDIdentifier(entryUUID))
	}
	return ids
}

func listCode(code string) *fhir.CodeableConcept {
	return &fhir.CodeableConcept{Coding: []fhir.Coding{{System: SystemListTypes, Code: code}}}
}

// ListFromSubmissionSet renders a SubmissionSet as an MHD Comprehensive
// SubmissionSet List (xds_metadata.md §5): identifiers (uniqueId usual,
// entryUUID official), status, mode working, code submissionset,
// ihe-designationType (contentTypeCode), ihe-sourceId, ihe-intendedRecipient
// (contained Organization/Practitioner), subject, date (submissionTime),
// source (the first author: its Practitioner, or PractitionerRole, with
// ihe-authorOrg pointing at its institution), title, note (comments) and
// entries.
func ListFromSubmissionSet(s *registry.SubmissionSet, members []ListMember, opts RenderOptions) fhir.List {
	l := listOf{profile: ProfileSubmissionSet, code: "submissionset", id: s.ID, uniqueID: s.UniqueID, status: s.Status,
		title: s.Title, patientID: s.PatientID, date: s.SubmissionTime, comments: s.Comments}.render(members)
	if c := opts.concept(AttrContentType, s.ContentType); c != nil {
		l.Extension = append(l.Extension, fhir.Extension{URL: ExtDesignationType, ValueCodeableConcept: c})
	}
	if s.SourceID != "" {
		l.Extension = append(l.Extension, fhir.Extension{URL: ExtSourceID, ValueIdentifier: &fhir.Identifier{System: SystemURI, Value: uniqueIDValue(s.SourceID)}})
	}
	cb := containedBuilder{opts: opts}
	for i, r := range s.IntendedRecipients {
		if ref := cb.recipient(strconv.Itoa(i+1), r); ref != nil {
			l.Extension = append(l.Extension, fhir.Extension{URL: ExtIntendedRecipient, ValueReference: ref})
		}
	}
	for i, a := range s.Authors {
		refs, org := cb.author(strconv.Itoa(i+1), a)
		if l.Source != nil || len(refs) == 0 {
			continue
		}
		l.Source = &fhir.ListSource{Reference: refs[0].Reference}
		if org != nil {
			l.Source.Extension = []fhir.Extension{{URL: ExtAuthorOrg, ValueReference: org}}
		}
	}
	l.Contained = cb.out
	return l
}

// listOf is what a SubmissionSet and a Folder render alike: the List's
// profile and code, resource id (entryUUID), identifiers, status, mode
// working, title, subject, date (a DTM), note and entries.
type listOf struct {
	profile, code                                          string
	id, uniqueID, status, title, patientID, date, comments string
}

func (x listOf) render(members []ListMember) fhir.List {
	l := fhir.List{
		DomainResource: fhir.DomainResource{ResourceType: "List", ID: resourceID(x.id), Meta: &fhir.Meta{Profile: []string{x.profile}}},
		Identifier:     listIdentifiers(x.uniqueID, x.id),
		Status:         listStatus(x.status),
		Mode:           "working",
		Title:          x.title,
		Code:           listCode(x.code),
		Subject:        patientReference(x.patientID),
		Date:           dtmToDateTime(x.date),
	}
	if x.comments != "" {
		l.Note = []fhir.Annotation{{Text: x.comments}}
	}
	for _, m := range members {
		l.Entry = append(l.Entry, fhir.ListEntry{Item: m.reference()})
	}
	return l
}

// recipient adds the contained resources of one intendedRecipient
// ("XON|XCN|XTN") and returns the reference to it.
func (cb *containedBuilder) recipient(n, v string) *fhir.Reference {
	parts := strings.SplitN(v, "|", 3)
	org, person, tel := comp(parts, 0), comp(parts, 1), comp(parts, 2)
	var telecom []fhir.ContactPoint
	if tel != "" {
		telecom = []fhir.ContactPoint{contactPoint(tel)}
	}
	switch {
	case person != "" && org != "":
		p := cb.practitioner("recipient"+n, person, telecom)
		o := cb.organization("recipient"+n+"-org", org, nil)
		r := &fhir.PractitionerRole{DomainResource: fhir.DomainResource{ResourceType: "PractitionerRole", ID: "recipient" + n + "-role"},
			Practitioner: &fhir.Reference{Reference: "#" + p}, Organization: &fhir.Reference{Reference: "#" + o}}
		cb.add(r)
		return &fhir.Reference{Reference: "#" + r.ID}
	case person != "" || (org == "" && tel != ""):
		return &fhir.Reference{Reference: "#" + cb.practitioner("recipient"+n, person, telecom)}
	case org != "":
		return &fhir.Reference{Reference: "#" + cb.organization("recipient"+n, org, telecom)}
	}
	return nil
}

// ListFromFolder renders a Folder as an MHD Comprehensive Folder List:
// identifiers, status, mode working, code folder, one ihe-designationType
// per codeList code, subject, date (lastUpdateTime), title, note and the
// member DocumentReferences.
func ListFromFolder(f *registry.Folder, members []ListMember, opts RenderOptions) fhir.List {
	l := listOf{profile: ProfileFolder, code: "folder", id: f.ID, uniqueID: f.UniqueID, status: f.Status,
		title: f.Title, patientID: f.PatientID, date: f.LastUpdateTime, comments: f.Comments}.render(members)
	for _, c := range f.Codes {
		if cc := opts.concept(AttrFolderCode, c); cc != nil {
			l.Extension = append(l.Extension, fhir.Extension{URL: ExtDesignationType, ValueCodeableConcept: cc})
		}
	}
	return l
}
