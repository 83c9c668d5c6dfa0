package registry

import (
	"context"
	"errors"
	"pjd/registry/oid"
	"testing"
)

// The numbers below were computed with an independent implementation of
// the check-digit rules (not with this package). None can be a real
// person: they are synthetic (month + 80 / + 65) or born in 2033–2039.
const (
	fnrFuture   = "01013950187" // 01.01.2039, individual 501
	dnrFuture   = "41013950170" // D-nr: day + 40
	hnrFuture   = "01413950089" // H-nr: month + 40
	fnrSyn80    = "15817510067" // Test-Norge synthetic, 15.01.1975
	fnrSyn65    = "15667510020" // NHN synthetic, 15.01.1975
	dnrSyn80    = "55817510050" // synthetic D-nr
	feb29y2024  = "29822450073" // 29.02.2024 (synthetic), leap year
	feb29y2023  = "29822350052" // 29.02.2023: not a date
	feb29y1900  = "29820010092" // 29.02.00 with individual 100 → 1900: not a leap year
	feb29y2000  = "29820050043" // 29.02.00 with individual 500 → 2000: leap year
	new2032r2   = "01013350007" // 2032 scheme: first check digit remainder 2
	new2032r3   = "01013350015" // remainder 3
	badR5       = "01013350031" // remainder 5: invalid under both schemes
	badK2       = "01013950180" // fnrFuture with a wrong second check digit
	badMonth13  = "01133950024"
	badDay32    = "32013950058"
	badFeb30    = "30822450012"
	tooShort    = "0101395018"
	notAllDigit = "0101395018X"
)

func TestValidNorwegianID(t *testing.T) {
	tests := []struct {
		name      string
		id        string
		kind      string // "" = invalid
		synthetic bool
	}{
		{"F-nr", fnrFuture, KindFnr, false},
		{"D-nr day+40", dnrFuture, KindDnr, false},
		{"H-nr month+40", hnrFuture, KindHnr, false},
		{"synthetic month+80", fnrSyn80, KindFnr, true},
		{"synthetic month+65", fnrSyn65, KindFnr, true},
		{"synthetic D-nr", dnrSyn80, KindDnr, true},
		{"29 Feb in a leap year", feb29y2024, KindFnr, true},
		{"29 Feb 2000 (individual 500-999)", feb29y2000, KindFnr, true},
		{"2032 rule remainder 2", new2032r2, KindFnr, false},
		{"2032 rule remainder 3", new2032r3, KindFnr, false},
		{"bad first check digit", badR5, "", false},
		{"bad second check digit", badK2, "", false},
		{"29 Feb in a common year", feb29y2023, "", false},
		{"29 Feb 1900 (individual 000-499)", feb29y1900, "", false},
		{"30 Feb", badFeb30, "", false},
		{"month 13", badMonth13, "", false},
		{"day 32", badDay32, "", false},
		{"10 digits", tooShort, "", false},
		{"not digits", notAllDigit, "", false},
		{"empty", "", "", false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			kind, err := ValidNorwegianID(tc.id)
			if tc.kind == "" {
				if !errors.Is(err, ErrInvalidNorwegianID) {
					t.Fatalf("ValidNorwegianID(%q) = %q, %v; want ErrInvalidNorwegianID", tc.id, kind, err)
				}
				return
			}
			if err != nil || kind != tc.kind {
				t.Fatalf("ValidNorwegianID(%q) = %q, %v; want %q", tc.id, kind, err, tc.kind)
			}
			if got := IsSyntheticNorwegianID(tc.id); got != tc.synthetic {
				t.Errorf("IsSyntheticNorwegianID(%q) = %v, want %v", tc.id, got, tc.synthetic)
			}
		})
	}
}

func TestNorwegianPatientIDs(t *testing.T) {
	cx := func(id, oid string) string { return id + "^^^&" + oid + "&ISO" }
	tests := []struct {
		name           string
		cx             string
		allowSynthetic bool
		known          bool
	}{
		{"F-nr", cx(fnrFuture, oid.FNR), false, true},
		{"D-nr", cx(dnrFuture, oid.DNR), false, true},
		{"H-nr", cx(hnrFuture, oid.HNR), false, true},
		{"synthetic allowed", cx(fnrSyn80, oid.FNR), true, true},
		{"synthetic +65 allowed", cx(fnrSyn65, oid.FNR), true, true},
		{"synthetic refused", cx(fnrSyn80, oid.FNR), false, false},
		{"synthetic D-nr refused", cx(dnrSyn80, oid.DNR), false, false},
		{"F-nr under the D-nr OID", cx(fnrFuture, oid.DNR), false, false},
		{"D-nr under the F-nr OID", cx(dnrFuture, oid.FNR), false, false},
		{"H-nr under the F-nr OID", cx(hnrFuture, oid.FNR), false, false},
		{"foreign OID", cx(fnrFuture, "2.16.840.1.113883.4.1"), false, false},
		{"HPR OID", cx(fnrFuture, oid.HPR), false, false},
		{"bad check digit", cx(badK2, oid.FNR), true, false},
		{"not a date", cx(feb29y2023, oid.FNR), true, false},
		{"not ISO", fnrFuture + "^^^&" + oid.FNR + "&L", false, false},
		{"namespace id set", fnrFuture + "^^^NO&" + oid.FNR + "&ISO", false, false},
		{"no assigning authority", fnrFuture, false, false},
		{"empty", "", true, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			err := NorwegianPatientIDs{AllowSynthetic: tc.allowSynthetic}.CheckPatientID(context.Background(), tc.cx)
			if tc.known && err != nil {
				t.Fatalf("CheckPatientID(%q) = %v, want known", tc.cx, err)
			}
			if !tc.known && !errors.Is(err, ErrUnknownPatientID) {
				t.Fatalf("CheckPatientID(%q) = %v, want ErrUnknownPatientID", tc.cx, err)
			}
		})
	}
}

func TestSyntheticFnr(t *testing.T) {
	seen := map[string]int{}
	for _, i := range []int{0, 1, 2, 17, 365, 18249, 18250, 18251, 36500, 99999} {
		id := SyntheticFnr(i)
		kind, err := ValidNorwegianID(id)
		if err != nil || kind != KindFnr || !IsSyntheticNorwegianID(id) {
			t.Errorf("SyntheticFnr(%d) = %s: kind %q, err %v, synthetic %v", i, id, kind, err, IsSyntheticNorwegianID(id))
		}
		if prev, dup := seen[id]; dup {
			t.Errorf("SyntheticFnr(%d) = SyntheticFnr(%d) = %s", i, prev, id)
		}
		seen[id] = i
		if SyntheticFnr(i) != id {
			t.Errorf("SyntheticFnr(%d) is not deterministic", i)
		}
	}
	if err := (NorwegianPatientIDs{AllowSynthetic: true}).CheckPatientID(context.Background(), SamplePatientID(3)); err != nil {
		t.Errorf("SamplePatientID(3) = %s: %v", SamplePatientID(3), err)
	}
}

func TestNorwegianIDCheckDigits(t *testing.T) {
	// Worked by hand: 0·3+1·7+8·6+1·1+7·8+5·9+1·4+2·5+4·2 = 179, 179 mod 11
	// = 3, k1 = 8; 0·5+1·4+8·3+1·2+7·7+5·6+1·5+2·4+4·3+8·2 = 150, 150 mod 11
	// = 7, k2 = 4. With individual number 123 the first sum is 177 → k1 = 10:
	// no valid number.
	for _, c := range []struct {
		d9, want string // want "": no valid number
	}{
		{"018175124", "01817512484"},
		{"018175123", ""},
		{fnrFuture[:9], fnrFuture},
		{fnrSyn80[:9], fnrSyn80},
		{dnrSyn80[:9], dnrSyn80},
		{"01817512", ""},   // eight digits
		{"0181751240", ""}, // ten digits
		{"01817512X", ""},
		{"", ""},
	} {
		id, ok := NorwegianIDWithCheckDigits(c.d9)
		if ok != (c.want != "") || id != c.want {
			t.Errorf("NorwegianIDWithCheckDigits(%q) = %q, %v; want %q", c.d9, id, ok, c.want)
		}
	}
	for _, c := range []struct {
		id    string
		valid bool
	}{
		{fnrFuture, true}, {dnrFuture, true}, {hnrFuture, true}, {fnrSyn65, true},
		{new2032r2, true}, {new2032r3, true},
		// Check digits alone: a date that does not exist still passes.
		{feb29y2023, true}, {badMonth13, true}, {badDay32, true},
		{badR5, false}, {badK2, false}, {tooShort, false}, {notAllDigit, false}, {"", false},
	} {
		if got := NorwegianIDCheckDigitsValid(c.id); got != c.valid {
			t.Errorf("NorwegianIDCheckDigitsValid(%q) = %v, want %v", c.id, got, c.valid)
		}
	}
	for _, c := range []struct {
		day, month, yy, ind int
		want                string
	}{
		{15, 1, 75, 100, fnrSyn80},
		{55, 1, 75, 100, dnrSyn80}, // D-nr: day + 40
	} {
		if id, ok := SyntheticNorwegianID(c.day, c.month, c.yy, c.ind); !ok || id != c.want {
			t.Errorf("SyntheticNorwegianID(%d, %d, %d, %d) = %q, %v; want %q", c.day, c.month, c.yy, c.ind, id, ok, c.want)
		}
	}
	for _, bad := range [][4]int{{0, 1, 75, 100}, {72, 1, 75, 100}, {15, 0, 75, 100}, {15, 13, 75, 100}, {15, 1, -1, 100}, {15, 1, 100, 100}, {15, 1, 75, -1}, {15, 1, 75, 1000}} {
		if id, ok := SyntheticNorwegianID(bad[0], bad[1], bad[2], bad[3]); ok {
			t.Errorf("SyntheticNorwegianID(%v) = %q, want out of range", bad, id)
		}
	}
}
