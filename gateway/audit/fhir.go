package audit

import (
	"encoding/base64"
	"pjd/gateway/fhir"
	"pjd/registry/oid"
	"strconv"
	"time"
)

// Audience says who a rendered record is for.
type Audience int

const (
	// ForCompliance shows everything recorded.
	ForCompliance Audience = iota
	// ForCitizen is the patient's own access log: the health worker's
	// name, HPR number, authorization and organisation, never their
	// national identity number (TR ATT-8); no network details.
	ForCitizen
)

// View says who reads a rendered record and which system recorded it.
type View struct {
	Audience Audience
	// Site names the recording gateway (AuditEvent.source.site and
	// observer); default "pjd".
	Site string
}

// Code systems and profile URLs used in rendered AuditEvents
// (reference/auditevent_mapping.md).
const (
	ProfileTrustframeworkAuditEvent = "http://hl7.no/fhir/StructureDefinition/no-domain-Trustframework-Auditevent"
	ExtPatient                      = "http://hl7.no/fhir/StructureDefinition/auditevent-patient-extension"
	ExtEncounter                    = "http://hl7.no/fhir/StructureDefinition/auditevent-encounter-extension"
	ExtCareRelation                 = "http://hl7.no/fhir/StructureDefinition/auditevent-carerelation-metadata-extension"

	sysDCM            = "http://dicom.nema.org/resources/ontology/DCM"
	sysActReason      = "http://terminology.hl7.org/CodeSystem/v3-ActReason"
	sysRoleClass      = "http://terminology.hl7.org/CodeSystem/v3-RoleClass"
	sysSourceType     = "http://terminology.hl7.org/CodeSystem/security-source-type"
	sysEntityType     = "http://terminology.hl7.org/CodeSystem/audit-entity-type"
	sysObjectRole     = "http://terminology.hl7.org/CodeSystem/object-role"
	sysNullFlavor     = "http://terminology.hl7.org/CodeSystem/v3-NullFlavor"
	sysIHEEventType   = "urn:ihe:event-type-code"
	sysBALPEntityType = "https://profiles.ihe.net/ITI/BALP/CodeSystem/BasicAuditEntityType"
	// SysTransaction codes pjd's own (non-IHE) transactions in subtype.
	SysTransaction = "urn:pjd:audit:transaction"
	// SysFlag codes the review flags, carried as meta.tag.
	SysFlag = "urn:pjd:audit:flag"

	profPrefix = "http://hl7.no/fhir/StructureDefinition/"
)

var txDisplay = map[string]string{
	TxITI18:  "Registry Stored Query",
	TxITI38:  "Cross Gateway Query",
	TxITI39:  "Cross Gateway Retrieve",
	TxITI43:  "Retrieve Document Set",
	TxITI66:  "Find Document Lists",
	TxITI67:  "Find Document References",
	TxITI68:  "Retrieve Document",
	TxITI51:  "Multi-Patient Stored Query",
	TxITI57:  "Update Document Set",
	TxITI62:  "Delete Document Set",
	TxITI86:  "Remove Documents",
	TxITI104: "Patient Identity Feed FHIR",
}

var purposeDisplay = map[string]string{
	"TREAT":  "treatment",
	"ETREAT": "Emergency Treatment",
	"COC":    "coordination of care",
	"BTG":    "break the glass",
}

// OutcomeCode is the FHIR R4 AuditEvent.outcome of o: 0 success, 4 minor
// failure (refused), 8 serious failure (error).
func OutcomeCode(o Outcome) string {
	switch o {
	case OutcomePermit:
		return "0"
	case OutcomeDeny:
		return "4"
	}
	return "8"
}

// NationalIDSystem returns the identifier system (urn:oid:) of a Norwegian
// national identity number: D-nr, H-nr or F-nr by its digits (oid.NationalID).
func NationalIDSystem(id string) string { return oid.URN(oid.NationalID(id)) }

// assigner names who assigns the identifiers of system, as HL7 Norway's
// profiles show it, or nil.
func assigner(system string) *fhir.Reference {
	display := ""
	switch oid.Bare(system) {
	case oid.FNR, oid.DNR:
		display = "https://www.skatteetaten.no"
	case oid.HPR:
		display = "https://www.helsedirektoratet.no/"
	case oid.OrgNr:
		display = "https://www.brreg.no"
	case oid.RESH:
		display = "https://www.nhn.no"
	default:
		return nil
	}
	return &fhir.Reference{Display: display}
}

func purposeSystem(s string) string {
	switch oid.Bare(s) {
	case "", oid.PurposeOfUse, "2.16.840.1.113883.5.8", sysActReason:
		return sysActReason
	}
	return fhir.SystemFor(s)
}

// coding renders c, or nil when it is empty.
func coding(c Code) *fhir.Coding {
	if c.IsZero() {
		return nil
	}
	return &fhir.Coding{System: fhir.SystemFor(c.System), Code: c.Code, Display: c.Display}
}

// concept renders c as a CodeableConcept of one coding, or nil.
func concept(c Code) *fhir.CodeableConcept {
	if cd := coding(c); cd != nil {
		return &fhir.CodeableConcept{Coding: []fhir.Coding{*cd}}
	}
	return nil
}

// identifier renders a business identifier, or nil without a value.
func identifier(system, value string) *fhir.Identifier {
	if value == "" {
		return nil
	}
	system = fhir.SystemFor(system)
	return &fhir.Identifier{System: system, Value: value, Assigner: assigner(system)}
}

// identifiers renders the identifiers that have a value.
func identifiers(ids ...*fhir.Identifier) []fhir.Identifier {
	var out []fhir.Identifier
	for _, id := range ids {
		if id != nil {
			out = append(out, *id)
		}
	}
	return out
}

func ref(id string) *fhir.Reference { return &fhir.Reference{Reference: "#" + id} }

// byValue is a logical reference to what value identifies (nil without a
// value), with display.
func byValue(value, display string) *fhir.Reference {
	if value == "" && display == "" {
		return nil
	}
	r := &fhir.Reference{Display: display}
	if value != "" {
		r.Identifier = &fhir.Identifier{Value: value}
	}
	return r
}

// containedHead is the head of a contained resource: its type, its id and
// the trust-framework profile it claims.
func containedHead(resourceType, id, profile string) fhir.DomainResource {
	return fhir.DomainResource{ResourceType: resourceType, ID: id, Meta: &fhir.Meta{Profile: []string{profPrefix + profile}}}
}

// ToAuditEvent renders r as a FHIR R4 AuditEvent following HL7 Norway's
// trust-framework AuditEvent (no-domain-Trustframework-Auditevent 0.9.8):
// the person, organisation, encounter and patient as contained resources,
// the care relation in its extension, the purpose of use sliced in
// purposeOfEvent. Beyond the IG (which fixes none of these) it follows
// IHE BALP: subtype = the IHE transaction, outcome 0/4/8 with
// outcomeDesc, the client system as an Application agent, one entity for
// the patient, one per document, one for the query and one per request
// id. Review flags are meta.tag codes in SysFlag.
//
// With v.Audience == ForCitizen the health worker's national identity
// number, network address and user agent are left out.
func ToAuditEvent(r Record, v View) *fhir.AuditEvent {
	b := &aeBuilder{r: &r, v: v}
	if b.v.Site == "" {
		b.v.Site = "pjd"
	}
	return b.build()
}

type aeBuilder struct {
	r         *Record
	v         View
	contained []fhir.Resource
}

func (b *aeBuilder) citizen() bool { return b.v.Audience == ForCitizen }

func (b *aeBuilder) add(resource any) { b.contained = append(b.contained, fhir.R(resource)) }

func (b *aeBuilder) build() *fhir.AuditEvent {
	r := b.r
	agents := b.agents()
	if r.Gateway != "" {
		// The community gateway the request came through (XCA).
		agents = append(agents, fhir.AuditEventAgent{Type: application, Who: &fhir.Reference{Display: r.Gateway}, Name: "calling gateway"})
	}
	patientExt := b.patient()
	encounterExt := b.encounter()

	var exts []fhir.Extension
	if patientExt != "" {
		exts = append(exts, fhir.Extension{URL: ExtPatient, ValueReference: ref(patientExt)})
	}
	if encounterExt != "" {
		exts = append(exts, fhir.Extension{URL: ExtEncounter, ValueReference: ref(encounterExt)})
	}
	if care := b.careRelation(); care != nil {
		exts = append(exts, *care)
	}

	m := &fhir.Meta{}
	if r.Actor.Kind == ActorHealthWorker && r.PatientID != "" {
		m.Profile = []string{ProfileTrustframeworkAuditEvent}
	}
	for _, f := range []struct {
		on         bool
		code, disp string
	}{{r.Flags.BTG, "btg", "break the glass"}, {r.Flags.ETREAT, "etreat", "emergency treatment"}, {r.Flags.Review, "review", "flagged for review"}} {
		if f.on {
			m.Tag = append(m.Tag, fhir.Coding{System: SysFlag, Code: f.code, Display: f.disp})
		}
	}
	if len(m.Profile) == 0 && len(m.Tag) == 0 {
		m = nil
	}

	evType := fhir.Coding{System: sysDCM, Code: "110110", Display: "Patient Record"}
	if r.Transaction == TxAuditSearch || r.Transaction == TxAuditExport {
		evType = fhir.Coding{System: sysDCM, Code: "110101", Display: "Audit Log Used"}
	}
	subtype := fhir.Coding{System: SysTransaction, Code: r.Transaction}
	if d, ok := txDisplay[r.Transaction]; ok {
		subtype = fhir.Coding{System: sysIHEEventType, Code: r.Transaction, Display: d}
	}
	// AuditEvent.action (FHIR R4 audit-event-action): E for queries, R
	// for reads, C/U/D for the lifecycle's changes (BALP's create, update
	// and delete patterns).
	action := "E"
	switch r.Action {
	case ActionRead:
		action = "R"
	case ActionCreate:
		action = "C"
	case ActionUpdate:
		action = "U"
	case ActionDelete:
		action = "D"
	}
	outcomeDesc := r.Rule
	if r.Reason != "" {
		if outcomeDesc != "" {
			outcomeDesc += ": "
		}
		outcomeDesc += r.Reason
	}

	return &fhir.AuditEvent{
		DomainResource: fhir.DomainResource{ResourceType: "AuditEvent", ID: r.ID, Meta: m, Contained: b.contained, Extension: exts},
		Type:           evType,
		Subtype:        []fhir.Coding{subtype},
		Action:         action,
		Recorded:       fhirInstant(r.Time),
		Outcome:        OutcomeCode(r.Outcome),
		OutcomeDesc:    outcomeDesc,
		PurposeOfEvent: b.purposeOfEvent(),
		Agent:          agents,
		Source: fhir.AuditEventSource{
			Site:     b.v.Site,
			Observer: &fhir.Reference{Display: b.v.Site},
			Type:     []fhir.Coding{{System: sysSourceType, Code: "4", Display: "Application Server"}},
		},
		Entity: b.entities(patientExt),
	}
}

// application is the agent type of a system.
var application = &fhir.CodeableConcept{Coding: []fhir.Coding{{System: sysDCM, Code: "110150", Display: "Application"}}}

// agents renders the requestor (and the client system) and, for a health
// worker, the contained Practitioner, PractitionerRole, Organizations and
// Location it points at.
func (b *aeBuilder) agents() []fhir.AuditEventAgent {
	r := b.r
	a := r.Actor
	var network *fhir.AuditEventNetwork
	if !b.citizen() && r.SourceIP != "" {
		network = &fhir.AuditEventNetwork{Address: r.SourceIP, Type: "2"}
	}
	var user fhir.AuditEventAgent
	switch a.Kind {
	case ActorHealthWorker:
		role := b.practitionerRole()
		user = fhir.AuditEventAgent{Who: ref(role), Name: a.Name, Requestor: true}
	case ActorCitizen:
		who := &fhir.Reference{Display: a.Name}
		switch {
		case a.PID != "" && a.PID == r.PatientID:
			who = ref("patient")
		case !b.citizen():
			who.Identifier = identifier(NationalIDSystem(a.PID), a.PID)
		}
		if *who == (fhir.Reference{}) {
			who = &fhir.Reference{Display: "citizen"}
		}
		user = fhir.AuditEventAgent{
			Type: &fhir.CodeableConcept{Coding: []fhir.Coding{{System: sysRoleClass, Code: "PAT", Display: "patient"}}},
			Who:  who, Name: a.Name, Requestor: true}
	case ActorSystem:
		return []fhir.AuditEventAgent{{Type: application, Who: byValue(r.Client.ID, r.Client.Name), Requestor: true, Network: network}}
	default:
		user = fhir.AuditEventAgent{Who: &fhir.Reference{Display: "unauthenticated"}, Requestor: true}
	}
	if r.Client.ID == "" && r.Client.Name == "" {
		user.Network = network
		return []fhir.AuditEventAgent{user}
	}
	display := r.Client.Name
	if r.Client.OrgNr != "" {
		if display != "" {
			display += " "
		}
		display += "(org.nr " + r.Client.OrgNr + ")"
	}
	client := fhir.AuditEventAgent{Type: application, Who: byValue(r.Client.ID, display), Name: r.Client.Name, Network: network}
	return []fhir.AuditEventAgent{user, client}
}

// practitionerRole adds the health worker's contained resources and
// returns the PractitionerRole's id.
func (b *aeBuilder) practitionerRole() string {
	a := b.r.Actor
	var pid *fhir.Identifier
	if !b.citizen() && a.PID != "" {
		pid = identifier(NationalIDSystem(a.PID), a.PID)
	}
	pr := &fhir.Practitioner{DomainResource: containedHead("Practitioner", "practitioner", "no-domain-Trustframework-Practitioner"),
		Identifier: identifiers(pid, identifier(oid.HPR, a.HPR))}
	if a.Name != "" {
		pr.Name = []fhir.HumanName{{Text: a.Name}}
	}
	if c := concept(a.Authorization); c != nil {
		pr.Qualification = []fhir.PractitionerQualification{{Code: *c}}
	}
	b.add(pr)

	legal := ""
	if !a.LegalEntity.IsZero() {
		legal = "legal-entity"
		b.add(b.org(legal, "no-doc-Trustframework-Organization-PractitionerLegalentity", a.LegalEntity, ""))
	}
	dept := ""
	if !a.Department.IsZero() {
		dept = "department"
		b.add(b.org(dept, "no-doc-Trustframework-Organization-PractitionerDepartment", a.Department, legal))
	}
	loc := ""
	if !a.PointOfCare.IsZero() {
		loc = "point-of-care"
		managing := legal
		if legal == "" || a.PointOfCare.ID != a.LegalEntity.ID {
			managing = "point-of-care-org"
		}
		b.add(&fhir.Location{DomainResource: containedHead("Location", loc, "no-doc-Trustframework-Location-PractitionerPointofcare"),
			ManagingOrganization: ref(managing)})
		if managing != legal {
			b.add(b.org(managing, "no-doc-Trustframework-Organization-PractitionerPointofcare", a.PointOfCare, ""))
		}
	}
	org := dept
	if org == "" {
		org = legal
	}
	active := true
	role := &fhir.PractitionerRole{DomainResource: containedHead("PractitionerRole", "practitioner-role", "no-domain-Trustframework-PractitioneRole"),
		Active: &active, Practitioner: ref("practitioner")}
	if org != "" {
		role.Organization = ref(org)
	}
	if loc != "" {
		role.Location = []fhir.Reference{*ref(loc)}
	}
	b.add(role)
	return "practitioner-role"
}

func (b *aeBuilder) org(id, profile string, o Ident, partOf string) *fhir.Organization {
	org := &fhir.Organization{DomainResource: containedHead("Organization", id, profile), Name: o.Name}
	if o.ID != "" {
		org.Identifier = identifiers(identifier(o.System, o.ID))
	}
	if partOf != "" {
		org.PartOf = ref(partOf)
	}
	return org
}

// patient adds the contained Patient and returns its id ("" when the
// record names no patient).
func (b *aeBuilder) patient() string {
	p := b.r.PatientID
	if p == "" {
		return ""
	}
	b.add(&fhir.Patient{DomainResource: containedHead("Patient", "patient", "no-domain-Trustframework-Patient"),
		Identifier: identifiers(identifier(NationalIDSystem(p), p))})
	return "patient"
}

// encounter adds the contained Encounter carrying the care relation's
// healthcare service and the patient's point of care and department.
func (b *aeBuilder) encounter() string {
	at := b.r.Attestation
	if at.HealthcareService.IsZero() && at.PatientPointOfCare.IsZero() && at.PatientDepartment.IsZero() {
		return ""
	}
	enc := &fhir.Encounter{DomainResource: containedHead("Encounter", "encounter", "no-domain-Trustframework-Encounter"),
		Status: "unknown", Class: fhir.Coding{System: sysNullFlavor, Code: "UNK", Display: "unknown"},
		ServiceType: concept(at.HealthcareService)}
	if !at.PatientPointOfCare.IsZero() {
		b.add(&fhir.Location{DomainResource: containedHead("Location", "encounter-point-of-care", "no-doc-Trustframework-Location-EncounterPointofcare"),
			ManagingOrganization: ref("encounter-point-of-care-org")})
		b.add(b.org("encounter-point-of-care-org", "no-doc-Trustframework-Organization-EncounterPointofcare", at.PatientPointOfCare, ""))
		enc.Location = []fhir.EncounterLocation{{Location: *ref("encounter-point-of-care")}}
	}
	if !at.PatientDepartment.IsZero() {
		b.add(b.org("encounter-department", "no-doc-Trustframework-Organization-EncounterServiceprovider", at.PatientDepartment, ""))
		enc.ServiceProvider = ref("encounter-department")
	}
	b.add(enc)
	return "encounter"
}

func (b *aeBuilder) careRelation() *fhir.Extension {
	at := b.r.Attestation
	if at.DecisionRef.IsZero() && at.TOA == 0 {
		return nil
	}
	var subs []fhir.Extension
	if at.DecisionRef.ID != "" {
		subs = append(subs, fhir.Extension{URL: "decision-ref-id", ValueString: at.DecisionRef.ID})
	}
	if at.DecisionRef.Description != "" {
		subs = append(subs, fhir.Extension{URL: "decision-ref-description", ValueString: at.DecisionRef.Description})
	}
	if !at.DecisionRef.IsZero() {
		selected := at.DecisionRef.UserSelected
		subs = append(subs, fhir.Extension{URL: "decision-ref-user-selected", ValueBoolean: &selected})
	}
	if at.TOA > 0 {
		toa := at.TOA
		subs = append(subs, fhir.Extension{URL: "toa", ValueUnsignedInt: &toa})
	}
	return &fhir.Extension{Extension: subs, URL: ExtCareRelation}
}

// purposeOfEvent puts the v3 purpose of use and its details in one
// CodeableConcept: the IG slices purposeOfEvent.coding, and a concept
// with only the details coding fails the required v3 slice.
func (b *aeBuilder) purposeOfEvent() []fhir.CodeableConcept {
	at := b.r.Attestation
	var codings []fhir.Coding
	if p := at.PurposeOfUse; p.Code != "" {
		d := p.Display
		if d == "" {
			d = purposeDisplay[p.Code]
		}
		codings = append(codings, fhir.Coding{System: purposeSystem(p.System), Code: p.Code, Display: d})
	}
	if c := coding(at.PurposeOfUseDetails); c != nil {
		codings = append(codings, *c)
	}
	if len(codings) == 0 {
		return nil
	}
	return []fhir.CodeableConcept{{Coding: codings}}
}

// Entity types and roles.
var (
	entityPerson = &fhir.Coding{System: sysEntityType, Code: "1", Display: "Person"}
	entityObject = &fhir.Coding{System: sysEntityType, Code: "2", Display: "System Object"}
	rolePatient  = &fhir.Coding{System: sysObjectRole, Code: "1", Display: "Patient"}
	roleReport   = &fhir.Coding{System: sysObjectRole, Code: "3", Display: "Report"}
	roleQuery    = &fhir.Coding{System: sysObjectRole, Code: "24", Display: "Query"}
	entityReqID  = &fhir.Coding{System: sysBALPEntityType, Code: "XrequestId", Display: "X-Request-Id"}
)

func (b *aeBuilder) entities(patient string) []fhir.AuditEventEntity {
	r := b.r
	var out []fhir.AuditEventEntity
	if patient != "" {
		e := fhir.AuditEventEntity{What: ref(patient), Type: entityPerson, Role: rolePatient}
		if r.HiddenNORS > 0 {
			e.Detail = []fhir.AuditEventDetail{{Type: "hidden-nors-count", ValueString: strconv.Itoa(r.HiddenNORS)}}
		}
		out = append(out, e)
	}
	for _, d := range r.Documents {
		details := []fhir.AuditEventDetail{{Type: "disposition", ValueString: string(d.Disposition)}}
		if c := d.Class; !c.IsZero() {
			details = append(details, fhir.AuditEventDetail{Type: "classCode", ValueString: codeString(c)})
		}
		if c := d.Type; !c.IsZero() {
			details = append(details, fhir.AuditEventDetail{Type: "typeCode", ValueString: codeString(c)})
		}
		if o := d.SourceOrg; !o.IsZero() {
			details = append(details, fhir.AuditEventDetail{Type: "sourceOrganization", ValueString: identString(o)})
		}
		name := d.Type.Display
		if name == "" {
			name = d.Class.Display
		}
		out = append(out, fhir.AuditEventEntity{What: byValue(d.UniqueID, ""), Type: entityObject, Role: roleReport,
			Name: name, Description: string(d.Disposition), Detail: details})
	}
	if r.Query != "" {
		out = append(out, fhir.AuditEventEntity{Type: entityObject, Role: roleQuery, Description: r.Query,
			Query: base64.StdEncoding.EncodeToString([]byte(r.Query))})
	}
	reqID := func(label, v string) {
		if v == "" {
			return
		}
		out = append(out, fhir.AuditEventEntity{
			What: &fhir.Reference{Identifier: &fhir.Identifier{Type: &fhir.CodeableConcept{Text: label}, Value: v}},
			Type: entityReqID, Description: label})
	}
	reqID("request-id", r.RequestID)
	reqID("nhn-event-id", r.EventID)
	if !b.citizen() && r.UserAgent != "" {
		out = append(out, fhir.AuditEventEntity{Type: entityObject, Description: "user-agent",
			Detail: []fhir.AuditEventDetail{{Type: "user-agent", ValueString: r.UserAgent}}})
	}
	return out
}

func codeString(c Code) string   { return tokenString(c.System, c.Code, c.Display) }
func identString(o Ident) string { return tokenString(o.System, o.ID, o.Name) }

// tokenString writes a code or identifier as [system|]value[ label].
func tokenString(system, value, label string) string {
	s := value
	if system != "" {
		s = fhir.SystemFor(system) + "|" + value
	}
	if label != "" {
		s += " " + label
	}
	return s
}

// fhirInstant formats t as a FHIR instant with milliseconds.
func fhirInstant(t time.Time) string { return t.UTC().Format("2006-01-02T15:04:05.000Z07:00") }
