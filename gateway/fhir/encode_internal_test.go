package fhir

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"reflect"
	"slices"
	"testing"
)

// encodeBundle knows every field of Bundle and BundleEntry: a new field
// must be added there too, or a Bundle would lose it.
func TestEncodeBundleFields(t *testing.T) {
	for typ, want := range map[reflect.Type][]string{
		reflect.TypeFor[Bundle]():      {"resourceType", "id,omitempty", "meta,omitempty", "type", "timestamp,omitempty", "total,omitempty", "link,omitempty", "entry,omitempty"},
		reflect.TypeFor[BundleEntry](): {"fullUrl,omitempty", "resource,omitempty", "search,omitempty", "request,omitempty", "response,omitempty"},
	} {
		var got []string
		for _, f := range reflect.VisibleFields(typ) {
			if !f.Anonymous { // an embedded Base: its promoted fields follow it
				got = append(got, f.Tag.Get("json"))
			}
		}
		if !slices.Equal(got, want) {
			t.Errorf("%s fields %q; encodeBundle writes %q — update it", typ.Name(), got, want)
		}
	}
}

// Encode writes a Bundle byte for byte as encoding/json does.
func TestEncodeBundleSameAsEncodingJSON(t *testing.T) {
	total, zero := 3, 0
	size := int64(12)
	doc := func(i int) *DocumentReference {
		return &DocumentReference{DomainResource: DomainResource{ResourceType: "DocumentReference", ID: fmt.Sprintf("d%d", i),
			Contained: []Resource{R(&Practitioner{DomainResource: DomainResource{ResourceType: "Practitioner", ID: "a1"}, Name: []HumanName{{Family: "Æøå <&> \u2028", Given: []string{"Ola"}}}}),
				{Value: &RawResource{Type: "Basic", JSON: json.RawMessage(`{ "resourceType" : "Basic",  "x": [1, 2] }`)}}}},
			Status:      "current",
			Subject:     &Reference{Reference: "Patient/p1"},
			Description: `quote " backslash \ tab 	 <script>`,
			Content:     []DocumentContent{{Attachment: Attachment{ContentType: "text/plain", URL: "https://x.test/a?b=1&c=2", Size: &size}}},
		}
	}
	for _, b := range []Bundle{
		{},
		{Base: Base{ResourceType: "Bundle"}, Type: "searchset", Total: &zero},
		{Base: Base{ResourceType: "Bundle", ID: "b1", Meta: &Meta{Security: []Coding{{System: "s", Code: "BTG"}}}}, Type: "searchset", Timestamp: "2026-12-07T12:00:00Z", Total: &total,
			Link: []BundleLink{{Relation: "self", URL: "https://pjd.test/fhir/R4/DocumentReference?a=1&b=<2>"}, {Relation: "next", URL: "n"}},
			Entry: []BundleEntry{
				{FullURL: "https://pjd.test/fhir/R4/DocumentReference/d1", Resource: &Resource{Value: doc(1)}, Search: &BundleSearch{Mode: "match"}},
				{Resource: &Resource{Value: &OperationOutcome{DomainResource: DomainResource{ResourceType: "OperationOutcome"}, Issue: []Issue{{Severity: "warning", Code: "incomplete"}}}}, Search: &BundleSearch{Mode: "outcome"}},
				{Resource: &Resource{}},
				{},
				{Request: &BundleRequest{Method: "POST", URL: "DocumentReference"}, Response: &BundleResponse{Status: "201 Created"}},
				{FullURL: "urn:uuid:1", Resource: &Resource{Value: &RawResource{Type: "Basic", JSON: json.RawMessage("{\n  \"resourceType\": \"Basic\"\n}")}}},
			}},
	} {
		for _, v := range []any{b, &b} {
			var want, got bytes.Buffer
			if err := encodeJSON(&want, v, false); err != nil {
				t.Fatal(err)
			}
			if err := Encode(&got, v, false); err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(got.Bytes(), want.Bytes()) {
				t.Fatalf("Encode(%T):\n%s\nencoding/json:\n%s", v, got.Bytes(), want.Bytes())
			}
		}
	}
	// A resource that cannot be encoded fails the whole Bundle, and
	// nothing is written.
	bad := Bundle{Base: Base{ResourceType: "Bundle"}, Type: "searchset", Entry: []BundleEntry{{Resource: &Resource{Value: &RawResource{Type: "Basic", JSON: json.RawMessage(`{"x":`)}}}}}
	got := bytes.NewBufferString("before")
	var syn *json.SyntaxError
	if err := Encode(got, bad, false); !errors.As(err, &syn) || got.String() != "before" {
		t.Fatalf("Encode of a broken resource into a buffer: %v, buffer %q", err, got)
	}
	var w bytes.Buffer
	if err := Encode(struct{ io.Writer }{&w}, bad, false); !errors.As(err, &syn) || w.Len() != 0 {
		t.Fatalf("Encode of a broken resource: %v, %d bytes written", err, w.Len())
	}
}

// BenchmarkEncodeSearchSet renders a searchset of 20 DocumentReferences
// (ITI-67's default page) with Encode, next to encoding/json alone.
func BenchmarkEncodeSearchSet(b *testing.B) {
	total := 20
	size := int64(2048)
	bundle := Bundle{Base: Base{ResourceType: "Bundle"}, Type: "searchset", Total: &total,
		Link: []BundleLink{{Relation: "self", URL: "https://pjd.test/fhir/R4/DocumentReference?patient.identifier=x"}}}
	for i := range total {
		d := &DocumentReference{DomainResource: DomainResource{ResourceType: "DocumentReference", ID: fmt.Sprintf("urn-oid-2.16.578.1.12.4.1.7.1.1.%d", i),
			Contained: []Resource{R(&Practitioner{DomainResource: DomainResource{ResourceType: "Practitioner", ID: "author1"}, Identifier: []Identifier{{System: "urn:oid:2.16.578.1.12.4.1.4.4", Value: "565500013"}},
				Name: []HumanName{{Family: "Fastlege", Given: []string{"Frida"}}}})}},
			Status:           "current",
			MasterIdentifier: &Identifier{System: "urn:ietf:rfc:3986", Value: fmt.Sprintf("urn:oid:2.16.578.1.12.4.1.7.1.1.%d", i)},
			Type:             &CodeableConcept{Coding: []Coding{{System: "urn:oid:2.16.578.1.12.4.1.1.9602", Code: "J01-2", Display: "Epikrise"}}},
			Category:         []CodeableConcept{{Coding: []Coding{{System: "urn:oid:2.16.578.1.12.4.1.1.9602", Code: "J01", Display: "Epikriser og sammenfatninger"}}}},
			Subject:          &Reference{Identifier: &Identifier{System: "urn:oid:2.16.578.1.12.4.1.4.1", Value: "13116900216"}},
			Date:             "2026-12-07T12:00:00Z",
			Author:           []Reference{{Reference: "#author1"}},
			Content: []DocumentContent{{Attachment: Attachment{ContentType: "text/plain", URL: "https://pjd.test/mhd/document?repositoryUniqueId=1&uniqueId=2", Size: &size, Title: "Epikrise"},
				Format: &Coding{System: "http://ihe.net/fhir/ihe.formatcode.fhir/CodeSystem/formatcode", Code: "urn:ihe:iti:xds:2017:mimeTypeSufficient"}}},
		}
		bundle.Entry = append(bundle.Entry, BundleEntry{FullURL: "https://pjd.test/fhir/R4/DocumentReference/" + d.ID, Resource: &Resource{Value: d}, Search: &BundleSearch{Mode: "match"}})
	}
	for _, c := range []struct {
		name string
		enc  func(*bytes.Buffer) error
	}{
		{"baseline/encoding-json", func(w *bytes.Buffer) error { return encodeJSON(w, bundle, false) }},
		{"Encode", func(w *bytes.Buffer) error { return Encode(w, bundle, false) }},
	} {
		b.Run(c.name, func(b *testing.B) {
			var buf bytes.Buffer
			b.ReportAllocs()
			for b.Loop() {
				buf.Reset()
				if err := c.enc(&buf); err != nil {
					b.Fatal(err)
				}
			}
			b.SetBytes(int64(buf.Len()))
		})
	}
}
