package main

import (
	"slices"
	"strings"
	"testing"
)

// In the environment or a config file several communities are one value:
// a comma followed by urn:oid: starts the next one; other commas stay.
func TestCommunityFlagSplits(t *testing.T) {
	var f communityFlag
	if err := f.Set("urn:oid:1.2.3=https://a.example/x?a=1,2;name=Vest, urn:oid:1.2.4=https://b.example/,urn:oid:1.2.5=https://c.example/"); err != nil {
		t.Fatal(err)
	}
	if err := f.Set("urn:oid:1.2.6=https://d.example/;name=Nord, Troms"); err != nil {
		t.Fatal(err)
	}
	want := []string{"urn:oid:1.2.3=https://a.example/x?a=1,2;name=Vest", "urn:oid:1.2.4=https://b.example/",
		"urn:oid:1.2.5=https://c.example/", "urn:oid:1.2.6=https://d.example/;name=Nord, Troms"}
	if !slices.Equal(f, want) {
		t.Errorf("got %q", f)
	}
}

// pjd mhd search names each document's community and the communities a
// federated search could not reach.
func TestPrintBundleFederated(t *testing.T) {
	body := `{"resourceType":"Bundle","type":"searchset","total":1,"entry":[
	 {"resource":{"resourceType":"DocumentReference","status":"current","date":"2026-12-02T21:00:00Z",
	   "extension":[{"url":"https://profiles.ihe.net/ITI/MHD/StructureDefinition/ihe-HomeCommunityId","valueIdentifier":{"system":"urn:ietf:rfc:3986","value":"urn:oid:2.999.578.3.1"}}],
	   "content":[{"attachment":{"title":"Epikrise","url":"http://x/mhd/document?homeCommunityId=urn%3Aoid%3A2.999.578.3.1"}}]},"search":{"mode":"match"}},
	 {"resource":{"resourceType":"OperationOutcome","issue":[{"severity":"warning","code":"incomplete",
	   "details":{"text":"Dokumenter fra Helse Nord kunne ikke hentes nå"},"diagnostics":"urn:oid:2.999.578.3.2: Helse Nord could not be reached"}]},"search":{"mode":"outcome"}}]}`
	var out strings.Builder
	if err := printBundle(&out, []byte(body), "0"); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"COMMUNITY", "urn:oid:2.999.578.3.1", "1 document(s)",
		"! Dokumenter fra Helse Nord kunne ikke hentes nå (urn:oid:2.999.578.3.2: Helse Nord could not be reached)"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("output lacks %q:\n%s", want, out.String())
		}
	}
}
