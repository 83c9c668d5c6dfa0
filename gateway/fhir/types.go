package fhir

import (
	"bytes"
	"encoding/json"
	"fmt"
	"reflect"
)

// FHIR R4 data types: only the elements pjd uses. Every optional element is
// omitted when empty, so what is marshalled is valid FHIR JSON; members are
// declared in the order of the FHIR specification, so rendered resources
// read like its examples. Dates are strings already in FHIR form.

// Meta is Resource.meta.
type Meta struct {
	VersionID   string   `json:"versionId,omitempty"`
	LastUpdated string   `json:"lastUpdated,omitempty"`
	Profile     []string `json:"profile,omitempty"`
	Security    []Coding `json:"security,omitempty"`
	Tag         []Coding `json:"tag,omitempty"`
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
	Use      string           `json:"use,omitempty"`
	Type     *CodeableConcept `json:"type,omitempty"`
	System   string           `json:"system,omitempty"`
	Value    string           `json:"value,omitempty"`
	Assigner *Reference       `json:"assigner,omitempty"`
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

// Extension is a FHIR extension with the value[x] types pjd uses, or a
// complex extension of nested ones (Extension, then url, as FHIR orders
// the members of every element).
type Extension struct {
	Extension            []Extension      `json:"extension,omitempty"`
	URL                  string           `json:"url"`
	ValueBoolean         *bool            `json:"valueBoolean,omitempty"`
	ValueCodeableConcept *CodeableConcept `json:"valueCodeableConcept,omitempty"`
	ValueIdentifier      *Identifier      `json:"valueIdentifier,omitempty"`
	ValueReference       *Reference       `json:"valueReference,omitempty"`
	ValueString          string           `json:"valueString,omitempty"`
	ValueUnsignedInt     *int64           `json:"valueUnsignedInt,omitempty"`
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

// FHIR R4 resources: those MHD maps XDS metadata to, those an AuditEvent
// contains, and the AuditEvent itself. Each embeds the elements of the
// FHIR base it is derived from (Base for Resource, DomainResource), in the
// specification's order, so they are declared once.

// Base holds the elements of FHIR's Resource that pjd uses: the
// resourceType (the struct's name; whoever makes a resource sets it), id
// and meta. Bundle and Binary embed it.
type Base struct {
	ResourceType string `json:"resourceType"`
	ID           string `json:"id,omitempty"`
	Meta         *Meta  `json:"meta,omitempty"`
}

// DomainResource holds the elements of FHIR's DomainResource: those of
// Base, then text, contained and extension. Every other resource embeds
// it.
type DomainResource struct {
	ResourceType string      `json:"resourceType"`
	ID           string      `json:"id,omitempty"`
	Meta         *Meta       `json:"meta,omitempty"`
	Text         *Narrative  `json:"text,omitempty"`
	Contained    []Resource  `json:"contained,omitempty"`
	Extension    []Extension `json:"extension,omitempty"`
}

// Practitioner (contained: an author person or legal authenticator of a
// DocumentReference, the health worker of an AuditEvent).
type Practitioner struct {
	DomainResource
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
	DomainResource
	Identifier []Identifier   `json:"identifier,omitempty"`
	Name       string         `json:"name,omitempty"`
	Telecom    []ContactPoint `json:"telecom,omitempty"`
	PartOf     *Reference     `json:"partOf,omitempty"`
}

// PractitionerRole links an author person to an institution, with the
// author's role and specialty.
type PractitionerRole struct {
	DomainResource
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
	DomainResource
	Identifier []Identifier   `json:"identifier,omitempty"`
	Name       []HumanName    `json:"name,omitempty"`
	Telecom    []ContactPoint `json:"telecom,omitempty"`
	Gender     string         `json:"gender,omitempty"`
	BirthDate  string         `json:"birthDate,omitempty"`
	Address    []Address      `json:"address,omitempty"`
}

// Location (contained in an AuditEvent: a point of care).
type Location struct {
	DomainResource
	ManagingOrganization *Reference `json:"managingOrganization,omitempty"`
}

// Encounter (contained in an AuditEvent: the care relation's healthcare
// service and the patient's point of care and department).
type Encounter struct {
	DomainResource
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
	DomainResource
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
	DomainResource
	Identifier []Identifier     `json:"identifier,omitempty"`
	Status     string           `json:"status,omitempty"`
	Mode       string           `json:"mode,omitempty"`
	Title      string           `json:"title,omitempty"`
	Code       *CodeableConcept `json:"code,omitempty"`
	Subject    *Reference       `json:"subject,omitempty"`
	Date       string           `json:"date,omitempty"`
	Source     *ListSource      `json:"source,omitempty"`
	Note       []Annotation     `json:"note,omitempty"`
	Entry      []ListEntry      `json:"entry,omitempty"`
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
	Base
	ContentType string `json:"contentType,omitempty"`
	Data        string `json:"data,omitempty"`
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
	Base
	Type      string        `json:"type"`
	Timestamp string        `json:"timestamp,omitempty"`
	Total     *int          `json:"total,omitempty"`
	Link      []BundleLink  `json:"link,omitempty"`
	Entry     []BundleEntry `json:"entry,omitempty"`
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

// resourceTypes makes an empty value of each resource type this package
// models, by its resourceType (which is the struct's name).
var resourceTypes = map[string]func() any{
	"AuditEvent":        func() any { return new(AuditEvent) },
	"Binary":            func() any { return new(Binary) },
	"Bundle":            func() any { return new(Bundle) },
	"DocumentReference": func() any { return new(DocumentReference) },
	"Encounter":         func() any { return new(Encounter) },
	"List":              func() any { return new(List) },
	"Location":          func() any { return new(Location) },
	"OperationOutcome":  func() any { return new(OperationOutcome) },
	"Organization":      func() any { return new(Organization) },
	"Patient":           func() any { return new(Patient) },
	"Practitioner":      func() any { return new(Practitioner) },
	"PractitionerRole":  func() any { return new(PractitionerRole) },
}

// Type is the resourceType of the held resource ("" when empty).
func (r Resource) Type() string {
	if raw, ok := r.Value.(*RawResource); ok {
		return raw.Type
	}
	if t := reflect.TypeOf(r.Value); t != nil && t.Kind() == reflect.Pointer {
		if _, ok := resourceTypes[t.Elem().Name()]; ok && t.Elem().PkgPath() == reflect.TypeFor[Resource]().PkgPath() {
			return t.Elem().Name()
		}
	}
	return ""
}

// ID is the id of the held resource ("" when empty or of a type this
// package does not model).
func (r Resource) ID() string {
	if v, ok := r.Value.(interface{ resourceID() string }); ok {
		return v.resourceID()
	}
	return ""
}

func (b *Base) resourceID() string           { return b.ID }
func (d *DomainResource) resourceID() string { return d.ID }

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
	if head.ResourceType == "" {
		return fmt.Errorf("resource without resourceType")
	}
	newValue, ok := resourceTypes[head.ResourceType]
	if !ok {
		r.Value = &RawResource{Type: head.ResourceType, JSON: bytes.Clone(b)}
		return nil
	}
	v := newValue()
	if err := json.Unmarshal(b, v); err != nil {
		return err
	}
	r.Value = v
	return nil
}

// OperationOutcome reports errors and warnings.
type OperationOutcome struct {
	DomainResource
	Issue []Issue `json:"issue"`
}

// Issue is OperationOutcome.issue.
type Issue struct {
	Severity    string           `json:"severity"`
	Code        string           `json:"code"`
	Details     *CodeableConcept `json:"details,omitempty"`
	Diagnostics string           `json:"diagnostics,omitempty"`
	// Expression names the offending search parameter (its name as sent)
	// or the FHIRPath of the offending element.
	Expression []string `json:"expression,omitempty"`
}

// AuditEvent is the FHIR R4 AuditEvent, with the elements HL7 Norway's
// trust-framework AuditEvent profile and IHE BALP use (gateway/audit
// renders its records as these).
type AuditEvent struct {
	DomainResource
	Type           Coding             `json:"type"`
	Subtype        []Coding           `json:"subtype,omitempty"`
	Action         string             `json:"action,omitempty"`
	Recorded       string             `json:"recorded"`
	Outcome        string             `json:"outcome,omitempty"`
	OutcomeDesc    string             `json:"outcomeDesc,omitempty"`
	PurposeOfEvent []CodeableConcept  `json:"purposeOfEvent,omitempty"`
	Agent          []AuditEventAgent  `json:"agent"`
	Source         AuditEventSource   `json:"source"`
	Entity         []AuditEventEntity `json:"entity,omitempty"`
}

// AuditEventAgent is AuditEvent.agent: who took part.
type AuditEventAgent struct {
	Type      *CodeableConcept   `json:"type,omitempty"`
	Who       *Reference         `json:"who,omitempty"`
	Name      string             `json:"name,omitempty"`
	Requestor bool               `json:"requestor"`
	Network   *AuditEventNetwork `json:"network,omitempty"`
}

// AuditEventNetwork is AuditEvent.agent.network.
type AuditEventNetwork struct {
	Address string `json:"address,omitempty"`
	Type    string `json:"type,omitempty"`
}

// AuditEventSource is AuditEvent.source: the system that recorded it.
type AuditEventSource struct {
	Site     string     `json:"site,omitempty"`
	Observer *Reference `json:"observer,omitempty"`
	Type     []Coding   `json:"type,omitempty"`
}

// AuditEventEntity is AuditEvent.entity: what was used.
type AuditEventEntity struct {
	What        *Reference         `json:"what,omitempty"`
	Type        *Coding            `json:"type,omitempty"`
	Role        *Coding            `json:"role,omitempty"`
	Name        string             `json:"name,omitempty"`
	Description string             `json:"description,omitempty"`
	Query       string             `json:"query,omitempty"` // base64Binary
	Detail      []AuditEventDetail `json:"detail,omitempty"`
}

// AuditEventDetail is AuditEvent.entity.detail.
type AuditEventDetail struct {
	Type        string `json:"type"`
	ValueString string `json:"valueString,omitempty"`
}
