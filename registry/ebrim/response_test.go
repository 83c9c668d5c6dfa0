package ebrim

import (
	"strings"
	"testing"

	"github.com/beevik/etree"

	"pjd/registry"
)

func TestAdhocQueryResponseLeafClass(t *testing.T) {
	res := registeredObjects()
	res.Warnings = registry.ErrorList{registry.Warningf(registry.ErrCodeExtraMetadataNotSaved, "slot %q was not saved", "urn:x")}
	el := EncodeAdhocQueryResponse(res, registry.ResponseSuccess, nil)

	// Each object carries its children in schema order.
	for _, obj := range el.FindElements("./rim:RegistryObjectList/*") {
		checkSchemaOrder(t, obj)
	}
	b := serialize(t, el)
	checkGolden(t, "model_adhocqueryresponse_leafclass.xml", b)

	got, resp, err := ParseAdhocQueryResponse(parseElement(t, b))
	if err != nil {
		t.Fatal(err)
	}
	sameModel(t, "query result", res, got)
	sameModel(t, "response", registry.Response{Status: registry.ResponseSuccess, Errors: res.Warnings}, resp)
}

// checkSchemaOrder asserts Slot*, Name?, Description?, VersionInfo?,
// Classification*, ExternalIdentifier* on a registry object and on its
// classifications and external identifiers.
func checkSchemaOrder(t *testing.T, obj *etree.Element) {
	t.Helper()
	rank := map[string]int{"Slot": 0, "Name": 1, "Description": 2, "VersionInfo": 3, "Classification": 4, "ExternalIdentifier": 5}
	last := -1
	for _, c := range obj.ChildElements() {
		r, ok := rank[c.Tag]
		if !ok {
			t.Errorf("%s %s: unexpected child %s", obj.Tag, obj.SelectAttrValue("id", ""), c.Tag)
			continue
		}
		if r < last {
			t.Errorf("%s %s: child %s out of schema order", obj.Tag, obj.SelectAttrValue("id", ""), c.Tag)
		}
		last = r
		if c.Tag == "Classification" || c.Tag == "ExternalIdentifier" {
			if c.SelectAttrValue("id", "") == "" {
				t.Errorf("%s of %s has no id", c.Tag, obj.SelectAttrValue("id", ""))
			}
			checkSchemaOrder(t, c)
		}
	}
}

func TestAdhocQueryResponseObjectRef(t *testing.T) {
	res := &registry.QueryResult{
		ReturnType: registry.ReturnObjectRef,
		Refs:       []string{"urn:uuid:a1b2c3d4-e5f6-4a7b-8c9d-0e1f2a3b4c5d", "urn:uuid:0b6cbb2e-2c9f-4b7a-9d55-6f1c8c0e4a21"},
	}
	b := serialize(t, EncodeAdhocQueryResponse(res, "", nil))
	checkGolden(t, "model_adhocqueryresponse_objectref.xml", b)
	got, resp, err := ParseAdhocQueryResponse(parseElement(t, b))
	if err != nil {
		t.Fatal(err)
	}
	sameModel(t, "query result", res, got)
	if resp.Status != registry.ResponseSuccess || resp.Errors != nil {
		t.Errorf("response = %+v", resp)
	}
}

func TestAdhocQueryResponseFailure(t *testing.T) {
	errs := registry.ErrorList{
		registry.Errorf(registry.ErrCodeStoredQueryMissingParam, "$XDSDocumentEntryStatus is missing"),
		{Code: registry.ErrCodeUnknownCommunity, Context: "unknown community", Location: "urn:oid:1.2.3", Severity: registry.SeverityError},
	}
	res := &registry.QueryResult{Warnings: registry.ErrorList{errs[0]}} // a duplicate is written once
	el := EncodeAdhocQueryResponse(res, "", errs)
	if got := el.SelectAttrValue("status", ""); got != registry.ResponseFailure {
		t.Errorf("status = %q, want Failure", got)
	}
	b := serialize(t, el)
	checkGolden(t, "model_adhocqueryresponse_failure.xml", b)
	got, resp, err := ParseAdhocQueryResponse(parseElement(t, b))
	if err != nil {
		t.Fatal(err)
	}
	sameModel(t, "response", registry.Response{Status: registry.ResponseFailure, Errors: errs}, resp)
	if got.Len() != 0 || got.Warnings != nil {
		t.Errorf("result = %+v", got)
	}

	// A nil result encodes as an empty list.
	if l := EncodeAdhocQueryResponse(nil, registry.ResponseFailure, errs).FindElements("./rim:RegistryObjectList/*"); len(l) != 0 {
		t.Errorf("nil result gave %d objects", len(l))
	}
}

// TestAdhocQueryResponseFromOtherRegistries reads shapes other registries
// send: SubmissionSet classification beside the package (NIST), default
// namespaces, no RegistryErrorList.
func TestAdhocQueryResponseFromOtherRegistries(t *testing.T) {
	xml := `<AdhocQueryResponse xmlns="` + NSQuery + `" status="` + registry.ResponseSuccess + `">` +
		`<RegistryObjectList xmlns="` + NSRim + `">` +
		`<RegistryPackage id="urn:uuid:1" status="` + registry.StatusApproved + `">` +
		`<ExternalIdentifier id="e" registryObject="urn:uuid:1" identificationScheme="` + IdentSubmissionSetPatientID + `" value="` + strings.ReplaceAll(fnrKari, "&", "&amp;") + `"/>` +
		`</RegistryPackage>` +
		`<Classification id="c" classifiedObject="urn:uuid:1" classificationNode="` + NodeSubmissionSet + `"/>` +
		`<Association id="urn:uuid:2" associationType="` + registry.AssocHasMember + `" sourceObject="urn:uuid:1" targetObject="urn:uuid:3" status="` + registry.StatusApproved + `"/>` +
		`</RegistryObjectList></AdhocQueryResponse>`
	got, resp, err := ParseAdhocQueryResponse(parseElement(t, []byte(xml)))
	if err != nil {
		t.Fatal(err)
	}
	want := &registry.QueryResult{
		ReturnType:     registry.ReturnLeafClass,
		SubmissionSets: []*registry.SubmissionSet{{ID: "urn:uuid:1", Status: registry.StatusApproved, PatientID: fnrKari}},
		Associations: []*registry.Association{{ID: "urn:uuid:2", Type: registry.AssocHasMember, Source: "urn:uuid:1",
			Target: "urn:uuid:3", Status: registry.StatusApproved}},
	}
	sameModel(t, "result", want, got)
	sameModel(t, "response", registry.Response{Status: registry.ResponseSuccess}, resp)
}

func TestAdhocQueryResponseRejections(t *testing.T) {
	head := `<query:AdhocQueryResponse xmlns:query="` + NSQuery + `" xmlns:rim="` + NSRim + `" xmlns:rs="` + NSRs + `"`
	tests := []struct {
		name    string
		xml     string
		context []string
	}{
		{"no status", head + `><rim:RegistryObjectList/></query:AdhocQueryResponse>`, []string{"no status"}},
		{"ObjectRef mixed with LeafClass", head + ` status="s"><rim:RegistryObjectList><rim:ObjectRef id="x"/>` +
			assocXML("a", "t", "s", "d") + `</rim:RegistryObjectList></query:AdhocQueryResponse>`, []string{"mixes"}},
		{"ObjectRef without id", head + ` status="s"><rim:RegistryObjectList><rim:ObjectRef/></rim:RegistryObjectList></query:AdhocQueryResponse>`,
			[]string{"ObjectRef #1", "no id"}},
		{"RegistryError without errorCode", head + ` status="s"><rs:RegistryErrorList><rs:RegistryError codeContext="c"/></rs:RegistryErrorList></query:AdhocQueryResponse>`,
			[]string{"RegistryError #1", "no errorCode"}},
		{"metadata problem", head + ` status="s"><rim:RegistryObjectList>` + packageXML("P") + `</rim:RegistryObjectList></query:AdhocQueryResponse>`,
			[]string{`"P"`, "neither"}},
		{"not a response", `<query:AdhocQueryRequest xmlns:query="` + NSQuery + `"/>`, []string{"AdhocQueryResponse"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			res, _, err := ParseAdhocQueryResponse(parseElement(t, []byte(tt.xml)))
			if res != nil {
				t.Error("a result was returned with the error")
			}
			assertProblem(t, registryErrors(t, err), registry.ErrCodeRegistryMetadataError, tt.context)
		})
	}
}

func TestRegistryResponse(t *testing.T) {
	tests := []struct {
		name string
		resp registry.Response
	}{
		{"success", registry.Response{Status: registry.ResponseSuccess}},
		{"success with warning", registry.Response{Status: registry.ResponseSuccess, Errors: registry.ErrorList{
			registry.Warningf(registry.ErrCodeExtraMetadataNotSaved, "urn:x:y on Doc1")}}},
		{"failure", registry.Response{Status: registry.ResponseFailure, Errors: registry.ErrorList{
			registry.Errorf(registry.ErrCodePatientIDDoesNotMatch, "Doc1 patientId differs from the SubmissionSet's"),
			{Code: registry.ErrCodeRegistryMetadataError, Context: "Doc2: no uniqueId", Location: "Doc2", Severity: registry.SeverityError},
		}}},
		{"partial success", registry.Response{Status: registry.ResponsePartialSuccess, Errors: registry.ErrorList{
			{Code: registry.ErrCodeDocumentUniqueIDError, Context: "not found", Location: "1.2.3", Severity: registry.SeverityError}}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			golden := "model_registryresponse_" + strings.ReplaceAll(tt.name, " ", "_") + ".xml"
			goldenRoundTrip(t, golden, EncodeRegistryResponse(tt.resp), ParseRegistryResponse, "response", tt.resp)
		})
	}
}

func TestRegistryResponseDefaults(t *testing.T) {
	// An empty status follows from the errors.
	el := EncodeRegistryResponse(registry.Response{Errors: registry.ErrorList{{Code: registry.ErrCodeRegistryError, Context: "x"}}})
	if s := el.SelectAttrValue("status", ""); s != registry.ResponseFailure {
		t.Errorf("status = %q", s)
	}
	if s := el.FindElement("./rs:RegistryErrorList").SelectAttrValue("highestSeverity", ""); s != registry.SeverityError {
		t.Errorf("highestSeverity = %q", s)
	}
	// A RegistryError without severity is an error; text stands in for a
	// missing codeContext.
	xml := `<RegistryResponse xmlns="` + NSRs + `" status="` + registry.ResponseFailure + `"><RegistryErrorList>` +
		`<RegistryError errorCode="XDSRegistryError">something failed</RegistryError></RegistryErrorList></RegistryResponse>`
	got, err := ParseRegistryResponse(parseElement(t, []byte(xml)))
	if err != nil {
		t.Fatal(err)
	}
	sameModel(t, "response", registry.Response{Status: registry.ResponseFailure, Errors: registry.ErrorList{
		registry.Errorf(registry.ErrCodeRegistryError, "something failed")}}, got)
}

func TestRegistryResponseRejections(t *testing.T) {
	tests := []struct {
		name, xml string
		context   []string
	}{
		{"no status", `<rs:RegistryResponse xmlns:rs="` + NSRs + `"/>`, []string{"no status"}},
		{"wrong element", `<rs:RegistryErrorList xmlns:rs="` + NSRs + `"/>`, []string{"RegistryResponse", "RegistryErrorList"}},
		{"two error lists", `<rs:RegistryResponse xmlns:rs="` + NSRs + `" status="s"><rs:RegistryErrorList/><rs:RegistryErrorList/></rs:RegistryResponse>`,
			[]string{"appears twice"}},
		{"unexpected child", `<rs:RegistryResponse xmlns:rs="` + NSRs + `" status="s"><rs:Other/></rs:RegistryResponse>`,
			[]string{"unexpected element"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := ParseRegistryResponse(parseElement(t, []byte(tt.xml)))
			assertProblem(t, registryErrors(t, err), registry.ErrCodeRegistryError, tt.context)
		})
	}
}

func TestEncodeRegistryErrorList(t *testing.T) {
	if EncodeRegistryErrorList(nil) != nil {
		t.Error("an empty list must give nil")
	}
	errs := registry.ErrorList{registry.Warningf(registry.ErrCodeExtraMetadataNotSaved, "x")}
	el := EncodeRegistryErrorList(errs)
	// Standing alone it declares its namespace.
	back := parseElement(t, serialize(t, el))
	if !is(back, NSRs, "RegistryErrorList") || back.SelectAttrValue("highestSeverity", "") != registry.SeverityWarning {
		t.Fatalf("got %s highestSeverity=%q", qname(back), back.SelectAttrValue("highestSeverity", ""))
	}
	p := newProblems("x")
	sameModel(t, "errors", errs, parseErrorList(back, p))
	if p.err() != nil {
		t.Error(p.err())
	}
}
