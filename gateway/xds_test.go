package gateway_test

import (
	"bytes"
	"context"
	"crypto/tls"
	"errors"
	"io"
	"io/fs"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"pjd/gateway/audit"
	"pjd/gateway/soap"
	"pjd/gateway/xdsclient"
	"pjd/registry"
	"pjd/registry/ebrim"
	"pjd/registry/oid"
	"pjd/repository"
)

func findDocuments(patient string) *registry.Query {
	return &registry.Query{ID: registry.QueryFindDocuments, ReturnType: registry.ReturnLeafClass, Params: []registry.Slot{
		{Name: registry.ParamDocumentEntryPatientID, Values: []string{"'" + cx(patient) + "'"}},
		{Name: registry.ParamDocumentEntryStatus, Values: []string{"('" + registry.StatusApproved + "')"}},
	}}
}

func getAll(patient, returnType string) *registry.Query {
	st := "('" + registry.StatusApproved + "')"
	return &registry.Query{ID: registry.QueryGetAll, ReturnType: returnType, Params: []registry.Slot{
		{Name: registry.ParamPatientID, Values: []string{"'" + cx(patient) + "'"}},
		{Name: registry.ParamDocumentEntryStatus, Values: []string{st}},
		{Name: registry.ParamSubmissionSetStatus, Values: []string{st}},
		{Name: registry.ParamFolderStatus, Values: []string{st}},
	}}
}

// Action dispatch, response Actions and RelatesTo, and a protocol-correct
// answer to every kind of bad request, read off the wire.
func TestXDSDispatchAndFaults(t *testing.T) {
	h := newHarness(t, options{devLoopback: true})
	h.seed()
	query := elementString(t, ebrim.EncodeAdhocQueryRequest(findDocuments(patientP)))
	submit := elementString(t, ebrim.EncodeSubmitObjectsRequest(registry.SampleSubmission(registry.SampleOptions{Patient: cx(patientP)})))
	type row struct {
		name     string
		path     string
		fixture  string
		action   string
		body     string
		ct       string // default SOAP 1.2 with the action
		status   int
		respAct  string // wsa:Action of the response
		bodyTag  string // the response body element
		rStatus  string // its status attribute
		errCodes []string
		code     string // fault code
		subcode  string
		related  bool // RelatesTo must be the request's MessageID
	}
	rows := []row{
		{name: "ITI-18 answered with its response action", path: "/xds/registry", fixture: "envelope.xml", action: ebrim.ActionStoredQuery,
			body: query, status: 200, respAct: ebrim.ActionStoredQuery + "Response", bodyTag: "AdhocQueryResponse",
			rStatus: registry.ResponseSuccess, related: true},
		{name: "unknown action", path: "/xds/registry", fixture: "envelope.xml", action: "urn:example:no-such-action",
			body: query, status: 400, respAct: soap.ActionAddressingFault, bodyTag: "Fault", code: "Sender", subcode: "ActionNotSupported", related: true},
		{name: "repository action at the registry", path: "/xds/registry", fixture: "envelope.xml", action: ebrim.ActionRetrieve,
			body: query, status: 400, bodyTag: "Fault", code: "Sender", subcode: "ActionNotSupported", related: true},
		{name: "registry action at the repository", path: "/xds/repository", fixture: "envelope.xml", action: ebrim.ActionStoredQuery,
			body: query, status: 400, bodyTag: "Fault", code: "Sender", subcode: "ActionNotSupported", related: true},
		{name: "ITI-18 of an unknown stored query", path: "/xds/registry", fixture: "envelope.xml", action: ebrim.ActionStoredQuery,
			body:   strings.Replace(query, registry.QueryFindDocuments, "urn:uuid:00000000-0000-4000-8000-000000000000", 1),
			status: 200, respAct: ebrim.ActionStoredQuery + "Response", bodyTag: "AdhocQueryResponse",
			rStatus: registry.ResponseFailure, errCodes: []string{registry.ErrCodeUnknownStoredQuery}, related: true},
		{name: "malformed envelope", path: "/xds/registry", fixture: "malformed.xml", action: ebrim.ActionStoredQuery,
			status: 400, bodyTag: "Fault", code: "Sender"},
		{name: "entity expansion", path: "/xds/registry", fixture: "entity_expansion.xml", action: ebrim.ActionStoredQuery,
			status: 400, bodyTag: "Fault", code: "Sender"},
		{name: "not SOAP at all", path: "/xds/registry", fixture: "envelope.xml", action: ebrim.ActionStoredQuery, body: query,
			ct: "application/json", status: 415, bodyTag: "Fault", code: "Sender"},
	}
	// Each transaction with another transaction's body: a Failure in its
	// own response, with the code it answers a malformed request with.
	for _, w := range []struct{ tx, path, action, body, bodyTag, code string }{
		{"ITI-18", "/xds/registry", ebrim.ActionStoredQuery, submit, "AdhocQueryResponse", registry.ErrCodeRegistryError},
		{"ITI-42", "/xds/registry", ebrim.ActionRegister, query, "RegistryResponse", registry.ErrCodeRegistryMetadataError},
		{"ITI-41", "/xds/repository", ebrim.ActionProvide, query, "RegistryResponse", registry.ErrCodeRepositoryMetadataError},
		{"ITI-57", "/xds/registry", ebrim.ActionUpdateDocumentSet, query, "RegistryResponse", registry.ErrCodeMetadataUpdateError},
		{"ITI-62", "/xds/registry", ebrim.ActionDeleteDocumentSet, query, "RegistryResponse", registry.ErrCodeRegistryError},
		{"ITI-86", "/xds/repository", ebrim.ActionRemoveDocuments, query, "RegistryResponse", registry.ErrCodeRepositoryError},
		{"ITI-51", "/xds/registry", ebrim.ActionMultiPatientQuery, submit, "AdhocQueryResponse", registry.ErrCodeRegistryError},
	} {
		rows = append(rows, row{name: w.tx + " with another transaction's body", path: w.path, fixture: "envelope.xml", action: w.action,
			body: w.body, status: 200, respAct: w.action + "Response", bodyTag: w.bodyTag,
			rStatus: registry.ResponseFailure, errCodes: []string{w.code}, related: true})
	}
	for i, r := range rows {
		t.Run(r.name, func(t *testing.T) {
			msgID := "urn:uuid:5d7b5c3a-0000-4000-8000-00000000000" + string(rune('a'+i))
			ct := r.ct
			if ct == "" {
				ct = soap12(r.action)
			}
			resp := h.postSOAP(t, r.path, ct, envelope(t, r.fixture, r.action, msgID, r.body), nil)
			if resp.status != r.status {
				t.Fatalf("HTTP %d, want %d\n%s", resp.status, r.status, resp.raw)
			}
			if r.respAct != "" && resp.action != r.respAct {
				t.Errorf("response action %q, want %q", resp.action, r.respAct)
			}
			if r.related && resp.relatesTo != msgID {
				t.Errorf("RelatesTo %q, want the request's MessageID %q", resp.relatesTo, msgID)
			}
			if resp.body == nil || resp.body.Tag != r.bodyTag {
				t.Fatalf("response body %v, want %s\n%s", resp.body, r.bodyTag, resp.raw)
			}
			if r.code != "" && (resp.code != r.code || r.subcode != "" && resp.subcode != r.subcode) {
				t.Errorf("fault %s/%s, want %s/%s", resp.code, resp.subcode, r.code, r.subcode)
			}
			if r.rStatus != "" {
				st, codes := registryErrors(resp.body)
				if st != r.rStatus || !slices.Equal(codes, r.errCodes) {
					t.Errorf("status %s errors %v, want %s %v", st, codes, r.rStatus, r.errCodes)
				}
			}
			if bytes.Contains(resp.raw, []byte("goroutine")) || bytes.Contains(resp.raw, []byte(".go:")) {
				t.Errorf("internal detail in the response:\n%s", resp.raw)
			}
		})
	}
	t.Run("SOAP 1.1 gets a version mismatch", func(t *testing.T) {
		hdr := http.Header{"SOAPAction": {`"` + ebrim.ActionStoredQuery + `"`}}
		hdr.Set("Content-Type", "text/xml; charset=UTF-8")
		resp := h.do(nil, http.MethodPost, "/xds/registry", bytes.NewReader(envelope(t, "soap11.xml", ebrim.ActionStoredQuery, "urn:uuid:1", query)), hdr)
		b := readBody(t, resp)
		if resp.StatusCode >= 200 && resp.StatusCode < 300 || !bytes.Contains(b, []byte("VersionMismatch")) {
			t.Fatalf("SOAP 1.1 answered %d:\n%s", resp.StatusCode, b)
		}
	})
	t.Run("GET is not a SOAP request", func(t *testing.T) {
		resp := h.do(nil, http.MethodGet, "/xds/registry", nil, nil)
		if resp.StatusCode != http.StatusMethodNotAllowed && resp.StatusCode != http.StatusNotFound {
			t.Fatalf("GET answered %d", resp.StatusCode)
		}
	})
	t.Run("ITI-43 with another transaction's body", func(t *testing.T) {
		c := &soap.Client{HTTP: h.srv.Client()}
		resp, err := c.CallMTOM(context.Background(), h.base+"/xds/repository", ebrim.ActionRetrieve,
			ebrim.EncodeAdhocQueryRequest(findDocuments(patientP)), nil)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Close()
		if resp.Addressing.Action != ebrim.ActionRetrieve+"Response" {
			t.Fatalf("action %s", resp.Addressing.Action)
		}
		rr, docs, err := ebrim.ParseRetrieveDocumentSetResponse(resp.Body())
		if err != nil || rr.Status != registry.ResponseFailure || len(docs) != 0 || len(rr.Errors) != 1 ||
			rr.Errors[0].Code != registry.ErrCodeRepositoryError {
			t.Fatalf("response %+v %v %v", rr, docs, err)
		}
	})
}

// headerTransport adds headers to every request.
type headerTransport struct {
	base http.RoundTripper
	hdr  http.Header
}

func (t headerTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	r = r.Clone(r.Context())
	for k, v := range t.hdr {
		r.Header[k] = v
	}
	return t.base.RoundTrip(r)
}

// fromAddress is an xdsclient whose requests look as if they came from
// addr.
func (h *harness) fromAddress(addr string) *xdsclient.Client {
	hc := &http.Client{Transport: headerTransport{base: h.srv.Client().Transport, hdr: http.Header{remoteHeader: {addr}}}}
	return xdsclient.New(h.base, hc)
}

func wantSecurityFault(t *testing.T, err error, subcode string) {
	t.Helper()
	var f *soap.Fault
	if !errors.As(err, &f) {
		t.Fatalf("err = %v, want a SOAP fault", err)
	}
	if f.Code != soap.CodeSender || len(f.Subcodes) == 0 || f.Subcodes[0].Space != soap.NSSecurity || f.Subcodes[0].Local != subcode {
		t.Fatalf("fault %s %v (%q), want Sender wsse:%s", f.Code, f.Subcodes, f.Reason, subcode)
	}
	if errors.Is(err, xdsclient.ErrUnanswered) {
		t.Fatal("a fault is an answer, not ErrUnanswered")
	}
}

// Without a credential nothing is answered but a WS-Security fault: from
// another address than loopback even in --dev, and from loopback
// without --dev.
func TestXDSNoCredential(t *testing.T) {
	ctx := context.Background()
	dev := newHarness(t, options{devLoopback: true})
	dev.seed()
	prod := newHarness(t, options{})
	prod.seed()
	sub := registry.SampleSubmission(registry.SampleOptions{Patient: cx(patientP), Seq: 9001})
	for name, c := range map[string]*xdsclient.Client{
		"--dev, remote address":   dev.fromAddress("192.0.2.7:40000"),
		"--dev, IPv6 remote":      dev.fromAddress("[2001:db8::7]:40000"),
		"production, loopback":    prod.xds,
		"production, remote addr": prod.fromAddress("198.51.100.3:1234"),
	} {
		t.Run(name, func(t *testing.T) {
			h := dev
			if strings.HasPrefix(name, "production") {
				h = prod
			}
			seq := h.head()
			_, _, err := c.Query(ctx, findDocuments(patientP))
			wantSecurityFault(t, err, "SecurityTokenUnavailable")
			_, err = c.Register(ctx, sub)
			wantSecurityFault(t, err, "SecurityTokenUnavailable")
			_, err = c.Provide(ctx, sub, []xdsclient.Document{{ID: "Document01", MimeType: "text/plain",
				Body: bytes.NewReader(registry.SampleDocument(9001, 0, cx(patientP)))}})
			wantSecurityFault(t, err, "SecurityTokenUnavailable")
			_, err = c.Retrieve(ctx, []repository.DocumentRequest{{RepositoryUniqueID: registry.SampleRepositoryUniqueID, DocumentUniqueID: uidNormal}})
			wantSecurityFault(t, err, "SecurityTokenUnavailable")
			// The refused query and retrieval are audited (a source's
			// refused submission is only logged: it reads no data).
			recs := h.since(seq)
			if len(recs) != 2 || recs[0].Transaction != audit.TxITI18 || recs[1].Transaction != audit.TxITI43 {
				t.Fatalf("records %+v, want the refused ITI-18 and ITI-43", recs)
			}
			for _, r := range recs {
				if r.Outcome != audit.OutcomeDeny || r.Rule != "authentication" || r.Actor.Kind != audit.ActorUnknown || r.PatientID != "" {
					t.Fatalf("record %+v", r)
				}
			}
		})
	}
	if ds, _ := dev.reg.Reader().Documents(ctx, registry.DocumentFilter{UniqueIDs: []string{registry.SampleUniqueID(9001, 0)}}); len(ds) != 0 {
		t.Fatal("an unauthenticated source registered a document")
	}
	// IPv6 loopback is loopback.
	if _, rr, err := dev.fromAddress("[::1]:40000").Query(ctx, findDocuments(patientP)); err != nil || rr.Status != registry.ResponseSuccess {
		t.Fatalf("--dev from ::1: %v %+v", err, rr)
	}
	// The fault answers the request it refused.
	msgID := "urn:uuid:2b0b6f44-4a4a-4c1a-9d53-6a1d0c0f0001"
	resp := dev.postSOAP(t, "/xds/registry", soap12(ebrim.ActionStoredQuery),
		envelope(t, "envelope.xml", ebrim.ActionStoredQuery, msgID, elementString(t, ebrim.EncodeAdhocQueryRequest(findDocuments(patientP)))),
		http.Header{remoteHeader: {"192.0.2.7:40000"}})
	if resp.status != http.StatusBadRequest || resp.relatesTo != msgID || resp.subcode != "SecurityTokenUnavailable" {
		t.Fatalf("HTTP %d RelatesTo %q subcode %q, want 400, %q, SecurityTokenUnavailable", resp.status, resp.relatesTo, resp.subcode, msgID)
	}
}

// A source authenticates with its organisation certificate (mutual TLS)
// and may register for its own organisation only.
func TestXDSMutualTLS(t *testing.T) {
	ctx := context.Background()
	ca := newCA(t, "pjd test enterprise CA")
	h := newHarness(t, options{clientCAs: ca.pool})
	h.seed()
	client := func(cert *tls.Certificate) *xdsclient.Client {
		hc := h.srv.Client()
		tr := hc.Transport.(*http.Transport).Clone()
		if cert != nil {
			tr.TLSClientConfig.Certificates = []tls.Certificate{*cert}
		}
		return xdsclient.New(h.base, &http.Client{Transport: tr})
	}
	own := ca.clientCert(t, orgSubject("Syntetisk sykehus EPJ", "Syntetisk sykehus HF", "NTRNO-"+registry.SampleOrgnr, ""))
	ownBySerial := ca.clientCert(t, orgSubject("Syntetisk sykehus EPJ 2", "", "", registry.SampleOrgnr))
	foreign := ca.clientCert(t, orgSubject("Testsykehuset EPJ", "Testsykehuset HF", "NTRNO-910000047", ""))
	noOrg := ca.clientCert(t, orgSubject("Anonymous EPJ", "", "", ""))
	rogue := newCA(t, "rogue CA").clientCert(t, orgSubject("Rogue EPJ", "Rogue", "NTRNO-"+registry.SampleOrgnr, ""))

	provide := func(c *xdsclient.Client, seq uint64) (registry.Response, error) {
		sub := registry.SampleSubmission(registry.SampleOptions{Patient: cx(patientP), Seq: seq})
		return c.Provide(ctx, sub, []xdsclient.Document{{ID: "Document01", MimeType: "text/plain",
			Body: bytes.NewReader(registry.SampleDocument(seq, 0, cx(patientP)))}})
	}
	for _, c := range []struct {
		name string
		cert *tls.Certificate
		seq  uint64
		rule string // "" = registered
	}{
		{"own organisation (organizationIdentifier)", &own, 9101, ""},
		{"own organisation (serialNumber)", &ownBySerial, 9102, ""},
		{"another organisation", &foreign, 9103, "source-foreign-organisation"},
		{"no organisation number", &noOrg, 9104, "source-foreign-organisation"},
	} {
		t.Run(c.name, func(t *testing.T) {
			rr, err := provide(client(c.cert), c.seq)
			if err != nil {
				t.Fatal(err)
			}
			ds, _ := h.reg.Reader().Documents(ctx, registry.DocumentFilter{UniqueIDs: []string{registry.SampleUniqueID(c.seq, 0)}})
			if c.rule == "" {
				if rr.Status != registry.ResponseSuccess || len(ds) != 1 {
					t.Fatalf("refused: %+v", rr)
				}
				return
			}
			if rr.Status != registry.ResponseFailure || len(rr.Errors) != 1 || !strings.Contains(rr.Errors[0].Context, c.rule) || len(ds) != 0 {
				t.Fatalf("response %+v (%d registered), want a refusal by %s", rr, len(ds), c.rule)
			}
		})
	}
	t.Run("no certificate", func(t *testing.T) {
		_, err := provide(client(nil), 9105)
		wantSecurityFault(t, err, "SecurityTokenUnavailable")
	})
	t.Run("certificate of an untrusted CA", func(t *testing.T) {
		// A client offers only certificates of the CAs the server names,
		// so this one is not sent: no credential.
		_, err := provide(client(&rogue), 9106)
		wantSecurityFault(t, err, "SecurityTokenUnavailable")
		// Sent anyway, it fails the handshake.
		tr := h.srv.Client().Transport.(*http.Transport).Clone()
		tr.TLSClientConfig.GetClientCertificate = func(*tls.CertificateRequestInfo) (*tls.Certificate, error) { return &rogue, nil }
		_, err = provide(xdsclient.New(h.base, &http.Client{Transport: tr}), 9107)
		if !errors.Is(err, xdsclient.ErrUnanswered) {
			t.Fatalf("err = %v, want the TLS handshake to fail (ErrUnanswered)", err)
		}
	})
	t.Run("queries are audited as the system", func(t *testing.T) {
		var res *registry.QueryResult
		rec := h.oneRecord(t, func() {
			var err error
			var rr registry.Response
			res, rr, err = client(&own).Query(ctx, findDocuments(patientP))
			if err != nil || rr.Status != registry.ResponseSuccess {
				t.Fatalf("query: %v %+v", err, rr)
			}
		})
		// A system sees every document, NORS included.
		if len(res.Documents) != 7 {
			t.Fatalf("%d documents, want the 7 approved ones of the patient", len(res.Documents))
		}
		if rec.Transaction != audit.TxITI18 || rec.Outcome != audit.OutcomePermit || rec.Actor.Kind != audit.ActorSystem ||
			rec.Credential != "mtls" || rec.Client.OrgNr != registry.SampleOrgnr || rec.Actor.LegalEntity.ID != registry.SampleOrgnr ||
			rec.PatientID != patientP || rec.SourceIP != "127.0.0.1" || len(rec.Documents) != 7 {
			t.Fatalf("record %+v", rec)
		}
	})
}

// ITI-41 carries documents as MTOM attachments or inline base64; both are
// stored and come back byte for byte.
func TestXDSProvideAndRetrieve(t *testing.T) {
	ctx := context.Background()
	h := newHarness(t, options{devLoopback: true})
	sub := registry.SampleSubmission(registry.SampleOptions{Patient: cx(patientP), Documents: 2, Seq: 9201})
	docs := [][]byte{registry.SampleDocument(9201, 0, cx(patientP)), registry.SampleDocument(9201, 1, cx(patientP))}
	rr, err := h.xds.Provide(ctx, sub, []xdsclient.Document{
		{ID: "Document02", MimeType: "text/plain", Body: bytes.NewReader(docs[1])}, // parts in another order than the entries
		{ID: "Document01", MimeType: "text/plain", Body: bytes.NewReader(docs[0])},
	})
	if err != nil || rr.Status != registry.ResponseSuccess {
		t.Fatalf("MTOM provide: %+v %v", rr, err)
	}

	// Inline: plain SOAP, the document as base64 in xdsb:Document.
	inline := registry.SampleSubmission(registry.SampleOptions{Patient: cx(patientP), Seq: 9202})
	inlineDoc := registry.SampleDocument(9202, 0, cx(patientP))
	c := &soap.Client{HTTP: h.srv.Client()}
	resp, err := c.Call(ctx, h.base+"/xds/repository", ebrim.ActionProvide,
		ebrim.EncodeProvideAndRegister(inline, []ebrim.DocumentPart{{ID: "Document01", Inline: inlineDoc}}))
	if err != nil {
		t.Fatal(err)
	}
	irr, err := ebrim.ParseRegistryResponse(resp.Body())
	resp.Close()
	if err != nil || irr.Status != registry.ResponseSuccess || resp.Addressing.Action != ebrim.ActionProvide+"Response" {
		t.Fatalf("inline provide: %+v %v (action %s)", irr, err, resp.Addressing.Action)
	}

	want := map[string][]byte{registry.SampleUniqueID(9201, 0): docs[0], registry.SampleUniqueID(9201, 1): docs[1],
		registry.SampleUniqueID(9202, 0): inlineDoc}
	var reqs []repository.DocumentRequest
	for uid := range want {
		reqs = append(reqs, repository.DocumentRequest{RepositoryUniqueID: registry.SampleRepositoryUniqueID, DocumentUniqueID: uid})
	}
	reqs = append(reqs, repository.DocumentRequest{RepositoryUniqueID: registry.SampleRepositoryUniqueID, DocumentUniqueID: uidUnknown})
	reqs = append(reqs, repository.DocumentRequest{RepositoryUniqueID: "2.999.578.77", DocumentUniqueID: registry.SampleUniqueID(9201, 0)})
	got := retrieveAll(t, h.xds, reqs)
	if len(got.errors) != 2 || got.errors[1].Code != registry.ErrCodeUnknownRepositoryID {
		t.Fatalf("errors %+v, want XDSUnknownRepositoryId for the other repository", got.errors)
	}
	got.errors = got.errors[:1]
	if got.status != registry.ResponsePartialSuccess || len(got.errors) != 1 || got.errors[0].Code != registry.ErrCodeDocumentUniqueIDError ||
		got.errors[0].Location != uidUnknown {
		t.Fatalf("status %s errors %+v, want PartialSuccess with XDSDocumentUniqueIdError for %s", got.status, got.errors, uidUnknown)
	}
	if got.err != nil {
		t.Fatal(got.err)
	}
	for uid, b := range want {
		if !bytes.Equal(got.docs[uid], b) {
			t.Errorf("document %s: %q, want %q", uid, got.docs[uid], b)
		}
		if got.mime[uid] != "text/plain" {
			t.Errorf("document %s mimeType %q", uid, got.mime[uid])
		}
	}
}

type retrieved struct {
	status string
	errors registry.ErrorList
	docs   map[string][]byte
	mime   map[string]string
	err    error // the first error reading the parts
}

func retrieveAll(t *testing.T, c *xdsclient.Client, reqs []repository.DocumentRequest) retrieved {
	t.Helper()
	res, err := c.Retrieve(context.Background(), reqs)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Close()
	out := retrieved{status: res.Response.Status, errors: res.Response.Errors, docs: map[string][]byte{}, mime: map[string]string{}}
	for {
		d, body, err := res.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			out.err = err
			break
		}
		b, err := io.ReadAll(body)
		out.docs[d.DocumentUniqueID] = b
		out.mime[d.DocumentUniqueID] = d.MimeType
		if err != nil {
			out.err = err
			break
		}
	}
	return out
}

func countBlobs(t *testing.T, dir string) int {
	t.Helper()
	n := 0
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if !d.IsDir() && strings.HasSuffix(p, ".bin") {
			n++
		}
		return nil
	})
	if err != nil && !errors.Is(err, os.ErrNotExist) {
		t.Fatal(err)
	}
	return n
}

// A request larger than the limit is refused with a RegistryResponse, and
// nothing of it is kept.
func TestXDSProvideSizeLimit(t *testing.T) {
	ctx := context.Background()
	h := newHarness(t, options{devLoopback: true, limits: soap.Limits{MaxRequest: 64 << 10, MaxEnvelope: 32 << 10}})
	big := bytes.Repeat([]byte("syntetisk epikrise "), 200<<10/19)
	sub := registry.SampleSubmission(registry.SampleOptions{Patient: cx(patientP), Seq: 9301})
	size := int64(len(big))
	sub.Documents[0].Size, sub.Documents[0].Hash = &size, ""
	rr, err := h.xds.Provide(ctx, sub, []xdsclient.Document{{ID: "Document01", MimeType: "text/plain", Body: bytes.NewReader(big)}})
	if err != nil {
		t.Fatalf("the limit must be answered with a RegistryResponse: %v", err)
	}
	if rr.Status != registry.ResponseFailure || len(rr.Errors) != 1 || rr.Errors[0].Code != registry.ErrCodeRepositoryError ||
		!strings.Contains(rr.Errors[0].Context, "larger") {
		t.Fatalf("response %+v", rr)
	}
	if ds, _ := h.reg.Reader().Documents(ctx, registry.DocumentFilter{}); len(ds) != 0 {
		t.Fatal("a document over the limit was registered")
	}
	if n := countBlobs(t, h.blobDir); n != 0 {
		t.Fatalf("%d blobs left behind", n)
	}
	// An envelope over the envelope limit is a Sender fault.
	many := registry.SampleSubmission(registry.SampleOptions{Patient: cx(patientP), Documents: 40, Seq: 9302})
	_, err = h.xds.Register(ctx, many)
	var f *soap.Fault
	if !errors.As(err, &f) || f.Code != soap.CodeSender || !errors.Is(err, soap.ErrTooLarge) && f.HTTPStatus() != 400 {
		t.Fatalf("oversized envelope: %v", err)
	}
	// A document within the limit still goes through.
	small := registry.SampleSubmission(registry.SampleOptions{Patient: cx(patientP), Seq: 9303})
	rr, err = h.xds.Provide(ctx, small, []xdsclient.Document{{ID: "Document01", MimeType: "text/plain",
		Body: bytes.NewReader(registry.SampleDocument(9303, 0, cx(patientP)))}})
	if err != nil || rr.Status != registry.ResponseSuccess {
		t.Fatalf("a small document after a refused one: %+v %v", rr, err)
	}
}

// Bad documents are refused and leave nothing behind.
func TestXDSProvideRejections(t *testing.T) {
	ctx := context.Background()
	h := newHarness(t, options{devLoopback: true})
	doc := func(seq uint64) []byte { return registry.SampleDocument(seq, 0, cx(patientP)) }
	for _, c := range []struct {
		name string
		seq  uint64
		mut  func(*registry.Submission)
		docs func(seq uint64) []xdsclient.Document
		code string
	}{
		{"content that does not match the hash", 9401, nil, func(seq uint64) []xdsclient.Document {
			return []xdsclient.Document{{ID: "Document01", Body: strings.NewReader(strings.Repeat("x", len(doc(seq))))}}
		}, ""},
		{"a document without its entry", 9402, nil, func(seq uint64) []xdsclient.Document {
			return []xdsclient.Document{{ID: "Document01", Body: bytes.NewReader(doc(seq))}, {ID: "Document09", Body: strings.NewReader("x")}}
		}, registry.ErrCodeMissingDocumentMetadata},
		{"an entry without its document", 9403, func(s *registry.Submission) {
			s.Documents = append(s.Documents, registry.SampleSubmission(registry.SampleOptions{Patient: cx(patientP), Seq: 9499}).Documents[0])
			s.Documents[1].ID = "Document02"
			s.Associations = append(s.Associations, &registry.Association{ID: "HasMember02", Type: registry.AssocHasMember,
				Source: "SubmissionSet01", Target: "Document02", SubmissionSetStatus: registry.SubmissionSetStatusOriginal})
		}, func(seq uint64) []xdsclient.Document {
			return []xdsclient.Document{{ID: "Document01", Body: bytes.NewReader(doc(seq))}}
		}, registry.ErrCodeMissingDocument},
		{"invalid metadata", 9404, func(s *registry.Submission) { s.Documents[0].Class = registry.Code{Code: "X", Scheme: "1.2.3"} },
			func(seq uint64) []xdsclient.Document {
				return []xdsclient.Document{{ID: "Document01", Body: bytes.NewReader(doc(seq))}}
			}, ""},
	} {
		t.Run(c.name, func(t *testing.T) {
			sub := registry.SampleSubmission(registry.SampleOptions{Patient: cx(patientP), Seq: c.seq})
			if c.mut != nil {
				c.mut(sub)
			}
			rr, err := h.xds.Provide(ctx, sub, c.docs(c.seq))
			if err != nil {
				t.Fatal(err)
			}
			if rr.Status != registry.ResponseFailure || len(rr.Errors) == 0 {
				t.Fatalf("response %+v, want a failure", rr)
			}
			if c.code != "" && rr.Errors[0].Code != c.code {
				t.Fatalf("errors %+v, want %s", rr.Errors, c.code)
			}
			if ds, _ := h.reg.Reader().Documents(ctx, registry.DocumentFilter{}); len(ds) != 0 {
				t.Fatalf("%d documents registered", len(ds))
			}
			if n := countBlobs(t, h.blobDir); n != 0 {
				t.Fatalf("%d blobs left behind", n)
			}
		})
	}
}

// ITI-43 streams documents as MTOM attachments; a document whose stream
// breaks ends the response without its closing boundary, so the client
// sees it truncated and never takes it for complete, and the failure is
// recorded.
func TestXDSRetrieveBrokenStream(t *testing.T) {
	h := newHarness(t, options{devLoopback: true})
	h.seed()
	// Damage the stored bytes of the NORS document (same length, other
	// content): the repository's integrity check fails at the end of the
	// stream, after the headers and part of the body have been sent.
	h.damageBlob(registry.SampleDocument(seqMixed, 1, cx(patientP)), bytes.ToUpper)
	seq := h.head()
	got := retrieveAll(t, h.xds, []repository.DocumentRequest{
		{RepositoryUniqueID: registry.SampleRepositoryUniqueID, DocumentUniqueID: uidNormal},
		{RepositoryUniqueID: registry.SampleRepositoryUniqueID, DocumentUniqueID: uidNORS},
	})
	if got.err == nil || errors.Is(got.err, io.EOF) {
		t.Fatalf("a broken stream read as a complete response: %+v", got)
	}
	if !bytes.Equal(got.docs[uidNormal], registry.SampleDocument(seqMixed, 0, cx(patientP))) {
		t.Fatalf("the first document: %q", got.docs[uidNormal])
	}
	recs := h.since(seq)
	if len(recs) != 2 || recs[0].Outcome != audit.OutcomePermit || recs[1].Outcome != audit.OutcomeError ||
		recs[1].Transaction != audit.TxITI43 || !strings.Contains(recs[1].Reason, uidNORS) {
		t.Fatalf("records %+v, want the permit and then the failed stream", recs)
	}
	if m := metricsText(t, h); !strings.Contains(m, `pjd_transactions_total{outcome="Aborted",transaction="ITI-43"} 1`) {
		t.Fatalf("the aborted retrieval is not counted:\n%s", grep(m, "pjd_transactions_total"))
	}
}

// ITI-42 from a source, and the registry's own answers.
func TestXDSRegister(t *testing.T) {
	ctx := context.Background()
	h := newHarness(t, options{devLoopback: true})
	sub := registry.SampleSubmission(registry.SampleOptions{Patient: cx(patientP), Seq: 9501})
	l, err := h.xds.Register(ctx, sub)
	if err != nil || l.Failed() {
		t.Fatalf("register: %v %v", l, err)
	}
	// The same uniqueIds again: the registry's RegistryError.
	l, err = h.xds.Register(ctx, registry.SampleSubmission(registry.SampleOptions{Patient: cx(patientP), Seq: 9501}))
	if err != nil || !l.Failed() || l[0].Code != registry.ErrCodeDuplicateUniqueIDInRegistry && l[0].Code != registry.ErrCodeRegistryDuplicateUniqueIDInMessage {
		t.Fatalf("duplicate: %v %v", l, err)
	}
	res, rr, err := h.xds.Query(ctx, findDocuments(patientP))
	if err != nil || rr.Status != registry.ResponseSuccess || len(res.Documents) != 1 {
		t.Fatalf("query after register: %+v %+v %v", res, rr, err)
	}
}

// When the audit log is down nothing is returned.
func TestXDSAuditUnavailable(t *testing.T) {
	ctx := context.Background()
	h := newHarness(t, options{devLoopback: true})
	h.seed()
	if err := h.audit.Close(); err != nil {
		t.Fatal(err)
	}
	res, rr, err := h.xds.Query(ctx, findDocuments(patientP))
	if err != nil {
		t.Fatal(err)
	}
	if rr.Status != registry.ResponseFailure || len(res.Documents) != 0 || len(rr.Errors) != 1 || !strings.Contains(rr.Errors[0].Context, "access log") {
		t.Fatalf("query with the audit log down: %+v %+v", res, rr)
	}
	got := retrieveAll(t, h.xds, []repository.DocumentRequest{{RepositoryUniqueID: registry.SampleRepositoryUniqueID, DocumentUniqueID: uidNormal}})
	if got.status != registry.ResponseFailure || len(got.docs) != 0 {
		t.Fatalf("retrieve with the audit log down: %+v", got)
	}
}

// An internal failure (the registry database gone) is reported without
// its detail, with the request id to find it in the log.
func TestInternalErrorsLeakNothing(t *testing.T) {
	ctx := context.Background()
	h := newHarness(t, options{devLoopback: true})
	h.seed()
	tok := h.token("fastlege", patientP)
	if err := h.store.Close(); err != nil {
		t.Fatal(err)
	}
	res, rr, err := h.xds.Query(ctx, findDocuments(patientP))
	if err != nil {
		t.Fatal(err)
	}
	if rr.Status != registry.ResponseFailure || len(res.Documents) != 0 || len(rr.Errors) != 1 ||
		!strings.HasPrefix(rr.Errors[0].Context, "internal error (request id ") {
		t.Fatalf("query with the database closed: %+v", rr)
	}
	resp := h.do(tok, http.MethodGet, "/fhir/R4/DocumentReference?patient.identifier=urn:oid:"+oid.FNR+"%7C"+patientP, nil, nil)
	b := readBody(t, resp)
	if resp.StatusCode != http.StatusInternalServerError {
		t.Fatalf("search with the database closed: %d %s", resp.StatusCode, b)
	}
	for _, s := range []string{rr.Errors[0].Context, string(b)} {
		for _, leak := range []string{"sql", "database is closed", "registry.db", ".go:"} {
			if strings.Contains(strings.ToLower(s), leak) {
				t.Fatalf("internal detail %q in %q", leak, s)
			}
		}
	}
}
