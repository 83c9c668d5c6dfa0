package gateway_test

import (
	"bytes"
	"context"
	"crypto/x509"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/beevik/etree"

	"pjd/gateway/audit"
	"pjd/gateway/soap"
	"pjd/gateway/xdsclient"
	"pjd/registry"
	"pjd/repository"
	"pjd/trust"
	"pjd/trust/policy"
)

// XUA: a person's ITI-18 and ITI-43 over SOAP carry a SAML assertion and
// get the same policy as MHD. The assertion is NHN's published ITI-38
// sample (a synthetic GP attested for patient 29698496140), re-signed with
// a test key; the clocks are pinned inside its validity.

var (
	xuaNow     = time.Date(2025, 7, 31, 19, 0, 0, 0, time.UTC)
	xuaPatient = "29698496140"
)

// xuaSecurity returns a wsse:Security header with the sample assertion,
// re-signed by s; mutate (may be nil) changes the assertion after signing.
func xuaSecurity(t *testing.T, s *xuaSigner, mutate func(a *etree.Element)) *etree.Element {
	t.Helper()
	return xuaSecurityFor(t, s, xuaPatient, mutate)
}

// xuaSecurityFor is xuaSecurity with the assertion attested for patient
// (before it is signed).
func xuaSecurityFor(t *testing.T, s *xuaSigner, patient string, mutate func(a *etree.Element)) *etree.Element {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("..", "testdata", "trust", "saml", "xca_iti38_request_helseid_saml_trustframework_kj.xml"))
	if err != nil {
		t.Fatal(err)
	}
	b = bytes.ReplaceAll(b, []byte(xuaPatient), []byte(patient))
	doc := etree.NewDocument()
	if err := doc.ReadFromBytes(b); err != nil {
		t.Fatal(err)
	}
	var assertion *etree.Element
	for _, el := range doc.FindElements("//Assertion") {
		assertion = el
	}
	if assertion == nil {
		t.Fatal("no assertion in the sample")
	}
	sec := etree.NewElement("wsse:Security")
	sec.CreateAttr("xmlns:wsse", soap.NSSecurity)
	a := assertion.Copy()
	sec.AddChild(a)
	s.sign(t, a)
	if mutate != nil {
		mutate(a)
	}
	// As a receiver would see it: serialised and parsed again.
	out := etree.NewDocument()
	out.SetRoot(sec)
	raw, err := out.WriteToBytes()
	if err != nil {
		t.Fatal(err)
	}
	back := etree.NewDocument()
	if err := back.ReadFromBytes(raw); err != nil {
		t.Fatal(err)
	}
	return back.Root()
}

func xuaClient(h *harness, sec *etree.Element) *xdsclient.Client {
	c := xdsclient.New(h.base, h.srv.Client())
	c.SOAP.Headers = func(context.Context, string) ([]*etree.Element, error) { return []*etree.Element{sec.Copy()}, nil }
	return c
}

func newXUAHarness(t *testing.T, s *xuaSigner) *harness {
	t.Helper()
	sv, err := trust.NewSAMLVerifier(trust.SAMLConfig{TrustedCertificates: []*x509.Certificate{s.cert},
		Issuers: []string{"https://helseid-xdssaml.test.nhn.no"}, Audiences: []string{"nhn:dokumentdeling-saml"},
		Now: func() time.Time { return xuaNow }})
	if err != nil {
		t.Fatal(err)
	}
	h := newHarness(t, options{saml: sv, now: func() time.Time { return xuaNow }})
	mixed := registry.SampleSubmission(registry.SampleOptions{Patient: cx(xuaPatient), Documents: 2, Folder: true, Seq: 7001})
	mixed.Documents[1].Confidentiality = []registry.Code{confNORS}
	h.provide(mixed, 7001)
	h.seed()
	return h
}

func TestXUAQueryAndRetrieve(t *testing.T) {
	ctx := context.Background()
	s := newXUASigner(t)
	h := newXUAHarness(t, s)
	c := xuaClient(h, xuaSecurity(t, s, nil))
	normal, nors := registry.SampleUniqueID(7001, 0), registry.SampleUniqueID(7001, 1)

	t.Run("ITI-18 LeafClass", func(t *testing.T) {
		var res *registry.QueryResult
		rec := h.oneRecord(t, func() {
			var rr registry.Response
			var err error
			res, rr, err = c.Query(ctx, getAll(xuaPatient, registry.ReturnLeafClass))
			if err != nil || rr.Status != registry.ResponseSuccess {
				t.Fatalf("query: %v %+v", err, rr)
			}
		})
		var got []string
		for _, d := range res.Documents {
			got = append(got, d.UniqueID)
		}
		if !slices.Equal(got, []string{normal}) {
			t.Fatalf("documents %v, want only %s", got, normal)
		}
		ids := map[string]bool{}
		for _, d := range res.Documents {
			ids[d.ID] = true
		}
		for _, x := range res.SubmissionSets {
			ids[x.ID] = true
		}
		for _, x := range res.Folders {
			ids[x.ID] = true
		}
		for _, a := range res.Associations {
			ids[a.ID] = true
		}
		for _, a := range res.Associations {
			if !ids[a.Source] || !ids[a.Target] {
				t.Fatalf("association %s names something the answer does not hold", a.ID)
			}
		}
		if rec.Credential != string(trust.CredentialXUASAML) || rec.Actor.Kind != audit.ActorHealthWorker || rec.Actor.HPR != "565505933" ||
			rec.Rule != policy.RuleHealthWorkerCare || rec.PatientID != xuaPatient || rec.HiddenNORS != 1 || rec.Transaction != audit.TxITI18 {
			t.Fatalf("record %+v", rec)
		}
	})
	t.Run("ITI-18 ObjectRef", func(t *testing.T) {
		res, rr, err := c.Query(ctx, getAll(xuaPatient, registry.ReturnObjectRef))
		if err != nil || rr.Status != registry.ResponseSuccess {
			t.Fatalf("query: %v %+v", err, rr)
		}
		entries, _ := h.reg.Reader().Documents(ctx, registry.DocumentFilter{UniqueIDs: []string{nors}})
		if len(res.Refs) == 0 || slices.Contains(res.Refs, entries[0].ID) {
			t.Fatalf("refs %v include the NORS document %s", res.Refs, entries[0].ID)
		}
	})
	t.Run("ITI-18 about another patient", func(t *testing.T) {
		res, rr, err := c.Query(ctx, findDocuments(patientP))
		if err != nil || rr.Status != registry.ResponseFailure || len(res.Documents) != 0 || len(rr.Errors) != 1 ||
			!strings.Contains(rr.Errors[0].Context, policy.RuleAttestationPatientBinding) {
			t.Fatalf("query about another patient: %v %+v %+v", err, rr, res)
		}
	})
	// Asking by uniqueId for another patient's document must look exactly
	// like asking for one that does not exist.
	t.Run("ITI-18 for another patient's document", func(t *testing.T) {
		byUID := func(uid string) (*registry.QueryResult, registry.Response) {
			q := &registry.Query{ID: registry.QueryGetDocuments, ReturnType: registry.ReturnLeafClass, Params: []registry.Slot{
				{Name: registry.ParamDocumentEntryUniqueID, Values: []string{"('" + uid + "')"}}}}
			res, rr, err := c.Query(ctx, q)
			if err != nil {
				t.Fatal(err)
			}
			return res, rr
		}
		otherRes, otherRR := byUID(uidQ)
		unknownRes, unknownRR := byUID(uidUnknown)
		if otherRR.Status != unknownRR.Status || len(otherRR.Errors) != len(unknownRR.Errors) || otherRes.Len() != unknownRes.Len() {
			t.Fatalf("another patient's document: %+v %+v; an unknown one: %+v %+v", otherRR, otherRes, unknownRR, unknownRes)
		}
		if otherRes.Len() != 0 {
			t.Fatal("another patient's document was returned")
		}
	})
	t.Run("ITI-43", func(t *testing.T) {
		got := retrieveAll(t, c, []repository.DocumentRequest{
			{RepositoryUniqueID: registry.SampleRepositoryUniqueID, DocumentUniqueID: normal},
			{RepositoryUniqueID: registry.SampleRepositoryUniqueID, DocumentUniqueID: nors},
			{RepositoryUniqueID: registry.SampleRepositoryUniqueID, DocumentUniqueID: uidUnknown},
		})
		if got.err != nil || got.status != registry.ResponsePartialSuccess || len(got.docs) != 1 ||
			!bytes.Equal(got.docs[normal], registry.SampleDocument(7001, 0, cx(xuaPatient))) {
			t.Fatalf("retrieve: %+v", got)
		}
		var refused []string
		for _, e := range got.errors {
			if e.Code != registry.ErrCodeDocumentUniqueIDError {
				t.Fatalf("error %+v", e)
			}
			refused = append(refused, e.Location)
		}
		slices.Sort(refused)
		if want := []string{uidUnknown, nors}; !slices.Equal(refused, sortedCopy(want)) {
			t.Fatalf("refused %v, want %v", refused, want)
		}
	})
	t.Run("ITI-41 is for sources", func(t *testing.T) {
		sub := registry.SampleSubmission(registry.SampleOptions{Patient: cx(xuaPatient), Seq: 7002})
		_, err := c.Provide(ctx, sub, []xdsclient.Document{{ID: "Document01", Body: bytes.NewReader(registry.SampleDocument(7002, 0, cx(xuaPatient)))}})
		wantSecurityFault(t, err, "FailedAuthentication")
		_, err = c.Register(ctx, sub)
		wantSecurityFault(t, err, "FailedAuthentication")
	})
}

func sortedCopy(s []string) []string {
	s = slices.Clone(s)
	slices.Sort(s)
	return s
}

func TestXUARejections(t *testing.T) {
	ctx := context.Background()
	s := newXUASigner(t)
	h := newXUAHarness(t, s)
	for _, c := range []struct {
		name    string
		sec     *etree.Element
		subcode string
	}{
		{"tampered after signing", xuaSecurity(t, s, func(a *etree.Element) {
			a.FindElement(".//NameID").SetText("12887040093")
		}), "FailedAuthentication"},
		{"signed by an untrusted key", xuaSecurity(t, newXUASigner(t), nil), "FailedAuthentication"},
	} {
		t.Run(c.name, func(t *testing.T) {
			seq := h.head()
			_, _, err := xuaClient(h, c.sec).Query(ctx, findDocuments(xuaPatient))
			var f *soap.Fault
			if !errors.As(err, &f) || f.Code != soap.CodeSender || len(f.Subcodes) != 1 || f.Subcodes[0].Space != soap.NSSecurity {
				t.Fatalf("err = %v, want a WS-Security fault", err)
			}
			if c.subcode != "" && f.Subcodes[0].Local != c.subcode && f.Subcodes[0].Local != "InvalidSecurityToken" {
				t.Fatalf("subcode %s", f.Subcodes[0].Local)
			}
			if strings.Contains(f.Reason, "goxmldsig") || strings.Contains(f.Reason, "x509") {
				t.Fatalf("internal detail in the fault: %q", f.Reason)
			}
			recs := h.since(seq)
			if len(recs) != 1 || recs[0].Outcome != audit.OutcomeDeny || recs[0].Rule != "authentication" ||
				recs[0].Actor.Kind != audit.ActorUnknown || recs[0].Transaction != audit.TxITI18 {
				t.Fatalf("records %+v, want one refusal of ITI-18", recs)
			}
		})
	}
	// An endpoint that does not accept XUA says so.
	noSAML := newHarness(t, options{})
	_, _, err := xuaClient(noSAML, xuaSecurity(t, s, nil)).Query(ctx, findDocuments(xuaPatient))
	var f *soap.Fault
	if !errors.As(err, &f) || len(f.Subcodes) != 1 || f.Subcodes[0].Space != soap.NSSecurity {
		t.Fatalf("XUA at an endpoint without SAML: %v", err)
	}
	// A Security header with only a timestamp is not a credential.
	ts := etree.NewElement("wsse:Security")
	ts.CreateAttr("xmlns:wsse", soap.NSSecurity)
	u := ts.CreateElement("wsu:Timestamp")
	u.CreateAttr("xmlns:wsu", "http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-wssecurity-utility-1.0.xsd")
	u.CreateElement("wsu:Created").SetText("2025-07-31T18:59:00Z")
	_, _, err = xuaClient(h, ts).Query(ctx, findDocuments(xuaPatient))
	wantSecurityFault(t, err, "SecurityTokenUnavailable")
}
