package trust_test

import (
	"context"
	"net/http"
	"testing"
	"time"

	"pjd/trust"
)

func (e *env) verify(t *testing.T, tok string) error {
	t.Helper()
	r := request(http.MethodPost, testHTU, "DPoP "+tok, e.proof(http.MethodPost, testHTU, tok))
	_, err := e.v.VerifyRequest(context.Background(), r, readReq)
	return err
}

func TestJWKSIsCached(t *testing.T) {
	e := newEnv(t)
	for i := 0; i < 20; i++ {
		if err := e.verify(t, e.token(e.healthWorkerClaims())); err != nil {
			t.Fatal(err)
		}
	}
	if n := e.iss.fetches.Load(); n != 1 {
		t.Fatalf("%d JWKS fetches for 20 verifications, want 1", n)
	}
}

func TestUnknownKidRefetchIsRateLimited(t *testing.T) {
	e := newEnv(t)
	rk, _ := testKeys()
	if err := e.verify(t, e.token(e.healthWorkerClaims())); err != nil {
		t.Fatal(err)
	}
	unknown := func() string { return signJWS(e.header("kid-new"), e.healthWorkerClaims(), rk[1]) }

	// Right after a fetch an unknown kid does not cause another one.
	wantKind(t, e.verify(t, unknown()), trust.KindTokenUnknownKey)
	if n := e.iss.fetches.Load(); n != 1 {
		t.Fatalf("fetches %d, want 1 (just fetched)", n)
	}
	e.clock.Advance(31 * time.Second)
	wantKind(t, e.verify(t, unknown()), trust.KindTokenUnknownKey)
	if n := e.iss.fetches.Load(); n != 2 {
		t.Fatalf("fetches %d after one unknown kid, want 2 (one refetch)", n)
	}
	for i := 0; i < 10; i++ {
		wantKind(t, e.verify(t, unknown()), trust.KindTokenUnknownKey)
	}
	if n := e.iss.fetches.Load(); n != 2 {
		t.Fatalf("fetches %d after 10 more unknown kids within the limit, want still 2", n)
	}

	// The issuer rotates in the new key; once the limit has passed, the
	// next unknown kid refetches and the token verifies.
	e.iss.mu.Lock()
	e.iss.jwks = append(e.iss.jwks, rsaJWK(&rk[1].PublicKey, "kid-new", "RS256"))
	e.iss.mu.Unlock()
	e.clock.Advance(31 * time.Second)
	if err := e.verify(t, unknown()); err != nil {
		t.Fatalf("rotated key refused: %v", err)
	}
	if n := e.iss.fetches.Load(); n != 3 {
		t.Fatalf("fetches %d, want 3", n)
	}
}

func TestKeyRetiredByExpiredKeysEndpoint(t *testing.T) {
	e := newEnv(t)
	tok := func() string { return e.token(e.healthWorkerClaims()) }
	if err := e.verify(t, tok()); err != nil {
		t.Fatal(err)
	}
	// The issuer retires its current key: it stays in jwks (a stale
	// mirror, say) but is listed by the expired-keys endpoint.
	e.iss.mu.Lock()
	e.iss.expired = append(e.iss.expired, rsaJWK(&e.iss.key.PublicKey, "", "RS256"))
	e.iss.mu.Unlock()
	e.clock.Advance(16 * time.Minute) // past JWKSRefresh
	e.clock.Advance(0)
	claims := e.healthWorkerClaims()
	claims["exp"] = e.clock.Now().Add(time.Minute).Unix()
	wantKind(t, e.verify(t, e.token(claims)), trust.KindTokenRetiredKey)
}

func TestIssuerUnavailable(t *testing.T) {
	t.Run("at first use", func(t *testing.T) {
		e := newEnv(t)
		e.iss.fail.Store(true)
		err := e.verify(t, e.token(e.healthWorkerClaims()))
		wantKind(t, err, trust.KindIssuerUnavailable)
		if trust.HTTPStatus(err) != http.StatusServiceUnavailable {
			t.Fatalf("status %d", trust.HTTPStatus(err))
		}
		if err := e.v.Refresh(context.Background()); trust.KindOf(err) != trust.KindIssuerUnavailable {
			t.Fatalf("Refresh: %v", err)
		}
	})
	t.Run("cached keys carry over a short outage, not a long one", func(t *testing.T) {
		e := newEnv(t)
		if err := e.v.Refresh(context.Background()); err != nil {
			t.Fatal(err)
		}
		e.iss.fail.Store(true)
		at := func(d time.Duration) error {
			e.clock.Set(testNow.Add(d))
			c := e.healthWorkerClaims()
			return e.verify(t, e.token(c))
		}
		if err := at(20 * time.Minute); err != nil {
			t.Fatalf("within max staleness: %v", err)
		}
		// Attestation toa is fixed in the fixture; keep it fresh for this check.
		e.clock.Set(testNow.Add(25 * time.Hour))
		c := e.healthWorkerClaims()
		a := c["authorization_details"].(map[string]any)
		a["toa"] = e.clock.Now().Unix()
		wantKind(t, e.verify(t, e.token(c)), trust.KindIssuerUnavailable)
	})
}

func TestMetadataIssuerMustMatchConfiguration(t *testing.T) {
	e := newEnv(t, func(c *trust.Config) {
		c.Issuers[0].Issuer = "https://helseid-sts.nhn.no"
	})
	// The token names the configured issuer, but the metadata disagrees.
	c := e.healthWorkerClaims()
	c["iss"] = "https://helseid-sts.nhn.no"
	wantKind(t, e.verify(t, e.token(c)), trust.KindIssuerUnavailable)
}

// With two issuers, a token is checked only against the keys of the issuer
// it names.
func TestKeysAreBoundToTheirIssuer(t *testing.T) {
	other := newTestIssuer(t)
	rk, _ := testKeys()
	other.mu.Lock()
	other.key = rk[1]
	other.kid = "kid-other"
	other.jwks = []map[string]any{rsaJWK(&rk[1].PublicKey, "kid-other", "RS256")}
	other.mu.Unlock()
	e := newEnv(t, func(c *trust.Config) {
		c.Issuers = append(c.Issuers, trust.IssuerConfig{MetadataURL: other.metadataURL()})
	})
	// Valid for the other issuer.
	c := e.healthWorkerClaims()
	c["iss"] = other.issuer()
	if err := e.verify(t, signJWS(e.header("kid-other"), c, rk[1])); err != nil {
		t.Fatal(err)
	}
	// Signed with the first issuer's key but naming the other issuer.
	wantKind(t, e.verify(t, signJWS(e.header(e.iss.kid), c, e.iss.key)), trust.KindTokenUnknownKey)
}

func TestNewVerifierRefusesIncompleteConfig(t *testing.T) {
	replay := trust.NewMemoryReplayCache(nil, 0)
	for name, cfg := range map[string]trust.Config{
		"no issuer":       {Audience: "a", Replay: replay},
		"no audience":     {Issuers: []trust.IssuerConfig{{MetadataURL: "https://x.example/.well-known/openid-configuration"}}, Replay: replay},
		"no replay cache": {Issuers: []trust.IssuerConfig{{MetadataURL: "https://x.example/.well-known/openid-configuration"}}, Audience: "a"},
		"bad URL":         {Issuers: []trust.IssuerConfig{{MetadataURL: "file:///etc/passwd"}}, Audience: "a", Replay: replay},
	} {
		if _, err := trust.NewVerifier(cfg); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
}
