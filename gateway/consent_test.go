package gateway_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"testing"

	"pjd/registry"
	"pjd/registry/oid"
)

// A citizen's own block as FHIR Consent: made for one document, the
// fastlege's search no longer shows it (and says only that something is
// hidden); revoked, it shows again. Unenforceable consents are 422, and
// another number is answered as a patient without consents.
func TestConsentBlocks(t *testing.T) {
	h := newHarness(t, options{})
	h.seed()
	ctx := context.Background()
	uidCit := registry.SampleUniqueID(seqCit, 0)
	ds, err := h.reg.Reader().Documents(ctx, registry.DocumentFilter{UniqueIDs: []string{uidCit}})
	if err != nil || len(ds) != 1 {
		t.Fatal(err)
	}
	docID := strings.TrimPrefix(ds[0].LogicalID, "urn:uuid:")
	cit := h.token("citizen", "")
	send := func(method, path, body string) (int, string) {
		var r *strings.Reader
		if body != "" {
			r = strings.NewReader(body)
		} else {
			r = strings.NewReader("")
		}
		resp := h.do(cit, method, path, r, http.Header{"Content-Type": {"application/fhir+json"}})
		return resp.StatusCode, string(readBody(t, resp))
	}
	fastlegeSees := func() bool { return h.fastlegeSees(uidCit) }
	consent := func(deny string) string {
		return `{"resourceType":"Consent","status":"active","provision":{"type":"permit","provision":[` + deny + `]}}`
	}
	for _, c := range []struct {
		name, body string
		status     int
	}{
		{"not a consent", `{"resourceType":"Patient"}`, http.StatusBadRequest},
		{"a recipient actor", consent(`{"type":"deny","actor":[{"reference":{"identifier":{"system":"urn:oid:2.16.578.1.12.4.1.4.4","value":"565500013"}}}]}`), http.StatusUnprocessableEntity},
		{"another patient's document", consent(`{"type":"deny","data":[{"meaning":"instance","reference":{"reference":"DocumentReference/` + strings.TrimPrefix(mustLID(t, h, uidQ), "urn:uuid:") + `"}}]}`), http.StatusUnprocessableEntity},
		{"an unknown meaning", consent(`{"type":"deny","data":[{"meaning":"related","reference":{"reference":"Encounter/1"}}]}`), http.StatusUnprocessableEntity},
		{"a bad organisation", consent(`{"type":"deny","data":[{"meaning":"authoredby","reference":{"identifier":{"system":"urn:oid:2.16.578.1.12.4.1.4.101","value":"123"}}}]}`), http.StatusUnprocessableEntity},
	} {
		t.Run(c.name, func(t *testing.T) {
			if st, body := send(http.MethodPost, "/fhir/R4/Consent", c.body); st != c.status {
				t.Fatalf("%d %s, want %d", st, body, c.status)
			}
		})
	}
	if !fastlegeSees() {
		t.Fatal("the fastlege does not see the document before any consent")
	}
	st, body := send(http.MethodPost, "/fhir/R4/Consent", consent(`{"type":"deny","data":[{"meaning":"instance","reference":{"reference":"DocumentReference/`+docID+`"}}]}`))
	if st != http.StatusCreated {
		t.Fatalf("create: %d %s", st, body)
	}
	var made struct{ ID string }
	if err := json.Unmarshal([]byte(body), &made); err != nil || made.ID == "" {
		t.Fatalf("create answered %s", body)
	}
	if fastlegeSees() {
		t.Fatal("the fastlege still sees the blocked document")
	}
	if bs, _ := h.blocks.Blocks(ctx, citizenID); len(bs) != 1 || !bs[0].Everyone || len(bs[0].DocumentUniqueIDs) != 1 || bs[0].DocumentUniqueIDs[0] != uidCit {
		t.Fatalf("stored blocks %+v", bs)
	}
	if st, body := send(http.MethodGet, "/fhir/R4/Consent", ""); st != http.StatusOK || !strings.Contains(body, made.ID) || !strings.Contains(body, `"total":1`) {
		t.Fatalf("search: %d %s", st, body)
	}
	other := fmt.Sprintf("/fhir/R4/Consent?patient.identifier=urn:oid:%s|%s", oid.FNR, patientP)
	if st, body := send(http.MethodGet, other, ""); st != http.StatusOK || !strings.Contains(body, `"total":0`) {
		t.Fatalf("search of another number: %d %s", st, body)
	}
	if st, body := send(http.MethodDelete, "/fhir/R4/Consent/"+made.ID, ""); st != http.StatusNoContent {
		t.Fatalf("delete: %d %s", st, body)
	}
	if st, _ := send(http.MethodGet, "/fhir/R4/Consent/"+made.ID, ""); st != http.StatusGone {
		t.Fatalf("read after delete: %d, want 410", st)
	}
	if st, _ := send(http.MethodDelete, "/fhir/R4/Consent/"+made.ID, ""); st != http.StatusNotFound {
		t.Fatalf("second delete: %d, want 404", st)
	}
	if !fastlegeSees() {
		t.Fatal("the fastlege does not see the document after the revocation")
	}
	// All sharing, then a source organisation: every document is hidden.
	for _, c := range []struct{ name, deny string }{
		{"all sharing", `{"type":"deny"}`},
		{"the source organisation", `{"type":"deny","data":[{"meaning":"authoredby","reference":{"identifier":{"system":"urn:oid:2.16.578.1.12.4.1.4.101","value":"` + registry.SampleOrgnr + `"}}}]}`},
	} {
		st, body := send(http.MethodPost, "/fhir/R4/Consent", consent(c.deny))
		if st != http.StatusCreated {
			t.Fatalf("%s: %d %s", c.name, st, body)
		}
		if fastlegeSees() {
			t.Fatalf("the fastlege still sees the document with %s blocked", c.name)
		}
		var made struct{ ID string }
		_ = json.Unmarshal([]byte(body), &made)
		if st, _ := send(http.MethodDelete, "/fhir/R4/Consent/"+made.ID, ""); st != http.StatusNoContent || !fastlegeSees() {
			t.Fatalf("%s: revocation %d, or the document is still hidden", c.name, st)
		}
	}
}

func mustLID(t *testing.T, h *harness, uid string) string {
	t.Helper()
	ds, err := h.reg.Reader().Documents(context.Background(), registry.DocumentFilter{UniqueIDs: []string{uid}})
	if err != nil || len(ds) != 1 {
		t.Fatal(err)
	}
	return ds[0].LogicalID
}
