package conformance

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/beevik/etree"
	"github.com/google/uuid"

	"pjd/gateway/soap"
	"pjd/gateway/xca"
	"pjd/registry"
	"pjd/registry/ebrim"
	"pjd/registry/oid"
	"pjd/trust"
	"pjd/trust/devissuer"
	"pjd/trust/policy"
)

// XCA as Responding Gateway (/xca/responding): the 14 stored queries
// through ITI-38 (each ITI-18 query scenario again, with home on every
// returned object), the community errors, ITI-39 byte for byte, XUA
// persons, refusals audited, and block concealment through ITI-38.

const (
	tx38 = "ITI-38"
	tx39 = "ITI-39"
)

// XUAFunc returns a wsse:Security header carrying an XUA assertion the
// target's responding gateway trusts, for persona acting for patient.
type XUAFunc func(ctx context.Context, p devissuer.Persona, patient string) (*etree.Element, error)

// MinterXUA returns an XUAFunc that mints with m for audience, from a
// principal built from the persona as the HelseID verifier builds it from
// the persona's dev token (an attestation for patient, made now).
func MinterXUA(m *trust.XUAMinter, audience string) XUAFunc {
	return func(_ context.Context, p devissuer.Persona, patient string) (*etree.Element, error) {
		now := time.Now()
		pr := &trust.Principal{Credential: trust.CredentialHelseIDDPoP, Kind: p.Kind, Subject: p.PID, Name: p.Name,
			HPRNumber: p.HPRNumber, Authorization: p.Authorization, SecurityLevel: 4,
			LegalEntity: p.LegalEntity, PointOfCare: p.PointOfCare, Department: p.Department,
			PurposeOfUse: p.PurposeOfUse, PurposeOfUseDetails: p.PurposeOfUseDetails, HealthcareService: p.HealthcareService,
			Client: p.Client, Scopes: p.Scopes, IssuedAt: now, ExpiresAt: now.Add(time.Hour)}
		if p.Kind == trust.HealthWorker {
			pr.HasAttestation, pr.AttestedAt = true, now
			pr.DecisionRef = trust.DecisionRef{ID: uuid.NewString(), UserSelected: true}
			pr.Patients = []trust.AttestedPatient{{Identifier: trust.Identifier{ID: patient, System: oid.URNPrefix + oid.FNR}}}
		}
		a, err := m.Mint(pr, audience)
		if err != nil {
			return nil, err
		}
		return trust.SecurityHeader(a, now), nil
	}
}

// home returns the target's homeCommunityId: Target.HomeCommunityID, or
// found out once by asking for another community, whose
// XDSUnknownCommunity error carries the target's own id as location.
func (e *Env) home(ctx context.Context) (string, error) {
	if e.target.HomeCommunityID != "" {
		return e.target.HomeCommunityID, nil
	}
	e.homeOnce.Do(func() {
		c := &soap.Client{HTTP: &http.Client{Transport: e.source, Timeout: time.Minute}}
		q := NewQuery(registry.QueryFindDocuments, registry.ReturnObjectRef).Str(registry.ParamDocumentEntryPatientID, CX(newPatient())).
			List(registry.ParamDocumentEntryStatus, registry.StatusApproved).Query()
		q.HomeCommunityID = "urn:oid:2.999.1.2.3.4.5"
		_, rr, _, err := crossGatewayQuery(ctx, c, e.target.BaseURL, q)
		switch {
		case err != nil:
			e.homeErr = fmt.Errorf("ITI-38 to find the target's homeCommunityId: %w", err)
		case len(rr.Errors) != 1 || !strings.HasPrefix(rr.Errors[0].Location, "urn:oid:"):
			e.homeErr = fmt.Errorf("ITI-38 for another community answered %s %v: no location naming the target's community", rr.Status, rr.Errors)
		default:
			e.homeID = rr.Errors[0].Location
		}
	})
	return e.homeID, e.homeErr
}

// crossGatewayQuery sends q as ITI-38 with c and returns the answer and
// its AdhocQueryResponse element.
func crossGatewayQuery(ctx context.Context, c *soap.Client, base string, q *registry.Query) (*registry.QueryResult, registry.Response, *etree.Element, error) {
	return soapQuery(ctx, c, base+xca.RespondingPath, xca.ActionCrossGatewayQuery, q)
}

// soapQuery sends q to url with c as a stored query of action and returns
// the answer and (a copy of) its AdhocQueryResponse element.
func soapQuery(ctx context.Context, c *soap.Client, url, action string, q *registry.Query) (*registry.QueryResult, registry.Response, *etree.Element, error) {
	resp, err := c.Call(ctx, url, action, ebrim.EncodeAdhocQueryRequest(q))
	if err != nil {
		return nil, registry.Response{}, nil, err
	}
	defer resp.Close()
	if got := resp.Addressing.Action; got != action+ebrim.ResponseSuffix {
		return nil, registry.Response{}, nil, fmt.Errorf("%s answered %s with action %q", url, action, got)
	}
	res, rr, err := ebrim.ParseAdhocQueryResponse(resp.Body())
	if err != nil {
		return nil, rr, nil, err
	}
	return res, rr, resp.Body().Copy(), nil
}

// findDocuments is FindDocuments (LeafClass) of patient's approved
// documents.
func findDocuments(patient string) *registry.Query {
	return NewQuery(registry.QueryFindDocuments, registry.ReturnLeafClass).Str(registry.ParamDocumentEntryPatientID, CX(patient)).
		List(registry.ParamDocumentEntryStatus, registry.StatusApproved).Query()
}

// eachObject calls f for every ExtrinsicObject, RegistryPackage and
// ObjectRef of an AdhocQueryResponse, until it fails.
func eachObject(body *etree.Element, f func(o *etree.Element) error) error {
	list := body.SelectElement("RegistryObjectList")
	if list == nil {
		return nil
	}
	for _, o := range list.ChildElements() {
		switch o.Tag {
		case "ExtrinsicObject", "RegistryPackage", "ObjectRef":
			if err := f(o); err != nil {
				return err
			}
		}
	}
	return nil
}

// checkHomes checks that every ExtrinsicObject, RegistryPackage and
// ObjectRef of an AdhocQueryResponse carries home.
func checkHomes(body *etree.Element, home string) error {
	return eachObject(body, func(o *etree.Element) error {
		if got := o.SelectAttrValue("home", ""); !sameCommunity(got, home) {
			return fmt.Errorf("ITI-38: %s %s has home %q, want %s", o.Tag, o.SelectAttrValue("id", ""), got, home)
		}
		return nil
	})
}

// xcaSeed returns the target's homeCommunityId and a new patient with n
// documents provided through ITI-41 (their entries and contents).
func (t *T) xcaSeed(ctx context.Context, n int) (home, patient string, entries []*registry.DocumentEntry, bodies [][]byte, err error) {
	if home, err = t.env.home(ctx); err != nil {
		return "", "", nil, nil, err
	}
	patient, entries, bodies, err = t.seedNew(ctx, n)
	return home, patient, entries, bodies, err
}

func sameCommunity(a, b string) bool { return a != "" && oid.Bare(a) == oid.Bare(b) }

// viaITI38 makes t's queries ITI-38 to the responding gateway, as the
// source system, each with the target's home, and checks home on every
// object they return.
func (t *T) viaITI38(ctx context.Context) error {
	home, err := t.env.home(ctx)
	if err != nil {
		return err
	}
	c := &soap.Client{HTTP: t.clientOver(t.env.source, nil)}
	t.queryVia = func(ctx context.Context, q *registry.Query) (*registry.QueryResult, registry.Response, error) {
		q.HomeCommunityID = home
		res, rr, body, err := crossGatewayQuery(ctx, c, t.env.target.BaseURL, q)
		if err != nil {
			return nil, rr, err
		}
		if err := checkHomes(body, home); err != nil {
			return nil, rr, err
		}
		return res, rr, nil
	}
	return nil
}

func xcaScenarios() []Scenario {
	var out []Scenario
	// Every ITI-18 stored-query scenario again, through ITI-38.
	for _, s := range queryScenarios() {
		if !slices.Contains(crossGatewayQueries, strings.TrimPrefix(s.Name, tx18+"/")) {
			continue
		}
		run := s.Run
		out = append(out, scenario(tx38, strings.TrimPrefix(s.Name, tx18+"/"), func(ctx context.Context, t *T) error {
			if err := t.viaITI38(ctx); err != nil {
				return err
			}
			return run(ctx, t)
		}))
	}
	q38, r39 := scenariosOf(tx38), scenariosOf(tx39)
	return append(out,
		q38("unknown-community", x38UnknownCommunity),
		q38("missing-home", x38MissingHome),
		q38("xua-person", x38Person),
		q38("patient-block-concealed", x38BlockConcealed),
		r39("retrieve-byte-for-byte", x39Retrieve),
		r39("unknown-and-missing-community", x39Community),
		scenario(tx18, "initiating-gateway", xigQuery),
	)
}

// crossGatewayQueries are the ITI-18 query scenarios repeated through
// ITI-38: the 14 stored queries.
var crossGatewayQueries = []string{
	"FindDocuments-approved-leafclass", "FindDocuments-all-statuses-objectref", "FindDocuments-classcode-filter",
	"FindDocumentsByReferenceId", "FindSubmissionSets", "FindFolders-leafclass-and-objectref", "GetAll-leafclass",
	"GetAll-objectref", "GetDocuments-by-uniqueid-and-uuid", "GetFolders", "GetAssociations",
	"GetDocumentsAndAssociations", "GetSubmissionSets", "GetSubmissionSetAndContents", "GetFolderAndContents",
	"GetFoldersForDocument", "GetRelatedDocuments",
}

// systemXCA is a SOAP client of the source system (loopback in --dev, or
// the source's client certificate).
func (t *T) systemXCA() *soap.Client { return &soap.Client{HTTP: t.clientOver(t.env.source, nil)} }

// wantCommunityError checks a Failure with one error code at location
// home.
func wantCommunityError(what string, rr registry.Response, n int, code, home string) error {
	switch {
	case rr.Status != registry.ResponseFailure:
		return fmt.Errorf("%s: status %s, want Failure", what, rr.Status)
	case n != 0:
		return fmt.Errorf("%s: %d objects returned, want none", what, n)
	case len(rr.Errors) != 1 || rr.Errors[0].Code != code:
		return fmt.Errorf("%s: errors %v, want one %s", what, rr.Errors, code)
	case !sameCommunity(rr.Errors[0].Location, home):
		return fmt.Errorf("%s: location %q, want the responding gateway's homeCommunityId %s", what, rr.Errors[0].Location, home)
	}
	return nil
}

func x38UnknownCommunity(ctx context.Context, t *T) error {
	home, p, _, _, err := t.xcaSeed(ctx, 1)
	if err != nil {
		return err
	}
	q := findDocuments(p)
	q.HomeCommunityID = "urn:oid:2.999.9.8.7"
	res, rr, _, err := crossGatewayQuery(ctx, t.systemXCA(), t.env.target.BaseURL, q)
	if err != nil {
		return err
	}
	return wantCommunityError("ITI-38 for another community", rr, res.Len(), registry.ErrCodeUnknownCommunity, home)
}

func x38MissingHome(ctx context.Context, t *T) error {
	home, _, entries, _, err := t.xcaSeed(ctx, 1)
	if err != nil {
		return err
	}
	q := NewQuery(registry.QueryGetDocuments, registry.ReturnLeafClass).List(registry.ParamDocumentEntryUniqueID, entries[0].UniqueID).Query()
	res, rr, _, err := crossGatewayQuery(ctx, t.systemXCA(), t.env.target.BaseURL, q)
	if err != nil {
		return err
	}
	return wantCommunityError("ITI-38 GetDocuments without home", rr, res.Len(), registry.ErrCodeMissingHomeCommunityID, home)
}

// xuaClient is a SOAP client presenting an XUA assertion of persona for
// patient (Target.XUA).
func (t *T) xuaClient(ctx context.Context, persona, patient string) (*soap.Client, error) {
	if t.env.target.XUA == nil {
		return nil, Skipf("needs XUA assertions the target trusts (in-process, or pjd conformance --xua-signing-key/--xua-signing-cert/--xua-issuer)")
	}
	sec, err := t.env.target.XUA(ctx, Persona(persona), patient)
	if err != nil {
		return nil, fmt.Errorf("minting an XUA assertion: %w", err)
	}
	c := &soap.Client{HTTP: t.HTTP, Headers: func(context.Context, string) ([]*etree.Element, error) {
		return []*etree.Element{sec.Copy()}, nil
	}}
	return c, nil
}

// x38Person: a health worker's ITI-38 with an XUA assertion is answered
// with the patient's documents, home on each, and audited as ITI-38 with
// the documents returned.
func x38Person(ctx context.Context, t *T) error {
	home, p, entries, _, err := t.xcaSeed(ctx, 2)
	if err != nil {
		return err
	}
	c, err := t.xuaClient(ctx, "fastlege", p)
	if err != nil {
		return err
	}
	res, rr, body, err := crossGatewayQuery(ctx, c, t.env.target.BaseURL, findDocuments(p))
	if err != nil {
		return err
	}
	if rr.Status != registry.ResponseSuccess {
		return fmt.Errorf("ITI-38 as a person with XUA: %s %v", rr.Status, rr.Errors)
	}
	if err := wantUniqueIDs("ITI-38 as a person with XUA", res.Documents, uniqueIDs(entries)...); err != nil {
		return err
	}
	if err := checkHomes(body, home); err != nil {
		return err
	}
	ev, err := t.RequestAudit(ctx, tx38, t.LastRequestID())
	if err != nil {
		return err
	}
	docs := map[string]string{}
	for _, e := range entries {
		docs[e.UniqueID] = "returned"
	}
	return wantAudit("ITI-38 as a person with XUA", ev, AuditWant{Outcome: AuditPermit, Rule: policy.RuleHealthWorkerCare, Documents: docs})
}

// x38BlockConcealed: a patient's block answers through ITI-38 exactly like
// a patient without documents, and is on record.
func x38BlockConcealed(ctx context.Context, t *T) error {
	blocked, empty, err := t.blockedPatient(ctx)
	if err != nil {
		return err
	}
	ask := func(p string) (int, string, string, error) {
		c, err := t.xuaClient(ctx, "fastlege", p)
		if err != nil {
			return 0, "", "", err
		}
		rec := &bodyRecorder{base: c.HTTP.Transport}
		c.HTTP = &http.Client{Transport: rec, Timeout: c.HTTP.Timeout}
		_, _, _, err = crossGatewayQuery(ctx, c, t.env.target.BaseURL, findDocuments(p))
		return rec.status, normaliseAnswer(rec.body, p), t.LastRequestID(), err
	}
	gs, got, reqID, err := ask(blocked)
	if err != nil {
		return err
	}
	ws, want, _, err := ask(empty)
	if err != nil {
		return err
	}
	if gs != ws || got != want {
		return fmt.Errorf("ITI-38 for a blocked patient is told apart from one without documents:\nblocked: %d %s\nwithout documents: %d %s",
			gs, snippet([]byte(got)), ws, snippet([]byte(want)))
	}
	ev, err := t.RequestAudit(ctx, tx38, reqID)
	if err != nil {
		return err
	}
	return wantAudit("ITI-38 for a blocked patient (its record)", ev, AuditWant{Outcome: AuditDeny, Rule: policy.RulePatientBlock})
}

// bodyRecorder keeps the status and body of the last response it carried.
type bodyRecorder struct {
	base   http.RoundTripper
	mu     sync.Mutex
	status int
	body   []byte
}

func (r *bodyRecorder) RoundTrip(req *http.Request) (*http.Response, error) {
	resp, err := r.base.RoundTrip(req)
	if err != nil {
		return nil, err
	}
	b, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	if err != nil {
		return nil, err
	}
	r.mu.Lock()
	r.status, r.body = resp.StatusCode, b
	r.mu.Unlock()
	resp.Body = io.NopCloser(bytes.NewReader(b))
	return resp, nil
}

// xcaRetrieved is an ITI-39 answer with its documents read.
type xcaRetrieved struct {
	resp  registry.Response
	docs  []ebrim.DocumentResponse
	bytes map[string][]byte
	mtom  bool
}

func crossGatewayRetrieve(ctx context.Context, c *soap.Client, base string, drs []ebrim.DocumentRequest) (*xcaRetrieved, error) {
	resp, err := c.CallMTOM(ctx, base+xca.RespondingPath, xca.ActionCrossGatewayRetrieve, ebrim.EncodeRetrieveDocumentSetRequest(drs), nil)
	if err != nil {
		return nil, err
	}
	defer resp.Close()
	if got := resp.Addressing.Action; got != xca.ActionCrossGatewayRetrieve+ebrim.ResponseSuffix {
		return nil, fmt.Errorf("ITI-39 answered with action %q", got)
	}
	rr, docs, err := ebrim.ParseRetrieveDocumentSetResponse(resp.Body())
	if err != nil {
		return nil, err
	}
	out := &xcaRetrieved{resp: rr, docs: docs, bytes: map[string][]byte{}, mtom: resp.MTOM()}
	byCID := map[string]string{}
	for _, d := range docs {
		byCID[strings.TrimPrefix(d.IncludeHref, "cid:")] = d.DocumentUniqueID
	}
	for {
		part, err := resp.NextPart()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return nil, err
		}
		b, err := io.ReadAll(part.Body)
		if err != nil {
			return nil, err
		}
		out.bytes[byCID[part.ContentID]] = b
	}
	return out, nil
}

// x39Retrieve: ITI-39 returns every document byte for byte in an MTOM
// answer, each DocumentResponse echoing its HomeCommunityId.
func x39Retrieve(ctx context.Context, t *T) error {
	home, _, entries, bodies, err := t.xcaSeed(ctx, 2)
	if err != nil {
		return err
	}
	var drs []ebrim.DocumentRequest
	for _, e := range entries {
		drs = append(drs, ebrim.DocumentRequest{HomeCommunityID: home, RepositoryUniqueID: e.RepositoryUniqueID, DocumentUniqueID: e.UniqueID})
	}
	got, err := crossGatewayRetrieve(ctx, t.systemXCA(), t.env.target.BaseURL, drs)
	if err != nil {
		return err
	}
	switch {
	case got.resp.Status != registry.ResponseSuccess:
		return fmt.Errorf("ITI-39: %s %v", got.resp.Status, got.resp.Errors)
	case !got.mtom:
		return fmt.Errorf("ITI-39: the answer is not MTOM")
	case len(got.docs) != len(entries):
		return fmt.Errorf("ITI-39: %d DocumentResponses, want %d", len(got.docs), len(entries))
	}
	for _, d := range got.docs {
		if d.HomeCommunityID != home {
			return fmt.Errorf("ITI-39: DocumentResponse %s has HomeCommunityId %q, want %s as sent", d.DocumentUniqueID, d.HomeCommunityID, home)
		}
	}
	for i, e := range entries {
		if !bytes.Equal(got.bytes[e.UniqueID], bodies[i]) {
			return fmt.Errorf("ITI-39: document %s differs from what was provided (%d bytes, want %d)", e.UniqueID, len(got.bytes[e.UniqueID]), len(bodies[i]))
		}
	}
	return nil
}

// x39Community: a DocumentRequest for another community is
// XDSUnknownCommunity, one without HomeCommunityId
// XDSMissingHomeCommunityId; nothing is returned.
func x39Community(ctx context.Context, t *T) error {
	home, _, entries, _, err := t.xcaSeed(ctx, 1)
	if err != nil {
		return err
	}
	e := entries[0]
	for _, c := range []struct {
		what, home, code string
	}{
		{"ITI-39 for another community", "urn:oid:2.999.9.8.7", registry.ErrCodeUnknownCommunity},
		{"ITI-39 without HomeCommunityId", "", registry.ErrCodeMissingHomeCommunityID},
	} {
		got, err := crossGatewayRetrieve(ctx, t.systemXCA(), t.env.target.BaseURL,
			[]ebrim.DocumentRequest{{HomeCommunityID: c.home, RepositoryUniqueID: e.RepositoryUniqueID, DocumentUniqueID: e.UniqueID}})
		if err != nil {
			return fmt.Errorf("%s: %w", c.what, err)
		}
		if err := wantCommunityError(c.what, got.resp, len(got.docs)+len(got.bytes), c.code, home); err != nil {
			return err
		}
	}
	return nil
}

// xcaRefusal is the refusal scenario of ITI-38 or ITI-39 with no or a
// forged credential: a WS-Security fault, no data, the refusal audited.
func xcaRefusal(tx string, k credKind) func(context.Context, *T) error {
	return func(ctx context.Context, t *T) error {
		home, p, entries, _, err := t.xcaSeed(ctx, 1)
		if err != nil {
			return err
		}
		c := t.credentialClient(k)
		what := fmt.Sprintf("%s with %s", tx, k)
		var answerErr error
		leaked := false
		if tx == tx38 {
			var res *registry.QueryResult
			var rr registry.Response
			res, rr, _, answerErr = crossGatewayQuery(ctx, c, t.env.target.BaseURL, findDocuments(p))
			leaked = answerErr == nil && rr.Status == registry.ResponseSuccess && res.Len() > 0
		} else {
			var got *xcaRetrieved
			got, answerErr = crossGatewayRetrieve(ctx, c, t.env.target.BaseURL,
				[]ebrim.DocumentRequest{{HomeCommunityID: home, RepositoryUniqueID: entries[0].RepositoryUniqueID, DocumentUniqueID: entries[0].UniqueID}})
			leaked = answerErr == nil && len(got.docs) > 0
		}
		return t.refusedCredential(ctx, what, tx, k, leaked, answerErr, entries[0].UniqueID)
	}
}
