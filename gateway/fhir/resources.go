package fhir

import (
	"bytes"
	"encoding/json"
	"fmt"
)

// FHIR R4 resources: those MHD maps XDS metadata to, those an AuditEvent
// contains, and the AuditEvent itself (auditevent.go).

// Practitioner (contained: an author person or legal authenticator of a
// DocumentReference, the health worker of an AuditEvent).
type Practitioner struct {
	ResourceType  string                      `json:"resourceType"`
	ID            string                      `json:"id,omitempty"`
	Meta          *Meta                       `json:"meta,omitempty"`
	Identifier    []Identifier                `json:"identifier,omitempty"`
	Name          []HumanName                 `json:"name,omitempty"`
	Telecom       []ContactPoint              `json:"telecom,omitempty"`
	Qualification []PractitionerQualification `json:"qualification,omitempty"`
}

// PractitionerQualification is Practitioner.qualification (e.g. the
// health worker's authorization).
type PractitionerQualification struct {
	Code CodeableConcept `json:"code"`
}

// Organization (contained: an author institution; an AuditEvent's legal
// entity, department or point of care).
type Organization struct {
	ResourceType string         `json:"resourceType"`
	ID           string         `json:"id,omitempty"`
	Meta         *Meta          `json:"meta,omitempty"`
	Identifier   []Identifier   `json:"identifier,omitempty"`
	Name         string         `json:"name,omitempty"`
	Telecom      []ContactPoint `json:"telecom,omitempty"`
	PartOf       *Reference     `json:"partOf,omitempty"`
}

// PractitionerRole links an author person to an institution, with the
// author's role and specialty.
type PractitionerRole struct {
	ResourceType string            `json:"resourceType"`
	ID           string            `json:"id,omitempty"`
	Meta         *Meta             `json:"meta,omitempty"`
	Active       *bool             `json:"active,omitempty"`
	Practitioner *Reference        `json:"practitioner,omitempty"`
	Organization *Reference        `json:"organization,omitempty"`
	Code         []CodeableConcept `json:"code,omitempty"`
	Specialty    []CodeableConcept `json:"specialty,omitempty"`
	Location     []Reference       `json:"location,omitempty"`
	Telecom      []ContactPoint    `json:"telecom,omitempty"`
}

// Patient (contained: sourcePatientInfo, an AuditEvent's patient; or a
// Patient entry of an ITI-65 bundle).
type Patient struct {
	ResourceType string         `json:"resourceType"`
	ID           string         `json:"id,omitempty"`
	Meta         *Meta          `json:"meta,omitempty"`
	Identifier   []Identifier   `json:"identifier,omitempty"`
	Name         []HumanName    `json:"name,omitempty"`
	Telecom      []ContactPoint `json:"telecom,omitempty"`
	Gender       string         `json:"gender,omitempty"`
	BirthDate    string         `json:"birthDate,omitempty"`
	Address      []Address      `json:"address,omitempty"`
}

// Location (contained in an AuditEvent: a point of care).
type Location struct {
	ResourceType         string     `json:"resourceType"`
	ID                   string     `json:"id,omitempty"`
	Meta                 *Meta      `json:"meta,omitempty"`
	ManagingOrganization *Reference `json:"managingOrganization,omitempty"`
}

// Encounter (contained in an AuditEvent: the care relation's healthcare
// service and the patient's point of care and department).
type Encounter struct {
	ResourceType    string              `json:"resourceType"`
	ID              string              `json:"id,omitempty"`
	Meta            *Meta               `json:"meta,omitempty"`
	Status          string              `json:"status"`
	Class           Coding              `json:"class"`
	ServiceType     *CodeableConcept    `json:"serviceType,omitempty"`
	Location        []EncounterLocation `json:"location,omitempty"`
	ServiceProvider *Reference          `json:"serviceProvider,omitempty"`
}

// EncounterLocation is Encounter.location.
type EncounterLocation struct {
	Location Reference `json:"location"`
}

// DocumentRelatesTo is DocumentReference.relatesTo.
type DocumentRelatesTo struct {
	Code   string    `json:"code"`
	Target Reference `json:"target"`
}

// DocumentContent is DocumentReference.content.
type DocumentContent struct {
	Attachment Attachment `json:"attachment"`
	Format     *Coding    `json:"format,omitempty"`
}

// DocumentContext is DocumentReference.context.
type DocumentContext struct {
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
	ResourceType     string              `json:"resourceType"`
	ID               string              `json:"id,omitempty"`
	Meta             *Meta               `json:"meta,omitempty"`
	Text             *Narrative          `json:"text,omitempty"`
	Contained        []Resource          `json:"contained,omitempty"`
	Extension        []Extension         `json:"extension,omitempty"`
	MasterIdentifier *Identifier         `json:"masterIdentifier,omitempty"`
	Identifier       []Identifier        `json:"identifier,omitempty"`
	Status           string              `json:"status,omitempty"`
	Type             *CodeableConcept    `json:"type,omitempty"`
	Category         []CodeableConcept   `json:"category,omitempty"`
	Subject          *Reference          `json:"subject,omitempty"`
	Date             string              `json:"date,omitempty"`
	Author           []Reference         `json:"author,omitempty"`
	Authenticator    *Reference          `json:"authenticator,omitempty"`
	Custodian        *Reference          `json:"custodian,omitempty"`
	RelatesTo        []DocumentRelatesTo `json:"relatesTo,omitempty"`
	Description      string              `json:"description,omitempty"`
	SecurityLabel    []CodeableConcept   `json:"securityLabel,omitempty"`
	Content          []DocumentContent   `json:"content,omitempty"`
	Context          *DocumentContext    `json:"context,omitempty"`
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
	case *Location:
		return "Location"
	case *Encounter:
		return "Encounter"
	case *AuditEvent:
		return "AuditEvent"
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
	case "Location":
		v = &Location{}
	case "Encounter":
		v = &Encounter{}
	case "AuditEvent":
		v = &AuditEvent{}
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
