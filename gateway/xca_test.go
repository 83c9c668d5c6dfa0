package gateway_test

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"io"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/beevik/etree"

	"pjd/gateway/audit"
	"pjd/gateway/soap"
	"pjd/gateway/xca"
	"pjd/registry"
	"pjd/registry/ebrim"
	"pjd/registry/oid"
	"pjd/trust"
)

// The Responding Gateway (/xca/responding): ITI-38 and ITI-39 over the
// harness's registry and repository, with XUA persons (NHN's sample
// assertion, re-signed) and the --dev loopback system.

// xcaCaller sends stored queries and retrieves to url: ITI-38/39 to a
// responding gateway, or the requests of actions (ITI-18/43 to the
// initiating gateway).
type xcaCaller struct {
	c       *soap.Client
	url     string
	actions *callerActions // nil: ITI-38 and ITI-39
}

// callerActions are the WS-Addressing actions a caller sends.
type callerActions struct{ query, retrieve string }

var xcaActions = &callerActions{query: xca.ActionCrossGatewayQuery, retrieve: xca.ActionCrossGatewayRetrieve}

func (x xcaCaller) action() *callerActions {
	if x.actions == nil {
		return xcaActions
	}
	return x.actions
}

func xcaXUA(h *harness, sec *etree.Element) xcaCaller {
	c := &soap.Client{HTTP: h.srv.Client()}
	if sec != nil {
		c.Headers = func(context.Context, string) ([]*etree.Element, error) { return []*etree.Element{sec.Copy()}, nil }
	}
	return xcaCaller{c: c, url: h.base + xca.RespondingPath}
}

// query sends q (ITI-38) and returns the parsed answer and its body.
func (x xcaCaller) query(t *testing.T, q *registry.Query) (*registry.QueryResult, registry.Response, *etree.Element, error) {
	t.Helper()
	action := x.action().query
	resp, err := x.c.Call(context.Background(), x.url, action, ebrim.EncodeAdhocQueryRequest(q))
	if err != nil {
		return nil, registry.Response{}, nil, err
	}
	defer resp.Close()
	if got := resp.Addressing.Action; got != action+ebrim.ResponseSuffix {
		t.Fatalf("response action %s", got)
	}
	res, rr, err := ebrim.ParseAdhocQueryResponse(resp.Body())
	if err != nil {
		t.Fatal(err)
	}
	return res, rr, resp.Body().Copy(), nil
}

type xcaRetrieved struct {
	status string
	errors registry.ErrorList
	docs   []ebrim.DocumentResponse
	bytes  map[string][]byte
	mtom   bool
}

// retrieve sends drs (ITI-39; MTOM, or plain when plain is set) and reads
// every document.
func (x xcaCaller) retrieve(t *testing.T, plain bool, drs ...ebrim.DocumentRequest) (xcaRetrieved, error) {
	t.Helper()
	ctx := context.Background()
	action := x.action().retrieve
	body := ebrim.EncodeRetrieveDocumentSetRequest(drs)
	var resp *soap.Response
	var err error
	if plain {
		resp, err = x.c.Call(ctx, x.url, action, body)
	} else {
		resp, err = x.c.CallMTOM(ctx, x.url, action, body, nil)
	}
	if err != nil {
		return xcaRetrieved{}, err
	}
	defer resp.Close()
	if got := resp.Addressing.Action; got != action+ebrim.ResponseSuffix {
		t.Fatalf("response action %s", got)
	}
	rr, docs, err := ebrim.ParseRetrieveDocumentSetResponse(resp.Body())
	if err != nil {
		t.Fatal(err)
	}
	out := xcaRetrieved{status: rr.Status, errors: rr.Errors, docs: docs, bytes: map[string][]byte{}, mtom: resp.MTOM()}
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
			t.Fatal(err)
		}
		b, err := io.ReadAll(part.Body)
		if err != nil {
			t.Fatal(err)
		}
		out.bytes[byCID[part.ContentID]] = b
	}
	return out, nil
}

// homes returns the home of every ExtrinsicObject, RegistryPackage and
// ObjectRef of an AdhocQueryResponse, and the number of objects without.
func homes(resp *etree.Element) (map[string]int, int) {
	got, missing := map[string]int{}, 0
	if list := resp.SelectElement("RegistryObjectList"); list != nil {
		for _, o := range list.ChildElements() {
			if o.Tag == "ExtrinsicObject" || o.Tag == "RegistryPackage" || o.Tag == "ObjectRef" {
				if h := o.SelectAttrValue("home", ""); h != "" {
					got[h]++
				} else {
					missing++
				}
			}
		}
	}
	return got, missing
}

func byUniqueID(uid, home string) *registry.Query {
	return &registry.Query{ID: registry.QueryGetDocuments, ReturnType: registry.ReturnLeafClass, HomeCommunityID: home,
		Params: []registry.Slot{{Name: registry.ParamDocumentEntryUniqueID, Values: []string{"('" + uid + "')"}}}}
}

func TestXCARespondingQuery(t *testing.T) {
	s := newXUASigner(t)
	h := newXUAHarness(t, s)
	c := xcaXUA(h, xuaSecurity(t, s, nil))
	normal := registry.SampleUniqueID(7001, 0)

	t.Run("FindDocuments LeafClass: home on every object, NORS hidden, audited as ITI-38", func(t *testing.T) {
		var res *registry.QueryResult
		var body *etree.Element
		rec := h.oneRecord(t, func() {
			var rr registry.Response
			var err error
			res, rr, body, err = c.query(t, findDocuments(xuaPatient))
			if err != nil || rr.Status != registry.ResponseSuccess {
				t.Fatalf("query: %v %+v", err, rr)
			}
		})
		if len(res.Documents) != 1 || res.Documents[0].UniqueID != normal {
			t.Fatalf("documents %+v", res.Documents)
		}
		got, missing := homes(body)
		if missing != 0 || got[testHome] == 0 || len(got) != 1 {
			t.Fatalf("homes %v, %d objects without", got, missing)
		}
		if rec.Transaction != audit.TxITI38 || rec.Action != audit.ActionQuery || rec.Outcome != audit.OutcomePermit ||
			rec.PatientID != xuaPatient || rec.Actor.HPR != "565505933" || rec.HiddenNORS != 1 ||
			!strings.Contains(rec.Gateway, "community urn:oid:2.16.578.1.12.4.1.7.1.1") ||
			!strings.Contains(rec.Gateway, "client ea1b0c25-154d-483c-abeb-cdf2e09d0a45") {
			t.Fatalf("record %+v", rec)
		}
	})
	t.Run("GetAll LeafClass and ObjectRef: home on every ExtrinsicObject, RegistryPackage, ObjectRef", func(t *testing.T) {
		for _, rt := range []string{registry.ReturnLeafClass, registry.ReturnObjectRef} {
			res, rr, body, err := c.query(t, getAll(xuaPatient, rt))
			if err != nil || rr.Status != registry.ResponseSuccess || res.Len() == 0 {
				t.Fatalf("%s: %v %+v", rt, err, rr)
			}
			got, missing := homes(body)
			if missing != 0 || len(got) != 1 || got[testHome] == 0 {
				t.Fatalf("%s: homes %v, %d without", rt, got, missing)
			}
			if rt == registry.ReturnLeafClass && len(body.FindElements("./RegistryObjectList/RegistryPackage")) < 2 {
				t.Fatalf("expected a SubmissionSet and a Folder")
			}
		}
	})
	t.Run("home on a patient query: own id (bare, as NHN sends it) answers", func(t *testing.T) {
		q := findDocuments(xuaPatient)
		q.HomeCommunityID = "2.16.578.1.12.4.5.100.1"
		res, rr, _, err := c.query(t, q)
		if err != nil || rr.Status != registry.ResponseSuccess || len(res.Documents) != 1 {
			t.Fatalf("%v %+v", err, rr)
		}
	})
	t.Run("GetDocuments with home", func(t *testing.T) {
		res, rr, body, err := c.query(t, byUniqueID(normal, testHome))
		if err != nil || rr.Status != registry.ResponseSuccess || len(res.Documents) != 1 {
			t.Fatalf("%v %+v", err, rr)
		}
		if got, missing := homes(body); missing != 0 || got[testHome] != 1 {
			t.Fatalf("homes %v", got)
		}
	})

	// Refusals of the community rules: Failure, one error, location =
	// this community, audited.
	for _, tc := range []struct {
		name string
		q    *registry.Query
		code string
	}{
		{"another community", func() *registry.Query {
			q := findDocuments(xuaPatient)
			q.HomeCommunityID = "urn:oid:2.16.578.1.12.4.5.100.3"
			return q
		}(), registry.ErrCodeUnknownCommunity},
		{"GetDocuments for another community", byUniqueID(normal, "urn:oid:9.9.9"), registry.ErrCodeUnknownCommunity},
		{"GetDocuments without home", byUniqueID(normal, ""), registry.ErrCodeMissingHomeCommunityID},
		{"GetAssociations without home", &registry.Query{ID: registry.QueryGetAssociations, ReturnType: registry.ReturnLeafClass,
			Params: []registry.Slot{{Name: registry.ParamUUID, Values: []string{"('urn:uuid:5b6a1f5e-0000-4000-8000-000000000001')"}}}},
			registry.ErrCodeMissingHomeCommunityID},
		{"ITI-51 is not a cross gateway query", &registry.Query{ID: registry.QueryFindDocumentsForMultiplePatients,
			ReturnType: registry.ReturnLeafClass, Params: []registry.Slot{
				{Name: registry.ParamDocumentEntryPatientID, Values: []string{"('" + cx(xuaPatient) + "')"}},
				{Name: registry.ParamDocumentEntryStatus, Values: []string{"('" + registry.StatusApproved + "')"}}}},
			registry.ErrCodeUnknownStoredQuery},
		{"another patient than attested (policy)", findDocuments(patientP), registry.ErrCodeRegistryError},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var res *registry.QueryResult
			var rr registry.Response
			rec := h.oneRecord(t, func() {
				var err error
				res, rr, _, err = c.query(t, tc.q)
				if err != nil {
					t.Fatal(err)
				}
			})
			if rr.Status != registry.ResponseFailure || res.Len() != 0 || len(rr.Errors) != 1 || rr.Errors[0].Code != tc.code ||
				rr.Errors[0].Location != testHome {
				t.Fatalf("answer %+v, want Failure %s at %s", rr, tc.code, testHome)
			}
			if rec.Transaction != audit.TxITI38 || rec.Outcome != audit.OutcomeDeny {
				t.Fatalf("record %+v", rec)
			}
		})
	}
}

func TestXCARespondingRetrieve(t *testing.T) {
	s := newXUASigner(t)
	h := newXUAHarness(t, s)
	c := xcaXUA(h, xuaSecurity(t, s, nil))
	normal, nors := registry.SampleUniqueID(7001, 0), registry.SampleUniqueID(7001, 1)
	repo := registry.SampleRepositoryUniqueID
	want := registry.SampleDocument(7001, 0, cx(xuaPatient))

	for _, plain := range []bool{false, true} {
		name := "MTOM request"
		if plain {
			name = "plain request (as NHN's sample)"
		}
		t.Run(name+": byte for byte, HomeCommunityId echoed as sent, MTOM answer", func(t *testing.T) {
			var got xcaRetrieved
			rec := h.oneRecord(t, func() {
				var err error
				got, err = c.retrieve(t, plain,
					ebrim.DocumentRequest{HomeCommunityID: "2.16.578.1.12.4.5.100.1", RepositoryUniqueID: repo, DocumentUniqueID: normal},
					ebrim.DocumentRequest{HomeCommunityID: testHome, RepositoryUniqueID: repo, DocumentUniqueID: nors})
				if err != nil {
					t.Fatal(err)
				}
			})
			if got.status != registry.ResponsePartialSuccess || len(got.docs) != 1 || !got.mtom ||
				got.docs[0].HomeCommunityID != "2.16.578.1.12.4.5.100.1" || !bytes.Equal(got.bytes[normal], want) {
				t.Fatalf("retrieve: %+v", got)
			}
			if len(got.errors) != 1 || got.errors[0].Code != registry.ErrCodeDocumentUniqueIDError || got.errors[0].Location != nors {
				t.Fatalf("errors %+v", got.errors)
			}
			if rec.Transaction != audit.TxITI39 || rec.Action != audit.ActionRead || rec.Outcome != audit.OutcomePermit ||
				rec.PatientID != xuaPatient || !strings.Contains(rec.Gateway, "community urn:oid:2.16.578.1.12.4.1.7.1.1") {
				t.Fatalf("record %+v", rec)
			}
		})
	}
	for _, tc := range []struct {
		name   string
		drs    []ebrim.DocumentRequest
		status string
		codes  []string
		docs   int
	}{
		{"another community", []ebrim.DocumentRequest{{HomeCommunityID: "urn:oid:9.9.9", RepositoryUniqueID: repo, DocumentUniqueID: normal}},
			registry.ResponseFailure, []string{registry.ErrCodeUnknownCommunity}, 0},
		{"no HomeCommunityId", []ebrim.DocumentRequest{{RepositoryUniqueID: repo, DocumentUniqueID: normal}},
			registry.ResponseFailure, []string{registry.ErrCodeMissingHomeCommunityID}, 0},
		{"one for us, one for another community", []ebrim.DocumentRequest{
			{HomeCommunityID: testHome, RepositoryUniqueID: repo, DocumentUniqueID: normal},
			{HomeCommunityID: "urn:oid:9.9.9", RepositoryUniqueID: repo, DocumentUniqueID: nors}},
			registry.ResponsePartialSuccess, []string{registry.ErrCodeUnknownCommunity}, 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := c.retrieve(t, false, tc.drs...)
			if err != nil {
				t.Fatal(err)
			}
			var codes []string
			for _, e := range got.errors {
				codes = append(codes, e.Code)
				if e.Code != registry.ErrCodeDocumentUniqueIDError && e.Location != testHome {
					t.Errorf("error %+v: location is not this community", e)
				}
			}
			if got.status != tc.status || !slices.Equal(codes, tc.codes) || len(got.docs) != tc.docs || !got.mtom {
				t.Fatalf("got %+v, want %s %v with %d documents", got, tc.status, tc.codes, tc.docs)
			}
		})
	}
}

// Callers: a person with a valid assertion or a system; anyone else gets
// a WS-Security fault, audited as a refusal of the transaction.
func TestXCARespondingCallers(t *testing.T) {
	s := newXUASigner(t)
	h := newXUAHarness(t, s)
	for _, tc := range []struct {
		name    string
		sec     *etree.Element
		subcode string
	}{
		{"no credential", nil, "SecurityTokenUnavailable"},
		{"tampered assertion", xuaSecurity(t, s, func(a *etree.Element) { a.FindElement(".//NameID").SetText("12887040093") }), "FailedAuthentication"},
		{"untrusted signer", xuaSecurity(t, newXUASigner(t), nil), "FailedAuthentication"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			for _, tx := range []string{audit.TxITI38, audit.TxITI39} {
				seq := h.head()
				c := xcaXUA(h, tc.sec)
				var err error
				if tx == audit.TxITI38 {
					_, _, _, err = c.query(t, findDocuments(xuaPatient))
				} else {
					_, err = c.retrieve(t, false, ebrim.DocumentRequest{HomeCommunityID: testHome,
						RepositoryUniqueID: registry.SampleRepositoryUniqueID, DocumentUniqueID: registry.SampleUniqueID(7001, 0)})
				}
				wantSecurityFault(t, err, tc.subcode)
				recs := h.since(seq)
				if len(recs) != 1 || recs[0].Outcome != audit.OutcomeDeny || recs[0].Rule != "authentication" || recs[0].Transaction != tx {
					t.Fatalf("%s: records %+v, want one refusal", tx, recs)
				}
			}
		})
	}
	t.Run("a system (the --dev loopback) is answered unfiltered", func(t *testing.T) {
		hs := newHarness(t, options{devLoopback: true})
		hs.seed()
		c := xcaXUA(hs, nil)
		var res *registry.QueryResult
		rec := hs.oneRecord(t, func() {
			var rr registry.Response
			var err error
			res, rr, _, err = c.query(t, findDocuments(patientP))
			if err != nil || rr.Status != registry.ResponseSuccess {
				t.Fatalf("%v %+v", err, rr)
			}
		})
		if len(res.Documents) != 5 || rec.Actor.Kind != audit.ActorSystem || rec.Gateway != "dev loopback" || rec.Transaction != audit.TxITI38 {
			t.Fatalf("%d documents, record %+v", len(res.Documents), rec)
		}
	})
}

// A calling gateway that authenticates with its certificate (mutual TLS)
// is a system: answered, and named in the audit record by its
// certificate; a certificate of an untrusted CA is no credential.
func TestXCARespondingMutualTLS(t *testing.T) {
	ca := newCA(t, "pjd test enterprise CA")
	h := newHarness(t, options{clientCAs: ca.pool})
	h.seed()
	caller := func(cert tls.Certificate) xcaCaller {
		tr := h.srv.Client().Transport.(*http.Transport).Clone()
		tr.TLSClientConfig.Certificates = []tls.Certificate{cert}
		return xcaCaller{c: &soap.Client{HTTP: &http.Client{Transport: tr}}, url: h.base + xca.RespondingPath}
	}
	gw := ca.clientCert(t, orgSubject("Helse Vest XCA initiating gateway", "Helse Vest IKT AS", "NTRNO-"+registry.SampleOrgnr, ""))
	var res *registry.QueryResult
	rec := h.oneRecord(t, func() {
		var rr registry.Response
		var err error
		res, rr, _, err = caller(gw).query(t, findDocuments(patientP))
		if err != nil || rr.Status != registry.ResponseSuccess {
			t.Fatalf("%v %+v", err, rr)
		}
	})
	if len(res.Documents) != 5 || rec.Actor.Kind != audit.ActorSystem || rec.Credential != string(trust.CredentialMTLS) ||
		!strings.Contains(rec.Gateway, "certificate ") || !strings.Contains(rec.Gateway, "Helse Vest XCA initiating gateway") {
		t.Fatalf("%d documents, record %+v", len(res.Documents), rec)
	}
	rogue := newCA(t, "rogue CA").clientCert(t, orgSubject("Rogue gateway", "Rogue", "NTRNO-"+registry.SampleOrgnr, ""))
	_, _, _, err := caller(rogue).query(t, findDocuments(patientP))
	if err == nil {
		t.Fatal("a certificate of an untrusted CA was answered")
	}
}

// Assertions minted by trust.XUAMinter (what pjd's initiating gateway
// sends) are answered by the responding gateway: a health worker's for
// the attested patient, a citizen's for their own documents; a citizen
// asking about someone else is refused and audited.
func TestXCARespondingMintedAssertions(t *testing.T) {
	s := newXUASigner(t)
	const issuer, audience = "https://pjd.test/dev/xua", testHome
	sv, err := trust.NewSAMLVerifier(trust.SAMLConfig{TrustedCertificates: []*x509.Certificate{s.cert},
		Issuers: []string{issuer}, Audiences: []string{audience}})
	if err != nil {
		t.Fatal(err)
	}
	h := newHarness(t, options{saml: sv})
	h.seed()
	m := &trust.XUAMinter{Signer: s.SAMLSigner, Issuer: issuer, HomeCommunityID: "urn:oid:2.16.578.1.12.4.1.7.1.1"}
	caller := func(p *trust.Principal) xcaCaller {
		a, err := m.Mint(p, audience)
		if err != nil {
			t.Fatal(err)
		}
		return xcaXUA(h, trust.SecurityHeader(a, time.Now()))
	}
	gp := mustPersona("fastlege")
	now := time.Now()
	worker := &trust.Principal{Credential: trust.CredentialHelseIDDPoP, Kind: trust.HealthWorker, Subject: gp.PID, Name: gp.Name,
		HPRNumber: gp.HPRNumber, Authorization: gp.Authorization, SecurityLevel: 4, LegalEntity: gp.LegalEntity, PointOfCare: gp.PointOfCare,
		PurposeOfUse: gp.PurposeOfUse, PurposeOfUseDetails: gp.PurposeOfUseDetails, HealthcareService: gp.HealthcareService,
		DecisionRef: trust.DecisionRef{ID: "3f2a6c1e-8b7d-4e2f-9a1b-5c6d7e8f9a0b", UserSelected: true}, AttestedAt: now, ExpiresAt: now.Add(time.Hour),
		Patients:       []trust.AttestedPatient{{Identifier: trust.Identifier{ID: patientP, System: "urn:oid:" + oid.FNR}}},
		HasAttestation: true, Client: gp.Client, Scopes: gp.Scopes}
	cit := mustPersona("citizen")
	citizen := &trust.Principal{Credential: trust.CredentialHelseIDDPoP, Kind: trust.Citizen, Subject: cit.PID, Name: cit.Name,
		SecurityLevel: 4, ExpiresAt: now.Add(time.Hour), Client: cit.Client, Scopes: cit.Scopes}

	for _, tc := range []struct {
		name    string
		p       *trust.Principal
		patient string
		docs    int
		actor   audit.ActorKind
		outcome audit.Outcome
	}{
		{"health worker, attested patient", worker, patientP, 4, audit.ActorHealthWorker, audit.OutcomePermit}, // the NORS one hidden
		{"citizen, own documents", citizen, citizenID, 1, audit.ActorCitizen, audit.OutcomePermit},
		{"citizen, someone else", citizen, patientP, 0, audit.ActorCitizen, audit.OutcomeDeny},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var res *registry.QueryResult
			var rr registry.Response
			rec := h.oneRecord(t, func() {
				var err error
				res, rr, _, err = caller(tc.p).query(t, findDocuments(tc.patient))
				if err != nil {
					t.Fatal(err)
				}
			})
			if len(res.Documents) != tc.docs || (tc.outcome == audit.OutcomePermit) != (rr.Status == registry.ResponseSuccess) {
				t.Fatalf("%d documents, %+v", len(res.Documents), rr)
			}
			if rec.Transaction != audit.TxITI38 || rec.Actor.Kind != tc.actor || rec.Outcome != tc.outcome || rec.Credential != string(trust.CredentialXUASAML) ||
				!strings.Contains(rec.Gateway, "community urn:oid:2.16.578.1.12.4.1.7.1.1") {
				t.Fatalf("record %+v", rec)
			}
		})
	}
}
