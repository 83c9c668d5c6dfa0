package trust_test

import (
	"context"
	"crypto/x509"
	"testing"
	"time"

	"github.com/beevik/etree"

	"pjd/trust"
	"pjd/trust/replaytest"
)

// cachedMinter is minter() with a cache of max entries and a settable clock.
func cachedMinter(clk *replaytest.Clock, max int) *trust.XUAMinter {
	m := minter(mintNow)
	m.Now = clk.Now
	m.Cache = trust.NewXUACache(max)
	return m
}

func assertionID(a *etree.Element) string { return a.SelectAttrValue("ID", "") }

func serialised(t *testing.T, a *etree.Element) string {
	t.Helper()
	d := etree.NewDocument()
	d.SetRoot(a.Copy())
	s, err := d.WriteToString()
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// TestXUAMintCacheReuses: the same principal and audience within the first
// half of the lifetime get the same assertion (byte for byte, a copy of
// their own), which the responding side still accepts; from the middle of
// the lifetime on a new one is minted.
func TestXUAMintCacheReuses(t *testing.T) {
	clk := replaytest.NewClock(mintNow)
	m := cachedMinter(clk, 16)
	first, err := m.Mint(healthWorker(), mintAudience)
	if err != nil {
		t.Fatal(err)
	}
	firstBytes := serialised(t, first)
	// The caller owns what it got: re-parenting or changing it does not
	// reach the cache.
	trust.SecurityHeader(first, mintNow)
	first.CreateAttr("ID", "_changed-by-the-caller")

	clk.Advance(trust.MaxXUALifetime/2 - time.Millisecond)
	again, err := m.Mint(healthWorker(), mintAudience)
	if err != nil {
		t.Fatal(err)
	}
	if m.Cache.Hits() != 1 || serialised(t, again) != firstBytes {
		t.Fatalf("hits %d; the reused assertion differs from the one minted first", m.Cache.Hits())
	}
	if _, err := mintVerifier(t, clk.Now()).Verify(t.Context(), onWire(t, again, clk.Now())); err != nil {
		t.Fatalf("the verifier refused a reused assertion: %v", err)
	}

	clk.Advance(time.Millisecond) // half the lifetime: no longer reused
	fresh, err := m.Mint(healthWorker(), mintAudience)
	if err != nil {
		t.Fatal(err)
	}
	if m.Cache.Hits() != 1 || assertionID(fresh) == assertionID(again) {
		t.Fatalf("an assertion was reused at half its lifetime (hits %d)", m.Cache.Hits())
	}
	if got := fresh.FindElement("./Conditions").SelectAttrValue("NotOnOrAfter", ""); got != clk.Now().Add(trust.MaxXUALifetime).Format("2006-01-02T15:04:05.000Z") {
		t.Errorf("NotOnOrAfter %s of the fresh assertion", got)
	}
}

// TestXUAMintCacheNeverShares: an assertion is never handed to another
// principal, attestation, patient, audience, or a principal whose
// credential expires sooner; nor by another minter's cache key.
func TestXUAMintCacheNeverShares(t *testing.T) {
	clk := replaytest.NewClock(mintNow)
	m := cachedMinter(clk, 64)
	base, err := m.Mint(healthWorker(), mintAudience)
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name     string
		p        func() *trust.Principal
		audience string
	}{
		{"another audience", healthWorker, "urn:oid:2.16.578.1.12.4.5.100.2"},
		{"another person", func() *trust.Principal {
			p := healthWorker()
			p.Subject, p.Name, p.HPRNumber = "27888498775", "LUNKEN PLANTE", "565500013"
			return p
		}, mintAudience},
		{"another attestation (toa)", func() *trust.Principal {
			p := healthWorker()
			p.AttestedAt = p.AttestedAt.Add(time.Second)
			return p
		}, mintAudience},
		{"another purpose of use", func() *trust.Principal {
			p := healthWorker()
			p.PurposeOfUse.Code = "ETREAT"
			return p
		}, mintAudience},
		{"another patient", func() *trust.Principal {
			p := healthWorker()
			p.Patients[0].Identifier.ID = "13915810033"
			return p
		}, mintAudience},
		{"another token of the same person", func() *trust.Principal {
			p := healthWorker()
			p.TokenID = "another-jti"
			return p
		}, mintAudience},
		{"a credential expiring sooner", func() *trust.Principal {
			p := healthWorker()
			p.ExpiresAt = mintNow.Add(time.Minute)
			return p
		}, mintAudience},
		{"a citizen", citizen, mintAudience},
	} {
		t.Run(tc.name, func(t *testing.T) {
			hits := m.Cache.Hits()
			a, err := m.Mint(tc.p(), tc.audience)
			if err != nil {
				t.Fatal(err)
			}
			if m.Cache.Hits() != hits || assertionID(a) == assertionID(base) {
				t.Fatalf("the assertion minted for the base principal was reused")
			}
		})
	}
	// The same principal from another minter (another issuer) is not
	// served from this one's entries even with a shared cache.
	other := minter(mintNow)
	other.Issuer, other.Now, other.Cache = "https://other.test/xua", clk.Now, m.Cache
	hits := m.Cache.Hits()
	if a, err := other.Mint(healthWorker(), mintAudience); err != nil || m.Cache.Hits() != hits || assertionID(a) == assertionID(base) {
		t.Fatalf("another issuer's minter reused the assertion (err %v)", err)
	}
}

// TestXUAMintCacheBounded: the cache holds at most its size, dropping the
// least recently used.
func TestXUAMintCacheBounded(t *testing.T) {
	clk := replaytest.NewClock(mintNow)
	m := cachedMinter(clk, 2)
	audiences := []string{"urn:oid:1.1", "urn:oid:1.2", "urn:oid:1.3"}
	for _, au := range audiences {
		if _, err := m.Mint(healthWorker(), au); err != nil {
			t.Fatal(err)
		}
	}
	if n := m.Cache.Len(); n != 2 {
		t.Fatalf("%d entries, want 2", n)
	}
	if _, err := m.Mint(healthWorker(), audiences[0]); err != nil || m.Cache.Hits() != 0 {
		t.Fatalf("the least recently used entry was kept (hits %d, err %v)", m.Cache.Hits(), err)
	}
	if _, err := m.Mint(healthWorker(), audiences[2]); err != nil || m.Cache.Hits() != 1 {
		t.Fatalf("a recent entry was dropped (hits %d, err %v)", m.Cache.Hits(), err)
	}
}

// BenchmarkXUAHop measures what one outbound XCA hop costs the initiating
// side (minting the consumer's assertion) and the responding side
// (verifying it), each without and with its cache, in the same run:
//
//	go test ./trust -run '^$' -bench BenchmarkXUAHop -cpu 1
func BenchmarkXUAHop(b *testing.B) {
	clk := replaytest.NewClock(mintNow)
	b.Run("mint/sign", func(b *testing.B) {
		m := minter(mintNow)
		b.ReportAllocs()
		for b.Loop() {
			if _, err := m.Mint(healthWorker(), mintAudience); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("mint/cached", func(b *testing.B) {
		m := cachedMinter(clk, 16)
		b.ReportAllocs()
		for b.Loop() {
			if _, err := m.Mint(healthWorker(), mintAudience); err != nil {
				b.Fatal(err)
			}
		}
	})
	a, err := minter(mintNow).Mint(healthWorker(), mintAudience)
	if err != nil {
		b.Fatal(err)
	}
	sec := onWire(b, a, mintNow)
	for _, tc := range []struct {
		name string
		size int
	}{{"verify/full", -1}, {"verify/cached", 0}} {
		b.Run(tc.name, func(b *testing.B) {
			v, err := trust.NewSAMLVerifier(trust.SAMLConfig{TrustedCertificates: []*x509.Certificate{testSigners()[0].cert},
				Issuers: []string{mintIssuer}, Audiences: []string{mintAudience}, Now: clk.Now, CacheSize: tc.size})
			if err != nil {
				b.Fatal(err)
			}
			b.ReportAllocs()
			for b.Loop() {
				if _, err := v.Verify(context.Background(), sec); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
