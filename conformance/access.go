package conformance

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"time"

	"pjd/trust"
	"pjd/trust/devissuer"
	"pjd/trust/policy"
)

// Two access properties checked against any target:
//
//   - a HelseID token that names no person (a client-credentials token) is
//     refused on every patient-data path, whatever scopes it carries, and
//     the refusal is audited;
//   - a patient's block (sperring) is not revealed: a blocked search is
//     answered exactly as a search for a patient without documents.

func accessScenarios() []Scenario {
	var out []Scenario
	for _, ep := range []struct{ name, tx, path string }{
		{"ITI-67", tx67, "/fhir/R4/DocumentReference"},
		{"ITI-66", tx66, "/fhir/R4/List"},
		{"ITI-68", tx68, "/mhd/document"},
	} {
		for _, shape := range []string{"read-scopes", "citizen-scope"} {
			out = append(out, Scenario{Name: "refusal/" + ep.name + "-personless-token-" + shape, Transaction: txSecurity,
				Run: personlessRefused(ep.tx, ep.path, shape)})
		}
	}
	for _, p := range blockPaths {
		out = append(out, Scenario{Name: p.tx + "/patient-block-concealed-" + p.name, Transaction: p.tx, Run: blockConcealed(p)})
	}
	return out
}

// personless is a client-credentials-shaped token: the fastlege persona's
// client and organisation, no person, and scopes by shape.
func personless(shape string) devissuer.Persona {
	p := Persona("fastlege")
	p.ID, p.Kind, p.Description = "client-credentials", trust.ClientCredentials, "a client-credentials token (no person)"
	p.PID, p.Name, p.HPRNumber, p.Authorization = "", "", "", trust.Coding{}
	switch shape {
	case "citizen-scope":
		p.Scopes = []string{trust.ScopeCitizen}
	default:
		p.Scopes = []string{trust.ScopeReadDocumentReferences, trust.ScopeReadDocumentReferencesKJ, trust.ScopeReadDocument}
	}
	return p
}

func personlessRefused(tx, path, shape string) func(context.Context, *T) error {
	return func(ctx context.Context, t *T) error {
		p := t.NewPatient()
		entries, bodies, err := t.seed(ctx, p, 1, nil)
		if err != nil {
			return err
		}
		tok, err := t.Mint(ctx, personless(shape), "", time.Now())
		if err != nil {
			return err
		}
		q := patientQuery(p, nil)
		if tx == tx68 {
			q = url.Values{"repositoryUniqueId": {entries[0].RepositoryUniqueID}, "uniqueId": {entries[0].UniqueID}}
		}
		a, err := t.MHDGet(ctx, t.As(tok), path, q, p)
		if err != nil {
			return err
		}
		reqID := t.LastRequestID()
		what := fmt.Sprintf("%s with a token naming no person (%s)", tx, shape)
		if err := wantRefused(what, a, []string{entries[0].UniqueID, string(bodies[0])}, http.StatusForbidden); err != nil {
			return err
		}
		if www := a.Header.Get("WWW-Authenticate"); !strings.Contains(www, `error="insufficient_user_authentication"`) {
			return fmt.Errorf("%s: WWW-Authenticate %q, want error insufficient_user_authentication", what, www)
		}
		return t.refusalRecord(ctx, what, tx, reqID)
	}
}

// blockPath is one search a block must not show in.
type blockPath struct {
	name, tx string
	search   func(ctx context.Context, t *T, c *http.Client, patient string) (Answer, error)
}

var blockPaths = []blockPath{
	{"get", tx67, func(ctx context.Context, t *T, c *http.Client, p string) (Answer, error) {
		return t.SearchDocuments(ctx, c, p, nil)
	}},
	{"post-search", tx67, func(ctx context.Context, t *T, c *http.Client, p string) (Answer, error) {
		return t.mhdPostSearch(ctx, c, "/fhir/R4/DocumentReference/_search", patientQuery(p, url.Values{"status": {"current"}}), p)
	}},
	{"get", tx66, func(ctx context.Context, t *T, c *http.Client, p string) (Answer, error) {
		return t.searchLists(ctx, c, p, nil)
	}},
	{"post-search", tx66, func(ctx context.Context, t *T, c *http.Client, p string) (Answer, error) {
		return t.mhdPostSearch(ctx, c, "/fhir/R4/List/_search", patientQuery(p, nil), p)
	}},
}

// mhdPostSearch sends a FHIR search as POST path (a form body).
func (t *T) mhdPostSearch(ctx context.Context, c *http.Client, path string, form url.Values, patient string) (Answer, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, t.URL(path), strings.NewReader(form.Encode()))
	if err != nil {
		return Answer{}, err
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	for k, vs := range patientHeader(patient) {
		req.Header[k] = vs
	}
	resp, body, err := t.do(c, req)
	if err != nil {
		return Answer{}, err
	}
	return Answer{Status: resp.StatusCode, Header: resp.Header, Body: body}, nil
}

// blockedPatient seeds a new patient with two documents and blocks the
// fastlege from them, and returns that patient and a new one without
// documents (to compare answers with).
func (t *T) blockedPatient(ctx context.Context) (blocked, empty string, err error) {
	if t.env.target.AddBlock == nil {
		return "", "", Skipf("needs a way to add a patient's block (in-process, or pjd conformance --blocks-db)")
	}
	blocked = t.NewPatient()
	if _, _, err := t.seed(ctx, blocked, 2, nil); err != nil {
		return "", "", err
	}
	if err := t.env.target.AddBlock(ctx, policy.Block{PatientID: blocked, PractitionerID: fastlegePID}); err != nil {
		return "", "", fmt.Errorf("adding the block: %w", err)
	}
	return blocked, t.NewPatient(), nil
}

// blockConcealed blocks the fastlege from a patient with documents and
// compares the fastlege's search for that patient with the same search
// for a patient without documents: status, the headers that carry
// meaning, and the body once patient numbers, ids and times are
// normalised must be the same. The refusal must be on record, with the
// block as its rule.
func blockConcealed(bp blockPath) func(context.Context, *T) error {
	return func(ctx context.Context, t *T) error {
		blocked, empty, err := t.blockedPatient(ctx)
		if err != nil {
			return err
		}
		ask := func(p string) (Answer, string, error) {
			c, err := t.as(ctx, "fastlege", p)
			if err != nil {
				return Answer{}, "", err
			}
			a, err := bp.search(ctx, t, c, p)
			return a, t.LastRequestID(), err
		}
		got, reqID, err := ask(blocked)
		if err != nil {
			return err
		}
		want, _, err := ask(empty)
		if err != nil {
			return err
		}
		what := fmt.Sprintf("%s (%s) for a blocked patient", bp.tx, bp.name)
		if got.Status != http.StatusOK {
			return fmt.Errorf("%s: %v, want 200 as for a patient without documents", what, got)
		}
		for _, h := range []string{"Content-Type", "Nhn-Nors-Count", "Nhn-Emergency-Access", "Cache-Control"} {
			if got.Header.Get(h) != want.Header.Get(h) {
				return fmt.Errorf("%s: header %s %q, a patient without documents gets %q", what, h, got.Header.Get(h), want.Header.Get(h))
			}
		}
		if g, w := normaliseAnswer(got.Body, blocked), normaliseAnswer(want.Body, empty); got.Status != want.Status || g != w {
			return fmt.Errorf("%s is told apart from one without documents:\nblocked: %d %s\nwithout documents: %d %s",
				what, got.Status, snippet([]byte(g)), want.Status, snippet([]byte(w)))
		}
		ev, err := t.RequestAudit(ctx, bp.tx, reqID)
		if err != nil {
			return err
		}
		return wantAudit(what+" (its record)", ev, AuditWant{Outcome: AuditDeny, Rule: policy.RulePatientBlock})
	}
}

var (
	reUUID = regexp.MustCompile(`(?i)[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}`)
	reTime = regexp.MustCompile(`\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?(Z|[+-]\d\d:\d\d)`)
	rePage = regexp.MustCompile(`_page=[A-Za-z0-9_%.-]+`)
)

// normaliseAnswer replaces what differs between two answers for reasons
// other than what they say: the patient's number, generated ids, times,
// page tokens.
func normaliseAnswer(b []byte, patient string) string {
	s := strings.ReplaceAll(string(b), patient, "PATIENT")
	s = reUUID.ReplaceAllString(s, "UUID")
	s = reTime.ReplaceAllString(s, "TIME")
	return rePage.ReplaceAllString(s, "_page=PAGE")
}
