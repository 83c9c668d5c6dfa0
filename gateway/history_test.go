package gateway_test

import (
	"context"
	"encoding/json"
	"net/http"
	"strings"
	"testing"

	"pjd/gateway/access"
	"pjd/gateway/audit"
	"pjd/registry"
)

// DocumentReference/[id]/_history after an ITI-57 update: both versions,
// newest first, the old one superseded; vread of each; searches show the
// current version only; and a document the caller may not see has a
// history exactly as absent as one that does not exist.
func TestDocumentReferenceHistory(t *testing.T) {
	h := newHarness(t, options{})
	h.seed()
	ctx := context.Background()
	prev, err := h.reg.Reader().Documents(ctx, registry.DocumentFilter{UniqueIDs: []string{uidNormal}})
	if err != nil || len(prev) != 1 {
		t.Fatal(err, len(prev))
	}
	if _, err := h.guard.Update(ctx, access.Call{Principal: sourcePrincipal(), Transaction: audit.TxITI57}, registry.SampleUpdate(9601, prev[0], nil)); err != nil {
		t.Fatal(err)
	}
	lid := strings.TrimPrefix(prev[0].ID, "urn:uuid:")
	tok := h.token("fastlege", patientP)
	get := func(path string) (int, string) {
		resp := h.do(tok, http.MethodGet, path, nil, nil)
		return resp.StatusCode, string(readBody(t, resp))
	}
	st, body := get("/fhir/R4/DocumentReference/" + lid + "/_history")
	if st != http.StatusOK {
		t.Fatalf("%d %s", st, body)
	}
	var b struct {
		Type  string
		Total int
		Entry []struct {
			FullURL  string
			Resource struct {
				ID     string
				Status string
				Meta   struct{ VersionID string }
			}
			Request struct{ Method string }
		}
	}
	if err := json.Unmarshal([]byte(body), &b); err != nil {
		t.Fatal(err)
	}
	if b.Type != "history" || b.Total != 2 || len(b.Entry) != 2 {
		t.Fatalf("bundle %s", body)
	}
	e0, e1 := b.Entry[0], b.Entry[1]
	if e0.Resource.Meta.VersionID != "2" || e0.Resource.Status != "current" || e0.Request.Method != "PUT" ||
		e1.Resource.Meta.VersionID != "1" || e1.Resource.Status != "superseded" || e1.Request.Method != "POST" ||
		e0.Resource.ID != lid || e1.Resource.ID != lid || !strings.HasSuffix(e1.FullURL, "/_history/1") {
		t.Fatalf("entries %+v", b.Entry)
	}
	if st, body := get("/fhir/R4/DocumentReference/" + lid + "/_history/1"); st != http.StatusOK || !strings.Contains(body, `"superseded"`) {
		t.Fatalf("vread 1: %d %s", st, body)
	}
	st, body = get("/fhir/R4/DocumentReference?patient.identifier=urn:oid:2.16.578.1.12.4.1.4.1|" + patientP)
	if st != http.StatusOK || strings.Count(body, `"id": "`+lid+`"`)+strings.Count(body, `"id":"`+lid+`"`) != 1 || !strings.Contains(body, `"versionId":"2"`) {
		t.Fatalf("search shows the document other than once at version 2: %d %s", st, body)
	}
	// Concealment: unknown, NORS and another patient's all answer alike.
	ids := map[string]string{"unknown": "0b6a3f2c-1111-4222-8333-944455556666"}
	for name, uid := range map[string]string{"nors": uidNORS, "other patient": uidQ} {
		ds, err := h.reg.Reader().Documents(ctx, registry.DocumentFilter{UniqueIDs: []string{uid}})
		if err != nil || len(ds) != 1 {
			t.Fatal(err)
		}
		ids[name] = strings.TrimPrefix(ds[0].LogicalID, "urn:uuid:")
	}
	want := ""
	for _, name := range []string{"unknown", "nors", "other patient"} {
		st, body := get("/fhir/R4/DocumentReference/" + ids[name] + "/_history")
		got := http.StatusText(st) + " " + body
		if want == "" {
			want = got
			if st != http.StatusNotFound {
				t.Fatalf("unknown document: %s", got)
			}
		}
		if got != want {
			t.Fatalf("%s: %s, want exactly %s", name, got, want)
		}
	}
}
