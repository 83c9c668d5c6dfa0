package oid_test

import (
	"testing"

	"pjd/registry/oid"
)

func TestValid(t *testing.T) {
	for _, c := range []struct {
		s    string
		want bool
	}{
		{oid.FNR, true}, {"1.2", true}, {"0.0", true}, {"2.999.578.10.2.2", true},
		{"", false}, {"1", false}, {"1.", false}, {"3.1", false}, {"1..2", false}, {"1.02", false},
		{"1.2.", false}, {".1.2", false}, {"01.2", false}, {"1.2a", false}, {"urn:oid:1.2", false}, {"1.20", true},
	} {
		if got := oid.Valid(c.s); got != c.want {
			t.Errorf("Valid(%q) = %v, want %v", c.s, got, c.want)
		}
	}
}

func TestURNAndBare(t *testing.T) {
	for _, c := range []struct{ in, urn, bare string }{
		{oid.FNR, "urn:oid:" + oid.FNR, oid.FNR},
		{"urn:oid:" + oid.HPR, "urn:oid:" + oid.HPR, oid.HPR},
		{"URN:OID:" + oid.HPR, "URN:OID:" + oid.HPR, oid.HPR},
		{"http://loinc.org", "http://loinc.org", "http://loinc.org"},
		{"", "", ""},
	} {
		if got := oid.URN(c.in); got != c.urn {
			t.Errorf("URN(%q) = %q, want %q", c.in, got, c.urn)
		}
		if got := oid.Bare(c.in); got != c.bare {
			t.Errorf("Bare(%q) = %q, want %q", c.in, got, c.bare)
		}
	}
}

func TestNationalID(t *testing.T) {
	for _, c := range []struct{ nin, want string }{
		{"13915810033", oid.FNR}, // synthetic (month + 80)
		{"01010112345", oid.FNR},
		{"41010112345", oid.DNR}, // day + 40
		{"71010112345", oid.DNR},
		{"01410112345", oid.HNR}, // month + 40
		{"01510112345", oid.HNR},
		{"0101011234", oid.FNR}, // not 11 digits
	} {
		if got := oid.NationalID(c.nin); got != c.want {
			t.Errorf("NationalID(%s) = %s, want %s", c.nin, got, c.want)
		}
	}
}
