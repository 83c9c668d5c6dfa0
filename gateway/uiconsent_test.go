package gateway_test

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"

	"pjd/gateway/audit"
	"pjd/registry"
)

// The citizen page of the UI shows the citizen's own blocks and revokes
// them through the Guard's consent functions: a block made as a FHIR
// Consent is listed on /ui/citizen/, revoked there with the page's form,
// and then the FHIR Consent search no longer shows it, the fastlege sees
// the document again, and the audit log holds the revocation (CONSENT,
// update) as it would for DELETE /fhir/R4/Consent/{id}.
func TestUICitizenBlocks(t *testing.T) {
	h := newHarness(t, options{ui: true})
	h.seed()
	ctx := context.Background()
	uidCit := registry.SampleUniqueID(seqCit, 0)
	cit := h.token("citizen", "")
	fastlegeSees := func() bool { return h.fastlegeSees(uidCit) }
	resp := h.do(cit, http.MethodPost, "/fhir/R4/Consent", strings.NewReader(`{"resourceType":"Consent","status":"active","provision":{"type":"deny"}}`),
		http.Header{"Content-Type": {"application/fhir+json"}})
	body := string(readBody(t, resp))
	var made struct{ ID string }
	if resp.StatusCode != http.StatusCreated || json.Unmarshal([]byte(body), &made) != nil || made.ID == "" {
		t.Fatalf("create: %d %s", resp.StatusCode, body)
	}
	if fastlegeSees() {
		t.Fatal("the fastlege sees the document with all sharing blocked")
	}

	// The citizen opens the UI.
	resp = h.do(cit, http.MethodPost, "/ui/launch", strings.NewReader(""), http.Header{"Content-Type": {"application/x-www-form-urlencoded"}})
	var lr struct {
		LaunchURL string `json:"launch_url"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&lr); err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("launch: %d %v", resp.StatusCode, err)
	}
	resp.Body.Close()
	client := *h.srv.Client()
	client.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	opened, err := client.Get(lr.LaunchURL)
	if err != nil {
		t.Fatal(err)
	}
	_, _ = io.Copy(io.Discard, opened.Body)
	opened.Body.Close()
	cookies := opened.Cookies() // Secure, over plain HTTP: carried by hand
	send := func(method, path string, form url.Values) (*http.Response, string) {
		t.Helper()
		var r io.Reader
		if form != nil {
			r = strings.NewReader(form.Encode())
		}
		req, err := http.NewRequest(method, h.base+path, r)
		if err != nil {
			t.Fatal(err)
		}
		if form != nil {
			req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		}
		for _, c := range cookies {
			req.AddCookie(&http.Cookie{Name: c.Name, Value: c.Value})
		}
		resp, err := client.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		return resp, string(readBody(t, resp))
	}
	resp, page := send(http.MethodGet, "/ui/citizen/", nil)
	if resp.StatusCode != http.StatusOK || !strings.Contains(page, "<strong>All deling</strong>") || !strings.Contains(page, `value="`+made.ID+`"`) {
		t.Fatalf("citizen page: %d\n%s", resp.StatusCode, page)
	}
	csrf := regexp.MustCompile(`name="csrf" value="([^"]+)"`).FindStringSubmatch(page)
	if csrf == nil {
		t.Fatal("no CSRF field")
	}
	// Another citizen's block, or none: the same answer, nothing revoked.
	resp, _ = send(http.MethodPost, "/ui/citizen/sperringer/fjern", url.Values{"csrf": {csrf[1]}, "id": {"00000000-0000-4000-8000-000000000000"}})
	if resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != "/ui/citizen/?melding=ukjent" {
		t.Fatalf("unknown block: %d %s", resp.StatusCode, resp.Header.Get("Location"))
	}
	resp, body = send(http.MethodPost, "/ui/citizen/sperringer/fjern", url.Values{"csrf": {csrf[1]}, "id": {made.ID}})
	if resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != "/ui/citizen/?melding=fjernet" {
		t.Fatalf("revoke: %d %s %s", resp.StatusCode, resp.Header.Get("Location"), body)
	}
	if !fastlegeSees() {
		t.Fatal("the fastlege does not see the document after the revocation in the UI")
	}
	resp = h.do(cit, http.MethodGet, "/fhir/R4/Consent", nil, nil)
	if body := string(readBody(t, resp)); resp.StatusCode != http.StatusOK || !strings.Contains(body, `"total":0`) {
		t.Fatalf("FHIR search after the revocation: %d %s", resp.StatusCode, body)
	}
	_, page = send(http.MethodGet, "/ui/citizen/?melding=fjernet", nil)
	if !strings.Contains(page, "Sperringen er fjernet.") || !strings.Contains(page, `id="blocks-empty"`) {
		t.Fatalf("citizen page after the revocation:\n%s", page)
	}
	// Blocking all sharing in the UI is a Consent the FHIR API shows.
	if resp, _ := send(http.MethodPost, "/ui/citizen/sperringer", url.Values{"csrf": {csrf[1]}}); resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("block all sharing: %d", resp.StatusCode)
	}
	if fastlegeSees() {
		t.Fatal("the fastlege sees the document after all sharing was blocked in the UI")
	}
	resp = h.do(cit, http.MethodGet, "/fhir/R4/Consent", nil, nil)
	if body := string(readBody(t, resp)); !strings.Contains(body, `"total":1`) {
		t.Fatalf("FHIR search after blocking in the UI: %s", body)
	}
	page2, err := h.audit.Search(ctx, audit.Filter{PatientID: citizenID, Transactions: []string{audit.TxConsent}, Limit: 100})
	if err != nil {
		t.Fatal(err)
	}
	actions := map[audit.Action]int{}
	for _, r := range page2.Records {
		if r.Outcome == audit.OutcomePermit && r.Actor.Kind == audit.ActorCitizen {
			actions[r.Action]++
		}
	}
	if actions[audit.ActionUpdate] != 1 || actions[audit.ActionCreate] != 2 || actions[audit.ActionQuery] < 3 {
		t.Errorf("CONSENT records by action: %v", actions)
	}
}
