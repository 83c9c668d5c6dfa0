package trust_test

import (
	"context"
	"crypto/x509"
	"reflect"
	"slices"
	"testing"
	"time"

	"github.com/beevik/etree"

	"pjd/trust"
	"pjd/trust/replaytest"
)

// clockedSAMLVerifier is samlVerifier with a settable clock.
func clockedSAMLVerifier(t testing.TB, clk *replaytest.Clock) *trust.SAMLVerifier {
	t.Helper()
	v, err := trust.NewSAMLVerifier(trust.SAMLConfig{
		TrustedCertificates: []*x509.Certificate{testSigners()[0].cert},
		Issuers:             []string{"https://helseid-xdssaml.test.nhn.no", "sikkerhet.helsenorge.no", mintIssuer},
		Audiences:           []string{"nhn:dokumentdeling-saml", "https://xds-web.test.nhn.no/", mintAudience},
		Now:                 clk.Now,
	})
	if err != nil {
		t.Fatal(err)
	}
	return v
}

// TestSAMLCacheReusesAVerifiedAssertion: the same assertion presented again
// is answered from the cache with an equal principal that is the caller's
// own copy.
func TestSAMLCacheReusesAVerifiedAssertion(t *testing.T) {
	v := clockedSAMLVerifier(t, replaytest.NewClock(kjNow))
	first, err := v.Verify(context.Background(), security(t, signedKJ(t, nil)))
	if err != nil {
		t.Fatal(err)
	}
	want := *first
	first.Patients[0].Identifier.ID = "changed by the caller"
	first.Scopes = append(first.Scopes[:0], "changed")
	again, err := v.Verify(context.Background(), security(t, signedKJ(t, nil)))
	if err != nil {
		t.Fatal(err)
	}
	if _, hits := v.CacheStats(); hits != 1 {
		t.Fatalf("hits %d, want 1", hits)
	}
	if again.Patients[0].Identifier.ID == "changed by the caller" || slices.Contains(again.Scopes, "changed") {
		t.Fatalf("the cached principal was changed by an earlier caller: %+v", again)
	}
	want.Patients, want.Scopes = again.Patients, again.Scopes
	if !reflect.DeepEqual(*again, want) {
		t.Fatalf("the cached principal differs or was changed by an earlier caller:\n%+v\n%+v", again, want)
	}
}

// TestSAMLRejectionsWithWarmCache: every rejection of TestSAMLRejections
// holds with the untampered assertion (same ID, same signature) in the
// cache: one byte changed, a second assertion, a duplicate ID elsewhere in
// the message, a foreign certificate… each is refused with its own kind.
func TestSAMLRejectionsWithWarmCache(t *testing.T) {
	for _, row := range samlRejections() {
		t.Run(row.name, func(t *testing.T) {
			now := row.now
			if now.IsZero() {
				now = kjNow
			}
			v := samlVerifier(t, now, row.certs...)
			if _, err := v.Verify(context.Background(), security(t, signedKJ(t, nil))); err == nil {
				if _, err := v.Verify(context.Background(), security(t, signedKJ(t, nil))); err != nil {
					t.Fatal(err)
				}
				if _, hits := v.CacheStats(); hits != 1 {
					t.Fatalf("the untampered assertion is not cached (hits %d)", hits)
				}
			}
			_, hits := v.CacheStats()
			p, err := v.Verify(context.Background(), row.build(t))
			if p != nil {
				t.Errorf("principal returned with a rejection: %+v", p)
			}
			wantKind(t, err, row.kind)
			if _, after := v.CacheStats(); after != hits {
				t.Errorf("the rejection was answered from the cache")
			}
		})
	}
}

// TestSAMLCacheOneByte: one byte changed anywhere in the signed content of
// a cached assertion is a full verification, and refused.
func TestSAMLCacheOneByte(t *testing.T) {
	v := clockedSAMLVerifier(t, replaytest.NewClock(kjNow))
	if _, err := v.Verify(context.Background(), security(t, signedKJ(t, nil))); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name string
		mut  func(a *etree.Element)
	}{
		{"NameID", func(a *etree.Element) {
			n := samlChildEl(samlChildEl(a, "Subject"), "NameID")
			b := []byte(n.Text())
			b[len(b)-1] ^= 1
			n.SetText(string(b))
		}},
		{"Issuer", func(a *etree.Element) {
			n := samlChildEl(a, "Issuer")
			n.SetText(n.Text() + " ")
		}},
		{"Audience", func(a *etree.Element) {
			n := samlChildEl(samlChildEl(samlChildEl(a, "Conditions"), "AudienceRestriction"), "Audience")
			n.SetText(n.Text() + "x")
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			doc := signedKJ(t, nil)
			tc.mut(assertionOf(t, doc))
			_, hits := v.CacheStats()
			_, err := v.Verify(context.Background(), security(t, wire(t, doc)))
			wantKind(t, err, trust.KindSAMLSignature)
			if _, after := v.CacheStats(); after != hits {
				t.Error("answered from the cache")
			}
		})
	}
	if n, _ := v.CacheStats(); n != 1 {
		t.Errorf("%d entries: refusals are cached", n)
	}
}

// TestSAMLCacheExpiresAtNotOnOrAfter: a cached assertion is used until its
// NotOnOrAfter and not at it; from then on the full check decides (which
// tolerates the skew, then refuses it as expired).
func TestSAMLCacheExpiresAtNotOnOrAfter(t *testing.T) {
	clk := replaytest.NewClock(mintNow)
	a, err := minter(mintNow).Mint(healthWorker(), mintAudience)
	if err != nil {
		t.Fatal(err)
	}
	until := mintNow.Add(trust.MaxXUALifetime)
	v := clockedSAMLVerifier(t, clk)
	msg := func() *etree.Element { return onWire(t, a.Copy(), mintNow) }
	if _, err := v.Verify(context.Background(), msg()); err != nil {
		t.Fatal(err)
	}
	clk.Set(until.Add(-time.Millisecond))
	if _, err := v.Verify(context.Background(), msg()); err != nil {
		t.Fatal(err)
	}
	if _, hits := v.CacheStats(); hits != 1 {
		t.Fatalf("hits %d before NotOnOrAfter, want 1", hits)
	}
	clk.Set(until)
	if _, err := v.Verify(context.Background(), msg()); err != nil {
		t.Fatalf("within the skew: %v", err)
	}
	if _, hits := v.CacheStats(); hits != 1 {
		t.Fatalf("the cache answered at NotOnOrAfter (hits %d)", hits)
	}
	clk.Set(until.Add(trust.DefaultSkew))
	_, err = v.Verify(context.Background(), msg())
	wantKind(t, err, trust.KindSAMLExpired)
}

// TestSAMLCacheExpiresWithTheAttestation: an assertion valid for longer
// than its attestation's age (IssueInstant + 60 min) leaves the cache when
// the attestation gets too old, not at its NotOnOrAfter.
func TestSAMLCacheExpiresWithTheAttestation(t *testing.T) {
	issued := time.Date(2025, 7, 31, 18, 49, 15, 333e6, time.UTC) // the KJ sample's IssueInstant
	doc := signedKJ(t, func(a *etree.Element) {
		samlChildEl(a, "Conditions").CreateAttr("NotOnOrAfter", "2025-07-31T21:00:00Z")
	})
	clk := replaytest.NewClock(kjNow)
	v := clockedSAMLVerifier(t, clk)
	if _, err := v.Verify(context.Background(), security(t, doc)); err != nil {
		t.Fatal(err)
	}
	clk.Set(issued.Add(time.Hour - time.Millisecond))
	if _, err := v.Verify(context.Background(), security(t, doc)); err != nil {
		t.Fatal(err)
	}
	clk.Set(issued.Add(time.Hour))
	if _, err := v.Verify(context.Background(), security(t, doc)); err != nil {
		t.Fatal(err)
	}
	if _, hits := v.CacheStats(); hits != 1 {
		t.Fatalf("hits %d: the cache answered at the end of the attestation's age", hits)
	}
	clk.Set(issued.Add(time.Hour + time.Second))
	if _, err := v.Verify(context.Background(), security(t, doc)); err == nil {
		t.Fatal("an assertion whose attestation is over 60 minutes old was accepted")
	}
}

// TestSAMLCacheOff: a negative CacheSize verifies every time.
func TestSAMLCacheOff(t *testing.T) {
	v, err := trust.NewSAMLVerifier(trust.SAMLConfig{TrustedCertificates: []*x509.Certificate{testSigners()[0].cert},
		Issuers: []string{"https://helseid-xdssaml.test.nhn.no"}, Audiences: []string{"nhn:dokumentdeling-saml"},
		Now: func() time.Time { return kjNow }, CacheSize: -1})
	if err != nil {
		t.Fatal(err)
	}
	for range 2 {
		if _, err := v.Verify(context.Background(), security(t, signedKJ(t, nil))); err != nil {
			t.Fatal(err)
		}
	}
	if n, hits := v.CacheStats(); n != 0 || hits != 0 {
		t.Fatalf("cache off: %d entries, %d hits", n, hits)
	}
}
