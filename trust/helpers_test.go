package trust_test

import (
	"bytes"
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/hmac"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"math/big"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"pjd/trust"
	"pjd/trust/replaytest"
)

var update = flag.Bool("update", false, "rewrite golden files under testdata/trust/golden")

// testdataDir is the repository's testdata/trust.
var testdataDir = filepath.Join("..", "testdata", "trust")

// Fixed instants: the attestation fixtures carry toa = attestedAt.
var (
	attestedAt = time.Unix(1768477800, 0).UTC() // 2026-01-15T11:50:00Z
	testNow    = attestedAt.Add(10 * time.Minute)
)

const (
	testAudience = "nhn:phr"
	testHTU      = "https://pjd.example.no/fhir/R4/DocumentReference/_search"
	testPatient  = "14865940093"
)

var (
	keysOnce sync.Once
	rsaKeys  []*rsa.PrivateKey
	ecKeys   []*ecdsa.PrivateKey
)

// testKeys returns RSA and EC keys generated once per test binary.
func testKeys() ([]*rsa.PrivateKey, []*ecdsa.PrivateKey) {
	keysOnce.Do(func() {
		for i := 0; i < 3; i++ {
			k, err := rsa.GenerateKey(rand.Reader, 2048)
			if err != nil {
				panic(err)
			}
			rsaKeys = append(rsaKeys, k)
			e, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
			if err != nil {
				panic(err)
			}
			ecKeys = append(ecKeys, e)
		}
	})
	return rsaKeys, ecKeys
}

func b64(b []byte) string { return base64.RawURLEncoding.EncodeToString(b) }

func mustJSON(v any) []byte {
	b, err := json.Marshal(v)
	if err != nil {
		panic(err)
	}
	return b
}

// rsaJWK is the public JWK of k.
func rsaJWK(k *rsa.PublicKey, kid, alg string) map[string]any {
	m := map[string]any{
		"kty": "RSA",
		"n":   b64(k.N.Bytes()),
		"e":   b64(big.NewInt(int64(k.E)).Bytes()),
		"use": "sig",
	}
	if kid != "" {
		m["kid"] = kid
	}
	if alg != "" {
		m["alg"] = alg
	}
	return m
}

// ecJWK is the public JWK of k (private adds d).
func ecJWK(k *ecdsa.PrivateKey, private bool) map[string]any {
	pt, err := k.PublicKey.Bytes() // 0x04 || X || Y
	if err != nil {
		panic(err)
	}
	m := map[string]any{
		"kty": "EC",
		"crv": "P-256",
		"x":   b64(pt[1:33]),
		"y":   b64(pt[33:65]),
	}
	if private {
		d, err := k.Bytes()
		if err != nil {
			panic(err)
		}
		m["d"] = b64(d)
	}
	return m
}

// ecThumbprint computes the RFC 7638 thumbprint independently of jwx.
func ecThumbprint(k *ecdsa.PrivateKey) string {
	j := ecJWK(k, false)
	s := fmt.Sprintf(`{"crv":"P-256","kty":"EC","x":"%s","y":"%s"}`, j["x"], j["y"])
	sum := sha256.Sum256([]byte(s))
	return b64(sum[:])
}

// signJWS produces a compact JWS over header and claims with key, using
// the alg in header; "none" gives an empty signature and HS* uses the
// []byte key as the HMAC secret.
func signJWS(header, claims map[string]any, key any) string {
	in := b64(mustJSON(header)) + "." + b64(mustJSON(claims))
	alg, _ := header["alg"].(string)
	var sig []byte
	switch alg {
	case "none":
	case "HS256":
		m := hmac.New(sha256.New, key.([]byte))
		m.Write([]byte(in))
		sig = m.Sum(nil)
	case "RS256", "PS256":
		k := key.(*rsa.PrivateKey)
		h := sha256.Sum256([]byte(in))
		var err error
		if alg == "RS256" {
			sig, err = rsa.SignPKCS1v15(rand.Reader, k, crypto.SHA256, h[:])
		} else {
			sig, err = rsa.SignPSS(rand.Reader, k, crypto.SHA256, h[:], nil)
		}
		if err != nil {
			panic(err)
		}
	case "ES256":
		k := key.(*ecdsa.PrivateKey)
		h := sha256.Sum256([]byte(in))
		r, s, err := ecdsa.Sign(rand.Reader, k, h[:])
		if err != nil {
			panic(err)
		}
		sig = append(r.FillBytes(make([]byte, 32)), s.FillBytes(make([]byte, 32))...)
	default:
		panic("signJWS: alg " + alg)
	}
	return in + "." + b64(sig)
}

// testIssuer is a HelseID stand-in on a real httptest server: discovery,
// JWKS and an expired-keys endpoint, with a fetch counter.
type testIssuer struct {
	srv     *httptest.Server
	key     *rsa.PrivateKey
	kid     string
	fetches atomic.Int64
	fail    atomic.Bool

	mu      sync.Mutex
	jwks    []map[string]any
	expired []map[string]any
	dev     bool
}

func newTestIssuer(t testing.TB) *testIssuer {
	t.Helper()
	rk, _ := testKeys()
	ti := &testIssuer{key: rk[0], kid: "kid-current"}
	ti.jwks = []map[string]any{rsaJWK(&rk[0].PublicKey, ti.kid, "RS256")}
	ti.expired = []map[string]any{rsaJWK(&rk[2].PublicKey, "kid-retired", "RS256")}
	mux := http.NewServeMux()
	mux.HandleFunc("/.well-known/openid-configuration", func(w http.ResponseWriter, r *http.Request) {
		if ti.fail.Load() {
			http.Error(w, "down", http.StatusServiceUnavailable)
			return
		}
		ti.mu.Lock()
		dev := ti.dev
		ti.mu.Unlock()
		md := map[string]any{
			"issuer":           ti.srv.URL,
			"jwks_uri":         ti.srv.URL + "/jwks",
			"expired_jwks_uri": ti.srv.URL + "/connect/expiredjwks",
		}
		if dev {
			md["pjd_dev_issuer"] = true
		}
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write(mustJSON(md))
	})
	mux.HandleFunc("/jwks", func(w http.ResponseWriter, r *http.Request) {
		ti.fetches.Add(1)
		if ti.fail.Load() {
			http.Error(w, "down", http.StatusServiceUnavailable)
			return
		}
		ti.mu.Lock()
		defer ti.mu.Unlock()
		_, _ = w.Write(mustJSON(map[string]any{"keys": ti.jwks}))
	})
	mux.HandleFunc("/connect/expiredjwks", func(w http.ResponseWriter, r *http.Request) {
		ti.mu.Lock()
		defer ti.mu.Unlock()
		_, _ = w.Write(mustJSON(map[string]any{"keys": ti.expired}))
	})
	ti.srv = httptest.NewServer(mux)
	t.Cleanup(ti.srv.Close)
	return ti
}

func (ti *testIssuer) metadataURL() string { return ti.srv.URL + "/.well-known/openid-configuration" }
func (ti *testIssuer) issuer() string      { return ti.srv.URL }

// env is a verifier wired to a test issuer and a memory replay cache.
type env struct {
	t      testing.TB
	iss    *testIssuer
	clock  *replaytest.Clock
	v      *trust.Verifier
	dpop   *ecdsa.PrivateKey
	replay trust.ReplayCache
	// lastProof is a proof a test has already used.
	lastProof string
}

func newEnv(t testing.TB, mut ...func(*trust.Config)) *env {
	t.Helper()
	_, ek := testKeys()
	e := &env{t: t, iss: newTestIssuer(t), clock: replaytest.NewClock(testNow), dpop: ek[0]}
	e.replay = trust.NewMemoryReplayCache(e.clock.Now, 0)
	cfg := trust.Config{
		Issuers:    []trust.IssuerConfig{{MetadataURL: e.iss.metadataURL()}},
		Audience:   testAudience,
		Replay:     e.replay,
		HTTPClient: e.iss.srv.Client(),
		Now:        e.clock.Now,
		MinRefetch: 30 * time.Second,
	}
	for _, m := range mut {
		m(&cfg)
	}
	v, err := trust.NewVerifier(cfg)
	if err != nil {
		t.Fatal(err)
	}
	e.v = v
	return e
}

// readFixture reads testdata/trust/<name>.
func readFixture(t testing.TB, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(testdataDir, name))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// attestationFixture returns the fixture as a generic JSON value.
func attestationFixture(t testing.TB, name string) any {
	var v any
	if err := json.Unmarshal(readFixture(t, "attestation/"+name), &v); err != nil {
		t.Fatal(err)
	}
	return v
}

// healthWorkerClaims is a valid HelseID access token for the fastlege of
// attestation/ex1_fastlege.json, bound to the env's DPoP key.
func (e *env) healthWorkerClaims() map[string]any {
	now := e.clock.Now().Unix()
	return map[string]any{
		"iss":                                    e.iss.issuer(),
		"aud":                                    testAudience,
		"exp":                                    now + 300,
		"nbf":                                    now - 5,
		"iat":                                    now - 5,
		"jti":                                    "76C46317EFA8EB555E868D645D4EE06E",
		"scope":                                  []string{trust.ScopeReadDocumentReferences, trust.ScopeReadDocument, "nhn:tillitsrammeverk:parameters"},
		"cnf":                                    map[string]any{"jkt": ecThumbprint(e.dpop)},
		"client_id":                              "2141d734-7604-42ca-a377-27f1b712f4e6",
		"client_amr":                             "private_key_jwt",
		"helseid://claims/client/client_name":    "Testlegekontorets EPJ",
		"helseid://claims/client/client_tenancy": "multi-tenant",
		"helseid://claims/client/claims/orgnr_parent":   "100100673",
		"helseid://claims/client/claims/orgnr_child":    "100100673",
		"helseid://claims/client/claims/orgnr_supplier": "910000012",
		"sub":                           "OCW6BpVN57vnbxBUE8WOOTM9FrkCaBixlD2y8FgYCag=",
		"helseid://claims/identity/pid": "12887040093",
		"helseid://claims/identity/security_level":  "4",
		"helseid://claims/identity/assurance_level": "high",
		"helseid://claims/identity/network":         "helsenett",
		"helseid://claims/hpr/hpr_number":           "565500013",
		"name":                                      "Frida Fastlege",
		"authorization_details":                     attestationFixture(e.t, "ex1_fastlege.json"),
	}
}

func (e *env) header(kid string) map[string]any {
	return map[string]any{"alg": "RS256", "typ": "at+jwt", "kid": kid}
}

// token signs claims with the issuer's current key.
func (e *env) token(claims map[string]any) string {
	return signJWS(e.header(e.iss.kid), claims, e.iss.key)
}

// proofClaims are valid DPoP proof claims for (method, htu, token).
func (e *env) proofClaims(method, htu, token string) map[string]any {
	sum := sha256.Sum256([]byte(token))
	return map[string]any{
		"jti": fmt.Sprintf("proof-%d", proofSeq.Add(1)),
		"htm": method,
		"htu": htu,
		"iat": e.clock.Now().Unix(),
		"ath": b64(sum[:]),
	}
}

var proofSeq atomic.Int64

func (e *env) proofHeader(k *ecdsa.PrivateKey) map[string]any {
	return map[string]any{"typ": "dpop+jwt", "alg": "ES256", "jwk": ecJWK(k, false)}
}

// proof signs a valid proof with the env's DPoP key.
func (e *env) proof(method, htu, token string) string {
	return signJWS(e.proofHeader(e.dpop), e.proofClaims(method, htu, token), e.dpop)
}

// request builds an HTTP request carrying token and proof.
func request(method, target, authz string, dpop ...string) *http.Request {
	r := httptest.NewRequest(method, target, nil)
	if authz != "" {
		r.Header.Set("Authorization", authz)
	}
	for _, d := range dpop {
		r.Header.Add("DPoP", d)
	}
	return r
}

// validRequest is an accepted request for claims.
func (e *env) validRequest(claims map[string]any) *http.Request {
	tok := e.token(claims)
	return request(http.MethodPost, testHTU, "DPoP "+tok, e.proof(http.MethodPost, testHTU, tok))
}

var readReq = trust.Requirement{Scope: trust.ScopeReadDocumentReferences, HTU: testHTU}

// golden compares got (as indented JSON) with testdata/trust/golden/name,
// rewriting it with -update.
func golden(t *testing.T, name string, got any) {
	t.Helper()
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	enc.SetIndent("", "  ")
	if err := enc.Encode(got); err != nil {
		t.Fatal(err)
	}
	b := buf.Bytes()
	path := filepath.Join(testdataDir, "golden", name)
	if *update {
		if err := os.WriteFile(path, b, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test ./trust -update to create it)", err)
	}
	if string(want) != string(b) {
		t.Errorf("%s differs from the golden file (run with -update after checking):\n--- got\n%s\n--- want\n%s", name, b, want)
	}
}

// wantKind fails t unless err is an *trust.Error of kind k (checked with
// errors.Is against the sentinel and KindOf).
func wantKind(t testing.TB, err error, k trust.Kind) {
	t.Helper()
	if err == nil {
		t.Fatalf("accepted; want rejection %v", k)
	}
	if got := trust.KindOf(err); got != k {
		t.Fatalf("kind %v, want %v (err: %v)", got, k, err)
	}
	if !errorsIsKind(err, k) {
		t.Fatalf("errors.Is does not match the %v sentinel: %v", k, err)
	}
}

func errorsIsKind(err error, k trust.Kind) bool {
	return errors.Is(err, &trust.Error{Kind: k})
}
