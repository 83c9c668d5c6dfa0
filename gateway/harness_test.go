package gateway_test

import (
	"bytes"
	"context"
	"crypto"
	"crypto/tls"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"errors"
	"io"
	iofs "io/fs"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"pjd/gateway"
	"pjd/gateway/access"
	"pjd/gateway/audit"
	"pjd/gateway/audit/sqlaudit"
	"pjd/gateway/auditapi"
	"pjd/gateway/authn"
	"pjd/gateway/blocks"
	"pjd/gateway/mhd"
	"pjd/gateway/soap"
	"pjd/gateway/xca"
	"pjd/gateway/xds"
	"pjd/gateway/xdsclient"
	"pjd/registry"
	"pjd/registry/oid"
	"pjd/registry/postgres"
	"pjd/registry/sqlite"
	"pjd/repository"
	"pjd/repository/fs"
	"pjd/trust"
	"pjd/trust/devissuer"
	"pjd/trust/policy"
)

// The gateway's HTTP tests run a whole pjd process in the test: registry
// (SQLite), repository (local files), audit log, policy, blocks and the
// guard, the XDS and MHD handlers and the audit review API mounted on a
// gateway.Server behind httptest, a real trust.Verifier that trusts a dev
// issuer served by its own httptest server, and real clients (soap,
// xdsclient, net/http with DPoP tokens).

// remoteHeader lets a test make a request look as if it came from
// another address than loopback (httptest only listens on loopback). The
// harness's own wrapper reads it; the gateway never sees it.
const remoteHeader = "X-Test-Remote-Addr"

type harness struct {
	t       *testing.T
	srv     *httptest.Server
	base    string
	store   registry.Store
	reg     *registry.Registry
	repo    *repository.Repository
	audit   *sqlaudit.Store
	guard   *access.Guard
	blocks  *blocks.Store
	iss     *devissuer.Issuer
	pager   *mhd.Pager
	logs    *syncBuffer
	prom    *prometheus.Registry
	server  *gateway.Server
	blobDir string
	xds     *xdsclient.Client

	verifier *trust.Verifier
	pol      *policy.Policy
	auditLog *audit.Logger
	auditKey *audit.Key
}

type options struct {
	devLoopback bool // SOAP from loopback is the --dev system principal
	limits      soap.Limits
	clientCAs   *x509.CertPool // serve TLS, verifying client certificates from these CAs
	saml        *trust.SAMLVerifier
	now         func() time.Time // the guard's clock; default time.Now
	maxProvide  int64
	ready       []gateway.ReadyCheck
	extra       func(s *gateway.Server) // more routes
	ui          bool                    // mount the embeddable UI (/ui/)
	// postgresURL puts the registry, the blocks and the audit log in this
	// PostgreSQL database instead of a SQLite file.
	postgresURL string
	// blobs replaces the local document files (an S3 bucket).
	blobs repository.BlobStore
	// wrapBlocks, when set, wraps the blocks store the guard reads.
	wrapBlocks func(policy.BlockStore) policy.BlockStore
	// replay replaces the verifier's in-memory DPoP replay cache.
	replay trust.ReplayCache
	// home is this node's community: the one /xca/responding answers
	// for (default testHome), and the guard's home when it federates.
	home string
	// communities make the guard federate to them.
	communities []access.Community
	// repositoryID replaces registry.SampleRepositoryUniqueID.
	repositoryID string
	// systemScopes grants scopes to certificate systems (by org.nr).
	systemScopes map[string][]string
}

// testHome is the harness's community on /xca/responding.
const testHome = "urn:oid:2.16.578.1.12.4.5.100.1"

// syncBuffer collects log output from concurrent handlers.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

func newHarness(t *testing.T, o options) *harness {
	t.Helper()
	ctx := context.Background()
	dir := t.TempDir()
	h := &harness{t: t, logs: &syncBuffer{}, blobDir: filepath.Join(dir, "blobs")}
	dbPath := filepath.Join(dir, "registry.db")
	if o.postgresURL != "" {
		pg, err := postgres.Open(ctx, o.postgresURL)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { pg.Close() })
		if err := pg.Migrate(ctx); err != nil {
			t.Fatal(err)
		}
		h.store = pg
		h.audit, h.blocks = sqlaudit.NewPostgres(pg.Pool()), blocks.NewPostgres(pg.Pool())
	} else {
		st, err := sqlite.Open(ctx, dbPath)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { st.Close() })
		h.store = st
		h.audit, h.blocks = sqlaudit.NewSQLite(st.DB()), blocks.NewSQLite(st.DB())
	}
	st := h.store
	var err error
	h.reg, err = registry.New(registry.Config{Store: st, Patients: registry.NorwegianPatientIDs{AllowSynthetic: true}})
	if err != nil {
		t.Fatal(err)
	}
	var blobs repository.BlobStore = o.blobs
	if blobs == nil {
		local, err := fs.Open(h.blobDir)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { local.Close() })
		blobs = local
	}
	log := slog.New(gateway.NewRedactingHandler(slog.NewJSONHandler(h.logs, &slog.HandlerOptions{Level: slog.LevelDebug})))
	repoID := registry.SampleRepositoryUniqueID
	if o.repositoryID != "" {
		repoID = o.repositoryID
	}
	h.repo, err = repository.New(repository.Config{UniqueID: repoID, Blobs: blobs,
		Registry: repository.LocalRegistry(h.reg), Logger: log})
	if err != nil {
		t.Fatal(err)
	}
	if err := errors.Join(h.audit.Migrate(ctx), h.blocks.Migrate(ctx)); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { h.audit.Close() })
	key, err := audit.NewKey(bytes.Repeat([]byte{42}, 32))
	if err != nil {
		t.Fatal(err)
	}
	auditLog, err := audit.NewLogger(h.audit, key, audit.LoggerOptions{Timeout: 5 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = auditLog.Close(context.Background()) })
	t.Cleanup(func() { h.blocks.Close() })
	pol := policy.Default()
	h.pol, h.auditLog, h.auditKey = pol, auditLog, key
	var blockStore policy.BlockStore = h.blocks
	if o.wrapBlocks != nil {
		blockStore = o.wrapBlocks(blockStore)
	}
	h.guard, err = access.New(access.Config{Registry: h.reg, Repository: h.repo, Policy: pol, Audit: auditLog,
		Blocks: blockStore, DevLoopbackSources: o.devLoopback, SystemScopes: o.systemScopes, Now: o.now, Logger: log,
		Communities: o.communities, HomeCommunityID: o.home})
	if err != nil {
		t.Fatal(err)
	}

	// The dev issuer, on its own server.
	issSrv := httptest.NewUnstartedServer(nil)
	h.iss, err = devissuer.New(devissuer.DevMode(true), devissuer.Options{Issuer: "http://" + issSrv.Listener.Addr().String(),
		KeyDir: filepath.Join(dir, "issuer")})
	if err != nil {
		t.Fatal(err)
	}
	issSrv.Config.Handler = h.iss
	issSrv.Start()
	t.Cleanup(issSrv.Close)
	var replay trust.ReplayCache = trust.NewMemoryReplayCache(nil, 0)
	if o.replay != nil {
		replay = o.replay
	}
	verifier, err := trust.NewVerifier(trust.Config{Issuers: []trust.IssuerConfig{{MetadataURL: h.iss.MetadataURL()}},
		Audience: devissuer.DefaultAudience, Replay: replay, AllowDevIssuer: true})
	if err != nil {
		t.Fatal(err)
	}
	h.verifier = verifier

	h.srv = httptest.NewUnstartedServer(nil)
	scheme := "http://"
	if o.clientCAs != nil {
		scheme = "https://"
	}
	h.base = scheme + h.srv.Listener.Addr().String()
	h.pager, err = mhd.NewPager(bytes.Repeat([]byte{9}, 32), time.Now, 0)
	if err != nil {
		t.Fatal(err)
	}
	h.prom = prometheus.NewRegistry()
	metrics := gateway.NewPrometheusMetrics(h.prom)
	h.server = gateway.NewServer(log, metrics, o.ready)
	x := &xds.Endpoints{Guard: h.guard, Auth: &authn.SOAP{SAML: o.saml, DevLoopback: o.devLoopback},
		Limits: o.limits, Log: log, Metrics: metrics}
	h.server.Handle("POST /xds/registry", x.RegistryHandler())
	h.server.Handle("POST /xds/repository", x.RepositoryHandler())
	home := o.home
	if home == "" {
		home = testHome
	}
	rg := &xca.Responding{Guard: h.guard, Auth: x.Auth, HomeCommunityID: home, Limits: o.limits, Log: log, Metrics: metrics}
	h.server.Handle("POST "+xca.RespondingPath, rg.Handler())
	ig := &xca.Initiating{Guard: h.guard, Auth: x.Auth, HomeCommunityID: home, Limits: o.limits, Log: log, Metrics: metrics}
	h.server.Handle("POST "+xca.InitiatingPath, ig.Handler())
	m := &mhd.Endpoints{Guard: h.guard, Tokens: verifier, Pager: h.pager, BaseURL: h.base, MaxProvide: o.maxProvide,
		Log: log, Metrics: metrics}
	m.Routes(h.server)
	ah, err := auditapi.NewHandler(auditapi.HandlerConfig{Searcher: h.audit, Authenticate: auditapi.AuditViewer(verifier, pol, h.base),
		Log: auditLog, BaseURL: h.base + "/fhir/R4", Site: "pjd-test",
		RequestID: func(r *http.Request) string { return gateway.RequestIDFrom(r.Context()) }, ErrorLog: log})
	if err != nil {
		t.Fatal(err)
	}
	h.server.Handle("GET /fhir/R4/AuditEvent", ah)
	if o.ui {
		h.mountUI(log)
	}
	if o.extra != nil {
		o.extra(h.server)
	}
	h.srv.Config.Handler = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if a := r.Header.Get(remoteHeader); a != "" {
			r.RemoteAddr = a
			r.Header.Del(remoteHeader)
		}
		h.server.ServeHTTP(w, r)
	})
	if o.clientCAs != nil {
		h.srv.TLS = &tls.Config{ClientCAs: o.clientCAs, ClientAuth: tls.VerifyClientCertIfGiven, MinVersion: tls.VersionTLS12}
		h.srv.StartTLS()
	} else {
		h.srv.Start()
	}
	t.Cleanup(h.srv.Close)
	if h.srv.URL != h.base {
		t.Fatalf("server URL %s, expected %s", h.srv.URL, h.base)
	}
	h.xds = xdsclient.New(h.base, h.srv.Client())
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("server log:\n%s", h.logs.String())
		}
	})
	return h
}

// Synthetic patients: the dev issuer's demo patients and the citizen
// persona's own number.
var (
	patientP  = devissuer.SyntheticPatients()[0]
	patientQ  = devissuer.SyntheticPatients()[1]
	citizenID = mustPersona("citizen").PID
)

func mustPersona(id string) devissuer.Persona {
	p, ok := devissuer.PersonaByID(id)
	if !ok {
		panic("no persona " + id)
	}
	return p
}

func cx(fnr string) string { return registry.NewPatientCX(fnr, oid.FNR).String() }

var confNORS = registry.Code{Code: "NORS", Scheme: oid.Volven9603, Display: "Sperret"}

// sourcePrincipal is the system principal of the samples' author
// organisation, as an mTLS certificate would give it.
func sourcePrincipal() *trust.Principal {
	return &trust.Principal{Kind: trust.System, Credential: "mtls",
		LegalEntity: trust.Identifier{ID: registry.SampleOrgnr, System: oid.OrgNr},
		Client:      trust.Client{ID: "syntetisk-epj", OrgNrParent: registry.SampleOrgnr}}
}

// provide registers sub with its sample documents directly through the
// guard (as a source would, without the SOAP round trip).
func (h *harness) provide(sub *registry.Submission, seq uint64) {
	h.t.Helper()
	ctx := context.Background()
	ids := make([]string, len(sub.Documents))
	for i, d := range sub.Documents {
		ids[i] = d.ID
	}
	up, err := h.guard.NewUpload(ctx, sourcePrincipal(), sub, ids)
	if err != nil {
		h.t.Fatal(err)
	}
	for i, d := range sub.Documents {
		if err := up.Put(ctx, d.ID, bytes.NewReader(registry.SampleDocument(seq, i, sub.SubmissionSet.PatientID))); err != nil {
			h.t.Fatal(err)
		}
	}
	if _, err := up.Commit(ctx); err != nil {
		h.t.Fatal(err)
	}
}

// Seeded documents of patientP: seqMixed holds a normal epikrise and a
// NORS one (in a folder); seqMore holds three more epikriser created on
// later days.
const (
	seqMixed = 3001
	seqMore  = 3002
	seqQ     = 3003
	seqCit   = 3004
)

var (
	uidNormal  = registry.SampleUniqueID(seqMixed, 0)
	uidNORS    = registry.SampleUniqueID(seqMixed, 1)
	uidQ       = registry.SampleUniqueID(seqQ, 0)
	uidUnknown = "2.999.578.1.424242.2.1"
)

func (h *harness) seed() {
	h.t.Helper()
	mixed := registry.SampleSubmission(registry.SampleOptions{Patient: cx(patientP), Documents: 2, Folder: true, Seq: seqMixed})
	mixed.Documents[1].Confidentiality = []registry.Code{confNORS}
	h.provide(mixed, seqMixed)
	more := registry.SampleSubmission(registry.SampleOptions{Patient: cx(patientP), Documents: 3, Seq: seqMore,
		Time: time.Date(2025, 2, 1, 9, 0, 0, 0, time.UTC)})
	for i, d := range more.Documents {
		d.CreationTime = registry.FormatDTM(time.Date(2025, 2, 1+i, 9, 0, 0, 0, time.UTC))
	}
	h.provide(more, seqMore)
	h.provide(registry.SampleSubmission(registry.SampleOptions{Patient: cx(patientQ), Seq: seqQ}), seqQ)
	h.provide(registry.SampleSubmission(registry.SampleOptions{Patient: cx(citizenID), Seq: seqCit}), seqCit)
}

// token issues a dev token for persona and patient.
func (h *harness) token(persona, patient string) *devissuer.Token {
	h.t.Helper()
	tok, err := h.iss.IssueToken(context.Background(), persona, patient)
	if err != nil {
		h.t.Fatal(err)
	}
	return tok
}

// tokenAs mints a token for a persona the catalogue does not have (e.g.
// a GP breaking the glass).
func (h *harness) tokenAs(p devissuer.Persona, patient string) *devissuer.Token {
	h.t.Helper()
	key, err := devissuer.NewDPoPKey()
	if err != nil {
		h.t.Fatal(err)
	}
	tp, err := key.Thumbprint(crypto.SHA256)
	if err != nil {
		h.t.Fatal(err)
	}
	at, err := h.iss.Mint(context.Background(), p, patient, base64.RawURLEncoding.EncodeToString(tp), p.Scopes)
	if err != nil {
		h.t.Fatal(err)
	}
	return &devissuer.Token{AccessToken: at, TokenType: "DPoP", Key: key}
}

// do sends an HTTP request to the gateway, authorized with tok when not
// nil. body may be nil.
func (h *harness) do(tok *devissuer.Token, method, target string, body io.Reader, hdr http.Header) *http.Response {
	h.t.Helper()
	if !strings.HasPrefix(target, "http") {
		target = h.base + target
	}
	req, err := http.NewRequest(method, target, body)
	if err != nil {
		h.t.Fatal(err)
	}
	for k, vs := range hdr {
		for _, v := range vs {
			req.Header.Add(k, v)
		}
	}
	if tok != nil {
		if err := tok.Authorize(req); err != nil {
			h.t.Fatal(err)
		}
	}
	resp, err := h.srv.Client().Do(req)
	if err != nil {
		h.t.Fatal(err)
	}
	h.t.Cleanup(func() { resp.Body.Close() })
	return resp
}

func readBody(t *testing.T, resp *http.Response) []byte {
	t.Helper()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// head is the seq of the newest audit record.
func (h *harness) head() int64 {
	h.t.Helper()
	p, err := h.audit.Search(context.Background(), audit.Filter{Limit: 1})
	if err != nil {
		h.t.Fatal(err)
	}
	if len(p.Records) == 0 {
		return 0
	}
	return p.Records[0].Seq
}

// since returns the audit records written after seq, oldest first.
func (h *harness) since(seq int64) []audit.Record {
	h.t.Helper()
	p, err := h.audit.Search(context.Background(), audit.Filter{Cursor: seq, Ascending: true, Limit: audit.MaxLimit})
	if err != nil {
		h.t.Fatal(err)
	}
	return p.Records
}

// oneRecord runs fn and returns the single audit record it wrote.
func (h *harness) oneRecord(t *testing.T, fn func()) audit.Record {
	t.Helper()
	seq := h.head()
	fn()
	recs := h.since(seq)
	if len(recs) != 1 {
		t.Fatalf("%d audit records, want 1: %+v", len(recs), recs)
	}
	return recs[0]
}

func readFixture(t *testing.T, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("..", "testdata", "gateway", name))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func timeNow() time.Time { return time.Now() }

// uiGet launches the UI for patient with tok, then GETs target in that
// session.
func (h *harness) uiGet(tok *devissuer.Token, patient string, targets ...string) []*http.Response {
	h.t.Helper()
	resp := h.do(tok, http.MethodPost, "/ui/launch", strings.NewReader("patient="+patient),
		http.Header{"Content-Type": {"application/x-www-form-urlencoded"}})
	var lr struct {
		LaunchURL string `json:"launch_url"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&lr); err != nil || resp.StatusCode != http.StatusOK {
		h.t.Fatalf("launch: %d %v", resp.StatusCode, err)
	}
	noRedirect := *h.srv.Client()
	noRedirect.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	opened, err := noRedirect.Get(lr.LaunchURL)
	if err != nil {
		h.t.Fatal(err)
	}
	_, _ = io.Copy(io.Discard, opened.Body)
	opened.Body.Close()
	var out []*http.Response
	for _, target := range targets {
		req, err := http.NewRequest(http.MethodGet, h.base+target, nil)
		if err != nil {
			h.t.Fatal(err)
		}
		for _, c := range opened.Cookies() {
			req.AddCookie(&http.Cookie{Name: c.Name, Value: c.Value})
		}
		r, err := noRedirect.Do(req)
		if err != nil {
			h.t.Fatal(err)
		}
		h.t.Cleanup(func() { r.Body.Close() })
		out = append(out, r)
	}
	return out
}

// damageBlob replaces the one stored blob holding content with
// damage(content), of the same length: the repository's integrity check
// fails at the end of its stream.
func (h *harness) damageBlob(content []byte, damage func([]byte) []byte) {
	h.t.Helper()
	damaged := 0
	err := filepath.WalkDir(h.blobDir, func(p string, d iofs.DirEntry, err error) error {
		if err != nil || d.IsDir() || !strings.HasSuffix(p, ".bin") {
			return err
		}
		b, err := os.ReadFile(p)
		if err == nil && bytes.Equal(b, content) {
			damaged++
			err = os.WriteFile(p, damage(b), 0o600)
		}
		return err
	})
	if err != nil || damaged != 1 {
		h.t.Fatalf("damaging the blob: %v (%d)", err, damaged)
	}
}

// fastlegeSees reports whether the fastlege's MHD search for the citizen
// shows the document uid.
func (h *harness) fastlegeSees(uid string) bool {
	h.t.Helper()
	resp := h.do(h.token("fastlege", citizenID), http.MethodGet, "/fhir/R4/DocumentReference?patient.identifier=urn:oid:"+oid.FNR+"|"+citizenID, nil, nil)
	body := string(readBody(h.t, resp))
	if resp.StatusCode != http.StatusOK {
		h.t.Fatalf("fastlege search: %d %s", resp.StatusCode, body)
	}
	return strings.Contains(body, uid)
}
