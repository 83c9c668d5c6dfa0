package registry

// The XDS metadata model. Values are kept in their wire form (HL7 v2 strings for
// CX/XCN/XON/XTN, DTM strings for times) so that what a source registered is
// what a consumer gets back, byte for byte; hl7.go parses them where a rule
// needs the parts.

// Availability status (ebRIM StatusType).
const (
	StatusApproved   = "urn:oasis:names:tc:ebxml-regrep:StatusType:Approved"
	StatusDeprecated = "urn:oasis:names:tc:ebxml-regrep:StatusType:Deprecated"
)

// DocumentEntry objectType.
const (
	ObjectTypeStable   = "urn:uuid:7edca82f-054d-47f2-a032-9b2a5b5186c1"
	ObjectTypeOnDemand = "urn:uuid:34268e47-fdf5-41a6-ba33-82133c465248"
)

// Association types.
const (
	AssocHasMember        = "urn:oasis:names:tc:ebxml-regrep:AssociationType:HasMember"
	AssocReplace          = "urn:ihe:iti:2007:AssociationType:RPLC"
	AssocAppend           = "urn:ihe:iti:2007:AssociationType:APND"
	AssocTransform        = "urn:ihe:iti:2007:AssociationType:XFRM"
	AssocTransformReplace = "urn:ihe:iti:2007:AssociationType:XFRM_RPLC"
	AssocSigns            = "urn:ihe:iti:2007:AssociationType:signs"
	AssocIsSnapshotOf     = "urn:ihe:iti:2010:AssociationType:IsSnapshotOf"

	// ITI-57 (Metadata Update) operations: a SubmissionSet changes the
	// availabilityStatus of its target, or submits a new association
	// between registered objects (its target).
	AssocUpdateAvailabilityStatus = "urn:ihe:iti:2010:AssociationType:UpdateAvailabilityStatus"
	AssocSubmitAssociation        = "urn:ihe:iti:2010:AssociationType:SubmitAssociation"
)

// Slots of ITI-57 associations.
const (
	SlotPreviousVersion        = "PreviousVersion"
	SlotOriginalStatus         = "OriginalStatus"
	SlotNewStatus              = "NewStatus"
	SlotAssociationPropagation = "AssociationPropagation"
)

// IsRelationship reports whether an association type is a document
// relationship (ITI TF-3 Table 4.2.2.2-1): the types that may carry a
// documentation Classification.
func IsRelationship(typ string) bool {
	switch typ {
	case AssocReplace, AssocAppend, AssocTransform, AssocTransformReplace, AssocSigns, AssocIsSnapshotOf:
		return true
	}
	return false
}

// SubmissionSetStatus slot values on a SubmissionSet→member HasMember.
const (
	SubmissionSetStatusOriginal  = "Original"
	SubmissionSetStatusReference = "Reference"
)

// Code is a coded value: an ebRIM Classification with nodeRepresentation
// (Code), the codingScheme slot (Scheme) and Name (Display).
type Code struct {
	Code    string `json:"code"`
	Scheme  string `json:"scheme"`
	Display string `json:"display,omitempty"`
}

// Slot is an ebRIM slot kept verbatim: extra metadata a source sent that XDS
// does not define (names starting with "urn:").
type Slot struct {
	Name   string   `json:"name"`
	Values []string `json:"values"`
}

// Author is one author Classification. Person is an XCN, Institutions XONs,
// Telecoms XTNs; Roles and Specialties are CX-or-free-text values.
type Author struct {
	Person       string   `json:"person,omitempty"`
	Institutions []string `json:"institutions,omitempty"`
	Roles        []string `json:"roles,omitempty"`
	Specialties  []string `json:"specialties,omitempty"`
	Telecoms     []string `json:"telecoms,omitempty"`
}

// DocumentEntry is an XDS DocumentEntry (ebRIM ExtrinsicObject).
//
// ID is the entryUUID ("urn:uuid:…"). In a submission before registration it
// may be a symbolic id; the registry replaces symbolic ids with UUIDs.
type DocumentEntry struct {
	ID              string `json:"id"`
	LogicalID       string `json:"lid,omitempty"`
	Version         string `json:"version,omitempty"`
	Status          string `json:"status"`
	ObjectType      string `json:"objectType"`
	HomeCommunityID string `json:"home,omitempty"`

	UniqueID  string `json:"uniqueId"`
	PatientID string `json:"patientId"` // CX

	MimeType     string `json:"mimeType"`
	Title        string `json:"title,omitempty"`
	Comments     string `json:"comments,omitempty"`
	LanguageCode string `json:"languageCode,omitempty"`

	CreationTime     string `json:"creationTime,omitempty"` // DTM
	ServiceStartTime string `json:"serviceStartTime,omitempty"`
	ServiceStopTime  string `json:"serviceStopTime,omitempty"`

	Hash               string `json:"hash,omitempty"` // SHA-1, lower-case hex
	Size               *int64 `json:"size,omitempty"`
	RepositoryUniqueID string `json:"repositoryUniqueId,omitempty"`

	SourcePatientID      string   `json:"sourcePatientId,omitempty"`    // CX
	SourcePatientInfo    []string `json:"sourcePatientInfo,omitempty"`  // "PID-n|value"
	LegalAuthenticator   string   `json:"legalAuthenticator,omitempty"` // XCN
	URI                  string   `json:"uri,omitempty"`
	DocumentAvailability string   `json:"documentAvailability,omitempty"`
	ReferenceIDs         []string `json:"referenceIdList,omitempty"` // CXi

	Authors         []Author `json:"authors,omitempty"`
	Class           Code     `json:"classCode"`
	Type            Code     `json:"typeCode"`
	Format          Code     `json:"formatCode"`
	FacilityType    Code     `json:"healthcareFacilityTypeCode"`
	PracticeSetting Code     `json:"practiceSettingCode"`
	Confidentiality []Code   `json:"confidentialityCodes,omitempty"`
	Events          []Code   `json:"eventCodeList,omitempty"`

	Extra []Slot `json:"extra,omitempty"`
}

// SubmissionSet is an XDS SubmissionSet (RegistryPackage classified as one).
type SubmissionSet struct {
	ID              string `json:"id"`
	Status          string `json:"status"`
	HomeCommunityID string `json:"home,omitempty"`

	UniqueID       string `json:"uniqueId"`
	SourceID       string `json:"sourceId"`
	PatientID      string `json:"patientId"`      // CX
	SubmissionTime string `json:"submissionTime"` // DTM
	Title          string `json:"title,omitempty"`
	Comments       string `json:"comments,omitempty"`

	ContentType        Code     `json:"contentTypeCode"`
	Authors            []Author `json:"authors,omitempty"`
	IntendedRecipients []string `json:"intendedRecipients,omitempty"` // "XON|XCN|XTN"

	Extra []Slot `json:"extra,omitempty"`
}

// Folder is an XDS Folder (RegistryPackage classified as one).
type Folder struct {
	ID              string `json:"id"`
	LogicalID       string `json:"lid,omitempty"`
	Version         string `json:"version,omitempty"`
	Status          string `json:"status"`
	HomeCommunityID string `json:"home,omitempty"`

	UniqueID       string `json:"uniqueId"`
	PatientID      string `json:"patientId"` // CX
	Title          string `json:"title,omitempty"`
	Comments       string `json:"comments,omitempty"`
	LastUpdateTime string `json:"lastUpdateTime,omitempty"` // DTM, set by the registry
	Codes          []Code `json:"codeList,omitempty"`

	Extra []Slot `json:"extra,omitempty"`
}

// Association links two registry objects.
type Association struct {
	ID     string `json:"id"`
	Type   string `json:"type"`
	Source string `json:"source"`
	Target string `json:"target"`
	Status string `json:"status"`

	// SubmissionSetStatus is the slot of that name (Original / Reference) on a
	// SubmissionSet→member HasMember; empty otherwise.
	SubmissionSetStatus string `json:"submissionSetStatus,omitempty"`

	// Documentation is the "documentation" Classification of a document
	// relationship (ITI TF-3 4.2.2.2: the reason for a replacement, the
	// type of a transformation): a coded value in any code system, at
	// most one, nil when not given.
	Documentation *Code `json:"documentation,omitempty"`

	// Extra holds any other slots (PreviousVersion, OriginalStatus …).
	Extra []Slot `json:"extra,omitempty"`
}

// Slot returns the values of the association's slot name (in Extra), and
// whether it is there.
func (a *Association) Slot(name string) ([]string, bool) {
	for _, s := range a.Extra {
		if s.Name == name {
			return s.Values, true
		}
	}
	return nil, false
}

// Submission is the content of one SubmitObjectsRequest (ITI-42, or the
// metadata of ITI-41): exactly one SubmissionSet and its members.
type Submission struct {
	SubmissionSet *SubmissionSet
	Documents     []*DocumentEntry
	Folders       []*Folder
	Associations  []*Association
}

// Document returns the DocumentEntry with the given id, or nil.
func (s *Submission) Document(id string) *DocumentEntry {
	for _, d := range s.Documents {
		if d.ID == id {
			return d
		}
	}
	return nil
}
