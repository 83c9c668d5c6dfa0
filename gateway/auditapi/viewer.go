package auditapi

import (
	"net/http"
	"time"

	"pjd/gateway/audit"
	"pjd/gateway/authn"
	"pjd/trust"
	"pjd/trust/policy"
)

// viewerError is a refusal of the audit review API with its HTTP status.
type viewerError struct {
	status int
	msg    string
	www    string
}

func (e *viewerError) Error() string           { return e.msg }
func (e *viewerError) HTTPStatus() int         { return e.status }
func (e *viewerError) WWWAuthenticate() string { return e.www }
func (e *viewerError) AuditReason() string     { return e.msg }

// AuditViewer authenticates callers of GET /fhir/R4/AuditEvent: a
// compliance officer (the audit scope) or a citizen (the citizen scope,
// their own log only), each permitted by policy.
func AuditViewer(v authn.TokenVerifier, pol *policy.Policy, publicURL string) func(r *http.Request) (audit.Viewer, error) {
	scopes := []string{trust.ScopeAudit, trust.ScopeCitizen}
	return func(r *http.Request) (audit.Viewer, error) {
		p, err := v.VerifyRequest(r.Context(), r, trust.Requirement{Scopes: scopes, HTU: publicURL + r.URL.Path})
		if err != nil {
			return audit.Viewer{}, &viewerError{status: trust.HTTPStatus(err), msg: trust.Description(err), www: trust.WWWAuthenticate(err, scopes[0])}
		}
		req := policy.Request{Principal: p, Action: policy.ActionAudit, Now: time.Now()}
		if p.Kind == trust.Citizen {
			req.PatientIDs = []string{p.Subject}
		}
		if d := pol.Decide(req); !d.Permitted() {
			return audit.Viewer{}, &viewerError{status: http.StatusForbidden, msg: "access denied by policy (" + d.Rule + ")"}
		}
		vw := audit.Viewer{PID: p.Subject, Name: p.Name, HPR: p.HPRNumber, Credential: string(p.Credential),
			Organisation: audit.Ident{ID: p.LegalEntity.ID, System: p.LegalEntity.System, Name: p.LegalEntity.Name},
			Client:       audit.Client{ID: p.Client.ID, Name: p.Client.Name, OrgNr: p.Client.OrgNrParent}}
		switch p.Kind {
		case trust.Compliance:
			vw.Kind = audit.ViewerCompliance
		case trust.Citizen:
			vw.Kind = audit.ViewerCitizen
		default:
			return audit.Viewer{}, &viewerError{status: http.StatusForbidden, msg: "access denied by policy (audit-not-permitted)"}
		}
		return vw, nil
	}
}
