package trust

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math"
	"pjd/registry/oid"
	"slices"
	"strings"
	"time"

	"github.com/google/uuid"
)

// Attestation is the trust-framework attestation of tjenstlig behov
// (tillitsrammeverket v1.1) after parsing. ParseAttestation only checks the
// shape; Validate checks the elements, code systems and age.
type Attestation struct {
	PractitionerID      Identifier        `json:"practitioner_identifier,omitzero"`
	HPRNumber           Identifier        `json:"hpr_nr,omitzero"`
	Authorization       Coding            `json:"authorization,omitzero"`
	LegalEntity         Identifier        `json:"legal_entity,omitzero"`
	PointOfCare         Identifier        `json:"point_of_care,omitzero"`
	Department          Identifier        `json:"department,omitzero"`
	HealthcareService   Coding            `json:"healthcare_service,omitzero"`
	PurposeOfUse        Coding            `json:"purpose_of_use,omitzero"`
	PurposeOfUseDetails Coding            `json:"purpose_of_use_details,omitzero"`
	DecisionRef         DecisionRef       `json:"decision_ref,omitzero"`
	Patients            []AttestedPatient `json:"patients,omitempty"`
	TOA                 time.Time         `json:"toa,omitzero"`

	// Presence of elements whose absence is an error but whose zero value
	// is legal; set by the parser.
	hasCare        bool
	hasPatients    bool
	hasDecisionRef bool
	decisionRefErr string
	toaErr         string
}

// maxAttestationSize bounds the JSON we are willing to look at.
const maxAttestationSize = 64 << 10

type wireIdent struct {
	ID        string `json:"id"`
	System    string `json:"system"`
	Name      string `json:"name"`
	Authority string `json:"authority"`
}

type wireCode struct {
	Code     string `json:"code"`
	System   string `json:"system"`
	Text     string `json:"text"`
	Assigner string `json:"assigner"`
}

type wireDecisionRef struct {
	ID           json.RawMessage `json:"id"`
	UserSelected json.RawMessage `json:"user_selected"`
}

type wirePractitioner struct {
	Identifier    *wireIdent `json:"identifier"`
	HPRNr         *wireIdent `json:"hpr_nr"`
	Authorization *wireCode  `json:"authorization"`
	LegalEntity   *wireIdent `json:"legal_entity"`
	PointOfCare   *wireIdent `json:"point_of_care"`
	Department    *wireIdent `json:"department"`
}

type wireCare struct {
	HealthcareService   *wireCode        `json:"healthcare_service"`
	PurposeOfUse        *wireCode        `json:"purpose_of_use"`
	PurposeOfUseDetails *wireCode        `json:"purpose_of_use_details"`
	DecisionRef         *wireDecisionRef `json:"decision_ref"`
}

type wirePatient struct {
	Identifier  *wireIdent `json:"identifier"`
	PointOfCare *wireIdent `json:"point_of_care"`
	Department  *wireIdent `json:"department"`
}

type wireAttestation struct {
	Type             *string           `json:"type"`
	Practitioner     *wirePractitioner `json:"practitioner"`
	CareRelationship *wireCare         `json:"care_relationship"`
	CareRelation     *wireCare         `json:"care_relation"` // spelling used by the v1.1 spec examples
	Patients         *[]wirePatient    `json:"patients"`
	TOA              json.RawMessage   `json:"toa"`
}

func attErr(k Kind, desc string, detail string) *Error { return newErr(k, desc, detail) }

// ParseAttestation reads the attestation from the value of an
// authorization_details claim: an object of type
// nhn:tillitsrammeverk:parameters, an array holding exactly one such object
// (other types are ignored), or either of those encoded as a JSON string.
func ParseAttestation(authorizationDetails []byte) (*Attestation, error) {
	return parseAttestationClaim(authorizationDetails, true)
}

// parseAttestationClaim parses the value of authorization_details
// (typeRequired) or of the nhn:tillitsrammeverk:parameters claim (type may
// be absent, but if present must be right).
func parseAttestationClaim(raw []byte, typeRequired bool) (*Attestation, error) {
	raw = bytes.TrimSpace(raw)
	if len(raw) == 0 || bytes.Equal(raw, []byte("null")) {
		return nil, attErr(KindAttestationMissing, "the access token carries no trust-framework attestation", "empty claim")
	}
	if len(raw) > maxAttestationSize {
		return nil, attErr(KindAttestationMalformed, "the attestation is too large", fmt.Sprintf("%d bytes", len(raw)))
	}
	// A JSON string holding JSON (some issuers serialise structured claims so).
	if raw[0] == '"' {
		var s string
		if err := json.Unmarshal(raw, &s); err != nil {
			return nil, wrapErr(KindAttestationMalformed, "the attestation is not valid JSON", err)
		}
		raw = bytes.TrimSpace([]byte(s))
		if len(raw) == 0 || raw[0] == '"' {
			return nil, attErr(KindAttestationMalformed, "the attestation is not a JSON object", "string claim")
		}
	}
	switch raw[0] {
	case '[':
		var items []json.RawMessage
		if err := json.Unmarshal(raw, &items); err != nil {
			return nil, wrapErr(KindAttestationMalformed, "authorization_details is not valid JSON", err)
		}
		var found json.RawMessage
		others := 0
		for _, it := range items {
			var head struct {
				Type *string `json:"type"`
			}
			if err := json.Unmarshal(it, &head); err != nil {
				return nil, wrapErr(KindAttestationMalformed, "authorization_details holds an entry that is not an object", err)
			}
			if head.Type == nil {
				return nil, attErr(KindAttestationMalformed, "authorization_details holds an entry without a type", "")
			}
			if *head.Type != AttestationType {
				others++
				continue
			}
			if found != nil {
				return nil, attErr(KindAttestationMalformed, "authorization_details holds more than one trust-framework attestation", "")
			}
			found = it
		}
		if found == nil {
			if others > 0 {
				return nil, attErr(KindAttestationType, "authorization_details holds no entry of type "+AttestationType, "")
			}
			return nil, attErr(KindAttestationMissing, "the access token carries no trust-framework attestation", "empty array")
		}
		return parseAttestationObject(found, true)
	case '{':
		return parseAttestationObject(raw, typeRequired)
	default:
		return nil, attErr(KindAttestationMalformed, "the attestation is not a JSON object", "")
	}
}

func parseAttestationObject(raw []byte, typeRequired bool) (*Attestation, error) {
	var w wireAttestation
	if err := json.Unmarshal(raw, &w); err != nil {
		return nil, wrapErr(KindAttestationMalformed, "the attestation does not have the trust-framework shape", err)
	}
	switch {
	case w.Type == nil && typeRequired:
		return nil, attErr(KindAttestationType, "authorization_details has no type", "")
	case w.Type != nil && *w.Type != AttestationType:
		return nil, attErr(KindAttestationType, "authorization_details is not of type "+AttestationType, "type "+*w.Type)
	}
	a := &Attestation{}
	if p := w.Practitioner; p != nil {
		a.PractitionerID = ident(p.Identifier)
		a.HPRNumber = ident(p.HPRNr)
		a.Authorization = code(p.Authorization)
		a.LegalEntity = ident(p.LegalEntity)
		a.PointOfCare = ident(p.PointOfCare)
		a.Department = ident(p.Department)
	}
	care := w.CareRelationship
	if care == nil {
		care = w.CareRelation
	} else if w.CareRelation != nil {
		return nil, attErr(KindAttestationMalformed, "the attestation has both care_relationship and care_relation", "")
	}
	if care != nil {
		a.hasCare = true
		a.HealthcareService = code(care.HealthcareService)
		a.PurposeOfUse = code(care.PurposeOfUse)
		a.PurposeOfUseDetails = code(care.PurposeOfUseDetails)
		if care.DecisionRef != nil {
			a.hasDecisionRef = true
			a.DecisionRef, a.decisionRefErr = parseDecisionRef(care.DecisionRef)
		}
	}
	if w.Patients != nil {
		a.hasPatients = true
		for _, p := range *w.Patients {
			a.Patients = append(a.Patients, AttestedPatient{
				Identifier:  ident(p.Identifier),
				PointOfCare: ident(p.PointOfCare),
				Department:  ident(p.Department),
			})
		}
	}
	a.TOA, a.toaErr = parseTOA(w.TOA)
	return a, nil
}

func ident(w *wireIdent) Identifier {
	if w == nil {
		return Identifier{}
	}
	return Identifier{ID: strings.TrimSpace(w.ID), System: strings.TrimSpace(w.System), Name: w.Name}
}

func code(w *wireCode) Coding {
	if w == nil {
		return Coding{}
	}
	return Coding{Code: strings.TrimSpace(w.Code), System: strings.TrimSpace(w.System), Text: w.Text}
}

func parseDecisionRef(w *wireDecisionRef) (DecisionRef, string) {
	var d DecisionRef
	if len(w.ID) == 0 {
		return d, "decision_ref.id is missing"
	}
	if err := json.Unmarshal(w.ID, &d.ID); err != nil {
		return d, "decision_ref.id is not a string"
	}
	if len(w.UserSelected) == 0 {
		return d, "decision_ref.user_selected is missing"
	}
	if err := json.Unmarshal(w.UserSelected, &d.UserSelected); err != nil {
		return d, "decision_ref.user_selected is not a boolean"
	}
	return d, ""
}

func parseTOA(raw json.RawMessage) (time.Time, string) {
	if len(raw) == 0 || string(raw) == "null" {
		return time.Time{}, "toa is missing"
	}
	var f float64
	if err := json.Unmarshal(raw, &f); err != nil {
		return time.Time{}, "toa is not a number of seconds"
	}
	if math.IsNaN(f) || f < 0 || f > 1e11 {
		return time.Time{}, "toa is out of range"
	}
	sec, frac := math.Modf(f)
	return time.Unix(int64(sec), int64(frac*1e9)).UTC(), ""
}

// IsUUID reports whether s is a UUID in its canonical 36-character form.
func IsUUID(s string) bool {
	if len(s) != 36 {
		return false
	}
	_, err := uuid.Parse(s)
	return err == nil
}

// AttestationPolicy holds the limits Validate applies.
type AttestationPolicy struct {
	MaxAge time.Duration // toa no older than this; default 60 minutes
	Skew   time.Duration // toa no later than now+Skew
}

func (p AttestationPolicy) maxAge() time.Duration {
	if p.MaxAge <= 0 {
		return 60 * time.Minute
	}
	return p.MaxAge
}

func invalid(element, why string) *Error {
	return attErr(KindAttestationInvalid, "attestation element "+element+" is missing or invalid", why)
}

// Validate checks every element the trust framework requires and the code
// system of every element present, and that toa is no older than the
// policy allows at now. It does not compare the practitioner with the
// authenticated user; CheckPractitioner does.
func (a *Attestation) Validate(now time.Time, p AttestationPolicy) error {
	// practitioner.identifier: F-nr / D-nr, required.
	if a.PractitionerID.ID == "" {
		return invalid("practitioner.identifier", "missing")
	}
	if !SameSystem(a.PractitionerID.System, oid.FNR) && !SameSystem(a.PractitionerID.System, oid.DNR) {
		return invalid("practitioner.identifier", "system "+a.PractitionerID.System)
	}
	if !ValidNIN(a.PractitionerID.ID) {
		return invalid("practitioner.identifier", "not a valid national identity number")
	}
	// hpr_nr: optional.
	if !a.HPRNumber.IsZero() {
		if !SameSystem(a.HPRNumber.System, oid.HPR) || !isDigits(a.HPRNumber.ID) || len(a.HPRNumber.ID) > 9 {
			return invalid("practitioner.hpr_nr", "system "+a.HPRNumber.System)
		}
	}
	// authorization: optional, Volven 9060.
	if !a.Authorization.IsZero() {
		if !SameSystem(a.Authorization.System, oid.Volven9060) || a.Authorization.Code == "" {
			return invalid("practitioner.authorization", "system "+a.Authorization.System)
		}
	}
	// legal_entity and point_of_care: required org numbers.
	if err := checkOrg("practitioner.legal_entity", a.LegalEntity, true); err != nil {
		return err
	}
	if err := checkOrg("practitioner.point_of_care", a.PointOfCare, true); err != nil {
		return err
	}
	// department: optional, RESH or a local system.
	if !a.Department.IsZero() && (a.Department.ID == "" || a.Department.System == "") {
		return invalid("practitioner.department", "id or system missing")
	}
	if !a.hasCare {
		return invalid("care_relationship", "missing")
	}
	// purpose_of_use: required, HL7 20448, four codes.
	if a.PurposeOfUse.IsZero() {
		return attErr(KindAttestationPurpose, "attestation element care_relationship.purpose_of_use is missing", "")
	}
	if !SameSystem(a.PurposeOfUse.System, oid.PurposeOfUse) {
		return attErr(KindAttestationPurpose, "purpose_of_use must come from "+oid.PurposeOfUse, "system "+a.PurposeOfUse.System)
	}
	switch a.PurposeOfUse.Code {
	case PurposeTreat, PurposeETreat, PurposeCOC, PurposeBTG:
	default:
		return attErr(KindAttestationPurpose, "purpose_of_use must be TREAT, ETREAT, COC or BTG", "code "+a.PurposeOfUse.Code)
	}
	// healthcare_service / purpose_of_use_details: at least one.
	if a.HealthcareService.IsZero() && a.PurposeOfUseDetails.IsZero() {
		return invalid("care_relationship", "neither healthcare_service nor purpose_of_use_details")
	}
	if !a.HealthcareService.IsZero() {
		list, ok := strings.CutPrefix(bareOID(a.HealthcareService.System), "2.16.578.1.12.4.1.1.")
		if !ok || !slices.Contains(healthcareServiceLists, list) || a.HealthcareService.Code == "" {
			return invalid("care_relationship.healthcare_service", "system "+a.HealthcareService.System)
		}
	}
	if !a.PurposeOfUseDetails.IsZero() {
		s := a.PurposeOfUseDetails.System
		if a.PurposeOfUseDetails.Code == "" || !(s == SystemCareRelation || SameSystem(s, oid.Volven9151) || s == SystemDecisionTemplate) {
			return invalid("care_relationship.purpose_of_use_details", "system "+s)
		}
	}
	// decision_ref: required, id a UUID.
	if !a.hasDecisionRef {
		return attErr(KindAttestationDecisionRef, "attestation element care_relationship.decision_ref is missing", "")
	}
	if a.decisionRefErr != "" {
		return attErr(KindAttestationDecisionRef, "attestation element care_relationship.decision_ref is invalid", a.decisionRefErr)
	}
	if !IsUUID(a.DecisionRef.ID) {
		return attErr(KindAttestationDecisionRef, "decision_ref.id must be a UUID", "")
	}
	// patients: array required (may be empty); identifiers F/D/H-nr.
	if !a.hasPatients {
		return invalid("patients", "missing")
	}
	for i, pt := range a.Patients {
		if !pt.Identifier.IsZero() {
			s := pt.Identifier.System
			if !(SameSystem(s, oid.FNR) || SameSystem(s, oid.DNR) || SameSystem(s, oid.HNR)) || !ValidNIN(pt.Identifier.ID) {
				return invalid(fmt.Sprintf("patients[%d].identifier", i), "system "+s)
			}
		}
		if !pt.PointOfCare.IsZero() {
			if err := checkOrg(fmt.Sprintf("patients[%d].point_of_care", i), pt.PointOfCare, false); err != nil {
				return err
			}
		}
		if !pt.Department.IsZero() && (pt.Department.ID == "" || pt.Department.System == "") {
			return invalid(fmt.Sprintf("patients[%d].department", i), "id or system missing")
		}
	}
	// toa: required, no older than MaxAge.
	if a.toaErr != "" {
		return invalid("toa", a.toaErr)
	}
	if a.TOA.After(now.Add(p.Skew)) {
		return invalid("toa", "in the future")
	}
	if now.Sub(a.TOA) > p.maxAge() {
		return attErr(KindAttestationExpired, "attestation_has_expired: the attestation (toa) is older than "+p.maxAge().String(),
			"toa "+a.TOA.Format(time.RFC3339))
	}
	return nil
}

func checkOrg(element string, id Identifier, required bool) error {
	if id.IsZero() {
		if required {
			return invalid(element, "missing")
		}
		return nil
	}
	if !SameSystem(id.System, oid.OrgNr) {
		return invalid(element, "system "+id.System)
	}
	if !ValidOrgNr(id.ID) {
		return invalid(element, "not a valid organisation number")
	}
	return nil
}

// CheckPractitioner checks that the attestation was made by the
// authenticated user: the practitioner identifier must equal pid, and when
// both the token and the attestation carry an HPR number they must agree.
func (a *Attestation) CheckPractitioner(pid, hprNumber string) error {
	if pid == "" || a.PractitionerID.ID != pid {
		return attErr(KindAttestationPractitioner, "the attestation's practitioner is not the authenticated user", "")
	}
	if hprNumber != "" && a.HPRNumber.ID != "" && a.HPRNumber.ID != hprNumber {
		return attErr(KindAttestationPractitioner, "the attestation's HPR number is not the authenticated user's", "")
	}
	return nil
}

// apply copies the attestation into p.
func (a *Attestation) apply(p *Principal) {
	p.HasAttestation = true
	if p.HPRNumber == "" {
		p.HPRNumber = a.HPRNumber.ID
	}
	if p.Name == "" {
		p.Name = a.PractitionerID.Name
	}
	p.Authorization = a.Authorization
	p.LegalEntity = a.LegalEntity
	p.PointOfCare = a.PointOfCare
	p.Department = a.Department
	p.PurposeOfUse = a.PurposeOfUse
	p.PurposeOfUseDetails = a.PurposeOfUseDetails
	p.HealthcareService = a.HealthcareService
	p.DecisionRef = a.DecisionRef
	p.AttestedAt = a.TOA
	p.Patients = slices.Clone(a.Patients) // a may be shared by the requests of one token
}
