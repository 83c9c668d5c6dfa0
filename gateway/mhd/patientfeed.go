package mhd

import (
	"encoding/json"
	"errors"
	"net/http"
	"net/url"
	"strings"

	"pjd/gateway/access"
	"pjd/gateway/audit"
	"pjd/gateway/fhir"
	"pjd/registry"
	"pjd/registry/oid"
	"pjd/trust"
)

// ITI-104 Patient Identity Feed FHIR (PIXm), as pjd profiles it (research
// digest §9):
//
//   - PUT /fhir/R4/Patient?identifier=urn:oid:<AA>|<number>, a FHIR
//     conditional update, is the PIXm-conformant form. A Patient carrying
//     link {type: replaced-by, other.identifier: the new number} records
//     that the identifier in the URL is replaced by it (a D-nummer by a
//     fødselsnummer: two identifier domains, which PIXm's "merge within
//     one domain" does not cover — pjd's profile decision, as FHIR's
//     replaced-by means "use the other one in lieu of this").
//   - The undo, which neither IHE nor FHIR defines: the same PUT with no
//     replaced-by link and active not false ends the identifier's link.
//   - POST /fhir/R4 with a transaction Bundle holding one such PUT entry
//     (the issue's wording) does the same and answers a
//     transaction-response Bundle.
//   - DELETE /fhir/R4/Patient (PIXm's Remove Patient option) is not
//     supported: 400 not-supported, as PIXm says.
//
// pjd keeps no Patient resources: the answer is 200 with the Patient as
// received. Only a system granted trust.ScopePatientIdentityFeed may send
// it (the Guard decides and audits).

// maxPatientBody bounds an ITI-104 request.
const maxPatientBody = 64 << 10

var scopesFeed = []string{trust.ScopePatientIdentityFeed}

// feedPatient is what ITI-104 reads of a Patient.
type feedPatient struct {
	ResourceType string            `json:"resourceType"`
	Active       *bool             `json:"active,omitempty"`
	Identifier   []fhir.Identifier `json:"identifier,omitempty"`
	Link         []struct {
		Type  string         `json:"type"`
		Other fhir.Reference `json:"other"`
	} `json:"link,omitempty"`
}

// feedRequest is one decoded ITI-104 message.
type feedRequest struct {
	subject string // CX of the identifier in the URL
	replace string // CX of the replaced-by identifier; "" = unlink
	raw     json.RawMessage
}

// feedCX reads a FHIR identifier of a Norwegian national identity
// number (F-, D- or H-nummer) as a CX.
func feedCX(system, value, what string) (string, *fhir.Error) {
	aa := strings.TrimPrefix(system, "urn:oid:")
	switch aa {
	case oid.FNR, oid.DNR, oid.HNR:
	default:
		return "", fhir.NewError(http.StatusBadRequest, fhir.IssueValue, what,
			"%s: the identifier system must be urn:oid:%s (fødselsnummer), urn:oid:%s (D-nummer) or urn:oid:%s (H-nummer)", what, oid.FNR, oid.DNR, oid.HNR)
	}
	cx, err := registry.CanonicalPatientID(registry.NewPatientCX(value, aa).String())
	if err != nil {
		return "", fhir.NewError(http.StatusBadRequest, fhir.IssueValue, what, "%s: not a valid patient identifier", what)
	}
	return cx, nil
}

// parseFeed decodes the conditional-update URL (its identifier
// parameter) and the Patient body.
func parseFeed(query url.Values, body []byte) (*feedRequest, *fhir.Error) {
	ids := query["identifier"]
	if len(ids) != 1 {
		return nil, fhir.NewError(http.StatusBadRequest, fhir.IssueRequired, "identifier",
			"ITI-104 is a conditional update: PUT Patient?identifier=urn:oid:<assigning authority>|<number> (exactly one)")
	}
	sys, val, ok := strings.Cut(ids[0], "|")
	if !ok {
		return nil, fhir.NewError(http.StatusBadRequest, fhir.IssueValue, "identifier", "identifier must be system|value")
	}
	subject, e := feedCX(sys, val, "identifier")
	if e != nil {
		return nil, e
	}
	var p feedPatient
	if err := json.Unmarshal(body, &p); err != nil || p.ResourceType != "Patient" {
		return nil, fhir.NewError(http.StatusBadRequest, fhir.IssueStructure, "Patient", "the body must be a JSON FHIR Patient")
	}
	found := false
	for _, id := range p.Identifier {
		if cx, e := feedCX(id.System, id.Value, "Patient.identifier"); e == nil && cx == subject {
			found = true
		}
	}
	if !found {
		return nil, fhir.NewError(http.StatusBadRequest, fhir.IssueInvalid, "Patient.identifier",
			"the Patient must carry the identifier the URL names")
	}
	fr := &feedRequest{subject: subject, raw: body}
	for _, l := range p.Link {
		if l.Type != "replaced-by" {
			continue
		}
		if fr.replace != "" {
			return nil, fhir.NewError(http.StatusBadRequest, fhir.IssueInvalid, "Patient.link", "at most one replaced-by link")
		}
		if l.Other.Identifier == nil {
			return nil, fhir.NewError(http.StatusBadRequest, fhir.IssueRequired, "Patient.link.other.identifier",
				"a replaced-by link names the surviving identifier (link.other.identifier), not a reference")
		}
		to, e := feedCX(l.Other.Identifier.System, l.Other.Identifier.Value, "Patient.link.other.identifier")
		if e != nil {
			return nil, e
		}
		fr.replace = to
	}
	if fr.replace == "" && p.Active != nil && !*p.Active {
		return nil, fhir.NewError(http.StatusBadRequest, fhir.IssueNotSupported, "Patient.active",
			"an inactive Patient without a replaced-by link says nothing pjd can act on")
	}
	return fr, nil
}

// applyFeed hands one decoded message to the Guard and returns the HTTP
// status of its outcome, or an error for the caller to answer.
func (m *Endpoints) applyFeed(r *http.Request, p *trust.Principal, fr *feedRequest) error {
	c := m.call(r, p, audit.TxITI104)
	if fr.replace != "" {
		_, err := m.Guard.LinkPatient(r.Context(), c, fr.subject, fr.replace, "ITI-104 Patient Identity Feed")
		return err
	}
	_, err := m.Guard.UnlinkPatient(r.Context(), c, fr.subject, "ITI-104 Patient Identity Feed: the identifier is no longer replaced")
	if errors.Is(err, registry.ErrNotFound) {
		return nil // nothing linked: nothing to undo
	}
	return err
}

// feedError answers an error of applyFeed.
func (m *Endpoints) feedError(w http.ResponseWriter, r *http.Request, err error) {
	switch {
	case errors.Is(err, registry.ErrInvalidPatientID):
		fhir.WriteError(w, fhir.NewError(http.StatusBadRequest, fhir.IssueValue, "Patient", "%s", strings.TrimPrefix(err.Error(), "registry: ")))
	case errors.Is(err, registry.ErrAlreadyLinked), errors.Is(err, registry.ErrLinkCycle):
		fhir.WriteError(w, fhir.NewError(http.StatusUnprocessableEntity, fhir.IssueProcessing, "Patient.link", "%s", strings.TrimPrefix(err.Error(), "registry: ")))
	default:
		var d *access.Denied
		if errors.As(err, &d) {
			fhir.WriteError(w, fhir.Forbidden("access denied by policy (%s)", d.Rule))
			return
		}
		m.guardError(w, r, err)
	}
}

// patientFeed is PUT /fhir/R4/Patient?identifier=… (ITI-104).
func (m *Endpoints) patientFeed(w http.ResponseWriter, r *http.Request) {
	p, ok := m.authenticate(w, r, audit.TxITI104, audit.ActionUpdate, scopesFeed)
	if !ok {
		return
	}
	body, ok := readBody(w, r, maxPatientBody, "Patient")
	if !ok {
		return
	}
	if fr, ok := m.feed(w, r, p, r.URL.Query(), body); ok {
		fhir.WriteBody(w, http.StatusOK, fr.raw)
	}
}

// feed parses and applies one ITI-104 change (the conditional update's
// query q and its Patient), answering any error itself; ok when the
// change was made.
func (m *Endpoints) feed(w http.ResponseWriter, r *http.Request, p *trust.Principal, q url.Values, patient []byte) (*feedRequest, bool) {
	fr, e := parseFeed(q, patient)
	if e != nil {
		fhir.WriteError(w, e)
		return nil, false
	}
	if err := m.applyFeed(r, p, fr); err != nil {
		m.feedError(w, r, err)
		return nil, false
	}
	m.Metrics.Transaction("ITI-104", "Success")
	return fr, true
}

// patientRemove is DELETE /fhir/R4/Patient: PIXm's Remove Patient option,
// which pjd does not support (ITI-104 §2:3.104.4.3.3).
func (m *Endpoints) patientRemove(w http.ResponseWriter, r *http.Request) {
	if _, ok := m.authenticate(w, r, audit.TxITI104, audit.ActionDelete, scopesFeed); !ok {
		return
	}
	fhir.WriteError(w, fhir.NewError(http.StatusBadRequest, fhir.IssueNotSupported, "", "Remove Patient is not supported"))
}

// feedBundle is the transaction-Bundle form of ITI-104: POST /fhir/R4
// with one entry {resource: Patient, request: {method: PUT, url:
// Patient?identifier=…}}. It answers a transaction-response Bundle.
func (m *Endpoints) feedBundle(w http.ResponseWriter, r *http.Request, p *trust.Principal) {
	body, ok := readBody(w, r, maxPatientBody, "Bundle")
	if !ok {
		return
	}
	var b struct {
		ResourceType string `json:"resourceType"`
		Type         string `json:"type"`
		Entry        []struct {
			Resource json.RawMessage `json:"resource"`
			Request  struct {
				Method string `json:"method"`
				URL    string `json:"url"`
			} `json:"request"`
		} `json:"entry"`
	}
	if err := json.Unmarshal(body, &b); err != nil || b.ResourceType != "Bundle" || b.Type != "transaction" {
		fhir.WriteError(w, fhir.NewError(http.StatusBadRequest, fhir.IssueStructure, "Bundle", "the body must be a JSON FHIR transaction Bundle"))
		return
	}
	if len(b.Entry) != 1 {
		fhir.WriteError(w, fhir.NewError(http.StatusBadRequest, fhir.IssueNotSupported, "Bundle.entry",
			"an ITI-104 transaction carries exactly one Patient (send each identity change on its own)"))
		return
	}
	en := b.Entry[0]
	path, rawQuery, _ := strings.Cut(en.Request.URL, "?")
	if en.Request.Method != http.MethodPut || path != "Patient" {
		fhir.WriteError(w, fhir.NewError(http.StatusBadRequest, fhir.IssueNotSupported, "Bundle.entry.request",
			"the entry must be a conditional update: PUT Patient?identifier=…"))
		return
	}
	q, err := url.ParseQuery(rawQuery)
	if err != nil {
		fhir.WriteError(w, fhir.NewError(http.StatusBadRequest, fhir.IssueValue, "Bundle.entry.request.url", "the entry's URL is malformed"))
		return
	}
	if _, ok := m.feed(w, r, p, q, en.Resource); !ok {
		return
	}
	fhir.Write(w, http.StatusOK, map[string]any{
		"resourceType": "Bundle", "type": "transaction-response",
		"entry": []any{map[string]any{"response": map[string]any{"status": "200 OK"}}},
	}, false)
}
