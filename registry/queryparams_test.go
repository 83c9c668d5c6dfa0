package registry

import (
	"encoding/xml"
	"os"
	"pjd/registry/oid"
	"reflect"
	"strings"
	"testing"
)

func TestSplitList(t *testing.T) {
	tests := []struct {
		name string
		in   string
		want []string // nil = error
	}{
		{"one quoted value", `'a'`, []string{"a"}},
		{"list of one", `('a')`, []string{"a"}},
		{"list of two", `('a','b')`, []string{"a", "b"}},
		{"whitespace around items", `(  'a' ,	'b'  )`, []string{"a", "b"}},
		{"list spanning lines", "(\n  'urn:oasis:names:tc:ebxml-regrep:StatusType:Approved',\n  'urn:oasis:names:tc:ebxml-regrep:StatusType:Deprecated'\n)",
			[]string{StatusApproved, StatusDeprecated}},
		{"doubled quote", `('O''Brien')`, []string{"O'Brien"}},
		{"comma inside quotes", `('Nordmann, Ola','b')`, []string{"Nordmann, Ola", "b"}},
		{"unquoted numbers", `(1, 2)`, []string{"1", "2"}},
		{"unquoted bare", `20221016161616`, []string{"20221016161616"}},
		{"code with carets and ampersands", `('A00-1^^^2.16.578.1.12.4.1.1.9602')`, []string{"A00-1^^^2.16.578.1.12.4.1.1.9602"}},
		{"LIKE pattern", `('%Testlege%')`, []string{"%Testlege%"}},
		{"empty string item", `('')`, []string{""}},
		{"unclosed list", `('a','b'`, nil},
		{"list not opened", `'a','b')`, nil},
		{"unterminated quote", `('a)`, nil},
		{"empty list", `()`, nil},
		{"empty value", `   `, nil},
		{"trailing comma", `('a',)`, nil},
		{"missing comma", `('a' 'b')`, nil},
		{"quote inside unquoted", `(a'b)`, nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := splitList(tc.in)
			if tc.want == nil {
				if err == nil {
					t.Fatalf("splitList(%q) = %q, want error", tc.in, got)
				}
				return
			}
			if err != nil || !reflect.DeepEqual(got, tc.want) {
				t.Fatalf("splitList(%q) = %q, %v; want %q", tc.in, got, err, tc.want)
			}
		})
	}
}

func TestParseSingle(t *testing.T) {
	tests := []struct {
		name    string
		in      string
		want    string
		wantErr bool
		number  bool // errParamNumber
	}{
		{"quoted", `'15817510067^^^&2.16.578.1.12.4.1.4.1&ISO'`, "15817510067^^^&2.16.578.1.12.4.1.4.1&ISO", false, false},
		{"quoted time (CP-ITI-1260)", `'20221015151515'`, "20221015151515", false, false},
		{"unquoted time", `20221016161616`, "20221016161616", false, false},
		{"surrounding whitespace", "  '2024'\n", "2024", false, false},
		{"one-item list accepted", `('urn:uuid:1')`, "urn:uuid:1", false, false},
		{"doubled quote", `'O''Brien'`, "O'Brien", false, false},
		{"list of two", `('a','b')`, "", true, true},
		{"two bare values", `'a','b'`, "", true, true},
		{"bad list", `('a'`, "", true, false},
		{"empty", ``, "", true, false},
		// IPF iti18request.xml: not a well-formed quoted string, taken
		// literally as one value.
		{"injection-like value", `'593603^^^&2.16.756.5.33.2.5.1.5.1&ISO''%20and%20611%3d611--%20`,
			"'593603^^^&2.16.756.5.33.2.5.1.5.1&ISO'%20and%20611%3d611--%20", false, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := parseSingle(tc.in)
			if tc.wantErr {
				if err == nil {
					t.Fatalf("parseSingle(%q) = %q, want error", tc.in, got)
				}
				if tc.number != (err == errParamNumber) {
					t.Fatalf("parseSingle(%q) error %v, want errParamNumber=%v", tc.in, err, tc.number)
				}
				return
			}
			if err != nil || got != tc.want {
				t.Fatalf("parseSingle(%q) = %q, %v; want %q", tc.in, got, err, tc.want)
			}
		})
	}
}

func TestParseQueryCode(t *testing.T) {
	tests := []struct {
		in   string
		want Code
		ok   bool
	}{
		{"A00-1^^^2.16.578.1.12.4.1.1.9602", Code{Code: "A00-1", Scheme: oid.Volven9602}, true},
		{"A00-1^^2.16.578.1.12.4.1.1.9602", Code{Code: "A00-1", Scheme: oid.Volven9602}, true},          // CE.3
		{"A00-1^Epikriser^2.16.578.1.12.4.1.1.9602", Code{Code: "A00-1", Scheme: oid.Volven9602}, true}, // CE with text
		{`a\S\b^^^1.2`, Code{Code: "a^b", Scheme: "1.2"}, true},
		{"A00-1", Code{}, false},
		{"A00-1^^^", Code{}, false},
		{"^^^2.16.578.1.12.4.1.1.9602", Code{}, false},
		{"A00-1^x^y^2.16", Code{}, false},
		{"a^b^c^d^e", Code{}, false},
	}
	for _, tc := range tests {
		got, err := parseQueryCode(tc.in)
		if (err == nil) != tc.ok || (tc.ok && got != tc.want) {
			t.Errorf("parseQueryCode(%q) = %+v, %v; want %+v ok=%v", tc.in, got, err, tc.want, tc.ok)
		}
	}
}

const (
	testPatient = "'15817510067^^^&2.16.578.1.12.4.1.4.1&ISO'"
	approved    = "('urn:oasis:names:tc:ebxml-regrep:StatusType:Approved')"
)

func slot(name string, values ...string) Slot { return Slot{Name: name, Values: values} }

func TestParseParams(t *testing.T) {
	findDocs := func(extra ...Slot) *Query {
		return &Query{ID: QueryFindDocuments, ReturnType: ReturnLeafClass, Params: append([]Slot{
			slot(ParamDocumentEntryPatientID, testPatient),
			slot(ParamDocumentEntryStatus, approved),
		}, extra...)}
	}
	tests := []struct {
		name  string
		q     *Query
		codes []string // expected error codes; nil = valid
	}{
		{"FindDocuments minimal", findDocs(), nil},
		{"FindDocuments every parameter", findDocs(
			slot(ParamDocumentEntryClassCode, "('A00-1^^^2.16.578.1.12.4.1.1.9602','E00-1^^^2.16.578.1.12.4.1.1.9602')"),
			slot(ParamDocumentEntryTypeCode, "('A03-2^^^2.16.578.1.12.4.1.1.9602')"),
			slot(ParamDocumentEntryPracticeSettingCode, "('S03^^^2.16.578.1.12.4.1.1.8655')"),
			slot(ParamDocumentEntryFacilityTypeCode, "('86.101^^^2.16.578.1.12.4.1.1.1303')"),
			slot(ParamDocumentEntryFormatCode, "('urn:no:ehelse:document:pdf^^^1.3.6.1.4.1.19376.1.2.3')"),
			slot(ParamDocumentEntryEventCodeList, "('E1^^^1.2')"),
			slot(ParamDocumentEntryEventCodeList, "('E2^^^1.2')", "('E3^^^1.2')"),
			slot(ParamDocumentEntryConfidentialityCode, "('N^^^2.16.578.1.12.4.1.1.9603')"),
			slot(ParamDocumentEntryCreationTimeFrom, "'20240101'"),
			slot(ParamDocumentEntryCreationTimeTo, "20250101"),
			slot(ParamDocumentEntryServiceStartTimeFrom, "2024"),
			slot(ParamDocumentEntryServiceStartTimeTo, "2025"),
			slot(ParamDocumentEntryServiceStopTimeFrom, "202401"),
			slot(ParamDocumentEntryServiceStopTimeTo, "202501"),
			slot(ParamDocumentEntryAuthorPerson, "('%Testlege%')"),
			slot(ParamDocumentEntryType, "('"+ObjectTypeStable+"','"+ObjectTypeOnDemand+"')"),
			slot(ParamMetadataLevel, "1"),
		), nil},
		{"missing patient id", &Query{ID: QueryFindDocuments, Params: []Slot{slot(ParamDocumentEntryStatus, approved)}},
			[]string{ErrCodeStoredQueryMissingParam}},
		{"missing status", &Query{ID: QueryFindDocuments, Params: []Slot{slot(ParamDocumentEntryPatientID, testPatient)}},
			[]string{ErrCodeStoredQueryMissingParam}},
		{"missing both", &Query{ID: QueryFindDocuments},
			[]string{ErrCodeStoredQueryMissingParam, ErrCodeStoredQueryMissingParam}},
		{"patient id given twice", findDocs(slot(ParamDocumentEntryPatientID, testPatient)),
			[]string{ErrCodeStoredQueryParamNumber}},
		{"patient id with two values", &Query{ID: QueryFindDocuments, Params: []Slot{
			slot(ParamDocumentEntryPatientID, testPatient, testPatient), slot(ParamDocumentEntryStatus, approved)}},
			[]string{ErrCodeStoredQueryParamNumber}},
		{"patient id as a list of two", &Query{ID: QueryFindDocuments, Params: []Slot{
			slot(ParamDocumentEntryPatientID, "("+testPatient+","+testPatient+")"), slot(ParamDocumentEntryStatus, approved)}},
			[]string{ErrCodeStoredQueryParamNumber}},
		{"time given twice", findDocs(slot(ParamDocumentEntryCreationTimeFrom, "2024"), slot(ParamDocumentEntryCreationTimeFrom, "2025")),
			[]string{ErrCodeStoredQueryParamNumber}},
		{"OR-only code parameter repeated", findDocs(slot(ParamDocumentEntryClassCode, "('A00-1^^^1.2')"), slot(ParamDocumentEntryClassCode, "('E00-1^^^1.2')")),
			[]string{ErrCodeStoredQueryParamNumber}},
		{"unknown parameter: ignored (a warning, TestParseParamsIgnoresUnknown)", findDocs(slot("$XDSDocumentEntryColour", "'blue'")), nil},
		{"parameter of another query: ignored", findDocs(slot(ParamFolderStatus, approved)), nil},
		{"NIST 11897/old_scheme: the code fails, not the unknown scheme parameter", findDocs(
			slot(ParamDocumentEntryPracticeSettingCode, "('Dialysis')"),
			slot("$XDSDocumentEntryPracticeSettingCodeScheme", "('Connect-a-thon practiceSettingCodes')")),
			[]string{ErrCodeRegistryError}},
		{"status without URN prefix", &Query{ID: QueryFindDocuments, Params: []Slot{
			slot(ParamDocumentEntryPatientID, testPatient), slot(ParamDocumentEntryStatus, "('Approved')")}},
			[]string{ErrCodeRegistryError}},
		{"malformed patient id", &Query{ID: QueryFindDocuments, Params: []Slot{
			slot(ParamDocumentEntryPatientID, "'15817510067'"), slot(ParamDocumentEntryStatus, approved)}},
			[]string{ErrCodeRegistryError}},
		{"code without scheme", findDocs(slot(ParamDocumentEntryClassCode, "('A00-1')")), []string{ErrCodeRegistryError}},
		{"bad time", findDocs(slot(ParamDocumentEntryCreationTimeFrom, "'2024-01-01'")), []string{ErrCodeRegistryError}},
		{"bad list syntax", findDocs(slot(ParamDocumentEntryClassCode, "('A00-1^^^1.2'")), []string{ErrCodeRegistryError}},
		{"slot without value", findDocs(slot(ParamDocumentEntryClassCode)), []string{ErrCodeRegistryError}},
		{"bad entry type", findDocs(slot(ParamDocumentEntryType, "('urn:uuid:00000000-0000-0000-0000-000000000000')")), []string{ErrCodeRegistryError}},
		{"bad metadata level", findDocs(slot(ParamMetadataLevel, "3")), []string{ErrCodeRegistryError}},
		{"GetDocuments by uuid", &Query{ID: QueryGetDocuments, Params: []Slot{slot(ParamDocumentEntryEntryUUID, "('urn:uuid:a','urn:uuid:b')")}}, nil},
		{"GetDocuments none of the group", &Query{ID: QueryGetDocuments}, []string{ErrCodeStoredQueryMissingParam}},
		{"GetDocuments two of the group", &Query{ID: QueryGetDocuments, Params: []Slot{
			slot(ParamDocumentEntryEntryUUID, "('urn:uuid:a')"), slot(ParamDocumentEntryUniqueID, "('1.2.3')")}},
			[]string{ErrCodeStoredQueryParamNumber}},
		{"GetFolders two of three", &Query{ID: QueryGetFolders, Params: []Slot{
			slot(ParamFolderLogicalID, "('urn:uuid:a')"), slot(ParamFolderUniqueID, "('1.2.3')")}},
			[]string{ErrCodeStoredQueryParamNumber}},
		{"GetSubmissionSetAndContents uuid list", &Query{ID: QueryGetSubmissionSetAndContents, Params: []Slot{
			slot(ParamSubmissionSetEntryUUID, "('urn:uuid:a','urn:uuid:b')")}},
			[]string{ErrCodeStoredQueryParamNumber}},
		{"GetRelatedDocuments without association types", &Query{ID: QueryGetRelatedDocuments, Params: []Slot{
			slot(ParamDocumentEntryEntryUUID, "'urn:uuid:a'")}},
			[]string{ErrCodeStoredQueryMissingParam}},
		{"GetAll missing folder status", &Query{ID: QueryGetAll, Params: []Slot{
			slot(ParamPatientID, testPatient), slot(ParamDocumentEntryStatus, approved), slot(ParamSubmissionSetStatus, approved)}},
			[]string{ErrCodeStoredQueryMissingParam}},
		{"FindDocumentsByReferenceId repeated slots", &Query{ID: QueryFindDocumentsByReferenceID, Params: []Slot{
			slot(ParamDocumentEntryPatientID, testPatient), slot(ParamDocumentEntryStatus, approved),
			slot(ParamDocumentEntryReferenceIDList, "('a^^^^urn:x')"), slot(ParamDocumentEntryReferenceIDList, "('b^^^^urn:x')")}}, nil},
		{"FindDocumentsByReferenceId without reference ids", &Query{ID: QueryFindDocumentsByReferenceID, Params: []Slot{
			slot(ParamDocumentEntryPatientID, testPatient), slot(ParamDocumentEntryStatus, approved)}},
			[]string{ErrCodeStoredQueryMissingParam}},
		{"too many values", &Query{ID: QueryGetDocuments, Params: []Slot{
			slot(ParamDocumentEntryEntryUUID, "("+strings.Repeat("'urn:uuid:a',", MaxParamValues)+"'urn:uuid:b')")}},
			[]string{ErrCodeRegistryError}},
		{"FindSubmissionSets author is single-valued", &Query{ID: QueryFindSubmissionSets, Params: []Slot{
			slot(ParamSubmissionSetPatientID, testPatient), slot(ParamSubmissionSetStatus, approved),
			slot(ParamSubmissionSetAuthorPerson, "('%a%','%b%')")}},
			[]string{ErrCodeStoredQueryParamNumber}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			p, errs := parseParams(storedQueries[tc.q.ID], tc.q)
			var got []string
			for _, e := range errs {
				got = append(got, e.Code)
				if e.Severity != SeverityError || e.Context == "" {
					t.Errorf("error without severity or context: %+v", e)
				}
			}
			if !reflect.DeepEqual(got, tc.codes) {
				t.Fatalf("codes = %v, want %v (%v)", got, tc.codes, errs)
			}
			if tc.codes == nil && p == nil {
				t.Fatal("no params")
			}
		})
	}

	p, errs := parseParams(storedQueries[QueryFindDocuments], findDocs(
		slot(ParamDocumentEntryEventCodeList, "('E1^^^1.2','E2^^^1.2')"),
		slot(ParamDocumentEntryEventCodeList, "('E3^^^1.2')"),
		slot(ParamDocumentEntryClassCode, "('A00-1^^^9602')", "('E00-1^^^9602')"),
	))
	if errs != nil {
		t.Fatal(errs)
	}
	wantEvents := []CodeSet{{{Code: "E1", Scheme: "1.2"}, {Code: "E2", Scheme: "1.2"}}, {{Code: "E3", Scheme: "1.2"}}}
	if got := p.codeAndOr(ParamDocumentEntryEventCodeList); !reflect.DeepEqual(got, wantEvents) {
		t.Errorf("events (AND of OR) = %v, want %v", got, wantEvents)
	}
	wantClasses := CodeSet{{Code: "A00-1", Scheme: "9602"}, {Code: "E00-1", Scheme: "9602"}}
	if got := p.codeSet(ParamDocumentEntryClassCode); !reflect.DeepEqual(got, wantClasses) {
		t.Errorf("classes (several Values of one slot are OR-ed) = %v, want %v", got, wantClasses)
	}
}

// TestParseParamsIgnoresUnknown: a parameter the stored query does not
// define is ignored with one Warning-severity XDSRegistryError naming it
// (ebRS 3.0 §6.3.2.1), and the defined ones still work.
func TestParseParamsIgnoresUnknown(t *testing.T) {
	q := &Query{ID: QueryFindDocuments, Params: []Slot{
		{Name: ParamDocumentEntryPatientID, Values: []string{testPatient}},
		{Name: ParamDocumentEntryStatus, Values: []string{"('" + StatusApproved + "')"}},
		{Name: ParamDocumentEntryPracticeSettingCode, Values: []string{"('S03^^^2.16.578.1.12.4.1.1.8655')"}},
		{Name: "$XDSDocumentEntryPracticeSettingCodeScheme", Values: []string{"('2.16.578.1.12.4.1.1.8655')"}},
		{Name: ParamFolderStatus, Values: []string{"('" + StatusApproved + "')"}},
		{Name: "$" + strings.Repeat("x", 200), Values: []string{"'y'"}},
	}}
	p, errs := parseParams(storedQueries[QueryFindDocuments], q)
	if errs != nil {
		t.Fatal(errs)
	}
	if got := p.codeSet(ParamDocumentEntryPracticeSettingCode); len(got) != 1 || got[0].Code != "S03" {
		t.Errorf("practice setting = %v", got)
	}
	if len(p.warnings) != 3 {
		t.Fatalf("warnings = %v, want 3", p.warnings)
	}
	for i, name := range []string{"$XDSDocumentEntryPracticeSettingCodeScheme", ParamFolderStatus, "$xxxxx"} {
		w := p.warnings[i]
		if w.Code != ErrCodeRegistryError || w.Severity != SeverityWarning || !strings.Contains(w.Context, name) ||
			!strings.Contains(w.Context, "FindDocuments") || len(w.Context) > 200 {
			t.Errorf("warning %d = %+v", i, w)
		}
	}
}

// TestIPFInjectionRequest reads IPF's iti18request.xml: its patient id
// value yields exactly one value (which is not a valid CX, so the query
// fails with a clear error), and the quoted and unquoted creation-time
// bounds both parse.
func TestIPFInjectionRequest(t *testing.T) {
	raw, err := os.ReadFile("../testdata/registry/iti18request-ipf.xml")
	if err != nil {
		t.Fatal(err)
	}
	var doc struct {
		AdhocQuery struct {
			ID    string `xml:"id,attr"`
			Slots []struct {
				Name   string   `xml:"name,attr"`
				Values []string `xml:"ValueList>Value"`
			} `xml:"Slot"`
		} `xml:"AdhocQuery"`
	}
	if err := xml.Unmarshal(raw, &doc); err != nil {
		t.Fatal(err)
	}
	q := &Query{ID: doc.AdhocQuery.ID, ReturnType: ReturnLeafClass}
	for _, s := range doc.AdhocQuery.Slots {
		q.Params = append(q.Params, Slot{Name: s.Name, Values: s.Values})
	}
	var pidSlot Slot
	for _, s := range q.Params {
		if s.Name == ParamDocumentEntryPatientID {
			pidSlot = s
		}
	}
	items, code, msg := decodeSlot(kindPatientID, pidSlot)
	if msg != "" || len(items) != 1 {
		t.Fatalf("patient id slot decoded to %q (%s %s), want exactly one value", items, code, msg)
	}
	if !strings.Contains(items[0], "593603^^^&2.16.756.5.33.2.5.1.5.1&ISO") {
		t.Errorf("value %q lost the patient id", items[0])
	}

	_, errs := parseParams(storedQueries[q.ID], q)
	if len(errs) != 1 || errs[0].Code != ErrCodeRegistryError || !strings.Contains(errs[0].Context, ParamDocumentEntryPatientID) {
		t.Fatalf("errors = %v, want one XDSRegistryError naming %s", errs, ParamDocumentEntryPatientID)
	}

	// With a well-formed patient id the rest of the request is valid:
	// '20221015151515' (quoted) and 20221016161616 (unquoted).
	for i := range q.Params {
		if q.Params[i].Name == ParamDocumentEntryPatientID {
			q.Params[i].Values = []string{"'593603^^^&2.16.756.5.33.2.5.1.5.1&ISO'"}
		}
	}
	p, errs := parseParams(storedQueries[q.ID], q)
	if errs != nil {
		t.Fatal(errs)
	}
	if tr := p.timeRange(ParamDocumentEntryCreationTimeFrom, ParamDocumentEntryCreationTimeTo); tr != (TimeRange{From: "20221015151515", To: "20221016161616"}) {
		t.Errorf("creation time = %+v", tr)
	}
}
