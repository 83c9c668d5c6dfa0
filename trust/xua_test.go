package trust_test

import (
	"crypto/x509"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/beevik/etree"

	"pjd/trust"
)

// mintNow is the clock of the minting tests.
var mintNow = time.Date(2026, 12, 7, 12, 0, 0, 0, time.UTC)

const (
	mintIssuer   = "https://pjd.test/xua"
	mintAudience = "urn:oid:2.16.578.1.12.4.5.100.1"
	mintHome     = "urn:oid:2.16.578.1.12.4.1.7.1.1"
)

// healthWorker is a principal as the HelseID verifier builds it from a
// token with a full attestation: every element the attestation has.
func healthWorker() *trust.Principal {
	return &trust.Principal{
		Credential: trust.CredentialHelseIDDPoP, Kind: trust.HealthWorker, Issuer: "https://helseid.test",
		IssuedAt: mintNow.Add(-10 * time.Minute), ExpiresAt: mintNow.Add(50 * time.Minute),
		Subject: "06828399789", Name: "KVART GREVLING", HPRNumber: "565505933",
		Authorization: trust.Coding{Code: "LE", System: "urn:oid:2.16.578.1.12.4.1.1.9060", Text: "Lege"},
		SecurityLevel: 4,
		LegalEntity:   trust.Identifier{ID: "960510542", System: "urn:oid:2.16.578.1.12.4.1.4.101", Name: "VOSS HERAD"},
		PointOfCare:   trust.Identifier{ID: "874593842", System: "urn:oid:2.16.578.1.12.4.1.4.101", Name: "VOSS SJUKEHEIM"},
		Department:    trust.Identifier{ID: "4208723", System: "urn:oid:2.16.578.1.12.4.1.4.102", Name: "Avdeling 2"},
		PurposeOfUse:  trust.Coding{Code: "TREAT", System: "urn:oid:2.16.840.1.113883.1.11.20448", Text: "Treatment"},
		PurposeOfUseDetails: trust.Coding{Code: "BEHANDLER", System: trust.SystemCareRelation,
			Text: "Behandler"},
		HealthcareService: trust.Coding{Code: "KP01", System: "urn:oid:2.16.578.1.12.4.1.1.8663", Text: "Legetjeneste ved sykehjem mv."},
		DecisionRef:       trust.DecisionRef{ID: "07b4b65f-a2f5-4b8a-9b2c-3d1f1c8e0a11", UserSelected: true},
		AttestedAt:        mintNow.Add(-10 * time.Minute),
		Patients: []trust.AttestedPatient{{
			Identifier:  trust.Identifier{ID: "29698496140", System: "urn:oid:2.16.578.1.12.4.1.4.1"},
			PointOfCare: trust.Identifier{ID: "974633191", System: "urn:oid:2.16.578.1.12.4.1.4.101", Name: "HAUKELAND"},
			Department:  trust.Identifier{ID: "108595", System: "urn:oid:2.16.578.1.12.4.1.4.102", Name: "Medisinsk avdeling"},
		}},
		HasAttestation: true,
		Client:         trust.Client{ID: "ea1b0c25-154d-483c-abeb-cdf2e09d0a45", Name: "EPJ"},
		Scopes:         []string{trust.ScopeReadDocumentReferencesKJ},
	}
}

func citizen() *trust.Principal {
	return &trust.Principal{
		Credential: trust.CredentialHelseIDDPoP, Kind: trust.Citizen, Issuer: "https://helseid.test",
		ExpiresAt: mintNow.Add(time.Hour), Subject: "27888498775", Name: "LUNKEN PLANTE", SecurityLevel: 4,
		LegalEntity: trust.Identifier{ID: "994598759", Name: "Norsk Helsenett"},
		Client:      trust.Client{ID: "urn:oid:2.16.578.1.12.4.1.7.1.1.1"},
		Scopes:      []string{trust.ScopeCitizen},
	}
}

func minter(now time.Time) *trust.XUAMinter {
	s := testSigners()[0]
	return &trust.XUAMinter{Signer: &trust.SAMLSigner{Key: s.key, Cert: s.cert}, Issuer: mintIssuer,
		HomeCommunityID: mintHome, Now: func() time.Time { return now }}
}

func mintVerifier(t testing.TB, now time.Time) *trust.SAMLVerifier {
	t.Helper()
	v, err := trust.NewSAMLVerifier(trust.SAMLConfig{TrustedCertificates: []*x509.Certificate{testSigners()[0].cert},
		Issuers: []string{mintIssuer}, Audiences: []string{mintAudience}, Now: func() time.Time { return now }})
	if err != nil {
		t.Fatal(err)
	}
	return v
}

// onWire puts the assertion in a WS-Security header of a SOAP envelope,
// serialises it and parses it back, as the responding side receives it.
func onWire(t testing.TB, a *etree.Element, now time.Time) *etree.Element {
	t.Helper()
	doc := etree.NewDocument()
	env := doc.CreateElement("env:Envelope")
	env.CreateAttr("xmlns:env", "http://www.w3.org/2003/05/soap-envelope")
	env.CreateElement("env:Header").AddChild(trust.SecurityHeader(a, now))
	env.CreateElement("env:Body")
	return security(t, wire(t, doc))
}

// TestXUAMintRoundTrip: what the minter writes, SAMLVerifier reads back as
// an equivalent principal — every attestation element, field by field.
// The only element that changes is the time of attestation, which the
// verifier takes from IssueInstant (the minting time; no NHN attribute
// carries toa).
func TestXUAMintRoundTrip(t *testing.T) {
	for _, tc := range []struct {
		name string
		p    func() *trust.Principal
	}{
		{"health worker, full attestation", healthWorker},
		{"health worker, point of care is the legal entity", func() *trust.Principal {
			p := healthWorker()
			p.PointOfCare = p.LegalEntity
			p.Department = trust.Identifier{}
			p.Patients[0].PointOfCare, p.Patients[0].Department = trust.Identifier{}, trust.Identifier{}
			p.PurposeOfUseDetails = trust.Coding{}
			p.DecisionRef = trust.DecisionRef{ID: "07b4b65f-a2f5-4b8a-9b2c-3d1f1c8e0a11"}
			return p
		}},
		{"health worker, no healthcare service", func() *trust.Principal {
			p := healthWorker()
			p.HealthcareService = trust.Coding{}
			return p
		}},
		{"citizen", citizen},
	} {
		t.Run(tc.name, func(t *testing.T) {
			in := tc.p()
			a, err := minter(mintNow).Mint(in, mintAudience)
			if err != nil {
				t.Fatal(err)
			}
			got, err := mintVerifier(t, mintNow.Add(time.Minute)).Verify(t.Context(), onWire(t, a, mintNow))
			if err != nil {
				t.Fatalf("the verifier refused a minted assertion: %v", err)
			}
			want := *in
			want.Credential = trust.CredentialXUASAML
			want.Issuer = mintIssuer
			want.TokenID = a.SelectAttrValue("ID", "")
			want.IssuedAt = mintNow
			want.ExpiresAt = mintNow.Add(trust.MaxXUALifetime)
			want.HomeCommunityID = "2.16.578.1.12.4.1.7.1.1"
			want.Client = trust.Client{ID: in.Client.ID} // the client's name is not carried
			if in.Kind == trust.HealthWorker {
				want.AttestedAt = mintNow
			} else {
				want.HomeCommunityID = mintHome
				want.PurposeOfUse = trust.Coding{Code: trust.PurposeCitizen, System: "urn:oid:1.0.14265.1", Text: "Subject of care uses"}
				want.Patients = []trust.AttestedPatient{{Identifier: trust.Identifier{ID: in.Subject, System: "urn:oid:2.16.578.1.12.4.1.4.1"}}}
				want.LegalEntity.System = "urn:oid:2.16.578.1.12.4.1.4.101"
			}
			comparePrincipal(t, got, &want)
		})
	}
}

// comparePrincipal compares field by field, so that a dropped element is
// named.
func comparePrincipal(t *testing.T, got, want *trust.Principal) {
	t.Helper()
	eq := func(name string, g, w any) {
		t.Helper()
		if g != w {
			t.Errorf("%s: got %#v, want %#v", name, g, w)
		}
	}
	ident := func(name string, g, w trust.Identifier) {
		t.Helper()
		if g.ID != w.ID || !trust.SameSystem(g.System, w.System) || g.Name != w.Name {
			t.Errorf("%s: got %+v, want %+v", name, g, w)
		}
	}
	coding := func(name string, g, w trust.Coding) {
		t.Helper()
		if g.Code != w.Code || !trust.SameSystem(g.System, w.System) || g.Text != w.Text {
			t.Errorf("%s: got %+v, want %+v", name, g, w)
		}
	}
	eq("Credential", got.Credential, want.Credential)
	eq("Kind", got.Kind, want.Kind)
	eq("Issuer", got.Issuer, want.Issuer)
	eq("TokenID", got.TokenID, want.TokenID)
	eq("IssuedAt", got.IssuedAt, want.IssuedAt)
	eq("ExpiresAt", got.ExpiresAt, want.ExpiresAt)
	eq("Subject", got.Subject, want.Subject)
	eq("Name", got.Name, want.Name)
	eq("HPRNumber", got.HPRNumber, want.HPRNumber)
	coding("Authorization", got.Authorization, want.Authorization)
	eq("SecurityLevel", got.SecurityLevel, want.SecurityLevel)
	ident("LegalEntity", got.LegalEntity, want.LegalEntity)
	ident("PointOfCare", got.PointOfCare, want.PointOfCare)
	ident("Department", got.Department, want.Department)
	coding("PurposeOfUse", got.PurposeOfUse, want.PurposeOfUse)
	coding("PurposeOfUseDetails", got.PurposeOfUseDetails, want.PurposeOfUseDetails)
	coding("HealthcareService", got.HealthcareService, want.HealthcareService)
	eq("DecisionRef", got.DecisionRef, want.DecisionRef)
	eq("AttestedAt", got.AttestedAt, want.AttestedAt)
	eq("HasAttestation", got.HasAttestation, want.HasAttestation)
	eq("HomeCommunityID", got.HomeCommunityID, want.HomeCommunityID)
	eq("Client", got.Client, want.Client)
	eq("Scopes", strings.Join(got.Scopes, " "), strings.Join(want.Scopes, " "))
	if len(got.Patients) != len(want.Patients) {
		t.Fatalf("Patients: got %+v, want %+v", got.Patients, want.Patients)
	}
	for i := range want.Patients {
		ident("Patients.Identifier", got.Patients[i].Identifier, want.Patients[i].Identifier)
		ident("Patients.PointOfCare", got.Patients[i].PointOfCare, want.Patients[i].PointOfCare)
		ident("Patients.Department", got.Patients[i].Department, want.Patients[i].Department)
	}
}

// TestXUAMintShape: the assertion mirrors S-KJ38 — the Signature right
// after Issuer, exclusive C14N and RSA-SHA256, NHN's attribute names in
// its order with its duplicates, one audience, bearer confirmation.
func TestXUAMintShape(t *testing.T) {
	a, err := minter(mintNow).Mint(healthWorker(), mintAudience)
	if err != nil {
		t.Fatal(err)
	}
	var tags []string
	for _, c := range a.ChildElements() {
		tags = append(tags, c.Tag)
	}
	if got := strings.Join(tags, ","); got != "Issuer,Signature,Subject,Conditions,AttributeStatement,AuthnStatement" {
		t.Errorf("children: %s", got)
	}
	d := etree.NewDocument()
	d.SetRoot(a.Copy())
	sig, _ := d.WriteToString()
	for _, want := range []string{
		`Algorithm="http://www.w3.org/2001/10/xml-exc-c14n#"`,
		`Algorithm="http://www.w3.org/2001/04/xmldsig-more#rsa-sha256"`,
		`Method="urn:oasis:names:tc:SAML:2.0:cm:bearer"`,
		`<saml:Audience>` + mintAudience + `</saml:Audience>`,
		`29698496140^^^&amp;2.16.578.1.12.4.1.4.1&amp;ISO`, // escaped once, not NHN's twice
	} {
		if !strings.Contains(sig, want) {
			t.Errorf("assertion lacks %s", want)
		}
	}
	var names []string
	for _, at := range a.FindElements("./AttributeStatement/Attribute") {
		names = append(names, at.SelectAttrValue("Name", ""))
	}
	skj38 := []string{
		"urn:oasis:names:tc:xspa:1.0:subject:subject-id", "urn:oasis:names:tc:xspa:1.0:subject:role",
		"urn:no:ehelse:saml:1.0:subject:homeCommunityId", "urn:oasis:names:tc:xspa:2.0:subject:npi",
		"urn:oasis:names:tc:xspa:1.0:subject:purposeOfUse", "urn:oasis:names:tc:xacml:2.0:resource:resource-id",
		"urn:no:ehelse:saml:1.0:subject:SecurityLevel", "urn:no:ehelse:saml:1.0:subject:Scope",
		"urn:no:ehelse:saml:1.0:subject:Authentication_method", "urn:oasis:names:tc:xacml:1.0:subject:subject-id",
		"urn:oasis:names:tc:xspa:1.0:subject:organization", "urn:oasis:names:tc:xspa:1.0:subject:organization-id",
		"urn:oasis:names:tc:xspa:1.0:subject:child-organization", "urn:oasis:names:tc:xacml:2.0:subject:role",
		"urn:ihe:iti:xca:2010:homeCommunityId", "urn:oasis:names:tc:xspa:1.0:subject:npi",
		"urn:ihe:iti:xua:2017:subject:provider-identifier", "urn:oasis:names:tc:xacml:1.0:resource:resource-id",
		"urn:no:ehelse:saml:1.0:subject:client_id", "urn:nhn:trust-framework:1.0:ext:subject:child-organization-name",
		"urn:oasis:names:tc:xacml:2.0:action:purpose", "urn:nhn:trust-framework:1.0:ext:care-relationship:healthcare-service",
		"urn:nhn:trust-framework:1.0:ext:care-relationship:decision-ref", "urn:ihe:iti:xua:2012:acp",
		"urn:ihe:iti:bppc:2007:docid",
	}
	if len(names) < len(skj38) || strings.Join(names[:len(skj38)], "\n") != strings.Join(skj38, "\n") {
		t.Errorf("attributes are not S-KJ38's in its order:\n%s", strings.Join(names, "\n"))
	}
}

// TestXUAMintLifetime: NotOnOrAfter = min(now+5 min, toa+60 min, token
// expiry); nothing is minted past any of them.
func TestXUAMintLifetime(t *testing.T) {
	for _, tc := range []struct {
		name   string
		mutate func(p *trust.Principal)
		want   time.Time
		err    error
	}{
		{"five minutes", func(*trust.Principal) {}, mintNow.Add(5 * time.Minute), nil},
		{"attestation ends first", func(p *trust.Principal) { p.AttestedAt = mintNow.Add(-58 * time.Minute) }, mintNow.Add(2 * time.Minute), nil},
		{"token ends first", func(p *trust.Principal) { p.ExpiresAt = mintNow.Add(90 * time.Second) }, mintNow.Add(90 * time.Second), nil},
		{"attestation expired", func(p *trust.Principal) { p.AttestedAt = mintNow.Add(-61 * time.Minute) }, time.Time{}, trust.ErrMintExpired},
		{"token expired", func(p *trust.Principal) { p.ExpiresAt = mintNow }, time.Time{}, trust.ErrMintExpired},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p := healthWorker()
			tc.mutate(p)
			a, err := minter(mintNow).Mint(p, mintAudience)
			if tc.err != nil {
				if !errors.Is(err, tc.err) {
					t.Fatalf("err = %v, want %v", err, tc.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			got := a.FindElement("./Conditions").SelectAttrValue("NotOnOrAfter", "")
			if got != tc.want.Format("2006-01-02T15:04:05.000Z") {
				t.Errorf("NotOnOrAfter = %s, want %s", got, tc.want)
			}
		})
	}
}

// TestXUAMintRefuses: principals that get no assertion.
func TestXUAMintRefuses(t *testing.T) {
	for _, tc := range []struct {
		name string
		p    *trust.Principal
		err  error
	}{
		{"mTLS system (the hop uses mutual TLS)", &trust.Principal{Kind: trust.System, Credential: trust.CredentialMTLS}, trust.ErrMintSystem},
		{"dev loopback system", &trust.Principal{Kind: trust.System, Credential: trust.CredentialDevLoopback}, trust.ErrMintSystem},
		{"client credentials", &trust.Principal{Kind: trust.ClientCredentials, Credential: trust.CredentialHelseIDDPoP}, trust.ErrMintNotPerson},
		{"compliance", &trust.Principal{Kind: trust.Compliance, Subject: "06828399789"}, trust.ErrMintNotPerson},
		{"health worker without attestation", func() *trust.Principal { p := healthWorker(); p.HasAttestation = false; return p }(), trust.ErrMintNotPerson},
		{"nil", nil, trust.ErrMintNotPerson},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if _, err := minter(mintNow).Mint(tc.p, mintAudience); !errors.Is(err, tc.err) {
				t.Fatalf("err = %v, want %v", err, tc.err)
			}
		})
	}
}

// TestXUAMintRejections: the responding side refuses a minted assertion
// for another audience, from another issuer, after its lifetime, signed by
// an untrusted key, or re-indented after signing.
func TestXUAMintRejections(t *testing.T) {
	for _, tc := range []struct {
		name  string
		mint  func() *etree.Element
		at    time.Time
		kind  trust.Kind
		wrap  func(*etree.Element) *etree.Element
		other bool
	}{
		{name: "another audience", kind: trust.KindSAMLAudience, mint: func() *etree.Element {
			a, _ := minter(mintNow).Mint(healthWorker(), "urn:oid:9.9.9")
			return a
		}},
		{name: "another issuer", kind: trust.KindSAMLIssuer, mint: func() *etree.Element {
			m := minter(mintNow)
			m.Issuer = "https://elsewhere.test"
			a, _ := m.Mint(healthWorker(), mintAudience)
			return a
		}},
		{name: "expired", kind: trust.KindSAMLExpired, at: mintNow.Add(6 * time.Minute), mint: func() *etree.Element {
			a, _ := minter(mintNow).Mint(healthWorker(), mintAudience)
			return a
		}},
		{name: "untrusted key", kind: trust.KindSAMLUntrustedCert, mint: func() *etree.Element {
			m := minter(mintNow)
			s := testSigners()[1]
			m.Signer = &trust.SAMLSigner{Key: s.key, Cert: s.cert}
			a, _ := m.Mint(healthWorker(), mintAudience)
			return a
		}},
		{name: "re-indented after signing", kind: trust.KindSAMLSignature, mint: func() *etree.Element {
			a, _ := minter(mintNow).Mint(healthWorker(), mintAudience)
			d := etree.NewDocument()
			d.SetRoot(a)
			d.Indent(2)
			return d.Root()
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			a := tc.mint()
			if a == nil {
				t.Fatal("nothing minted")
			}
			at := tc.at
			if at.IsZero() {
				at = mintNow.Add(time.Minute)
			}
			_, err := mintVerifier(t, at).Verify(t.Context(), onWire(t, a, mintNow))
			var te *trust.Error
			if !errors.As(err, &te) || te.Kind != tc.kind {
				t.Fatalf("err = %v, want kind %v", err, tc.kind)
			}
		})
	}
}

// TestXUAMintGolden pins the attributes a minted assertion carries (names,
// order, values), for a health worker and a citizen.
func TestXUAMintGolden(t *testing.T) {
	for name, p := range map[string]*trust.Principal{"xua_minted_health_worker.json": healthWorker(), "xua_minted_citizen.json": citizen()} {
		a, err := minter(mintNow).Mint(p, mintAudience)
		if err != nil {
			t.Fatal(err)
		}
		var attrs [][2]string
		for _, at := range a.FindElements("./AttributeStatement/Attribute") {
			v := at.SelectElement("AttributeValue")
			val := v.Text()
			if v.SelectAttr("xsi:nil") != nil {
				val = "xsi:nil"
			}
			attrs = append(attrs, [2]string{at.SelectAttrValue("Name", ""), val})
		}
		golden(t, name, attrs)
	}
}
