package ebrim

import (
	"fmt"
	"strconv"

	"github.com/beevik/etree"

	"pjd/registry"
)

// Decoding a rim:RegistryObjectList into the model happens in three steps:
// read every top-level object with what is nested in it (rawObject), attach
// the top-level Classifications and ExternalIdentifiers to the object they
// name, then turn each rawObject into a model object. Problems are
// collected, not returned at the first one.

const (
	kindExtrinsicObject = "ExtrinsicObject"
	kindRegistryPackage = "RegistryPackage"
	kindAssociation     = "Association"
	kindClassification  = "Classification"
	kindExternalID      = "ExternalIdentifier"
)

// schemeNames names the XDS attribute of a classification scheme in
// codeContexts.
var schemeNames = map[string]string{
	SchemeDocumentEntryAuthor:                     "author",
	SchemeDocumentEntryClassCode:                  "classCode",
	SchemeDocumentEntryConfidentialityCode:        "confidentialityCode",
	SchemeDocumentEntryEventCodeList:              "eventCodeList",
	SchemeDocumentEntryFormatCode:                 "formatCode",
	SchemeDocumentEntryHealthcareFacilityTypeCode: "healthcareFacilityTypeCode",
	SchemeDocumentEntryPracticeSettingCode:        "practiceSettingCode",
	SchemeDocumentEntryTypeCode:                   "typeCode",
	SchemeSubmissionSetAuthor:                     "author",
	SchemeSubmissionSetContentTypeCode:            "contentTypeCode",
	SchemeFolderCodeList:                          "codeList",
	SchemeAssociationDocumentation:                "documentation",
}

type slot struct {
	name   string
	values []string
}

type rawClassification struct {
	who        string // for codeContexts
	scheme     string // white space removed
	node       string // white space removed
	nodeRep    string
	hasNodeRep bool
	classified string
	slots      []slot
	name       string
}

type rawExternalID struct {
	who      string
	scheme   string // white space removed
	value    string
	registry string
}

type rawObject struct {
	kind    string
	id      string
	who     string
	el      *etree.Element
	slots   []slot
	name    string
	desc    string
	version string
	classes []*rawClassification
	extIDs  []*rawExternalID
}

// objectSet is what a RegistryObjectList holds, in document order per kind.
type objectSet struct {
	docs    []*registry.DocumentEntry
	subsets []*registry.SubmissionSet
	folders []*registry.Folder
	assocs  []*registry.Association
	refs    []string // rim:ObjectRef ids
}

type decoder struct {
	p *problems
}

// decodeObjectList reads the children of a rim:RegistryObjectList.
func (d *decoder) decodeObjectList(list *etree.Element) *objectSet {
	var (
		objs    []*rawObject
		byID    = map[string]*rawObject{}
		classes []*rawClassification
		extIDs  []*rawExternalID
		set     = &objectSet{}
	)
	for i, c := range childElements(list) {
		if c.NamespaceURI() != NSRim {
			d.p.addf("RegistryObjectList: unexpected element %s", qname(c))
			continue
		}
		switch c.Tag {
		case kindExtrinsicObject, kindRegistryPackage, kindAssociation:
			o := d.readObject(c, i)
			if o.id == "" {
				continue
			}
			if prev := byID[o.id]; prev != nil {
				d.p.addf("%s: id is also used by a %s in the same message", o.who, prev.kind)
				continue
			}
			byID[o.id] = o
			objs = append(objs, o)
		case kindClassification:
			classes = append(classes, d.readClassification(c, topLevelWho(c, i)))
		case kindExternalID:
			extIDs = append(extIDs, d.readExternalID(c, topLevelWho(c, i)))
		case "ObjectRef":
			id := attrValue(c, "id")
			if id == "" {
				d.p.addf("ObjectRef #%d of RegistryObjectList: no id", i+1)
				continue
			}
			set.refs = append(set.refs, id)
		default:
			d.p.addf("RegistryObjectList: unexpected element %s", qname(c))
		}
	}

	for _, cl := range classes {
		if o := d.ownerOf(byID, cl.who, "classifiedObject", cl.classified); o != nil {
			cl.who = o.who + ": " + cl.who
			o.classes = append(o.classes, cl)
		}
	}
	for _, ei := range extIDs {
		if o := d.ownerOf(byID, ei.who, "registryObject", ei.registry); o != nil {
			ei.who = o.who + ": " + ei.who
			o.extIDs = append(o.extIDs, ei)
		}
	}

	for _, o := range objs {
		switch o.kind {
		case kindExtrinsicObject:
			if de := d.documentEntry(o); de != nil {
				set.docs = append(set.docs, de)
			}
		case kindRegistryPackage:
			ss, f := d.registryPackage(o)
			if ss != nil {
				set.subsets = append(set.subsets, ss)
			}
			if f != nil {
				set.folders = append(set.folders, f)
			}
		case kindAssociation:
			set.assocs = append(set.assocs, d.association(o))
		}
	}
	return set
}

// readObject reads an ExtrinsicObject, RegistryPackage or Association with
// its nested Slots, Name, Description, VersionInfo, Classifications and
// ExternalIdentifiers.
func (d *decoder) readObject(el *etree.Element, pos int) *rawObject {
	o := &rawObject{kind: el.Tag, el: el}
	o.id = attrValue(el, "id")
	if o.id == "" {
		d.p.addf("%s #%d of RegistryObjectList: no id", el.Tag, pos+1)
		return o
	}
	o.who = describe(o.kind, o.id)
	var seen [3]bool // Name, Description, VersionInfo
	once := func(i int, c *etree.Element) bool {
		if seen[i] {
			d.p.addf("%s: %s appears twice", o.who, c.Tag)
			return false
		}
		seen[i] = true
		return true
	}
	nCl, nEI := 0, 0
	for _, c := range childElements(el) {
		if c.NamespaceURI() != NSRim {
			d.p.addf("%s: unexpected element %s", o.who, qname(c))
			continue
		}
		switch c.Tag {
		case "Slot":
			d.addSlot(&o.slots, c, o.who)
		case "Name":
			if once(0, c) {
				o.name = d.localized(c, o.who)
			}
		case "Description":
			if once(1, c) {
				o.desc = d.localized(c, o.who)
			}
		case "VersionInfo":
			if once(2, c) {
				o.version = attrValue(c, "versionName")
			}
		case "ContentVersionInfo":
			// ebRIM content versioning; XDS gives it no meaning.
		case kindClassification:
			nCl++
			who := d.subWho(o.who, kindClassification, attrValue(c, "id"), nCl)
			if n := schemeNames[normURN(attrValue(c, "classificationScheme"))]; n != "" {
				who += " (" + n + ")"
			}
			cl := d.readClassification(c, who)
			if cl.classified != "" && cl.classified != o.id {
				d.p.addf("%s: classifiedObject %s is not the enclosing object", cl.who, q(cl.classified))
				continue
			}
			o.classes = append(o.classes, cl)
		case kindExternalID:
			nEI++
			ei := d.readExternalID(c, d.subWho(o.who, kindExternalID, attrValue(c, "id"), nEI))
			if ei.registry != "" && ei.registry != o.id {
				d.p.addf("%s: registryObject %s is not the enclosing object", ei.who, q(ei.registry))
				continue
			}
			o.extIDs = append(o.extIDs, ei)
		default:
			d.p.addf("%s: unexpected element %s", o.who, qname(c))
		}
	}
	return o
}

// ownerOf returns the object of the request that a top-level
// Classification or ExternalIdentifier (who) names by its attribute attr,
// whose value is ref; nil, reported, when there is none.
func (d *decoder) ownerOf(byID map[string]*rawObject, who, attr, ref string) *rawObject {
	o := byID[ref]
	switch {
	case ref == "":
		d.p.addf("%s: no %s", who, attr)
		return nil
	case o == nil:
		d.p.addf("%s: %s %s is not in the request", who, attr, q(ref))
	}
	return o
}

// topLevelWho names the i-th child c of the RegistryObjectList in
// codeContexts: by its id, else by its position.
func topLevelWho(c *etree.Element, i int) string {
	if id := attrValue(c, "id"); id != "" {
		return fmt.Sprintf("%s %s", c.Tag, q(id))
	}
	return fmt.Sprintf("%s #%d of RegistryObjectList", c.Tag, i+1)
}

func (d *decoder) subWho(owner, kind, id string, n int) string {
	if id == "" {
		return fmt.Sprintf("%s: %s #%d", owner, kind, n)
	}
	return fmt.Sprintf("%s: %s %s", owner, kind, q(id))
}

func (d *decoder) readClassification(el *etree.Element, who string) *rawClassification {
	cl := &rawClassification{who: who}
	cl.scheme = normURN(attrValue(el, "classificationScheme"))
	cl.node = normURN(attrValue(el, "classificationNode"))
	cl.nodeRep, cl.hasNodeRep = attr(el, "nodeRepresentation")
	cl.classified = attrValue(el, "classifiedObject")
	seenName := false
	for _, c := range childElements(el) {
		if c.NamespaceURI() != NSRim {
			d.p.addf("%s: unexpected element %s", who, qname(c))
			continue
		}
		switch c.Tag {
		case "Slot":
			d.addSlot(&cl.slots, c, who)
		case "Name":
			if seenName {
				d.p.addf("%s: Name appears twice", who)
				continue
			}
			seenName = true
			cl.name = d.localized(c, who)
		case "Description", "VersionInfo":
			// Registry bookkeeping of the classification itself; not kept.
		default:
			d.p.addf("%s: unexpected element %s", who, qname(c))
		}
	}
	return cl
}

func (d *decoder) readExternalID(el *etree.Element, who string) *rawExternalID {
	ei := &rawExternalID{who: who}
	ei.scheme = normURN(attrValue(el, "identificationScheme"))
	ei.value = attrValue(el, "value")
	ei.registry = attrValue(el, "registryObject")
	for _, c := range childElements(el) {
		if c.NamespaceURI() != NSRim {
			d.p.addf("%s: unexpected element %s", who, qname(c))
			continue
		}
		switch c.Tag {
		case "Name", "Description", "VersionInfo":
			// The Name is fixed by the scheme ("XDSDocumentEntry.uniqueId");
			// nothing here is kept.
		default:
			d.p.addf("%s: unexpected element %s", who, qname(c))
		}
	}
	return ei
}

// addSlot reads a rim:Slot and appends it to *slots unless its name is
// already there.
func (d *decoder) addSlot(slots *[]slot, el *etree.Element, who string) {
	name, ok := attr(el, "name")
	if !ok || name == "" {
		d.p.addf("%s: Slot without a name", who)
		return
	}
	for _, s := range *slots {
		if s.name == name {
			d.p.addf("%s: slot %s appears twice", who, q(name))
			return
		}
	}
	*slots = append(*slots, slot{name: name, values: d.slotValues(el, who+": slot "+q(name))})
}

// slotValues reads the values of a rim:Slot (or of any element holding one
// rim:ValueList) in order. A slot without values yields nil.
func (d *decoder) slotValues(el *etree.Element, who string) []string {
	var values []string
	seenList := false
	for _, c := range childElements(el) {
		if !is(c, NSRim, "ValueList") {
			d.p.addf("%s: unexpected element %s", who, qname(c))
			continue
		}
		if seenList {
			d.p.addf("%s: ValueList appears twice", who)
			continue
		}
		seenList = true
		for _, v := range childElements(c) {
			if !is(v, NSRim, "Value") {
				d.p.addf("%s: unexpected element %s", who, qname(v))
				continue
			}
			s, ok := text(v)
			if !ok {
				d.p.addf("%s: Value holds an element", who)
				continue
			}
			values = append(values, s)
		}
	}
	return values
}

// localized reads a rim:Name or rim:Description: zero or one
// LocalizedString.
func (d *decoder) localized(el *etree.Element, who string) string {
	var (
		v string
		n int
	)
	for _, c := range childElements(el) {
		if !is(c, NSRim, "LocalizedString") {
			d.p.addf("%s: %s: unexpected element %s", who, el.Tag, qname(c))
			continue
		}
		n++
		if n == 2 {
			d.p.addf("%s: %s has more than one LocalizedString", who, el.Tag)
		}
		v = attrValue(c, "value")
	}
	return v
}

// single returns the only value of a single-valued slot.
func (d *decoder) single(who string, s slot) string {
	switch len(s.values) {
	case 1:
		return s.values[0]
	case 0:
		d.p.addf("%s: slot %s has no value", who, q(s.name))
	default:
		d.p.addf("%s: slot %s has %d values, expected 1", who, q(s.name), len(s.values))
	}
	return ""
}

// setOnce stores v in *dst and reports a second value for a single-valued
// attribute (a code scheme or identification scheme given twice).
func (d *decoder) setOnce(who, what string, dst *string, v string, seen map[string]bool) {
	if seen[what] {
		d.p.addf("%s: %s is given more than once", who, what)
		return
	}
	seen[what] = true
	*dst = v
}

// decodeSlots decodes o's slots: a name in single is a single-valued slot
// stored in its string, a name in multi a list stored in its slice; any
// other slot goes to *extra.
func (d *decoder) decodeSlots(o *rawObject, single map[string]*string, multi map[string]*[]string, extra *[]registry.Slot) {
	for _, s := range o.slots {
		if dst, ok := single[s.name]; ok {
			*dst = d.single(o.who, s)
		} else if dst, ok := multi[s.name]; ok {
			*dst = s.values
		} else {
			*extra = append(*extra, registry.Slot{Name: s.name, Values: s.values})
		}
	}
}

// externalID is where the ExternalIdentifier of one identificationScheme
// goes: its name in messages and the field it sets.
type externalID struct {
	name string
	dst  *string
}

// externalIDs decodes o's ExternalIdentifiers, each given at most once,
// into the fields ids names by identificationScheme; kind names the
// object type in messages.
func (d *decoder) externalIDs(o *rawObject, kind string, seen map[string]bool, ids map[string]externalID) {
	for _, ei := range o.extIDs {
		f, ok := ids[ei.scheme]
		if !ok {
			d.p.addf("%s: identificationScheme %s is not one of %s's", ei.who, q(ei.scheme), kind)
			continue
		}
		d.setOnce(o.who, "ExternalIdentifier "+f.name, f.dst, ei.value, seen)
	}
}

func (d *decoder) documentEntry(o *rawObject) *registry.DocumentEntry {
	de := &registry.DocumentEntry{
		ID:         o.id,
		Title:      o.name,
		Comments:   o.desc,
		Version:    o.version,
		LogicalID:  attrValue(o.el, "lid"),
		Status:     attrValue(o.el, "status"),
		ObjectType: attrValue(o.el, "objectType"),
		MimeType:   attrValue(o.el, "mimeType"),
	}
	de.HomeCommunityID = attrValue(o.el, "home")
	var size string
	d.decodeSlots(o, map[string]*string{
		SlotCreationTime:         &de.CreationTime,
		SlotHash:                 &de.Hash,
		SlotSize:                 &size,
		SlotRepositoryUniqueID:   &de.RepositoryUniqueID,
		SlotLanguageCode:         &de.LanguageCode,
		SlotSourcePatientID:      &de.SourcePatientID,
		SlotLegalAuthenticator:   &de.LegalAuthenticator,
		SlotServiceStartTime:     &de.ServiceStartTime,
		SlotServiceStopTime:      &de.ServiceStopTime,
		SlotURI:                  &de.URI,
		SlotDocumentAvailability: &de.DocumentAvailability,
	}, map[string]*[]string{
		SlotSourcePatientInfo: &de.SourcePatientInfo,
		SlotReferenceIDList:   &de.ReferenceIDs,
	}, &de.Extra)
	if size != "" {
		n, err := strconv.ParseInt(size, 10, 64)
		if err != nil {
			d.p.addf("%s: slot %s: %s is not an integer", o.who, q(SlotSize), q(size))
		} else {
			de.Size = &n
		}
	}
	seen := map[string]bool{}
	for _, cl := range o.classes {
		if cl.node != "" || cl.scheme == "" {
			d.nodeNotAllowed(cl)
			continue
		}
		var dst *registry.Code
		switch cl.scheme {
		case SchemeDocumentEntryAuthor:
			if a, ok := d.author(cl); ok {
				de.Authors = append(de.Authors, a)
			}
			continue
		case SchemeDocumentEntryConfidentialityCode:
			de.Confidentiality = append(de.Confidentiality, d.code(cl))
			continue
		case SchemeDocumentEntryEventCodeList:
			de.Events = append(de.Events, d.code(cl))
			continue
		case SchemeDocumentEntryClassCode:
			dst = &de.Class
		case SchemeDocumentEntryTypeCode:
			dst = &de.Type
		case SchemeDocumentEntryFormatCode:
			dst = &de.Format
		case SchemeDocumentEntryHealthcareFacilityTypeCode:
			dst = &de.FacilityType
		case SchemeDocumentEntryPracticeSettingCode:
			dst = &de.PracticeSetting
		default:
			d.p.addf("%s: classificationScheme %s is not one of DocumentEntry's", cl.who, q(cl.scheme))
			continue
		}
		if seen[cl.scheme] {
			d.p.addf("%s: a second classification with scheme %s (single-valued)", cl.who, cl.scheme)
			continue
		}
		seen[cl.scheme] = true
		*dst = d.code(cl)
	}
	d.externalIDs(o, "DocumentEntry", seen, map[string]externalID{
		IdentDocumentEntryUniqueID:  {nameDocumentEntryUniqueID, &de.UniqueID},
		IdentDocumentEntryPatientID: {nameDocumentEntryPatientID, &de.PatientID},
	})
	return de
}

// registryPackage decodes a RegistryPackage as a SubmissionSet or a Folder,
// whichever its classificationNode says.
func (d *decoder) registryPackage(o *rawObject) (*registry.SubmissionSet, *registry.Folder) {
	var isSS, isFolder bool
	var codes []*rawClassification
	for _, cl := range o.classes {
		switch {
		case cl.node == NodeSubmissionSet && cl.scheme == "":
			isSS = true
		case cl.node == NodeFolder && cl.scheme == "":
			isFolder = true
		case cl.node != "" || cl.scheme == "":
			d.nodeNotAllowed(cl)
		default:
			codes = append(codes, cl)
		}
	}
	switch {
	case isSS && isFolder:
		d.p.addf("%s: classified both as SubmissionSet and as Folder", o.who)
		return nil, nil
	case isSS:
		return d.submissionSet(o, codes), nil
	case isFolder:
		return nil, d.folder(o, codes)
	}
	d.p.addf("%s: neither a SubmissionSet nor a Folder (no Classification with classificationNode %s or %s)",
		o.who, NodeSubmissionSet, NodeFolder)
	return nil, nil
}

func (d *decoder) submissionSet(o *rawObject, classes []*rawClassification) *registry.SubmissionSet {
	ss := &registry.SubmissionSet{
		ID:              o.id,
		Status:          attrValue(o.el, "status"),
		HomeCommunityID: attrValue(o.el, "home"),
		Title:           o.name,
		Comments:        o.desc,
	}
	d.decodeSlots(o, map[string]*string{SlotSubmissionTime: &ss.SubmissionTime},
		map[string]*[]string{SlotIntendedRecipient: &ss.IntendedRecipients}, &ss.Extra)
	seen := map[string]bool{}
	for _, cl := range classes {
		switch cl.scheme {
		case SchemeSubmissionSetAuthor:
			if a, ok := d.author(cl); ok {
				ss.Authors = append(ss.Authors, a)
			}
		case SchemeSubmissionSetContentTypeCode:
			if seen[cl.scheme] {
				d.p.addf("%s: a second classification with scheme %s (single-valued)", cl.who, cl.scheme)
				continue
			}
			seen[cl.scheme] = true
			ss.ContentType = d.code(cl)
		default:
			d.p.addf("%s: classificationScheme %s is not one of SubmissionSet's", cl.who, q(cl.scheme))
		}
	}
	d.externalIDs(o, "SubmissionSet", seen, map[string]externalID{
		IdentSubmissionSetUniqueID:  {nameSubmissionSetUniqueID, &ss.UniqueID},
		IdentSubmissionSetSourceID:  {nameSubmissionSetSourceID, &ss.SourceID},
		IdentSubmissionSetPatientID: {nameSubmissionSetPatientID, &ss.PatientID},
	})
	return ss
}

func (d *decoder) folder(o *rawObject, classes []*rawClassification) *registry.Folder {
	f := &registry.Folder{
		ID:              o.id,
		LogicalID:       attrValue(o.el, "lid"),
		Version:         o.version,
		Status:          attrValue(o.el, "status"),
		HomeCommunityID: attrValue(o.el, "home"),
		Title:           o.name,
		Comments:        o.desc,
	}
	d.decodeSlots(o, map[string]*string{SlotLastUpdateTime: &f.LastUpdateTime}, nil, &f.Extra)
	for _, cl := range classes {
		if cl.scheme != SchemeFolderCodeList {
			d.p.addf("%s: classificationScheme %s is not one of Folder's", cl.who, q(cl.scheme))
			continue
		}
		f.Codes = append(f.Codes, d.code(cl))
	}
	d.externalIDs(o, "Folder", map[string]bool{}, map[string]externalID{
		IdentFolderUniqueID:  {nameFolderUniqueID, &f.UniqueID},
		IdentFolderPatientID: {nameFolderPatientID, &f.PatientID},
	})
	return f
}

func (d *decoder) association(o *rawObject) *registry.Association {
	a := &registry.Association{
		ID:     o.id,
		Type:   attrValue(o.el, "associationType"),
		Source: attrValue(o.el, "sourceObject"),
		Target: attrValue(o.el, "targetObject"),
		Status: attrValue(o.el, "status"),
	}
	d.decodeSlots(o, map[string]*string{SlotSubmissionSetStatus: &a.SubmissionSetStatus}, nil, &a.Extra)
	for _, cl := range o.classes {
		switch {
		case cl.node != "" || cl.scheme == "":
			d.nodeNotAllowed(cl)
		case cl.scheme != SchemeAssociationDocumentation:
			d.p.addf("%s: classificationScheme %s is not one of Association's (only documentation, %s)",
				cl.who, q(cl.scheme), SchemeAssociationDocumentation)
		case a.Documentation != nil:
			d.p.addf("%s: a second documentation classification (at most one)", cl.who)
		default:
			c := d.code(cl)
			a.Documentation = &c
		}
	}
	for _, ei := range o.extIDs {
		d.p.addf("%s: ExternalIdentifiers of an Association are not supported", ei.who)
	}
	return a
}

func (d *decoder) nodeNotAllowed(cl *rawClassification) {
	switch {
	case cl.node != "" && cl.scheme != "":
		d.p.addf("%s: has both classificationScheme and classificationNode", cl.who)
	case cl.node == NodeDocumentEntryLimitedMetadata || cl.node == NodeSubmissionSetLimitedMetadata ||
		cl.node == NodeFolderLimitedMetadata:
		d.p.addf("%s: limited metadata (classificationNode %s) is not supported", cl.who, cl.node)
	case cl.node != "":
		d.p.addf("%s: classificationNode %s does not apply to this object", cl.who, q(cl.node))
	default:
		d.p.addf("%s: neither classificationScheme nor classificationNode", cl.who)
	}
}

// code decodes a coded-value Classification.
func (d *decoder) code(cl *rawClassification) registry.Code {
	c := registry.Code{Code: cl.nodeRep, Display: cl.name}
	for _, s := range cl.slots {
		if s.name != SlotCodingScheme {
			d.p.addf("%s: slot %s is not allowed on a coded value", cl.who, q(s.name))
			continue
		}
		c.Scheme = d.single(cl.who, s)
	}
	return c
}

// author decodes an author Classification (nodeRepresentation "").
func (d *decoder) author(cl *rawClassification) (registry.Author, bool) {
	var a registry.Author
	if cl.nodeRep != "" {
		d.p.addf("%s: an author classification must have an empty nodeRepresentation, got %s", cl.who, q(cl.nodeRep))
		return a, false
	}
	if cl.name != "" {
		d.p.addf("%s: an author classification has no Name", cl.who)
	}
	specialty := false
	for _, s := range cl.slots {
		switch s.name {
		case SlotAuthorPerson:
			a.Person = d.single(cl.who, s)
		case SlotAuthorInstitution:
			a.Institutions = s.values
		case SlotAuthorRole:
			a.Roles = s.values
		case SlotAuthorSpecialty, slotAuthorSpecialityLegacy:
			if specialty {
				d.p.addf("%s: slot %s given twice (with its legacy spelling %s)", cl.who, q(SlotAuthorSpecialty), q(slotAuthorSpecialityLegacy))
				continue
			}
			specialty = true
			a.Specialties = s.values
		case SlotAuthorTelecommunication:
			a.Telecoms = s.values
		default:
			d.p.addf("%s: slot %s is not an author attribute", cl.who, q(s.name))
		}
	}
	return a, true
}
