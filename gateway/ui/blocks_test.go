package ui_test

import (
	"fmt"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"testing"

	"pjd/gateway/ui"
)

var csrfField = regexp.MustCompile(`name="csrf" value="([^"]+)"`)

// citizenPage logs the citizen (Kari) in and returns the browser, the
// page and its CSRF token.
func citizenPage(t *testing.T, e *env) (*browser, string, string) {
	t.Helper()
	br := e.login("innbygger", "")
	resp, page := br.get("/ui/citizen/")
	wantStatus(t, resp, page, 200)
	m := csrfField.FindStringSubmatch(page)
	if m == nil {
		t.Fatal("no CSRF field in the citizen page")
	}
	return br, page, m[1]
}

// postForm sends a form as the citizen page's buttons do.
func (br *browser) postForm(path string, form url.Values) (*http.Response, string) {
	br.e.t.Helper()
	return br.do(http.MethodPost, path, strings.NewReader(form.Encode()),
		http.Header{"Content-Type": {"application/x-www-form-urlencoded"}})
}

func wantRedirect(t *testing.T, resp *http.Response, body, to string) {
	t.Helper()
	wantStatus(t, resp, body, http.StatusSeeOther)
	if got := resp.Header.Get("Location"); got != to {
		t.Fatalf("redirected to %q, want %q", got, to)
	}
}

func TestCitizenBlocks(t *testing.T) {
	t.Run("empty state", func(t *testing.T) {
		e := newEnv(t)
		_, page, _ := citizenPage(t, e)
		wantContains(t, page, "<h2 id=\"blocks-heading\">Mine sperringer</h2>", `id="blocks-empty"`, "Du har ingen sperringer.",
			`id="block-all"`, `<p id="blocks-status" class="results__summary" role="status"></p>`)
		wantNotContains(t, page, "Fjern sperringen")
	})
	t.Run("list", func(t *testing.T) {
		e := newEnv(t)
		e.b.addBlock(patientKari, ui.CitizenBlock{Scope: ui.BlockDocument, Documents: []string{"2.25.1234"}})
		e.b.addBlock(patientKari, ui.CitizenBlock{Scope: ui.BlockSource, Source: ui.Org{ID: "974589095"}})
		e.b.addBlock(patientKari, ui.CitizenBlock{Scope: ui.BlockAll})
		e.b.addBlock(patientOla, ui.CitizenBlock{Scope: ui.BlockSource, Source: ui.Org{ID: "983658725"}})
		_, page, _ := citizenPage(t, e)
		wantContains(t, page,
			"<strong>Dokumentet 2.25.1234</strong>", `aria-label="Fjern sperringen av dokumentet 2.25.1234"`,
			"<strong>Alle dokumenter fra virksomheten med organisasjonsnummer 974589095</strong>",
			`aria-label="Fjern sperringen av alle dokumenter fra virksomheten med organisasjonsnummer 974589095"`,
			"<strong>All deling</strong>", `aria-label="Fjern sperringen av all deling"`,
			"Sperret fra 15.01.2026")
		wantNotContains(t, page, "983658725", `id="blocks-empty"`, `id="block-all"`) // another's block; all is blocked already
		if n := strings.Count(page, `action="/ui/citizen/sperringer/fjern"`); n != 3 {
			t.Errorf("%d revoke forms, want 3", n)
		}
		// The access log is still there.
		wantContains(t, page, "Velg periode", `id="empty-state"`)
	})
	t.Run("revoke", func(t *testing.T) {
		e := newEnv(t)
		keep := e.b.addBlock(patientKari, ui.CitizenBlock{Scope: ui.BlockAll})
		id := e.b.addBlock(patientKari, ui.CitizenBlock{Scope: ui.BlockDocument, Documents: []string{"2.25.1234"}})
		br, _, csrf := citizenPage(t, e)
		resp, body := br.postForm("/ui/citizen/sperringer/fjern", url.Values{"csrf": {csrf}, "id": {id}})
		wantRedirect(t, resp, body, "/ui/citizen/?melding=fjernet")
		if got := e.b.activeBlocks(patientKari); !slices.Equal(got, []string{keep}) {
			t.Errorf("blocks in force after revoking %s: %v", id, got)
		}
		resp, page := br.get("/ui/citizen/?melding=fjernet")
		wantStatus(t, resp, page, 200)
		wantContains(t, page, `role="status">Sperringen er fjernet.</p>`)
		wantNotContains(t, page, "2.25.1234")
		// Revoking it again is revoking an unknown block.
		resp, body = br.postForm("/ui/citizen/sperringer/fjern", url.Values{"csrf": {csrf}, "id": {id}})
		wantRedirect(t, resp, body, "/ui/citizen/?melding=ukjent")
		rows := 0
		for _, r := range e.b.auditRows() {
			if r.Transaction == "CONSENT" && r.Action == "update" {
				rows++
			}
		}
		if rows != 1 {
			t.Errorf("%d audited revocations, want 1", rows)
		}
	})
	t.Run("another citizen's block is an unknown block", func(t *testing.T) {
		e := newEnv(t)
		olas := e.b.addBlock(patientOla, ui.CitizenBlock{Scope: ui.BlockAll})
		br, _, csrf := citizenPage(t, e)
		var answers []string
		for _, id := range []string{olas, "blk-9999", "", strings.Repeat("x", 200), "a b"} {
			resp, body := br.postForm("/ui/citizen/sperringer/fjern", url.Values{"csrf": {csrf}, "id": {id}})
			answers = append(answers, resp.Status+" "+resp.Header.Get("Location")+" "+body)
		}
		for i, a := range answers {
			if a != answers[0] {
				t.Errorf("answer %d differs from the answer for another citizen's block:\n%s\n%s", i, a, answers[0])
			}
		}
		if !strings.Contains(answers[0], "melding=ukjent") {
			t.Errorf("answer %q", answers[0])
		}
		if got := e.b.activeBlocks(patientOla); !slices.Equal(got, []string{olas}) {
			t.Errorf("Ola's blocks after Kari's attempt: %v", got)
		}
		resp, page := br.get("/ui/citizen/?melding=ukjent")
		wantStatus(t, resp, page, 200)
		wantContains(t, page, `role="status">Sperringen finnes ikke, eller den er allerede fjernet.</p>`)
	})
	t.Run("wrong CSRF refused", func(t *testing.T) {
		e := newEnv(t)
		id := e.b.addBlock(patientKari, ui.CitizenBlock{Scope: ui.BlockAll})
		br, _, csrf := citizenPage(t, e)
		_, _, otherCSRF := citizenPage(t, e) // a second session of the same citizen
		for name, form := range map[string]url.Values{
			"none":          {"id": {id}},
			"wrong":         {"csrf": {"wrong"}, "id": {id}},
			"other session": {"csrf": {otherCSRF}, "id": {id}},
			"empty":         {"csrf": {""}, "id": {id}},
		} {
			for _, path := range []string{"/ui/citizen/sperringer/fjern", "/ui/citizen/sperringer"} {
				resp, body := br.postForm(path, form)
				if resp.StatusCode != http.StatusForbidden || !strings.Contains(body, "Ugyldig forespørsel") {
					t.Errorf("%s to %s: %d\n%s", name, path, resp.StatusCode, body)
				}
			}
		}
		if got := e.b.activeBlocks(patientKari); !slices.Equal(got, []string{id}) {
			t.Errorf("blocks after refused forms: %v", got)
		}
		// A cross-site POST with the right token is refused too.
		resp, body := br.do(http.MethodPost, "/ui/citizen/sperringer/fjern", strings.NewReader(url.Values{"csrf": {csrf}, "id": {id}}.Encode()),
			http.Header{"Content-Type": {"application/x-www-form-urlencoded"}, "Sec-Fetch-Site": {"cross-site"}})
		wantStatus(t, resp, body, 403)
		if got := e.b.activeBlocks(patientKari); !slices.Equal(got, []string{id}) {
			t.Errorf("blocks after a cross-site form: %v", got)
		}
	})
	t.Run("block all sharing", func(t *testing.T) {
		e := newEnv(t)
		br, _, csrf := citizenPage(t, e)
		resp, body := br.postForm("/ui/citizen/sperringer", url.Values{"csrf": {csrf}})
		wantRedirect(t, resp, body, "/ui/citizen/?melding=sperret")
		if n := len(e.b.activeBlocks(patientKari)); n != 1 {
			t.Fatalf("%d blocks after blocking all sharing", n)
		}
		resp, page := br.get("/ui/citizen/?melding=sperret")
		wantStatus(t, resp, page, 200)
		wantContains(t, page, `role="status">All deling av dokumentene dine er sperret.</p>`, "<strong>All deling</strong>")
		wantNotContains(t, page, `id="block-all"`)
	})
	t.Run("health worker refused", func(t *testing.T) {
		e := newEnv(t)
		id := e.b.addBlock(patientKari, ui.CitizenBlock{Scope: ui.BlockAll})
		br := e.login("lege", patientKari)
		_, page := br.get("/ui/")
		csrf := csrfField.FindStringSubmatch(page)
		if csrf == nil {
			t.Fatal("no CSRF field")
		}
		resp, body := br.postForm("/ui/citizen/sperringer/fjern", url.Values{"csrf": {csrf[1]}, "id": {id}})
		wantStatus(t, resp, body, 403)
		if got := e.b.activeBlocks(patientKari); !slices.Equal(got, []string{id}) {
			t.Errorf("blocks after a health worker's form: %v", got)
		}
	})
	t.Run("outage", func(t *testing.T) {
		e := newEnv(t)
		id := e.b.addBlock(patientKari, ui.CitizenBlock{Scope: ui.BlockAll})
		br, _, csrf := citizenPage(t, e)
		e.b.fail(ui.ErrUnavailable)
		resp, page := br.get("/ui/citizen/")
		wantStatus(t, resp, page, 503)
		wantContains(t, page, `role="alert"`, "Tjenesten er midlertidig utilgjengelig")
		wantNotContains(t, page, "Fjern sperringen")
		for _, path := range []string{"/ui/citizen/sperringer/fjern", "/ui/citizen/sperringer"} {
			resp, body := br.postForm(path, url.Values{"csrf": {csrf}, "id": {id}})
			wantStatus(t, resp, body, 503)
			wantContains(t, body, "Tjenesten er midlertidig utilgjengelig")
		}
		e.b.fail(nil)
		if got := e.b.activeBlocks(patientKari); !slices.Equal(got, []string{id}) {
			t.Errorf("blocks after the outage: %v", got)
		}
	})
	t.Run("blocks store down, access log up", func(t *testing.T) {
		e, _ := seedAudit(t)
		id := e.b.addBlock(patientKari, ui.CitizenBlock{Scope: ui.BlockAll})
		br, _, csrf := citizenPage(t, e)
		e.b.mu.Lock()
		e.b.failBlocks = fmt.Errorf("blocks store: %w", ui.ErrUnavailable)
		e.b.mu.Unlock()
		resp, page := br.get("/ui/citizen/")
		wantStatus(t, resp, page, 503)
		wantContains(t, page, `role="alert"`, "Tjenesten er midlertidig utilgjengelig", `id="access-log"`)
		wantNotContains(t, page, "Fjern sperringen", `id="block-all"`, `id="blocks-empty"`)
		resp, body := br.postForm("/ui/citizen/sperringer/fjern", url.Values{"csrf": {csrf}, "id": {id}})
		wantStatus(t, resp, body, 503)
		if resp.Header.Get("Content-Type") != "text/html; charset=utf-8" {
			t.Errorf("Content-Type %q", resp.Header.Get("Content-Type"))
		}
	})
}
