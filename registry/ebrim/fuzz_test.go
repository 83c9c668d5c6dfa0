package ebrim

import (
	"bytes"
	"os"
	"path/filepath"
	"reflect"
	"testing"

	"github.com/beevik/etree"

	"pjd/registry"
)

// The fuzz targets feed arbitrary bytes through etree into the parsers.
// Besides never panicking, whatever a parser accepts must survive
// encode → serialize → parse unchanged.

func addSeeds(f *testing.F, files ...string) {
	for _, name := range files {
		b, err := os.ReadFile(filepath.Join(testdata, name))
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
}

// fuzzElement reads b the way the SOAP layer would (depth-limited); nil
// when it is not XML with a root element.
func fuzzElement(b []byte) *etree.Element {
	doc := etree.NewDocument()
	doc.ReadSettings = etree.ReadSettings{MaxDepth: 64}
	if err := doc.ReadFromBytes(b); err != nil {
		return nil
	}
	return doc.Root()
}

// reparse serializes el without indentation and reads it back.
func reparse(t *testing.T, el *etree.Element) *etree.Element {
	t.Helper()
	doc := etree.NewDocument()
	doc.WriteSettings = writeSettings()
	doc.SetRoot(el)
	var buf bytes.Buffer
	if _, err := doc.WriteTo(&buf); err != nil {
		t.Fatal(err)
	}
	back := fuzzElement(buf.Bytes())
	if back == nil {
		t.Fatalf("encoded output is not XML:\n%s", buf.Bytes())
	}
	return back
}

func FuzzParseSubmitObjectsRequest(f *testing.F) {
	addSeeds(f,
		"ipf/SubmitObjectsRequest_ebrs30.xml",
		"ipf/SubmitObjectsRequest_ebrs30_2.xml",
		"ipf/SubmitObjectsRequest_ebrs30_update.xml",
		"ipf/SubmitObjectsRequest_ebrs30_update_nonstandard_association.xml",
		"ipf/SubmitObjectsRequest_ebrs3_extra_metadata.xml",
		"ipf/submission-set.xml",
		"no/submit_epikrise_folder_rplc.xml",
	)
	// Small messages let the mutator reach structure rather than text.
	f.Add([]byte(submitXML(ssXML("SS", slotXML("submissionTime", "2024"), extIDXML("e", "SS", IdentSubmissionSetPatientID, "p")),
		docXML("D", slotXML("size", "12"), slotXML("urn:x", "a", "b"),
			authorXML("D", SchemeDocumentEntryAuthor, "", slotXML("authorPerson", "p")),
			codeXML("D", SchemeDocumentEntryClassCode, "c")),
		packageXML("F", nodeXML("n", "F", NodeFolder)),
		assocXML("a", "t", "SS", "D", slotXML("SubmissionSetStatus", "Original")))))
	f.Add([]byte(submitXML(packageXML("P"), nodeXML("n", "P", NodeSubmissionSet), `<rim:ObjectRef id="x"/>`)))
	// ITI-57 operations and a documented relationship.
	f.Add([]byte(submitXML(ssXML("SS"), docXML("D", `<rim:VersionInfo versionName="1"/>`),
		assocXML("u", registry.AssocUpdateAvailabilityStatus, "SS", "urn:uuid:x",
			slotXML("OriginalStatus", registry.StatusApproved), slotXML("NewStatus", registry.StatusDeprecated)),
		assocXML("r", registry.AssocReplace, "D", "urn:uuid:x", codeXML("r", SchemeAssociationDocumentation, "KORR")),
		codeXML("r", SchemeAssociationDocumentation, "ANNET"))))
	f.Fuzz(func(t *testing.T, b []byte) {
		el := fuzzElement(b)
		if el == nil {
			return
		}
		sub, err := ParseSubmitObjectsRequest(el)
		if err != nil {
			if sub != nil {
				t.Fatal("submission returned with an error")
			}
			if _, ok := registry.AsErrors(err); !ok {
				t.Fatalf("error %T is not a registry.ErrorList", err)
			}
			return
		}
		again, err := ParseSubmitObjectsRequest(reparse(t, EncodeSubmitObjectsRequest(sub)))
		if err != nil {
			t.Fatalf("encoding of an accepted request does not parse: %v", err)
		}
		if !reflect.DeepEqual(sub, again) {
			t.Fatalf("round trip changed the model:\n%s\n%s", jsonString(sub), jsonString(again))
		}
	})
}

func FuzzParseAdhocQueryRequest(f *testing.F) {
	addSeeds(f, "ipf/iti18request.xml", "ipf/iti51request.xml", "golden/model_adhocqueryrequest.xml")
	f.Add([]byte(`<q:AdhocQueryRequest xmlns:q="` + NSQuery + `" xmlns="` + NSRim + `"><q:ResponseOption returnType="ObjectRef"/>` +
		`<AdhocQuery id="i" home="h"><Slot name="$a"><ValueList><Value>'x'</Value></ValueList></Slot></AdhocQuery></q:AdhocQueryRequest>`))
	f.Fuzz(func(t *testing.T, b []byte) {
		el := fuzzElement(b)
		if el == nil {
			return
		}
		qry, err := ParseAdhocQueryRequest(el)
		if err != nil {
			if qry != nil {
				t.Fatal("query returned with an error")
			}
			if _, ok := registry.AsErrors(err); !ok {
				t.Fatalf("error %T is not a registry.ErrorList", err)
			}
			return
		}
		again, err := ParseAdhocQueryRequest(reparse(t, EncodeAdhocQueryRequest(qry)))
		if err != nil {
			t.Fatalf("encoding of an accepted query does not parse: %v", err)
		}
		if !reflect.DeepEqual(qry, again) {
			t.Fatalf("round trip changed the query:\n%s\n%s", jsonString(qry), jsonString(again))
		}
	})
}

func FuzzParseProvideAndRegister(f *testing.F) {
	addSeeds(f, "ipf/ProvideAndRegisterDocumentSet.xml", "no/pnr_epikrise_xop.xml")
	f.Add([]byte(`<x:ProvideAndRegisterDocumentSetRequest xmlns:x="` + NSXDSB + `" xmlns:i="` + NSXOP + `">` +
		submitXML(docXML("D")) + `<x:Document id="D">QUJD</x:Document><x:Document id="E"><i:Include href="cid:a%40b"/></x:Document>` +
		`</x:ProvideAndRegisterDocumentSetRequest>`))
	f.Fuzz(func(t *testing.T, b []byte) {
		el := fuzzElement(b)
		if el == nil {
			return
		}
		sub, parts, err := ParseProvideAndRegister(el)
		if err != nil {
			if sub != nil || parts != nil {
				t.Fatal("results returned with an error")
			}
			if _, ok := registry.AsErrors(err); !ok {
				t.Fatalf("error %T is not a registry.ErrorList", err)
			}
			return
		}
		sub2, parts2, err := ParseProvideAndRegister(reparse(t, EncodeProvideAndRegister(sub, parts)))
		if err != nil {
			t.Fatalf("encoding of an accepted request does not parse: %v", err)
		}
		if !reflect.DeepEqual(sub, sub2) || !reflect.DeepEqual(parts, parts2) {
			t.Fatalf("round trip changed the model:\n%s\n%s", jsonString(pnr{sub, parts}), jsonString(pnr{sub2, parts2}))
		}
	})
}
