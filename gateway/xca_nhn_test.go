package gateway_test

import (
	"bytes"
	"crypto/x509"
	"encoding/base64"
	"io"
	"mime"
	"mime/multipart"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/beevik/etree"

	"pjd/gateway/audit"
	"pjd/gateway/xca"
	"pjd/registry"
	"pjd/registry/ebrim"
	"pjd/trust"
	"pjd/trust/policy"
)

// NHN's published XCA samples, sent to /xca/responding byte for byte as
// published (their WS-Addressing headers with mustUnderstand, NHN's To
// address, the bare-OID HomeCommunityId), with a fixed clock inside their
// validity (2025-07-31 18:49:15–19:49:15):
//
//   - as published they are refused: NHN pretty-printed (and, S-KJ38,
//     hand-edited) them after signing, so even with NHN's own certificate
//     trusted the signature does not verify (research digest §3.6);
//   - re-signed with a trusted test key they are answered: S-KJ39 with the
//     document (the RG configured with its HomeCommunityId
//     2.16.578.1.12.4.5.100.1 and RepositoryUniqueId
//     2.16.578.1.12.4.5.100.1.2); S-KJ38 asks about patient 17855599120
//     while its assertion is attested for 29698496140, so "answered
//     correctly" is the documented denial (RuleAttestationPatientBinding,
//     audited) for the sample as is, and a Success with the documents for
//     the sample with its query aligned to the attested patient (digest
//     §3.7).

const (
	nhnRepository = "2.16.578.1.12.4.5.100.1.2"
	nhnDocument   = "13fa8361-dd8f-43fd-a33c-93f3237306c3" // S-KJ39's DocumentUniqueId (a UUID)
)

func nhnSample(t *testing.T, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("..", "testdata", "trust", "saml", name))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// nhnCert is the certificate in a sample's KeyInfo (NHN's HelseID test
// signer).
func nhnCert(t *testing.T, sample []byte) *x509.Certificate {
	t.Helper()
	doc := etree.NewDocument()
	if err := doc.ReadFromBytes(sample); err != nil {
		t.Fatal(err)
	}
	el := doc.FindElement("//X509Certificate")
	der, err := base64.StdEncoding.DecodeString(strings.Join(strings.Fields(el.Text()), ""))
	if err != nil {
		t.Fatal(err)
	}
	c, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// resign replaces the sample's assertion signature with s's; edit (may be
// nil) changes the envelope before signing. Nothing else of the sample
// changes (no re-indentation).
func resign(t *testing.T, sample []byte, s *xuaSigner, edit func(doc *etree.Document)) []byte {
	t.Helper()
	doc := etree.NewDocument()
	if err := doc.ReadFromBytes(sample); err != nil {
		t.Fatal(err)
	}
	if edit != nil {
		edit(doc)
	}
	s.sign(t, doc.FindElement("//Assertion"))
	b, err := doc.WriteToBytes()
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// newNHNHarness serves the samples' community and repository, trusting
// the test signer and NHN's own certificate, with the clock inside the
// samples' validity; patient 29698496140 has documents, one of them
// S-KJ39's.
func newNHNHarness(t *testing.T, s *xuaSigner) *harness {
	t.Helper()
	sv, err := trust.NewSAMLVerifier(trust.SAMLConfig{
		TrustedCertificates: []*x509.Certificate{s.cert, nhnCert(t, nhnSample(t, "xca_iti39_request_helseid_saml_kj.xml"))},
		Issuers:             []string{"https://helseid-xdssaml.test.nhn.no"}, Audiences: []string{"nhn:dokumentdeling-saml"},
		Now: func() time.Time { return xuaNow }})
	if err != nil {
		t.Fatal(err)
	}
	h := newHarness(t, options{saml: sv, now: func() time.Time { return xuaNow }, home: testHome, repositoryID: nhnRepository})
	sub := registry.SampleSubmission(registry.SampleOptions{Patient: cx(xuaPatient), Documents: 2, Seq: 7101})
	sub.Documents[0].UniqueID = nhnDocument
	h.provide(sub, 7101)
	return h
}

// post sends a raw SOAP 1.2 envelope to /xca/responding.
func post(t *testing.T, h *harness, action string, envelope []byte) *http.Response {
	t.Helper()
	req, err := http.NewRequest(http.MethodPost, h.base+xca.RespondingPath, bytes.NewReader(envelope))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", `application/soap+xml; charset=utf-8; action="`+action+`"`)
	resp, err := h.srv.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { resp.Body.Close() })
	return resp
}

// soapBody reads a SOAP response (plain or MTOM) and returns the Body's
// child, the fault if it is one, and the MTOM attachments by Content-ID.
func soapBody(t *testing.T, resp *http.Response) (*etree.Element, map[string][]byte) {
	t.Helper()
	mt, params, err := mime.ParseMediaType(resp.Header.Get("Content-Type"))
	if err != nil {
		t.Fatal(err)
	}
	parts := map[string][]byte{}
	var root []byte
	if mt == "multipart/related" {
		mr := multipart.NewReader(resp.Body, params["boundary"])
		for i := 0; ; i++ {
			p, err := mr.NextPart()
			if err == io.EOF {
				break
			}
			if err != nil {
				t.Fatal(err)
			}
			b, err := io.ReadAll(p)
			if err != nil {
				t.Fatal(err)
			}
			if i == 0 {
				root = b
			} else {
				parts[strings.Trim(p.Header.Get("Content-ID"), "<>")] = b
			}
		}
	} else if root, err = io.ReadAll(resp.Body); err != nil {
		t.Fatal(err)
	}
	doc := etree.NewDocument()
	if err := doc.ReadFromBytes(root); err != nil {
		t.Fatalf("%v\n%s", err, root)
	}
	body := doc.FindElement("/Envelope/Body")
	if body == nil || len(body.ChildElements()) != 1 {
		t.Fatalf("no SOAP body: %s", root)
	}
	return body.ChildElements()[0], parts
}

func TestNHNSamplesAsPublishedAreRefused(t *testing.T) {
	s := newXUASigner(t)
	h := newNHNHarness(t, s)
	for _, c := range []struct {
		sample, action, tx string
	}{
		{"xca_iti38_request_helseid_saml_trustframework_kj.xml", xca.ActionCrossGatewayQuery, audit.TxITI38},
		{"xca_iti39_request_helseid_saml_kj.xml", xca.ActionCrossGatewayRetrieve, audit.TxITI39},
	} {
		t.Run(c.sample, func(t *testing.T) {
			seq := h.head()
			resp := post(t, h, c.action, nhnSample(t, c.sample))
			fault, _ := soapBody(t, resp)
			if resp.StatusCode != http.StatusBadRequest || fault.Tag != "Fault" ||
				fault.FindElement("./Code/Subcode/Value") == nil || !strings.HasSuffix(fault.FindElement("./Code/Subcode/Value").Text(), "FailedAuthentication") {
				t.Fatalf("HTTP %d, %s: want a wsse:FailedAuthentication fault", resp.StatusCode, fault.Tag)
			}
			recs := h.since(seq)
			if len(recs) != 1 || recs[0].Outcome != audit.OutcomeDeny || recs[0].Rule != "authentication" || recs[0].Transaction != c.tx {
				t.Fatalf("records %+v", recs)
			}
		})
	}
}

func TestNHNSamplesResignedAreAnswered(t *testing.T) {
	s := newXUASigner(t)
	h := newNHNHarness(t, s)

	t.Run("S-KJ39: the document, HomeCommunityId echoed as sent, MTOM", func(t *testing.T) {
		var body *etree.Element
		var parts map[string][]byte
		rec := h.oneRecord(t, func() {
			resp := post(t, h, xca.ActionCrossGatewayRetrieve, resign(t, nhnSample(t, "xca_iti39_request_helseid_saml_kj.xml"), s, nil))
			if resp.StatusCode != http.StatusOK {
				t.Fatalf("HTTP %d", resp.StatusCode)
			}
			body, parts = soapBody(t, resp)
		})
		rr, docs, err := ebrim.ParseRetrieveDocumentSetResponse(body)
		if err != nil || rr.Status != registry.ResponseSuccess || len(docs) != 1 {
			t.Fatalf("%v %+v %+v", err, rr, docs)
		}
		d := docs[0]
		if d.HomeCommunityID != "2.16.578.1.12.4.5.100.1" || d.RepositoryUniqueID != nhnRepository || d.DocumentUniqueID != nhnDocument {
			t.Fatalf("DocumentResponse %+v", d)
		}
		if got := parts[strings.TrimPrefix(d.IncludeHref, "cid:")]; !bytes.Equal(got, registry.SampleDocument(7101, 0, cx(xuaPatient))) {
			t.Fatalf("document bytes differ (%d bytes)", len(got))
		}
		if rec.Transaction != audit.TxITI39 || rec.Outcome != audit.OutcomePermit || rec.PatientID != xuaPatient || rec.Actor.PID != "06828399789" {
			t.Fatalf("record %+v", rec)
		}
	})
	t.Run("S-KJ38 as is: the documented denial (another patient than attested)", func(t *testing.T) {
		var body *etree.Element
		rec := h.oneRecord(t, func() {
			resp := post(t, h, xca.ActionCrossGatewayQuery, resign(t, nhnSample(t, "xca_iti38_request_helseid_saml_trustframework_kj.xml"), s, nil))
			body, _ = soapBody(t, resp)
		})
		_, rr, err := ebrim.ParseAdhocQueryResponse(body)
		if err != nil || rr.Status != registry.ResponseFailure || len(rr.Errors) != 1 ||
			!strings.Contains(rr.Errors[0].Context, policy.RuleAttestationPatientBinding) || rr.Errors[0].Location != testHome {
			t.Fatalf("%v %+v", err, rr)
		}
		if rec.Transaction != audit.TxITI38 || rec.Outcome != audit.OutcomeDeny || rec.Rule != policy.RuleAttestationPatientBinding {
			t.Fatalf("record %+v", rec)
		}
	})
	t.Run("S-KJ38 with the query aligned to the attested patient: Success with home", func(t *testing.T) {
		env := resign(t, nhnSample(t, "xca_iti38_request_helseid_saml_trustframework_kj.xml"), s, func(doc *etree.Document) {
			for _, v := range doc.FindElements("//Body//Value") {
				v.SetText(strings.ReplaceAll(v.Text(), "17855599120", xuaPatient))
			}
		})
		body, _ := soapBody(t, post(t, h, xca.ActionCrossGatewayQuery, env))
		res, rr, err := ebrim.ParseAdhocQueryResponse(body)
		if err != nil || rr.Status != registry.ResponseSuccess || len(res.Documents) != 2 {
			t.Fatalf("%v %+v, %d documents", err, rr, len(res.Documents))
		}
		if got, missing := homes(body); missing != 0 || got[testHome] != 2 {
			t.Fatalf("homes %v", got)
		}
	})
}
