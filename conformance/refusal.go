package conformance

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/beevik/etree"

	"pjd/gateway/soap"
	"pjd/gateway/xdsclient"
	"pjd/registry"
)

// No data path answers without a permit and an audit record: every data
// endpoint is called with no credential, a bad credential and a principal
// policy refuses; each answer must carry no data, and each refusal must
// be in the audit log (found by the request's X-Request-Id).

const txSecurity = "SECURITY"

type credKind string

const (
	credNone    credKind = "no-credential"
	credBad     credKind = "bad-credential"
	credRefused credKind = "refused-principal"
)

func refusalScenarios() []Scenario {
	var out []Scenario
	add := func(name string, run func(context.Context, *T) error) {
		out = append(out, Scenario{Name: "refusal/" + name, Transaction: txSecurity, Run: run})
	}
	for _, ep := range []struct {
		name, path, tx string
		query          func(t *T, p string, e *registry.DocumentEntry) (string, url.Values)
	}{
		{"ITI-67", "/fhir/R4/DocumentReference", tx67, func(_ *T, p string, _ *registry.DocumentEntry) (string, url.Values) {
			return "/fhir/R4/DocumentReference", patientQuery(p, nil)
		}},
		{"ITI-66", "/fhir/R4/List", tx66, func(_ *T, p string, _ *registry.DocumentEntry) (string, url.Values) {
			return "/fhir/R4/List", patientQuery(p, nil)
		}},
		{"ITI-68", "/mhd/document", tx68, func(_ *T, _ string, e *registry.DocumentEntry) (string, url.Values) {
			return "/mhd/document", url.Values{"repositoryUniqueId": {e.RepositoryUniqueID}, "uniqueId": {e.UniqueID}}
		}},
	} {
		for _, k := range []credKind{credNone, credBad, credRefused} {
			add(ep.name+"-"+string(k), mhdRefusal(ep.tx, k, ep.query))
		}
	}
	for _, k := range []credKind{credNone, credBad, credRefused} {
		add("AuditEvent-"+string(k), auditRefusal(k))
	}
	for _, tx := range []string{tx18, tx43} {
		for _, k := range []credKind{credNone, credBad} {
			add(tx+"-"+string(k), soapRefusal(tx, k))
		}
	}
	for _, tx := range []string{tx38, tx39} {
		for _, k := range []credKind{credNone, credBad} {
			add(tx+"-"+string(k), xcaRefusal(tx, k))
		}
	}
	for _, page := range []struct{ name, path, tx string }{
		{"UI-list-no-session", "/ui/", "UI-LIST"},
		{"UI-view-no-session", "/ui/document", "UI-VIEW"},
		{"UI-content-no-session", "/ui/content", "UI-VIEW"},
	} {
		add(page.name, uiRefusal(page.path, page.tx))
	}
	return out
}

// credentialed returns the client for kind k (a dev token of persona for
// credRefused).
func (t *T) credentialed(ctx context.Context, k credKind, persona, patient string) (*http.Client, error) {
	switch k {
	case credNone:
		return t.HTTP, nil
	case credBad:
		return t.WithHeader("Authorization", "DPoP eyJhbGciOiJub25lIn0.eyJzdWIiOiJmb3JnZWQifQ."), nil
	}
	return t.as(ctx, persona, patient)
}

// refusalRecord checks that the request reqID left exactly one audit
// record of transaction tx, a refusal.
func (t *T) refusalRecord(ctx context.Context, what, tx, reqID string) error {
	ev, err := t.RequestAudit(ctx, tx, reqID)
	if err != nil {
		return err
	}
	if len(ev) != 1 {
		return fmt.Errorf("%s: %d audit records of the refusal (request %s), want exactly 1", what, len(ev), reqID)
	}
	if ev[0].Outcome == AuditPermit {
		return fmt.Errorf("%s: the refusal was recorded as a permit (%s)", what, ev[0].OutcomeDesc)
	}
	return nil
}

func mhdRefusal(tx string, k credKind, query func(*T, string, *registry.DocumentEntry) (string, url.Values)) func(context.Context, *T) error {
	return func(ctx context.Context, t *T) error {
		if !t.env.devIssuer && k != credNone && k != credBad {
			return Skipf("needs the dev issuer (a pjd serve --dev target, or pjd dev-issuer: --dev-issuer-url)")
		}
		p := t.NewPatient()
		entries, bodies, err := t.seed(ctx, p, 1, nil)
		if err != nil {
			return err
		}
		c, err := t.credentialed(ctx, k, "sykepleier", p)
		if err != nil {
			return err
		}
		path, q := query(t, p, entries[0])
		a, err := t.MHDGet(ctx, c, path, q, p)
		if err != nil {
			return err
		}
		reqID := t.LastRequestID()
		what := fmt.Sprintf("%s with %s", tx, k)
		statuses := []int{http.StatusUnauthorized}
		if k == credRefused {
			statuses = []int{http.StatusForbidden}
		}
		if err := wantRefused(what, a, []string{entries[0].UniqueID, string(bodies[0])}, statuses...); err != nil {
			return err
		}
		if k != credRefused && a.Header.Get("WWW-Authenticate") == "" {
			return fmt.Errorf("%s: 401 without WWW-Authenticate", what)
		}
		if err := t.refusalRecord(ctx, what, tx, reqID); err != nil {
			return err
		}
		ev, err := t.PatientAudit(ctx, p, tx)
		if err != nil {
			return err
		}
		return wantAudit(what+" (the patient's log)", ev, AuditWant{Outcome: AuditDeny})
	}
}

func auditRefusal(k credKind) func(context.Context, *T) error {
	return func(ctx context.Context, t *T) error {
		if !t.env.devIssuer {
			return Skipf("needs the dev issuer (a pjd serve --dev target, or pjd dev-issuer: --dev-issuer-url) to read the audit API")
		}
		p := t.NewPatient()
		// Something in the log for the patient: a refused search.
		if _, err := t.SearchDocuments(ctx, t.HTTP, p, nil); err != nil {
			return err
		}
		c, err := t.credentialed(ctx, k, "fastlege", p)
		if err != nil {
			return err
		}
		a, err := t.MHDGet(ctx, c, "/fhir/R4/AuditEvent", url.Values{"patient": {p}}, "")
		if err != nil {
			return err
		}
		reqID := t.LastRequestID()
		what := "AuditEvent search with " + string(k)
		statuses := []int{http.StatusUnauthorized}
		if k == credRefused {
			statuses = []int{http.StatusForbidden}
		}
		if err := wantRefused(what, a, nil, statuses...); err != nil {
			return err
		}
		if bytes.Contains(a.Body, []byte(`"AuditEvent"`)) {
			return fmt.Errorf("%s: the refusal carries audit records: %s", what, snippet(a.Body))
		}
		return t.refusalRecord(ctx, what, "AUDIT-SEARCH", reqID)
	}
}

// forgedAssertion is a WS-Security header with an unsigned SAML assertion.
func forgedAssertion(context.Context, string) ([]*etree.Element, error) {
	sec := etree.NewElement("wsse:Security")
	sec.CreateAttr("xmlns:wsse", "http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-wssecurity-secext-1.0.xsd")
	as := sec.CreateElement("saml2:Assertion")
	as.CreateAttr("xmlns:saml2", "urn:oasis:names:tc:SAML:2.0:assertion")
	as.CreateAttr("ID", "_forged")
	as.CreateAttr("Version", "2.0")
	as.CreateAttr("IssueInstant", time.Now().UTC().Format(time.RFC3339))
	as.CreateElement("saml2:Issuer").SetText("https://forged.example.no")
	as.CreateElement("saml2:Subject").CreateElement("saml2:NameID").SetText("forged")
	return []*etree.Element{sec}, nil
}

func soapRefusal(tx string, k credKind) func(context.Context, *T) error {
	return func(ctx context.Context, t *T) error {
		p := t.NewPatient()
		entries, bodies, err := t.seed(ctx, p, 1, nil)
		if err != nil {
			return err
		}
		xc := &xdsclient.Client{SOAP: t.credentialClient(k), RegistryURL: t.XDS.RegistryURL, RepositoryURL: t.XDS.RepositoryURL}
		what := fmt.Sprintf("%s with %s", tx, k)
		var answerErr error
		var leaked bool
		switch tx {
		case tx18:
			res, rr, err := xc.Query(ctx, findDocuments(p))
			answerErr = err
			if err == nil && rr.Status == registry.ResponseSuccess && res.Len() > 0 {
				leaked = true
			}
		case tx43:
			res, err := xc.Retrieve(ctx, requests(entries[0]))
			answerErr = err
			if err == nil {
				_, body, nerr := res.Next()
				if nerr == nil {
					var buf bytes.Buffer
					_, _ = buf.ReadFrom(body)
					leaked = bytes.Contains(buf.Bytes(), bodies[0])
				}
				res.Close()
				leaked = leaked || len(res.Docs) > 0
			}
		}
		return t.refusedCredential(ctx, what, tx, k, leaked, answerErr, entries[0].UniqueID)
	}
}

// credentialClient is a SOAP client presenting no credential, or a forged
// assertion (credBad).
func (t *T) credentialClient(k credKind) *soap.Client {
	c := &soap.Client{HTTP: t.HTTP}
	if k == credBad {
		c.Headers = forgedAssertion
	}
	return c
}

// refusedCredential finishes a scenario of a SOAP request sent with no or
// a forged credential (k) just now: it must not have been answered with
// data (leaked; a --dev target answers a loopback caller without a
// credential as a source system, which is skipped), answerErr must be a
// WS-Security fault that does not name secret, and the refusal must be on
// record.
func (t *T) refusedCredential(ctx context.Context, what, tx string, k credKind, leaked bool, answerErr error, secret string) error {
	reqID := t.LastRequestID()
	if leaked {
		if k == credNone && t.isDevLoopbackSource(ctx) {
			return Skipf("the target treats loopback callers without a credential as a source system (pjd serve --dev)")
		}
		return fmt.Errorf("%s: the request was answered with data", what)
	}
	var f *soap.Fault
	if !errors.As(answerErr, &f) || len(f.Subcodes) == 0 || f.Subcodes[0].Space != soap.NSSecurity {
		return fmt.Errorf("%s: answered without a WS-Security fault (err %v)", what, answerErr)
	}
	if strings.Contains(f.Reason, secret) {
		return fmt.Errorf("%s: the fault reveals the document", what)
	}
	return t.refusalRecord(ctx, what, tx, reqID)
}

// isDevLoopbackSource reports whether the target answered a
// credential-less SOAP call as a source (--dev from loopback): an ITI-18
// of an empty patient is answered.
func (t *T) isDevLoopbackSource(ctx context.Context) bool {
	_, rr, err := xdsclient.New(t.env.target.BaseURL, t.HTTP).Query(ctx, NewQuery(registry.QueryFindDocuments, registry.ReturnObjectRef).
		Str(registry.ParamDocumentEntryPatientID, CX(t.NewPatient())).List(registry.ParamDocumentEntryStatus, registry.StatusApproved).Query())
	return err == nil && rr.Status == registry.ResponseSuccess
}

func uiRefusal(path, tx string) func(context.Context, *T) error {
	return func(ctx context.Context, t *T) error {
		if !t.env.uiMounted {
			return Skipf("the UI is not mounted on this target (/ui/static/ui.css answers 404)")
		}
		p := t.NewPatient()
		entries, bodies, err := t.seed(ctx, p, 1, nil)
		if err != nil {
			return err
		}
		q := url.Values{}
		if path != "/ui/" {
			q = url.Values{"repositoryUniqueId": {entries[0].RepositoryUniqueID}, "uniqueId": {entries[0].UniqueID}}
		}
		// No session, and a well-formed session id that was never issued.
		var forged [32]byte
		_, _ = rand.Read(forged[:])
		id := base64.RawURLEncoding.EncodeToString(forged[:])
		for _, c := range []*http.Client{t.HTTP, t.WithHeader("Cookie", "pjd-ui="+id+"; __Secure-pjd-ui="+id)} {
			a, err := t.MHDGet(ctx, c, path, q, p)
			if err != nil {
				return err
			}
			reqID := t.LastRequestID()
			what := "GET " + path + " without a valid session"
			if a.Status < 300 || a.Status >= 500 {
				return fmt.Errorf("%s: %v, want a refusal (3xx or 4xx)", what, a)
			}
			if err := wantNoSecrets(what, a, []string{entries[0].UniqueID, string(bodies[0]), p}); err != nil {
				return err
			}
			if err := t.refusalRecord(ctx, what, tx, reqID); err != nil {
				return err
			}
		}
		return nil
	}
}
