package mhd

import (
	"errors"
	"net/http"
	"net/url"
	"reflect"
	"strings"
	"testing"

	"pjd/gateway/fhir"
	"pjd/registry"
	"pjd/registry/oid"
)

const pidKari = "patient.identifier=urn:oid:2.16.578.1.12.4.1.4.1|" + fnrKari

var approved = []string{registry.StatusApproved}

func parseQuery(t *testing.T, raw string) url.Values {
	t.Helper()
	q, err := url.ParseQuery(raw)
	if err != nil {
		t.Fatalf("bad test query %q: %v", raw, err)
	}
	return q
}

func header(nin string) http.Header {
	h := http.Header{}
	if nin != "" {
		h.Set(HeaderPatientNIN, nin)
	}
	return h
}

// TestParseDocumentSearchFilters: one row per parameter, the store filter
// it produces.
func TestParseDocumentSearchFilters(t *testing.T) {
	v9602 := oid.Volven9602
	for _, c := range []struct {
		name  string
		query string
		nin   string
		want  registry.DocumentFilter
		count int
	}{
		{"patient.identifier", pidKari, "", registry.DocumentFilter{PatientID: patientKari, Statuses: approved}, DefaultCount},
		{"header", "", fnrKari, registry.DocumentFilter{PatientID: patientKari, Statuses: approved}, DefaultCount},
		{"header and identical parameter", pidKari, fnrKari, registry.DocumentFilter{PatientID: patientKari, Statuses: approved}, DefaultCount},
		{"D-nr header", "", dnrPer, registry.DocumentFilter{PatientID: dnrPer + "^^^&" + oid.DNR + "&ISO", Statuses: approved}, DefaultCount},
		{"D-nr parameter", "patient.identifier=urn:oid:2.16.578.1.12.4.1.4.2|" + dnrPer, "", registry.DocumentFilter{PatientID: dnrPer + "^^^&" + oid.DNR + "&ISO", Statuses: approved}, DefaultCount},
		{"status superseded", "status=superseded", fnrKari, registry.DocumentFilter{PatientID: patientKari, Statuses: []string{registry.StatusDeprecated}}, DefaultCount},
		{"status OR", "status=current,superseded", fnrKari, registry.DocumentFilter{PatientID: patientKari, Statuses: []string{registry.StatusApproved, registry.StatusDeprecated}}, DefaultCount},
		{"status AND", "status=current,superseded&status=superseded", fnrKari, registry.DocumentFilter{PatientID: patientKari, Statuses: []string{registry.StatusDeprecated}}, DefaultCount},
		{"status entered-in-error", "status=entered-in-error", fnrKari, registry.DocumentFilter{PatientID: patientKari, Statuses: []string{}}, DefaultCount},
		{"category system|code", "category=urn:oid:2.16.578.1.12.4.1.1.9602|A00-1", fnrKari,
			registry.DocumentFilter{PatientID: patientKari, Statuses: approved, Classes: registry.CodeSet{{Code: "A00-1", Scheme: v9602}}}, DefaultCount},
		{"category OR, code only", "category=urn:oid:2.16.578.1.12.4.1.1.9602|A00-1,E00-1", fnrKari,
			registry.DocumentFilter{PatientID: patientKari, Statuses: approved, Classes: registry.CodeSet{{Code: "A00-1", Scheme: v9602}, {Code: "E00-1"}}}, DefaultCount},
		{"category repeated: first to the store", "category=A00-1&category=E00-1", fnrKari,
			registry.DocumentFilter{PatientID: patientKari, Statuses: approved, Classes: registry.CodeSet{{Code: "A00-1"}}}, DefaultCount},
		{"category system only: Match only", "category=urn:oid:2.16.578.1.12.4.1.1.9602|", fnrKari,
			registry.DocumentFilter{PatientID: patientKari, Statuses: approved}, DefaultCount},
		{"category no system: matches nothing", "category=|A00-1", fnrKari,
			registry.DocumentFilter{PatientID: patientKari, Statuses: approved, Classes: registry.CodeSet{}}, DefaultCount},
		{"type", "type=urn:oid:2.16.578.1.12.4.1.1.9602|A03-2", fnrKari,
			registry.DocumentFilter{PatientID: patientKari, Statuses: approved, Types: registry.CodeSet{{Code: "A03-2", Scheme: v9602}}}, DefaultCount},
		{"setting", "setting=urn:oid:2.16.578.1.12.4.1.1.8655|1", fnrKari,
			registry.DocumentFilter{PatientID: patientKari, Statuses: approved, PracticeSettings: registry.CodeSet{{Code: "1", Scheme: "2.16.578.1.12.4.1.1.8655"}}}, DefaultCount},
		{"facility", "facility=urn:oid:2.16.578.1.12.4.1.1.1303|86.101", fnrKari,
			registry.DocumentFilter{PatientID: patientKari, Statuses: approved, FacilityTypes: registry.CodeSet{{Code: "86.101", Scheme: "2.16.578.1.12.4.1.1.1303"}}}, DefaultCount},
		{"format with a URN code", "format=urn:oid:2.16.578.1.12.4.1.1.9604|urn:no:ehelse:document:pdf", fnrKari,
			registry.DocumentFilter{PatientID: patientKari, Statuses: approved, Formats: registry.CodeSet{{Code: "urn:no:ehelse:document:pdf", Scheme: "2.16.578.1.12.4.1.1.9604"}}}, DefaultCount},
		{"event AND of OR", "event=urn:oid:2.16.578.1.12.4.1.1.7110|I21,urn:oid:2.16.578.1.12.4.1.1.7110|I22&event=X", fnrKari,
			registry.DocumentFilter{PatientID: patientKari, Statuses: approved, Events: []registry.CodeSet{{{Code: "I21", Scheme: "2.16.578.1.12.4.1.1.7110"}, {Code: "I22", Scheme: "2.16.578.1.12.4.1.1.7110"}}, {{Code: "X"}}}}, DefaultCount},
		{"security-label with the FHIR URL alias", "security-label=http://terminology.hl7.org/CodeSystem/v3-Confidentiality|R", fnrKari,
			registry.DocumentFilter{PatientID: patientKari, Statuses: approved, Confidentiality: []registry.CodeSet{{{Code: "R", Scheme: oid.HL7Confidentiality}}}}, DefaultCount},
		{"escaped comma and bar in a code", `type=urn:oid:1.2|a\,b\|c`, fnrKari,
			registry.DocumentFilter{PatientID: patientKari, Statuses: approved, Types: registry.CodeSet{{Code: "a,b|c", Scheme: "1.2"}}}, DefaultCount},
		{"date day", "date=2024-03-15", fnrKari,
			registry.DocumentFilter{PatientID: patientKari, Statuses: approved, CreationTime: registry.TimeRange{From: "20240315000000", To: "20240316000000"}}, DefaultCount},
		{"date ge and lt", "date=ge2024-01&date=lt2024-03-15T10:00:00%2B01:00", fnrKari,
			registry.DocumentFilter{PatientID: patientKari, Statuses: approved, CreationTime: registry.TimeRange{From: "20240101000000", To: "20240315090000"}}, DefaultCount},
		{"date gt year", "date=gt2023", fnrKari,
			registry.DocumentFilter{PatientID: patientKari, Statuses: approved, CreationTime: registry.TimeRange{From: "20240101000000"}}, DefaultCount},
		{"date le minute without zone (UTC)", "date=le2024-03-15T10:30", fnrKari,
			registry.DocumentFilter{PatientID: patientKari, Statuses: approved, CreationTime: registry.TimeRange{To: "20240315103100"}}, DefaultCount},
		{"date sa / eb", "date=sa2024-03-14&date=eb2024-03-20", fnrKari,
			registry.DocumentFilter{PatientID: patientKari, Statuses: approved, CreationTime: registry.TimeRange{From: "20240315000000", To: "20240320000000"}}, DefaultCount},
		{"date ne: Match only", "date=ne2024-03-15", fnrKari,
			registry.DocumentFilter{PatientID: patientKari, Statuses: approved}, DefaultCount},
		{"date OR: Match only", "date=2024-03-15,2024-03-16", fnrKari,
			registry.DocumentFilter{PatientID: patientKari, Statuses: approved}, DefaultCount},
		{"creation (MHD)", "creation=ge2024-03-15T14:30:00Z", fnrKari,
			registry.DocumentFilter{PatientID: patientKari, Statuses: approved, CreationTime: registry.TimeRange{From: "20240315143000"}}, DefaultCount},
		{"period: Match only", "period=ge2024-03-01&period=lt2024-04", fnrKari,
			registry.DocumentFilter{PatientID: patientKari, Statuses: approved}, DefaultCount},
		{"author.family: Match only", "author.family=lege", fnrKari,
			registry.DocumentFilter{PatientID: patientKari, Statuses: approved}, DefaultCount},
		{"author :exact → LIKE", "author.family:exact=Lege&author.given:exact=Lise", fnrKari,
			registry.DocumentFilter{PatientID: patientKari, Statuses: approved, AuthorPersons: []string{"%^Lege^Lise^%"}}, DefaultCount},
		{"author :exact OR → LIKE OR", "author.family:exact=Lege,Berg", fnrKari,
			registry.DocumentFilter{PatientID: patientKari, Statuses: approved, AuthorPersons: []string{"%^Lege^%", "%^Berg^%"}}, DefaultCount},
		{"identifier urn:oid → uniqueId", "identifier=urn:ietf:rfc:3986|urn:oid:2.16.578.1.12.4.1.7.2.1.4711", fnrKari,
			registry.DocumentFilter{PatientID: patientKari, Statuses: approved, UniqueIDs: []string{"2.16.578.1.12.4.1.7.2.1.4711"}}, DefaultCount},
		{"identifier urn:uuid: Match only", "identifier=urn:uuid:6f2c4b1e-4a0e-4d7e-9c0a-1b2c3d4e5f60", fnrKari,
			registry.DocumentFilter{PatientID: patientKari, Statuses: approved}, DefaultCount},
		{"related: Match only", "related=urn:oid:2.16.578.1.12.4.1.4.102|E-2024-77&related:identifier=X", fnrKari,
			registry.DocumentFilter{PatientID: patientKari, Statuses: approved}, DefaultCount},
		{"_count, _format, _pretty", "_count=5&_format=application/fhir%2Bjson%3BfhirVersion=4.0&_pretty=true", fnrKari,
			registry.DocumentFilter{PatientID: patientKari, Statuses: approved}, 5},
		{"_count 0", "_count=0", fnrKari, registry.DocumentFilter{PatientID: patientKari, Statuses: approved}, 0},
	} {
		t.Run(c.name, func(t *testing.T) {
			s, err := ParseDocumentSearch(parseQuery(t, c.query), header(c.nin))
			if err != nil {
				t.Fatalf("ParseDocumentSearch: %v", err)
			}
			if err := s.Resume(testPager(t, nil)); err != nil {
				t.Fatal(err)
			}
			f, err := s.Filter()
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(f, c.want) {
				t.Errorf("filter\n got %#v\nwant %#v", f, c.want)
			}
			if s.Count != c.count {
				t.Errorf("count %d, want %d", s.Count, c.count)
			}
		})
	}
}

// rejection is one expected failure: HTTP status, issue code and the
// parameter named in the issue's expression.
type rejection struct {
	name   string
	query  string
	nin    []string
	status int
	code   string
	expr   string
}

// testRejections runs parse on each case's request (query and
// nhn-patient-nin headers) and checks that it is refused as the case says.
func testRejections[S any](t *testing.T, cases []rejection, parse func(url.Values, http.Header) (S, error)) {
	t.Helper()
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			h := http.Header{}
			for _, v := range c.nin {
				h.Add(HeaderPatientNIN, v)
			}
			s, err := parse(parseQuery(t, c.query), h)
			if err == nil {
				t.Fatalf("accepted: %+v", s)
			}
			checkRejection(t, c, err)
		})
	}
}

func checkRejection(t *testing.T, c rejection, err error) {
	t.Helper()
	var me *fhir.Error
	if !errors.As(err, &me) {
		t.Fatalf("error %v (%T) is not an *Error", err, err)
	}
	if me.Status != c.status {
		t.Errorf("status %d, want %d (%v)", me.Status, c.status, me)
	}
	for _, is := range me.Outcome.Issue {
		if is.Severity != fhir.SeverityError || is.Diagnostics == "" {
			t.Errorf("issue %+v lacks severity or diagnostics", is)
		}
		if is.Code == c.code && len(is.Expression) == 1 && is.Expression[0] == c.expr {
			return
		}
	}
	t.Errorf("no issue with code %q naming %q in %+v", c.code, c.expr, me.Outcome.Issue)
}

var documentRejections = []rejection{
	{"no patient", "status=current", nil, 400, fhir.IssueRequired, "patient.identifier"},
	{"unknown parameter", pidKari + "&foo=bar", nil, 400, fhir.IssueNotSupported, "foo"},
	{"unsupported result parameter", pidKari + "&_sort=date", nil, 400, fhir.IssueNotSupported, "_sort"},
	{"_include", pidKari + "&_include=DocumentReference:subject", nil, 400, fhir.IssueNotSupported, "_include"},
	{"patient reference", "patient=Patient/1", nil, 400, fhir.IssueNotSupported, "patient"},
	{"patient.name chain", pidKari + "&patient.name=Kari", nil, 400, fhir.IssueNotSupported, "patient.name"},
	{"two patients in one parameter", "patient.identifier=urn:oid:2.16.578.1.12.4.1.4.1|" + fnrKari + ",urn:oid:2.16.578.1.12.4.1.4.1|" + fnrOla, nil, 400, fhir.IssueValue, "patient.identifier"},
	{"patient repeated", pidKari + "&" + pidKari, nil, 400, fhir.IssueValue, "patient.identifier"},
	{"patient without system", "patient.identifier=" + fnrKari, nil, 400, fhir.IssueValue, "patient.identifier"},
	{"patient other system", "patient.identifier=urn:oid:2.16.578.1.12.4.1.4.5|" + fnrKari, nil, 400, fhir.IssueValue, "patient.identifier"},
	{"patient bad check digit", "patient.identifier=urn:oid:2.16.578.1.12.4.1.4.1|13818510018", nil, 400, fhir.IssueValue, "patient.identifier"},
	{"patient not 11 digits", "patient.identifier=urn:oid:2.16.578.1.12.4.1.4.1|1381851001", nil, 400, fhir.IssueValue, "patient.identifier"},
	{"patient modifier", "patient.identifier:of-type=x", nil, 400, fhir.IssueNotSupported, "patient.identifier:of-type"},
	{"header bad", "", []string{"123"}, 400, fhir.IssueValue, HeaderPatientNIN},
	{"header twice", "", []string{fnrKari, fnrOla}, 400, fhir.IssueValue, HeaderPatientNIN},
	{"header and parameter differ", pidKari, []string{fnrOla}, 400, fhir.IssueInvalid, "patient.identifier"},
	{"status unknown", pidKari + "&status=final", nil, 400, fhir.IssueValue, "status"},
	{"status with system", pidKari + "&status=http://example.org|current", nil, 400, fhir.IssueValue, "status"},
	{"status modifier", pidKari + "&status:not=current", nil, 400, fhir.IssueNotSupported, "status:not"},
	{"token modifier", pidKari + "&category:text=Epikrise", nil, 400, fhir.IssueNotSupported, "category:text"},
	{"token empty", pidKari + "&category=", nil, 400, fhir.IssueValue, "category"},
	{"token empty alternative", pidKari + "&category=A00-1,", nil, 400, fhir.IssueValue, "category"},
	{"token bare bar", pidKari + "&type=|", nil, 400, fhir.IssueValue, "type"},
	{"bad escape", pidKari + `&type=a\x`, nil, 400, fhir.IssueValue, "type"},
	{"dangling escape", pidKari + `&type=a\`, nil, 400, fhir.IssueValue, "type"},
	{"date not a date", pidKari + "&date=yesterday", nil, 400, fhir.IssueValue, "date"},
	{"date bad prefix", pidKari + "&date=xx2024", nil, 400, fhir.IssueValue, "date"},
	{"date ap unsupported", pidKari + "&date=ap2024", nil, 400, fhir.IssueNotSupported, "date"},
	{"date month 13", pidKari + "&date=2024-13", nil, 400, fhir.IssueValue, "date"},
	{"date bad zone", pidKari + "&date=2024-03-15T10:00:00%2B1", nil, 400, fhir.IssueValue, "date"},
	{"date modifier", pidKari + "&date:missing=true", nil, 400, fhir.IssueNotSupported, "date:missing"},
	{"period not a date", pidKari + "&period=ge2024-02-30", nil, 400, fhir.IssueValue, "period"},
	{"creation bad", pidKari + "&creation=2024/03/15", nil, 400, fhir.IssueValue, "creation"},
	{"author modifier", pidKari + "&author.family:text=x", nil, 400, fhir.IssueNotSupported, "author.family:text"},
	{"author other chain", pidKari + "&author.identifier=x", nil, 400, fhir.IssueNotSupported, "author.identifier"},
	{"identifier other system", pidKari + "&identifier=http://example.org|1", nil, 400, fhir.IssueValue, "identifier"},
	{"related modifier", pidKari + "&related:missing=true", nil, 400, fhir.IssueNotSupported, "related:missing"},
	{"_count negative", pidKari + "&_count=-1", nil, 400, fhir.IssueValue, "_count"},
	{"_count too large", pidKari + "&_count=1001", nil, 400, fhir.IssueValue, "_count"},
	{"_count not a number", pidKari + "&_count=ten", nil, 400, fhir.IssueValue, "_count"},
	{"_count twice", pidKari + "&_count=1&_count=2", nil, 400, fhir.IssueValue, "_count"},
	{"_page twice", pidKari + "&_page=a&_page=b", nil, 400, fhir.IssueValue, "_page"},
	{"_format xml", pidKari + "&_format=xml", nil, 406, fhir.IssueNotSupported, "_format"},
	{"_pretty bad", pidKari + "&_pretty=yes", nil, 400, fhir.IssueValue, "_pretty"},
	{"too many values", pidKari + "&type=" + strings.Repeat("a,", 100) + "a", nil, 400, fhir.IssueValue, "type"},
	{"value too long", pidKari + "&type=" + strings.Repeat("a", 1025), nil, 400, fhir.IssueValue, "type"},
	{"targetCommunityIdList (no XCA option)", pidKari + "&targetCommunityIdList=urn:oid:1.2", nil, 400, fhir.IssueNotSupported, "targetCommunityIdList"},
}

func TestParseDocumentSearchRejects(t *testing.T) {
	testRejections(t, documentRejections, ParseDocumentSearch)
}

// TestParseDocumentSearchNamesEveryProblem: one response lists every bad
// parameter.
func TestParseDocumentSearchNamesEveryProblem(t *testing.T) {
	_, err := ParseDocumentSearch(parseQuery(t, pidKari+"&foo=1&bar=2&date=x&_count=-3"), nil)
	var me *fhir.Error
	if !errors.As(err, &me) {
		t.Fatal(err)
	}
	named := map[string]bool{}
	for _, is := range me.Outcome.Issue {
		for _, e := range is.Expression {
			named[e] = true
		}
	}
	for _, want := range []string{"foo", "bar", "date", "_count"} {
		if !named[want] {
			t.Errorf("%s not named in %v", want, me)
		}
	}
}

// TestDocumentSearchMatch: the conditions Match applies, one row per
// parameter semantics, against the full fixture entry (creationTime
// 2024-03-15T14:30:00Z, service 2024-03-10 … 2024-03-15T12:00Z).
func TestDocumentSearchMatch(t *testing.T) {
	for _, c := range []struct {
		query string
		match bool
	}{
		{"", true},
		{"status=superseded", false},
		{"status=current,superseded", true},
		{"category=urn:oid:2.16.578.1.12.4.1.1.9602|A00-1", true},
		{"category=urn:oid:2.16.578.1.12.4.1.1.9602|", true},
		{"category=urn:oid:2.16.578.1.12.4.1.1.9603|", false},
		{"category=A00-1", true},
		{"category=|A00-1", false},
		{"category=A00-1&category=E00-1", false},
		{"category=E00-1,A00-1&category=A00-1", true},
		{"type=urn:oid:2.16.578.1.12.4.1.1.9602|A13-2", false},
		{"format=urn:oid:2.16.578.1.12.4.1.1.9604|urn:no:ehelse:document:pdf", true},
		{"event=urn:oid:2.16.578.1.12.4.1.1.7110|I21", true},
		{"event=urn:oid:2.16.578.1.12.4.1.1.7110|I21&event=I22", false},
		{"security-label=http://terminology.hl7.org/CodeSystem/v3-Confidentiality|N&security-label=urn:oid:2.16.578.1.12.4.1.1.9603|N", true},
		{"security-label=urn:oid:2.16.578.1.12.4.1.1.9603|NORS", false},
		{"date=2024-03-15", true},
		{"date=2024-03-14", false},
		{"date=ne2024-03-15", false},
		{"date=ne2024-03-14", true},
		{"date=gt2024-03-15", false},
		{"date=gt2024-03-15T14:29", true},
		{"date=ge2024-03-15", true},
		{"date=lt2024-03-15T14:30:00Z", false},
		{"date=le2024-03-15T14:30:00Z", true},
		{"date=le2024-03-15T15:30:00%2B01:00", true},
		{"date=lt2024-03-15T15:30:01%2B01:00", true},
		{"date=sa2024-03-14", true},
		{"date=eb2024-03-16", true},
		{"date=eb2024-03-15", false},
		{"date=2023,2024", true},
		{"date=2022,2023", false},
		{"creation=2024-03", true},
		{"period=2024-03-12", false}, // the service period is not contained in that day
		{"period=2024-03", true},     // … but in that month
		{"period=ge2024-03-15", true},
		{"period=gt2024-03-15", false},
		{"period=lt2024-03-10", false},
		{"period=lt2024-03-11", true},
		{"period=le2024-03-10", true},
		{"period=le2024-03-09", false},
		{"period=ge2024-03-16", false},
		{"period=sa2024-03-09", true},
		{"period=sa2024-03-10", false},
		{"period=eb2024-03-16", true},
		{"author.family=lege", true},
		{"author.family=LEG", true},
		{"author.family:exact=lege", false},
		{"author.family:exact=Lege", true},
		{"author.family:contains=eg", true},
		{"author.given=lise&author.family=lege", true},
		{"author.given=kari", false},
		{"author.family=berg,lege", true},
		{"identifier=urn:ietf:rfc:3986|urn:oid:2.16.578.1.12.4.1.7.2.1.4711", true},
		{"identifier=urn:uuid:6f2c4b1e-4a0e-4d7e-9c0a-1b2c3d4e5f60", true},
		{"identifier=urn:oid:1.2.3", false},
		{"related=urn:oid:2.16.578.1.12.4.1.4.102|E-2024-77", true},
		{"related:identifier=REF-99%261", true},
		{"related=urn:oid:1.2.3|E-2024-77", false},
		{"related=urn:oid:2.16.578.1.12.4.1.4.102|", true},
	} {
		s, err := ParseDocumentSearch(parseQuery(t, c.query), header(fnrKari))
		if err != nil {
			t.Errorf("%q: %v", c.query, err)
			continue
		}
		if got := s.Match(fullEntry()); got != c.match {
			t.Errorf("%q: Match = %v, want %v", c.query, got, c.match)
		}
		// The store filter must never be narrower than Match.
		if c.match {
			if err := s.Resume(testPager(t, nil)); err != nil {
				t.Fatal(err)
			}
			f, _ := s.Filter()
			if !storeWouldSelect(f, fullEntry()) {
				t.Errorf("%q: Match accepts an entry the store filter %+v would not return", c.query, f)
			}
		}
	}
	other := fullEntry()
	other.PatientID = patientOla
	s, _ := ParseDocumentSearch(nil, header(fnrKari))
	if s.Match(other) {
		t.Error("Match accepted another patient's entry")
	}
}

// storeWouldSelect evaluates a DocumentFilter the way registry.Store
// documents its semantics, to prove Filter ⊇ Match on the fixtures.
func storeWouldSelect(f registry.DocumentFilter, d *registry.DocumentEntry) bool {
	inSet := func(set registry.CodeSet, codes ...registry.Code) bool {
		if set == nil {
			return true
		}
		for _, s := range set {
			for _, c := range codes {
				if c.Code == s.Code && (s.Scheme == "" || s.Scheme == c.Scheme) {
					return true
				}
			}
		}
		return false
	}
	inRange := func(r registry.TimeRange, v string) bool {
		if r.IsZero() {
			return true
		}
		if v == "" {
			return false
		}
		n := normDTM(v)
		return (r.From == "" || n >= r.From) && (r.To == "" || n < r.To)
	}
	ok := f.PatientID == d.PatientID &&
		(f.Statuses == nil || contains(f.Statuses, d.Status)) &&
		(f.UniqueIDs == nil || contains(f.UniqueIDs, d.UniqueID)) &&
		inSet(f.Classes, d.Class) && inSet(f.Types, d.Type) && inSet(f.PracticeSettings, d.PracticeSetting) &&
		inSet(f.FacilityTypes, d.FacilityType) && inSet(f.Formats, d.Format) &&
		inRange(f.CreationTime, d.CreationTime)
	for _, s := range f.Events {
		ok = ok && inSet(s, d.Events...)
	}
	for _, s := range f.Confidentiality {
		ok = ok && inSet(s, d.Confidentiality...)
	}
	if f.AuthorPersons != nil {
		any := false
		for _, p := range f.AuthorPersons {
			for _, a := range d.Authors {
				any = any || like(p, a.Person)
			}
		}
		ok = ok && any
	}
	return ok
}

// like is SQL LIKE with % and _ (case-sensitive, as PostgreSQL).
func like(pattern, s string) bool {
	if pattern == "" {
		return s == ""
	}
	switch pattern[0] {
	case '%':
		for i := 0; i <= len(s); i++ {
			if like(pattern[1:], s[i:]) {
				return true
			}
		}
		return false
	case '_':
		return s != "" && like(pattern[1:], s[1:])
	}
	return s != "" && s[0] == pattern[0] && like(pattern[1:], s[1:])
}
