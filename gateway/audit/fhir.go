package audit

import (
	"encoding/base64"
	"strconv"
	"strings"
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

	oidFNR  = "urn:oid:2.16.578.1.12.4.1.4.1"
	oidDNR  = "urn:oid:2.16.578.1.12.4.1.4.2"
	oidHNR  = "urn:oid:2.16.578.1.12.4.1.4.3"
	oidHPR  = "urn:oid:2.16.578.1.12.4.1.4.4"
	oidENH  = "urn:oid:2.16.578.1.12.4.1.4.101"
	oidRESH = "urn:oid:2.16.578.1.12.4.1.4.102"

	profPrefix = "http://hl7.no/fhir/StructureDefinition/"
)

var txDisplay = map[string]string{
	TxITI18: "Registry Stored Query",
	TxITI38: "Cross Gateway Query",
	TxITI39: "Cross Gateway Retrieve",
	TxITI43: "Retrieve Document Set",
	TxITI66: "Find Document Lists",
	TxITI67: "Find Document References",
	TxITI68: "Retrieve Document",
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

// NationalIDSystem returns the identifier system of a Norwegian national
// identity number: D-nr (first digit + 4), H-nr (third digit + 4), else
// F-nr (synthetic month + 65/80 numbers included).
func NationalIDSystem(id string) string {
	if len(id) == 11 {
		if id[0] >= '4' && id[0] <= '7' {
			return oidDNR
		}
		if id[2] == '4' || id[2] == '5' {
			return oidHNR
		}
	}
	return oidFNR
}

func assigner(system string) Object {
	switch system {
	case oidFNR, oidDNR:
		return obj("display", "https://www.skatteetaten.no")
	case oidHPR:
		return obj("display", "https://www.helsedirektoratet.no/")
	case oidENH:
		return obj("display", "https://www.brreg.no")
	case oidRESH:
		return obj("display", "https://www.nhn.no")
	}
	return nil
}

// uriSystem turns a bare OID into urn:oid form.
func uriSystem(s string) string {
	if s != "" && s[0] >= '0' && s[0] <= '9' && !strings.Contains(s, ":") {
		return "urn:oid:" + s
	}
	return s
}

func purposeSystem(s string) string {
	switch strings.TrimPrefix(s, "urn:oid:") {
	case "", "2.16.840.1.113883.1.11.20448", "2.16.840.1.113883.5.8", sysActReason:
		return sysActReason
	}
	return uriSystem(s)
}

func coding(c Code) Object {
	if c.IsZero() {
		return nil
	}
	return obj("system", uriSystem(c.System), "code", c.Code, "display", c.Display)
}

func identifier(system, value string) Object {
	if value == "" {
		return nil
	}
	system = uriSystem(system)
	return obj("system", system, "value", value, "assigner", assigner(system))
}

func ref(id string) Object { return obj("reference", "#"+id) }

func meta(profile string) Object {
	return obj("profile", []string{profPrefix + profile})
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
func ToAuditEvent(r Record, v View) Object {
	b := &aeBuilder{r: &r, v: v}
	if b.v.Site == "" {
		b.v.Site = "pjd"
	}
	return b.build()
}

type aeBuilder struct {
	r         *Record
	v         View
	contained []Object
}

func (b *aeBuilder) citizen() bool { return b.v.Audience == ForCitizen }

func (b *aeBuilder) add(o Object) { b.contained = append(b.contained, o) }

func (b *aeBuilder) build() Object {
	r := b.r
	agents := b.agents()
	patientExt := b.patient()
	encounterExt := b.encounter()

	var exts []Object
	if patientExt != "" {
		exts = append(exts, obj("url", ExtPatient, "valueReference", ref(patientExt)))
	}
	if encounterExt != "" {
		exts = append(exts, obj("url", ExtEncounter, "valueReference", ref(encounterExt)))
	}
	if care := b.careRelation(); care != nil {
		exts = append(exts, care)
	}

	var profile []string
	if r.Actor.Kind == ActorHealthWorker && r.PatientID != "" {
		profile = []string{ProfileTrustframeworkAuditEvent}
	}
	var tags []Object
	for _, f := range []struct {
		on         bool
		code, disp string
	}{{r.Flags.BTG, "btg", "break the glass"}, {r.Flags.ETREAT, "etreat", "emergency treatment"}, {r.Flags.Review, "review", "flagged for review"}} {
		if f.on {
			tags = append(tags, obj("system", SysFlag, "code", f.code, "display", f.disp))
		}
	}

	evType := obj("system", sysDCM, "code", "110110", "display", "Patient Record")
	if r.Transaction == TxAuditSearch || r.Transaction == TxAuditExport {
		evType = obj("system", sysDCM, "code", "110101", "display", "Audit Log Used")
	}
	subtype := obj("system", SysTransaction, "code", r.Transaction)
	if d, ok := txDisplay[r.Transaction]; ok {
		subtype = obj("system", sysIHEEventType, "code", r.Transaction, "display", d)
	}
	action := "E"
	if r.Action == ActionRead {
		action = "R"
	}
	outcomeDesc := r.Rule
	if r.Reason != "" {
		if outcomeDesc != "" {
			outcomeDesc += ": "
		}
		outcomeDesc += r.Reason
	}

	return obj(
		"resourceType", "AuditEvent",
		"id", r.ID,
		"meta", obj("profile", profile, "tag", tags),
		"contained", b.contained,
		"extension", exts,
		"type", evType,
		"subtype", []Object{subtype},
		"action", action,
		"recorded", fhirInstant(r.Time),
		"outcome", OutcomeCode(r.Outcome),
		"outcomeDesc", outcomeDesc,
		"purposeOfEvent", b.purposeOfEvent(),
		"agent", agents,
		"source", obj(
			"site", b.v.Site,
			"observer", obj("display", b.v.Site),
			"type", []Object{obj("system", sysSourceType, "code", "4", "display", "Application Server")},
		),
		"entity", b.entities(patientExt),
	)
}

// agents renders the requestor (and the client system) and, for a health
// worker, the contained Practitioner, PractitionerRole, Organizations and
// Location it points at.
func (b *aeBuilder) agents() []Object {
	r := b.r
	a := r.Actor
	network := obj()
	if !b.citizen() && r.SourceIP != "" {
		network = obj("address", r.SourceIP, "type", "2")
	}
	var user Object
	switch a.Kind {
	case ActorHealthWorker:
		role := b.practitionerRole()
		user = obj("who", ref(role), "name", a.Name, "requestor", true)
	case ActorCitizen:
		who := obj("display", a.Name)
		switch {
		case a.PID != "" && a.PID == r.PatientID:
			who = ref("patient")
		case !b.citizen():
			who = obj("identifier", identifier(NationalIDSystem(a.PID), a.PID), "display", a.Name)
		}
		if len(who) == 0 {
			who = obj("display", "citizen")
		}
		user = obj(
			"type", obj("coding", []Object{obj("system", sysRoleClass, "code", "PAT", "display", "patient")}),
			"who", who, "name", a.Name, "requestor", true)
	case ActorSystem:
		user = obj(
			"type", obj("coding", []Object{obj("system", sysDCM, "code", "110150", "display", "Application")}),
			"who", obj("identifier", obj("value", r.Client.ID), "display", r.Client.Name),
			"requestor", true, "network", network)
		return []Object{user}
	default:
		user = obj("who", obj("display", "unauthenticated"), "requestor", true)
	}
	if r.Client.ID == "" && r.Client.Name == "" {
		user = append(user, obj("network", network)...)
		return []Object{user}
	}
	display := r.Client.Name
	if r.Client.OrgNr != "" {
		if display != "" {
			display += " "
		}
		display += "(org.nr " + r.Client.OrgNr + ")"
	}
	client := obj(
		"type", obj("coding", []Object{obj("system", sysDCM, "code", "110150", "display", "Application")}),
		"who", obj("identifier", obj("value", r.Client.ID), "display", display),
		"name", r.Client.Name,
		"requestor", false,
		"network", network,
	)
	return []Object{user, client}
}

// practitionerRole adds the health worker's contained resources and
// returns the PractitionerRole's id.
func (b *aeBuilder) practitionerRole() string {
	a := b.r.Actor
	var ids []Object
	if !b.citizen() && a.PID != "" {
		ids = append(ids, identifier(NationalIDSystem(a.PID), a.PID))
	}
	if a.HPR != "" {
		ids = append(ids, identifier(oidHPR, a.HPR))
	}
	var names []Object
	if a.Name != "" {
		names = []Object{obj("text", a.Name)}
	}
	var quals []Object
	if !a.Authorization.IsZero() {
		quals = []Object{obj("code", obj("coding", []Object{coding(a.Authorization)}))}
	}
	b.add(obj(
		"resourceType", "Practitioner",
		"id", "practitioner",
		"meta", meta("no-domain-Trustframework-Practitioner"),
		"identifier", ids,
		"name", names,
		"qualification", quals,
	))

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
		b.add(obj(
			"resourceType", "Location",
			"id", loc,
			"meta", meta("no-doc-Trustframework-Location-PractitionerPointofcare"),
			"managingOrganization", ref(managing),
		))
		if managing != legal {
			b.add(b.org(managing, "no-doc-Trustframework-Organization-PractitionerPointofcare", a.PointOfCare, ""))
		}
	}
	org := dept
	if org == "" {
		org = legal
	}
	var locs []Object
	if loc != "" {
		locs = []Object{ref(loc)}
	}
	var orgRef Object
	if org != "" {
		orgRef = ref(org)
	}
	b.add(obj(
		"resourceType", "PractitionerRole",
		"id", "practitioner-role",
		"meta", meta("no-domain-Trustframework-PractitioneRole"),
		"active", true,
		"practitioner", ref("practitioner"),
		"organization", orgRef,
		"location", locs,
	))
	return "practitioner-role"
}

func (b *aeBuilder) org(id, profile string, o Ident, partOf string) Object {
	var ids []Object
	if o.ID != "" {
		ids = []Object{identifier(o.System, o.ID)}
	}
	var part Object
	if partOf != "" {
		part = ref(partOf)
	}
	return obj(
		"resourceType", "Organization",
		"id", id,
		"meta", meta(profile),
		"identifier", ids,
		"name", o.Name,
		"partOf", part,
	)
}

// patient adds the contained Patient and returns its id ("" when the
// record names no patient).
func (b *aeBuilder) patient() string {
	p := b.r.PatientID
	if p == "" {
		return ""
	}
	b.add(obj(
		"resourceType", "Patient",
		"id", "patient",
		"meta", meta("no-domain-Trustframework-Patient"),
		"identifier", []Object{identifier(NationalIDSystem(p), p)},
	))
	return "patient"
}

// encounter adds the contained Encounter carrying the care relation's
// healthcare service and the patient's point of care and department.
func (b *aeBuilder) encounter() string {
	at := b.r.Attestation
	if at.HealthcareService.IsZero() && at.PatientPointOfCare.IsZero() && at.PatientDepartment.IsZero() {
		return ""
	}
	var locs []Object
	if !at.PatientPointOfCare.IsZero() {
		b.add(obj(
			"resourceType", "Location",
			"id", "encounter-point-of-care",
			"meta", meta("no-doc-Trustframework-Location-EncounterPointofcare"),
			"managingOrganization", ref("encounter-point-of-care-org"),
		))
		b.add(b.org("encounter-point-of-care-org", "no-doc-Trustframework-Organization-EncounterPointofcare", at.PatientPointOfCare, ""))
		locs = []Object{obj("location", ref("encounter-point-of-care"))}
	}
	var provider Object
	if !at.PatientDepartment.IsZero() {
		b.add(b.org("encounter-department", "no-doc-Trustframework-Organization-EncounterServiceprovider", at.PatientDepartment, ""))
		provider = ref("encounter-department")
	}
	var service Object
	if !at.HealthcareService.IsZero() {
		service = obj("coding", []Object{coding(at.HealthcareService)})
	}
	b.add(obj(
		"resourceType", "Encounter",
		"id", "encounter",
		"meta", meta("no-domain-Trustframework-Encounter"),
		"status", "unknown",
		"class", obj("system", sysNullFlavor, "code", "UNK", "display", "unknown"),
		"serviceType", service,
		"location", locs,
		"serviceProvider", provider,
	))
	return "encounter"
}

func (b *aeBuilder) careRelation() Object {
	at := b.r.Attestation
	if at.DecisionRef.IsZero() && at.TOA == 0 {
		return nil
	}
	var subs []Object
	if at.DecisionRef.ID != "" {
		subs = append(subs, obj("url", "decision-ref-id", "valueString", at.DecisionRef.ID))
	}
	if at.DecisionRef.Description != "" {
		subs = append(subs, obj("url", "decision-ref-description", "valueString", at.DecisionRef.Description))
	}
	if !at.DecisionRef.IsZero() {
		subs = append(subs, obj("url", "decision-ref-user-selected", "valueBoolean", at.DecisionRef.UserSelected))
	}
	if at.TOA > 0 {
		subs = append(subs, obj("url", "toa", "valueUnsignedInt", at.TOA))
	}
	return obj("extension", subs, "url", ExtCareRelation)
}

// purposeOfEvent puts the v3 purpose of use and its details in one
// CodeableConcept: the IG slices purposeOfEvent.coding, and a concept
// with only the details coding fails the required v3 slice.
func (b *aeBuilder) purposeOfEvent() []Object {
	at := b.r.Attestation
	var codings []Object
	if p := at.PurposeOfUse; p.Code != "" {
		d := p.Display
		if d == "" {
			d = purposeDisplay[p.Code]
		}
		codings = append(codings, obj("system", purposeSystem(p.System), "code", p.Code, "display", d))
	}
	if c := coding(at.PurposeOfUseDetails); c != nil {
		codings = append(codings, c)
	}
	if len(codings) == 0 {
		return nil
	}
	return []Object{obj("coding", codings)}
}

func (b *aeBuilder) entities(patient string) []Object {
	r := b.r
	var out []Object
	if patient != "" {
		var details []Object
		if r.HiddenNORS > 0 {
			details = []Object{obj("type", "hidden-nors-count", "valueString", strconv.Itoa(r.HiddenNORS))}
		}
		out = append(out, obj(
			"what", ref(patient),
			"type", obj("system", sysEntityType, "code", "1", "display", "Person"),
			"role", obj("system", sysObjectRole, "code", "1", "display", "Patient"),
			"detail", details,
		))
	}
	for _, d := range r.Documents {
		details := []Object{obj("type", "disposition", "valueString", string(d.Disposition))}
		if c := d.Class; !c.IsZero() {
			details = append(details, obj("type", "classCode", "valueString", codeString(c)))
		}
		if c := d.Type; !c.IsZero() {
			details = append(details, obj("type", "typeCode", "valueString", codeString(c)))
		}
		if o := d.SourceOrg; !o.IsZero() {
			details = append(details, obj("type", "sourceOrganization", "valueString", identString(o)))
		}
		name := d.Type.Display
		if name == "" {
			name = d.Class.Display
		}
		out = append(out, obj(
			"what", obj("identifier", obj("value", d.UniqueID)),
			"type", obj("system", sysEntityType, "code", "2", "display", "System Object"),
			"role", obj("system", sysObjectRole, "code", "3", "display", "Report"),
			"name", name,
			"description", string(d.Disposition),
			"detail", details,
		))
	}
	if r.Query != "" {
		out = append(out, obj(
			"type", obj("system", sysEntityType, "code", "2", "display", "System Object"),
			"role", obj("system", sysObjectRole, "code", "24", "display", "Query"),
			"description", r.Query,
			"query", base64.StdEncoding.EncodeToString([]byte(r.Query)),
		))
	}
	reqID := func(label, v string) {
		if v == "" {
			return
		}
		out = append(out, obj(
			"what", obj("identifier", obj("type", obj("text", label), "value", v)),
			"type", obj("system", sysBALPEntityType, "code", "XrequestId", "display", "X-Request-Id"),
			"description", label,
		))
	}
	reqID("request-id", r.RequestID)
	reqID("nhn-event-id", r.EventID)
	if !b.citizen() && r.UserAgent != "" {
		out = append(out, obj(
			"type", obj("system", sysEntityType, "code", "2", "display", "System Object"),
			"description", "user-agent",
			"detail", []Object{obj("type", "user-agent", "valueString", r.UserAgent)},
		))
	}
	return out
}

func codeString(c Code) string {
	s := c.Code
	if c.System != "" {
		s = uriSystem(c.System) + "|" + c.Code
	}
	if c.Display != "" {
		s += " " + c.Display
	}
	return s
}

func identString(o Ident) string {
	s := o.ID
	if o.System != "" {
		s = uriSystem(o.System) + "|" + o.ID
	}
	if o.Name != "" {
		s += " " + o.Name
	}
	return s
}

// fhirInstant formats t as a FHIR instant with milliseconds.
func fhirInstant(t time.Time) string { return t.UTC().Format("2006-01-02T15:04:05.000Z07:00") }
