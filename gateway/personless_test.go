package gateway_test

import (
	"encoding/json"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"pjd/gateway/audit"
	"pjd/gateway/ui"
	"pjd/trust"
	"pjd/trust/devissuer"
)

// mountUI mounts the embeddable UI over the harness's guard, verifier and
// audit log, as cmd/pjd does.
func (h *harness) mountUI(log *slog.Logger) {
	backend := &ui.GuardBackend{Guard: h.guard, Tokens: h.verifier, Policy: h.pol, Audit: h.audit,
		AuditLog: h.auditLog, AuditKey: h.auditKey, PublicURL: h.base}
	u, err := ui.New(ui.Config{Backend: backend, RecordRefusal: backend.RecordUIRefusal, BaseURL: h.base,
		Secure: true, Sessions: ui.NewMemorySessionStore(nil), Logger: log})
	if err != nil {
		h.t.Fatal(err)
	}
	m := http.NewServeMux()
	u.Routes(m)
	h.server.Handle("/ui/", m)
}

// clientCredentials is a persona whose token names no person: what a
// HelseID client-credentials grant gives a system.
func clientCredentials(scopes ...string) devissuer.Persona {
	p := mustPersona("fastlege")
	p.ID, p.Kind, p.Description = "cc", trust.ClientCredentials, "client credentials"
	p.PID, p.Name, p.HPRNumber, p.Authorization = "", "", "", trust.Coding{}
	p.Scopes = scopes
	return p
}

// A token without a person (no pid) is refused on every endpoint that
// serves patient data, whatever scope it carries: 403 with RFC 9470's
// insufficient_user_authentication (insufficient_scope when it lacks the
// endpoint's scope altogether), an OperationOutcome on MHD and an OAuth
// error on the UI launch, and — where the endpoint audits — a refusal
// record that says why. Before, such a token became a System principal,
// which the Guard let through: every patient's documents, NORS and
// blocked ones included.
func TestPersonlessTokensAreRefused(t *testing.T) {
	h := newHarness(t, options{ui: true})
	h.seed()
	readAll := []string{trust.ScopeReadDocumentReferences, trust.ScopeReadDocumentReferencesKJ, trust.ScopeReadDocument, trust.AttestationType}
	shapes := []struct {
		name   string
		scopes []string
	}{
		{"client credentials with the read scopes", readAll},
		{"client credentials with only nhn:phr/citizen", []string{trust.ScopeCitizen}},
		{"client credentials with the audit scope", []string{trust.ScopeAudit}},
		{"client credentials with every scope", append(append([]string{}, readAll...), trust.ScopeCitizen, trust.ScopeAudit, trust.ScopeRegister)},
		{"client credentials with the register scope", []string{trust.ScopeRegister}},
	}
	doc := "/mhd/document?" + url.Values{"repositoryUniqueId": {"2.999.1.2.3"}, "uniqueId": {uidNORS}}.Encode()
	doc = strings.Replace(doc, "2.999.1.2.3", h.guard.RepositoryUniqueID(), 1)
	endpoints := []struct {
		name    string
		method  string
		target  string
		body    string
		ctype   string
		scopes  []string // the endpoint's scopes
		audited bool
	}{
		{"ITI-67 GET", http.MethodGet, searchURL(patientP), "", "", []string{trust.ScopeReadDocumentReferences, trust.ScopeReadDocumentReferencesKJ, trust.ScopeCitizen}, true},
		{"ITI-67 POST _search", http.MethodPost, "/fhir/R4/DocumentReference/_search", "patient.identifier=urn:oid:2.16.578.1.12.4.1.4.1|" + patientP,
			"application/x-www-form-urlencoded", []string{trust.ScopeReadDocumentReferences, trust.ScopeReadDocumentReferencesKJ, trust.ScopeCitizen}, true},
		{"ITI-66 List", http.MethodGet, "/fhir/R4/List?patient.identifier=urn:oid:2.16.578.1.12.4.1.4.1|" + patientP, "", "",
			[]string{trust.ScopeReadDocumentReferences, trust.ScopeReadDocumentReferencesKJ, trust.ScopeCitizen}, true},
		{"ITI-68", http.MethodGet, doc, "", "", []string{trust.ScopeReadDocument, trust.ScopeCitizen}, true},
		{"AuditEvent", http.MethodGet, "/fhir/R4/AuditEvent?patient=" + patientP, "", "", []string{trust.ScopeAudit, trust.ScopeCitizen}, true},
		{"UI launch", http.MethodPost, "/ui/launch", "patient=" + patientP, "application/x-www-form-urlencoded",
			[]string{trust.ScopeReadDocumentReferences, trust.ScopeReadDocumentReferencesKJ, trust.ScopeCitizen, trust.ScopeAudit}, true},
	}
	for _, shape := range shapes {
		for _, ep := range endpoints {
			t.Run(shape.name+"/"+ep.name, func(t *testing.T) {
				holds := false
				for _, s := range ep.scopes {
					holds = holds || contains(shape.scopes, s)
				}
				wantErr := "insufficient_user_authentication"
				if !holds {
					wantErr = "insufficient_scope"
				}
				tok := h.tokenAs(clientCredentials(shape.scopes...), "")
				hdr := http.Header{}
				if ep.ctype != "" {
					hdr.Set("Content-Type", ep.ctype)
				}
				var body *strings.Reader
				if ep.body != "" {
					body = strings.NewReader(ep.body)
				}
				seq := h.head()
				var resp *http.Response
				if body != nil {
					resp = h.do(tok, ep.method, ep.target, body, hdr)
				} else {
					resp = h.do(tok, ep.method, ep.target, nil, hdr)
				}
				b := readBody(t, resp)
				if resp.StatusCode != http.StatusForbidden {
					t.Fatalf("status %d, want 403: %s", resp.StatusCode, b)
				}
				if www := resp.Header.Get("WWW-Authenticate"); !strings.Contains(www, `error="`+wantErr+`"`) {
					t.Errorf("WWW-Authenticate %q, want error %s", www, wantErr)
				}
				if strings.Contains(string(b), patientP) || strings.Contains(string(b), uidNORS) {
					t.Errorf("the refusal names the patient or a document: %s", b)
				}
				switch {
				case strings.HasPrefix(ep.target, "/ui/"):
					var oe struct {
						Error string `json:"error"`
					}
					if err := json.Unmarshal(b, &oe); err != nil || oe.Error != wantErr {
						t.Errorf("OAuth error %q (%v), want %s: %s", oe.Error, err, wantErr, b)
					}
				default:
					var oo struct {
						ResourceType string `json:"resourceType"`
						Issue        []struct {
							Code string `json:"code"`
						} `json:"issue"`
					}
					if err := json.Unmarshal(b, &oo); err != nil || oo.ResourceType != "OperationOutcome" || len(oo.Issue) == 0 {
						t.Errorf("not an OperationOutcome: %s", b)
					}
				}
				if !ep.audited {
					return
				}
				recs := h.since(seq)
				if len(recs) != 1 {
					t.Fatalf("%d audit records, want the refusal: %+v", len(recs), recs)
				}
				r := recs[0]
				if r.Outcome != audit.OutcomeDeny || r.PatientID != "" && r.PatientID != patientP || len(r.Documents) > 0 {
					t.Errorf("record %+v", r)
				}
				if holds && !strings.Contains(r.Reason, "names no person") {
					t.Errorf("record reason %q does not say the token names no person", r.Reason)
				}
			})
		}
	}
}

func contains(ss []string, s string) bool {
	for _, x := range ss {
		if x == s {
			return true
		}
	}
	return false
}
