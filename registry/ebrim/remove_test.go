package ebrim

import (
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"pjd/registry"
)

func TestRemoveObjectsRequest(t *testing.T) {
	ids, err := ParseRemoveObjectsRequest(loadElement(t, filepath.Join(testdata, "no", "remove_epikrise.xml")))
	if err != nil {
		t.Fatal(err)
	}
	want := []string{
		"urn:uuid:3c2b1a09-8f7e-4d6c-9b5a-493827160514",
		"urn:uuid:0a0a0a0a-1b1b-4c2c-8d3d-4e4e4e4e4e4e",
		"urn:uuid:a1b2c3d4-e5f6-4a7b-8c9d-0e1f2a3b4c5d",
	}
	sameModel(t, "ids", want, ids)
	goldenRoundTrip(t, "model_removeobjectsrequest.xml", EncodeRemoveObjectsRequest(ids), ParseRemoveObjectsRequest, "ids after a round trip", want)

	// deletionScope DeleteAll, slots and other prefixes are fine.
	ok := `<x:RemoveObjectsRequest xmlns:x="` + NSLcm + `" xmlns="` + NSRim + `" xmlns:rs="` + NSRs + `" deletionScope="` + DeletionScopeDeleteAll + `">` +
		`<rs:RequestSlotList/><ObjectRefList><ObjectRef id="urn:uuid:a" home="urn:oid:1.2"/></ObjectRefList></x:RemoveObjectsRequest>`
	if ids, err := ParseRemoveObjectsRequest(parseElement(t, []byte(ok))); err != nil || !reflect.DeepEqual(ids, []string{"urn:uuid:a"}) {
		t.Errorf("got %v, %v", ids, err)
	}
}

// TestRemoveObjectsRequestRejections has one row per structural problem;
// each gives XDSRegistryError naming it.
func TestRemoveObjectsRequestRejections(t *testing.T) {
	head := `<lcm:RemoveObjectsRequest xmlns:lcm="` + NSLcm + `" xmlns:rim="` + NSRim + `"`
	for _, tt := range []struct {
		name, xml string
		mentions  []string
	}{
		{"no ObjectRefList", head + `/>`, []string{"no ObjectRef"}},
		{"empty ObjectRefList", head + `><rim:ObjectRefList/></lcm:RemoveObjectsRequest>`, []string{"no ObjectRef"}},
		{"ObjectRef without id", head + `><rim:ObjectRefList><rim:ObjectRef/></rim:ObjectRefList></lcm:RemoveObjectsRequest>`,
			[]string{"ObjectRef #1", "no id"}},
		{"two ObjectRefLists", head + `><rim:ObjectRefList><rim:ObjectRef id="a"/></rim:ObjectRefList>` +
			`<rim:ObjectRefList><rim:ObjectRef id="b"/></rim:ObjectRefList></lcm:RemoveObjectsRequest>`, []string{"appears twice"}},
		{"AdhocQuery", head + `><rim:AdhocQuery id="q"/><rim:ObjectRefList><rim:ObjectRef id="a"/></rim:ObjectRefList></lcm:RemoveObjectsRequest>`,
			[]string{"AdhocQuery shall not be specified"}},
		{"deletionScope DeleteCompositeObject", head + ` deletionScope="urn:oasis:names:tc:ebxml-regrep:DeletionScopeType:DeleteRepositoryItemOnly">` +
			`<rim:ObjectRefList><rim:ObjectRef id="a"/></rim:ObjectRefList></lcm:RemoveObjectsRequest>`, []string{"deletionScope", "DeleteRepositoryItemOnly"}},
		{"something else in the list", head + `><rim:ObjectRefList><rim:ExtrinsicObject id="a"/></rim:ObjectRefList></lcm:RemoveObjectsRequest>`,
			[]string{"ObjectRefList", "ExtrinsicObject"}},
		{"a foreign element", head + `><x xmlns="urn:other"/><rim:ObjectRefList><rim:ObjectRef id="a"/></rim:ObjectRefList></lcm:RemoveObjectsRequest>`,
			[]string{"{urn:other}x"}},
		{"not a RemoveObjectsRequest", submitXML(ssXML("SS")), []string{"RemoveObjectsRequest", "SubmitObjectsRequest"}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			ids, err := ParseRemoveObjectsRequest(parseElement(t, []byte(tt.xml)))
			if ids != nil {
				t.Error("ids returned with the error")
			}
			l, ok := registry.AsErrors(err)
			if !ok || len(l) == 0 {
				t.Fatalf("got %v, want a registry.ErrorList", err)
			}
			for _, e := range l {
				if e.Code != registry.ErrCodeRegistryError || e.Severity != registry.SeverityError {
					t.Errorf("got %+v, want XDSRegistryError", e)
				}
			}
			for _, w := range tt.mentions {
				if !strings.Contains(l.Error(), w) {
					t.Errorf("%q does not mention %q", l.Error(), w)
				}
			}
		})
	}
}

func FuzzParseRemoveObjectsRequest(f *testing.F) {
	addSeeds(f, "no/remove_epikrise.xml", "golden/model_removeobjectsrequest.xml")
	f.Add([]byte(`<l:RemoveObjectsRequest xmlns:l="` + NSLcm + `" xmlns="` + NSRim + `" deletionScope="x">` +
		`<AdhocQuery id="q"/><ObjectRefList><ObjectRef id="a"/><ObjectRef/></ObjectRefList></l:RemoveObjectsRequest>`))
	f.Fuzz(func(t *testing.T, b []byte) {
		el := fuzzElement(b)
		if el == nil {
			return
		}
		ids, err := ParseRemoveObjectsRequest(el)
		if err != nil {
			if ids != nil {
				t.Fatal("ids returned with an error")
			}
			if _, ok := registry.AsErrors(err); !ok {
				t.Fatalf("error %T is not a registry.ErrorList", err)
			}
			return
		}
		again, err := ParseRemoveObjectsRequest(reparse(t, EncodeRemoveObjectsRequest(ids)))
		if err != nil {
			t.Fatalf("encoding of an accepted request does not parse: %v", err)
		}
		if !reflect.DeepEqual(ids, again) {
			t.Fatalf("round trip changed the ids: %q, %q", ids, again)
		}
	})
}
