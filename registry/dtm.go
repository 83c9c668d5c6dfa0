package registry

import (
	"strconv"
	"time"
)

// HL7 v2 DTM as XDS uses it: UTC, digits only, precision year to second
// ("YYYY[MM[DD[hh[mm[ss]]]]]"). XDS forbids fractions and time zones
// (ITI TF-3 4.2.3.1.5), so "20240131120000.5" and "…+0100" are rejected.

// DTMLayout is the 14-digit (second precision) DTM layout.
const DTMLayout = "20060102150405"

// ParseDTM parses a DTM of 4, 6, 8, 10, 12 or 14 digits with range-checked
// fields (the IPF rule; NIST only checks length and digits). Missing month
// and day count as 1, missing time fields as 0. The result is in UTC.
func ParseDTM(s string) (time.Time, error) {
	switch len(s) {
	case 4, 6, 8, 10, 12, 14:
	default:
		return time.Time{}, formatErr("DTM", s, "want 4, 6, 8, 10, 12 or 14 digits")
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return time.Time{}, formatErr("DTM", s, "not all digits")
		}
	}
	field := func(from, def int) int {
		if len(s) < from+2 {
			return def
		}
		n, _ := strconv.Atoi(s[from : from+2])
		return n
	}
	year, _ := strconv.Atoi(s[:4])
	month, day := field(4, 1), field(6, 1)
	hour, minute, sec := field(8, 0), field(10, 0), field(12, 0)
	if month < 1 || month > 12 {
		return time.Time{}, formatErr("DTM", s, "month %02d out of range", month)
	}
	if day < 1 || day > daysIn(year, month) {
		return time.Time{}, formatErr("DTM", s, "day %02d out of range", day)
	}
	if hour > 23 || minute > 59 || sec > 59 {
		return time.Time{}, formatErr("DTM", s, "time of day out of range")
	}
	return time.Date(year, time.Month(month), day, hour, minute, sec, 0, time.UTC), nil
}

// NormalizeDTM checks s with ParseDTM and returns it padded with zeros to
// 14 digits ("2024" → "20240000000000"), the form stores compare on (see
// TimeRange): a bound of any precision then orders correctly against
// values of any precision.
func NormalizeDTM(s string) (string, error) {
	if _, err := ParseDTM(s); err != nil {
		return "", err
	}
	const zeros = "0000000000"
	return s + zeros[:14-len(s)], nil
}

// FormatDTM formats t as a 14-digit UTC DTM.
func FormatDTM(t time.Time) string { return t.UTC().Format(DTMLayout) }

func daysIn(year, month int) int {
	return time.Date(year, time.Month(month)+1, 0, 0, 0, 0, 0, time.UTC).Day()
}
