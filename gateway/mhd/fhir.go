package mhd

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
)

// FHIR R4 data types and resources: only the elements MHD uses. Every
// optional element is omitted when empty, so what is marshalled is valid
// FHIR JSON. Dates are kept as strings already in FHIR form (see dtm.go).

// Meta is Resource.meta.
type Meta struct {
	LastUpdated string   `json:"lastUpdated,omitempty"`
	Profile     []string `json:"profile,omitempty"`
	Security    []Coding `json:"security,omitempty"`
}

// Coding is a code from a code system.
type Coding struct {
	System  string `json:"system,omitempty"`
	Code    string `json:"code,omitempty"`
	Display string `json:"display,omitempty"`
}

// CodeableConcept is a concept given by codings and/or text.
type CodeableConcept struct {
	Coding []Coding `json:"coding,omitempty"`
	Text   string   `json:"text,omitempty"`
}

// Identifier is a business identifier.
type Identifier struct {
	Use    string           `json:"use,omitempty"`
	Type   *CodeableConcept `json:"type,omitempty"`
	System string           `json:"system,omitempty"`
	Value  string           `json:"value,omitempty"`
}

// Reference points at another resource: literally (Reference), logically
// (Identifier) or both.
type Reference struct {
	Reference  string      `json:"reference,omitempty"`
	Type       string      `json:"type,omitempty"`
	Identifier *Identifier `json:"identifier,omitempty"`
	Display    string      `json:"display,omitempty"`
}

// Period is a time range; either end may be open.
type Period struct {
	Start string `json:"start,omitempty"`
	End   string `json:"end,omitempty"`
}

// Extension is a FHIR extension with the value[x] types MHD uses.
type Extension struct {
	URL                  string           `json:"url"`
	ValueCodeableConcept *CodeableConcept `json:"valueCodeableConcept,omitempty"`
	ValueIdentifier      *Identifier      `json:"valueIdentifier,omitempty"`
	ValueReference       *Reference       `json:"valueReference,omitempty"`
	ValueString          string           `json:"valueString,omitempty"`
}

// Attachment is document content: by URL (ITI-67) or inline (ITI-65).
type Attachment struct {
	ContentType string `json:"contentType,omitempty"`
	Language    string `json:"language,omitempty"`
	Data        string `json:"data,omitempty"`
	URL         string `json:"url,omitempty"`
	// Size is unsignedInt in FHIR R4 (at most 2^31-1).
	Size     *int64 `json:"size,omitempty"`
	Hash     string `json:"hash,omitempty"`
	Title    string `json:"title,omitempty"`
	Creation string `json:"creation,omitempty"`
}

// HumanName is a person's name.
type HumanName struct {
	Use    string   `json:"use,omitempty"`
	Text   string   `json:"text,omitempty"`
	Family string   `json:"family,omitempty"`
	Given  []string `json:"given,omitempty"`
	Prefix []string `json:"prefix,omitempty"`
	Suffix []string `json:"suffix,omitempty"`
}

// ContactPoint is a phone number, e-mail address and the like.
type ContactPoint struct {
	System string `json:"system,omitempty"`
	Value  string `json:"value,omitempty"`
	Use    string `json:"use,omitempty"`
}

// Address is a postal address.
type Address struct {
	Use        string   `json:"use,omitempty"`
	Text       string   `json:"text,omitempty"`
	Line       []string `json:"line,omitempty"`
	City       string   `json:"city,omitempty"`
	District   string   `json:"district,omitempty"`
	State      string   `json:"state,omitempty"`
	PostalCode string   `json:"postalCode,omitempty"`
	Country    string   `json:"country,omitempty"`
}

// Annotation is a note.
type Annotation struct {
	Text string `json:"text"`
}

// Narrative is Resource.text. Kept only so that parsed resources survive a
// round trip; pjd renders none.
type Narrative struct {
	Status string `json:"status,omitempty"`
	Div    string `json:"div,omitempty"`
}

// Practitioner (contained: an author person or legal authenticator).
type Practitioner struct {
	ResourceType string         `json:"resourceType"`
	ID           string         `json:"id,omitempty"`
	Identifier   []Identifier   `json:"identifier,omitempty"`
	Name         []HumanName    `json:"name,omitempty"`
	Telecom      []ContactPoint `json:"telecom,omitempty"`
}

// Organization (contained: an author institution).
type Organization struct {
	ResourceType string         `json:"resourceType"`
	ID           string         `json:"id,omitempty"`
	Identifier   []Identifier   `json:"identifier,omitempty"`
	Name         string         `json:"name,omitempty"`
	Telecom      []ContactPoint `json:"telecom,omitempty"`
}

// PractitionerRole links an author person to an institution, with the
// author's role and specialty.
type PractitionerRole struct {
	ResourceType string            `json:"resourceType"`
	ID           string            `json:"id,omitempty"`
	Practitioner *Reference        `json:"practitioner,omitempty"`
	Organization *Reference        `json:"organization,omitempty"`
	Code         []CodeableConcept `json:"code,omitempty"`
	Specialty    []CodeableConcept `json:"specialty,omitempty"`
	Telecom      []ContactPoint    `json:"telecom,omitempty"`
}

// Patient (contained: sourcePatientInfo; or a Patient entry of an ITI-65
// bundle).
type Patient struct {
	ResourceType string         `json:"resourceType"`
	ID           string         `json:"id,omitempty"`
	Identifier   []Identifier   `json:"identifier,omitempty"`
	Name         []HumanName    `json:"name,omitempty"`
	Telecom      []ContactPoint `json:"telecom,omitempty"`
	Gender       string         `json:"gender,omitempty"`
	BirthDate    string         `json:"birthDate,omitempty"`
	Address      []Address      `json:"address,omitempty"`
}

// RelatesTo is DocumentReference.relatesTo.
type RelatesTo struct {
	Code   string    `json:"code"`
	Target Reference `json:"target"`
}

// Content is DocumentReference.content.
type Content struct {
	Attachment Attachment `json:"attachment"`
	Format     *Coding    `json:"format,omitempty"`
}

// Context is DocumentReference.context.
type Context struct {
	Encounter         []Reference       `json:"encounter,omitempty"`
	Event             []CodeableConcept `json:"event,omitempty"`
	Period            *Period           `json:"period,omitempty"`
	FacilityType      *CodeableConcept  `json:"facilityType,omitempty"`
	PracticeSetting   *CodeableConcept  `json:"practiceSetting,omitempty"`
	SourcePatientInfo *Reference        `json:"sourcePatientInfo,omitempty"`
	Related           []Reference       `json:"related,omitempty"`
}

// DocumentReference is the MHD DocumentReference (an XDS DocumentEntry).
type DocumentReference struct {
	ResourceType     string            `json:"resourceType"`
	ID               string            `json:"id,omitempty"`
	Meta             *Meta             `json:"meta,omitempty"`
	Text             *Narrative        `json:"text,omitempty"`
	Contained        []Resource        `json:"contained,omitempty"`
	Extension        []Extension       `json:"extension,omitempty"`
	MasterIdentifier *Identifier       `json:"masterIdentifier,omitempty"`
	Identifier       []Identifier      `json:"identifier,omitempty"`
	Status           string            `json:"status,omitempty"`
	Type             *CodeableConcept  `json:"type,omitempty"`
	Category         []CodeableConcept `json:"category,omitempty"`
	Subject          *Reference        `json:"subject,omitempty"`
	Date             string            `json:"date,omitempty"`
	Author           []Reference       `json:"author,omitempty"`
	Authenticator    *Reference        `json:"authenticator,omitempty"`
	Custodian        *Reference        `json:"custodian,omitempty"`
	RelatesTo        []RelatesTo       `json:"relatesTo,omitempty"`
	Description      string            `json:"description,omitempty"`
	SecurityLabel    []CodeableConcept `json:"securityLabel,omitempty"`
	Content          []Content         `json:"content,omitempty"`
	Context          *Context          `json:"context,omitempty"`
}

// ListEntry is List.entry.
type ListEntry struct {
	Item Reference `json:"item"`
}

// List is the MHD SubmissionSet or Folder.
type List struct {
	ResourceType string           `json:"resourceType"`
	ID           string           `json:"id,omitempty"`
	Meta         *Meta            `json:"meta,omitempty"`
	Text         *Narrative       `json:"text,omitempty"`
	Contained    []Resource       `json:"contained,omitempty"`
	Extension    []Extension      `json:"extension,omitempty"`
	Identifier   []Identifier     `json:"identifier,omitempty"`
	Status       string           `json:"status,omitempty"`
	Mode         string           `json:"mode,omitempty"`
	Title        string           `json:"title,omitempty"`
	Code         *CodeableConcept `json:"code,omitempty"`
	Subject      *Reference       `json:"subject,omitempty"`
	Date         string           `json:"date,omitempty"`
	Source       *ListSource      `json:"source,omitempty"`
	Note         []Annotation     `json:"note,omitempty"`
	Entry        []ListEntry      `json:"entry,omitempty"`
}

// ListSource is List.source: a Reference that may carry the ihe-authorOrg
// extension.
type ListSource struct {
	Extension  []Extension `json:"extension,omitempty"`
	Reference  string      `json:"reference,omitempty"`
	Type       string      `json:"type,omitempty"`
	Identifier *Identifier `json:"identifier,omitempty"`
	Display    string      `json:"display,omitempty"`
}

// Binary is document content carried in an ITI-65 bundle.
type Binary struct {
	ResourceType string `json:"resourceType"`
	ID           string `json:"id,omitempty"`
	Meta         *Meta  `json:"meta,omitempty"`
	ContentType  string `json:"contentType,omitempty"`
	Data         string `json:"data,omitempty"`
}

// BundleLink is Bundle.link.
type BundleLink struct {
	Relation string `json:"relation"`
	URL      string `json:"url"`
}

// BundleSearch is Bundle.entry.search.
type BundleSearch struct {
	Mode string `json:"mode,omitempty"`
}

// BundleRequest is Bundle.entry.request.
type BundleRequest struct {
	Method string `json:"method"`
	URL    string `json:"url"`
}

// BundleResponse is Bundle.entry.response.
type BundleResponse struct {
	Status   string    `json:"status"`
	Location string    `json:"location,omitempty"`
	Outcome  *Resource `json:"outcome,omitempty"`
}

// BundleEntry is Bundle.entry.
type BundleEntry struct {
	FullURL  string          `json:"fullUrl,omitempty"`
	Resource *Resource       `json:"resource,omitempty"`
	Search   *BundleSearch   `json:"search,omitempty"`
	Request  *BundleRequest  `json:"request,omitempty"`
	Response *BundleResponse `json:"response,omitempty"`
}

// Bundle is a searchset, transaction or transaction-response Bundle.
type Bundle struct {
	ResourceType string        `json:"resourceType"`
	ID           string        `json:"id,omitempty"`
	Meta         *Meta         `json:"meta,omitempty"`
	Type         string        `json:"type"`
	Timestamp    string        `json:"timestamp,omitempty"`
	Total        *int          `json:"total,omitempty"`
	Link         []BundleLink  `json:"link,omitempty"`
	Entry        []BundleEntry `json:"entry,omitempty"`
}

// Resource holds one resource of any type, as Bundle.entry.resource and
// DomainResource.contained do. Value is a pointer to one of the resource
// structs of this package; a resource of a type this package does not model
// is kept as *RawResource.
type Resource struct {
	Value any
}

// RawResource is a resource of a type this package does not model.
type RawResource struct {
	Type string
	JSON json.RawMessage
}

// R wraps a resource value.
func R(v any) Resource { return Resource{Value: v} }

// Type is the resourceType of the held resource ("" when empty).
func (r Resource) Type() string {
	switch v := r.Value.(type) {
	case *DocumentReference:
		return "DocumentReference"
	case *List:
		return "List"
	case *Bundle:
		return "Bundle"
	case *Binary:
		return "Binary"
	case *OperationOutcome:
		return "OperationOutcome"
	case *Practitioner:
		return "Practitioner"
	case *Organization:
		return "Organization"
	case *PractitionerRole:
		return "PractitionerRole"
	case *Patient:
		return "Patient"
	case *RawResource:
		return v.Type
	}
	return ""
}

// MarshalJSON writes the held resource.
func (r Resource) MarshalJSON() ([]byte, error) {
	if raw, ok := r.Value.(*RawResource); ok {
		return raw.JSON, nil
	}
	if r.Value == nil {
		return []byte("null"), nil
	}
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(r.Value); err != nil {
		return nil, err
	}
	return bytes.TrimRight(b.Bytes(), "\n"), nil
}

// Encode writes v as FHIR JSON (no HTML escaping of <, > and &, which
// FHIR does not need; indented when pretty, as _pretty=true asks).
func Encode(w io.Writer, v any, pretty bool) error {
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(false)
	if pretty {
		enc.SetIndent("", "  ")
	}
	return enc.Encode(v)
}

// UnmarshalJSON reads a resource, choosing the struct by resourceType.
func (r *Resource) UnmarshalJSON(b []byte) error {
	var head struct {
		ResourceType string `json:"resourceType"`
	}
	if err := json.Unmarshal(b, &head); err != nil {
		return err
	}
	var v any
	switch head.ResourceType {
	case "DocumentReference":
		v = &DocumentReference{}
	case "List":
		v = &List{}
	case "Bundle":
		v = &Bundle{}
	case "Binary":
		v = &Binary{}
	case "OperationOutcome":
		v = &OperationOutcome{}
	case "Practitioner":
		v = &Practitioner{}
	case "Organization":
		v = &Organization{}
	case "PractitionerRole":
		v = &PractitionerRole{}
	case "Patient":
		v = &Patient{}
	case "":
		return fmt.Errorf("resource without resourceType")
	default:
		r.Value = &RawResource{Type: head.ResourceType, JSON: bytes.Clone(b)}
		return nil
	}
	if err := json.Unmarshal(b, v); err != nil {
		return err
	}
	r.Value = v
	return nil
}
