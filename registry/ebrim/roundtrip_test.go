package ebrim

import (
	"bytes"
	"path/filepath"
	"strings"
	"testing"

	"github.com/beevik/etree"

	"pjd/registry"
)

// roundTrip parses a request, encodes the model, compares the encoding with
// its golden file, parses the encoding again and checks that the model is
// the same. Encoding twice must give the same bytes.
type roundTrip struct {
	parse  func(el *etree.Element) (any, error)
	encode func(v any) *etree.Element
}

type pnr struct {
	Sub   *registry.Submission
	Parts []DocumentPart
}

var roundTrips = map[string]roundTrip{
	"{" + NSLcm + "}SubmitObjectsRequest": {
		parse: func(el *etree.Element) (any, error) { return ParseSubmitObjectsRequest(el) },
		encode: func(v any) *etree.Element {
			return EncodeSubmitObjectsRequest(v.(*registry.Submission))
		},
	},
	"{" + NSXDSB + "}ProvideAndRegisterDocumentSetRequest": {
		parse: func(el *etree.Element) (any, error) {
			sub, parts, err := ParseProvideAndRegister(el)
			return pnr{sub, parts}, err
		},
		encode: func(v any) *etree.Element {
			p := v.(pnr)
			return EncodeProvideAndRegister(p.Sub, p.Parts)
		},
	},
	"{" + NSLcm + "}RemoveObjectsRequest": {
		parse: func(el *etree.Element) (any, error) { return ParseRemoveObjectsRequest(el) },
		encode: func(v any) *etree.Element {
			return EncodeRemoveObjectsRequest(v.([]string))
		},
	},
	"{" + NSQuery + "}AdhocQueryRequest": {
		parse: func(el *etree.Element) (any, error) { return ParseAdhocQueryRequest(el) },
		encode: func(v any) *etree.Element {
			return EncodeAdhocQueryRequest(v.(*registry.Query))
		},
	},
}

func TestRoundTripFixtures(t *testing.T) {
	var files []string
	for _, dir := range []string{"ipf", "no"} {
		m, err := filepath.Glob(filepath.Join(testdata, dir, "*.xml"))
		if err != nil {
			t.Fatal(err)
		}
		if len(m) == 0 {
			t.Fatalf("no fixtures in %s", dir)
		}
		files = append(files, m...)
	}
	for _, file := range files {
		name := filepath.Base(filepath.Dir(file)) + "_" + filepath.Base(file)
		t.Run(name, func(t *testing.T) {
			el := loadElement(t, file)
			rt, ok := roundTrips["{"+el.NamespaceURI()+"}"+el.Tag]
			if !ok {
				t.Fatalf("no round trip for %s", qname(el))
			}
			first, err := rt.parse(el)
			if err != nil {
				t.Fatalf("parse: %v", err)
			}
			encoded := serialize(t, rt.encode(first))
			checkGolden(t, name, encoded)
			if again := serialize(t, rt.encode(first)); !bytes.Equal(encoded, again) {
				t.Error("encoding the same model twice gave different bytes")
			}
			second, err := rt.parse(parseElement(t, encoded))
			if err != nil {
				t.Fatalf("parse of the encoding: %v", err)
			}
			sameModel(t, "model after encode and parse", first, second)
		})
	}
}

func TestParseNorwegianSubmission(t *testing.T) {
	got, err := ParseSubmitObjectsRequest(loadElement(t, filepath.Join(testdata, "no", "submit_epikrise_folder_rplc.xml")))
	if err != nil {
		t.Fatal(err)
	}
	sameModel(t, "submission", norwegianSubmission(), got)
}

func TestEncodeParseNorwegianSubmission(t *testing.T) {
	want := norwegianSubmission()
	got, err := ParseSubmitObjectsRequest(EncodeSubmitObjectsRequest(want))
	if err != nil {
		t.Fatal(err)
	}
	sameModel(t, "submission", want, got)
}

func TestParseNorwegianProvideAndRegister(t *testing.T) {
	sub, parts, err := ParseProvideAndRegister(loadElement(t, filepath.Join(testdata, "no", "pnr_epikrise_xop.xml")))
	if err != nil {
		t.Fatal(err)
	}
	sameModel(t, "submission", pnrSubmission(), sub)
	sameModel(t, "document parts", pnrParts(), parts)
}

// TestIPFSamples checks what the IPF samples must decode to, beyond
// round-tripping.
func TestIPFSamples(t *testing.T) {
	parse := func(t *testing.T, name string) *registry.Submission {
		t.Helper()
		sub, err := ParseSubmitObjectsRequest(loadElement(t, filepath.Join(testdata, "ipf", name)))
		if err != nil {
			t.Fatal(err)
		}
		return sub
	}

	t.Run("SubmissionSet classification outside and inside", func(t *testing.T) {
		outside := parse(t, "SubmitObjectsRequest_ebrs30.xml")
		inside := parse(t, "SubmitObjectsRequest_ebrs30_2.xml")
		sameModel(t, "ebrs30 vs ebrs30_2", outside, inside)
		ss := outside.SubmissionSet
		if ss == nil || ss.ID != "SubmissionSet01" {
			t.Fatalf("SubmissionSet = %+v", ss)
		}
		// The sample breaks these scheme UUIDs with a space.
		if ss.UniqueID != "1.3.6.1.4.1.21367.2005.3.9999.33" || ss.PatientID != "SELF-5^^^&1.3.6.1.4.1.21367.2005.3.7&ISO" {
			t.Errorf("SubmissionSet ids = %q, %q", ss.UniqueID, ss.PatientID)
		}
		if ss.ContentType.Code != "History and Physical" || ss.ContentType.Scheme != "Connect-a-thon contentTypeCodes" {
			t.Errorf("contentTypeCode = %+v", ss.ContentType)
		}
		de := outside.Documents[0]
		if de.PatientID != "SELF-5^^^&1.3.6.1.4.1.21367.2005.3.7&ISO" || de.UniqueID != "1.3.6.1.4.1.21367.2005.3.9999.32" {
			t.Errorf("DocumentEntry ids = %q, %q", de.PatientID, de.UniqueID)
		}
		// authorSpeciality is the legacy spelling of authorSpecialty.
		if len(de.Authors) != 1 || len(de.Authors[0].Specialties) != 1 || de.Authors[0].Specialties[0] != "Orthopedic" {
			t.Errorf("authors = %+v", de.Authors)
		}
		if len(de.SourcePatientInfo) != 5 || de.SourcePatientInfo[1] != "PID-5|Doe^John^^^" {
			t.Errorf("sourcePatientInfo = %q", de.SourcePatientInfo)
		}
		if a := outside.Associations[1]; a.Type != registry.AssocIsSnapshotOf || a.SubmissionSetStatus != "" {
			t.Errorf("association = %+v", a)
		}
	})

	t.Run("extra metadata is kept", func(t *testing.T) {
		sub := parse(t, "SubmitObjectsRequest_ebrs3_extra_metadata.xml")
		sameModel(t, "DocumentEntry Extra", []registry.Slot{{Name: "urn:my:company:slot", Values: []string{"somevalue"}}},
			sub.Documents[0].Extra)
		sub = parse(t, "submission-set.xml")
		sameModel(t, "DocumentEntry Extra", []registry.Slot{{Name: "urn:nist:extraDESlot", Values: []string{"importantvalue"}}},
			sub.Documents[0].Extra)
		sameModel(t, "SubmissionSet Extra", []registry.Slot{{Name: "urn:nist:extraSSSlot", Values: []string{"importantvalue"}}},
			sub.SubmissionSet.Extra)
		sameModel(t, "Association Extra", []registry.Slot{{Name: "urn:nist:extraAssocSlot", Values: []string{"importantvalue"}}},
			sub.Associations[0].Extra)
		if len(sub.Documents[0].Authors) != 2 {
			t.Errorf("authors = %d, want 2", len(sub.Documents[0].Authors))
		}
	})

	t.Run("update with lid, version and association slots", func(t *testing.T) {
		sub := parse(t, "SubmitObjectsRequest_ebrs30_update.xml")
		de := sub.Documents[0]
		if de.LogicalID != "urn:uuid:20744602-ba65-44e9-87ee-a52303a5183e" || de.Version != "1" ||
			de.Status != registry.StatusApproved || de.HomeCommunityID != "" {
			t.Errorf("lid/version/status/home = %q %q %q %q", de.LogicalID, de.Version, de.Status, de.HomeCommunityID)
		}
		if de.Size == nil || *de.Size != 1459 || de.Hash != "31e311402a7e717d1bede88df6b42c0b8e91ea91" {
			t.Errorf("size/hash = %v %q", de.Size, de.Hash)
		}
		if de.DocumentAvailability != DocumentAvailabilityOffline || !strings.HasSuffix(de.URI, "1.42.20100709101812.2.txt") {
			t.Errorf("availability/URI = %q %q", de.DocumentAvailability, de.URI)
		}
		if len(de.Events) != 2 || de.Events[1].Display != "Liver" || len(de.Authors) != 2 {
			t.Errorf("events = %+v, authors = %d", de.Events, len(de.Authors))
		}
		sameModel(t, "HasMember", &registry.Association{ID: "Assoc", Type: registry.AssocHasMember, Source: "SubmissionSet",
			Target: "Document01", SubmissionSetStatus: "Original",
			Extra: []registry.Slot{{Name: "PreviousVersion", Values: []string{"1"}}}}, sub.Associations[0])
		sameModel(t, "UpdateAvailabilityStatus Extra", []registry.Slot{
			{Name: SlotNewStatus, Values: []string{registry.StatusDeprecated}},
			{Name: SlotOriginalStatus, Values: []string{registry.StatusApproved}},
		}, sub.Associations[1].Extra)
	})

	t.Run("non-standard association type, default namespace", func(t *testing.T) {
		sub := parse(t, "SubmitObjectsRequest_ebrs30_update_nonstandard_association.xml")
		if sub.SubmissionSet == nil || sub.SubmissionSet.Status != registry.StatusApproved {
			t.Fatalf("SubmissionSet = %+v", sub.SubmissionSet)
		}
		if got := sub.SubmissionSet.Authors[0].Roles; len(got) != 1 || got[0] != "Ärztliche/r Leiter/in" {
			t.Errorf("author role = %q", got)
		}
		a := sub.Associations[0]
		if a.Type != "urn:elga-bes:AssociationType:NonVersioningUpdate" || a.Status != registry.StatusApproved || len(a.Extra) != 2 {
			t.Errorf("association = %+v", a)
		}
	})

	t.Run("ProvideAndRegister with inline document", func(t *testing.T) {
		sub, parts, err := ParseProvideAndRegister(loadElement(t, filepath.Join(testdata, "ipf", "ProvideAndRegisterDocumentSet.xml")))
		if err != nil {
			t.Fatal(err)
		}
		if len(parts) != 1 || parts[0].ID != "Document01" || parts[0].IncludeHref != "" {
			t.Fatalf("parts = %+v", parts)
		}
		if !bytes.HasPrefix(parts[0].Inline, []byte("<ClinicalDocument")) || !bytes.HasSuffix(parts[0].Inline, []byte("</ClinicalDocument>\r\n")) {
			t.Errorf("inline document = %.40q … %q", parts[0].Inline, parts[0].Inline[len(parts[0].Inline)-24:])
		}
		if de := sub.Documents[0]; de.Size == nil || *de.Size != 815 || de.Hash != "aaaaaaaaaabbbbbbbbbbccccccccccdddddddddd" {
			t.Errorf("size/hash = %v %q", de.Size, de.Hash)
		}
	})
}

func TestQueryRequestValuesStayRaw(t *testing.T) {
	qry, err := ParseAdhocQueryRequest(loadElement(t, filepath.Join(testdata, "ipf", "iti18request.xml")))
	if err != nil {
		t.Fatal(err)
	}
	want := &registry.Query{
		ID:         registry.QueryFindDocuments,
		ReturnType: registry.ReturnLeafClass,
		Params: []registry.Slot{
			{Name: "$XDSDocumentEntryPatientId", Values: []string{"'593603^^^&2.16.756.5.33.2.5.1.5.1&ISO''%20and%20611%3d611--%20"}},
			{Name: "$XDSDocumentEntryStatus", Values: []string{"('urn:oasis:names:tc:ebxml-regrep:StatusType:Approved')"}},
			{Name: "$XDSDocumentEntryCreationTimeFrom", Values: []string{"'20221015151515'"}},
			{Name: "$XDSDocumentEntryCreationTimeTo", Values: []string{"20221016161616"}},
		},
	}
	sameModel(t, "query", want, qry)
}

func TestQueryRequestRepeatedSlots(t *testing.T) {
	want := &registry.Query{
		ID:              registry.QueryFindDocuments,
		ReturnType:      registry.ReturnObjectRef,
		HomeCommunityID: "urn:oid:2.16.578.1.12.4.1.7.1.1",
		Params: []registry.Slot{
			{Name: "$XDSDocumentEntryPatientId", Values: []string{"'" + fnrKari + "'"}},
			{Name: "$XDSDocumentEntryStatus", Values: []string{"('" + registry.StatusApproved + "')"}},
			{Name: "$XDSDocumentEntryEventCodeList", Values: []string{"('I21^^2.16.578.1.12.4.1.1.7110')"}},
			{Name: "$XDSDocumentEntryEventCodeList", Values: []string{"('I10^^2.16.578.1.12.4.1.1.7110')", "('I11^^2.16.578.1.12.4.1.1.7110')"}},
			{Name: "$XDSDocumentEntryClassCode", Values: []string{"('A00-1^^" + volven + "',", "'C00-1^^" + volven + "')"}},
		},
	}
	goldenRoundTrip(t, "model_adhocqueryrequest.xml", EncodeAdhocQueryRequest(want), ParseAdhocQueryRequest, "query", want)
}
