package registry

import (
	"context"
	"errors"
	"fmt"
	"pjd/registry/oid"
)

// Norwegian person identifiers (reference/norway.md): fødselsnummer
// (F-nr), D-nummer and H-nummer, all 11 digits DDMMYY + individual number
// (3) + two check digits.

// Kinds returned by ValidNorwegianID.
const (
	KindFnr = "fnr"
	KindDnr = "dnr"
	KindHnr = "hnr"
)

var (
	// ErrInvalidNorwegianID is wrapped by every ValidNorwegianID error.
	ErrInvalidNorwegianID = errors.New("invalid Norwegian person identifier")
	// ErrUnknownPatientID is wrapped by a PatientIDChecker error that means
	// "this patient is not known" (XDSUnknownPatientId). Any other error
	// from a checker is an internal failure of the lookup.
	ErrUnknownPatientID = errors.New("unknown patient id")
)

var (
	weights1 = [9]int{3, 7, 6, 1, 8, 9, 4, 5, 2}
	weights2 = [10]int{5, 4, 3, 2, 7, 6, 5, 4, 3, 2}
)

type norwegianID struct {
	kind       string
	synthetic  bool
	newScheme  bool // k1 remainder 1–3: the 2032 rule
	day, month int
	yy         int
	individual int
}

func invalidNO(id, format string, args ...any) error {
	return fmt.Errorf("%w %q: %s", ErrInvalidNorwegianID, id, fmt.Sprintf(format, args...))
}

// checkSum is the weighted sum Σ w[i]·d[i] of the check-digit rules.
func checkSum(w, d []int) int {
	s := 0
	for i, x := range w {
		s += x * d[i]
	}
	return s
}

// parseDigits fills d from s when s is exactly len(d) decimal digits.
func parseDigits(s string, d []int) bool {
	if len(s) != len(d) {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
		d[i] = int(s[i] - '0')
	}
	return true
}

// checkRemainders returns the two check-digit remainders of an 11-digit
// identifier: r1 = (w1·d + k1) mod 11 and r2 = (w2·(d, k1) + k2) mod 11.
// The classic rule wants both 0; from 2032 r1 may be 0, 1, 2 or 3
// (Skatteetaten's new scheme; norway.md: validators should accept them).
func checkRemainders(d *[11]int) (r1, r2 int) {
	return (checkSum(weights1[:], d[:9]) + d[9]) % 11, (checkSum(weights2[:], d[:10]) + d[10]) % 11
}

// NorwegianIDCheckDigitsValid reports whether id is 11 digits with valid
// check digits (F-nr, D-nr and H-nr share them; the first-check-digit
// remainders 0–3 of the 2032 scheme are accepted). Unlike
// ValidNorwegianID it checks neither the date nor the kind.
func NorwegianIDCheckDigitsValid(id string) bool {
	var d [11]int
	if !parseDigits(id, d[:]) {
		return false
	}
	r1, r2 := checkRemainders(&d)
	return r1 <= 3 && r2 == 0
}

// NorwegianIDWithCheckDigits completes the first nine digits of a
// Norwegian person identifier (DDMMYY and the individual number) with the
// two check digits of the classic rule. ok is false when d9 is not nine
// digits or when a check digit would be 10 (no identifier starts so).
func NorwegianIDWithCheckDigits(d9 string) (id string, ok bool) {
	var d [10]int
	if !parseDigits(d9, d[:9]) {
		return "", false
	}
	k1 := (11 - checkSum(weights1[:], d[:9])%11) % 11
	if k1 == 10 {
		return "", false
	}
	d[9] = k1
	k2 := (11 - checkSum(weights2[:], d[:])%11) % 11
	if k2 == 10 {
		return "", false
	}
	return d9 + string(rune('0'+k1)) + string(rune('0'+k2)), true
}

// SyntheticNorwegianID returns the synthetic test number (Test-Norge
// style, month + 80) with day digits day (1–31, or + 40 for a D-nummer),
// month 1–12, two-digit year yy and individual number ind (0–999), with
// its check digits. ok is false when these are out of range or have no
// valid check digits (try the next individual number).
func SyntheticNorwegianID(day, month, yy, ind int) (id string, ok bool) {
	if day < 1 || day > 71 || month < 1 || month > 12 || yy < 0 || yy > 99 || ind < 0 || ind > 999 {
		return "", false
	}
	return NorwegianIDWithCheckDigits(fmt.Sprintf("%02d%02d%02d%03d", day, month+80, yy, ind))
}

func parseNorwegianID(id string) (norwegianID, error) {
	var n norwegianID
	if len(id) != 11 {
		return n, invalidNO(id, "want 11 digits")
	}
	var d [11]int
	if !parseDigits(id, d[:]) {
		return n, invalidNO(id, "not all digits")
	}
	// Check digits: the classic rule, or the 2032 scheme's first check
	// digit (see checkRemainders). The second check digit is unchanged.
	r1, r2 := checkRemainders(&d)
	if r1 > 3 {
		return n, invalidNO(id, "first check digit is wrong")
	}
	n.newScheme = r1 != 0
	if r2 != 0 {
		return n, invalidNO(id, "second check digit is wrong")
	}

	n.day = d[0]*10 + d[1]
	n.month = d[2]*10 + d[3]
	n.yy = d[4]*10 + d[5]
	n.individual = d[6]*100 + d[7]*10 + d[8]
	n.kind = KindFnr
	if d[0] >= 4 {
		n.kind = KindDnr
		n.day -= 40
	}
	switch {
	case n.month >= 41 && n.month <= 52:
		if n.kind == KindDnr {
			return n, invalidNO(id, "both D-nummer day and H-nummer month")
		}
		n.kind = KindHnr
		n.month -= 40
	case n.month >= 81 && n.month <= 92: // Test-Norge synthetic: month + 80
		n.synthetic = true
		n.month -= 80
	case n.month >= 66 && n.month <= 77: // NHN synthetic: month + 65
		n.synthetic = true
		n.month -= 65
	}
	if n.month < 1 || n.month > 12 {
		return n, invalidNO(id, "month %02d out of range", d[2]*10+d[3])
	}
	if n.day < 1 || n.day > 31 {
		return n, invalidNO(id, "day out of range")
	}
	ok := false
	for _, century := range n.centuries() {
		if n.day <= daysIn(century+n.yy, n.month) {
			ok = true
			break
		}
	}
	if !ok {
		return n, invalidNO(id, "%02d.%02d is not a date", n.day, n.month)
	}
	return n, nil
}

// centuries returns the possible centuries of the birth year. The classic
// individual-number table gives one; numbers issued under the 2032 scheme,
// and combinations the table does not define, may be any.
func (n norwegianID) centuries() []int {
	all := []int{1800, 1900, 2000}
	if n.newScheme {
		return all
	}
	i, yy := n.individual, n.yy
	switch {
	case i <= 499:
		return []int{1900}
	case i <= 749 && yy >= 54:
		return []int{1800}
	case i >= 500 && yy <= 39:
		return []int{2000}
	case i >= 900 && yy >= 40:
		return []int{1900}
	}
	return all
}

// ValidNorwegianID checks a Norwegian person identifier: 11 digits, both
// check digits (accepting the first-check-digit remainders 0–3 of the 2032
// scheme), and a real date (29 February only in a leap year of the century
// the individual number gives). kind is "fnr", "dnr" (day + 40) or "hnr"
// (month + 40). Synthetic test numbers (month + 80, Test-Norge, or month +
// 65, NHN) are valid here; use IsSyntheticNorwegianID to tell them apart.
// Errors wrap ErrInvalidNorwegianID.
func ValidNorwegianID(id string) (kind string, err error) {
	n, err := parseNorwegianID(id)
	if err != nil {
		return "", err
	}
	return n.kind, nil
}

// IsSyntheticNorwegianID reports whether id is a valid synthetic test
// number (month + 80 or month + 65).
func IsSyntheticNorwegianID(id string) bool {
	n, err := parseNorwegianID(id)
	return err == nil && n.synthetic
}

// PatientIDChecker decides whether a patient id (CX) is known to the
// registry (the XDS patient identity feed). It returns nil for a known
// patient, an error wrapping ErrUnknownPatientID for an unknown one, and
// any other error when it could not decide (a lookup that failed), which
// the registry reports as an internal error.
type PatientIDChecker interface {
	CheckPatientID(ctx context.Context, cx string) error
}

// NorwegianPatientIDs knows every patient whose id is a valid Norwegian
// F-nr, D-nr or H-nr under its matching assigning authority
// (2.16.578.1.12.4.1.4.1 / .2 / .3), written "id^^^&OID&ISO". It stands in
// for a patient identity feed: Norway has one national register, so a
// well-formed number is a known person. A lookup against that register can
// be configured later through PatientIDChecker.
type NorwegianPatientIDs struct {
	// AllowSynthetic accepts synthetic test numbers (month + 80 or + 65).
	// The default profile (dev/test) sets it; production must not.
	AllowSynthetic bool
}

var _ PatientIDChecker = NorwegianPatientIDs{}

// CheckPatientID implements PatientIDChecker.
func (p NorwegianPatientIDs) CheckPatientID(_ context.Context, cx string) error {
	if err := CheckPatientIDFormat(cx); err != nil {
		return fmt.Errorf("%w: %v", ErrUnknownPatientID, err)
	}
	c, _ := ParseCX(cx)
	var want string
	switch c.AssigningAuthority.UniversalID {
	case oid.FNR:
		want = KindFnr
	case oid.DNR:
		want = KindDnr
	case oid.HNR:
		want = KindHnr
	default:
		return fmt.Errorf("%w: assigning authority %s is not a Norwegian person register (F-nr %s, D-nr %s, H-nr %s)",
			ErrUnknownPatientID, c.AssigningAuthority.UniversalID, oid.FNR, oid.DNR, oid.HNR)
	}
	n, err := parseNorwegianID(c.ID)
	if err != nil {
		return fmt.Errorf("%w: %v", ErrUnknownPatientID, err)
	}
	if n.kind != want {
		return fmt.Errorf("%w: %s is a %s but the assigning authority is that of a %s", ErrUnknownPatientID, c.ID, n.kind, want)
	}
	if n.synthetic && !p.AllowSynthetic {
		return fmt.Errorf("%w: %s is a synthetic test number, not accepted here", ErrUnknownPatientID, c.ID)
	}
	return nil
}
