package trust

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/lestrrat-go/jwx/v2/jws"
	"github.com/lestrrat-go/jwx/v2/jwt"
)

// IssuerConfig is one trusted token issuer, configured by its OpenID
// discovery document URL.
type IssuerConfig struct {
	// MetadataURL is the discovery document, e.g.
	// https://helseid-sts.nhn.no/.well-known/openid-configuration.
	MetadataURL string
	// Issuer, when set, must equal the metadata's issuer exactly; tokens
	// must carry exactly the metadata's issuer as iss either way.
	Issuer string
}

// Config configures a Verifier.
type Config struct {
	Issuers  []IssuerConfig // at least one
	Audience string         // required aud value, e.g. "nhn:phr"

	Replay     ReplayCache  // required: Redis in production, memory with --dev
	HTTPClient *http.Client // for metadata and JWKS; default: 10 s timeout
	Now        func() time.Time

	Skew              time.Duration // exp/nbf/iat tolerance; default 5 s
	ProofMaxAge       time.Duration // DPoP iat window; default 60 s
	AttestationMaxAge time.Duration // toa; default 60 min

	JWKSRefresh  time.Duration // refetch keys this often; default 15 min
	JWKSMaxStale time.Duration // use cached keys this long when the issuer is down; default 24 h
	MinRefetch   time.Duration // at most one refetch per issuer this often (unknown kid, failures); default 30 s

	// CitizenScopes mark a person's token as a citizen's (own records, no
	// attestation) when the endpoint's matched scope is one of them.
	// Default: ScopeCitizen.
	CitizenScopes []string
	// ComplianceScopes mark a person's token as a compliance officer's
	// (audit review, no attestation). Default: ScopeAudit.
	ComplianceScopes []string
	// SourceScopes are the scopes a token without a person (client
	// credentials) may be used for: registering documents (ITI-65) and
	// feeding patient identity changes (ITI-104). Such a token becomes a
	// ClientCredentials principal; at any other endpoint it is refused
	// with KindPersonRequired. Default: ScopeRegister,
	// ScopePatientIdentityFeed.
	SourceScopes []string

	// AllowDevIssuer accepts issuers whose metadata says they are pjd's
	// development issuer. Only pjd serve --dev sets it.
	AllowDevIssuer bool

	// TokenCacheSize bounds how many verified access tokens are
	// remembered until their exp (see tokenCache); 0 means
	// DefaultTokenCacheSize, a negative value turns the cache off. The
	// DPoP proof is verified on every request either way.
	TokenCacheSize int
}

// Requirement is what one endpoint demands of a request.
type Requirement struct {
	// Scope the token must hold. Scopes lists alternatives: the token must
	// hold Scope or at least one of Scopes. The one found is reported in
	// Principal.MatchedScope.
	Scope  string
	Scopes []string
	// HTU is the external URL the client used (scheme, host, path), as the
	// gateway computes it from its configured public base URL; the DPoP
	// proof's htu must match it.
	HTU string
}

// Verifier verifies HelseID access tokens with their DPoP proofs and
// attestation, and builds the Principal. It is safe for concurrent use.
type Verifier struct {
	cfg     Config
	issuers []*issuerKeys
	proofs  *ProofVerifier
	attPol  AttestationPolicy
	tokens  *tokenCache
}

// NewVerifier checks cfg and returns a Verifier. It does not contact the
// issuers; keys are fetched on first use (call Refresh to fetch them now,
// e.g. for a readiness check).
func NewVerifier(cfg Config) (*Verifier, error) {
	if len(cfg.Issuers) == 0 {
		return nil, errors.New("trust: no token issuer configured")
	}
	if cfg.Audience == "" {
		return nil, errors.New("trust: no audience configured")
	}
	if cfg.Replay == nil {
		return nil, errors.New("trust: no DPoP replay cache configured")
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.HTTPClient == nil {
		cfg.HTTPClient = &http.Client{Timeout: 10 * time.Second}
	}
	if cfg.Skew <= 0 {
		cfg.Skew = DefaultSkew
	}
	if cfg.ProofMaxAge <= 0 {
		cfg.ProofMaxAge = DefaultProofMaxAge
	}
	if cfg.AttestationMaxAge <= 0 {
		cfg.AttestationMaxAge = 60 * time.Minute
	}
	if cfg.JWKSRefresh <= 0 {
		cfg.JWKSRefresh = 15 * time.Minute
	}
	if cfg.JWKSMaxStale <= 0 {
		cfg.JWKSMaxStale = 24 * time.Hour
	}
	if cfg.MinRefetch <= 0 {
		cfg.MinRefetch = 30 * time.Second
	}
	if cfg.CitizenScopes == nil {
		cfg.CitizenScopes = []string{ScopeCitizen}
	}
	if cfg.ComplianceScopes == nil {
		cfg.ComplianceScopes = []string{ScopeAudit}
	}
	if cfg.SourceScopes == nil {
		cfg.SourceScopes = []string{ScopeRegister, ScopePatientIdentityFeed}
	}
	if cfg.TokenCacheSize == 0 {
		cfg.TokenCacheSize = DefaultTokenCacheSize
	}
	v := &Verifier{cfg: cfg, attPol: AttestationPolicy{MaxAge: cfg.AttestationMaxAge, Skew: cfg.Skew}, tokens: newTokenCache(cfg.TokenCacheSize)}
	seen := map[string]bool{}
	for _, ic := range cfg.Issuers {
		if err := checkFetchURL(ic.MetadataURL); err != nil {
			return nil, fmt.Errorf("trust: issuer metadata URL: %w", err)
		}
		if seen[ic.MetadataURL] {
			return nil, fmt.Errorf("trust: issuer %s configured twice", ic.MetadataURL)
		}
		seen[ic.MetadataURL] = true
		v.issuers = append(v.issuers, &issuerKeys{cfg: ic, client: cfg.HTTPClient, now: cfg.Now, opts: &v.cfg})
	}
	pv, err := NewProofVerifier(ProofConfig{Now: cfg.Now, Skew: cfg.Skew, MaxAge: cfg.ProofMaxAge, Replay: cfg.Replay, ReplayPrefix: "dpop:"})
	if err != nil {
		return nil, err
	}
	v.proofs = pv
	return v, nil
}

// Refresh fetches every issuer's metadata and keys now. It returns the
// first failure; use it at startup and for readiness.
func (v *Verifier) Refresh(ctx context.Context) error {
	for _, ik := range v.issuers {
		ik.mu.Lock()
		err := ik.fetch(ctx)
		ik.lastErr = err
		ik.mu.Unlock()
		if err != nil {
			return &Error{Kind: KindIssuerUnavailable, Description: "the token issuer is unavailable", Err: err}
		}
	}
	return nil
}

// VerifyRequest authenticates r: the Authorization: DPoP access token, the
// DPoP proof for (r.Method, req.HTU), the token's scope, the security level
// and — for health workers — the attestation. The jti of the proof is
// recorded only for a request that passes every other check. Every refusal
// is an *Error.
func (v *Verifier) VerifyRequest(ctx context.Context, r *http.Request, req Requirement) (*Principal, error) {
	if req.HTU == "" || (req.Scope == "" && len(req.Scopes) == 0) {
		return nil, &Error{Kind: KindInternal, Description: "internal error", Detail: "Requirement without HTU or scope"}
	}
	authz := r.Header.Values("Authorization")
	if len(authz) == 0 {
		return nil, newErr(KindTokenMissing, "an access token is required", "")
	}
	if len(authz) > 1 {
		return nil, newErr(KindTokenMalformed, "more than one Authorization header", "")
	}
	scheme, token, _ := strings.Cut(strings.TrimSpace(authz[0]), " ")
	token = strings.TrimSpace(token)
	if !strings.EqualFold(scheme, "DPoP") {
		return nil, newErr(KindTokenScheme, "the access token must be sent with the DPoP scheme", "scheme "+firstN(scheme, 16))
	}
	if token == "" {
		return nil, newErr(KindTokenMalformed, "the Authorization header holds no token", "")
	}
	proofs := r.Header.Values("DPoP")
	if len(proofs) == 0 {
		return nil, newErr(KindDPoPMissing, "a DPoP proof is required", "")
	}
	if len(proofs) > 1 {
		return nil, newErr(KindDPoPMalformed, "more than one DPoP header", "")
	}

	at, err := v.accessToken(ctx, token)
	if err != nil {
		return nil, err
	}
	if at.jkt == "" {
		return nil, newErr(KindTokenNotBound, "the access token is not bound to a DPoP key", "")
	}
	// The proof's jti is recorded while its signature is verified and the
	// principal checked; a request refused for any of those does not use
	// it up (ProofVerifier.verifyThen).
	var p *Principal
	_, err = v.proofs.verifyThen(ctx, strings.TrimSpace(proofs[0]), ProofCheck{Method: r.Method, HTU: req.HTU, AccessToken: token, JKT: at.jkt},
		func() (err error) {
			p, err = v.principal(at, req)
			return err
		})
	if err != nil {
		return nil, err
	}
	return p, nil
}

// accessToken is a verified access token. It may be shared by the
// requests that present the same token (tokenCache): never modified after
// verification, except for the attestation parsed once, on first use.
type accessToken struct {
	iss    string
	tok    jwt.Token
	jkt    string
	scopes []string

	attOnce sync.Once
	att     *Attestation // read only after attOnce
	attErr  error
}

// attestation is attestationFromToken(at.tok), parsed once per token. The
// checks that depend on the time or the request (Validate,
// CheckPractitioner) are made on every request by the caller.
func (at *accessToken) attestation() (*Attestation, error) {
	at.attOnce.Do(func() { at.att, at.attErr = attestationFromToken(at.tok) })
	return at.att, at.attErr
}

// accessToken returns the verified access token: from the token cache when
// the same token was verified before, has not reached its exp and the
// issuer's key snapshot it was verified under is still the current one;
// otherwise verified in full (and then remembered).
func (v *Verifier) accessToken(ctx context.Context, token string) (*accessToken, error) {
	if v.tokens == nil {
		at, _, _, err := v.verifyAccessToken(ctx, token)
		return at, err
	}
	sum := tokenSum(token)
	if e, ok := v.tokens.get(sum, v.cfg.Now()); ok {
		if st, err := e.ik.current(ctx); err == nil && st == e.st {
			return e.at, nil
		}
		v.tokens.drop(sum)
	}
	at, ik, st, err := v.verifyAccessToken(ctx, token)
	if err != nil {
		return nil, err
	}
	v.tokens.put(sum, cachedToken{at: at, ik: ik, st: st, exp: at.tok.Expiration()}, v.cfg.Now())
	return at, nil
}

// verifyAccessToken checks the JWS and the registered claims. It also
// returns the issuer and the key snapshot the signature was verified with.
func (v *Verifier) verifyAccessToken(ctx context.Context, token string) (*accessToken, *issuerKeys, *keyState, error) {
	signingInput, ok := splitCompact(token)
	if !ok {
		return nil, nil, nil, newErr(KindTokenMalformed, "the access token is not a compact JWS", "")
	}
	msg, err := jws.Parse([]byte(token))
	if err != nil || len(msg.Signatures()) != 1 {
		return nil, nil, nil, &Error{Kind: KindTokenMalformed, Description: "the access token could not be parsed", Err: err}
	}
	sig := msg.Signatures()[0]
	h := sig.ProtectedHeaders()
	alg := h.Algorithm()
	if !allowedAlgs[alg] {
		return nil, nil, nil, newErr(KindTokenAlgorithm, "the access token's alg is not allowed", "alg "+alg.String())
	}
	if len(h.Critical()) > 0 || hasHeader(h, "b64") {
		return nil, nil, nil, newErr(KindTokenMalformed, "the access token uses unsupported JWS extensions", "")
	}
	switch strings.ToLower(h.Type()) {
	case "at+jwt", "application/at+jwt", "jwt":
	default:
		return nil, nil, nil, newErr(KindTokenType, "the access token's typ must be at+jwt", "typ "+firstN(h.Type(), 32))
	}

	tok, err := jwt.Parse(msg.Payload(), jwt.WithVerify(false), jwt.WithValidate(false),
		jwt.WithTypedClaim("cnf", cnfClaim{}),
		jwt.WithTypedClaim("authorization_details", json.RawMessage{}),
		jwt.WithTypedClaim(AttestationType, json.RawMessage{}))
	if err != nil {
		return nil, nil, nil, &Error{Kind: KindTokenMalformed, Description: "the access token's claims could not be parsed", Err: err}
	}
	iss := tok.Issuer()
	if iss == "" {
		return nil, nil, nil, newErr(KindTokenClaims, "the access token has no iss", "")
	}
	ik, st, err := v.issuerFor(ctx, iss)
	if err != nil {
		return nil, nil, nil, err
	}

	kid := h.KeyID()
	key, st, err := v.keyFor(ctx, ik, st, kid)
	if err != nil {
		return nil, nil, nil, err
	}
	if key.alg != "" && key.alg != alg {
		return nil, nil, nil, newErr(KindTokenAlgorithm, "the access token's alg does not match its key", "alg "+alg.String()+", key alg "+key.alg.String())
	}
	if !algFitsKey(alg, key.pub) {
		return nil, nil, nil, newErr(KindTokenAlgorithm, "the access token's alg does not fit its key", "alg "+alg.String())
	}
	verifier, err := jws.NewVerifier(alg)
	if err != nil {
		return nil, nil, nil, &Error{Kind: KindInternal, Description: "internal error", Err: err}
	}
	if err := verifier.Verify([]byte(signingInput), sig.Signature(), key.pub); err != nil {
		return nil, nil, nil, &Error{Kind: KindTokenSignature, Description: "the access token's signature does not verify", Err: err}
	}

	if err := jwt.Validate(tok,
		jwt.WithClock(jwt.ClockFunc(v.cfg.Now)),
		jwt.WithAcceptableSkew(v.cfg.Skew),
		jwt.WithIssuer(iss),
		jwt.WithAudience(v.cfg.Audience),
		jwt.WithRequiredClaim(jwt.ExpirationKey),
		jwt.WithRequiredClaim(jwt.AudienceKey),
	); err != nil {
		return nil, nil, nil, mapValidation(err)
	}
	if dev, ok := tok.Get("pjd_dev"); ok && dev == true && !v.cfg.AllowDevIssuer {
		return nil, nil, nil, newErr(KindTokenIssuer, "the access token's issuer is not trusted", "development token outside dev mode")
	}

	at := &accessToken{iss: iss, tok: tok}
	if c, ok := tok.Get("cnf"); ok {
		cnf, ok := c.(cnfClaim)
		if !ok {
			return nil, nil, nil, newErr(KindTokenClaims, "the access token's cnf claim is malformed", "")
		}
		at.jkt = cnf.JKT
	}
	scopes, err := scopeClaim(tok)
	if err != nil {
		return nil, nil, nil, err
	}
	at.scopes = scopes
	return at, ik, st, nil
}

type cnfClaim struct {
	JKT string `json:"jkt"`
}

func mapValidation(err error) *Error {
	switch {
	case errors.Is(err, jwt.ErrTokenExpired()):
		return &Error{Kind: KindTokenExpired, Description: "the access token has expired", Err: err}
	case errors.Is(err, jwt.ErrTokenNotYetValid()), errors.Is(err, jwt.ErrInvalidIssuedAt()):
		return &Error{Kind: KindTokenNotYetValid, Description: "the access token is not valid yet", Err: err}
	case errors.Is(err, jwt.ErrInvalidAudience()):
		return &Error{Kind: KindTokenAudience, Description: "the access token is not meant for this service", Err: err}
	case errors.Is(err, jwt.ErrInvalidIssuer()):
		return &Error{Kind: KindTokenIssuer, Description: "the access token's issuer is not trusted", Err: err}
	default:
		return &Error{Kind: KindTokenClaims, Description: "the access token lacks a required claim", Err: err}
	}
}

// issuerFor finds the configured issuer whose metadata names iss exactly.
func (v *Verifier) issuerFor(ctx context.Context, iss string) (*issuerKeys, *keyState, error) {
	var unavailable error
	for _, ik := range v.issuers {
		if ik.cfg.Issuer != "" && ik.cfg.Issuer != iss {
			continue
		}
		st, err := ik.current(ctx)
		if err != nil {
			unavailable = err
			continue
		}
		if st.issuer == iss {
			return ik, st, nil
		}
	}
	if unavailable != nil {
		return nil, nil, &Error{Kind: KindIssuerUnavailable, Description: "the token issuer's keys are unavailable; try again later", Err: unavailable}
	}
	return nil, nil, newErr(KindTokenIssuer, "the access token's issuer is not trusted", "iss "+firstN(iss, 128))
}

// keyFor finds the key named kid, refetching the JWKS (rate-limited) when
// it is unknown.
func (v *Verifier) keyFor(ctx context.Context, ik *issuerKeys, st *keyState, kid string) (*verificationKey, *keyState, error) {
	if k := lookupKey(st, kid); k != nil {
		return k, st, nil
	}
	if st.retired[kid] && kid != "" {
		return nil, nil, newErr(KindTokenRetiredKey, "the access token was signed with a retired key", "kid "+firstN(kid, 64))
	}
	st2, err := ik.refetchForKid(ctx, st)
	if err != nil && st2 == st {
		// The refetch failed; the kid is unknown to everything we have.
		return nil, nil, &Error{Kind: KindTokenUnknownKey, Description: "the access token was signed with an unknown key", Detail: "kid " + firstN(kid, 64), Err: err}
	}
	if k := lookupKey(st2, kid); k != nil {
		return k, st2, nil
	}
	if st2.retired[kid] && kid != "" {
		return nil, nil, newErr(KindTokenRetiredKey, "the access token was signed with a retired key", "kid "+firstN(kid, 64))
	}
	return nil, nil, newErr(KindTokenUnknownKey, "the access token was signed with an unknown key", "kid "+firstN(kid, 64))
}

func lookupKey(st *keyState, kid string) *verificationKey {
	if st == nil {
		return nil
	}
	if k, ok := st.keys[kid]; ok {
		return k
	}
	if kid == "" && len(st.keys) == 1 {
		for _, k := range st.keys {
			return k
		}
	}
	return nil
}

func scopeClaim(tok jwt.Token) ([]string, error) {
	raw, ok := tok.Get("scope")
	if !ok {
		return nil, nil
	}
	switch s := raw.(type) {
	case string:
		return strings.Fields(s), nil
	case []any:
		out := make([]string, 0, len(s))
		for _, e := range s {
			str, ok := e.(string)
			if !ok {
				return nil, newErr(KindTokenClaims, "the access token's scope claim is malformed", "")
			}
			out = append(out, str)
		}
		return out, nil
	default:
		return nil, newErr(KindTokenClaims, "the access token's scope claim is malformed", "")
	}
}

// Claim names used by HelseID.
const (
	claimPID            = "helseid://claims/identity/pid"
	claimSecurityLevel  = "helseid://claims/identity/security_level"
	claimAssuranceLevel = "helseid://claims/identity/assurance_level"
	claimNetwork        = "helseid://claims/identity/network"
	claimHPR            = "helseid://claims/hpr/hpr_number"
	claimClientName     = "helseid://claims/client/client_name"
	claimClientTenancy  = "helseid://claims/client/client_tenancy"
	claimOrgNrParent    = "helseid://claims/client/claims/orgnr_parent"
	claimOrgNrChild     = "helseid://claims/client/claims/orgnr_child"
	claimOrgNrSupplier  = "helseid://claims/client/claims/orgnr_supplier"
)

func stringClaim(tok jwt.Token, name string) (string, error) {
	raw, ok := tok.Get(name)
	if !ok || raw == nil {
		return "", nil
	}
	switch s := raw.(type) {
	case string:
		return s, nil
	case float64:
		return strconv.FormatFloat(s, 'f', -1, 64), nil
	default:
		return "", newErr(KindTokenClaims, "the access token's claim "+name+" is malformed", "")
	}
}

// principal builds the Principal from a verified token, deciding its kind
// and enforcing the scope, security level and attestation rules.
func (v *Verifier) principal(at *accessToken, req Requirement) (*Principal, error) {
	tok := at.tok
	matched := ""
	for _, s := range append([]string{req.Scope}, req.Scopes...) {
		if s != "" && slices.Contains(at.scopes, s) {
			matched = s
			break
		}
	}
	if matched == "" {
		return nil, newErr(KindInsufficientScope, "the access token does not hold the scope this endpoint requires", "")
	}
	p := &Principal{
		Credential:    CredentialHelseIDDPoP,
		Issuer:        at.iss,
		TokenID:       tok.JwtID(),
		IssuedAt:      tok.IssuedAt().UTC(),
		ExpiresAt:     tok.Expiration().UTC(),
		Scopes:        slices.Clone(at.scopes), // at may be shared through the token cache
		MatchedScope:  matched,
		KeyThumbprint: at.jkt,
	}
	var err error
	get := func(name string) string {
		if err != nil {
			return ""
		}
		var s string
		s, err = stringClaim(tok, name)
		return s
	}
	p.Subject = get(claimPID)
	p.HPRNumber = get(claimHPR)
	p.Name = get("name")
	p.AssuranceLevel = get(claimAssuranceLevel)
	p.Network = get(claimNetwork)
	level := get(claimSecurityLevel)
	p.Client = Client{
		ID:            get("client_id"),
		Name:          get(claimClientName),
		Tenancy:       get(claimClientTenancy),
		OrgNrParent:   get(claimOrgNrParent),
		OrgNrChild:    get(claimOrgNrChild),
		OrgNrSupplier: get(claimOrgNrSupplier),
	}
	if err != nil {
		return nil, err
	}

	if p.Subject == "" {
		// No person: a client acting for its organisation. It may
		// register documents for that organisation (policy checks which);
		// every other endpoint serves a person and refuses it here, so it
		// can never reach patient data. It is never a System principal:
		// those come from a certificate (mTLS) alone.
		if !slices.Contains(v.cfg.SourceScopes, matched) {
			return nil, newErr(KindPersonRequired, "the access token names no person (no pid); this endpoint serves requests on behalf of a person",
				"client "+firstN(p.Client.ID, 64)+", scope "+matched)
		}
		p.Kind = ClientCredentials
		return p, nil
	}
	if n, err := strconv.Atoi(level); err == nil {
		p.SecurityLevel = n
	}
	if p.SecurityLevel != 4 {
		return nil, newErr(KindSecurityLevel, "the user must be authenticated at security level 4", "security_level "+firstN(level, 8))
	}
	switch {
	case slices.Contains(v.cfg.CitizenScopes, matched):
		p.Kind = Citizen
		return p, nil
	case slices.Contains(v.cfg.ComplianceScopes, matched):
		p.Kind = Compliance
		return p, nil
	}
	p.Kind = HealthWorker
	att, err := at.attestation()
	if err != nil {
		return nil, err
	}
	if err := att.Validate(v.cfg.Now(), v.attPol); err != nil {
		return nil, err
	}
	if err := att.CheckPractitioner(p.Subject, p.HPRNumber); err != nil {
		return nil, err
	}
	att.apply(p)
	return p, nil
}

func attestationFromToken(tok jwt.Token) (*Attestation, error) {
	rawAD, okAD := rawClaim(tok, "authorization_details")
	rawTF, okTF := rawClaim(tok, AttestationType)
	switch {
	case okAD && okTF:
		a, err := parseAttestationClaim(rawAD, true)
		if err != nil {
			return nil, err
		}
		b, err := parseAttestationClaim(rawTF, false)
		if err != nil {
			return nil, err
		}
		if !sameAttestation(a, b) {
			return nil, newErr(KindAttestationMalformed, "the access token carries two different attestations", "")
		}
		return a, nil
	case okAD:
		return parseAttestationClaim(rawAD, true)
	case okTF:
		return parseAttestationClaim(rawTF, false)
	default:
		return nil, newErr(KindAttestationMissing, "the access token carries no trust-framework attestation", "")
	}
}

func rawClaim(tok jwt.Token, name string) ([]byte, bool) {
	v, ok := tok.Get(name)
	if !ok {
		return nil, false
	}
	if r, ok := v.(json.RawMessage); ok {
		return r, true
	}
	b, err := json.Marshal(v)
	return b, err == nil
}

func sameAttestation(a, b *Attestation) bool {
	ja, err1 := json.Marshal(a)
	jb, err2 := json.Marshal(b)
	return err1 == nil && err2 == nil && string(ja) == string(jb)
}

func firstN(s string, n int) string {
	if len(s) > n {
		return s[:n] + "…"
	}
	return s
}
