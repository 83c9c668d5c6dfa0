package ebrim

import (
	"reflect"
	"strings"
	"testing"

	"pjd/registry"
)

func TestProvideAndRegisterFromModel(t *testing.T) {
	sub, parts := norwegianSubmission(), []DocumentPart{
		{ID: "Epikrise02", IncludeHref: "cid:epikrise02 del/1@pjd.example"}, // escaped on the wire
		{ID: "Notat01", Inline: []byte("Poliklinisk notat.\r\nSyntetisk.\n")},
	}
	el := EncodeProvideAndRegister(sub, parts)
	inc := el.FindElement("./xdsb:Document/xop:Include")
	if inc == nil || inc.SelectAttrValue("href", "") != "cid:epikrise02%20del%2F1@pjd.example" {
		t.Fatalf("xop:Include = %v", inc)
	}
	b := serialize(t, el)
	checkGolden(t, "model_provideandregister_xop.xml", b)
	gotSub, gotParts, err := ParseProvideAndRegister(parseElement(t, b))
	if err != nil {
		t.Fatal(err)
	}
	sameModel(t, "submission", sub, gotSub)
	sameModel(t, "parts", parts, gotParts)
}

func TestXOPHref(t *testing.T) {
	tests := []struct{ href, want string }{
		{"cid:a@b", "cid:a@b"},
		{"CID:a%40b", "cid:a@b"},
		{"cid:1.urn%3Auuid%3Aabc%40apache.org", "cid:1.urn:uuid:abc@apache.org"},
		{"cid:a+b", "cid:a+b"},
	}
	for _, tt := range tests {
		got, ok := parseXOPHref(tt.href)
		if !ok || got != tt.want {
			t.Errorf("parseXOPHref(%q) = %q, %v; want %q", tt.href, got, ok, tt.want)
		}
		back, ok := parseXOPHref(xopHref(got))
		if !ok || back != got {
			t.Errorf("%q does not survive encoding: %q", got, back)
		}
	}
	for _, bad := range []string{"", "cid:", "http://x/y", "cid:%", "cid:%G0", "urn:x"} {
		if got, ok := parseXOPHref(bad); ok {
			t.Errorf("parseXOPHref(%q) = %q, want rejection", bad, got)
		}
	}
}

func TestRetrieveDocumentSetRequest(t *testing.T) {
	reqs := []DocumentRequest{
		{RepositoryUniqueID: "2.16.578.1.12.4.1.7.99.1", DocumentUniqueID: "2.16.578.1.12.4.1.7.99.20240312093000.7"},
		{HomeCommunityID: "urn:oid:2.16.578.1.12.4.1.7.1.1", RepositoryUniqueID: "2.16.578.1.12.4.1.7.99.1",
			DocumentUniqueID: "2.16.578.1.12.4.1.7.99.20240312094500.8"},
	}
	goldenRoundTrip(t, "model_retrievedocumentsetrequest.xml", EncodeRetrieveDocumentSetRequest(reqs), ParseRetrieveDocumentSetRequest, "requests", reqs)

	// Another sender's layout: default namespace, white space around ids.
	xml := `<RetrieveDocumentSetRequest xmlns="` + NSXDSB + `"><DocumentRequest>` +
		`<RepositoryUniqueId> 1.2.3 </RepositoryUniqueId><DocumentUniqueId>
		1.2.3.4</DocumentUniqueId></DocumentRequest></RetrieveDocumentSetRequest>`
	got, err := ParseRetrieveDocumentSetRequest(parseElement(t, []byte(xml)))
	if err != nil {
		t.Fatal(err)
	}
	sameModel(t, "requests", []DocumentRequest{{RepositoryUniqueID: "1.2.3", DocumentUniqueID: "1.2.3.4"}}, got)
}

func TestRetrieveDocumentSetResponse(t *testing.T) {
	resp := registry.Response{Status: registry.ResponsePartialSuccess, Errors: registry.ErrorList{
		{Code: registry.ErrCodeDocumentUniqueIDError, Context: "document not found", Location: "2.16.578.1.12.4.1.7.99.3",
			Severity: registry.SeverityError},
	}}
	docs := []DocumentResponse{
		{RepositoryUniqueID: "2.16.578.1.12.4.1.7.99.1", DocumentUniqueID: "2.16.578.1.12.4.1.7.99.20240312093000.7",
			MimeType: "application/pdf", IncludeHref: "cid:doc-1@pjd.example"},
		{HomeCommunityID: "urn:oid:2.16.578.1.12.4.1.7.1.1", RepositoryUniqueID: "2.16.578.1.12.4.1.7.99.1",
			DocumentUniqueID: "2.16.578.1.12.4.1.7.99.20240312094500.8", MimeType: "text/plain", Inline: []byte("Syntetisk notat\n")},
		{RepositoryUniqueID: "1.2.3", DocumentUniqueID: "1.2.3.4", NewRepositoryUniqueID: "1.2.3",
			NewDocumentUniqueID: "1.2.3.5", MimeType: "text/plain", Inline: []byte("snapshot")},
	}
	el := EncodeRetrieveDocumentSetResponse(resp, docs)
	if first := el.ChildElements()[0]; !is(first, NSRs, "RegistryResponse") {
		t.Fatalf("first child is %s, want rs:RegistryResponse", qname(first))
	}
	b := serialize(t, el)
	checkGolden(t, "model_retrievedocumentsetresponse.xml", b)
	gotResp, gotDocs, err := ParseRetrieveDocumentSetResponse(parseElement(t, b))
	if err != nil {
		t.Fatal(err)
	}
	sameModel(t, "response", resp, gotResp)
	sameModel(t, "documents", docs, gotDocs)
}

func TestRetrieveRejections(t *testing.T) {
	req := func(inner string) string {
		return `<x:RetrieveDocumentSetRequest xmlns:x="` + NSXDSB + `">` + inner + `</x:RetrieveDocumentSetRequest>`
	}
	resp := func(inner string) string {
		return `<x:RetrieveDocumentSetResponse xmlns:x="` + NSXDSB + `" xmlns:rs="` + NSRs + `">` + inner + `</x:RetrieveDocumentSetResponse>`
	}
	okResp := `<rs:RegistryResponse status="` + registry.ResponseSuccess + `"/>`
	docResp := func(doc string) string {
		return `<x:DocumentResponse><x:RepositoryUniqueId>1</x:RepositoryUniqueId><x:DocumentUniqueId>2</x:DocumentUniqueId>` +
			`<x:mimeType>text/plain</x:mimeType>` + doc + `</x:DocumentResponse>`
	}
	tests := []struct {
		name, xml string
		response  bool
		context   []string
	}{
		{"no DocumentRequest", req(""), false, []string{"no DocumentRequest"}},
		{"id twice", req(`<x:DocumentRequest><x:DocumentUniqueId>1</x:DocumentUniqueId><x:DocumentUniqueId>2</x:DocumentUniqueId></x:DocumentRequest>`),
			false, []string{"DocumentRequest #1", "DocumentUniqueId appears twice"}},
		{"id holding an element", req(`<x:DocumentRequest><x:DocumentUniqueId><b/></x:DocumentUniqueId></x:DocumentRequest>`),
			false, []string{"DocumentRequest #1", "holds an element"}},
		{"unknown child", req(`<x:DocumentRequest><x:Other/></x:DocumentRequest>`), false, []string{"DocumentRequest #1", "Other"}},
		{"id in another namespace", req(`<x:DocumentRequest><DocumentUniqueId>1</DocumentUniqueId></x:DocumentRequest>`),
			false, []string{"DocumentRequest #1", "unexpected element"}},
		{"not a request", resp(okResp), false, []string{"RetrieveDocumentSetRequest"}},
		{"no RegistryResponse", resp(docResp(`<x:Document>QUJD</x:Document>`)), true, []string{"no RegistryResponse"}},
		{"bad base64", resp(okResp + docResp(`<x:Document>@@@</x:Document>`)), true, []string{"DocumentResponse #2", `"2"`, "base64"}},
		{"no Document", resp(okResp + docResp("")), true, []string{"DocumentResponse #2", "no Document"}},
		{"Document twice", resp(okResp + docResp(`<x:Document>QUJD</x:Document><x:Document>QUJD</x:Document>`)), true,
			[]string{"DocumentResponse #2", "Document appears twice"}},
		{"RegistryResponse without status", resp(`<rs:RegistryResponse/>`), true, []string{"no status"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			el := parseElement(t, []byte(tt.xml))
			var err error
			if tt.response {
				_, _, err = ParseRetrieveDocumentSetResponse(el)
			} else {
				_, err = ParseRetrieveDocumentSetRequest(el)
			}
			assertProblem(t, registryErrors(t, err), registry.ErrCodeRepositoryError, tt.context)
		})
	}
}

// TestRemoveDocumentsRequest: ITI-86 requests round-trip, and every
// problem of every DocumentRequest is reported, in document order.
func TestRemoveDocumentsRequest(t *testing.T) {
	reqs := []DocumentRequest{
		{RepositoryUniqueID: "1.2.3", DocumentUniqueID: "1.2.3.4"},
		{HomeCommunityID: "urn:oid:1.2", RepositoryUniqueID: "1.2.3", DocumentUniqueID: "1.2.3.5"},
	}
	got, err := ParseRemoveDocumentsRequest(parseElement(t, serialize(t, EncodeRemoveDocumentsRequest(reqs))))
	if err != nil {
		t.Fatal(err)
	}
	sameModel(t, "requests", reqs, got)

	req := func(inner string) string {
		return `<r:RemoveDocumentsRequest xmlns:r="` + NSRMD + `" xmlns:x="` + NSXDSB + `">` + inner + `</r:RemoveDocumentsRequest>`
	}
	tests := []struct {
		name, xml string
		want      []string
	}{
		{"no DocumentRequest", req(""), []string{"RemoveDocumentsRequest: no DocumentRequest"}},
		{"not a RemoveDocumentsRequest", `<x:RetrieveDocumentSetRequest xmlns:x="` + NSXDSB + `"/>`,
			[]string{"expected {" + NSRMD + "}RemoveDocumentsRequest, got \"{" + NSXDSB + "}RetrieveDocumentSetRequest\""}},
		{"problems of each request in order", req(`<x:DocumentRequest><x:DocumentUniqueId>1</x:DocumentUniqueId></x:DocumentRequest>` +
			`<x:Other/>` +
			`<x:DocumentRequest><x:Bad/><x:RepositoryUniqueId>1</x:RepositoryUniqueId></x:DocumentRequest>`),
			[]string{
				"DocumentRequest #1: no RepositoryUniqueId",
				"RemoveDocumentsRequest: unexpected element \"{" + NSXDSB + "}Other\"",
				"DocumentRequest #3: unexpected element \"{" + NSXDSB + "}Bad\"",
				"DocumentRequest #3: no DocumentUniqueId",
			}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := ParseRemoveDocumentsRequest(parseElement(t, []byte(tt.xml)))
			var contexts []string
			for _, e := range registryErrors(t, err) {
				if e.Code != registry.ErrCodeRepositoryError {
					t.Errorf("code %s, want %s", e.Code, registry.ErrCodeRepositoryError)
				}
				contexts = append(contexts, e.Context)
			}
			if !reflect.DeepEqual(contexts, tt.want) {
				t.Errorf("got %q,\nwant %q", contexts, tt.want)
			}
		})
	}
}

func TestInlineBase64WithLineBreaks(t *testing.T) {
	got, err := decodeBase64("U3lu\r\n dGV0\taXNr\n")
	if err != nil || string(got) != "Syntetisk" {
		t.Errorf("decodeBase64 = %q, %v", got, err)
	}
	if got, err := decodeBase64(" \n "); err != nil || got != nil {
		t.Errorf("empty content = %q, %v", got, err)
	}
	if _, err := decodeBase64(strings.Repeat("A", 5)); err == nil {
		t.Error("truncated base64 accepted")
	}
}
