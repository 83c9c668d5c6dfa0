package ebrim

import (
	"strings"
	"testing"

	"pjd/registry"
)

// Building blocks of small SubmitObjectsRequests for the rejection table.

func submitXML(objects ...string) string {
	return `<lcm:SubmitObjectsRequest xmlns:lcm="` + NSLcm + `" xmlns:rim="` + NSRim + `"><rim:RegistryObjectList>` +
		strings.Join(objects, "") + `</rim:RegistryObjectList></lcm:SubmitObjectsRequest>`
}

func slotXML(name string, values ...string) string {
	s := `<rim:Slot name="` + name + `"><rim:ValueList>`
	for _, v := range values {
		s += `<rim:Value>` + v + `</rim:Value>`
	}
	return s + `</rim:ValueList></rim:Slot>`
}

func docXML(id string, children ...string) string {
	return `<rim:ExtrinsicObject id="` + id + `" mimeType="text/plain" objectType="` + registry.ObjectTypeStable + `">` +
		strings.Join(children, "") + `</rim:ExtrinsicObject>`
}

func codeXML(owner, scheme, code string, extra ...string) string {
	return `<rim:Classification classificationScheme="` + scheme + `" classifiedObject="` + owner +
		`" nodeRepresentation="` + code + `">` + slotXML("codingScheme", "1.2.3") + strings.Join(extra, "") + `</rim:Classification>`
}

func authorXML(owner, scheme, nodeRep string, slots ...string) string {
	return `<rim:Classification classificationScheme="` + scheme + `" classifiedObject="` + owner +
		`" nodeRepresentation="` + nodeRep + `">` + strings.Join(slots, "") + `</rim:Classification>`
}

func nodeXML(id, owner, node string) string {
	return `<rim:Classification id="` + id + `" classifiedObject="` + owner + `" classificationNode="` + node + `"/>`
}

func extIDXML(id, owner, scheme, value string) string {
	return `<rim:ExternalIdentifier id="` + id + `" registryObject="` + owner + `" identificationScheme="` + scheme +
		`" value="` + value + `"/>`
}

func packageXML(id string, children ...string) string {
	return `<rim:RegistryPackage id="` + id + `">` + strings.Join(children, "") + `</rim:RegistryPackage>`
}

func ssXML(id string, children ...string) string {
	return packageXML(id, append(children, nodeXML("n-"+id, id, NodeSubmissionSet))...)
}

func assocXML(id, typ, src, dst string, children ...string) string {
	return `<rim:Association id="` + id + `" associationType="` + typ + `" sourceObject="` + src +
		`" targetObject="` + dst + `">` + strings.Join(children, "") + `</rim:Association>`
}

// TestSubmitObjectsRequestRejections has one row per structural problem.
// Each must give XDSRegistryMetadataError with a codeContext that names the
// object and the slot or attribute.
func TestSubmitObjectsRequestRejections(t *testing.T) {
	ss := ssXML("SS")
	tests := []struct {
		name    string
		xml     string
		context []string // every string must be in one codeContext
	}{
		{"single-valued slot creationTime with 2 values",
			submitXML(ss, docXML("Doc1", slotXML("creationTime", "20240101", "20240102"))),
			[]string{`"Doc1"`, `"creationTime"`, "2 values"}},
		{"single-valued slot hash with 2 values",
			submitXML(ss, docXML("Doc1", slotXML("hash", "aa", "bb"))),
			[]string{`"Doc1"`, `"hash"`}},
		{"single-valued slot size with 2 values",
			submitXML(ss, docXML("Doc1", slotXML("size", "1", "2"))),
			[]string{`"Doc1"`, `"size"`}},
		{"single-valued slot without a value",
			submitXML(ss, docXML("Doc1", `<rim:Slot name="languageCode"><rim:ValueList/></rim:Slot>`)),
			[]string{`"Doc1"`, `"languageCode"`, "no value"}},
		{"size that is not an integer",
			submitXML(ss, docXML("Doc1", slotXML("size", "12kB"))),
			[]string{`"Doc1"`, `"size"`, `"12kB"`}},
		{"single-valued slot submissionTime with 2 values",
			submitXML(ssXML("SS", slotXML("submissionTime", "2024", "2025"))),
			[]string{`"SS"`, `"submissionTime"`}},
		{"single-valued slot lastUpdateTime with 2 values",
			submitXML(ss, packageXML("F1", slotXML("lastUpdateTime", "2024", "2025"), nodeXML("n", "F1", NodeFolder))),
			[]string{`"F1"`, `"lastUpdateTime"`}},
		{"slot name twice on one object",
			submitXML(ss, docXML("Doc1", slotXML("urn:x:extra", "a"), slotXML("urn:x:extra", "b"))),
			[]string{`"Doc1"`, `"urn:x:extra"`, "twice"}},
		{"slot name twice on a classification",
			submitXML(ss, docXML("Doc1", authorXML("Doc1", SchemeDocumentEntryAuthor, "",
				slotXML("authorRole", "a"), slotXML("authorRole", "b")))),
			[]string{`"Doc1"`, `"authorRole"`, "twice"}},
		{"authorSpecialty and its legacy spelling",
			submitXML(ss, docXML("Doc1", authorXML("Doc1", SchemeDocumentEntryAuthor, "",
				slotXML("authorSpecialty", "a"), slotXML("authorSpeciality", "b")))),
			[]string{`"Doc1"`, `"authorSpecialty"`}},
		{"authorPerson with 2 values",
			submitXML(ss, docXML("Doc1", authorXML("Doc1", SchemeDocumentEntryAuthor, "", slotXML("authorPerson", "a", "b")))),
			[]string{`"Doc1"`, `"authorPerson"`, "2 values"}},
		{"unknown author slot",
			submitXML(ss, docXML("Doc1", authorXML("Doc1", SchemeDocumentEntryAuthor, "", slotXML("authorShoeSize", "44")))),
			[]string{`"Doc1"`, `"authorShoeSize"`}},
		{"author with a nodeRepresentation",
			submitXML(ss, docXML("Doc1", authorXML("Doc1", SchemeDocumentEntryAuthor, "X", slotXML("authorPerson", "a")))),
			[]string{`"Doc1"`, "nodeRepresentation", `"X"`}},
		{"codingScheme with 2 values",
			submitXML(ss, docXML("Doc1", authorXML("Doc1", SchemeDocumentEntryClassCode, "A00-1", slotXML("codingScheme", "a", "b")))),
			[]string{`"Doc1"`, `"codingScheme"`, "2 values"}},
		{"other slot on a coded value",
			submitXML(ss, docXML("Doc1", codeXML("Doc1", SchemeDocumentEntryClassCode, "A00-1", slotXML("urn:x:y", "a")))),
			[]string{`"Doc1"`, `"urn:x:y"`, "coded value"}},
		{"classCode twice",
			submitXML(ss, docXML("Doc1",
				codeXML("Doc1", SchemeDocumentEntryClassCode, "A00-1"), codeXML("Doc1", SchemeDocumentEntryClassCode, "B00-1"))),
			[]string{`"Doc1"`, SchemeDocumentEntryClassCode, "single-valued"}},
		{"contentTypeCode twice",
			submitXML(ssXML("SS",
				codeXML("SS", SchemeSubmissionSetContentTypeCode, "A"), codeXML("SS", SchemeSubmissionSetContentTypeCode, "B"))),
			[]string{`"SS"`, SchemeSubmissionSetContentTypeCode}},
		{"uniqueId twice",
			submitXML(ss, docXML("Doc1", extIDXML("e1", "Doc1", IdentDocumentEntryUniqueID, "1.2"),
				extIDXML("e2", "Doc1", IdentDocumentEntryUniqueID, "1.3"))),
			[]string{`"Doc1"`, "XDSDocumentEntry.uniqueId", "more than once"}},
		{"classification scheme of another object type",
			submitXML(ss, docXML("Doc1", codeXML("Doc1", SchemeFolderCodeList, "A00-1"))),
			[]string{`"Doc1"`, SchemeFolderCodeList}},
		{"unknown classification scheme",
			submitXML(ss, docXML("Doc1", codeXML("Doc1", "urn:uuid:00000000-0000-0000-0000-000000000000", "A"))),
			[]string{`"Doc1"`, "urn:uuid:00000000-0000-0000-0000-000000000000"}},
		{"identification scheme of another object type",
			submitXML(ss, docXML("Doc1", extIDXML("e1", "Doc1", IdentSubmissionSetSourceID, "1.2"))),
			[]string{`"Doc1"`, `"e1"`, IdentSubmissionSetSourceID}},
		{"classification without scheme or node",
			submitXML(ss, docXML("Doc1", `<rim:Classification id="c1" classifiedObject="Doc1"/>`)),
			[]string{`"Doc1"`, `"c1"`, "neither classificationScheme nor classificationNode"}},
		{"classification with scheme and node",
			submitXML(ss, docXML("Doc1", `<rim:Classification id="c1" classifiedObject="Doc1" classificationScheme="`+
				SchemeDocumentEntryClassCode+`" classificationNode="`+NodeFolder+`"/>`)),
			[]string{`"Doc1"`, `"c1"`, "both"}},
		{"limited metadata",
			submitXML(ss, docXML("Doc1", nodeXML("c1", "Doc1", NodeDocumentEntryLimitedMetadata))),
			[]string{`"Doc1"`, `"c1"`, "limited metadata"}},
		{"SubmissionSet node on an ExtrinsicObject",
			submitXML(ss, docXML("Doc1"), nodeXML("c1", "Doc1", NodeSubmissionSet)),
			[]string{`"Doc1"`, `"c1"`, NodeSubmissionSet}},
		{"RegistryPackage that is neither SubmissionSet nor Folder",
			submitXML(ss, packageXML("Pkg1", slotXML("submissionTime", "2024"))),
			[]string{`"Pkg1"`, "neither a SubmissionSet nor a Folder"}},
		{"RegistryPackage that is both",
			submitXML(packageXML("Pkg1", nodeXML("n1", "Pkg1", NodeSubmissionSet), nodeXML("n2", "Pkg1", NodeFolder))),
			[]string{`"Pkg1"`, "both"}},
		{"second SubmissionSet",
			submitXML(ss, ssXML("SS2")),
			[]string{`"SS2"`, "second SubmissionSet", `"SS"`}},
		{"Classification naming an object not in the request",
			submitXML(ss, nodeXML("cl10", "Missing01", NodeSubmissionSet)),
			[]string{`"cl10"`, "classifiedObject", `"Missing01"`, "not in the request"}},
		{"ExternalIdentifier naming an object not in the request",
			submitXML(ss, extIDXML("ei9", "Missing01", IdentDocumentEntryUniqueID, "1.2")),
			[]string{`"ei9"`, "registryObject", `"Missing01"`, "not in the request"}},
		{"top-level Classification without classifiedObject",
			submitXML(ss, `<rim:Classification id="cl11" classificationNode="`+NodeFolder+`"/>`),
			[]string{`"cl11"`, "no classifiedObject"}},
		{"nested Classification naming another object",
			submitXML(ss, docXML("Doc1"), docXML("Doc2", codeXML("Doc1", SchemeDocumentEntryClassCode, "A"))),
			[]string{`"Doc2"`, "classifiedObject", `"Doc1"`, "not the enclosing object"}},
		{"nested ExternalIdentifier naming another object",
			submitXML(ss, docXML("Doc1"), docXML("Doc2", extIDXML("e1", "Doc1", IdentDocumentEntryUniqueID, "1"))),
			[]string{`"Doc2"`, `"e1"`, "registryObject", "not the enclosing object"}},
		{"ExtrinsicObject without id",
			submitXML(ss, `<rim:ExtrinsicObject mimeType="text/plain"/>`),
			[]string{"ExtrinsicObject #2", "no id"}},
		{"RegistryPackage without id",
			submitXML(ss, `<rim:RegistryPackage/>`),
			[]string{"RegistryPackage #2", "no id"}},
		{"Association without id",
			submitXML(ss, `<rim:Association associationType="`+registry.AssocHasMember+`"/>`),
			[]string{"Association #2", "no id"}},
		{"id used twice",
			submitXML(ss, docXML("Doc1"), docXML("Doc1")),
			[]string{`"Doc1"`, "also used"}},
		{"SubmissionSetStatus with 2 values",
			submitXML(ss, docXML("Doc1"), assocXML("as1", registry.AssocHasMember, "SS", "Doc1",
				slotXML("SubmissionSetStatus", "Original", "Reference"))),
			[]string{`"as1"`, `"SubmissionSetStatus"`, "2 values"}},
		{"Association classified with another scheme than documentation",
			submitXML(ss, docXML("Doc1"), assocXML("as1", registry.AssocAppend, "Doc1", "urn:uuid:0b6cbb2e-2c9f-4b7a-9d55-6f1c8c0e4a21",
				codeXML("as1", SchemeDocumentEntryClassCode, "x"))),
			[]string{`"as1"`, "not one of Association's"}},
		{"two documentation classifications",
			submitXML(ss, docXML("Doc1"), assocXML("as1", registry.AssocReplace, "Doc1", "urn:uuid:0b6cbb2e-2c9f-4b7a-9d55-6f1c8c0e4a21",
				codeXML("as1", SchemeAssociationDocumentation, "KORR"), codeXML("as1", SchemeAssociationDocumentation, "ANNET"))),
			[]string{`"as1"`, "second documentation classification"}},
		{"top-level documentation twice",
			submitXML(ss, docXML("Doc1"), assocXML("as1", registry.AssocReplace, "Doc1", "urn:uuid:0b6cbb2e-2c9f-4b7a-9d55-6f1c8c0e4a21",
				codeXML("as1", SchemeAssociationDocumentation, "KORR")), codeXML("as1", SchemeAssociationDocumentation, "ANNET")),
			[]string{`"as1"`, "second documentation classification"}},
		{"classificationNode on an Association",
			submitXML(ss, docXML("Doc1"), assocXML("as1", registry.AssocHasMember, "SS", "Doc1",
				nodeXML("n1", "as1", NodeFolder))),
			[]string{`"as1"`, "does not apply"}},
		{"Name with two LocalizedStrings",
			submitXML(ss, docXML("Doc1", `<rim:Name><rim:LocalizedString value="a"/><rim:LocalizedString xml:lang="en" value="b"/></rim:Name>`)),
			[]string{`"Doc1"`, "Name", "more than one LocalizedString"}},
		{"Name twice",
			submitXML(ss, docXML("Doc1", `<rim:Name/>`, `<rim:Name/>`)),
			[]string{`"Doc1"`, "Name appears twice"}},
		{"Slot without a name",
			submitXML(ss, docXML("Doc1", `<rim:Slot><rim:ValueList><rim:Value>x</rim:Value></rim:ValueList></rim:Slot>`)),
			[]string{`"Doc1"`, "Slot without a name"}},
		{"Value holding an element",
			submitXML(ss, docXML("Doc1", slotXML("creationTime", "<rim:Value>2024</rim:Value>"))),
			[]string{`"Doc1"`, `"creationTime"`, "Value holds an element"}},
		{"element of a foreign namespace inside an object",
			submitXML(ss, docXML("Doc1", `<x:Slot xmlns:x="urn:other" name="creationTime"/>`)),
			[]string{`"Doc1"`, "{urn:other}Slot"}},
		{"unexpected element in the RegistryObjectList",
			submitXML(ss, `<rim:Federation id="f"/>`),
			[]string{"RegistryObjectList", "Federation"}},
		{"not a SubmitObjectsRequest",
			`<lcm:RemoveObjectsRequest xmlns:lcm="` + NSLcm + `"/>`,
			[]string{"SubmitObjectsRequest", "RemoveObjectsRequest"}},
		{"SubmitObjectsRequest in the wrong namespace",
			`<SubmitObjectsRequest xmlns="urn:oasis:names:tc:ebxml-regrep:xsd:lcm:2.1"><RegistryObjectList/></SubmitObjectsRequest>`,
			[]string{"{urn:oasis:names:tc:ebxml-regrep:xsd:lcm:2.1}SubmitObjectsRequest"}},
		{"no RegistryObjectList",
			`<lcm:SubmitObjectsRequest xmlns:lcm="` + NSLcm + `"/>`,
			[]string{"no RegistryObjectList"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			sub, err := ParseSubmitObjectsRequest(parseElement(t, []byte(tt.xml)))
			if sub != nil {
				t.Error("a submission was returned with the error")
			}
			assertProblem(t, registryErrors(t, err), registry.ErrCodeRegistryMetadataError, tt.context)
		})
	}
}

// assertProblem checks that every entry has code and Error severity and
// that one codeContext holds all of context.
func assertProblem(t *testing.T, l registry.ErrorList, code string, context []string) {
	t.Helper()
	found := false
	for _, e := range l {
		if e.Code != code || e.Severity != registry.SeverityError {
			t.Errorf("error %+v: want code %s with Error severity", e, code)
		}
		all := true
		for _, c := range context {
			if !strings.Contains(e.Context, c) {
				all = false
			}
		}
		found = found || all
	}
	if !found {
		t.Errorf("no codeContext holds all of %q; got %s", context, jsonString(l))
	}
}

func TestSubmitObjectsRequestReportsEveryProblem(t *testing.T) {
	xml := submitXML(
		ssXML("SS"),
		docXML("Doc1", slotXML("creationTime", "1", "2"), slotXML("hash", "a", "b")),
		packageXML("Pkg1"),
		docXML("Doc2", slotXML("size", "x")),
		nodeXML("c1", "Nowhere", NodeFolder),
	)
	_, err := ParseSubmitObjectsRequest(parseElement(t, []byte(xml)))
	l := registryErrors(t, err)
	want := [][]string{
		{`"Doc1"`, `"creationTime"`},
		{`"Doc1"`, `"hash"`},
		{`"Pkg1"`, "neither"},
		{`"Doc2"`, `"size"`},
		{`"c1"`, `"Nowhere"`},
	}
	if len(l) != len(want) {
		t.Errorf("got %d errors, want %d: %s", len(l), len(want), jsonString(l))
	}
	for _, w := range want {
		assertProblem(t, l, registry.ErrCodeRegistryMetadataError, w)
	}
}

func TestProblemsAreBounded(t *testing.T) {
	var docs []string
	for i := 0; i < 3*maxProblems; i++ {
		docs = append(docs, docXML("Doc"+itoa3(i), slotXML("hash", "a", "b")))
	}
	_, err := ParseSubmitObjectsRequest(parseElement(t, []byte(submitXML(docs...))))
	l := registryErrors(t, err)
	if len(l) != maxProblems+1 {
		t.Fatalf("got %d errors, want %d", len(l), maxProblems+1)
	}
	if last := l[len(l)-1].Context; !strings.Contains(last, "200 further problems") {
		t.Errorf("last codeContext = %q", last)
	}
}

func itoa3(i int) string {
	return string(rune('a'+i/26/26%26)) + string(rune('a'+i/26%26)) + string(rune('a'+i%26))
}

func TestCodeContextIsShort(t *testing.T) {
	long := strings.Repeat("x", 5000)
	_, err := ParseSubmitObjectsRequest(parseElement(t, []byte(submitXML(docXML(long, slotXML("size", long))))))
	for _, e := range registryErrors(t, err) {
		if len(e.Context) > 300 {
			t.Errorf("codeContext of %d bytes: %.100s…", len(e.Context), e.Context)
		}
	}
}

func TestProvideAndRegisterRejections(t *testing.T) {
	pnrWith := func(meta string, docs ...string) string {
		return `<xdsb:ProvideAndRegisterDocumentSetRequest xmlns:xdsb="` + NSXDSB + `" xmlns:xop="` + NSXOP + `">` +
			meta + strings.Join(docs, "") + `</xdsb:ProvideAndRegisterDocumentSetRequest>`
	}
	pnrXML := func(docs ...string) string { return pnrWith(submitXML(ssXML("SS"), docXML("Doc1")), docs...) }
	tests := []struct {
		name    string
		xml     string
		context []string
	}{
		{"bad base64", pnrXML(`<xdsb:Document id="Doc1">not*base64!</xdsb:Document>`), []string{`"Doc1"`, "base64"}},
		{"truncated base64", pnrXML(`<xdsb:Document id="Doc1">QUJD RA=</xdsb:Document>`), []string{`"Doc1"`, "base64"}},
		{"Document without id", pnrXML(`<xdsb:Document>QUJD</xdsb:Document>`), []string{"Document #2", "no id"}},
		{"include and text", pnrXML(`<xdsb:Document id="Doc1">QUJD<xop:Include href="cid:a"/></xdsb:Document>`),
			[]string{`"Doc1"`, "both"}},
		{"two includes", pnrXML(`<xdsb:Document id="Doc1"><xop:Include href="cid:a"/><xop:Include href="cid:b"/></xdsb:Document>`),
			[]string{`"Doc1"`, "more than one"}},
		{"href not a cid URL", pnrXML(`<xdsb:Document id="Doc1"><xop:Include href="http://example.org/a"/></xdsb:Document>`),
			[]string{`"Doc1"`, "cid:"}},
		{"bad escape in href", pnrXML(`<xdsb:Document id="Doc1"><xop:Include href="cid:a%zz"/></xdsb:Document>`),
			[]string{`"Doc1"`, "cid:"}},
		{"element other than xop:Include", pnrXML(`<xdsb:Document id="Doc1"><b/></xdsb:Document>`),
			[]string{`"Doc1"`, "unexpected element"}},
		{"metadata problem", pnrWith(submitXML(ssXML("SS"), docXML("Doc1", slotXML("hash", "a", "b"))), `<xdsb:Document id="Doc1"/>`),
			[]string{`"Doc1"`, `"hash"`}},
		{"Document before the metadata", pnrWith(`<xdsb:Document id="Doc1"/>` + submitXML(ssXML("SS"))),
			[]string{"Document #1 before SubmitObjectsRequest"}},
		{"no SubmitObjectsRequest", `<xdsb:ProvideAndRegisterDocumentSetRequest xmlns:xdsb="` + NSXDSB + `"/>`,
			[]string{"no SubmitObjectsRequest"}},
		{"not a ProvideAndRegisterDocumentSetRequest", `<xdsb:RetrieveDocumentSetRequest xmlns:xdsb="` + NSXDSB + `"/>`,
			[]string{"ProvideAndRegisterDocumentSetRequest"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			sub, parts, err := ParseProvideAndRegister(parseElement(t, []byte(tt.xml)))
			if sub != nil || parts != nil {
				t.Error("results were returned with the error")
			}
			assertProblem(t, registryErrors(t, err), registry.ErrCodeRepositoryMetadataError, tt.context)
		})
	}
}

func TestAdhocQueryRequestRejections(t *testing.T) {
	head := `<query:AdhocQueryRequest xmlns:query="` + NSQuery + `" xmlns:rim="` + NSRim + `">`
	opt := `<query:ResponseOption returnType="LeafClass"/>`
	tests := []struct {
		name    string
		xml     string
		context []string
	}{
		{"no AdhocQuery", head + opt + `</query:AdhocQueryRequest>`, []string{"no AdhocQuery"}},
		{"no ResponseOption", head + `<rim:AdhocQuery id="q"/></query:AdhocQueryRequest>`, []string{"no ResponseOption"}},
		{"two AdhocQuery", head + opt + `<rim:AdhocQuery id="q"/><rim:AdhocQuery id="r"/></query:AdhocQueryRequest>`,
			[]string{"AdhocQuery appears twice"}},
		{"Slot without name", head + opt + `<rim:AdhocQuery id="q"><rim:Slot/></rim:AdhocQuery></query:AdhocQueryRequest>`,
			[]string{`"q"`, "Slot #1 without a name"}},
		{"Value holding an element", head + opt + `<rim:AdhocQuery id="q">` + slotXML("$p", "<x/>") +
			`</rim:AdhocQuery></query:AdhocQueryRequest>`, []string{`"q"`, `"$p"`, "Value holds an element"}},
		{"AdhocQuery in the query namespace", head + opt + `<query:AdhocQuery id="q"/></query:AdhocQueryRequest>`,
			[]string{"unexpected element", "AdhocQuery"}},
		{"not an AdhocQueryRequest", `<rim:AdhocQuery xmlns:rim="` + NSRim + `"/>`, []string{"AdhocQueryRequest"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			qry, err := ParseAdhocQueryRequest(parseElement(t, []byte(tt.xml)))
			if qry != nil {
				t.Error("a query was returned with the error")
			}
			assertProblem(t, registryErrors(t, err), registry.ErrCodeRegistryError, tt.context)
		})
	}
}
