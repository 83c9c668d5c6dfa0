package xdsclient_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/beevik/etree"

	"pjd/gateway"
	"pjd/gateway/access"
	"pjd/gateway/audit"
	"pjd/gateway/audit/sqlaudit"
	"pjd/gateway/authn"
	"pjd/gateway/soap"
	"pjd/gateway/xds"
	"pjd/gateway/xdsclient"
	"pjd/registry"
	"pjd/registry/ebrim"
	"pjd/registry/oid"
	"pjd/registry/sqlite"
	"pjd/repository"
	"pjd/repository/fs"
	"pjd/trust/policy"
)

// The client is tested against pjd's own XDS handlers: a registry and a
// repository (SQLite, local files) behind the guard and the gateway
// server, in --dev mode so that loopback callers are the dev source.

const remoteHeader = "X-Test-Remote-Addr"

type server struct {
	url  string
	reg  *registry.Registry
	srv  *httptest.Server
	repo *repository.Repository
}

// newServer runs the XDS endpoints; withRepository false serves only the
// registry role (/xds/registry), as a registry node would.
func newServer(t *testing.T, withRepository bool) *server {
	t.Helper()
	ctx := context.Background()
	dir := t.TempDir()
	db := filepath.Join(dir, "registry.db")
	st, err := sqlite.Open(ctx, db)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	reg, err := registry.New(registry.Config{Store: st, Patients: registry.NorwegianPatientIDs{AllowSynthetic: true}})
	if err != nil {
		t.Fatal(err)
	}
	as := sqlaudit.NewSQLite(st.DB())
	err = as.Migrate(ctx)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { as.Close() })
	key, _ := audit.NewKey(bytes.Repeat([]byte{3}, 32))
	al, err := audit.NewLogger(as, key, audit.LoggerOptions{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = al.Close(context.Background()) })
	cfg := access.Config{Registry: reg, Policy: policy.Default(), Audit: al, DevLoopbackSources: true}
	s := &server{reg: reg}
	if withRepository {
		blobs, err := fs.Open(filepath.Join(dir, "blobs"))
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { blobs.Close() })
		s.repo, err = repository.New(repository.Config{UniqueID: registry.SampleRepositoryUniqueID, Blobs: blobs, Registry: repository.LocalRegistry(reg)})
		if err != nil {
			t.Fatal(err)
		}
		cfg.Repository = s.repo
	}
	g, err := access.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	log := slog.New(slog.DiscardHandler)
	gs := gateway.NewServer(log, nil, nil)
	x := &xds.Endpoints{Guard: g, Auth: &authn.SOAP{DevLoopback: true}, Log: log, Metrics: gateway.NopMetrics{}}
	gs.Handle("POST /xds/registry", x.RegistryHandler())
	if withRepository {
		gs.Handle("POST /xds/repository", x.RepositoryHandler())
	}
	s.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if a := r.Header.Get(remoteHeader); a != "" {
			r.RemoteAddr = a
		}
		gs.ServeHTTP(w, r)
	}))
	t.Cleanup(s.srv.Close)
	s.url = s.srv.URL
	return s
}

var patient = registry.NewPatientCX(registry.SyntheticFnr(404), oid.FNR).String()

func sample(seq uint64, n int) *registry.Submission {
	return registry.SampleSubmission(registry.SampleOptions{Patient: patient, Documents: n, Seq: seq})
}

func docs(sub *registry.Submission, seq uint64) []xdsclient.Document {
	var out []xdsclient.Document
	for i, d := range sub.Documents {
		out = append(out, xdsclient.Document{ID: d.ID, MimeType: d.MimeType, Body: bytes.NewReader(registry.SampleDocument(seq, i, patient))})
	}
	return out
}

func findDocuments() *registry.Query {
	return &registry.Query{ID: registry.QueryFindDocuments, ReturnType: registry.ReturnLeafClass, Params: []registry.Slot{
		{Name: registry.ParamDocumentEntryPatientID, Values: []string{"'" + patient + "'"}},
		{Name: registry.ParamDocumentEntryStatus, Values: []string{"('" + registry.StatusApproved + "')"}},
	}}
}

func TestRegisterAndQuery(t *testing.T) {
	ctx := context.Background()
	s := newServer(t, false)
	c := xdsclient.New(s.url+"/", nil) // a trailing slash is fine
	l, err := c.Register(ctx, sample(1, 2))
	if err != nil || l.Failed() {
		t.Fatalf("Register = %v, %v", l, err)
	}
	// A rejection is an answer: in the list, with a nil error.
	l, err = c.Register(ctx, sample(1, 2))
	if err != nil || !l.Failed() {
		t.Fatalf("duplicate Register = %v, %v", l, err)
	}
	bad := sample(2, 1)
	bad.Documents[0].MimeType = ""
	if l, err = c.Register(ctx, bad); err != nil || !l.Failed() {
		t.Fatalf("invalid Register = %v, %v", l, err)
	}

	res, rr, err := c.Query(ctx, findDocuments())
	if err != nil || rr.Status != registry.ResponseSuccess || len(res.Documents) != 2 {
		t.Fatalf("Query = %+v, %+v, %v", res, rr, err)
	}
	unknown := &registry.Query{ID: "urn:uuid:00000000-0000-4000-8000-000000000000", ReturnType: registry.ReturnLeafClass}
	res, rr, err = c.Query(ctx, unknown)
	if err != nil || rr.Status != registry.ResponseFailure || len(rr.Errors) != 1 || rr.Errors[0].Code != registry.ErrCodeUnknownStoredQuery {
		t.Fatalf("unknown stored query = %+v, %+v, %v", res, rr, err)
	}

	uids := []string{registry.SampleUniqueID(1, 1), registry.SampleUniqueID(1, 0), "2.999.1.2.3'), ('x"}
	entries, err := c.DocumentsByUniqueID(ctx, uids)
	if err != nil || len(entries) != 2 {
		t.Fatalf("DocumentsByUniqueID = %+v, %v", entries, err)
	}
	if got, err := c.DocumentsByUniqueID(ctx, nil); got != nil || err != nil {
		t.Fatalf("DocumentsByUniqueID(nil) = %v, %v", got, err)
	}
}

func TestProvideAndRetrieve(t *testing.T) {
	ctx := context.Background()
	s := newServer(t, true)
	c := xdsclient.New(s.url, s.srv.Client())
	sub := sample(10, 3)
	rr, err := c.Provide(ctx, sub, docs(sub, 10))
	if err != nil || rr.Status != registry.ResponseSuccess {
		t.Fatalf("Provide = %+v, %v", rr, err)
	}
	// A rejection comes back in the response.
	again := sample(10, 1)
	rr, err = c.Provide(ctx, again, docs(again, 10))
	if err != nil || rr.Status != registry.ResponseFailure || len(rr.Errors) == 0 {
		t.Fatalf("duplicate Provide = %+v, %v", rr, err)
	}
	// No media type: sent as application/octet-stream, still stored.
	plain := sample(11, 1)
	rr, err = c.Provide(ctx, plain, []xdsclient.Document{{ID: "Document01", Body: bytes.NewReader(registry.SampleDocument(11, 0, patient))}})
	if err != nil || rr.Status != registry.ResponseSuccess {
		t.Fatalf("Provide without a media type = %+v, %v", rr, err)
	}

	reqs := []repository.DocumentRequest{
		{RepositoryUniqueID: registry.SampleRepositoryUniqueID, DocumentUniqueID: registry.SampleUniqueID(10, 2)},
		{RepositoryUniqueID: registry.SampleRepositoryUniqueID, DocumentUniqueID: "2.999.9.9.9"},
		{RepositoryUniqueID: registry.SampleRepositoryUniqueID, DocumentUniqueID: registry.SampleUniqueID(10, 0)},
	}
	got, err := c.Retrieve(ctx, reqs)
	if err != nil {
		t.Fatal(err)
	}
	defer got.Close()
	if got.Response.Status != registry.ResponsePartialSuccess || len(got.Response.Errors) != 1 || len(got.Docs) != 2 {
		t.Fatalf("Retrieve: %+v, %d documents", got.Response, len(got.Docs))
	}
	var order []string
	docs, bodies := readAll(t, got)
	for i, d := range docs {
		b := bodies[i]
		n := 2
		if d.DocumentUniqueID == registry.SampleUniqueID(10, 0) {
			n = 0
		}
		if !bytes.Equal(b, registry.SampleDocument(10, n, patient)) || d.MimeType != "text/plain" {
			t.Fatalf("document %s: %q (%s)", d.DocumentUniqueID, b, d.MimeType)
		}
		order = append(order, d.DocumentUniqueID)
	}
	if !slices.Equal(order, []string{registry.SampleUniqueID(10, 2), registry.SampleUniqueID(10, 0)}) {
		t.Fatalf("documents in order %v", order)
	}
	if _, _, err := got.Next(); !errors.Is(err, io.EOF) {
		t.Fatalf("Next after the end: %v", err)
	}

	// Closing early, with documents unread, releases the connection.
	early, err := c.Retrieve(ctx, reqs)
	if err != nil {
		t.Fatal(err)
	}
	if err := early.Close(); err != nil {
		t.Fatal(err)
	}
}

// Faults are answers: they come back as *soap.Fault, never as
// ErrUnanswered.
func TestFaults(t *testing.T) {
	ctx := context.Background()
	s := newServer(t, true)
	hc := &http.Client{Transport: roundTripper(func(r *http.Request) (*http.Response, error) {
		r = r.Clone(r.Context())
		r.Header.Set(remoteHeader, "192.0.2.44:5555")
		return http.DefaultTransport.RoundTrip(r)
	})}
	c := xdsclient.New(s.url, hc)
	sub := sample(20, 1)
	check := func(name string, err error) {
		t.Helper()
		var f *soap.Fault
		if !errors.As(err, &f) || f.Code != soap.CodeSender || errors.Is(err, xdsclient.ErrUnanswered) {
			t.Fatalf("%s: %v, want a Sender fault", name, err)
		}
	}
	_, err := c.Register(ctx, sub)
	check("Register", err)
	_, _, err = c.Query(ctx, findDocuments())
	check("Query", err)
	_, err = c.DocumentsByUniqueID(ctx, []string{"1.2.3"})
	check("DocumentsByUniqueID", err)
	_, err = c.Provide(ctx, sub, docs(sub, 20))
	check("Provide", err)
	_, err = c.Retrieve(ctx, []repository.DocumentRequest{{RepositoryUniqueID: registry.SampleRepositoryUniqueID, DocumentUniqueID: "1.2.3"}})
	check("Retrieve", err)

	// The repository endpoint of a registry-only server: an action it
	// does not serve is a fault too.
	reg := newServer(t, false)
	c2 := xdsclient.New(reg.url, nil)
	c2.RepositoryURL = reg.url + "/xds/registry"
	_, err = c2.Retrieve(ctx, []repository.DocumentRequest{{RepositoryUniqueID: registry.SampleRepositoryUniqueID, DocumentUniqueID: "1.2.3"}})
	var f *soap.Fault
	if !errors.As(err, &f) || !errors.Is(err, soap.ErrActionNotSupported) && (len(f.Subcodes) == 0 || f.Subcodes[0].Local != "ActionNotSupported") {
		t.Fatalf("Retrieve at the registry endpoint: %v", err)
	}
}

type roundTripper func(*http.Request) (*http.Response, error)

func (f roundTripper) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }

// A server that does not answer, or answers with something that is not a
// valid response, leaves the outcome unknown: ErrUnanswered.
func TestUnanswered(t *testing.T) {
	ctx := context.Background()
	dead := httptest.NewServer(http.NotFoundHandler())
	deadURL := dead.URL
	dead.Close()
	notSOAP := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html")
		_, _ = w.Write([]byte("<html>proxy error</html>"))
	}))
	t.Cleanup(notSOAP.Close)
	// A SOAP answer to some other message (wrong RelatesTo).
	wrongRelates := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_ = soap.WriteResponse(w, ebrim.ActionRegister+"Response", "urn:uuid:00000000-0000-4000-8000-000000000001",
			ebrim.EncodeRegistryResponse(registry.Response{Status: registry.ResponseSuccess}))
	}))
	t.Cleanup(wrongRelates.Close)
	// A SOAP answer whose body is not the expected response.
	wrongBody := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		req, err := soap.ReadRequest(r, soap.Limits{})
		if err != nil {
			return
		}
		_ = soap.WriteResponse(w, req.Addressing.Action+"Response", req.Addressing.MessageID, ebrim.EncodeAdhocQueryRequest(findDocuments()))
	}))
	t.Cleanup(wrongBody.Close)

	sub := sample(30, 1)
	for name, base := range map[string]string{"dead": deadURL, "not SOAP": notSOAP.URL, "wrong RelatesTo": wrongRelates.URL, "wrong body": wrongBody.URL} {
		t.Run(name, func(t *testing.T) {
			c := xdsclient.New(base, &http.Client{Timeout: 10 * time.Second})
			_, err := c.Register(ctx, sub)
			if !errors.Is(err, xdsclient.ErrUnanswered) {
				t.Fatalf("Register: %v", err)
			}
			if name == "wrong RelatesTo" {
				return // only Register is answered by this server
			}
			if _, _, err := c.Query(ctx, findDocuments()); !errors.Is(err, xdsclient.ErrUnanswered) {
				t.Fatalf("Query: %v", err)
			}
			if _, err := c.DocumentsByUniqueID(ctx, []string{"1.2"}); !errors.Is(err, xdsclient.ErrUnanswered) {
				t.Fatalf("DocumentsByUniqueID: %v", err)
			}
			if _, err := c.Provide(ctx, sub, docs(sub, 30)); !errors.Is(err, xdsclient.ErrUnanswered) {
				t.Fatalf("Provide: %v", err)
			}
			if _, err := c.Retrieve(ctx, []repository.DocumentRequest{{DocumentUniqueID: "1.2"}}); !errors.Is(err, xdsclient.ErrUnanswered) {
				t.Fatalf("Retrieve: %v", err)
			}
			// The repository's adapter turns it into repository.ErrRegistry.
			r := xdsclient.Registry{C: c}
			if _, err := r.Register(ctx, sub); !errors.Is(err, repository.ErrRegistry) {
				t.Fatalf("Registry.Register: %v", err)
			}
			if _, err := r.DocumentsByUniqueID(ctx, []string{"1.2"}); !errors.Is(err, repository.ErrRegistry) {
				t.Fatalf("Registry.DocumentsByUniqueID: %v", err)
			}
		})
	}
	t.Run("cancelled", func(t *testing.T) {
		s := newServer(t, false)
		cctx, cancel := context.WithCancel(ctx)
		cancel()
		if _, err := xdsclient.New(s.url, nil).Register(cctx, sub); !errors.Is(err, xdsclient.ErrUnanswered) {
			t.Fatalf("Register with a cancelled context: %v", err)
		}
	})
}

// A repository whose registry runs in another process registers through
// the client, and retrieves what it stored.
func TestRegistryAdapter(t *testing.T) {
	ctx := context.Background()
	regNode := newServer(t, false)
	c := xdsclient.New(regNode.url, nil)
	blobs, err := fs.Open(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { blobs.Close() })
	repo, err := repository.New(repository.Config{UniqueID: registry.SampleRepositoryUniqueID, Blobs: blobs, Registry: xdsclient.Registry{C: c}})
	if err != nil {
		t.Fatal(err)
	}
	sub := sample(40, 2)
	up, err := repo.NewUpload(ctx, sub, []string{"Document01", "Document02"})
	if err != nil {
		t.Fatal(err)
	}
	for i, d := range sub.Documents {
		if err := up.Put(ctx, d.ID, bytes.NewReader(registry.SampleDocument(40, i, patient))); err != nil {
			t.Fatal(err)
		}
	}
	if w, err := up.Commit(ctx); err != nil || w.Failed() {
		t.Fatalf("Commit through the remote registry = %v, %v", w, err)
	}
	if ds, _ := regNode.reg.Reader().Documents(ctx, registry.DocumentFilter{}); len(ds) != 2 {
		t.Fatalf("the registry node holds %d documents", len(ds))
	}
	res, err := repo.Retrieve(ctx, []repository.DocumentRequest{{RepositoryUniqueID: registry.SampleRepositoryUniqueID, DocumentUniqueID: registry.SampleUniqueID(40, 1)}})
	if err != nil || len(res.Documents) != 1 {
		t.Fatalf("Retrieve via the remote registry: %+v, %v", res, err)
	}
	rc, err := res.Documents[0].Open(ctx)
	if err != nil {
		t.Fatal(err)
	}
	b, err := io.ReadAll(rc)
	rc.Close()
	if err != nil || !bytes.Equal(b, registry.SampleDocument(40, 1, patient)) {
		t.Fatalf("content %q, %v", b, err)
	}
	// A rejection by the remote registry is the registry's ErrorList.
	dup := sample(40, 1)
	up, err = repo.NewUpload(ctx, dup, []string{"Document01"})
	if err != nil {
		t.Fatal(err)
	}
	if err := up.Put(ctx, "Document01", bytes.NewReader(registry.SampleDocument(40, 0, patient))); err != nil {
		t.Fatal(err)
	}
	if _, err := up.Commit(ctx); err == nil {
		t.Fatal("a duplicate registered")
	} else if l, ok := registry.AsErrors(err); !ok || !l.Failed() || errors.Is(err, repository.ErrRegistry) {
		t.Fatalf("duplicate: %v", err)
	}
	// The registry going away leaves the outcome unknown.
	regNode.srv.Close()
	gone := sample(41, 1)
	up, err = repo.NewUpload(ctx, gone, []string{"Document01"})
	if err != nil {
		t.Fatal(err)
	}
	if err := up.Put(ctx, "Document01", bytes.NewReader(registry.SampleDocument(41, 0, patient))); err != nil {
		t.Fatal(err)
	}
	if _, err := up.Commit(ctx); !errors.Is(err, repository.ErrRegistry) {
		t.Fatalf("Commit with the registry gone: %v", err)
	}
}

// Inline (base64) documents in an ITI-43 response, as other vendors'
// repositories send them, are returned by Next too.
func TestRetrieveInline(t *testing.T) {
	ctx := context.Background()
	inline := []byte("an inline document")
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		req, err := soap.ReadRequest(r, soap.Limits{})
		if err != nil {
			_ = soap.WriteFault(w, soap.SenderFault("bad request", err))
			return
		}
		mw := soap.NewMTOMWriter(w, ebrim.ActionRetrieve+"Response", req.Addressing.MessageID)
		_, cid := soap.NewInclude()
		body := ebrim.EncodeRetrieveDocumentSetResponse(registry.Response{Status: registry.ResponseSuccess}, []ebrim.DocumentResponse{
			{RepositoryUniqueID: "2.999.1", DocumentUniqueID: "2.999.1.1", MimeType: "text/plain", Inline: inline},
			{RepositoryUniqueID: "2.999.1", DocumentUniqueID: "2.999.1.2", MimeType: "text/plain", IncludeHref: "cid:" + cid},
		})
		if err := mw.WriteEnvelope(body); err != nil {
			return
		}
		if _, err := mw.WriteAttachment(cid, "text/plain", strings.NewReader("an attached document")); err != nil {
			return
		}
		_ = mw.Close()
	}))
	t.Cleanup(srv.Close)
	res, err := xdsclient.New(srv.URL, nil).Retrieve(ctx, []repository.DocumentRequest{{RepositoryUniqueID: "2.999.1", DocumentUniqueID: "2.999.1.1"}})
	if err != nil {
		t.Fatal(err)
	}
	defer res.Close()
	got := map[string]string{}
	docs, bodies := readAll(t, res)
	for i, d := range docs {
		got[d.DocumentUniqueID] = string(bodies[i])
	}
	if got["2.999.1.1"] != string(inline) || got["2.999.1.2"] != "an attached document" || len(got) != 2 {
		t.Fatalf("documents %v", got)
	}
}

// richEntry is a DocumentEntry with more metadata than Norwegian sources
// send: three authors (each with a person, two institutions, a role, a
// specialty and a telecom), five event codes, two confidentiality codes,
// three reference ids, a long title and long comments, every slot the
// registry fills in.
func richEntry(i int) *registry.DocumentEntry {
	d := sample(uint64(i+1), 1).Documents[0]
	d.ID = fmt.Sprintf("urn:uuid:00000000-0000-4000-8000-%012d", i)
	d.LogicalID, d.Version, d.Status = d.ID, "1", registry.StatusApproved
	d.HomeCommunityID = "urn:oid:2.16.578.1.12.4.5.100.1"
	d.Title = strings.Repeat("Epikrise etter innleggelse ", 5)[:128]
	d.Comments = strings.Repeat("Pasienten ble innlagt med brystsmerter og utredet. ", 20)
	author := registry.SampleAuthor()
	author.Institutions = append(author.Institutions, registry.XON{OrganizationName: "Medisinsk avdeling",
		AssigningAuthority: registry.HD{UniversalID: oid.RESH, UniversalIDType: "ISO"}, OrganizationIdentifier: "4208723"}.String())
	d.Authors = []registry.Author{author, author, author}
	for e := range 5 {
		d.Events = append(d.Events, registry.Code{Code: fmt.Sprintf("E%d", e), Scheme: "2.16.578.1.12.4.1.1.7615", Display: "Hendelse"})
	}
	d.Confidentiality = append(d.Confidentiality, registry.Code{Code: "NORS", Scheme: oid.Volven9603, Display: "Nors"})
	d.ReferenceIDs = []string{"1^^^&2.999.1&ISO^urn:ihe:iti:xds:2013:referral", "2^^^&2.999.1&ISO^urn:ihe:iti:xds:2013:order",
		"3^^^&2.999.1&ISO^urn:ihe:iti:xds:2013:accession"}
	d.URI = "https://example.no/" + d.UniqueID
	d.DocumentAvailability = "urn:ihe:iti:2010:DocumentAvailability:Online"
	return d
}

// TestResponseLimitsHoldMaxResults: the limits of a client made by New
// read a FindDocuments answer of registry.DefaultMaxResults entries (the
// most any registry answers before XDSTooManyResults), even when every
// entry carries far more metadata than sources send. Reading such an
// answer under -race is too heavy for the suite, so the answer's size is
// measured on 100 entries and scaled; cmd/pjd's TestFindReadsALargeAnswer
// reads 4,000 entries for real.
func TestResponseLimitsHoldMaxResults(t *testing.T) {
	const sampleN = 100
	res := &registry.QueryResult{ReturnType: registry.ReturnLeafClass}
	for i := range sampleN {
		res.Documents = append(res.Documents, richEntry(i))
	}
	doc := etree.NewDocument()
	doc.SetRoot(ebrim.EncodeAdhocQueryResponse(res, registry.ResponseSuccess, nil))
	var buf bytes.Buffer
	if _, err := doc.WriteTo(&buf); err != nil {
		t.Fatal(err)
	}
	elements := 0
	var count func(e *etree.Element)
	count = func(e *etree.Element) {
		elements++
		for _, c := range e.ChildElements() {
			count(c)
		}
	}
	count(doc.Root())
	perElements, perBytes := elements/sampleN+1, buf.Len()/sampleN+1
	t.Logf("a rich entry: %d elements, %d bytes (budget %d, %d)", perElements, perBytes, xdsclient.ObjectElements, xdsclient.ObjectBytes)
	if perElements > xdsclient.ObjectElements || perBytes > xdsclient.ObjectBytes {
		t.Fatalf("a rich entry (%d elements, %d bytes) exceeds the budget of one object (%d, %d)",
			perElements, perBytes, xdsclient.ObjectElements, xdsclient.ObjectBytes)
	}
	lim := xdsclient.New("http://127.0.0.1:1", nil).SOAP.Limits
	if want := xdsclient.ResponseLimits(registry.DefaultMaxResults); lim != want {
		t.Fatalf("New's limits %+v, want ResponseLimits(registry.DefaultMaxResults) %+v", lim, want)
	}
	if n := registry.DefaultMaxResults; n*perElements > lim.MaxElements || int64(n*perBytes) > lim.MaxEnvelope {
		t.Fatalf("%d rich entries (%d elements, %d bytes) exceed the client's limits %+v", n, n*perElements, n*perBytes, lim)
	}
}

// TestAnswerTooLarge: an answer over the client's limits is an answer —
// the error says it was too large, not that none came — and, as it was
// not read, it still counts as unanswered for callers that must not
// assume an outcome.
func TestAnswerTooLarge(t *testing.T) {
	ctx := context.Background()
	s := newServer(t, false)
	if l, err := s.reg.Register(ctx, sample(77, 20)); err != nil || l.Failed() {
		t.Fatalf("Register: %v %v", l, err)
	}
	c := xdsclient.New(s.url, nil)
	c.SOAP.Limits = xdsclient.ResponseLimits(5) // an answer of 20 entries is more
	c.SOAP.Limits.MaxElements = 5 * 40
	_, _, err := c.Query(ctx, findDocuments())
	if !errors.Is(err, xdsclient.ErrAnswerTooLarge) || !errors.Is(err, xdsclient.ErrUnanswered) {
		t.Fatalf("Query: %v, want ErrAnswerTooLarge (and ErrUnanswered)", err)
	}
	for _, want := range []string{"the answer was larger than this client accepts", "HTTP 200", "too many elements"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not say %q", err, want)
		}
	}
	// The same answer within the limits is read.
	res, _, err := xdsclient.New(s.url, nil).Query(ctx, findDocuments())
	if err != nil || len(res.Documents) != 20 {
		t.Fatalf("Query with New's limits: %d documents, %v", len(res.Documents), err)
	}
}

// readAll reads every document of r, in the order Next gives them.
func readAll(t *testing.T, r *xdsclient.Retrieved) ([]*ebrim.DocumentResponse, [][]byte) {
	t.Helper()
	var docs []*ebrim.DocumentResponse
	var bodies [][]byte
	for {
		d, body, err := r.Next()
		if errors.Is(err, io.EOF) {
			return docs, bodies
		}
		if err != nil {
			t.Fatal(err)
		}
		b, err := io.ReadAll(body)
		if err != nil {
			t.Fatal(err)
		}
		docs, bodies = append(docs, d), append(bodies, b)
	}
}
