package mhd

import (
	"bytes"
	"encoding/json"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"pjd/gateway/fhir"
	"pjd/registry"
	"pjd/registry/oid"
)

func readProvide(t testing.TB, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(testdataDir, "provide", name))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

const limit = 1 << 20

func TestParseProvideBundle(t *testing.T) {
	p, err := ParseProvideBundle(bytes.NewReader(readProvide(t, "iti65_norwegian.json")), limit)
	if err != nil {
		t.Fatal(err)
	}
	s := p.Submission
	golden(t, "provide_submission.json", s)

	ss := s.SubmissionSet
	if ss.ID != "urn:uuid:aaaaaaaa-bbbb-cccc-dddd-e00333300001" || ss.UniqueID != "2.16.578.1.12.4.1.7.2.2.5001" ||
		ss.SourceID != "2.16.578.1.12.4.1.7.4.1" || ss.PatientID != patientKari || ss.SubmissionTime != "20240315140102" ||
		ss.ContentType.Code != "A00-1" || ss.ContentType.Scheme != oid.Volven9602 {
		t.Errorf("submission set %+v", ss)
	}
	if len(ss.Authors) != 1 || ss.Authors[0].Person != "9144900^Lege^Lise^^^^^^&"+oid.HPR+"&ISO" ||
		ss.Authors[0].Institutions[0] != "Oslo universitetssykehus HF^^^^^&"+oid.OrgNr+"&ISO^^^^993467049" {
		t.Errorf("submission set author %+v", ss.Authors)
	}
	if len(ss.IntendedRecipients) != 1 || ss.IntendedRecipients[0] != "|1234567^Fastlege^Frida^^^^^^&"+oid.HPR+"&ISO|^NET^Internet^frida.fastlege@example.no" {
		t.Errorf("intended recipients %q", ss.IntendedRecipients)
	}
	if len(s.Documents) != 1 || len(s.Folders) != 1 {
		t.Fatalf("%d documents, %d folders", len(s.Documents), len(s.Folders))
	}
	d := s.Documents[0]
	checks := map[string]bool{
		"id":              d.ID == "urn:uuid:aaaaaaaa-bbbb-cccc-dddd-e00333300002",
		"uniqueId":        d.UniqueID == "2.16.578.1.12.4.1.7.2.1.5001",
		"patient":         d.PatientID == patientKari,
		"status":          d.Status == registry.StatusApproved && d.ObjectType == registry.ObjectTypeStable,
		"mime":            d.MimeType == "text/plain",
		"language":        d.LanguageCode == "nb-NO",
		"creation (UTC)":  d.CreationTime == "20240315133000",
		"service times":   d.ServiceStartTime == "20240310" && d.ServiceStopTime == "20240315120000",
		"hash (hex text)": d.Hash == "0a4d55a8d778e5022fab701977c5d840bbc486d0",
		"size":            d.Size != nil && *d.Size == 11,
		"class/type":      d.Class.Code == "A00-1" && d.Type.Code == "A03-2" && d.Type.Scheme == oid.Volven9602,
		"format":          d.Format.Code == "urn:no:ehelse:document:text",
		"facility":        d.FacilityType.Code == "86.101" && d.PracticeSetting.Code == "1",
		"confidentiality": len(d.Confidentiality) == 1 && d.Confidentiality[0].Scheme == oid.Volven9603,
		"events":          len(d.Events) == 1 && d.Events[0].Code == "I21",
		"title/comments":  d.Title == "Epikrise" && d.Comments == "Utskrevet til hjemmet.",
		"source patient":  d.SourcePatientID == "4711^^^&2.16.578.1.12.4.5.100.1&ISO",
		"legal auth":      d.LegalAuthenticator == "9144900^Lege^Lise^^^Dr.^^^&"+oid.HPR+"&ISO",
		"author role":     len(d.Authors) == 1 && d.Authors[0].Roles[0] == "LE^^^&2.16.578.1.12.4.1.1.9060&ISO" && d.Authors[0].Specialties[0] == "Kardiologi",
		"author telecom":  len(d.Authors) == 1 && d.Authors[0].Telecoms[0] == "^WPN^PH^^^^^^^^^+4722000000",
		"reference ids": strings.Join(d.ReferenceIDs, " ") ==
			"REF-99^^^&2.16.578.1.12.4.5.100.2&ISO^urn:ihe:iti:xds:2013:order E-2024-77^^^&2.16.578.1.12.4.1.4.102&ISO^urn:ihe:iti:xds:2015:encounterId",
	}
	for name, ok := range checks {
		if !ok {
			t.Errorf("document entry: %s wrong: %+v", name, d)
		}
	}
	f := s.Folders[0]
	if f.ID != "urn:uuid:aaaaaaaa-bbbb-cccc-dddd-e00333300005" || f.PatientID != patientKari || f.UniqueID != "2.16.578.1.12.4.1.7.2.3.5001" || len(f.Codes) != 1 {
		t.Errorf("folder %+v", f)
	}
	// Associations: RPLC, SS→DE Original, SS→Folder, Folder→DE and its
	// SS HasMember.
	var got []string
	for _, a := range s.Associations {
		got = append(got, strings.TrimPrefix(strings.TrimPrefix(a.Type, "urn:ihe:iti:2007:AssociationType:"), "urn:oasis:names:tc:ebxml-regrep:AssociationType:")+
			" "+short(a.Source)+"→"+short(a.Target)+" "+a.SubmissionSetStatus)
	}
	want := []string{
		"RPLC 02→b0000000-0000-4000-8000-000000000001 ",
		"HasMember 01→02 Original",
		"HasMember 01→05 ",
		"HasMember 05→02 ",
		"HasMember 01→assoc-4 ",
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("associations\n got %q\nwant %q", got, want)
	}
	if len(p.Documents) != 1 || p.Documents[0].ID != d.ID || p.Documents[0].ContentType != "text/plain" || p.Documents[0].Size != 11 {
		t.Fatalf("documents %+v", p.Documents)
	}
	data, err := io.ReadAll(p.Documents[0].Data)
	if err != nil || string(data) != "Hello World" {
		t.Errorf("document data %q, %v", data, err)
	}

	// What was provided renders back to the same coded metadata.
	back := DocumentReferenceFrom(d, s.Associations, renderOpts)
	if back.Type.Coding[0].System != "urn:oid:"+oid.Volven9602 || back.Subject.Identifier.Value != fnrKari ||
		back.RelatesTo[0].Code != "replaces" || back.RelatesTo[0].Target.Reference != "DocumentReference/b0000000-0000-4000-8000-000000000001" {
		t.Errorf("round trip: %+v", back)
	}

	if loc := ProvideResponse(p, nil, renderOpts).Entry[2].Response.Location; loc != "" {
		t.Errorf("Binary location before the repository set repositoryUniqueId: %q", loc)
	}
	d.RepositoryUniqueID = "2.16.578.1.12.4.1.7.3.1" // what the repository sets
	resp := ProvideResponse(p, map[string]string{ss.ID: "urn:uuid:99999999-0000-4000-8000-000000000001"}, renderOpts)
	golden(t, "provide_response.json", resp)
	wantLoc := []string{
		"201 Created List/99999999-0000-4000-8000-000000000001",
		"201 Created DocumentReference/aaaaaaaa-bbbb-cccc-dddd-e00333300002",
		"201 Created " + RetrieveURL(renderOpts.BaseURL, "2.16.578.1.12.4.1.7.3.1", d.UniqueID),
		"201 Created List/aaaaaaaa-bbbb-cccc-dddd-e00333300005",
	}
	if resp.Type != "transaction-response" || len(resp.Entry) != len(wantLoc) {
		t.Fatalf("response %+v", resp)
	}
	for i, w := range wantLoc {
		if g := resp.Entry[i].Response.Status + " " + resp.Entry[i].Response.Location; g != w {
			t.Errorf("entry %d: %q, want %q", i, g, w)
		}
	}
}

func short(id string) string {
	if strings.HasPrefix(id, "urn:uuid:aaaaaaaa-bbbb-cccc-dddd-e003333000") {
		return id[len(id)-2:]
	}
	return strings.TrimPrefix(id, "urn:uuid:")
}

// TestParseProvideBundleReplaceWithPUT: the MHD replace pattern, where the
// replaced DocumentReference is PUT with status superseded in the same
// bundle.
func TestParseProvideBundleReplaceWithPUT(t *testing.T) {
	m := bundleMap(t)
	entries := m["entry"].([]any)
	dr := entries[1].(map[string]any)["resource"].(map[string]any)
	dr["relatesTo"] = []any{map[string]any{"code": "replaces", "target": map[string]any{"reference": "urn:uuid:cccccccc-0000-4000-8000-000000000001"}}}
	old := map[string]any{
		"fullUrl":  "urn:uuid:cccccccc-0000-4000-8000-000000000001",
		"resource": map[string]any{"resourceType": "DocumentReference", "id": "b0000000-0000-4000-8000-000000000009", "status": "superseded"},
		"request":  map[string]any{"method": "PUT", "url": "DocumentReference/b0000000-0000-4000-8000-000000000009"},
	}
	m["entry"] = append(entries, old)
	p, err := ParseProvideBundle(bytes.NewReader(mustJSON(t, m)), limit)
	if err != nil {
		t.Fatal(err)
	}
	a := p.Submission.Associations[0]
	if a.Type != registry.AssocReplace || a.Target != "urn:uuid:b0000000-0000-4000-8000-000000000009" {
		t.Errorf("replace association %+v", a)
	}
	resp := ProvideResponse(p, nil, renderOpts)
	if last := resp.Entry[len(resp.Entry)-1].Response; last.Status != "200 OK" || last.Location != "DocumentReference/b0000000-0000-4000-8000-000000000009" {
		t.Errorf("PUT entry response %+v", last)
	}
}

// TestParseProvideBundleXFRMRPLCAndInlineData: transforms + replaces on
// one target make XFRM_RPLC; attachment.data replaces the Binary; a hash
// in the FHIR form (base64 of the digest) is read.
func TestParseProvideBundleXFRMRPLCAndInlineData(t *testing.T) {
	m := bundleMap(t)
	entries := m["entry"].([]any)
	dr := entries[1].(map[string]any)["resource"].(map[string]any)
	target := map[string]any{"reference": "DocumentReference/b0000000-0000-4000-8000-000000000001"}
	dr["relatesTo"] = []any{map[string]any{"code": "transforms", "target": target}, map[string]any{"code": "replaces", "target": target}}
	att := dr["content"].([]any)[0].(map[string]any)["attachment"].(map[string]any)
	delete(att, "url")
	att["data"] = "SGVsbG8gV29ybGQ="
	att["hash"] = "Ck1VqNd45QIvq3AZd8XYQLvEhtA="
	m["entry"] = []any{entries[0], entries[1], entries[3]} // no Binary
	p, err := ParseProvideBundle(bytes.NewReader(mustJSON(t, m)), limit)
	if err != nil {
		t.Fatal(err)
	}
	if a := p.Submission.Associations[0]; a.Type != registry.AssocTransformReplace {
		t.Errorf("association %+v", a)
	}
	if b, _ := io.ReadAll(p.Documents[0].Data); string(b) != "Hello World" {
		t.Errorf("inline data %q", b)
	}
}

func bundleMap(t *testing.T) map[string]any {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal(readProvide(t, "iti65_norwegian.json"), &m); err != nil {
		t.Fatal(err)
	}
	return m
}

func mustJSON(t *testing.T, v any) []byte {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// entryRes returns the resource of entry i of a bundle map.
func entryRes(m map[string]any, i int) map[string]any {
	return m["entry"].([]any)[i].(map[string]any)["resource"].(map[string]any)
}

func TestParseProvideBundleRejects(t *testing.T) {
	type row struct {
		name    string
		mutate  func(m map[string]any)
		body    []byte
		status  int
		xdsCode string
		expr    string
	}
	rows := []row{
		{name: "not JSON", body: []byte("{"), status: 400, expr: "Bundle"},
		{name: "not a Bundle", mutate: func(m map[string]any) { m["resourceType"] = "Patient" }, status: 400, expr: "Bundle"},
		{name: "batch, not transaction", mutate: func(m map[string]any) { m["type"] = "batch" }, status: 400, expr: "Bundle.type"},
		{name: "no entries", mutate: func(m map[string]any) { m["entry"] = []any{} }, status: 400, expr: "Bundle.entry"},
		{name: "entry without resource", mutate: func(m map[string]any) { delete(m["entry"].([]any)[2].(map[string]any), "resource") }, status: 400, expr: "Bundle.entry[2].resource"},
		{name: "entry without request", mutate: func(m map[string]any) { delete(m["entry"].([]any)[2].(map[string]any), "request") }, status: 400, expr: "Bundle.entry[2].request"},
		{name: "entry without fullUrl", mutate: func(m map[string]any) { delete(m["entry"].([]any)[2].(map[string]any), "fullUrl") }, status: 400, expr: "Bundle.entry[2].fullUrl"},
		{name: "duplicate fullUrl", mutate: func(m map[string]any) {
			m["entry"].([]any)[3].(map[string]any)["fullUrl"] = "urn:uuid:aaaaaaaa-bbbb-cccc-dddd-e00333300003"
		}, status: 400, expr: "Bundle.entry[3].fullUrl"},
		{name: "wrong method", mutate: func(m map[string]any) {
			m["entry"].([]any)[2].(map[string]any)["request"] = map[string]any{"method": "DELETE", "url": "Binary"}
		}, status: 400, expr: "Bundle.entry[2].request"},
		{name: "PUT that is not a supersede", mutate: func(m map[string]any) {
			m["entry"].([]any)[1].(map[string]any)["request"] = map[string]any{"method": "PUT", "url": "DocumentReference/aaaaaaaa-bbbb-cccc-dddd-e00333300002"}
		}, status: 400, expr: "Bundle.entry[1].request"},
		{name: "Patient resource", mutate: func(m map[string]any) {
			m["entry"] = append(m["entry"].([]any), map[string]any{"fullUrl": "urn:uuid:dddddddd-0000-4000-8000-000000000001",
				"resource": map[string]any{"resourceType": "Patient"}, "request": map[string]any{"method": "POST", "url": "Patient"}})
		}, status: 400, expr: "Bundle.entry[4].resource"},
		{name: "resource of wrong shape", mutate: func(m map[string]any) { entryRes(m, 1)["status"] = 7 }, status: 400, expr: "Bundle.entry[1].resource"},
		{name: "no SubmissionSet", mutate: func(m map[string]any) {
			entryRes(m, 0)["code"] = map[string]any{"coding": []any{map[string]any{"system": SystemListTypes, "code": "folder"}}}
		}, status: 422, xdsCode: registry.ErrCodeRegistryMetadataError, expr: "Bundle.entry"},
		{name: "two SubmissionSets", mutate: func(m map[string]any) {
			entryRes(m, 3)["code"] = map[string]any{"coding": []any{map[string]any{"system": SystemListTypes, "code": "submissionset"}}}
		}, status: 422, xdsCode: registry.ErrCodeRegistryMetadataError, expr: "Bundle.entry[3].resource.code"},
		{name: "List with another code", mutate: func(m map[string]any) {
			entryRes(m, 3)["code"] = map[string]any{"coding": []any{map[string]any{"code": "worklist"}}}
		}, status: 400, expr: "Bundle.entry[3].resource.code"},
		{name: "patient differs", mutate: func(m map[string]any) {
			entryRes(m, 1)["subject"] = map[string]any{"identifier": map[string]any{"system": "urn:oid:" + oid.FNR, "value": fnrOla}}
		}, status: 422, xdsCode: registry.ErrCodePatientIDDoesNotMatch, expr: "Bundle.entry[1].resource.subject"},
		{name: "folder patient differs", mutate: func(m map[string]any) {
			entryRes(m, 3)["subject"] = map[string]any{"reference": "Patient?identifier=urn:oid:" + oid.FNR + "|" + fnrOla}
		}, status: 422, xdsCode: registry.ErrCodePatientIDDoesNotMatch, expr: "Bundle.entry[3].resource.subject"},
		{name: "literal patient reference", mutate: func(m map[string]any) { entryRes(m, 0)["subject"] = map[string]any{"reference": "Patient/ex-patient"} },
			status: 422, xdsCode: registry.ErrCodeUnknownPatientID, expr: "Bundle.entry[0].resource.subject"},
		{name: "patient F-nr check digit", mutate: func(m map[string]any) {
			entryRes(m, 0)["subject"] = map[string]any{"identifier": map[string]any{"system": "urn:oid:" + oid.FNR, "value": "13818510018"}}
		}, status: 422, xdsCode: registry.ErrCodeUnknownPatientID, expr: "Bundle.entry[0].resource.subject"},
		{name: "no subject", mutate: func(m map[string]any) { delete(entryRes(m, 1), "subject") },
			status: 422, xdsCode: registry.ErrCodeUnknownPatientID, expr: "Bundle.entry[1].resource.subject"},
		{name: "unreferenced Binary", mutate: func(m map[string]any) {
			att := entryRes(m, 1)["content"].([]any)[0].(map[string]any)["attachment"].(map[string]any)
			delete(att, "url")
			att["data"] = "SGVsbG8gV29ybGQ="
		}, status: 422, xdsCode: registry.ErrCodeMissingDocumentMetadata, expr: "Bundle.entry[2]"},
		{name: "DocumentReference without document", mutate: func(m map[string]any) {
			att := entryRes(m, 1)["content"].([]any)[0].(map[string]any)["attachment"].(map[string]any)
			delete(att, "url")
			m["entry"] = append(m["entry"].([]any)[:2], m["entry"].([]any)[3])
		}, status: 422, xdsCode: registry.ErrCodeMissingDocument, expr: "Bundle.entry[1].resource.content[0].attachment"},
		{name: "url to a missing Binary", mutate: func(m map[string]any) {
			entryRes(m, 1)["content"].([]any)[0].(map[string]any)["attachment"].(map[string]any)["url"] = "https://example.org/doc.pdf"
		}, status: 422, xdsCode: registry.ErrCodeMissingDocument, expr: "Bundle.entry[1].resource.content[0].attachment.url"},
		{name: "no content", mutate: func(m map[string]any) { delete(entryRes(m, 1), "content") },
			status: 422, xdsCode: registry.ErrCodeMissingDocument, expr: "Bundle.entry[1].resource.content"},
		{name: "bad base64", mutate: func(m map[string]any) { entryRes(m, 2)["data"] = "not base64!" },
			status: 400, expr: "Bundle.entry[1].resource.content[0].attachment"},
		{name: "size mismatch", mutate: func(m map[string]any) {
			entryRes(m, 1)["content"].([]any)[0].(map[string]any)["attachment"].(map[string]any)["size"] = 12
		}, status: 422, xdsCode: registry.ErrCodeRepositoryMetadataError, expr: "Bundle.entry[1].resource.content[0].attachment.size"},
		{name: "hash mismatch", mutate: func(m map[string]any) {
			entryRes(m, 1)["content"].([]any)[0].(map[string]any)["attachment"].(map[string]any)["hash"] = "AAAAAAAAAAAAAAAAAAAAAAAAAAA="
		}, status: 422, xdsCode: registry.ErrCodeRepositoryMetadataError, expr: "Bundle.entry[1].resource.content[0].attachment.hash"},
		{name: "hash not SHA-1", mutate: func(m map[string]any) {
			entryRes(m, 1)["content"].([]any)[0].(map[string]any)["attachment"].(map[string]any)["hash"] = "AAAA"
		}, status: 400, expr: "Bundle.entry[1].resource.content[0].attachment.hash"},
		{name: "bad creation", mutate: func(m map[string]any) {
			entryRes(m, 1)["content"].([]any)[0].(map[string]any)["attachment"].(map[string]any)["creation"] = "2024-03-15T14:30:00"
		}, status: 400, expr: "Bundle.entry[1].resource.content[0].attachment.creation"},
		{name: "bad relatesTo code", mutate: func(m map[string]any) {
			entryRes(m, 1)["relatesTo"] = []any{map[string]any{"code": "succeeds", "target": map[string]any{"reference": "DocumentReference/b0000000-0000-4000-8000-000000000001"}}}
		}, status: 400, expr: "Bundle.entry[1].resource.relatesTo[0].code"},
		{name: "relatesTo a document of this bundle", mutate: func(m map[string]any) {
			entryRes(m, 1)["relatesTo"] = []any{map[string]any{"code": "appends", "target": map[string]any{"reference": "urn:uuid:aaaaaaaa-bbbb-cccc-dddd-e00333300002"}}}
		}, status: 422, xdsCode: registry.ErrCodeUnresolvedReference, expr: "Bundle.entry[1].resource.relatesTo[0].target"},
		{name: "relatesTo not a UUID", mutate: func(m map[string]any) {
			entryRes(m, 1)["relatesTo"] = []any{map[string]any{"code": "appends", "target": map[string]any{"reference": "DocumentReference/123"}}}
		}, status: 422, xdsCode: registry.ErrCodeUnresolvedReference, expr: "Bundle.entry[1].resource.relatesTo[0].target"},
		{name: "author not contained", mutate: func(m map[string]any) {
			entryRes(m, 1)["author"] = []any{map[string]any{"reference": "Practitioner/1"}}
		},
			status: 422, xdsCode: registry.ErrCodeRegistryMetadataError, expr: "Bundle.entry[1].resource.author[0]"},
		{name: "sourcePatientInfo not contained", mutate: func(m map[string]any) {
			entryRes(m, 1)["context"].(map[string]any)["sourcePatientInfo"] = map[string]any{"reference": "Patient/1"}
		}, status: 422, xdsCode: registry.ErrCodeRegistryMetadataError, expr: "Bundle.entry[1].resource.context.sourcePatientInfo"},
		{name: "SubmissionSet entry unresolved", mutate: func(m map[string]any) {
			entryRes(m, 0)["entry"] = []any{map[string]any{"item": map[string]any{"reference": "urn:uuid:eeeeeeee-0000-4000-8000-00000000000x"}}}
		}, status: 422, xdsCode: registry.ErrCodeUnresolvedReference, expr: "Bundle.entry[0].resource.entry[0].item"},
		{name: "folder entry is a Binary", mutate: func(m map[string]any) {
			entryRes(m, 3)["entry"] = []any{map[string]any{"item": map[string]any{"reference": "urn:uuid:aaaaaaaa-bbbb-cccc-dddd-e00333300003"}}}
		}, status: 422, xdsCode: registry.ErrCodeRegistryMetadataError, expr: "Bundle.entry[3].resource.entry[0].item"},
		{name: "superseded DocumentReference POSTed", mutate: func(m map[string]any) { entryRes(m, 1)["status"] = "superseded" },
			status: 400, expr: "Bundle.entry[1].resource.status"},
		{name: "IPF sample as it is (LOINC, Patient/ex-patient)", body: readProvide(t, "ipf_test.json"),
			status: 422, xdsCode: registry.ErrCodeUnknownPatientID, expr: "Bundle.entry[0].resource.subject"},
	}
	for _, c := range rows {
		t.Run(c.name, func(t *testing.T) {
			body := c.body
			if body == nil {
				m := bundleMap(t)
				c.mutate(m)
				body = mustJSON(t, m)
			}
			p, err := ParseProvideBundle(bytes.NewReader(body), limit)
			if err == nil {
				t.Fatalf("accepted: %+v", p.Submission)
			}
			code := fhir.IssueStructure
			if c.xdsCode != "" {
				code = fhir.IssueProcessing
			}
			checkRejection(t, rejection{status: c.status, code: code, expr: c.expr}, err)
			if c.xdsCode != "" {
				found := false
				for _, is := range err.(*fhir.Error).Outcome.Issue {
					found = found || XDSCode(is) == c.xdsCode
				}
				if !found {
					t.Errorf("no issue with XDS code %s: %v", c.xdsCode, err)
				}
			}
		})
	}
}

func TestParseProvideBundleLimit(t *testing.T) {
	body := readProvide(t, "iti65_norwegian.json")
	_, err := ParseProvideBundle(bytes.NewReader(body), int64(len(body)-1))
	checkRejection(t, rejection{status: 413, code: fhir.IssueTooCostly, expr: ""}, errNoExpr(err))
	if _, err := ParseProvideBundle(bytes.NewReader(body), int64(len(body))); err != nil {
		t.Errorf("a bundle of exactly limit bytes: %v", err)
	}
	if _, err := ParseProvideBundle(errReader{}, limit); err == nil {
		t.Error("read error accepted")
	}
}

type errReader struct{}

func (errReader) Read([]byte) (int, error) { return 0, io.ErrUnexpectedEOF }

// errNoExpr gives an issue without expression an empty one, so
// checkRejection can match it.
func errNoExpr(err error) error {
	if me, ok := err.(*fhir.Error); ok {
		for i := range me.Outcome.Issue {
			if len(me.Outcome.Issue[i].Expression) == 0 {
				me.Outcome.Issue[i].Expression = []string{""}
			}
		}
	}
	return err
}

func TestFromRegistryErrors(t *testing.T) {
	if FromRegistryErrors(nil) != nil {
		t.Error("nil error")
	}
	if FromRegistryErrors(registry.ErrorList{registry.Warningf(registry.ErrCodeExtraMetadataNotSaved, "x")}) != nil {
		t.Error("warnings only must not fail")
	}
	for _, c := range []struct {
		err    error
		status int
	}{
		{registry.ErrorList{registry.Errorf(registry.ErrCodePatientIDDoesNotMatch, "DE x")}, 422},
		{registry.ErrorList{registry.Warningf(registry.ErrCodeExtraMetadataNotSaved, "w"), registry.Errorf(registry.ErrCodeNonIdenticalHash, "h")}, 409},
		{registry.Errorf(registry.ErrCodeRegistryBusy, "busy"), 503},
		{registry.ErrUnavailable, 503},
		{io.ErrUnexpectedEOF, 500},
	} {
		e := FromRegistryErrors(c.err)
		if e == nil || e.Status != c.status {
			t.Errorf("%v → %+v, want status %d", c.err, e, c.status)
			continue
		}
		if c.status == 500 && strings.Contains(e.Error(), "EOF") {
			t.Errorf("internal detail leaked: %v", e)
		}
	}
}

// TestParseProvideBundleSourceOrgOnly: a SubmissionSet List whose source
// carries only ihe-authorOrg is an institution-only author.
func TestParseProvideBundleSourceOrgOnly(t *testing.T) {
	m := bundleMap(t)
	var list map[string]any
	for _, e := range m["entry"].([]any) {
		if r := e.(map[string]any)["resource"].(map[string]any); r["resourceType"] == "List" && strings.Contains(string(mustJSON(t, r["code"])), "submissionset") {
			list = r
		}
	}
	if list == nil {
		t.Fatal("no List in the sample bundle")
	}
	list["contained"] = append(asSlice(list["contained"]), map[string]any{"resourceType": "Organization", "id": "org1",
		"name":       "Syntetisk sykehus HF",
		"identifier": []any{map[string]any{"system": "urn:oid:2.16.578.1.12.4.1.4.101", "value": "991919198"}}})
	list["source"] = map[string]any{"extension": []any{map[string]any{"url": ExtAuthorOrg, "valueReference": map[string]any{"reference": "#org1"}}}}
	p, err := ParseProvideBundle(bytes.NewReader(mustJSON(t, m)), limit)
	if err != nil {
		t.Fatal(err)
	}
	as := p.Submission.SubmissionSet.Authors
	if len(as) != 1 || as[0].Person != "" || len(as[0].Institutions) != 1 || !strings.Contains(as[0].Institutions[0], "991919198") {
		t.Fatalf("authors %+v, want one institution-only author", as)
	}
}

func asSlice(v any) []any {
	s, _ := v.([]any)
	return s
}
