package devissuer

import (
	"context"
	"crypto"
	"crypto/rand"
	"crypto/rsa"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/google/uuid"
	"github.com/lestrrat-go/jwx/v2/jwa"
	"github.com/lestrrat-go/jwx/v2/jwk"
	"github.com/lestrrat-go/jwx/v2/jws"

	"pjd/registry/oid"
	"pjd/trust"
)

// Mode is the proof that the caller runs in development mode. The zero
// Mode is not dev mode; only DevMode(true) and Standalone() are.
type Mode struct{ dev, standalone bool }

// DevMode returns the Mode for the value of the --dev flag. Pass the
// flag's value and nothing else. Its tokens and metadata are marked as a
// development issuer's, which only a --dev server accepts.
func DevMode(devFlag bool) Mode { return Mode{dev: devFlag} }

// Standalone is the Mode of the issuer running as its own process (pjd
// dev-issuer, over HTTPS with its own CA), so that a pjd serve without
// --dev can be tested end to end. Its tokens and metadata carry no
// development marks: to a production server it is just another HTTPS
// issuer, trusted only when configured explicitly (--issuer with its
// metadata URL, and --issuer-ca with its CA, which nothing else trusts).
// Only pjd dev-issuer, and tools minting for it, should use it.
func Standalone() Mode { return Mode{dev: true, standalone: true} }

// ErrNotDevMode is returned by New outside development mode.
var ErrNotDevMode = errors.New("devissuer: the development token issuer only runs with --dev or as pjd dev-issuer")

// Options configures the issuer.
type Options struct {
	// Issuer is the issuer's external URL, e.g.
	// http://127.0.0.1:8080/dev/helseid; its path is where the handler
	// expects to be mounted.
	Issuer string
	// KeyDir holds the signing key (created on first start).
	KeyDir string
	// Audience of the tokens; default "nhn:phr".
	Audience string
	// TokenLifetime; default 1 hour.
	TokenLifetime time.Duration
	Now           func() time.Time
}

// Issuer is the development token issuer, an http.Handler.
type Issuer struct {
	opts       Options
	standalone bool   // no development marks (Standalone)
	prefix     string // path of Options.Issuer
	key        jwk.Key
	pub        jwk.Key
	proofs     *trust.ProofVerifier
}

// DefaultAudience is the audience of dev tokens.
const DefaultAudience = "nhn:phr"

const keyFile = "dev-helseid-signing-key.jwk.json"

// New builds the issuer. It refuses unless mode is DevMode(true).
func New(mode Mode, opts Options) (*Issuer, error) {
	if !mode.dev {
		return nil, ErrNotDevMode
	}
	u, err := url.Parse(opts.Issuer)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || u.RawQuery != "" || u.Fragment != "" {
		return nil, fmt.Errorf("devissuer: issuer %q is not an http(s) URL", opts.Issuer)
	}
	if opts.KeyDir == "" {
		return nil, errors.New("devissuer: no key directory")
	}
	if opts.Audience == "" {
		opts.Audience = DefaultAudience
	}
	if opts.TokenLifetime <= 0 {
		opts.TokenLifetime = time.Hour
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	opts.Issuer = strings.TrimSuffix(opts.Issuer, "/")
	key, err := loadOrCreateKey(opts.KeyDir)
	if err != nil {
		return nil, err
	}
	pub, err := key.PublicKey()
	if err != nil {
		return nil, fmt.Errorf("devissuer: %w", err)
	}
	pv, err := trust.NewProofVerifier(trust.ProofConfig{Now: opts.Now, Replay: trust.NewMemoryReplayCache(opts.Now, 0)})
	if err != nil {
		return nil, err
	}
	if mode.standalone && u.Scheme != "https" {
		return nil, fmt.Errorf("devissuer: a standalone issuer is served over https, not %q", opts.Issuer)
	}
	return &Issuer{opts: opts, standalone: mode.standalone, prefix: strings.TrimSuffix(u.Path, "/"), key: key, pub: pub, proofs: pv}, nil
}

// loadOrCreateKey reads the RSA signing key from dir, creating it (0600)
// on first use.
func loadOrCreateKey(dir string) (jwk.Key, error) {
	path := filepath.Join(dir, keyFile)
	b, err := os.ReadFile(path)
	switch {
	case err == nil:
		k, err := jwk.ParseKey(b)
		if err != nil {
			return nil, fmt.Errorf("devissuer: %s: %w", path, err)
		}
		if _, ok := k.(jwk.RSAPrivateKey); !ok || k.KeyID() == "" {
			return nil, fmt.Errorf("devissuer: %s is not an RSA private key with a kid", path)
		}
		return k, nil
	case !errors.Is(err, os.ErrNotExist):
		return nil, fmt.Errorf("devissuer: %w", err)
	}
	raw, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		return nil, err
	}
	k, err := jwk.FromRaw(raw)
	if err != nil {
		return nil, err
	}
	tp, err := k.Thumbprint(crypto.SHA256)
	if err != nil {
		return nil, err
	}
	_ = k.Set(jwk.KeyIDKey, "dev-"+base64.RawURLEncoding.EncodeToString(tp)[:16])
	_ = k.Set(jwk.AlgorithmKey, jwa.RS256)
	_ = k.Set(jwk.KeyUsageKey, jwk.ForSignature)
	b, err = json.Marshal(k)
	if err != nil {
		return nil, err
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("devissuer: %w", err)
	}
	tmp, err := os.CreateTemp(dir, ".signing-key-*")
	if err != nil {
		return nil, fmt.Errorf("devissuer: %w", err)
	}
	defer os.Remove(tmp.Name())
	if _, err := tmp.Write(b); err != nil {
		tmp.Close()
		return nil, err
	}
	if err := tmp.Chmod(0o600); err != nil {
		tmp.Close()
		return nil, err
	}
	if err := tmp.Close(); err != nil {
		return nil, err
	}
	if err := os.Rename(tmp.Name(), path); err != nil {
		return nil, fmt.Errorf("devissuer: %w", err)
	}
	return k, nil
}

// Issuer returns the issuer URL.
func (iss *Issuer) Issuer() string { return iss.opts.Issuer }

// MetadataURL is the discovery document's URL, for trust.IssuerConfig.
func (iss *Issuer) MetadataURL() string {
	return iss.opts.Issuer + "/.well-known/openid-configuration"
}

// TokenEndpoint is the token endpoint's URL.
func (iss *Issuer) TokenEndpoint() string { return iss.opts.Issuer + "/connect/token" }

// KeyID is the signing key's kid.
func (iss *Issuer) KeyID() string { return iss.key.KeyID() }

// ServeHTTP serves discovery, JWKS, expired keys, personas and tokens.
func (iss *Issuer) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	p, ok := strings.CutPrefix(r.URL.Path, iss.prefix)
	if !ok {
		http.NotFound(w, r)
		return
	}
	switch p {
	case "/.well-known/openid-configuration":
		iss.get(w, r, iss.metadata())
	case "/.well-known/openid-configuration/jwks":
		iss.get(w, r, map[string]any{"keys": []jwk.Key{iss.pub}})
	case "/connect/expiredjwks":
		iss.get(w, r, map[string]any{"keys": []any{}})
	case "/personas":
		iss.get(w, r, Personas())
	case "/connect/token":
		iss.token(w, r)
	default:
		http.NotFound(w, r)
	}
}

func (iss *Issuer) metadata() map[string]any {
	var scopes []string
	for _, p := range Personas() {
		for _, s := range p.Scopes {
			if !slices.Contains(scopes, s) {
				scopes = append(scopes, s)
			}
		}
	}
	md := map[string]any{
		"issuer":                                iss.opts.Issuer,
		"jwks_uri":                              iss.opts.Issuer + "/.well-known/openid-configuration/jwks",
		"expired_jwks_uri":                      iss.opts.Issuer + "/connect/expiredjwks",
		"token_endpoint":                        iss.TokenEndpoint(),
		"grant_types_supported":                 []string{"client_credentials"},
		"token_endpoint_auth_methods_supported": []string{"none"},
		"dpop_signing_alg_values_supported":     strings.Fields(trust.DPoPAlgorithms),
		"scopes_supported":                      scopes,
		"pjd_personas_endpoint":                 iss.opts.Issuer + "/personas",
	}
	if !iss.standalone {
		md["pjd_dev_issuer"] = true
	}
	return md
}

func (iss *Issuer) get(w http.ResponseWriter, r *http.Request, v any) {
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		w.Header().Set("Allow", "GET, HEAD")
		http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
		return
	}
	writeJSON(w, http.StatusOK, v)
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

func oauthError(w http.ResponseWriter, status int, code, desc string) {
	writeJSON(w, status, map[string]string{"error": code, "error_description": desc})
}

// token implements the token endpoint: grant_type=client_credentials with
// persona (required) and patient (the patient the attestation is made
// for), and a DPoP proof for this endpoint (RFC 9449 §5).
func (iss *Issuer) token(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodPost {
		w.Header().Set("Allow", "POST")
		oauthError(w, http.StatusMethodNotAllowed, "invalid_request", "use POST")
		return
	}
	r.Body = http.MaxBytesReader(w, r.Body, 64<<10)
	if err := r.ParseForm(); err != nil {
		oauthError(w, http.StatusBadRequest, "invalid_request", "the form could not be read")
		return
	}
	if gt := r.PostForm.Get("grant_type"); gt != "client_credentials" {
		oauthError(w, http.StatusBadRequest, "unsupported_grant_type", "only client_credentials with a persona is supported")
		return
	}
	persona, ok := PersonaByID(r.PostForm.Get("persona"))
	if !ok {
		oauthError(w, http.StatusBadRequest, "invalid_request", "unknown persona; see "+iss.opts.Issuer+"/personas")
		return
	}
	patient := r.PostForm.Get("patient")
	if patient != "" && !trust.ValidNIN(patient) {
		oauthError(w, http.StatusBadRequest, "invalid_request", "patient is not a valid national identity number")
		return
	}
	if persona.Kind == trust.Citizen && patient != "" && patient != persona.PID {
		oauthError(w, http.StatusBadRequest, "invalid_request", "a citizen token is for the citizen's own records")
		return
	}
	scopes := persona.Scopes
	if s := r.PostForm.Get("scope"); s != "" {
		scopes = nil
		for _, sc := range strings.Fields(s) {
			if !slices.Contains(persona.Scopes, sc) {
				oauthError(w, http.StatusBadRequest, "invalid_scope", "scope "+sc+" is not granted to this persona")
				return
			}
			scopes = append(scopes, sc)
		}
	}
	proofs := r.Header.Values("DPoP")
	if len(proofs) != 1 {
		oauthError(w, http.StatusBadRequest, "invalid_dpop_proof", "exactly one DPoP proof is required")
		return
	}
	proof, err := iss.proofs.Verify(r.Context(), proofs[0], trust.ProofCheck{Method: http.MethodPost, HTU: iss.TokenEndpoint()})
	if err != nil {
		oauthError(w, http.StatusBadRequest, "invalid_dpop_proof", trust.Description(err))
		return
	}
	tok, err := iss.Mint(r.Context(), persona, patient, proof.JKT, scopes)
	if err != nil {
		oauthError(w, http.StatusInternalServerError, "server_error", "the token could not be issued")
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{
		"access_token": tok,
		"token_type":   "DPoP",
		"expires_in":   int(iss.opts.TokenLifetime / time.Second),
		"scope":        strings.Join(scopes, " "),
	})
}

// IssueToken mints a token for persona (and patient) in process, bound to
// a new DPoP key — what the token endpoint would return, without the HTTP
// round trip (the demo host uses it).
func (iss *Issuer) IssueToken(ctx context.Context, personaID, patient string) (*Token, error) {
	p, ok := PersonaByID(personaID)
	if !ok {
		return nil, fmt.Errorf("devissuer: unknown persona %q", personaID)
	}
	if patient != "" && !trust.ValidNIN(patient) {
		return nil, fmt.Errorf("devissuer: patient is not a valid national identity number")
	}
	tok, key, err := iss.MintBound(ctx, p, patient)
	if err != nil {
		return nil, err
	}
	return &Token{AccessToken: tok, TokenType: "DPoP", ExpiresIn: int(iss.opts.TokenLifetime / time.Second),
		Scope: strings.Join(p.Scopes, " "), Key: key, Now: iss.opts.Now}, nil
}

// MintBound mints an access token for persona (and patient) with the
// persona's scopes, bound to a new DPoP key, and returns both.
func (iss *Issuer) MintBound(ctx context.Context, p Persona, patient string) (accessToken string, key jwk.Key, err error) {
	key, err = NewDPoPKey()
	if err != nil {
		return "", nil, err
	}
	tp, err := key.Thumbprint(crypto.SHA256)
	if err != nil {
		return "", nil, err
	}
	accessToken, err = iss.Mint(ctx, p, patient, base64.RawURLEncoding.EncodeToString(tp), p.Scopes)
	if err != nil {
		return "", nil, err
	}
	return accessToken, key, nil
}

// Mint signs an access token for persona (and patient, for health
// workers' attestations), bound to the DPoP key with thumbprint jkt.
func (iss *Issuer) Mint(_ context.Context, p Persona, patient, jkt string, scopes []string) (string, error) {
	now := iss.opts.Now().UTC().Truncate(time.Second)
	claims := map[string]any{
		"iss":                                    iss.opts.Issuer,
		"aud":                                    iss.opts.Audience,
		"iat":                                    now.Unix(),
		"nbf":                                    now.Unix(),
		"exp":                                    now.Add(iss.opts.TokenLifetime).Unix(),
		"jti":                                    uuid.NewString(),
		"scope":                                  scopes,
		"cnf":                                    map[string]string{"jkt": jkt},
		"client_id":                              p.Client.ID,
		"helseid://claims/client/client_name":    p.Client.Name,
		"helseid://claims/client/client_tenancy": p.Client.Tenancy,
	}
	if !iss.standalone {
		claims["pjd_dev"] = true
	}
	set := func(k, v string) {
		if v != "" {
			claims[k] = v
		}
	}
	set("helseid://claims/client/claims/orgnr_parent", p.Client.OrgNrParent)
	set("helseid://claims/client/claims/orgnr_child", p.Client.OrgNrChild)
	set("helseid://claims/client/claims/orgnr_supplier", p.Client.OrgNrSupplier)
	pid := p.PID
	if p.Kind == trust.Citizen && patient != "" {
		// A citizen token for a patient logs in as that patient, so the
		// demo patients can see their own documents and access log.
		if !trust.ValidNIN(patient) {
			return "", fmt.Errorf("devissuer: %q is not a valid national identity number", patient)
		}
		pid = patient
	}
	if pid != "" {
		claims["sub"] = "dev-" + p.ID
		claims["helseid://claims/identity/pid"] = pid
		claims["helseid://claims/identity/security_level"] = "4"
		claims["helseid://claims/identity/assurance_level"] = "high"
		claims["helseid://claims/identity/network"] = "helsenett"
		claims["name"] = p.Name
		set("helseid://claims/hpr/hpr_number", p.HPRNumber)
	}
	if p.Kind == trust.HealthWorker {
		claims["authorization_details"] = attestation(p, patient, now)
	}
	payload, err := json.Marshal(claims)
	if err != nil {
		return "", err
	}
	hdr := jws.NewHeaders()
	_ = hdr.Set(jws.TypeKey, "at+jwt")
	_ = hdr.Set(jws.KeyIDKey, iss.key.KeyID())
	out, err := jws.Sign(payload, jws.WithKey(jwa.RS256, iss.key, jws.WithProtectedHeaders(hdr)))
	if err != nil {
		return "", err
	}
	return string(out), nil
}

// attestation is the authorization_details HelseID would put in the token
// after validating and enriching the EPJ's request.
func attestation(p Persona, patient string, toa time.Time) map[string]any {
	ident := func(i trust.Identifier) map[string]any {
		m := map[string]any{"id": i.ID, "system": i.System}
		if i.Name != "" {
			m["name"] = i.Name
		}
		return m
	}
	code := func(c trust.Coding) map[string]any {
		m := map[string]any{"code": c.Code, "system": c.System}
		if c.Text != "" {
			m["text"] = c.Text
		}
		return m
	}
	pr := map[string]any{
		"identifier":    ident(trust.Identifier{ID: p.PID, System: "urn:oid:" + oid.FNR, Name: p.Name}),
		"hpr_nr":        ident(trust.Identifier{ID: p.HPRNumber, System: "urn:oid:" + oid.HPR}),
		"authorization": code(p.Authorization),
		"legal_entity":  ident(p.LegalEntity),
		"point_of_care": ident(p.PointOfCare),
	}
	if !p.Department.IsZero() {
		pr["department"] = ident(p.Department)
	}
	care := map[string]any{
		"purpose_of_use": code(p.PurposeOfUse),
		"decision_ref":   map[string]any{"id": uuid.NewString(), "user_selected": false},
	}
	if !p.HealthcareService.IsZero() {
		care["healthcare_service"] = code(p.HealthcareService)
	}
	if !p.PurposeOfUseDetails.IsZero() {
		care["purpose_of_use_details"] = code(p.PurposeOfUseDetails)
	}
	patients := []any{}
	if patient != "" {
		patients = append(patients, map[string]any{"identifier": ident(trust.Identifier{ID: patient, System: "urn:oid:" + oid.FNR})})
	}
	return map[string]any{
		"type":              trust.AttestationType,
		"practitioner":      pr,
		"care_relationship": care,
		"patients":          patients,
		"toa":               toa.Unix(),
	}
}
