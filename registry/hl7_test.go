package registry

import (
	"errors"
	"pjd/registry/oid"
	"reflect"
	"testing"
)

func TestParseCX(t *testing.T) {
	tests := []struct {
		in   string
		want CX
	}{
		{"15817510067^^^&2.16.578.1.12.4.1.4.1&ISO",
			CX{ID: "15817510067", AssigningAuthority: HD{UniversalID: "2.16.578.1.12.4.1.4.1", UniversalIDType: "ISO"}}},
		{"abc", CX{ID: "abc"}},
		{"ref-1^^^&1.2.3&ISO^urn:ihe:iti:xds:2015:encounterId",
			CX{ID: "ref-1", AssigningAuthority: HD{UniversalID: "1.2.3", UniversalIDType: "ISO"}, IdentifierTypeCode: "urn:ihe:iti:xds:2015:encounterId"}},
		{"ref-2^^^NS^urn:x:type^&1.2.4&ISO^20240101",
			CX{ID: "ref-2", AssigningAuthority: HD{NamespaceID: "NS"}, IdentifierTypeCode: "urn:x:type",
				AssigningFacility: HD{UniversalID: "1.2.4", UniversalIDType: "ISO"}, Rest: []string{"20240101"}}},
		{`a\S\b^^^&1.2&ISO`, CX{ID: "a^b", AssigningAuthority: HD{UniversalID: "1.2", UniversalIDType: "ISO"}}},
		{`x^^^N\T\S&1.2&ISO`, CX{ID: "x", AssigningAuthority: HD{NamespaceID: "N&S", UniversalID: "1.2", UniversalIDType: "ISO"}}},
	}
	for _, tc := range tests {
		got, err := ParseCX(tc.in)
		if err != nil {
			t.Errorf("ParseCX(%q): %v", tc.in, err)
			continue
		}
		if !reflect.DeepEqual(got, tc.want) {
			t.Errorf("ParseCX(%q) = %+v, want %+v", tc.in, got, tc.want)
		}
		if s := got.String(); s != tc.in {
			t.Errorf("ParseCX(%q).String() = %q", tc.in, s)
		}
	}
	for _, bad := range []string{"", "a^b^c^d^e^f^g^h^i^j^k", "a^^^x&y&z&w"} {
		if _, err := ParseCX(bad); !errors.Is(err, ErrFormat) {
			t.Errorf("ParseCX(%q) error = %v, want ErrFormat", bad, err)
		}
	}
	if s := NewPatientCX("15817510067", oid.FNR).String(); s != "15817510067^^^&2.16.578.1.12.4.1.4.1&ISO" {
		t.Errorf("NewPatientCX = %q", s)
	}
}

func TestCheckPatientIDFormat(t *testing.T) {
	tests := []struct {
		in string
		ok bool
	}{
		{"15817510067^^^&2.16.578.1.12.4.1.4.1&ISO", true},
		{"593603^^^&2.16.756.5.33.2.5.1.5.1&ISO", true},
		{"15817510067", false},                                         // no authority
		{"^^^&2.16.578.1.12.4.1.4.1&ISO", false},                       // no id
		{"15817510067^^^&2.16.578.1.12.4.1.4.1&L", false},              // not ISO
		{"15817510067^^^&not-an-oid&ISO", false},                       // not an OID
		{"15817510067^^^FNR&2.16.578.1.12.4.1.4.1&ISO", false},         // namespace id
		{"15817510067^1^M11^&2.16.578.1.12.4.1.4.1&ISO", false},        // check digit
		{"15817510067^^^&2.16.578.1.12.4.1.4.1&ISO^PI", false},         // CX.5
		{"'593603^^^&2.16.756.5.33.2.5.1.5.1&ISO'%20and%201=1", false}, // injection-like
	}
	for _, tc := range tests {
		err := CheckPatientIDFormat(tc.in)
		if (err == nil) != tc.ok {
			t.Errorf("CheckPatientIDFormat(%q) = %v, want ok=%v", tc.in, err, tc.ok)
		}
	}
}

func TestCheckCXi(t *testing.T) {
	tests := []struct {
		in string
		ok bool
	}{
		{"enc-1^^^&1.2.3&ISO^urn:ihe:iti:xds:2015:encounterId", true},
		{"order-1^^^LAB^urn:ihe:iti:xds:2013:order", true},
		{"ref^^^^urn:ihe:iti:xds:2013:accession", true},
		{"ref^^^&1.2.3&ISO", false},                         // no id type
		{"^^^&1.2.3&ISO^urn:ihe:iti:xds:2013:order", false}, // no id
		{"ref^^^&bad&ISO^urn:ihe:iti:xds:2013:order", false},
	}
	for _, tc := range tests {
		if err := CheckCXi(tc.in); (err == nil) != tc.ok {
			t.Errorf("CheckCXi(%q) = %v, want ok=%v", tc.in, err, tc.ok)
		}
	}
}

func TestXCN(t *testing.T) {
	in := "100000001^Testlege^Kari^^^^^^&2.16.578.1.12.4.1.4.4&ISO"
	x, err := ParseXCN(in)
	if err != nil {
		t.Fatal(err)
	}
	want := XCN{ID: "100000001", FamilyName: "Testlege", GivenName: "Kari",
		AssigningAuthority: HD{UniversalID: oid.HPR, UniversalIDType: "ISO"}}
	if !reflect.DeepEqual(x, want) {
		t.Errorf("ParseXCN = %+v, want %+v", x, want)
	}
	if x.String() != in {
		t.Errorf("String() = %q, want %q", x.String(), in)
	}
	// Family name subcomponents are kept literally.
	if x, _ := ParseXCN("^Nordmann&van^Ola"); x.FamilyName != "Nordmann&van" || x.String() != "^Nordmann&van^Ola" {
		t.Errorf("FN subcomponents: %+v %q", x, x.String())
	}
	tests := []struct {
		in string
		ok bool
	}{
		{in, true},
		{"^Nordmann^Ola", true},               // name only (IPF)
		{"100000001", true},                   // id only
		{"^^Ola", false},                      // neither id nor family name
		{"^Nordmann^^^^^^^&1.2.3&ISO", false}, // authority without id
		{"1^Nordmann^^^^^^^&1.2.3&L", false},  // authority not ISO
		{"", false},
	}
	for _, tc := range tests {
		if err := CheckXCN(tc.in); (err == nil) != tc.ok {
			t.Errorf("CheckXCN(%q) = %v, want ok=%v", tc.in, err, tc.ok)
		}
	}
}

func TestXON(t *testing.T) {
	in := "Syntetisk sykehus HF^^^^^&2.16.578.1.12.4.1.4.101&ISO^^^^991919198"
	x, err := ParseXON(in)
	if err != nil {
		t.Fatal(err)
	}
	want := XON{OrganizationName: "Syntetisk sykehus HF", AssigningAuthority: HD{UniversalID: oid.OrgNr, UniversalIDType: "ISO"},
		OrganizationIdentifier: "991919198"}
	if !reflect.DeepEqual(x, want) || x.String() != in {
		t.Errorf("ParseXON = %+v (%q), want %+v", x, x.String(), want)
	}
	tests := []struct {
		in string
		ok bool
	}{
		{in, true},
		{"Medisinsk avdeling^^^^^&2.16.578.1.12.4.1.4.102&ISO^^^^4213001", true},
		{"Legekontoret", true},
		{"Legekontoret^^^^^^^^^1.2.3.4", true},    // XON.10 an OID, no authority
		{"Legekontoret^^^^^^^^^991919198", false}, // XON.10 not an OID without authority
		{"^^^^^&2.16.578.1.12.4.1.4.101&ISO^^^^991919198", false},
		{"Legekontoret^L^^^^&2.16.578.1.12.4.1.4.101&ISO", false}, // XON.2
		{"Legekontoret^^^^^&2.16.578.1.12.4.1.4.101&XX^^^^1", false},
	}
	for _, tc := range tests {
		if err := CheckXON(tc.in); (err == nil) != tc.ok {
			t.Errorf("CheckXON(%q) = %v, want ok=%v", tc.in, err, tc.ok)
		}
	}
}

func TestXTN(t *testing.T) {
	in := "^NET^Internet^kari.testlege@example.no"
	x, err := ParseXTN(in)
	if err != nil {
		t.Fatal(err)
	}
	if x.Email != "kari.testlege@example.no" || x.UseCode != "NET" || x.String() != in {
		t.Errorf("ParseXTN = %+v (%q)", x, x.String())
	}
	tests := []struct {
		in string
		ok bool
	}{
		{in, true},
		{"^^Internet^a@b.no", true},
		{"^WPN^PH^^47^^22334455", true},
		{"^PRN^CP^^^^^^^^^+4799999999", true},
		{"^WPN^PH", false}, // no number
		{"^NET^Internet^not-an-email", false},
		{"^WPN^Internet^a@b.no", false}, // wrong use code
		{"^NET^^a@b.no", false},         // no equipment type
		{"^NET^Pager^a@b.no", false},
	}
	for _, tc := range tests {
		if err := CheckXTN(tc.in); (err == nil) != tc.ok {
			t.Errorf("CheckXTN(%q) = %v, want ok=%v", tc.in, err, tc.ok)
		}
	}
}

func TestHL7Escapes(t *testing.T) {
	x := XCN{ID: `a|b`, FamilyName: `O^Brien`, GivenName: `x\y`, FurtherGivenNames: "r~s"}
	s := x.String()
	if s != `a\F\b^O\S\Brien^x\E\y^r\R\s` {
		t.Fatalf("String() = %q", s)
	}
	back, err := ParseXCN(s)
	if err != nil || !reflect.DeepEqual(back, x) {
		t.Fatalf("round trip = %+v, %v", back, err)
	}
}

func TestOID(t *testing.T) {
	tests := []struct {
		in string
		ok bool
	}{
		{"2.16.578.1.12.4.1.4.1", true},
		{"1.3.6.1.4.1.19376.1.2.3", true},
		{"0.1", true},
		{"2.999", true},
		{"3.1", false},
		{"2.016", false},
		{"2", false},
		{"2..1", false},
		{"2.1.", false},
		{"urn:oid:2.1", false},
		{"2.1." + "1234567890.1234567890.1234567890.1234567890.1234567890.123456", false}, // 65 characters
		{"", false},
	}
	for _, tc := range tests {
		if got := ValidOID(tc.in); got != tc.ok {
			t.Errorf("ValidOID(%q) = %v", tc.in, got)
		}
		if err := CheckOID(tc.in); (err == nil) != tc.ok {
			t.Errorf("CheckOID(%q) = %v", tc.in, err)
		}
	}
}

// TestParsePartsWithError: on a structure error every Parse function
// still returns the parts it could read (what a renderer shows).
func TestParsePartsWithError(t *testing.T) {
	aa := HD{NamespaceID: "x", UniversalID: "1.2", UniversalIDType: "ISO"}
	if h, err := ParseHD("x&1.2&ISO&extra"); !errors.Is(err, ErrFormat) || h != aa {
		t.Errorf("ParseHD: %+v, %v", h, err)
	}
	if c, err := ParseCX("id^^^x&1.2&ISO&extra^T"); !errors.Is(err, ErrFormat) || c.ID != "id" || c.AssigningAuthority != aa || c.IdentifierTypeCode != "T" {
		t.Errorf("ParseCX (bad CX.4): %+v, %v", c, err)
	}
	if c, err := ParseCX("id^^^&1.2&ISO^T^^7^8^9^10^11"); !errors.Is(err, ErrFormat) || c.ID != "id" || c.AssigningAuthority.UniversalID != "1.2" || c.IdentifierTypeCode != "T" {
		t.Errorf("ParseCX (11 components): %+v, %v", c, err)
	}
	if x, err := ParseXCN(`1^Fam\T\ily^Given^^^^^^x&1.2&ISO&extra`); !errors.Is(err, ErrFormat) || x.ID != "1" || x.FamilyName != "Fam&ily" || x.GivenName != "Given" || x.AssigningAuthority != aa {
		t.Errorf("ParseXCN: %+v, %v", x, err)
	}
	if x, err := ParseXON("Org^^^^^x&1.2&ISO&extra^^^^99"); !errors.Is(err, ErrFormat) || x.OrganizationName != "Org" || x.AssigningAuthority != aa || x.OrganizationIdentifier != "99" {
		t.Errorf("ParseXON: %+v, %v", x, err)
	}
	if x, err := ParseXTN("^WPN^PH^^^^22^^^^^^13"); !errors.Is(err, ErrFormat) || x.UseCode != "WPN" || x.LocalNumber != "22" {
		t.Errorf("ParseXTN: %+v, %v", x, err)
	}
	for _, f := range []func(string) error{
		func(s string) error { _, err := ParseCX(s); return err },
		func(s string) error { _, err := ParseXCN(s); return err },
		func(s string) error { _, err := ParseXON(s); return err },
		func(s string) error { _, err := ParseXTN(s); return err },
	} {
		if err := f("^^^"); !errors.Is(err, ErrFormat) {
			t.Errorf("no component set: %v", err)
		}
	}
}

func TestHL7EscapeUnescape(t *testing.T) {
	for in, want := range map[string]string{
		"":              "",
		"plain":         "plain",
		`a|b^c&d~e\f`:   `a\F\b\S\c\T\d\R\e\E\f`,
		"Hansen & Co":   `Hansen \T\ Co`,
		`\S\ as text`:   `\E\S\E\ as text`,
		"ÆØÅ æøå":       "ÆØÅ æøå",
		"^^":            `\S\\S\`,
		"trailing\\":    `trailing\E\`,
		"&leading":      `\T\leading`,
		"mid~dle|":      `mid\R\dle\F\`,
		"no delimiters": "no delimiters",
	} {
		got := HL7Escape(in)
		if got != want {
			t.Errorf("HL7Escape(%q) = %q, want %q", in, got, want)
		}
		if back := HL7Unescape(got); back != in {
			t.Errorf("HL7Unescape(%q) = %q, want %q", got, back, in)
		}
	}
	// Unknown or unfinished escapes stay as they are.
	for _, s := range []string{`\X\`, `\S`, `a\`, `\\`} {
		if got := HL7Unescape(s); got != s {
			t.Errorf("HL7Unescape(%q) = %q", s, got)
		}
	}
}
