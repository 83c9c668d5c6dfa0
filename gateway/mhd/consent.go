package mhd

import (
	"encoding/json"
	"errors"
	"net/http"
	"strings"
	"time"

	"pjd/gateway/access"
	"pjd/gateway/audit"
	"pjd/gateway/fhir"
	"pjd/registry/oid"
	"pjd/trust"
	"pjd/trust/policy"
)

// A patient's own blocks as FHIR Consent (IHE PCF shape; research digest
// §10), for a citizen token on the citizen's own number:
//
//   - GET /fhir/R4/Consent[?patient.identifier=…|<own number>][&status=active|inactive]:
//     a searchset of the citizen's blocks (default: active). Another
//     number answers as a patient without blocks: an empty searchset.
//   - POST /fhir/R4/Consent: a Consent whose provision (the root, or one
//     nested provision.provision) is type deny with
//       - no data: all sharing;
//       - data {meaning: instance, reference: DocumentReference/<id>}:
//         one document;
//       - data {meaning: authoredby, reference.identifier: org.nr}: the
//         documents one source organisation authored (PCF's
//         provision.actor names the *recipient*, IRCP; the source is
//         data[authoredby] — digest §14.7, followed here although the
//         issue says "actor for the scope").
//     201 Created with Location; 422 for a consent pjd cannot enforce (a
//     patient is never told they are protected when they are not).
//   - GET /fhir/R4/Consent/[id]: the consent; 410 Gone once revoked.
//   - DELETE /fhir/R4/Consent/[id]: revokes it (the block's validity
//     ends; blocks are never deleted), 204.
//
// pjd's Consent does not claim the PCF profile: it has no source[x] (the
// audit record is the evidence) and its performer is the citizen.

const maxConsentBody = 64 << 10

var scopesConsent = []string{trust.ScopeCitizen}

type consentData struct {
	Meaning   string         `json:"meaning"`
	Reference fhir.Reference `json:"reference"`
}

type consentProvision struct {
	Type      string             `json:"type,omitempty"`
	Actor     []json.RawMessage  `json:"actor,omitempty"`
	Data      []consentData      `json:"data,omitempty"`
	Provision []consentProvision `json:"provision,omitempty"`
}

type consentIn struct {
	ResourceType string            `json:"resourceType"`
	Status       string            `json:"status"`
	Provision    *consentProvision `json:"provision"`
}

func unenforceable(format string, args ...any) *fhir.Error {
	return fhir.NewError(http.StatusUnprocessableEntity, fhir.IssueNotSupported, "Consent.provision", format, args...)
}

// blockOf reads the one deny provision of a Consent into a block (without
// the patient): its document (a DocumentReference id, resolved by the
// caller) or source organisation.
func blockOf(c *consentIn) (docID string, b policy.Block, e *fhir.Error) {
	if c.ResourceType != "Consent" {
		return "", b, fhir.NewError(http.StatusBadRequest, fhir.IssueStructure, "Consent", "the body must be a JSON FHIR Consent")
	}
	if c.Status != "" && c.Status != "active" {
		return "", b, unenforceable("only an active consent can be made (status %q)", c.Status)
	}
	if c.Provision == nil {
		return "", b, unenforceable("the consent has no provision")
	}
	deny := c.Provision
	switch {
	case deny.Type == "deny" && len(deny.Provision) == 0:
	case deny.Type == "permit" && len(deny.Provision) == 1 && deny.Provision[0].Type == "deny" && len(deny.Provision[0].Provision) == 0 && len(deny.Data) == 0 && len(deny.Actor) == 0:
		deny = &deny.Provision[0]
	default:
		return "", b, unenforceable("pjd enforces one deny provision: provision.type deny, or a permit with one nested deny")
	}
	if len(deny.Actor) > 0 {
		return "", b, unenforceable("provision.actor (a recipient) is not supported in a patient's own consent; block a source with data[meaning=authoredby]")
	}
	switch {
	case len(deny.Data) == 0:
	case len(deny.Data) > 1:
		return "", b, unenforceable("at most one provision.data")
	case deny.Data[0].Meaning == "instance":
		id, ok := strings.CutPrefix(deny.Data[0].Reference.Reference, "DocumentReference/")
		if !ok || !fhirIDRE.MatchString(id) {
			return "", b, unenforceable("provision.data[instance] must reference DocumentReference/<id>")
		}
		docID = id
	case deny.Data[0].Meaning == "authoredby":
		ident := deny.Data[0].Reference.Identifier
		if ident == nil || strings.TrimPrefix(ident.System, "urn:oid:") != oid.OrgNr || !trust.ValidOrgNr(ident.Value) {
			return "", b, unenforceable("provision.data[authoredby] must name an organisation by identifier (system urn:oid:%s, a valid organisation number)", oid.OrgNr)
		}
		b.SourceOrgNr = ident.Value
	default:
		return "", b, unenforceable("provision.data meaning %q is not supported (instance or authoredby)", deny.Data[0].Meaning)
	}
	return docID, b, nil
}

// consentFrom renders a block as a Consent.
func (m *Endpoints) consentFrom(b policy.Block, now time.Time) map[string]any {
	status := "active"
	if !b.ValidTo.IsZero() && !now.Before(b.ValidTo) {
		status = "inactive"
	}
	deny := map[string]any{"type": "deny"}
	switch {
	case len(b.DocumentUniqueIDs) > 0:
		var data []any
		for _, u := range b.DocumentUniqueIDs {
			data = append(data, map[string]any{"meaning": "instance",
				"reference": map[string]any{"identifier": map[string]any{"system": SystemURI, "value": uniqueIDValue(u)}}})
		}
		deny["data"] = data
	case b.SourceOrgNr != "":
		deny["data"] = []any{map[string]any{"meaning": "authoredby",
			"reference": map[string]any{"identifier": map[string]any{"system": "urn:oid:" + oid.OrgNr, "value": b.SourceOrgNr}}}}
	}
	if !b.Everyone {
		var actors []any
		add := func(system, value string) {
			if value != "" {
				actors = append(actors, map[string]any{
					"role":      map[string]any{"coding": []any{map[string]any{"system": "http://terminology.hl7.org/CodeSystem/v3-ParticipationType", "code": "IRCP"}}},
					"reference": map[string]any{"identifier": map[string]any{"system": "urn:oid:" + system, "value": value}}})
			}
		}
		add(oid.HPR, b.HPRNumber)
		add(oid.OrgNr, b.OrgNr)
		if b.PractitionerID != "" {
			add(oid.NationalID(b.PractitionerID), b.PractitionerID)
		}
		deny["actor"] = actors
	}
	c := map[string]any{
		"resourceType": "Consent", "id": b.ID, "status": status,
		"scope":     map[string]any{"coding": []any{map[string]any{"system": "http://terminology.hl7.org/CodeSystem/consentscope", "code": "patient-privacy"}}},
		"category":  []any{map[string]any{"coding": []any{map[string]any{"system": "http://loinc.org", "code": "59284-0", "display": "Consent"}}}},
		"patient":   map[string]any{"identifier": map[string]any{"system": "urn:oid:" + oid.NationalID(b.PatientID), "value": b.PatientID}},
		"provision": map[string]any{"type": "permit", "provision": []any{deny}},
	}
	if !b.ValidFrom.IsZero() {
		c["dateTime"] = b.ValidFrom.UTC().Format(time.RFC3339)
		c["provision"].(map[string]any)["period"] = map[string]any{"start": b.ValidFrom.UTC().Format(time.RFC3339)}
	}
	if !b.ValidTo.IsZero() {
		c["provision"].(map[string]any)["period"].(map[string]any)["end"] = b.ValidTo.UTC().Format(time.RFC3339)
	}
	return c
}

// consentPatient is the number a Consent request is about: the
// patient.identifier / patient parameter, else the citizen's own.
func consentPatient(r *http.Request, p *trust.Principal) string {
	for _, name := range []string{"patient.identifier", "patient"} {
		if v := r.URL.Query().Get(name); v != "" {
			if _, val, ok := strings.Cut(v, "|"); ok {
				return val
			}
			return v
		}
	}
	return p.Subject
}

// consentError answers an error of the Guard's consent methods.
func (m *Endpoints) consentError(w http.ResponseWriter, r *http.Request, err error) {
	var d *access.Denied
	switch {
	case errors.Is(err, access.ErrNotFound), errors.As(err, &d) && d.Conceal:
		fhir.WriteError(w, fhir.NotFound("no such consent"))
	case errors.Is(err, access.ErrBlocksNotServed):
		fhir.WriteError(w, fhir.NewError(http.StatusNotImplemented, fhir.IssueNotSupported, "", "consents are not served here"))
	default:
		m.guardError(w, r, err)
	}
}

// consentSearch is GET /fhir/R4/Consent.
func (m *Endpoints) consentSearch(w http.ResponseWriter, r *http.Request) {
	p, ok := m.authenticate(w, r, audit.TxConsent, audit.ActionQuery, scopesConsent)
	if !ok {
		return
	}
	status := r.URL.Query().Get("status")
	if status == "" {
		status = "active"
	}
	patient := consentPatient(r, p)
	bs, err := m.Guard.Consents(r.Context(), m.call(r, p, audit.TxConsent), patient)
	var d *access.Denied
	if errors.As(err, &d) && d.Conceal {
		bs, err = nil, nil // another number: as a patient without blocks
	}
	if err != nil {
		m.consentError(w, r, err)
		return
	}
	now := time.Now()
	b := fhir.Bundle{Base: fhir.Base{ResourceType: "Bundle"}, Type: "searchset"}
	var entries []any
	for _, bl := range bs {
		c := m.consentFrom(bl, now)
		if c["status"] != status {
			continue
		}
		entries = append(entries, map[string]any{"fullUrl": m.BaseURL + "/fhir/R4/Consent/" + bl.ID, "resource": c, "search": map[string]any{"mode": "match"}})
	}
	total := len(entries)
	out := map[string]any{"resourceType": b.ResourceType, "type": b.Type, "total": total}
	if len(entries) > 0 {
		out["entry"] = entries
	}
	fhir.Write(w, http.StatusOK, out, false)
}

// consentRead is GET /fhir/R4/Consent/{id}.
func (m *Endpoints) consentRead(w http.ResponseWriter, r *http.Request) {
	p, ok := m.authenticate(w, r, audit.TxConsent, audit.ActionQuery, scopesConsent)
	if !ok {
		return
	}
	bs, err := m.Guard.Consents(r.Context(), m.call(r, p, audit.TxConsent), p.Subject)
	if err != nil {
		m.consentError(w, r, err)
		return
	}
	now := time.Now()
	for _, b := range bs {
		if b.ID == r.PathValue("id") {
			c := m.consentFrom(b, now)
			if c["status"] != "active" {
				fhir.WriteError(w, fhir.NewError(http.StatusGone, fhir.IssueDeleted, "", "the consent was revoked"))
				return
			}
			fhir.Write(w, http.StatusOK, c, false)
			return
		}
	}
	fhir.WriteError(w, fhir.NotFound("no such consent"))
}

// consentCreate is POST /fhir/R4/Consent.
func (m *Endpoints) consentCreate(w http.ResponseWriter, r *http.Request) {
	p, ok := m.authenticate(w, r, audit.TxConsent, audit.ActionCreate, scopesConsent)
	if !ok {
		return
	}
	body, ok := readBody(w, r, maxConsentBody, "Consent")
	if !ok {
		return
	}
	var in consentIn
	if err := json.Unmarshal(body, &in); err != nil {
		fhir.WriteError(w, fhir.NewError(http.StatusBadRequest, fhir.IssueStructure, "Consent", "the body must be a JSON FHIR Consent"))
		return
	}
	docID, b, e := blockOf(&in)
	if e != nil {
		fhir.WriteError(w, e)
		return
	}
	b.PatientID = p.Subject
	if docID != "" {
		uid, err := m.Guard.DocumentForConsent(r.Context(), p.Subject, "urn:uuid:"+docID)
		if errors.Is(err, access.ErrNotFound) {
			fhir.WriteError(w, unenforceable("DocumentReference/%s is not one of your documents", docID))
			return
		}
		if err != nil {
			m.consentError(w, r, err)
			return
		}
		b.DocumentUniqueIDs = []string{uid}
	}
	b, err := m.Guard.AddConsent(r.Context(), m.call(r, p, audit.TxConsent), b)
	if err != nil {
		m.consentError(w, r, err)
		return
	}
	m.Metrics.Transaction("CONSENT", "Success")
	w.Header().Set("Location", m.BaseURL+"/fhir/R4/Consent/"+b.ID+"/_history/1")
	w.Header().Set("ETag", `W/"1"`)
	fhir.Write(w, http.StatusCreated, m.consentFrom(b, time.Now()), false)
}

// consentDelete is DELETE /fhir/R4/Consent/{id}.
func (m *Endpoints) consentDelete(w http.ResponseWriter, r *http.Request) {
	p, ok := m.authenticate(w, r, audit.TxConsent, audit.ActionUpdate, scopesConsent)
	if !ok {
		return
	}
	if err := m.Guard.RevokeConsent(r.Context(), m.call(r, p, audit.TxConsent), p.Subject, r.PathValue("id")); err != nil {
		m.consentError(w, r, err)
		return
	}
	m.Metrics.Transaction("CONSENT", "Success")
	w.WriteHeader(http.StatusNoContent)
}
