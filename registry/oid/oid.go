// Package oid names, once, the identifier systems and code systems of the
// Norwegian profile (reference/norway.md) that the registry, trust and the
// gateway all use — the F-nr, D-nr and H-nr of patients, HPR numbers of
// health workers, organisation numbers, RESH departments, HER-ids, the
// Volven code systems — and converts between a bare OID and its
// "urn:oid:" URI.
//
// It exists so that a system is written in one place: before it, the
// F-nr OID was declared by registry, trust and the audit log each. It is a
// leaf: it imports nothing at all, so that registry and trust, which
// depend on nothing else of pjd's (DESIGN.md), can share it; the README's
// Architecture section records this as the one departure from that rule.
// It must never grow an import, state or behaviour beyond naming systems
// and telling them apart.
package oid

// Identifier systems (reference/norway.md, "Identifiers").
const (
	FNR   = "2.16.578.1.12.4.1.4.1"   // fødselsnummer (F-nr)
	DNR   = "2.16.578.1.12.4.1.4.2"   // D-nummer
	HNR   = "2.16.578.1.12.4.1.4.3"   // H-nummer (help number)
	HPR   = "2.16.578.1.12.4.1.4.4"   // HPR-nummer (health personnel register)
	DUF   = "2.16.578.1.12.4.1.4.5"   // DUF-nummer
	OrgNr = "2.16.578.1.12.4.1.4.101" // organisasjonsnummer (Enhetsregisteret)
	RESH  = "2.16.578.1.12.4.1.4.102" // RESH (department register)
	HER   = "2.16.578.1.12.4.1.2"     // HER-id (address register)
)

// Code systems.
const (
	Volven9060         = "2.16.578.1.12.4.1.1.9060"     // authorization (helsepersonellkategori)
	Volven9151         = "2.16.578.1.12.4.1.1.9151"     // purpose-of-use details
	Volven9602         = "2.16.578.1.12.4.1.1.9602"     // document class and type
	Volven9603         = "2.16.578.1.12.4.1.1.9603"     // confidentiality (NORS …)
	HL7Confidentiality = "2.16.840.1.113883.5.25"       // HL7 v3 Confidentiality
	PurposeOfUse       = "2.16.840.1.113883.1.11.20448" // HL7 v3 PurposeOfUse
	ISO14265           = "1.0.14265.1"                  // ISO 14265 purposes of processing
)

// URNPrefix starts the URI form of an OID.
const URNPrefix = "urn:oid:"

// NationalID returns the identifier system of a Norwegian national identity
// number by its digits: D-nr (first digit + 4), H-nr (third digit + 4),
// otherwise F-nr — synthetic numbers (month + 65 or + 80) included. It does
// not check the number; a string that is not 11 characters long is F-nr.
func NationalID(nin string) string {
	if len(nin) == 11 {
		if nin[0] >= '4' && nin[0] <= '7' {
			return DNR
		}
		if nin[2] == '4' || nin[2] == '5' {
			return HNR
		}
	}
	return FNR
}

// Valid reports whether s is an OID in dotted form: a first arc of 0, 1 or
// 2, at least two arcs, no empty arc and no leading zeros. (XDS limits an
// OID to 64 characters too: registry.ValidOID.)
func Valid(s string) bool {
	if len(s) < 3 || s[0] < '0' || s[0] > '2' || s[1] != '.' {
		return false
	}
	arc := 0 // digits in the current arc
	for i := 2; i < len(s); i++ {
		switch c := s[i]; {
		case c == '.':
			if arc == 0 {
				return false
			}
			arc = 0
		case c >= '0' && c <= '9':
			if arc == 1 && s[i-1] == '0' {
				return false
			}
			arc++
		default:
			return false
		}
	}
	return arc > 0
}

// URN returns the "urn:oid:" URI of an OID; anything that is not a bare
// OID (already a URI, or no OID at all) is returned as it is.
func URN(s string) string {
	if Valid(s) {
		return URNPrefix + s
	}
	return s
}

// Bare strips a "urn:oid:" prefix (in any letter case), so that
// "urn:oid:X" and "X" compare equal.
func Bare(s string) string {
	if len(s) > len(URNPrefix) && equalFold(s[:len(URNPrefix)], URNPrefix) {
		return s[len(URNPrefix):]
	}
	return s
}

// equalFold is strings.EqualFold for ASCII (this package imports nothing).
func equalFold(a, b string) bool {
	if len(a) != len(b) {
		return false
	}
	for i := 0; i < len(a); i++ {
		x, y := a[i], b[i]
		if 'A' <= x && x <= 'Z' {
			x += 'a' - 'A'
		}
		if 'A' <= y && y <= 'Z' {
			y += 'a' - 'A'
		}
		if x != y {
			return false
		}
	}
	return true
}
