package ebrim

import (
	"strconv"

	"github.com/beevik/etree"

	"pjd/registry"
)

// Encoding writes each registry object with its children in the order of
// the ebRIM schema: Slot*, Name?, Description?, VersionInfo?,
// Classification*, ExternalIdentifier*. Classification and
// ExternalIdentifier ids are derived from the owner id and position
// (derivedID), so the same model always gives the same bytes.

// subIDs hands out the derived ids of one owner's sub-objects.
type subIDs struct {
	owner  string
	cl, ei int
}

func (s *subIDs) next(kind string) string {
	var i int
	if kind == "cl" {
		s.cl++
		i = s.cl
	} else {
		s.ei++
		i = s.ei
	}
	return derivedID(s.owner, kind, i)
}

// encodeObjects writes the objects into list. versioned (query responses)
// also gives SubmissionSets and Associations, which are never versioned,
// lid = id and VersionInfo 1, as ebRIM has them on every RegistryObject
// and the NIST response validator expects them (iheos-toolkit2 #598);
// DocumentEntries and Folders carry their own lid and version always.
func encodeObjects(list *etree.Element, docs []*registry.DocumentEntry, subsets []*registry.SubmissionSet,
	folders []*registry.Folder, assocs []*registry.Association, versioned bool) {
	for _, ss := range subsets {
		if ss != nil {
			encodeSubmissionSet(list, ss, versioned)
		}
	}
	for _, f := range folders {
		if f != nil {
			encodeFolder(list, f)
		}
	}
	for _, de := range docs {
		if de != nil {
			encodeDocumentEntry(list, de)
		}
	}
	for _, a := range assocs {
		if a != nil {
			encodeAssociation(list, a, versioned)
		}
	}
}

func addExtra(el *etree.Element, extra []registry.Slot) {
	for _, s := range extra {
		addSlot(el, s.Name, s.Values...)
	}
}

func addVersion(el *etree.Element, v string) {
	if v != "" {
		el.CreateElement("rim:VersionInfo").CreateAttr("versionName", v)
	}
}

// addTail adds what follows an object's own slots, in schema order: the
// extra slots, Name, Description and VersionInfo (each only when set).
func addTail(el *etree.Element, extra []registry.Slot, title, comments, version string) {
	addExtra(el, extra)
	addLocalized(el, "rim:Name", title)
	addLocalized(el, "rim:Description", comments)
	addVersion(el, version)
}

func encodeDocumentEntry(list *etree.Element, de *registry.DocumentEntry) {
	el := list.CreateElement("rim:ExtrinsicObject")
	el.CreateAttr("id", de.ID)
	setAttrIf(el, "lid", de.LogicalID)
	setAttrIf(el, "objectType", de.ObjectType)
	setAttrIf(el, "status", de.Status)
	setAttrIf(el, "mimeType", de.MimeType)
	setAttrIf(el, "home", de.HomeCommunityID)

	addSlotIf(el, SlotCreationTime, de.CreationTime)
	addSlotIf(el, SlotHash, de.Hash)
	if de.Size != nil {
		addSlot(el, SlotSize, strconv.FormatInt(*de.Size, 10))
	}
	addSlotIf(el, SlotRepositoryUniqueID, de.RepositoryUniqueID)
	addSlotIf(el, SlotLanguageCode, de.LanguageCode)
	addSlotIf(el, SlotSourcePatientID, de.SourcePatientID)
	addSlotsIf(el, SlotSourcePatientInfo, de.SourcePatientInfo)
	addSlotIf(el, SlotLegalAuthenticator, de.LegalAuthenticator)
	addSlotIf(el, SlotServiceStartTime, de.ServiceStartTime)
	addSlotIf(el, SlotServiceStopTime, de.ServiceStopTime)
	addSlotIf(el, SlotURI, de.URI)
	addSlotIf(el, SlotDocumentAvailability, de.DocumentAvailability)
	addSlotsIf(el, SlotReferenceIDList, de.ReferenceIDs)
	addTail(el, de.Extra, de.Title, de.Comments, de.Version)

	ids := &subIDs{owner: de.ID}
	for _, a := range de.Authors {
		addAuthor(el, ids, SchemeDocumentEntryAuthor, a)
	}
	addCodeIf(el, ids, SchemeDocumentEntryClassCode, de.Class)
	for _, c := range de.Confidentiality {
		addCode(el, ids, SchemeDocumentEntryConfidentialityCode, c)
	}
	for _, c := range de.Events {
		addCode(el, ids, SchemeDocumentEntryEventCodeList, c)
	}
	addCodeIf(el, ids, SchemeDocumentEntryFormatCode, de.Format)
	addCodeIf(el, ids, SchemeDocumentEntryHealthcareFacilityTypeCode, de.FacilityType)
	addCodeIf(el, ids, SchemeDocumentEntryPracticeSettingCode, de.PracticeSetting)
	addCodeIf(el, ids, SchemeDocumentEntryTypeCode, de.Type)
	addExternalID(el, ids, IdentDocumentEntryPatientID, nameDocumentEntryPatientID, de.PatientID)
	addExternalID(el, ids, IdentDocumentEntryUniqueID, nameDocumentEntryUniqueID, de.UniqueID)
}

// addRegistryPackage adds a rim:RegistryPackage with its attributes to
// list (lid, status and home only when set).
func addRegistryPackage(list *etree.Element, id, lid, status, home string) *etree.Element {
	el := list.CreateElement("rim:RegistryPackage")
	el.CreateAttr("id", id)
	setAttrIf(el, "lid", lid)
	el.CreateAttr("objectType", ObjectTypeRegistryPackage)
	setAttrIf(el, "status", status)
	setAttrIf(el, "home", home)
	return el
}

func encodeSubmissionSet(list *etree.Element, ss *registry.SubmissionSet, versioned bool) {
	lid := ""
	if versioned {
		lid = ss.ID
	}
	el := addRegistryPackage(list, ss.ID, lid, ss.Status, ss.HomeCommunityID)

	addSlotIf(el, SlotSubmissionTime, ss.SubmissionTime)
	addSlotsIf(el, SlotIntendedRecipient, ss.IntendedRecipients)
	version := ""
	if versioned {
		version = "1"
	}
	addTail(el, ss.Extra, ss.Title, ss.Comments, version)

	ids := &subIDs{owner: ss.ID}
	addNode(el, ids, NodeSubmissionSet)
	for _, a := range ss.Authors {
		addAuthor(el, ids, SchemeSubmissionSetAuthor, a)
	}
	addCodeIf(el, ids, SchemeSubmissionSetContentTypeCode, ss.ContentType)
	addExternalID(el, ids, IdentSubmissionSetUniqueID, nameSubmissionSetUniqueID, ss.UniqueID)
	addExternalID(el, ids, IdentSubmissionSetSourceID, nameSubmissionSetSourceID, ss.SourceID)
	addExternalID(el, ids, IdentSubmissionSetPatientID, nameSubmissionSetPatientID, ss.PatientID)
}

func encodeFolder(list *etree.Element, f *registry.Folder) {
	el := addRegistryPackage(list, f.ID, f.LogicalID, f.Status, f.HomeCommunityID)

	addSlotIf(el, SlotLastUpdateTime, f.LastUpdateTime)
	addTail(el, f.Extra, f.Title, f.Comments, f.Version)

	ids := &subIDs{owner: f.ID}
	addNode(el, ids, NodeFolder)
	for _, c := range f.Codes {
		addCode(el, ids, SchemeFolderCodeList, c)
	}
	addExternalID(el, ids, IdentFolderUniqueID, nameFolderUniqueID, f.UniqueID)
	addExternalID(el, ids, IdentFolderPatientID, nameFolderPatientID, f.PatientID)
}

func encodeAssociation(list *etree.Element, a *registry.Association, versioned bool) {
	el := list.CreateElement("rim:Association")
	el.CreateAttr("id", a.ID)
	if versioned {
		setAttrIf(el, "lid", a.ID)
	}
	el.CreateAttr("associationType", a.Type)
	el.CreateAttr("sourceObject", a.Source)
	el.CreateAttr("targetObject", a.Target)
	setAttrIf(el, "status", a.Status)
	addSlotIf(el, SlotSubmissionSetStatus, a.SubmissionSetStatus)
	addExtra(el, a.Extra)
	if versioned {
		addVersion(el, "1")
	}
	if a.Documentation != nil {
		addCode(el, &subIDs{owner: a.ID}, SchemeAssociationDocumentation, *a.Documentation)
	}
}

func addNode(owner *etree.Element, ids *subIDs, node string) {
	cl := owner.CreateElement("rim:Classification")
	cl.CreateAttr("id", ids.next("cl"))
	cl.CreateAttr("classifiedObject", ids.owner)
	cl.CreateAttr("classificationNode", node)
}

// addCodeIf writes a single-valued code unless it is the zero Code (not
// given).
func addCodeIf(owner *etree.Element, ids *subIDs, scheme string, c registry.Code) {
	if c != (registry.Code{}) {
		addCode(owner, ids, scheme, c)
	}
}

// addCode writes a coded-value Classification.
func addCode(owner *etree.Element, ids *subIDs, scheme string, c registry.Code) {
	cl := owner.CreateElement("rim:Classification")
	cl.CreateAttr("id", ids.next("cl"))
	cl.CreateAttr("classificationScheme", scheme)
	cl.CreateAttr("classifiedObject", ids.owner)
	cl.CreateAttr("nodeRepresentation", c.Code)
	addSlotIf(cl, SlotCodingScheme, c.Scheme)
	addLocalized(cl, "rim:Name", c.Display)
}

func addAuthor(owner *etree.Element, ids *subIDs, scheme string, a registry.Author) {
	cl := owner.CreateElement("rim:Classification")
	cl.CreateAttr("id", ids.next("cl"))
	cl.CreateAttr("classificationScheme", scheme)
	cl.CreateAttr("classifiedObject", ids.owner)
	cl.CreateAttr("nodeRepresentation", "")
	addSlotIf(cl, SlotAuthorPerson, a.Person)
	addSlotsIf(cl, SlotAuthorInstitution, a.Institutions)
	addSlotsIf(cl, SlotAuthorRole, a.Roles)
	addSlotsIf(cl, SlotAuthorSpecialty, a.Specialties)
	addSlotsIf(cl, SlotAuthorTelecommunication, a.Telecoms)
}

func addExternalID(owner *etree.Element, ids *subIDs, scheme, name, value string) {
	if value == "" {
		return
	}
	ei := owner.CreateElement("rim:ExternalIdentifier")
	ei.CreateAttr("id", ids.next("ei"))
	ei.CreateAttr("registryObject", ids.owner)
	ei.CreateAttr("identificationScheme", scheme)
	ei.CreateAttr("value", value)
	addLocalized(ei, "rim:Name", name)
}
