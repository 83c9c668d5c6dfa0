package trust_test

import (
	"context"
	"net/http"
	"testing"
	"time"

	"pjd/trust"
)

// TestTokenCacheHits: the same access token presented again with a fresh
// proof is taken from the cache (not parsed and verified again); a
// different token is not.
func TestTokenCacheHits(t *testing.T) {
	e := newEnv(t)
	tok := e.token(e.healthWorkerClaims())
	for i := range 3 {
		if err := e.verify(t, tok); err != nil {
			t.Fatalf("request %d: %v", i, err)
		}
	}
	if n, hits := trust.TokenCacheStats(e.v); n != 1 || hits != 2 {
		t.Fatalf("cache holds %d tokens, %d hits; want 1 token, 2 hits", n, hits)
	}
	claims := e.healthWorkerClaims()
	claims["jti"] = "another-token"
	if err := e.verify(t, e.token(claims)); err != nil {
		t.Fatal(err)
	}
	if n, hits := trust.TokenCacheStats(e.v); n != 2 || hits != 2 {
		t.Fatalf("cache holds %d tokens, %d hits; want 2 tokens, 2 hits", n, hits)
	}
}

// TestTokenCacheBounded: the cache never holds more than its size, and a
// size below zero turns it off.
func TestTokenCacheBounded(t *testing.T) {
	e := newEnv(t, func(c *trust.Config) { c.TokenCacheSize = 3 })
	for i := range 10 {
		claims := e.healthWorkerClaims()
		claims["jti"] = "token-" + string(rune('a'+i))
		if err := e.verify(t, e.token(claims)); err != nil {
			t.Fatal(err)
		}
		if n, _ := trust.TokenCacheStats(e.v); n > 3 {
			t.Fatalf("cache holds %d tokens, limit 3", n)
		}
	}
	off := newEnv(t, func(c *trust.Config) { c.TokenCacheSize = -1 })
	tok := off.token(off.healthWorkerClaims())
	for range 2 {
		if err := off.verify(t, tok); err != nil {
			t.Fatal(err)
		}
	}
	if n, hits := trust.TokenCacheStats(off.v); n != 0 || hits != 0 {
		t.Fatalf("disabled cache holds %d tokens, %d hits", n, hits)
	}
}

// TestTokenCacheNeverExtendsValidity: a token accepted once (and so
// cached) is refused afterwards for every reason the full check would
// refuse it, and every per-request check still runs on a cache hit. One row
// per way.
func TestTokenCacheNeverExtendsValidity(t *testing.T) {
	for _, tc := range []struct {
		name string
		// then changes the world after the first, accepted request and
		// returns the second request, with the same token.
		then func(e *env, tok string) *http.Request
		req  trust.Requirement
		want trust.Kind
	}{
		{name: "token expired", want: trust.KindTokenExpired, then: func(e *env, tok string) *http.Request {
			e.clock.Advance(300*time.Second + trust.DefaultSkew + time.Second)
			return request(http.MethodPost, testHTU, "DPoP "+tok, e.proof(http.MethodPost, testHTU, tok))
		}},
		{name: "signing key retired", want: trust.KindTokenRetiredKey, then: func(e *env, tok string) *http.Request {
			e.iss.mu.Lock()
			e.iss.expired = append(e.iss.expired, rsaJWK(&e.iss.key.PublicKey, "", "RS256"))
			e.iss.mu.Unlock()
			e.clock.Advance(16 * time.Minute) // past JWKSRefresh: the keys are fetched again
			return request(http.MethodPost, testHTU, "DPoP "+tok, e.proof(http.MethodPost, testHTU, tok))
		}},
		{name: "signing key removed", want: trust.KindTokenUnknownKey, then: func(e *env, tok string) *http.Request {
			e.iss.mu.Lock()
			e.iss.jwks = nil
			e.iss.mu.Unlock()
			e.clock.Advance(16 * time.Minute)
			return request(http.MethodPost, testHTU, "DPoP "+tok, e.proof(http.MethodPost, testHTU, tok))
		}},
		{name: "proof replayed", want: trust.KindDPoPReplay, then: func(e *env, tok string) *http.Request {
			return request(http.MethodPost, testHTU, "DPoP "+tok, e.lastProof)
		}},
		{name: "proof signed by another key", want: trust.KindDPoPKeyMismatch, then: func(e *env, tok string) *http.Request {
			_, ek := testKeys()
			return request(http.MethodPost, testHTU, "DPoP "+tok, signJWS(e.proofHeader(ek[1]), e.proofClaims(http.MethodPost, testHTU, tok), ek[1]))
		}},
		{name: "proof for another URL", want: trust.KindDPoPURL, then: func(e *env, tok string) *http.Request {
			return request(http.MethodPost, testHTU, "DPoP "+tok, e.proof(http.MethodPost, "https://other.example/fhir/DocumentReference", tok))
		}},
		{name: "proof without ath", want: trust.KindDPoPAth, then: func(e *env, tok string) *http.Request {
			c := e.proofClaims(http.MethodPost, testHTU, tok)
			delete(c, "ath")
			return request(http.MethodPost, testHTU, "DPoP "+tok, signJWS(e.proofHeader(e.dpop), c, e.dpop))
		}},
		{name: "attestation too old", want: trust.KindAttestationExpired, then: func(e *env, tok string) *http.Request {
			e.clock.Advance(61 * time.Minute) // past AttestationMaxAge, before the token's exp
			return request(http.MethodPost, testHTU, "DPoP "+tok, e.proof(http.MethodPost, testHTU, tok))
		}},
		{name: "scope not held", want: trust.KindInsufficientScope, req: trust.Requirement{Scope: trust.ScopeRegister, HTU: testHTU}, then: func(e *env, tok string) *http.Request {
			return request(http.MethodPost, testHTU, "DPoP "+tok, e.proof(http.MethodPost, testHTU, tok))
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv(t)
			claims := e.healthWorkerClaims()
			if tc.want != trust.KindTokenExpired {
				claims["exp"] = e.clock.Now().Add(2 * time.Hour).Unix()
			}
			tok := e.token(claims)
			e.lastProof = e.proof(http.MethodPost, testHTU, tok)
			if _, err := e.v.VerifyRequest(context.Background(), request(http.MethodPost, testHTU, "DPoP "+tok, e.lastProof), readReq); err != nil {
				t.Fatalf("first request: %v", err)
			}
			if n, _ := trust.TokenCacheStats(e.v); n != 1 {
				t.Fatalf("token not cached (%d entries)", n)
			}
			req := tc.req
			if req.HTU == "" {
				req = readReq
			}
			_, err := e.v.VerifyRequest(context.Background(), tc.then(e, tok), req)
			wantKind(t, err, tc.want)
		})
	}
}

// TestTokenCachePrincipalsApart: the principals of two requests with the
// same (cached) token share nothing a caller could change.
func TestTokenCachePrincipalsApart(t *testing.T) {
	e := newEnv(t)
	tok := e.token(e.healthWorkerClaims())
	verify := func() *trust.Principal {
		p, err := e.v.VerifyRequest(context.Background(), request(http.MethodPost, testHTU, "DPoP "+tok, e.proof(http.MethodPost, testHTU, tok)), readReq)
		if err != nil {
			t.Fatal(err)
		}
		return p
	}
	p1 := verify()
	if len(p1.Patients) == 0 || len(p1.Scopes) == 0 {
		t.Fatalf("fixture without patients or scopes: %+v", p1)
	}
	p1.Patients[0].Identifier.ID = "changed"
	p1.Scopes[0] = "changed"
	p2 := verify()
	if p2.Patients[0].Identifier.ID == "changed" || p2.Scopes[0] == "changed" {
		t.Fatal("a change to one request's principal shows in the next")
	}
	if _, hits := trust.TokenCacheStats(e.v); hits != 1 {
		t.Fatalf("%d cache hits, want 1", hits)
	}
}
