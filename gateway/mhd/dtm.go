package mhd

import (
	"fmt"
	"strings"
	"time"
)

// XDS times are DTM strings, YYYY[MM[DD[hh[mm[ss]]]]], always UTC. FHIR has
// date (YYYY, YYYY-MM, YYYY-MM-DD), dateTime (a date, or a full time with
// seconds and a zone) and instant (always full). These convert between
// them, keeping the precision the source gave where FHIR allows it.

const dtmLayout = "20060102150405"

// validDTM reports whether s is a DTM with a legal length and legal field
// values.
func validDTM(s string) bool {
	switch len(s) {
	case 4, 6, 8, 10, 12, 14:
	default:
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	// Check the fields by parsing the padded value: months 00 and days
	// 00 are only padding, so pad with the first month/day.
	padded := s + "0101000000"[len(s)-4:]
	_, err := time.Parse(dtmLayout, padded)
	return err == nil
}

// dtmToDateTime renders a DTM as FHIR dateTime: YYYY, YYYY-MM and
// YYYY-MM-DD keep their precision; a DTM with hours gets minutes and
// seconds filled with zeros (FHIR dateTime has no hour or minute
// precision) and the zone Z. Returns "" for an invalid DTM.
func dtmToDateTime(s string) string {
	if !validDTM(s) {
		return ""
	}
	switch len(s) {
	case 4:
		return s
	case 6:
		return s[:4] + "-" + s[4:6]
	case 8:
		return s[:4] + "-" + s[4:6] + "-" + s[6:8]
	}
	return dtmToInstant(s)
}

// dtmToInstant renders a DTM as FHIR instant, the missing fields taken as
// their first value (YYYY → YYYY-01-01T00:00:00Z). Returns "" for an
// invalid DTM.
func dtmToInstant(s string) string {
	if !validDTM(s) {
		return ""
	}
	t, _ := time.Parse(dtmLayout, s+"0101000000"[len(s)-4:])
	return t.UTC().Format(time.RFC3339)
}

// dtmToDate renders the date part of a DTM as FHIR date (for birthDate).
func dtmToDate(s string) string {
	if len(s) > 8 {
		s = s[:8]
	}
	d := dtmToDateTime(s)
	return d
}

// normDTM pads a DTM to 14 digits with zeros, the form stores compare.
func normDTM(s string) string {
	if len(s) >= 14 {
		return s[:14]
	}
	return s + strings.Repeat("0", 14-len(s))
}

// timeToDTM renders a time as a 14-digit UTC DTM; years outside 0000–9999
// return "".
func timeToDTM(t time.Time) string {
	t = t.UTC()
	if t.Year() < 0 || t.Year() > 9999 {
		return ""
	}
	return t.Format(dtmLayout)
}

// dateTimeToDTM converts a FHIR date or dateTime to a DTM in UTC, keeping
// its precision: 2020 → 2020, 2020-02-01 → 20200201,
// 2020-02-01T23:50:50-05:00 → 20200202045050. Fractions of seconds are
// dropped. A time without a zone is an error (FHIR requires one).
func dateTimeToDTM(s string) (string, error) {
	p, err := parseFHIRTime(s, false)
	if err != nil {
		return "", err
	}
	switch p.precision {
	case precYear:
		return p.t.Format("2006"), nil
	case precMonth:
		return p.t.Format("200601"), nil
	case precDay:
		return p.t.Format("20060102"), nil
	}
	d := timeToDTM(p.t)
	if d == "" {
		return "", fmt.Errorf("%q: year out of range", s)
	}
	return d, nil
}

type precision int

const (
	precYear precision = iota
	precMonth
	precDay
	precMinute
	precSecond
)

type fhirTime struct {
	t         time.Time
	precision precision
}

// end is the first instant after the range the value stands for
// (2020-02 → 2020-03-01T00:00:00).
func (p fhirTime) end() time.Time {
	switch p.precision {
	case precYear:
		return p.t.AddDate(1, 0, 0)
	case precMonth:
		return p.t.AddDate(0, 1, 0)
	case precDay:
		return p.t.AddDate(0, 0, 1)
	case precMinute:
		return p.t.Add(time.Minute)
	}
	return p.t.Add(time.Second)
}

// parseFHIRTime parses a FHIR date/dateTime. With search set, a time may
// omit seconds and the zone (a time without a zone is taken as UTC, the
// server's zone for this purpose); without it, the dateTime grammar is
// followed exactly.
func parseFHIRTime(s string, search bool) (fhirTime, error) {
	bad := fmt.Errorf("%q is not a FHIR date or dateTime", s)
	if len(s) < 4 || len(s) > 40 {
		return fhirTime{}, bad
	}
	dateOnly := []struct {
		layout string
		prec   precision
	}{{"2006", precYear}, {"2006-01", precMonth}, {"2006-01-02", precDay}}
	for _, d := range dateOnly {
		if len(s) == len(d.layout) {
			t, err := time.Parse(d.layout, s)
			if err != nil || t.Year() == 0 {
				return fhirTime{}, bad
			}
			return fhirTime{t: t, precision: d.prec}, nil
		}
	}
	if len(s) < 16 || s[10] != 'T' {
		return fhirTime{}, bad
	}
	date, rest := s[:10], s[11:]
	// Split the zone off.
	zone := ""
	if i := strings.IndexAny(rest, "Z+-"); i >= 0 {
		rest, zone = rest[:i], rest[i:]
	}
	if zone == "" && !search {
		return fhirTime{}, fmt.Errorf("%q: a dateTime with a time needs a zone", s)
	}
	prec := precSecond
	var clock string
	switch {
	case len(rest) == 5: // hh:mm
		if !search {
			return fhirTime{}, bad
		}
		clock, prec = rest+":00", precMinute
	case len(rest) == 8:
		clock = rest
	case len(rest) > 9 && rest[8] == '.' && len(rest) <= 18:
		for _, c := range rest[9:] {
			if c < '0' || c > '9' {
				return fhirTime{}, bad
			}
		}
		clock = rest[:8]
	default:
		return fhirTime{}, bad
	}
	switch {
	case zone == "":
		zone = "Z"
	case zone == "Z":
	case len(zone) == 6 && zone[3] == ':':
	default:
		return fhirTime{}, bad
	}
	t, err := time.Parse(time.RFC3339, date+"T"+clock+zone)
	if err != nil || t.Year() == 0 {
		return fhirTime{}, bad
	}
	return fhirTime{t: t.UTC(), precision: prec}, nil
}
