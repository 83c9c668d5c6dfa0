package ebrim

import (
	"path/filepath"
	"strings"
	"testing"

	"github.com/beevik/etree"
)

// reprefix rewrites a document so that each namespace gets the prefix
// prefixes[uri] ("" = default namespace), with every declaration moved to
// the root. It reads the namespace of each element before changing
// anything, so the result means the same as the input.
func reprefix(t *testing.T, b []byte, prefixes map[string]string) []byte {
	t.Helper()
	root := parseElement(t, b)
	type job struct {
		el  *etree.Element
		uri string
	}
	var jobs []job
	var walk func(el *etree.Element)
	walk = func(el *etree.Element) {
		jobs = append(jobs, job{el, el.NamespaceURI()})
		for _, c := range el.ChildElements() {
			walk(c)
		}
	}
	walk(root)
	for _, j := range jobs {
		p, ok := prefixes[j.uri]
		if !ok {
			t.Fatalf("no prefix for namespace %q of %s", j.uri, j.el.Tag)
		}
		kept := j.el.Attr[:0]
		for _, a := range j.el.Attr {
			if a.Space == "xmlns" || (a.Space == "" && a.Key == "xmlns") {
				continue
			}
			kept = append(kept, a)
		}
		j.el.Attr = kept
		j.el.Space = p
	}
	for uri, p := range prefixes {
		if p == "" {
			root.CreateAttr("xmlns", uri)
		} else {
			root.CreateAttr("xmlns:"+p, uri)
		}
	}
	doc := etree.NewDocument()
	doc.WriteSettings = writeSettings()
	doc.SetRoot(root)
	out, err := doc.WriteToBytes()
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// TestNamespacePrefixIndependence parses each fixture as written, with
// unusual prefixes, and with a default namespace, and expects the same
// model every time.
func TestNamespacePrefixIndependence(t *testing.T) {
	variants := map[string]map[string]string{
		"odd prefixes": {NSLcm: "a", NSRim: "b", NSQuery: "c", NSXDSB: "d", NSXOP: "e", NSRs: "f"},
		"rim default":  {NSLcm: "lcm", NSRim: "", NSQuery: "q", NSXDSB: "ihe", NSXOP: "xop", NSRs: "rs"},
		"swapped":      {NSLcm: "rim", NSRim: "lcm", NSQuery: "rim2", NSXDSB: "query", NSXOP: "xdsb", NSRs: "xop"},
	}
	files := []string{
		"ipf/SubmitObjectsRequest_ebrs30.xml",
		"ipf/SubmitObjectsRequest_ebrs30_update_nonstandard_association.xml",
		"ipf/ProvideAndRegisterDocumentSet.xml",
		"ipf/iti18request.xml",
		"no/submit_epikrise_folder_rplc.xml",
		"no/pnr_epikrise_xop.xml",
	}
	for _, f := range files {
		t.Run(filepath.Base(f), func(t *testing.T) {
			el := loadElement(t, filepath.Join(testdata, f))
			rt := roundTrips["{"+el.NamespaceURI()+"}"+el.Tag]
			want, err := rt.parse(el)
			if err != nil {
				t.Fatal(err)
			}
			raw := serialize(t, el)
			for name, prefixes := range variants {
				// The XSI namespace of schemaLocation attributes stays as is.
				prefixes["http://www.w3.org/2001/XMLSchema-instance"] = "xsi"
				b := reprefix(t, raw, prefixes)
				if name == "rim default" && !strings.Contains(string(b), "<RegistryObjectList") &&
					!strings.Contains(string(b), "<AdhocQuery") {
					t.Fatalf("%s: rewrite did not use the default namespace", name)
				}
				got, err := rt.parse(parseElement(t, b))
				if err != nil {
					t.Fatalf("%s: %v", name, err)
				}
				sameModel(t, name, want, got)
			}
		})
	}
}

// TestPrefixDoesNotMakeTheNamespace checks the converse: an element with
// the usual prefix but another namespace is not taken for the ebRIM one.
func TestPrefixDoesNotMakeTheNamespace(t *testing.T) {
	xml := `<lcm:SubmitObjectsRequest xmlns:lcm="` + NSLcm + `" xmlns:rim="urn:oasis:names:tc:ebxml-regrep:xsd:rim:2.1">` +
		`<rim:RegistryObjectList/></lcm:SubmitObjectsRequest>`
	_, err := ParseSubmitObjectsRequest(parseElement(t, []byte(xml)))
	l := registryErrors(t, err)
	assertProblem(t, l, "XDSRegistryMetadataError", []string{"rim:2.1}RegistryObjectList"})
}

// TestNamespacesDeclaredAboveTheElement: the SOAP layer hands over the
// Body's child, whose prefixes may be declared on the Envelope.
func TestNamespacesDeclaredAboveTheElement(t *testing.T) {
	env := `<s:Envelope xmlns:s="http://www.w3.org/2003/05/soap-envelope" xmlns:q="` + NSQuery + `" xmlns:r="` + NSRim + `">` +
		`<s:Body><q:AdhocQueryRequest><q:ResponseOption returnType="ObjectRef"/>` +
		`<r:AdhocQuery id="urn:uuid:14d4debf-8f97-4251-9a74-a90016b0af0d">` + strings.ReplaceAll(slotXML("$XDSDocumentEntryPatientId", "'x'"), "rim:", "r:") +
		`</r:AdhocQuery></q:AdhocQueryRequest></s:Body></s:Envelope>`
	body := parseElement(t, []byte(env)).SelectElement("s:Body")
	qry, err := ParseAdhocQueryRequest(body.ChildElements()[0])
	if err != nil {
		t.Fatal(err)
	}
	if qry.ReturnType != "ObjectRef" || len(qry.Params) != 1 || qry.Params[0].Values[0] != "'x'" {
		t.Errorf("query = %+v", qry)
	}
}

// TestEncodedElementsAreSelfContained: an encoded element placed under a
// SOAP Body that declares none of our namespaces still resolves them.
func TestEncodedElementsAreSelfContained(t *testing.T) {
	env := etree.NewElement("s:Envelope")
	env.CreateAttr("xmlns:s", "http://www.w3.org/2003/05/soap-envelope")
	body := env.CreateElement("s:Body")
	body.AddChild(EncodeSubmitObjectsRequest(norwegianSubmission()))
	b := serialize(t, env)
	got := parseElement(t, b).SelectElement("s:Body").ChildElements()[0]
	sub, err := ParseSubmitObjectsRequest(got)
	if err != nil {
		t.Fatal(err)
	}
	sameModel(t, "submission", norwegianSubmission(), sub)
}
