package mhd

import (
	"encoding/base64"
	"encoding/json"
	"net/url"
	"regexp"
	"strings"
	"testing"

	"pjd/gateway/fhir"
	"pjd/registry"
	"pjd/registry/oid"
)

func fullRelations() []*registry.Association {
	d := fullEntry()
	return []*registry.Association{
		{ID: "urn:uuid:a0000000-0000-4000-8000-000000000001", Type: registry.AssocReplace, Source: d.ID, Target: "urn:uuid:b0000000-0000-4000-8000-000000000001", Status: registry.StatusApproved},
		{ID: "urn:uuid:a0000000-0000-4000-8000-000000000002", Type: registry.AssocAppend, Source: d.ID, Target: "urn:uuid:b0000000-0000-4000-8000-000000000002", Status: registry.StatusApproved},
		{ID: "urn:uuid:a0000000-0000-4000-8000-000000000003", Type: registry.AssocTransform, Source: d.ID, Target: "urn:uuid:b0000000-0000-4000-8000-000000000003", Status: registry.StatusApproved},
		{ID: "urn:uuid:a0000000-0000-4000-8000-000000000004", Type: registry.AssocSigns, Source: d.ID, Target: "urn:uuid:b0000000-0000-4000-8000-000000000004", Status: registry.StatusApproved},
		{ID: "urn:uuid:a0000000-0000-4000-8000-000000000005", Type: registry.AssocTransformReplace, Source: d.ID, Target: "urn:uuid:b0000000-0000-4000-8000-000000000005", Status: registry.StatusApproved},
		// Not rendered: the entry is the target, or the type has no code.
		{ID: "urn:uuid:a0000000-0000-4000-8000-000000000006", Type: registry.AssocReplace, Source: "urn:uuid:c0000000-0000-4000-8000-000000000001", Target: d.ID, Status: registry.StatusApproved},
		{ID: "urn:uuid:a0000000-0000-4000-8000-000000000007", Type: registry.AssocHasMember, Source: "urn:uuid:c0000000-0000-4000-8000-000000000002", Target: d.ID, Status: registry.StatusApproved},
	}
}

func TestDocumentReferenceGolden(t *testing.T) {
	dr := DocumentReferenceFrom(fullEntry(), fullRelations(), renderOpts)
	golden(t, "documentreference_full.json", dr)

	// The mapping, checked element by element where a golden diff would
	// not say why.
	if dr.MasterIdentifier.Value != "urn:oid:2.16.578.1.12.4.1.7.2.1.4711" || dr.MasterIdentifier.System != SystemURI {
		t.Errorf("masterIdentifier = %+v", dr.MasterIdentifier)
	}
	if dr.Identifier[0].Use != "official" || dr.Identifier[0].Value != fullEntry().ID {
		t.Errorf("identifier = %+v", dr.Identifier)
	}
	if dr.ID != "6f2c4b1e-4a0e-4d7e-9c0a-1b2c3d4e5f60" {
		t.Errorf("id = %q", dr.ID)
	}
	if dr.Subject.Identifier.System != "urn:oid:"+oid.FNR || dr.Subject.Identifier.Value != fnrKari {
		t.Errorf("subject = %+v", dr.Subject)
	}
	if dr.Date != "2024-03-15T14:30:00Z" || dr.Content[0].Attachment.Creation != "2024-03-15T14:30:00Z" {
		t.Errorf("date = %q, creation = %q", dr.Date, dr.Content[0].Attachment.Creation)
	}
	if p := dr.Context.Period; p.Start != "2024-03-10" || p.End != "2024-03-15T12:00:00Z" {
		t.Errorf("period = %+v", p)
	}
	wantRel := []string{"replaces", "appends", "transforms", "signs", "replaces"}
	if len(dr.RelatesTo) != len(wantRel) {
		t.Fatalf("relatesTo = %+v", dr.RelatesTo)
	}
	for i, r := range dr.RelatesTo {
		if r.Code != wantRel[i] || !strings.HasPrefix(r.Target.Reference, "DocumentReference/b0000000-") {
			t.Errorf("relatesTo[%d] = %+v", i, r)
		}
	}
	a := dr.Content[0].Attachment
	raw, _ := base64.StdEncoding.DecodeString(a.Hash)
	if len(raw) != 20 {
		t.Errorf("hash %q is not base64 of 20 bytes", a.Hash)
	}
	u, err := url.Parse(a.URL)
	if err != nil || u.Scheme != "https" || u.Path != RetrievePath {
		t.Fatalf("attachment url %q", a.URL)
	}
	repo, uid, err := ParseRetrieveQuery(u.Query())
	if err != nil || repo != "2.16.578.1.12.4.1.7.3.1" || uid != fullEntry().UniqueID {
		t.Errorf("attachment url %q → %q %q %v", a.URL, repo, uid, err)
	}
	if dr.Content[0].Format.Display != "PDF" {
		t.Errorf("format display not filled from the value set: %+v", dr.Content[0].Format)
	}
	if dr.Category[0].Coding[0].Display != "Epikriser og sammenfatninger" {
		t.Errorf("registered display must win: %+v", dr.Category)
	}
	if dr.Custodian == nil || dr.Custodian.Reference != "#author1-org1" {
		t.Errorf("custodian = %+v", dr.Custodian)
	}
	if len(dr.Context.Encounter) != 1 || len(dr.Context.Related) != 1 || dr.Context.Related[0].Identifier.Value != "REF-99&1" {
		t.Errorf("encounter %+v related %+v", dr.Context.Encounter, dr.Context.Related)
	}
}

func TestDocumentReferenceAuthors(t *testing.T) {
	d := fullEntry()
	dr := DocumentReferenceFrom(d, nil, renderOpts)
	byID := map[string]fhir.Resource{}
	for _, r := range dr.Contained {
		byID[r.ID()] = r
	}
	role, ok := byID["author1-role"].Value.(*fhir.PractitionerRole)
	if !ok {
		t.Fatalf("no PractitionerRole author1-role in %v", keys(byID))
	}
	if role.Practitioner.Reference != "#author1" || role.Organization.Reference != "#author1-org1" {
		t.Errorf("role links %+v %+v", role.Practitioner, role.Organization)
	}
	if role.Code[0].Coding[0].Code != "LE" || role.Code[0].Coding[0].System != "urn:oid:2.16.578.1.12.4.1.1.9060" || role.Code[0].Coding[0].Display != "Lege" {
		t.Errorf("role code %+v", role.Code)
	}
	if role.Specialty[0].Text != "Kardiologi" {
		t.Errorf("specialty %+v", role.Specialty)
	}
	p := byID["author1"].Value.(*fhir.Practitioner)
	if p.Identifier[0].System != "urn:oid:"+oid.HPR || p.Identifier[0].Value != hprLege || p.Name[0].Family != "Lege" || p.Name[0].Given[0] != "Lise" || p.Name[0].Prefix[0] != "Dr." {
		t.Errorf("practitioner %+v", p)
	}
	if len(p.Telecom) != 2 || p.Telecom[0].System != "phone" || p.Telecom[1].System != "email" {
		t.Errorf("telecom %+v", p.Telecom)
	}
	o := byID["author1-org1"].Value.(*fhir.Organization)
	if o.Identifier[0].System != "urn:oid:"+oid.OrgNr || o.Identifier[0].Value != orgnrOUS || o.Name != "Oslo universitetssykehus HF" {
		t.Errorf("organization %+v", o)
	}
	if o2 := byID["author1-org2"].Value.(*fhir.Organization); o2.Identifier[0].System != "urn:oid:"+oid.RESH {
		t.Errorf("second institution %+v", o2)
	}
	want := []string{"#author1-role", "#author1-org2", "#author2-org1"}
	if len(dr.Author) != len(want) {
		t.Fatalf("author = %+v", dr.Author)
	}
	for i, w := range want {
		if dr.Author[i].Reference != w {
			t.Errorf("author[%d] = %q, want %q", i, dr.Author[i].Reference, w)
		}
	}
	sp := byID["sourcePatient"].Value.(*fhir.Patient)
	if sp.BirthDate != "1985-01-13" || sp.Gender != "female" || len(sp.Identifier) != 2 || sp.Name[0].Given[1] != "Synnøve" || sp.Address[0].City != "Oslo" {
		t.Errorf("source patient %+v", sp)
	}
	if dr.Authenticator.Reference != "#authenticator" {
		t.Errorf("authenticator %+v", dr.Authenticator)
	}
}

func keys(m map[string]fhir.Resource) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	return out
}

// TestDocumentReferenceMinimal: an entry with only what XDS requires
// renders no empty elements, and a Deprecated one is superseded.
func TestDocumentReferenceMinimal(t *testing.T) {
	d := &registry.DocumentEntry{
		ID: "urn:uuid:6f2c4b1e-4a0e-4d7e-9c0a-000000000001", Status: registry.StatusDeprecated, UniqueID: "1.2.3.4",
		PatientID: patientOla, MimeType: "text/plain", CreationTime: "2024",
		Class: registry.Code{Code: "A00-1", Scheme: oid.Volven9602}, Type: registry.Code{Code: "A03-2", Scheme: oid.Volven9602},
		Format: registry.Code{Code: "urn:no:ehelse:document:text", Scheme: "2.16.578.1.12.4.1.1.9604"},
	}
	dr := DocumentReferenceFrom(d, nil, RenderOptions{BaseURL: "http://localhost:8080/"})
	b, err := json.Marshal(dr)
	if err != nil {
		t.Fatal(err)
	}
	s := string(b)
	for _, bad := range []string{`""`, `[]`, `{}`, `null`} {
		if strings.Contains(s, bad) {
			t.Errorf("rendered JSON has an empty value %s: %s", bad, s)
		}
	}
	if dr.Status != "superseded" || dr.Date != "2024-01-01T00:00:00Z" || dr.Content[0].Attachment.Creation != "2024" {
		t.Errorf("status %q date %q creation %q", dr.Status, dr.Date, dr.Content[0].Attachment.Creation)
	}
	if dr.Content[0].Attachment.URL != "" {
		t.Errorf("no repositoryUniqueId and no URI, yet url %q", dr.Content[0].Attachment.URL)
	}
	d.URI = "https://example.no/doc/1"
	if got := DocumentReferenceFrom(d, nil, RenderOptions{}).Content[0].Attachment.URL; got != d.URI {
		t.Errorf("URI not used: %q", got)
	}
}

func TestRetrieveURLEscapes(t *testing.T) {
	for _, uid := range []string{"1.2.3^ext", "1.2.3&x=1", "2.16.578.1.12.4.1.7.2.1.4711", "a/b?c#d"} {
		u := RetrieveURL("https://pjd.test.nhn.no/", "2.16.578.1.12.4.1.7.3.1", uid)
		if strings.Count(u, "?") != 1 || strings.Contains(u, "#") || strings.Contains(u, "//mhd") {
			t.Errorf("%q: badly formed %q", uid, u)
		}
		pu, err := url.Parse(u)
		if err != nil {
			t.Fatal(err)
		}
		repo, got, err := ParseRetrieveQuery(pu.Query())
		if err != nil || got != uid || repo != "2.16.578.1.12.4.1.7.3.1" {
			t.Errorf("%q → %q (%v)", uid, got, err)
		}
	}
}

func folderAndSet() (*registry.SubmissionSet, *registry.Folder) {
	ss := &registry.SubmissionSet{
		ID: "urn:uuid:5e1f0000-0000-4000-8000-000000000001", Status: registry.StatusApproved,
		UniqueID: "2.16.578.1.12.4.1.7.2.2.1001", SourceID: "2.16.578.1.12.4.1.7.4.1", PatientID: patientKari,
		SubmissionTime: "20240315150102", Title: "Utskrivning kardiologi", Comments: "Sendt ved utskrivning",
		ContentType: registry.Code{Code: "A00-1", Scheme: oid.Volven9602, Display: "Epikriser og sammenfatninger"},
		Authors: []registry.Author{{
			Person:       hprLege + "^Lege^Lise^^^^^^&" + oid.HPR + "&ISO",
			Institutions: []string{"Oslo universitetssykehus HF^^^^^&" + oid.OrgNr + "&ISO^^^^" + orgnrOUS},
		}},
		IntendedRecipients: []string{
			"Fastlegekontoret Majorstua^^^^^&" + oid.OrgNr + "&ISO^^^^912345678|1234567^Fastlege^Frida^^^^^^&" + oid.HPR + "&ISO",
			"|^Berg^Bjørn",
			"||^NET^Internet^post@example.no",
		},
	}
	f := &registry.Folder{
		ID: "urn:uuid:f01d0000-0000-4000-8000-000000000001", Status: registry.StatusDeprecated,
		UniqueID: "2.16.578.1.12.4.1.7.2.3.7", PatientID: patientKari, Title: "Hjerteoppfølging 2024",
		Comments: "Samler epikriser og svar", LastUpdateTime: "20240316080000",
		Codes: []registry.Code{{Code: "A00-1", Scheme: oid.Volven9602}, {Code: "E00-1", Scheme: oid.Volven9602, Display: "Bildediagnostikk"}},
	}
	return ss, f
}

func TestListGolden(t *testing.T) {
	ss, f := folderAndSet()
	docID := fullEntry().ID
	assocs := []*registry.Association{
		{ID: "urn:uuid:a1", Type: registry.AssocHasMember, Source: ss.ID, Target: docID},
		{ID: "urn:uuid:a2", Type: registry.AssocHasMember, Source: ss.ID, Target: f.ID},
		{ID: "urn:uuid:a3", Type: registry.AssocHasMember, Source: f.ID, Target: docID},
		{ID: "urn:uuid:a4", Type: registry.AssocHasMember, Source: ss.ID, Target: "urn:uuid:a3"},
		{ID: "urn:uuid:a5", Type: registry.AssocReplace, Source: docID, Target: "urn:uuid:b0000000-0000-4000-8000-000000000001"},
	}
	kind := func(id string) MemberKind {
		switch id {
		case docID:
			return MemberDocument
		case f.ID:
			return MemberFolder
		}
		return MemberOther
	}
	sl := ListFromSubmissionSet(ss, Members(ss.ID, assocs, kind), renderOpts)
	golden(t, "list_submissionset.json", sl)
	if len(sl.Entry) != 2 || sl.Entry[0].Item.Reference != "DocumentReference/6f2c4b1e-4a0e-4d7e-9c0a-1b2c3d4e5f60" || sl.Entry[1].Item.Reference != "List/f01d0000-0000-4000-8000-000000000001" {
		t.Errorf("entries %+v", sl.Entry)
	}
	if sl.Source == nil || sl.Source.Reference != "#author1-role" || sl.Source.Extension[0].URL != ExtAuthorOrg {
		t.Errorf("source %+v", sl.Source)
	}
	var ext []string
	for _, e := range sl.Extension {
		ext = append(ext, strings.TrimPrefix(e.URL, extBase))
	}
	if strings.Join(ext, ",") != "ihe-designationType,ihe-sourceId,ihe-intendedRecipient,ihe-intendedRecipient,ihe-intendedRecipient" {
		t.Errorf("extensions %v", ext)
	}
	fl := ListFromFolder(f, Members(f.ID, assocs, kind), renderOpts)
	golden(t, "list_folder.json", fl)
	if fl.Status != "retired" || len(fl.Extension) != 2 || fl.Code.Coding[0].Code != "folder" || fl.Date != "2024-03-16T08:00:00Z" {
		t.Errorf("folder %+v", fl)
	}
}

func TestSearchSetGolden(t *testing.T) {
	d1 := fullEntry()
	d2 := fullEntry()
	d2.ID, d2.UniqueID, d2.Status = "urn:uuid:6f2c4b1e-4a0e-4d7e-9c0a-1b2c3d4e5f61", "2.16.578.1.12.4.1.7.2.1.4712", registry.StatusDeprecated
	d2.LogicalID = d2.ID
	r1, r2 := DocumentReferenceFrom(d1, nil, renderOpts), DocumentReferenceFrom(d2, nil, renderOpts)
	warn := fhir.Outcome(fhir.Issue{Severity: fhir.SeverityWarning, Code: fhir.IssueInformational, Diagnostics: "1 document is not shown"})
	b := SearchSet([]fhir.Resource{fhir.R(&r1), fhir.R(&r2), fhir.R(&warn)}, 7,
		"https://pjd.test.nhn.no/fhir/R4/DocumentReference?_count=2&status=current",
		"https://pjd.test.nhn.no/fhir/R4/DocumentReference?_count=2&_page=TOKEN&status=current")
	golden(t, "searchset.json", b)
	if b.Entry[0].FullURL != "https://pjd.test.nhn.no/fhir/R4/DocumentReference/6f2c4b1e-4a0e-4d7e-9c0a-1b2c3d4e5f60" {
		t.Errorf("fullUrl %q", b.Entry[0].FullURL)
	}
	if b.Entry[2].Search.Mode != "outcome" || b.Entry[2].FullURL != "" {
		t.Errorf("outcome entry %+v", b.Entry[2])
	}
	if *b.Total != 7 || b.Link[1].Relation != "next" {
		t.Errorf("total/link %v %+v", *b.Total, b.Link)
	}
}

var (
	fhirDateTimeRE = regexp.MustCompile(`^([0-9]{4})(-(0[1-9]|1[0-2])(-(0[1-9]|[12][0-9]|3[01])(T([01][0-9]|2[0-3]):[0-5][0-9]:[0-5][0-9](\.[0-9]+)?(Z|[+-]((0[0-9]|1[0-3]):[0-5][0-9]|14:00)))?)?)?$`)
	fhirInstantRE  = regexp.MustCompile(`^[0-9]{4}-(0[1-9]|1[0-2])-(0[1-9]|[12][0-9]|3[01])T([01][0-9]|2[0-3]):[0-5][0-9]:[0-5][0-9](\.[0-9]+)?(Z|[+-]((0[0-9]|1[0-3]):[0-5][0-9]|14:00))$`)
)

// TestRenderedResourcesValid: every rendered resource unmarshals back to
// what was rendered and carries the elements the MHD Comprehensive
// profiles require, with FHIR date formats.
func TestRenderedResourcesValid(t *testing.T) {
	ss, f := folderAndSet()
	dr := DocumentReferenceFrom(fullEntry(), fullRelations(), renderOpts)
	sl := ListFromSubmissionSet(ss, []ListMember{{ID: fullEntry().ID, Kind: MemberDocument}}, renderOpts)
	fl := ListFromFolder(f, []ListMember{{ID: fullEntry().ID, Kind: MemberDocument}}, renderOpts)
	bundle := SearchSet([]fhir.Resource{fhir.R(&dr), fhir.R(&sl), fhir.R(&fl)}, 3, "https://x.test/fhir/R4/DocumentReference?status=current", "")
	raw, err := json.Marshal(bundle)
	if err != nil {
		t.Fatal(err)
	}
	var back fhir.Resource
	if err := json.Unmarshal(raw, &back); err != nil {
		t.Fatal(err)
	}
	again, _ := json.Marshal(back)
	if string(again) != string(raw) {
		t.Errorf("round trip changed the bundle:\n%s\n%s", raw, again)
	}
	b := back.Value.(*fhir.Bundle)
	if b.Type != "searchset" || len(b.Entry) != 3 {
		t.Fatalf("bundle %+v", b)
	}
	d := b.Entry[0].Resource.Value.(*fhir.DocumentReference)
	req := map[string]bool{
		"masterIdentifier":          d.MasterIdentifier != nil && d.MasterIdentifier.Value != "",
		"identifier (entryUUID)":    len(d.Identifier) > 0 && d.Identifier[0].Use == "official",
		"status":                    d.Status != "",
		"type":                      d.Type != nil,
		"category":                  len(d.Category) == 1,
		"subject":                   d.Subject != nil,
		"securityLabel":             len(d.SecurityLabel) > 0,
		"content":                   len(d.Content) == 1,
		"attachment.contentType":    d.Content[0].Attachment.ContentType != "",
		"attachment.language":       d.Content[0].Attachment.Language != "",
		"attachment.url":            d.Content[0].Attachment.URL != "",
		"attachment.creation":       fhirDateTimeRE.MatchString(d.Content[0].Attachment.Creation),
		"content.format":            d.Content[0].Format != nil,
		"context.facilityType":      d.Context.FacilityType != nil,
		"context.practiceSetting":   d.Context.PracticeSetting != nil,
		"context.sourcePatientInfo": d.Context.SourcePatientInfo != nil,
		"date is an instant":        fhirInstantRE.MatchString(d.Date),
		"period.start dateTime":     fhirDateTimeRE.MatchString(d.Context.Period.Start),
		"period.end dateTime":       fhirDateTimeRE.MatchString(d.Context.Period.End),
	}
	for _, c := range d.Contained {
		if c.Type() == "" {
			t.Errorf("contained resource without resourceType: %+v", c)
		}
	}
	for _, l := range []*fhir.List{b.Entry[1].Resource.Value.(*fhir.List), b.Entry[2].Resource.Value.(*fhir.List)} {
		kind := l.Code.Coding[0].Code
		req[kind+" identifier usual+official"] = len(l.Identifier) == 2 && l.Identifier[0].Use == "usual" && l.Identifier[1].Use == "official"
		req[kind+" status"] = l.Status == "current" || l.Status == "retired"
		req[kind+" mode working"] = l.Mode == "working"
		req[kind+" subject"] = l.Subject != nil
		req[kind+" date"] = fhirDateTimeRE.MatchString(l.Date)
		req[kind+" designationType"] = len(l.Extension) > 0 && l.Extension[0].URL == ExtDesignationType
		req[kind+" entry"] = len(l.Entry) == 1
	}
	req["submissionset sourceId"] = b.Entry[1].Resource.Value.(*fhir.List).Extension[1].URL == ExtSourceID
	for name, ok := range req {
		if !ok {
			t.Errorf("missing or malformed: %s", name)
		}
	}
}

func TestDTM(t *testing.T) {
	for _, c := range []struct{ dtm, dateTime, instant string }{
		{"2024", "2024", "2024-01-01T00:00:00Z"},
		{"202402", "2024-02", "2024-02-01T00:00:00Z"},
		{"20240229", "2024-02-29", "2024-02-29T00:00:00Z"},
		{"2024022913", "2024-02-29T13:00:00Z", "2024-02-29T13:00:00Z"},
		{"202402291307", "2024-02-29T13:07:00Z", "2024-02-29T13:07:00Z"},
		{"20240229130759", "2024-02-29T13:07:59Z", "2024-02-29T13:07:59Z"},
		{"20230229", "", ""}, // not a leap year
		{"2024130", "", ""},
		{"202413", "", ""},
		{"2024-01", "", ""},
		{"", "", ""},
	} {
		if got := dtmToDateTime(c.dtm); got != c.dateTime {
			t.Errorf("dtmToDateTime(%q) = %q, want %q", c.dtm, got, c.dateTime)
		}
		if got := dtmToInstant(c.dtm); got != c.instant {
			t.Errorf("dtmToInstant(%q) = %q, want %q", c.dtm, got, c.instant)
		}
	}
	for _, c := range []struct{ in, want string }{
		{"2020", "2020"}, {"2020-02", "202002"}, {"2020-02-01", "20200201"},
		{"2020-02-01T23:50:50-05:00", "20200202045050"}, {"2020-02-01T23:50:50.123Z", "20200201235050"},
		{"2020-02-01T23:50:50+14:00", "20200201095050"},
		{"2020-02-01T23:50:50", ""}, {"2020-02-01T23:50Z", ""}, {"2020-13", ""}, {"20200201", ""}, {"0000", ""},
	} {
		got, err := dateTimeToDTM(c.in)
		if (err != nil) != (c.want == "") || got != c.want {
			t.Errorf("dateTimeToDTM(%q) = %q, %v; want %q", c.in, got, err, c.want)
		}
	}
}

func TestNIN(t *testing.T) {
	for _, c := range []struct {
		nin   string
		valid bool
		oid   string
	}{
		{fnrKari, true, oid.FNR},
		{fnrOla, true, oid.FNR},
		{fnrNHN, true, oid.FNR},
		{dnrPer, true, oid.DNR},
		{"13818510018", false, ""}, // second check digit wrong
		{"1381851001", false, ""},
		{"1381851001a", false, ""},
		{"", false, ""},
	} {
		if got := registry.NorwegianIDCheckDigitsValid(c.nin); got != c.valid {
			t.Errorf("NorwegianIDCheckDigitsValid(%q) = %v", c.nin, got)
		}
		if c.valid && oid.NationalID(c.nin) != c.oid {
			t.Errorf("oid.NationalID(%q) = %q, want %q", c.nin, oid.NationalID(c.nin), c.oid)
		}
	}
}
