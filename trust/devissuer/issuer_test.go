package devissuer_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"pjd/trust"
	"pjd/trust/devissuer"
	"pjd/trust/policy"
)

const searchPath = "/fhir/R4/DocumentReference/_search"

// server is pjd serve --dev in miniature: the dev issuer and one protected
// endpoint on one real HTTP server, the verifier configured with nothing
// but the issuer's metadata URL.
type server struct {
	srv    *httptest.Server
	iss    atomic.Pointer[devissuer.Issuer]
	v      *trust.Verifier
	keyDir string
}

func newServer(t *testing.T, keyDir string, allowDev bool) *server {
	t.Helper()
	s := &server{keyDir: keyDir}
	mux := http.NewServeMux()
	mux.Handle("/dev/helseid/", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { s.iss.Load().ServeHTTP(w, r) }))
	mux.HandleFunc(searchPath, func(w http.ResponseWriter, r *http.Request) {
		p, err := s.v.VerifyRequest(r.Context(), r, trust.Requirement{
			Scope:  trust.ScopeReadDocumentReferences,
			Scopes: []string{trust.ScopeCitizen},
			HTU:    s.srv.URL + r.URL.Path,
		})
		if err != nil {
			if h := trust.WWWAuthenticate(err, trust.ScopeReadDocumentReferences); h != "" {
				w.Header().Set("WWW-Authenticate", h)
			}
			w.Header().Set("X-Trust-Kind", trust.KindOf(err).String())
			http.Error(w, trust.Description(err), trust.HTTPStatus(err))
			return
		}
		_ = json.NewEncoder(w).Encode(p)
	})
	s.srv = httptest.NewServer(mux)
	t.Cleanup(s.srv.Close)
	s.start(t)
	v, err := trust.NewVerifier(trust.Config{
		Issuers:        []trust.IssuerConfig{{MetadataURL: s.iss.Load().MetadataURL()}},
		Audience:       devissuer.DefaultAudience,
		Replay:         trust.NewMemoryReplayCache(nil, 0),
		HTTPClient:     s.srv.Client(),
		AllowDevIssuer: allowDev,
	})
	if err != nil {
		t.Fatal(err)
	}
	s.v = v
	return s
}

// start (re)creates the issuer from the key directory, as a restart would.
func (s *server) start(t *testing.T) {
	iss, err := devissuer.New(devissuer.DevMode(true), devissuer.Options{Issuer: s.srv.URL + "/dev/helseid", KeyDir: s.keyDir})
	if err != nil {
		t.Fatal(err)
	}
	s.iss.Store(iss)
}

func (s *server) client() *devissuer.Client {
	return &devissuer.Client{HTTP: s.srv.Client(), Issuer: s.srv.URL + "/dev/helseid"}
}

func (s *server) search(t *testing.T, tok *devissuer.Token) (*http.Response, *trust.Principal) {
	t.Helper()
	c := &http.Client{Transport: tok.Transport(s.srv.Client().Transport)}
	resp, err := c.Post(s.srv.URL+searchPath+"?patient=x", "application/x-www-form-urlencoded", strings.NewReader("patient=x"))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return resp, nil
	}
	var p trust.Principal
	if err := json.NewDecoder(resp.Body).Decode(&p); err != nil {
		t.Fatal(err)
	}
	return resp, &p
}

const patient = "14865940093"

func TestTokensVerifyOverHTTP(t *testing.T) {
	s := newServer(t, t.TempDir(), true)
	ctx := context.Background()
	pol := policy.Default()
	for _, c := range []struct {
		persona string
		kind    trust.PrincipalKind
		permit  bool
		rule    string
	}{
		{"fastlege", trust.HealthWorker, true, policy.RuleHealthWorkerCare},
		{"sykehjemslege", trust.HealthWorker, true, policy.RuleHealthWorkerCare},
		{"sykehuslege", trust.HealthWorker, true, policy.RuleHealthWorkerCare},
		{"psykolog", trust.HealthWorker, true, policy.RuleHealthWorkerCare},
		{"sykepleier", trust.HealthWorker, false, policy.RuleAuthorizationNotAllowed},
		{"citizen", trust.Citizen, false, policy.RuleCitizenOtherPatient},
	} {
		t.Run(c.persona, func(t *testing.T) {
			pat := patient
			if c.kind == trust.Citizen {
				pat = ""
			}
			tok, err := s.client().Token(ctx, c.persona, pat, nil)
			if err != nil {
				t.Fatal(err)
			}
			resp, p := s.search(t, tok)
			if p == nil {
				t.Fatalf("status %d, kind %s", resp.StatusCode, resp.Header.Get("X-Trust-Kind"))
			}
			persona, _ := devissuer.PersonaByID(c.persona)
			if p.Kind != c.kind || p.Subject != persona.PID || p.Issuer != s.iss.Load().Issuer() {
				t.Fatalf("principal %+v", p)
			}
			if c.kind == trust.HealthWorker {
				if !p.HasAttestation || len(p.Patients) != 1 || p.Patients[0].Identifier.ID != patient || p.LegalEntity != persona.LegalEntity {
					t.Fatalf("attestation not carried: %+v", p)
				}
			}
			d := pol.Decide(policy.Request{Principal: p, Action: policy.ActionFind, Scope: p.MatchedScope, PatientIDs: []string{patient}, Now: time.Now()})
			if d.Permitted() != c.permit || d.Rule != c.rule {
				t.Fatalf("policy: %s by %s (%s)", d.Effect, d.Rule, d.Reason)
			}
		})
	}
}

func TestTokensSurviveRestart(t *testing.T) {
	dir := t.TempDir()
	s := newServer(t, dir, true)
	ctx := context.Background()
	kid := s.iss.Load().KeyID()
	tok, err := s.client().Token(ctx, "fastlege", patient, nil)
	if err != nil {
		t.Fatal(err)
	}
	s.start(t) // restart: same key directory
	if got := s.iss.Load().KeyID(); got != kid {
		t.Fatalf("kid changed across restart: %s -> %s", kid, got)
	}
	if resp, p := s.search(t, tok); p == nil {
		t.Fatalf("token from before the restart refused: %d %s", resp.StatusCode, resp.Header.Get("X-Trust-Kind"))
	}
	fi, err := os.Stat(filepath.Join(dir, "dev-helseid-signing-key.jwk.json"))
	if err != nil {
		t.Fatal(err)
	}
	if fi.Mode().Perm() != 0o600 {
		t.Fatalf("signing key mode %v", fi.Mode().Perm())
	}
}

// A production verifier (no AllowDevIssuer) refuses the dev issuer.
func TestProductionVerifierRefusesDevIssuer(t *testing.T) {
	s := newServer(t, t.TempDir(), false)
	tok, err := s.client().Token(context.Background(), "fastlege", patient, nil)
	if err != nil {
		t.Fatal(err)
	}
	resp, p := s.search(t, tok)
	if p != nil || resp.StatusCode != http.StatusServiceUnavailable || resp.Header.Get("X-Trust-Kind") != trust.KindIssuerUnavailable.String() {
		t.Fatalf("status %d kind %s principal %+v", resp.StatusCode, resp.Header.Get("X-Trust-Kind"), p)
	}
}

func TestNewRefusesOutsideDevMode(t *testing.T) {
	for _, m := range []devissuer.Mode{{}, devissuer.DevMode(false)} {
		if _, err := devissuer.New(m, devissuer.Options{Issuer: "http://127.0.0.1/dev/helseid", KeyDir: t.TempDir()}); !errors.Is(err, devissuer.ErrNotDevMode) {
			t.Fatalf("New outside dev mode: %v", err)
		}
	}
	if _, err := devissuer.New(devissuer.DevMode(true), devissuer.Options{Issuer: "http://127.0.0.1/dev/helseid"}); err == nil {
		t.Fatal("New without a key directory accepted")
	}
}

func TestTokenEndpointRejections(t *testing.T) {
	s := newServer(t, t.TempDir(), true)
	iss := s.iss.Load()
	key, err := devissuer.NewDPoPKey()
	if err != nil {
		t.Fatal(err)
	}
	post := func(form url.Values, proof string) (int, string) {
		req, _ := http.NewRequest(http.MethodPost, iss.TokenEndpoint(), strings.NewReader(form.Encode()))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		if proof != "" {
			req.Header.Set("DPoP", proof)
		}
		resp, err := s.srv.Client().Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var e struct {
			Error string `json:"error"`
		}
		_ = json.NewDecoder(resp.Body).Decode(&e)
		return resp.StatusCode, e.Error
	}
	proof := func() string {
		p, err := devissuer.Proof(key, http.MethodPost, iss.TokenEndpoint(), "", time.Now())
		if err != nil {
			t.Fatal(err)
		}
		return p
	}
	good := url.Values{"grant_type": {"client_credentials"}, "persona": {"fastlege"}, "patient": {patient}}
	with := func(k, v string) url.Values {
		f := url.Values{}
		for kk, vv := range good {
			f[kk] = vv
		}
		f.Set(k, v)
		return f
	}
	reused := proof()
	if code, e := post(good, reused); code != 200 {
		t.Fatalf("good request: %d %s", code, e)
	}
	for _, c := range []struct {
		name  string
		form  url.Values
		proof string
		code  int
		err   string
	}{
		{"no DPoP proof", good, "", 400, "invalid_dpop_proof"},
		{"replayed proof", good, reused, 400, "invalid_dpop_proof"},
		{"proof for another URL", good, func() string {
			p, _ := devissuer.Proof(key, http.MethodPost, s.srv.URL+"/elsewhere", "", time.Now())
			return p
		}(), 400, "invalid_dpop_proof"},
		{"unknown persona", with("persona", "admin"), proof(), 400, "invalid_request"},
		{"patient with a bad check digit", with("patient", "14865940094"), proof(), 400, "invalid_request"},
		{"scope not granted", with("scope", trust.ScopeAudit), proof(), 400, "invalid_scope"},
		{"password grant", with("grant_type", "password"), proof(), 400, "unsupported_grant_type"},
		{"citizen for someone else", url.Values{"grant_type": {"client_credentials"}, "persona": {"citizen"}, "patient": {patient}}, proof(), 400, "invalid_request"},
	} {
		t.Run(c.name, func(t *testing.T) {
			code, e := post(c.form, c.proof)
			if code != c.code || e != c.err {
				t.Fatalf("%d %q, want %d %q", code, e, c.code, c.err)
			}
		})
	}
}

// `pjd token --format json` output: any HTTP client can use the token with
// the dpop_key it carries.
func TestTokenJSONRoundTrip(t *testing.T) {
	s := newServer(t, t.TempDir(), true)
	tok, err := s.client().Token(context.Background(), "psykolog", patient, nil)
	if err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	if err := tok.WriteJSON(&buf); err != nil {
		t.Fatal(err)
	}
	var out map[string]any
	if err := json.Unmarshal(buf.Bytes(), &out); err != nil {
		t.Fatal(err)
	}
	if out["token_type"] != "DPoP" || out["access_token"] == "" || out["expires_in"].(float64) != 3600 {
		t.Fatalf("output %v", out)
	}
	key := out["dpop_key"].(map[string]any)
	if key["kty"] != "EC" || key["d"] == nil {
		t.Fatalf("dpop_key is not the private EC key: %v", key)
	}
	back, err := devissuer.ReadToken(&buf)
	if err != nil {
		t.Fatal(err)
	}
	if resp, p := s.search(t, back); p == nil || p.Kind != trust.HealthWorker {
		t.Fatalf("token read back refused: %d", resp.StatusCode)
	}
}

func TestPersonasAreSynthetic(t *testing.T) {
	seen := map[string]bool{}
	for _, p := range devissuer.Personas() {
		if seen[p.ID] {
			t.Errorf("duplicate persona %s", p.ID)
		}
		seen[p.ID] = true
		if p.PID != "" {
			if !trust.ValidNIN(p.PID) {
				t.Errorf("%s: %s has invalid check digits", p.ID, p.PID)
			}
			if m := (p.PID[2]-'0')*10 + (p.PID[3] - '0'); m < 65 {
				t.Errorf("%s: %s is not a synthetic number (month+65 or month+80)", p.ID, p.PID)
			}
		}
		for _, org := range []string{p.LegalEntity.ID, p.PointOfCare.ID, p.Client.OrgNrParent, p.Client.OrgNrChild} {
			if org != "" && !trust.ValidOrgNr(org) {
				t.Errorf("%s: organisation number %s invalid", p.ID, org)
			}
		}
	}
	for _, id := range []string{"fastlege", "sykehjemslege", "sykehuslege", "psykolog", "sykepleier", "compliance", "citizen"} {
		if !seen[id] {
			t.Errorf("persona %s missing", id)
		}
	}
	for _, pt := range devissuer.SyntheticPatients() {
		if !trust.ValidNIN(pt) {
			t.Errorf("patient %s invalid", pt)
		}
	}
}

// Personas without a read scope get 403 insufficient_scope from a read
// endpoint; their tokens are otherwise valid.
func TestNonReadingPersonas(t *testing.T) {
	s := newServer(t, t.TempDir(), true)
	for _, id := range []string{"compliance", "sykehus-epj"} {
		t.Run(id, func(t *testing.T) {
			tok, err := s.client().Token(context.Background(), id, "", nil)
			if err != nil {
				t.Fatal(err)
			}
			resp, p := s.search(t, tok)
			if p != nil || resp.StatusCode != http.StatusForbidden || !strings.Contains(resp.Header.Get("WWW-Authenticate"), `error="insufficient_scope"`) {
				t.Fatalf("status %d, WWW-Authenticate %q", resp.StatusCode, resp.Header.Get("WWW-Authenticate"))
			}
		})
	}
}

func TestDiscoveryDocument(t *testing.T) {
	s := newServer(t, t.TempDir(), true)
	resp, err := s.srv.Client().Get(s.iss.Load().MetadataURL())
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var md map[string]any
	if err := json.NewDecoder(resp.Body).Decode(&md); err != nil {
		t.Fatal(err)
	}
	if md["issuer"] != s.srv.URL+"/dev/helseid" || md["pjd_dev_issuer"] != true || md["token_endpoint"] != s.iss.Load().TokenEndpoint() {
		t.Fatalf("metadata %v", md)
	}
	r2, err := s.srv.Client().Get(md["jwks_uri"].(string))
	if err != nil {
		t.Fatal(err)
	}
	defer r2.Body.Close()
	var jwks struct {
		Keys []map[string]any `json:"keys"`
	}
	if err := json.NewDecoder(r2.Body).Decode(&jwks); err != nil {
		t.Fatal(err)
	}
	if len(jwks.Keys) != 1 || jwks.Keys[0]["d"] != nil || jwks.Keys[0]["kid"] != s.iss.Load().KeyID() {
		t.Fatalf("jwks %v", jwks)
	}
}

func TestIssueTokenInProcess(t *testing.T) {
	s := newServer(t, t.TempDir(), true)
	tok, err := s.iss.Load().IssueToken(context.Background(), "sykehuslege", patient)
	if err != nil {
		t.Fatal(err)
	}
	resp, p := s.search(t, tok)
	if p == nil || p.Kind != trust.HealthWorker || p.Department.ID != "4210001" {
		t.Fatalf("status %d principal %+v", resp.StatusCode, p)
	}
	if _, err := s.iss.Load().IssueToken(context.Background(), "nobody", patient); err == nil {
		t.Fatal("unknown persona accepted")
	}
}

// TestTokenAtWithScopes: the token endpoint named directly (no discovery),
// with the scopes asked for, and a scope the persona lacks refused.
func TestTokenAtWithScopes(t *testing.T) {
	s := newServer(t, t.TempDir(), true)
	ctx := context.Background()
	endpoint := s.iss.Load().TokenEndpoint()
	tok, err := s.client().TokenAt(ctx, endpoint, "fastlege", patient,
		[]string{trust.ScopeReadDocumentReferences, trust.AttestationType}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if tok.TokenType != "DPoP" || tok.Key == nil || tok.ExpiresIn <= 0 ||
		tok.Scope != trust.ScopeReadDocumentReferences+" "+trust.AttestationType {
		t.Fatalf("token %+v", tok)
	}
	if resp, p := s.search(t, tok); p == nil || p.MatchedScope != trust.ScopeReadDocumentReferences {
		t.Fatalf("status %d principal %+v", resp.StatusCode, p)
	}
	if _, err := s.client().TokenAt(ctx, endpoint, "fastlege", patient, []string{trust.ScopeAudit}, nil); err == nil ||
		!strings.Contains(err.Error(), "invalid_scope") {
		t.Fatalf("a scope the persona lacks: %v", err)
	}
}

// TestMintBound: the token is bound to the key returned with it.
func TestMintBound(t *testing.T) {
	s := newServer(t, t.TempDir(), true)
	p, _ := devissuer.PersonaByID("sykehuslege")
	at, key, err := s.iss.Load().MintBound(context.Background(), p, patient)
	if err != nil {
		t.Fatal(err)
	}
	if resp, pr := s.search(t, &devissuer.Token{AccessToken: at, TokenType: "DPoP", Key: key}); pr == nil || pr.Kind != trust.HealthWorker {
		t.Fatalf("status %d principal %+v", resp.StatusCode, pr)
	}
	other, err := devissuer.NewDPoPKey()
	if err != nil {
		t.Fatal(err)
	}
	if resp, pr := s.search(t, &devissuer.Token{AccessToken: at, TokenType: "DPoP", Key: other}); pr != nil || resp.StatusCode != http.StatusUnauthorized {
		t.Fatalf("a proof with another key: status %d principal %+v", resp.StatusCode, pr)
	}
}
