package fhir_test

import (
	"bytes"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"pjd/gateway/fhir"
)

func TestWrite(t *testing.T) {
	w := httptest.NewRecorder()
	fhir.Write(w, http.StatusOK, &fhir.Bundle{Base: fhir.Base{ResourceType: "Bundle"}, Type: "searchset",
		Link: []fhir.BundleLink{{Relation: "self", URL: "https://pjd.test/fhir/R4/List?a=1&b=<2>"}}}, false)
	res := w.Result()
	for k, want := range map[string]string{
		"Content-Type":           "application/fhir+json; charset=utf-8",
		"Cache-Control":          "no-store",
		"X-Content-Type-Options": "nosniff",
		"Content-Length":         "122",
	} {
		if got := res.Header.Get(k); got != want {
			t.Errorf("%s: %q, want %q", k, got, want)
		}
	}
	// No HTML escaping: FHIR JSON carries & < > as they are.
	if want := `{"resourceType":"Bundle","type":"searchset","link":[{"relation":"self","url":"https://pjd.test/fhir/R4/List?a=1&b=<2>"}]}` + "\n"; w.Body.String() != want {
		t.Errorf("body %s\nwant %s", w.Body, want)
	}
}

func TestWriteUnencodable(t *testing.T) {
	w := httptest.NewRecorder()
	fhir.Write(w, http.StatusOK, map[string]any{"x": func() {}}, false)
	if w.Code != http.StatusInternalServerError || !strings.Contains(w.Body.String(), `"code":"exception"`) || strings.Contains(w.Body.String(), "func") {
		t.Fatalf("HTTP %d %s", w.Code, w.Body)
	}
}

func TestWriteTransient(t *testing.T) {
	w := httptest.NewRecorder()
	fhir.WriteTransient(w, 5, "the access log is unavailable; try again later")
	var o fhir.OperationOutcome
	if err := json.Unmarshal(w.Body.Bytes(), &o); err != nil {
		t.Fatal(err)
	}
	if w.Code != http.StatusServiceUnavailable || w.Header().Get("Retry-After") != "5" || len(o.Issue) != 1 ||
		o.Issue[0].Code != fhir.IssueTransient || o.Issue[0].Severity != fhir.SeverityError {
		t.Fatalf("HTTP %d Retry-After %q %+v", w.Code, w.Header().Get("Retry-After"), o)
	}
}

func TestRefusalIssue(t *testing.T) {
	for status, want := range map[int]string{
		http.StatusBadRequest:          fhir.IssueInvalid,
		http.StatusUnauthorized:        fhir.IssueLogin,
		http.StatusForbidden:           fhir.IssueForbidden,
		http.StatusInternalServerError: fhir.IssueTransient,
		http.StatusServiceUnavailable:  fhir.IssueTransient,
		http.StatusMethodNotAllowed:    fhir.IssueSecurity,
	} {
		if got := fhir.RefusalIssue(status); got != want {
			t.Errorf("RefusalIssue(%d) = %s, want %s", status, got, want)
		}
	}
}

func TestSystems(t *testing.T) {
	for _, c := range []struct{ scheme, system string }{
		{"2.16.578.1.12.4.1.1.9602", "urn:oid:2.16.578.1.12.4.1.1.9602"},
		{"urn:ihe:iti:xds:2013:referral", "urn:ihe:iti:xds:2013:referral"},
		{"http://snomed.info/sct", "http://snomed.info/sct"},
	} {
		if got := fhir.SystemFor(c.scheme); got != c.system {
			t.Errorf("SystemFor(%s) = %s, want %s", c.scheme, got, c.system)
		}
	}
	for system, scheme := range map[string]string{
		"urn:oid:2.16.578.1.12.4.1.1.9602":                         "2.16.578.1.12.4.1.1.9602",
		"http://terminology.hl7.org/CodeSystem/v3-Confidentiality": "2.16.840.1.113883.5.25",
		"http://loinc.org":                                         "2.16.840.1.113883.6.1",
		"urn:ihe:iti:xds:2013:referral":                            "urn:ihe:iti:xds:2013:referral",
	} {
		if got := fhir.SchemeFor(system); got != scheme {
			t.Errorf("SchemeFor(%s) = %s, want %s", system, got, scheme)
		}
	}
}

// TestResourceRoundTrip reads every resource type by its resourceType,
// contained ones included, and writes it back unchanged.
func TestResourceRoundTrip(t *testing.T) {
	in := `{"resourceType":"AuditEvent","id":"a","contained":[` +
		`{"resourceType":"Practitioner","id":"practitioner","qualification":[{"code":{"coding":[{"code":"LE"}]}}]},` +
		`{"resourceType":"Organization","id":"o","partOf":{"reference":"#p"}},` +
		`{"resourceType":"Location","id":"l","managingOrganization":{"reference":"#o"}},` +
		`{"resourceType":"Encounter","id":"e","status":"unknown","class":{"code":"UNK"}},` +
		`{"resourceType":"PractitionerRole","id":"r","active":true,"location":[{"reference":"#l"}]},` +
		`{"resourceType":"Patient","id":"patient"},` +
		`{"resourceType":"Consent","id":"unmodelled"}],` +
		`"extension":[{"extension":[{"url":"toa","valueUnsignedInt":1710830705},{"url":"x","valueBoolean":false}],"url":"u"}],` +
		`"type":{"code":"110110"},"recorded":"2024-03-19T06:45:00.000Z","agent":[{"requestor":false}],"source":{"site":"pjd"}}`
	var r fhir.Resource
	if err := json.Unmarshal([]byte(in), &r); err != nil {
		t.Fatal(err)
	}
	ae, ok := r.Value.(*fhir.AuditEvent)
	if !ok || r.Type() != "AuditEvent" {
		t.Fatalf("read as %T", r.Value)
	}
	var types, ids []string
	for _, c := range ae.Contained {
		types = append(types, c.Type())
		ids = append(ids, c.ID())
	}
	if got := strings.Join(types, ","); got != "Practitioner,Organization,Location,Encounter,PractitionerRole,Patient,Consent" {
		t.Errorf("contained %s", got)
	}
	// An unmodelled resource's id is not read.
	if got := strings.Join(ids, ","); got != "practitioner,o,l,e,r,patient," || r.ID() != "a" {
		t.Errorf("ids %s and %q", got, r.ID())
	}
	bundle := fhir.R(&fhir.Bundle{Base: fhir.Base{ResourceType: "Bundle", ID: "b"}})
	if bundle.ID() != "b" || (fhir.Resource{}).ID() != "" {
		t.Errorf("Bundle id %q, empty resource's %q", bundle.ID(), (fhir.Resource{}).ID())
	}
	var out bytes.Buffer
	if err := fhir.Encode(&out, r, false); err != nil {
		t.Fatal(err)
	}
	if got := strings.TrimSpace(out.String()); got != in {
		t.Errorf("written back as\n%s\nwant\n%s", got, in)
	}
}
