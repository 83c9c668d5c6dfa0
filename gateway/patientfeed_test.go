package gateway_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"pjd/registry"
	"pjd/registry/oid"
)

// ITI-104 Patient Identity Feed FHIR: a conditional PUT (or the same PUT
// in a transaction Bundle) with link replaced-by links a D-nummer to a
// fødselsnummer, after which a search by either finds the documents of
// both; the same PUT without the link undoes it. Only the identity-feed
// system may send it.
func TestPatientIdentityFeed(t *testing.T) {
	h := newHarness(t, options{})
	ctx := context.Background()
	dnr := registry.SyntheticDnr(41)
	h.provide(registry.SampleSubmission(registry.SampleOptions{Patient: registry.NewPatientCX(dnr, oid.DNR).String(), Seq: 9501}), 9501)
	uidD := registry.SampleUniqueID(9501, 0)
	fnr := patientP // has the seeded documents? no: seed was not called; give it one
	h.provide(registry.SampleSubmission(registry.SampleOptions{Patient: cx(fnr), Seq: 9502}), 9502)

	patient := func(active bool, link bool) string {
		p := map[string]any{"resourceType": "Patient", "active": active,
			"identifier": []any{map[string]any{"system": "urn:oid:" + oid.DNR, "value": dnr}}}
		if link {
			p["link"] = []any{map[string]any{"type": "replaced-by",
				"other": map[string]any{"identifier": map[string]any{"system": "urn:oid:" + oid.FNR, "value": fnr}}}}
		}
		b, _ := json.Marshal(p)
		return string(b)
	}
	put := func(persona, body string) (int, string) {
		q := url.Values{"identifier": {"urn:oid:" + oid.DNR + "|" + dnr}}
		resp := h.do(h.token(persona, ""), http.MethodPut, "/fhir/R4/Patient?"+q.Encode(), strings.NewReader(body),
			http.Header{"Content-Type": {"application/fhir+json"}})
		return resp.StatusCode, string(readBody(t, resp))
	}
	found := func(number string) int {
		ident, err := h.reg.ResolvePatient(ctx, registry.NewPatientCX(number, oid.NationalID(number)).String())
		if err != nil {
			t.Fatal(err)
		}
		ds, err := h.reg.Reader().Documents(ctx, registry.DocumentFilter{PatientIDs: ident.All})
		if err != nil {
			t.Fatal(err)
		}
		return len(ds)
	}
	for _, c := range []struct {
		name    string
		persona string
		body    string
		status  int
		frag    string
	}{
		{"a health worker may not", "fastlege", patient(false, true), http.StatusForbidden, "does not hold the scope"},
		{"a source without the scope may not", "sykehus-epj", patient(false, true), http.StatusForbidden, "does not hold the scope"},
		{"not a Patient", "identitetsfeed", `{"resourceType":"Bundle"}`, http.StatusBadRequest, "JSON FHIR Patient"},
		{"inactive without a link", "identitetsfeed", patient(false, false), http.StatusBadRequest, "not-supported"},
	} {
		t.Run(c.name, func(t *testing.T) {
			st, body := put(c.persona, c.body)
			if st != c.status || !strings.Contains(body, c.frag) {
				t.Fatalf("%d %s, want %d naming %q", st, body, c.status, c.frag)
			}
		})
	}
	if n := found(fnr); n != 1 {
		t.Fatalf("%d documents under the F-nr before the link, want 1", n)
	}
	t.Run("link", func(t *testing.T) {
		rec := h.oneRecord(t, func() {
			if st, body := put("identitetsfeed", patient(false, true)); st != http.StatusOK {
				t.Fatalf("%d %s", st, body)
			}
		})
		if rec.Transaction != "ITI-104" || rec.Action != "create" || rec.PatientID != dnr {
			t.Fatalf("audit record %+v", rec)
		}
		if found(fnr) != 2 || found(dnr) != 2 {
			t.Fatalf("after the link: %d under the F-nr, %d under the D-nr; want 2 and 2", found(fnr), found(dnr))
		}
		if st, body := put("identitetsfeed", patient(false, true)); st != http.StatusUnprocessableEntity || !strings.Contains(body, "already linked") {
			t.Fatalf("second link: %d %s", st, body)
		}
	})
	t.Run("unlink", func(t *testing.T) {
		if st, body := put("identitetsfeed", patient(true, false)); st != http.StatusOK {
			t.Fatalf("%d %s", st, body)
		}
		if found(fnr) != 1 {
			t.Fatalf("after the unlink: %d under the F-nr, want 1", found(fnr))
		}
	})
	t.Run("transaction Bundle", func(t *testing.T) {
		bundle := fmt.Sprintf(`{"resourceType":"Bundle","type":"transaction","entry":[{"resource":%s,"request":{"method":"PUT","url":"Patient?identifier=urn:oid:%s|%s"}}]}`,
			patient(false, true), oid.DNR, dnr)
		resp := h.do(h.token("identitetsfeed", ""), http.MethodPost, "/fhir/R4", strings.NewReader(bundle), http.Header{"Content-Type": {"application/fhir+json"}})
		body := string(readBody(t, resp))
		if resp.StatusCode != http.StatusOK || !strings.Contains(body, "transaction-response") || !strings.Contains(body, "200 OK") {
			t.Fatalf("%d %s", resp.StatusCode, body)
		}
		if found(fnr) != 2 {
			t.Fatalf("after the Bundle: %d under the F-nr, want 2", found(fnr))
		}
		_ = uidD
	})
	t.Run("Remove Patient is not supported", func(t *testing.T) {
		resp := h.do(h.token("identitetsfeed", ""), http.MethodDelete, "/fhir/R4/Patient?identifier=urn:oid:"+oid.DNR+"|"+dnr, nil, nil)
		if body := string(readBody(t, resp)); resp.StatusCode != http.StatusBadRequest || !strings.Contains(body, "Remove Patient is not supported") {
			t.Fatalf("%d %s", resp.StatusCode, body)
		}
	})
}
