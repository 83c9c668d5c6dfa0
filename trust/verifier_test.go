package trust_test

import (
	"context"
	"crypto/sha256"
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"

	"pjd/trust"
)

// tokenRow is one rejection of the HelseID/DPoP path.
type tokenRow struct {
	name string
	kind trust.Kind
	cfg  func(*trust.Config)
	// req builds the request; it may first send accepted requests (replay).
	req  func(t *testing.T, e *env) *http.Request
	need *trust.Requirement
}

// withClaims returns a valid request after mutating the token claims.
func withClaims(mut func(e *env, c map[string]any)) func(*testing.T, *env) *http.Request {
	return func(t *testing.T, e *env) *http.Request {
		c := e.healthWorkerClaims()
		mut(e, c)
		return e.validRequest(c)
	}
}

// withAttestation mutates the ex1 attestation inside a valid token.
func withAttestation(mut func(a map[string]any)) func(*testing.T, *env) *http.Request {
	return withClaims(func(e *env, c map[string]any) {
		a := c["authorization_details"].(map[string]any)
		mut(a)
	})
}

// withToken sends tok with a valid proof for it.
func withToken(mk func(e *env) string) func(*testing.T, *env) *http.Request {
	return func(t *testing.T, e *env) *http.Request {
		tok := mk(e)
		return request(http.MethodPost, testHTU, "DPoP "+tok, e.proof(http.MethodPost, testHTU, tok))
	}
}

// withProof sends a valid token with a proof built from mutated parts.
func withProof(mut func(e *env, hdr, claims map[string]any) any) func(*testing.T, *env) *http.Request {
	return func(t *testing.T, e *env) *http.Request {
		tok := e.token(e.healthWorkerClaims())
		hdr := e.proofHeader(e.dpop)
		cl := e.proofClaims(http.MethodPost, testHTU, tok)
		key := mut(e, hdr, cl)
		if key == nil {
			key = e.dpop
		}
		return request(http.MethodPost, testHTU, "DPoP "+tok, signJWS(hdr, cl, key))
	}
}

func att(a map[string]any, path ...string) map[string]any {
	m := a
	for _, p := range path {
		m = m[p].(map[string]any)
	}
	return m
}

func tokenRejections() []tokenRow {
	return []tokenRow{
		// --- access token ---
		{name: "no Authorization header", kind: trust.KindTokenMissing, req: func(t *testing.T, e *env) *http.Request {
			return request(http.MethodPost, testHTU, "")
		}},
		{name: "two Authorization headers", kind: trust.KindTokenMalformed, req: func(t *testing.T, e *env) *http.Request {
			r := e.validRequest(e.healthWorkerClaims())
			r.Header.Add("Authorization", r.Header.Get("Authorization"))
			return r
		}},
		{name: "not a JWS", kind: trust.KindTokenMalformed, req: func(t *testing.T, e *env) *http.Request {
			return request(http.MethodPost, testHTU, "DPoP not-a-token", e.proof(http.MethodPost, testHTU, "not-a-token"))
		}},
		{name: "JWS JSON serialization", kind: trust.KindTokenMalformed, req: withToken(func(e *env) string {
			return `{"payload":"e30","signatures":[]}`
		})},
		{name: "alg none", kind: trust.KindTokenAlgorithm, req: withToken(func(e *env) string {
			return signJWS(map[string]any{"alg": "none", "typ": "at+jwt", "kid": e.iss.kid}, e.healthWorkerClaims(), nil)
		})},
		{name: "HS256 with the public key as secret", kind: trust.KindTokenAlgorithm, req: withToken(func(e *env) string {
			secret := mustJSON(rsaJWK(&e.iss.key.PublicKey, e.iss.kid, "RS256"))
			return signJWS(map[string]any{"alg": "HS256", "typ": "at+jwt", "kid": e.iss.kid}, e.healthWorkerClaims(), secret)
		})},
		{name: "ES256 header on an RSA key", kind: trust.KindTokenAlgorithm, req: withToken(func(e *env) string {
			_, ek := testKeys()
			return signJWS(map[string]any{"alg": "ES256", "typ": "at+jwt", "kid": e.iss.kid}, e.healthWorkerClaims(), ek[1])
		})},
		{name: "PS256 where the JWK says RS256", kind: trust.KindTokenAlgorithm, req: withToken(func(e *env) string {
			return signJWS(map[string]any{"alg": "PS256", "typ": "at+jwt", "kid": e.iss.kid}, e.healthWorkerClaims(), e.iss.key)
		})},
		{name: "crit header", kind: trust.KindTokenMalformed, req: withToken(func(e *env) string {
			h := e.header(e.iss.kid)
			h["crit"] = []string{"exp"}
			return signJWS(h, e.healthWorkerClaims(), e.iss.key)
		})},
		{name: "unknown kid", kind: trust.KindTokenUnknownKey, req: withToken(func(e *env) string {
			rk, _ := testKeys()
			return signJWS(e.header("kid-unknown"), e.healthWorkerClaims(), rk[1])
		})},
		{name: "retired kid (expired-keys endpoint)", kind: trust.KindTokenRetiredKey, req: withToken(func(e *env) string {
			rk, _ := testKeys()
			return signJWS(e.header("kid-retired"), e.healthWorkerClaims(), rk[2])
		})},
		{name: "signed by another key under the right kid", kind: trust.KindTokenSignature, req: withToken(func(e *env) string {
			rk, _ := testKeys()
			return signJWS(e.header(e.iss.kid), e.healthWorkerClaims(), rk[1])
		})},
		{name: "payload tampered after signing", kind: trust.KindTokenSignature, req: withToken(func(e *env) string {
			tok := e.token(e.healthWorkerClaims())
			c := e.healthWorkerClaims()
			c["helseid://claims/identity/pid"] = "03916840089"
			parts := strings.Split(tok, ".")
			return parts[0] + "." + b64(mustJSON(c)) + "." + parts[2]
		})},
		{name: "typ dpop+jwt", kind: trust.KindTokenType, req: withToken(func(e *env) string {
			h := e.header(e.iss.kid)
			h["typ"] = "dpop+jwt"
			return signJWS(h, e.healthWorkerClaims(), e.iss.key)
		})},
		{name: "typ missing", kind: trust.KindTokenType, req: withToken(func(e *env) string {
			h := e.header(e.iss.kid)
			delete(h, "typ")
			return signJWS(h, e.healthWorkerClaims(), e.iss.key)
		})},
		{name: "wrong iss", kind: trust.KindTokenIssuer, req: withClaims(func(e *env, c map[string]any) {
			c["iss"] = "https://helseid-sts.test.nhn.no"
		})},
		{name: "iss with trailing slash", kind: trust.KindTokenIssuer, req: withClaims(func(e *env, c map[string]any) {
			c["iss"] = e.iss.issuer() + "/"
		})},
		{name: "wrong aud", kind: trust.KindTokenAudience, req: withClaims(func(e *env, c map[string]any) {
			c["aud"] = "nhn:phr-repo"
		})},
		{name: "aud missing", kind: trust.KindTokenAudience, req: withClaims(func(e *env, c map[string]any) {
			delete(c, "aud")
		})},
		{name: "expired", kind: trust.KindTokenExpired, req: withClaims(func(e *env, c map[string]any) {
			c["exp"] = e.clock.Now().Add(-6 * time.Second).Unix()
		})},
		{name: "not yet valid (nbf)", kind: trust.KindTokenNotYetValid, req: withClaims(func(e *env, c map[string]any) {
			c["nbf"] = e.clock.Now().Add(10 * time.Second).Unix()
		})},
		{name: "issued in the future (iat)", kind: trust.KindTokenNotYetValid, req: withClaims(func(e *env, c map[string]any) {
			c["iat"] = e.clock.Now().Add(time.Minute).Unix()
		})},
		{name: "exp missing", kind: trust.KindTokenClaims, req: withClaims(func(e *env, c map[string]any) {
			delete(c, "exp")
		})},
		{name: "missing scope", kind: trust.KindInsufficientScope, req: withClaims(func(e *env, c map[string]any) {
			c["scope"] = []string{trust.ScopeReadDocument}
		})},
		{name: "kjernejournal scope only, endpoint wants the plain one", kind: trust.KindInsufficientScope, req: withClaims(func(e *env, c map[string]any) {
			c["scope"] = []string{trust.ScopeReadDocumentReferencesKJ}
		})},
		{name: "scope malformed", kind: trust.KindTokenClaims, req: withClaims(func(e *env, c map[string]any) {
			c["scope"] = []any{trust.ScopeReadDocumentReferences, 7}
		})},
		{name: "security level 3", kind: trust.KindSecurityLevel, req: withClaims(func(e *env, c map[string]any) {
			c["helseid://claims/identity/security_level"] = "3"
		})},
		{name: "security level missing", kind: trust.KindSecurityLevel, req: withClaims(func(e *env, c map[string]any) {
			delete(c, "helseid://claims/identity/security_level")
		})},
		// A token that names no person (client credentials) serves a
		// source's registration only; everywhere else it is refused,
		// whatever scopes it carries.
		{name: "no pid, read scope", kind: trust.KindPersonRequired, req: withClaims(func(e *env, c map[string]any) {
			dropPerson(c)
		})},
		{name: "no pid, citizen scope", kind: trust.KindPersonRequired, need: &trust.Requirement{Scopes: []string{trust.ScopeReadDocumentReferences, trust.ScopeCitizen}, HTU: testHTU},
			req: withClaims(func(e *env, c map[string]any) {
				dropPerson(c)
				c["scope"] = []string{trust.ScopeCitizen}
			})},
		{name: "no pid, audit scope", kind: trust.KindPersonRequired, need: &trust.Requirement{Scope: trust.ScopeAudit, HTU: testHTU},
			req: withClaims(func(e *env, c map[string]any) {
				dropPerson(c)
				c["scope"] = []string{trust.ScopeAudit}
			})},
		{name: "empty pid, read scope", kind: trust.KindPersonRequired, req: withClaims(func(e *env, c map[string]any) {
			c["helseid://claims/identity/pid"] = ""
		})},
		// The request's own URL, over the htu limit (a 4,000-byte path):
		// the client's error, not the server's.
		{name: "request URL too long", kind: trust.KindRequestURL, need: &trust.Requirement{Scope: trust.ScopeReadDocumentReferences, HTU: testHTU + "/" + strings.Repeat("a", trust.MaxHTULength)},
			req: withClaims(func(e *env, c map[string]any) {})},
		{name: "request URL not a URL", kind: trust.KindRequestURL, need: &trust.Requirement{Scope: trust.ScopeReadDocumentReferences, HTU: testHTU + "/%zz"},
			req: withClaims(func(e *env, c map[string]any) {})},
		{name: "development token outside dev mode", kind: trust.KindTokenIssuer, req: withClaims(func(e *env, c map[string]any) {
			c["pjd_dev"] = true
		})},
		{name: "development issuer outside dev mode", kind: trust.KindIssuerUnavailable, req: func(t *testing.T, e *env) *http.Request {
			e.iss.mu.Lock()
			e.iss.dev = true
			e.iss.mu.Unlock()
			return e.validRequest(e.healthWorkerClaims())
		}},

		// --- DPoP binding and proof ---
		{name: "Bearer with a DPoP-bound token", kind: trust.KindTokenScheme, req: func(t *testing.T, e *env) *http.Request {
			tok := e.token(e.healthWorkerClaims())
			return request(http.MethodPost, testHTU, "Bearer "+tok, e.proof(http.MethodPost, testHTU, tok))
		}},
		{name: "token without cnf.jkt", kind: trust.KindTokenNotBound, req: withClaims(func(e *env, c map[string]any) {
			delete(c, "cnf")
		})},
		{name: "DPoP header missing", kind: trust.KindDPoPMissing, req: func(t *testing.T, e *env) *http.Request {
			return request(http.MethodPost, testHTU, "DPoP "+e.token(e.healthWorkerClaims()))
		}},
		{name: "two DPoP headers", kind: trust.KindDPoPMalformed, req: func(t *testing.T, e *env) *http.Request {
			tok := e.token(e.healthWorkerClaims())
			return request(http.MethodPost, testHTU, "DPoP "+tok, e.proof(http.MethodPost, testHTU, tok), e.proof(http.MethodPost, testHTU, tok))
		}},
		{name: "proof not a JWS", kind: trust.KindDPoPMalformed, req: func(t *testing.T, e *env) *http.Request {
			return request(http.MethodPost, testHTU, "DPoP "+e.token(e.healthWorkerClaims()), "garbage")
		}},
		{name: "proof typ JWT", kind: trust.KindDPoPType, req: withProof(func(e *env, h, c map[string]any) any {
			h["typ"] = "JWT"
			return nil
		})},
		{name: "proof alg none", kind: trust.KindDPoPAlgorithm, req: withProof(func(e *env, h, c map[string]any) any {
			h["alg"] = "none"
			return []byte(nil)
		})},
		{name: "proof HS256", kind: trust.KindDPoPAlgorithm, req: withProof(func(e *env, h, c map[string]any) any {
			h["alg"] = "HS256"
			return []byte("secret")
		})},
		{name: "proof without jwk", kind: trust.KindDPoPKey, req: withProof(func(e *env, h, c map[string]any) any {
			delete(h, "jwk")
			return nil
		})},
		{name: "private key in jwk", kind: trust.KindDPoPKey, req: withProof(func(e *env, h, c map[string]any) any {
			h["jwk"] = ecJWK(e.dpop, true)
			return nil
		})},
		{name: "symmetric jwk", kind: trust.KindDPoPKey, req: withProof(func(e *env, h, c map[string]any) any {
			h["jwk"] = map[string]any{"kty": "oct", "k": b64([]byte("0123456789abcdef0123456789abcdef"))}
			return nil
		})},
		{name: "proof signature by another key", kind: trust.KindDPoPSignature, req: withProof(func(e *env, h, c map[string]any) any {
			_, ek := testKeys()
			return ek[1]
		})},
		{name: "jkt mismatch (proof made with another key)", kind: trust.KindDPoPKeyMismatch, req: withProof(func(e *env, h, c map[string]any) any {
			_, ek := testKeys()
			h["jwk"] = ecJWK(ek[1], false)
			return ek[1]
		})},
		{name: "wrong htm", kind: trust.KindDPoPMethod, req: withProof(func(e *env, h, c map[string]any) any {
			c["htm"] = http.MethodGet
			return nil
		})},
		{name: "htm lower case", kind: trust.KindDPoPMethod, req: withProof(func(e *env, h, c map[string]any) any {
			c["htm"] = "post"
			return nil
		})},
		{name: "wrong htu path", kind: trust.KindDPoPURL, req: withProof(func(e *env, h, c map[string]any) any {
			c["htu"] = "https://pjd.example.no/fhir/R4/DocumentReference"
			return nil
		})},
		{name: "wrong htu host", kind: trust.KindDPoPURL, req: withProof(func(e *env, h, c map[string]any) any {
			c["htu"] = "https://evil.example.no/fhir/R4/DocumentReference/_search"
			return nil
		})},
		{name: "htu with http instead of https", kind: trust.KindDPoPURL, req: withProof(func(e *env, h, c map[string]any) any {
			c["htu"] = "http://pjd.example.no/fhir/R4/DocumentReference/_search"
			return nil
		})},
		{name: "ath mismatch", kind: trust.KindDPoPAth, req: withProof(func(e *env, h, c map[string]any) any {
			sum := sha256.Sum256([]byte("another token"))
			c["ath"] = b64(sum[:])
			return nil
		})},
		{name: "ath missing", kind: trust.KindDPoPAth, req: withProof(func(e *env, h, c map[string]any) any {
			delete(c, "ath")
			return nil
		})},
		{name: "stale iat", kind: trust.KindDPoPIssuedAt, req: withProof(func(e *env, h, c map[string]any) any {
			c["iat"] = e.clock.Now().Add(-2 * time.Minute).Unix()
			return nil
		})},
		{name: "future iat", kind: trust.KindDPoPIssuedAt, req: withProof(func(e *env, h, c map[string]any) any {
			c["iat"] = e.clock.Now().Add(30 * time.Second).Unix()
			return nil
		})},
		{name: "jti missing", kind: trust.KindDPoPMalformed, req: withProof(func(e *env, h, c map[string]any) any {
			delete(c, "jti")
			return nil
		})},
		{name: "replayed jti", kind: trust.KindDPoPReplay, req: func(t *testing.T, e *env) *http.Request {
			tok := e.token(e.healthWorkerClaims())
			proof := e.proof(http.MethodPost, testHTU, tok)
			if _, err := e.v.VerifyRequest(context.Background(), request(http.MethodPost, testHTU, "DPoP "+tok, proof), readReq); err != nil {
				t.Fatalf("first use refused: %v", err)
			}
			return request(http.MethodPost, testHTU, "DPoP "+tok, proof)
		}},

		// --- attestation ---
		{name: "attestation missing", kind: trust.KindAttestationMissing, req: withClaims(func(e *env, c map[string]any) {
			delete(c, "authorization_details")
		})},
		{name: "attestation of the wrong type", kind: trust.KindAttestationType, req: withAttestation(func(a map[string]any) {
			a["type"] = "helseid_authorization"
		})},
		{name: "attestation not an object", kind: trust.KindAttestationMalformed, req: withClaims(func(e *env, c map[string]any) {
			c["authorization_details"] = 42
		})},
		{name: "two attestations in authorization_details", kind: trust.KindAttestationMalformed, req: withClaims(func(e *env, c map[string]any) {
			a := c["authorization_details"]
			c["authorization_details"] = []any{a, a}
		})},
		{name: "expired toa", kind: trust.KindAttestationExpired, req: withAttestation(func(a map[string]any) {
			a["toa"] = testNow.Add(-61 * time.Minute).Unix()
		})},
		{name: "toa missing", kind: trust.KindAttestationInvalid, req: withAttestation(func(a map[string]any) {
			delete(a, "toa")
		})},
		{name: "toa in the future", kind: trust.KindAttestationInvalid, req: withAttestation(func(a map[string]any) {
			a["toa"] = testNow.Add(time.Hour).Unix()
		})},
		{name: "missing legal entity", kind: trust.KindAttestationInvalid, req: withAttestation(func(a map[string]any) {
			delete(att(a, "practitioner"), "legal_entity")
		})},
		{name: "legal entity in the RESH system", kind: trust.KindAttestationInvalid, req: withAttestation(func(a map[string]any) {
			att(a, "practitioner", "legal_entity")["system"] = "urn:oid:2.16.578.1.12.4.1.4.102"
		})},
		{name: "legal entity with a bad check digit", kind: trust.KindAttestationInvalid, req: withAttestation(func(a map[string]any) {
			att(a, "practitioner", "legal_entity")["id"] = "100100674"
		})},
		{name: "missing point of care", kind: trust.KindAttestationInvalid, req: withAttestation(func(a map[string]any) {
			delete(att(a, "practitioner"), "point_of_care")
		})},
		{name: "authorization outside Volven 9060", kind: trust.KindAttestationInvalid, req: withAttestation(func(a map[string]any) {
			att(a, "practitioner", "authorization")["system"] = "urn:oid:2.16.578.1.12.4.1.1.9999"
		})},
		{name: "healthcare service from an unknown list", kind: trust.KindAttestationInvalid, req: withAttestation(func(a map[string]any) {
			att(a, "care_relation", "healthcare_service")["system"] = "urn:oid:2.16.578.1.12.4.1.1.1234"
		})},
		{name: "neither healthcare_service nor purpose_of_use_details", kind: trust.KindAttestationInvalid, req: withAttestation(func(a map[string]any) {
			delete(att(a, "care_relation"), "healthcare_service")
		})},
		{name: "patients array missing", kind: trust.KindAttestationInvalid, req: withAttestation(func(a map[string]any) {
			delete(a, "patients")
		})},
		{name: "bad decision_ref id", kind: trust.KindAttestationDecisionRef, req: withAttestation(func(a map[string]any) {
			att(a, "care_relation", "decision_ref")["id"] = "8<..autogenerert i EPJ..>8"
		})},
		{name: "decision_ref missing", kind: trust.KindAttestationDecisionRef, req: withAttestation(func(a map[string]any) {
			delete(att(a, "care_relation"), "decision_ref")
		})},
		{name: "pid mismatch", kind: trust.KindAttestationPractitioner, req: withAttestation(func(a map[string]any) {
			att(a, "practitioner", "identifier")["id"] = "03916840089"
		})},
		{name: "HPR number mismatch", kind: trust.KindAttestationPractitioner, req: withAttestation(func(a map[string]any) {
			att(a, "practitioner", "hpr_nr")["id"] = "565500021"
		})},
		{name: "unknown purpose of use", kind: trust.KindAttestationPurpose, req: withAttestation(func(a map[string]any) {
			att(a, "care_relation", "purpose_of_use")["code"] = "HMARKT"
		})},
		{name: "purpose of use from another system", kind: trust.KindAttestationPurpose, req: withAttestation(func(a map[string]any) {
			att(a, "care_relation", "purpose_of_use")["system"] = "urn:oid:1.0.14265.1"
		})},
	}
}

func TestVerifyRequestRejections(t *testing.T) {
	rows := tokenRejections()
	if len(rows) < 45 {
		t.Fatalf("only %d rejection rows", len(rows))
	}
	for _, row := range rows {
		t.Run(row.name, func(t *testing.T) {
			var cfgs []func(*trust.Config)
			if row.cfg != nil {
				cfgs = append(cfgs, row.cfg)
			}
			e := newEnv(t, cfgs...)
			need := readReq
			if row.need != nil {
				need = *row.need
			}
			p, err := e.v.VerifyRequest(context.Background(), row.req(t, e), need)
			if p != nil {
				t.Errorf("principal returned with a rejection: %+v", p)
			}
			wantKind(t, err, row.kind)
			if d := trust.Description(err); d == "" || strings.Contains(d, "12887040093") {
				t.Errorf("description not client-safe: %q", d)
			}
		})
	}
}

// A rejected proof must not burn its jti: the same proof is accepted once
// the rest of the request is fixed.
func TestRejectedProofDoesNotUseUpJTI(t *testing.T) {
	e := newEnv(t)
	tok := e.token(e.healthWorkerClaims())
	proof := e.proof(http.MethodPost, testHTU, tok)
	short := trust.Requirement{Scope: "nhn:phr/other", HTU: testHTU}
	if _, err := e.v.VerifyRequest(context.Background(), request(http.MethodPost, testHTU, "DPoP "+tok, proof), short); trust.KindOf(err) != trust.KindInsufficientScope {
		t.Fatalf("want insufficient scope, got %v", err)
	}
	if _, err := e.v.VerifyRequest(context.Background(), request(http.MethodPost, testHTU, "DPoP "+tok, proof), readReq); err != nil {
		t.Fatalf("proof refused after an unrelated rejection: %v", err)
	}
}

func TestVerifyRequestAcceptsFixtures(t *testing.T) {
	cases := []struct {
		fixture, pid, hpr, name string
	}{
		{"ex1_fastlege.json", "12887040093", "565500013", "Frida Fastlege"},
		{"ex2_sykehjemslege.json", "03916840089", "565500021", "Sigrid Sykehjemslege"},
		{"ex3_sykehuslege.json", "21857540120", "565500039", "Are Anestesilege"},
		{"vedleggB_full_model.json", "21857540120", "565500039", "Are Anestesilege"},
		{"pjd_simple_request_objects_demo.json", "12887040093", "", "Frida Fastlege"},
	}
	for _, c := range cases {
		t.Run(c.fixture, func(t *testing.T) {
			e := newEnv(t)
			claims := e.healthWorkerClaims()
			claims["authorization_details"] = attestationFixture(t, c.fixture)
			claims["helseid://claims/identity/pid"] = c.pid
			claims["name"] = c.name
			if c.hpr == "" {
				delete(claims, "helseid://claims/hpr/hpr_number")
			} else {
				claims["helseid://claims/hpr/hpr_number"] = c.hpr
			}
			p, err := e.v.VerifyRequest(context.Background(), e.validRequest(claims), readReq)
			if err != nil {
				t.Fatal(err)
			}
			if p.Kind != trust.HealthWorker || p.Credential != trust.CredentialHelseIDDPoP || p.Subject != c.pid {
				t.Fatalf("principal %+v", p)
			}
			if p.KeyThumbprint != ecThumbprint(e.dpop) {
				t.Errorf("jkt %q, want the proof key's thumbprint", p.KeyThumbprint)
			}
			// Values that change per run: the httptest URL and the generated key.
			p.Issuer = "<test issuer>"
			p.KeyThumbprint = "<thumbprint of the test DPoP key>"
			golden(t, "principal_jwt_"+strings.TrimSuffix(c.fixture, ".json")+".json", p)
		})
	}
}

// The attestation may also arrive in a claim named after its type
// (one reference gateway reads it there), as a JSON string, or in both
// claims when they agree.
func TestAttestationClaimForms(t *testing.T) {
	forms := map[string]func(c map[string]any){
		"nhn:tillitsrammeverk:parameters claim": func(c map[string]any) {
			c[trust.AttestationType] = c["authorization_details"]
			delete(c, "authorization_details")
		},
		"JSON string": func(c map[string]any) {
			c["authorization_details"] = string(mustJSON(c["authorization_details"]))
		},
		"array": func(c map[string]any) {
			c["authorization_details"] = []any{c["authorization_details"]}
		},
		"both claims, equal": func(c map[string]any) {
			c[trust.AttestationType] = c["authorization_details"]
		},
	}
	for name, mut := range forms {
		t.Run(name, func(t *testing.T) {
			e := newEnv(t)
			c := e.healthWorkerClaims()
			mut(c)
			p, err := e.v.VerifyRequest(context.Background(), e.validRequest(c), readReq)
			if err != nil {
				t.Fatal(err)
			}
			if p.DecisionRef.ID != "aa2c8878-8978-45c1-a114-5b5215cbf91a" || p.LegalEntity.ID != "100100673" {
				t.Fatalf("attestation not applied: %+v", p)
			}
		})
	}
	t.Run("both claims, different", func(t *testing.T) {
		e := newEnv(t)
		c := e.healthWorkerClaims()
		var other map[string]any
		_ = json.Unmarshal(mustJSON(c["authorization_details"]), &other)
		att(other, "practitioner", "legal_entity")["id"] = "993467049"
		c[trust.AttestationType] = other
		_, err := e.v.VerifyRequest(context.Background(), e.validRequest(c), readReq)
		wantKind(t, err, trust.KindAttestationMalformed)
	})
}

func TestPrincipalKinds(t *testing.T) {
	t.Run("citizen", func(t *testing.T) {
		e := newEnv(t)
		c := e.healthWorkerClaims()
		delete(c, "authorization_details")
		delete(c, "helseid://claims/hpr/hpr_number")
		c["helseid://claims/identity/pid"] = testPatient
		c["scope"] = []string{trust.ScopeCitizen}
		p, err := e.v.VerifyRequest(context.Background(), e.validRequest(c),
			trust.Requirement{Scope: trust.ScopeReadDocumentReferences, Scopes: []string{trust.ScopeCitizen}, HTU: testHTU})
		if err != nil {
			t.Fatal(err)
		}
		if p.Kind != trust.Citizen || p.HasAttestation || p.MatchedScope != trust.ScopeCitizen || p.Subject != testPatient {
			t.Fatalf("principal %+v", p)
		}
	})
	t.Run("compliance officer", func(t *testing.T) {
		e := newEnv(t)
		c := e.healthWorkerClaims()
		delete(c, "authorization_details")
		c["scope"] = []string{trust.ScopeAudit}
		p, err := e.v.VerifyRequest(context.Background(), e.validRequest(c), trust.Requirement{Scope: trust.ScopeAudit, HTU: testHTU})
		if err != nil {
			t.Fatal(err)
		}
		if p.Kind != trust.Compliance || p.HasAttestation {
			t.Fatalf("principal %+v", p)
		}
	})
	t.Run("source client (client credentials, register scope)", func(t *testing.T) {
		e := newEnv(t)
		c := e.healthWorkerClaims()
		dropPerson(c)
		c["scope"] = []string{trust.ScopeRegister}
		p, err := e.v.VerifyRequest(context.Background(), e.validRequest(c), trust.Requirement{Scope: trust.ScopeRegister, HTU: testHTU})
		if err != nil {
			t.Fatal(err)
		}
		// Never a System principal: those come from a certificate alone.
		if p.Kind != trust.ClientCredentials || p.IsSystem() || p.Subject != "" || p.Client.OrgNrParent != "100100673" {
			t.Fatalf("principal %+v", p)
		}
	})
	t.Run("kjernejournal scope as an alternative", func(t *testing.T) {
		e := newEnv(t)
		c := e.healthWorkerClaims()
		c["scope"] = []string{trust.ScopeReadDocumentReferencesKJ}
		p, err := e.v.VerifyRequest(context.Background(), e.validRequest(c),
			trust.Requirement{Scope: trust.ScopeReadDocumentReferences, Scopes: []string{trust.ScopeReadDocumentReferencesKJ}, HTU: testHTU})
		if err != nil {
			t.Fatal(err)
		}
		if p.MatchedScope != trust.ScopeReadDocumentReferencesKJ {
			t.Fatalf("matched %q", p.MatchedScope)
		}
	})
}

// htu is compared after RFC 3986 normalisation, without query or fragment.
func TestHTUNormalisation(t *testing.T) {
	same := []string{
		"https://PJD.example.no/fhir/R4/DocumentReference/_search",
		"https://pjd.example.no:443/fhir/R4/DocumentReference/_search",
		"https://pjd.example.no/fhir/R4/DocumentReference/_search?patient=1#x",
		"https://pjd.example.no/fhir/R4/%44ocumentReference/_search",
		"https://pjd.example.no/fhir/R4/x/../DocumentReference/./_search",
		"HTTPS://pjd.example.no/fhir/R4/DocumentReference/_search",
	}
	for _, htu := range same {
		t.Run(htu, func(t *testing.T) {
			e := newEnv(t)
			tok := e.token(e.healthWorkerClaims())
			hdr := e.proofHeader(e.dpop)
			cl := e.proofClaims(http.MethodPost, htu, tok)
			r := request(http.MethodPost, testHTU, "DPoP "+tok, signJWS(hdr, cl, e.dpop))
			if _, err := e.v.VerifyRequest(context.Background(), r, readReq); err != nil {
				t.Fatal(err)
			}
		})
	}
	for in, want := range map[string]string{
		"http://a.example:80":          "http://a.example/",
		"https://a.example:8443/x/%7e": "https://a.example:8443/x/~",
		"https://a.example/a%2fb":      "https://a.example/a%2Fb",
		"https://[::1]:443/p":          "https://[::1]/p",
		"https://[::1]:8443/p":         "https://[::1]:8443/p",
	} {
		got, err := trust.NormalizeHTU(in)
		if err != nil || got != want {
			t.Errorf("NormalizeHTU(%q) = %q, %v; want %q", in, got, err, want)
		}
	}
	for _, bad := range []string{"ftp://a.example/", "https://user@a.example/", "/relative", "https://", "mailto:x@y"} {
		if got, err := trust.NormalizeHTU(bad); err == nil {
			t.Errorf("NormalizeHTU(%q) = %q, want error", bad, got)
		}
	}
}

// dropPerson removes every claim about the user from token claims: what a
// client-credentials token looks like.
func dropPerson(c map[string]any) {
	for _, k := range []string{"authorization_details", "helseid://claims/identity/pid", "helseid://claims/identity/security_level",
		"helseid://claims/hpr/hpr_number", "name", "sub"} {
		delete(c, k)
	}
}
