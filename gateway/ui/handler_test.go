package ui_test

import (
	"crypto/sha256"
	"encoding/base64"
	"encoding/csv"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"pjd/gateway/ui"
)

var wantTitlesLege = []string{
	"Epikrise etter innleggelse for lungebetennelse",
	"Laboratoriesvar, medisinsk biokjemi",
	"Poliklinisk notat, hjertepoliklinikken",
	"Røntgen thorax",
	"Blodtrykkskurve",
	"CT abdomen, bildeserie",
}

func TestLaunchPost(t *testing.T) {
	e := newEnv(t)
	form := "application/x-www-form-urlencoded"
	tok := func(persona, patient string) string { return "DPoP " + e.b.token(persona, patient) }
	for _, tc := range []struct {
		name       string
		auth, dpop string
		ctype      string
		body       string
		status     int
		oauthError string
		wwwAuth    bool
	}{
		{"valid form", tok("lege", patientKari), "p", form, "patient=" + patientKari, 200, "", false},
		{"valid json", tok("lege", patientKari), "p", "application/json", `{"patient":"` + patientKari + `"}`, 200, "", false},
		{"valid system|value", tok("lege", patientKari), "p", form, "patient=" + url.QueryEscape("urn:oid:2.16.578.1.12.4.1.4.1|"+patientKari), 200, "", false},
		{"compliance without patient", tok("kontroll", ""), "p", form, "", 200, "", false},
		{"citizen without patient", tok("innbygger", ""), "p", form, "", 200, "", false},
		{"no authorization", "", "p", form, "patient=" + patientKari, 401, "invalid_token", true},
		{"bearer scheme", "Bearer abc", "p", form, "patient=" + patientKari, 401, "invalid_token", true},
		{"no dpop proof", tok("lege", patientKari), "", form, "patient=" + patientKari, 401, "invalid_dpop_proof", true},
		{"unknown token", "DPoP not-a-token", "p", form, "patient=" + patientKari, 401, "invalid_token", true},
		{"trust layer down", "DPoP unavailable", "p", form, "patient=" + patientKari, 503, "temporarily_unavailable", false},
		{"health worker without patient", tok("lege", patientKari), "p", form, "", 400, "invalid_request", false},
		{"bad check digits", tok("lege", patientKari), "p", form, "patient=15838210013", 400, "invalid_request", false},
		{"not digits", tok("lege", patientKari), "p", form, "patient=abc", 400, "invalid_request", false},
		{"wrong patient system", tok("lege", patientKari), "p", form, "patient=" + url.QueryEscape("urn:oid:1.2.3|"+patientKari), 400, "invalid_request", false},
		{"patient twice", tok("lege", patientKari), "p", form, "patient=" + patientKari + "&patient=" + patientOla, 400, "invalid_request", false},
		{"json unknown field", tok("lege", patientKari), "p", "application/json", `{"patient":"` + patientKari + `","x":1}`, 400, "invalid_request", false},
		{"json not an object", tok("lege", patientKari), "p", "application/json", `[1]`, 400, "invalid_request", false},
		{"wrong content type", tok("lege", patientKari), "p", "text/plain", "patient=" + patientKari, 400, "invalid_request", false},
		{"body too large", tok("lege", patientKari), "p", form, "patient=" + patientKari + "&pad=" + strings.Repeat("x", 5000), 400, "invalid_request", false},
		{"system client", tok("system", ""), "p", form, "", 403, "access_denied", false},
		{"citizen other patient", tok("innbygger", ""), "p", form, "patient=" + patientOla, 403, "access_denied", false},
		{"compliance with patient", tok("kontroll", ""), "p", form, "patient=" + patientKari, 400, "invalid_request", false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			resp := e.launchRaw(tc.auth, tc.dpop, tc.ctype, tc.body)
			defer resp.Body.Close()
			b, _ := io.ReadAll(resp.Body)
			if resp.StatusCode != tc.status {
				t.Fatalf("status %d, want %d: %s", resp.StatusCode, tc.status, b)
			}
			if ct := resp.Header.Get("Content-Type"); ct != "application/json" {
				t.Errorf("Content-Type %q", ct)
			}
			if cc := resp.Header.Get("Cache-Control"); cc != "no-store" {
				t.Errorf("Cache-Control %q, want no-store", cc)
			}
			if got := resp.Header.Get("WWW-Authenticate") != ""; got != tc.wwwAuth {
				t.Errorf("WWW-Authenticate present = %v, want %v", got, tc.wwwAuth)
			}
			if tc.status == 200 {
				var lr ui.LaunchResponse
				if err := json.Unmarshal(b, &lr); err != nil {
					t.Fatal(err)
				}
				if !regexp.MustCompile(`^/ui/launch/[A-Za-z0-9_-]{43}$`).MatchString(lr.LaunchURL) || lr.ExpiresIn != 60 {
					t.Errorf("launch response %+v", lr)
				}
				return
			}
			var oe struct{ Error, ErrorDescription string }
			if err := json.Unmarshal(b, &oe); err != nil || oe.Error != tc.oauthError {
				t.Errorf("error %q (%v), want %q", oe.Error, err, tc.oauthError)
			}
		})
	}
}

func TestLaunchTokensAreDistinct(t *testing.T) {
	e := newEnv(t)
	seen := map[string]bool{}
	for range 20 {
		u := e.launchURL("lege", patientKari)
		if seen[u] {
			t.Fatalf("launch URL %s issued twice", u)
		}
		seen[u] = true
	}
}

func TestLaunchBaseURL(t *testing.T) {
	e := newEnv(t, func(c *ui.Config) { c.BaseURL = "https://pjd.test.nhn.no/" })
	u := e.launchURL("lege", patientKari)
	if !strings.HasPrefix(u, "https://pjd.test.nhn.no/ui/launch/") {
		t.Fatalf("launch URL %s", u)
	}
}

func TestLaunchGet(t *testing.T) {
	// storeClock is the memory store's own clock: pinned, so only the UI's
	// own expiry check can refuse an old grant.
	storeClock := newClock()
	e := newEnv(t, func(c *ui.Config) { c.Sessions = ui.NewMemorySessionStore(storeClock.Now) })
	valid := e.launchURL("lege", patientKari)

	br := e.browser()
	resp, body := br.get(valid)
	wantStatus(t, resp, body, 200)
	wantContains(t, body, `<meta http-equiv="refresh" content="0;url=/ui/">`, `href="/ui/"`)
	if br.cookie == nil {
		t.Fatal("no session cookie")
	}

	for _, tc := range []struct {
		name string
		url  func() string
	}{
		{"second use", func() string { return valid }},
		{"unknown token", func() string { return "/ui/launch/" + strings.Repeat("A", 43) }},
		{"malformed token", func() string { return "/ui/launch/abc" }},
		{"token with padding", func() string { return "/ui/launch/" + strings.Repeat("A", 42) + "=" }},
		{"expired", func() string {
			u := e.launchURL("lege", patientKari)
			e.clock.Advance(61 * time.Second)
			return u
		}},
		{"session id is not a launch token", func() string { return "/ui/launch/" + br.cookie.Value }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			b2 := e.browser()
			resp, body := b2.get(tc.url())
			wantStatus(t, resp, body, 404)
			wantContains(t, body, "Lenken er ikke gyldig")
			if b2.cookie != nil {
				t.Error("a refused launch set a session cookie")
			}
		})
	}
}

func TestLaunchStartPages(t *testing.T) {
	e := newEnv(t)
	for persona, start := range map[string]string{"lege": "/ui/", "kontroll": "/ui/audit/", "innbygger": "/ui/citizen/"} {
		patient := patientKari
		if persona == "kontroll" || persona == "innbygger" {
			patient = ""
		}
		_, body := e.browser().get(e.launchURL(persona, patient))
		wantContains(t, body, `content="0;url=`+start+`"`)
	}
}

func TestSessionCookie(t *testing.T) {
	for _, tc := range []struct {
		name        string
		mod         func(*ui.Config)
		wantName    string
		wantSecure  bool
		wantSite    http.SameSite
		partitioned bool
	}{
		{"default", func(*ui.Config) {}, "__Secure-pjd-ui", true, http.SameSiteStrictMode, false},
		{"lax", func(c *ui.Config) { c.CookieSameSite = http.SameSiteLaxMode }, "__Secure-pjd-ui", true, http.SameSiteLaxMode, false},
		{"cross-site embedding", func(c *ui.Config) { c.CookieSameSite = http.SameSiteNoneMode }, "__Secure-pjd-ui", true, http.SameSiteNoneMode, true},
		{"dev without Secure", func(c *ui.Config) { c.Secure = false }, "pjd-ui", false, http.SameSiteStrictMode, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv(t, tc.mod)
			resp, err := http.Get(e.srv.URL + e.launchURL("lege", patientKari))
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			raw := resp.Header.Values("Set-Cookie")
			if len(raw) != 1 {
				t.Fatalf("Set-Cookie %q", raw)
			}
			c, err := http.ParseSetCookie(raw[0])
			if err != nil {
				t.Fatal(err)
			}
			switch {
			case c.Name != tc.wantName:
				t.Errorf("name %q, want %q", c.Name, tc.wantName)
			case c.Path != "/ui/":
				t.Errorf("path %q", c.Path)
			case c.Domain != "":
				t.Errorf("domain %q: the cookie must be host-only", c.Domain)
			case !c.HttpOnly:
				t.Error("not HttpOnly")
			case c.Secure != tc.wantSecure:
				t.Errorf("Secure %v", c.Secure)
			case c.SameSite != tc.wantSite:
				t.Errorf("SameSite %v, want %v (%s)", c.SameSite, tc.wantSite, raw[0])
			case c.Partitioned != tc.partitioned:
				t.Errorf("Partitioned %v, want %v", c.Partitioned, tc.partitioned)
			case c.MaxAge != 3600:
				t.Errorf("Max-Age %d", c.MaxAge)
			case len(c.Value) != 43:
				t.Errorf("value %q is not a 256-bit secret", c.Value)
			}
		})
	}
}

func cspDirectives(csp string) map[string]string {
	out := map[string]string{}
	for _, d := range strings.Split(csp, ";") {
		d = strings.TrimSpace(d)
		name, val, _ := strings.Cut(d, " ")
		out[name] = val
	}
	return out
}

func TestSecurityHeaders(t *testing.T) {
	e := newEnv(t)
	lege := e.login("lege", patientKari)
	kontroll := e.login("kontroll", "")
	pdf := "2.16.578.1.12.4.1.7.991000011.1001"
	for _, tc := range []struct {
		name   string
		br     *browser
		path   string
		status int
		page   bool // a pjd page (script from 'self' only) rather than document content
	}{
		{"list", lege, "/ui/", 200, true},
		{"viewer", lege, "/ui/document?id=" + pdf, 200, true},
		{"content", lege, "/ui/content?id=" + pdf, 200, false},
		{"audit", kontroll, "/ui/audit/", 200, true},
		{"forbidden", lege, "/ui/audit/", 403, true},
		{"no session", e.browser(), "/ui/", 401, true},
		{"not found", lege, "/ui/nowhere", 404, true},
		{"refused launch", e.browser(), "/ui/launch/" + strings.Repeat("B", 43), 404, true},
		{"demo host", e.browser(), "/ui/demo-host", 200, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			resp, body := tc.br.get(tc.path)
			wantStatus(t, resp, body, tc.status)
			h := resp.Header
			csp := cspDirectives(h.Get("Content-Security-Policy"))
			if got := csp["frame-ancestors"]; got != "'self' "+hostOrigin {
				t.Errorf("frame-ancestors %q", got)
			}
			if csp["default-src"] != "'none'" {
				t.Errorf("default-src %q", csp["default-src"])
			}
			if tc.page {
				if csp["script-src"] != "'self'" {
					t.Errorf("script-src %q: only pjd's own files may run", csp["script-src"])
				}
				if strings.Contains(body, "<script>") || regexp.MustCompile(`\son[a-z]+=`).MatchString(body) || strings.Contains(body, "style=") {
					t.Error("page has inline script, event handler or style (the CSP forbids them)")
				}
			} else if _, ok := csp["script-src"]; ok {
				t.Error("document content may run script")
			}
			for k, v := range map[string]string{
				"X-Content-Type-Options": "nosniff",
				"Referrer-Policy":        "no-referrer",
				"Cache-Control":          "no-store",
			} {
				if got := h.Get(k); got != v {
					t.Errorf("%s: %q, want %q", k, got, v)
				}
			}
		})
	}
}

func TestFrameAncestorsDefault(t *testing.T) {
	e := newEnv(t, func(c *ui.Config) { c.FrameAncestors = nil })
	resp, _ := e.browser().get("/ui/")
	if got := cspDirectives(resp.Header.Get("Content-Security-Policy"))["frame-ancestors"]; got != "'self'" {
		t.Fatalf("frame-ancestors %q, want 'self'", got)
	}
}

func TestStatic(t *testing.T) {
	e := newEnv(t)
	_, body := e.login("lege", patientKari).get("/ui/")
	m := regexp.MustCompile(`href="(/ui/static/ui\.css\?v=[0-9a-f]+)"`).FindStringSubmatch(body)
	if m == nil {
		t.Fatal("no versioned stylesheet link")
	}
	br := e.browser()
	resp, css := br.get(m[1])
	wantStatus(t, resp, css, 200)
	if ct := resp.Header.Get("Content-Type"); ct != "text/css; charset=utf-8" {
		t.Errorf("Content-Type %q", ct)
	}
	if cc := resp.Header.Get("Cache-Control"); !strings.Contains(cc, "immutable") {
		t.Errorf("versioned asset Cache-Control %q", cc)
	}
	resp, _ = br.get("/ui/static/ui.css?v=old")
	if cc := resp.Header.Get("Cache-Control"); cc != "no-cache" {
		t.Errorf("unversioned asset Cache-Control %q", cc)
	}
	resp, body = br.get("/ui/static/ui.js", http.Header{"If-None-Match": {resp.Header.Get("ETag")}})
	wantStatus(t, resp, body, 200) // another file's ETag
	resp, body = br.get("/ui/static/nothing.js")
	wantStatus(t, resp, body, 404)
}

func TestSessionLifetime(t *testing.T) {
	t.Run("idle timeout", func(t *testing.T) {
		e := newEnv(t)
		br := e.login("lege", patientKari)
		e.clock.Advance(14 * time.Minute)
		resp, body := br.get("/ui/")
		wantStatus(t, resp, body, 200) // refreshes the idle timer
		e.clock.Advance(14 * time.Minute)
		resp, body = br.get("/ui/")
		wantStatus(t, resp, body, 200)
		e.clock.Advance(15 * time.Minute)
		resp, body = br.get("/ui/")
		wantStatus(t, resp, body, 401)
		wantContains(t, body, "Økten er")
	})
	t.Run("absolute timeout", func(t *testing.T) {
		e := newEnv(t)
		br := e.login("lege", patientKari)
		for range 5 { // 50 minutes of activity
			e.clock.Advance(10 * time.Minute)
			resp, body := br.get("/ui/citizen/") // 403, but the session is alive
			wantStatus(t, resp, body, 403)
		}
		e.clock.Advance(10 * time.Minute)
		resp, body := br.get("/ui/citizen/")
		wantStatus(t, resp, body, 401)
	})
	t.Run("no cookie", func(t *testing.T) {
		e := newEnv(t)
		resp, body := e.browser().get("/ui/")
		wantStatus(t, resp, body, 401)
		wantContains(t, body, "Åpne dokumentlisten på nytt")
	})
	t.Run("forged cookie", func(t *testing.T) {
		e := newEnv(t)
		br := e.login("lege", patientKari)
		v := []byte(br.cookie.Value)
		v[0] ^= 1
		br.cookie.Value = string(v)
		resp, body := br.get("/ui/")
		wantStatus(t, resp, body, 401)
		br.cookie = &http.Cookie{Name: "__Secure-pjd-ui", Value: "short"}
		resp, body = br.get("/ui/")
		wantStatus(t, resp, body, 401)
	})
	t.Run("logout", func(t *testing.T) {
		e := newEnv(t)
		br := e.login("lege", patientKari)
		_, page := br.get("/ui/")
		csrf := regexp.MustCompile(`name="csrf" value="([^"]+)"`).FindStringSubmatch(page)
		if csrf == nil {
			t.Fatal("no CSRF field in the page")
		}
		stolen := *br.cookie
		form := http.Header{"Content-Type": {"application/x-www-form-urlencoded"}}
		resp, body := br.do(http.MethodPost, "/ui/logout", strings.NewReader("csrf=wrong"), form)
		wantStatus(t, resp, body, 403)
		resp, body = br.do(http.MethodPost, "/ui/logout", strings.NewReader("csrf="+url.QueryEscape(csrf[1])), form)
		wantStatus(t, resp, body, 200)
		wantContains(t, body, "Du er logget ut")
		br.cookie = &stolen
		resp, body = br.get("/ui/")
		wantStatus(t, resp, body, 401)
	})
}

func TestCrossSiteRequestsRefused(t *testing.T) {
	e := newEnv(t)
	br := e.login("lege", patientKari)
	before := len(e.b.auditRows())
	for _, site := range []string{"cross-site", "same-site"} {
		resp, body := br.get("/ui/", http.Header{"Sec-Fetch-Site": {site}})
		wantStatus(t, resp, body, 403)
	}
	if n := len(e.b.auditRows()); n != before {
		t.Errorf("refused cross-site requests wrote %d audit records", n-before)
	}
	for _, site := range []string{"same-origin", "none"} {
		resp, body := br.get("/ui/", http.Header{"Sec-Fetch-Site": {site}})
		wantStatus(t, resp, body, 200)
	}
}

func TestListRendering(t *testing.T) {
	e := newEnv(t)
	resp, body := e.login("lege", patientKari).get("/ui/")
	wantStatus(t, resp, body, 200)
	if got := listTitles(body); !slices.Equal(got, wantTitlesLege) {
		t.Errorf("titles (newest first):\n got  %q\n want %q", got, wantTitlesLege)
	}
	wantContains(t, body,
		`<html lang="nb">`, `class="skip-link" href="#main"`, `<main id="main"`,
		// The table scrolls sideways in a narrow frame: its wrapper is a
		// named region the keyboard can reach (axe scrollable-region-focusable).
		`<div class="table-wrap" role="region" aria-labelledby="documents-caption" tabindex="0">`,
		`<caption id="documents-caption">Pasientens journaldokumenter, nyeste først</caption>`,
		`aria-sort="descending"`,
		"Kari Testesen", "158382\u00a010012",
		"Epikriser og Sammenfatninger", "Epikrise", "Fjordby sykehus HF", "Medisinsk avdeling", "Nils Nilsen",
		"03.11.2025", "PDF", "Tekst", "XML", "Bilde",
		`id="hidden-notice"`, "2 dokumenter er skjermet", "6 dokumenter.",
		`<label for="kategori">Kategori</label>`, `<label for="type">Dokumenttype</label>`,
		`<label for="kilde">Kilde</label>`, `<label for="fra">Fra dato</label>`, `<label for="til">Til dato</label>`,
		`role="status"`,
	)
	wantNotContains(t, body, "Skjermet notat", "Skjermet epikrise", "Henvisning til psykiatrisk", "Nødtilgang")
	rows := e.b.auditRows()
	if last := rows[len(rows)-1]; last.Transaction != "UI-LIST" || last.Patient != patientKari || last.Outcome != ui.OutcomePermit || len(last.Documents) != 6 {
		t.Errorf("list audit record %+v", last)
	}
}

func TestListEmergencyMarker(t *testing.T) {
	e := newEnv(t)
	_, body := e.login("lege-btg", patientKari).get("/ui/")
	titles := listTitles(body)
	if !slices.Contains(titles, "Henvisning til psykiatrisk poliklinikk") || len(titles) != 7 {
		t.Fatalf("titles %q", titles)
	}
	wantContains(t, body, `id="emergency-notice"`, "«knuse glasset»",
		`Henvisning til psykiatrisk poliklinikk</a> <span class="badge badge--emergency">Nødtilgang</span>`)
	if n := strings.Count(body, `class="badge badge--emergency">Nødtilgang`); n != 1 {
		t.Errorf("%d documents marked, want 1", n)
	}
}

func TestListFiltersAndSorting(t *testing.T) {
	e := newEnv(t)
	br := e.login("lege", patientKari)
	for _, tc := range []struct {
		name   string
		query  string
		status int
		titles []string
		body   []string
	}{
		{"category", "kategori=E00-1", 200, []string{"Røntgen thorax", "CT abdomen, bildeserie"}, []string{`<option value="E00-1" selected>Bildediagnostikk</option>`, "Viser 2 av 6 dokumenter."}},
		{"type", "type=C01-2", 200, []string{"Laboratoriesvar, medisinsk biokjemi"}, nil},
		{"source", "kilde=991000054", 200, []string{"Blodtrykkskurve"}, []string{`<option value="991000054" selected>Sentrum legekontor</option>`}},
		{"from", "fra=2025-07-01", 200, wantTitlesLege[:3], []string{`value="2025-07-01"`}},
		{"to (inclusive)", "til=2024-12-23", 200, []string{"Blodtrykkskurve", "CT abdomen, bildeserie"}, nil},
		{"period, Norwegian dates", "fra=01.01.2025&til=31.10.2025", 200, wantTitlesLege[1:4], nil},
		{"combined", "kategori=E00-1&fra=2025-01-01", 200, []string{"Røntgen thorax"}, nil},
		{"no match", "kategori=E00-1&kilde=991000054", 200, nil, []string{`id="empty-state"`, "Ingen dokumenter passer filteret"}},
		{"unknown category", "kategori=Z99-1", 200, nil, []string{"Ingen dokumenter passer filteret"}},
		{"bad from date", "fra=igår", 400, nil, []string{`id="form-errors"`, `aria-invalid="true"`, `aria-describedby="fra-error"`, "«Fra dato» må være en dato"}},
		{"impossible date", "til=2025-02-30", 400, nil, []string{"«Til dato» må være en dato"}},
		{"to before from", "fra=2025-05-01&til=2025-04-01", 400, nil, []string{"kan ikke være før"}},
		{"sort by title", "sorter=tittel&retning=stigende", 200, []string{
			"Blodtrykkskurve", "CT abdomen, bildeserie", "Epikrise etter innleggelse for lungebetennelse",
			"Laboratoriesvar, medisinsk biokjemi", "Poliklinisk notat, hjertepoliklinikken", "Røntgen thorax",
		}, []string{"sortert på tittel A–Å", `aria-sort="ascending"`}},
		{"sort by title descending", "sorter=tittel", 200, []string{
			"Røntgen thorax", "Poliklinisk notat, hjertepoliklinikken", "Laboratoriesvar, medisinsk biokjemi",
			"Epikrise etter innleggelse for lungebetennelse", "CT abdomen, bildeserie", "Blodtrykkskurve",
		}, nil},
		{"oldest first", "retning=stigende", 200, []string{
			"CT abdomen, bildeserie", "Blodtrykkskurve", "Røntgen thorax", "Poliklinisk notat, hjertepoliklinikken",
			"Laboratoriesvar, medisinsk biokjemi", "Epikrise etter innleggelse for lungebetennelse",
		}, []string{"eldste først", `<input type="hidden" name="retning" value="stigende">`}},
		{"sort by source", "sorter=kilde&retning=stigende", 200, []string{
			"Laboratoriesvar, medisinsk biokjemi", "Poliklinisk notat, hjertepoliklinikken", "Epikrise etter innleggelse for lungebetennelse",
			"Røntgen thorax", "CT abdomen, bildeserie", "Blodtrykkskurve",
		}, nil},
		{"unknown sort falls back", "sorter=drop%20table", 200, wantTitlesLege, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			resp, body := br.get("/ui/?" + tc.query)
			wantStatus(t, resp, body, tc.status)
			if got := listTitles(body); !slices.Equal(got, tc.titles) {
				t.Errorf("titles\n got  %q\n want %q", got, tc.titles)
			}
			wantContains(t, body, tc.body...)
		})
	}
}

func TestListSortLinksKeepFilters(t *testing.T) {
	e := newEnv(t)
	_, body := e.login("lege", patientKari).get("/ui/?kategori=E00-1")
	wantContains(t, body, `href="/ui/?kategori=E00-1&amp;retning=stigende&amp;sorter=tittel"`)
	wantContains(t, body, `href="/ui/?kategori=E00-1&amp;retning=stigende&amp;sorter=dato"`)
}

func TestListStates(t *testing.T) {
	t.Run("empty", func(t *testing.T) {
		e := newEnv(t)
		resp, body := e.login("lege", patientOla).get("/ui/")
		wantStatus(t, resp, body, 200)
		wantContains(t, body, `id="empty-state"`, "Pasienten har ingen journaldokumenter du har tilgang til.")
		wantNotContains(t, body, `id="documents"`, `id="hidden-notice"`)
	})
	for _, tc := range []struct {
		name   string
		err    error
		status int
		text   string
	}{
		{"unavailable", fmt.Errorf("registry: %w", ui.ErrUnavailable), 503, "midlertidig utilgjengelig"},
		{"internal", errors.New("pq: relation does not exist"), 500, "Noe gikk galt"},
		{"denied", &ui.DeniedError{Rule: "patient-block", Reason: "block 7"}, 403, "Pasienten har sperret tilgangen"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv(t)
			br := e.login("lege", patientKari)
			e.b.fail(tc.err)
			resp, body := br.get("/ui/")
			wantStatus(t, resp, body, tc.status)
			wantContains(t, body, `id="list-error"`, `role="alert"`, tc.text)
			wantNotContains(t, body, "pq:", "block 7", `id="documents"`)
		})
	}
	t.Run("attestation expired", func(t *testing.T) {
		e := newEnv(t, func(c *ui.Config) { c.SessionIdleTTL = 2 * time.Hour; c.SessionTTL = 3 * time.Hour })
		br := e.login("lege", patientKari)
		e.clock.Advance(61 * time.Minute)
		resp, body := br.get("/ui/")
		wantStatus(t, resp, body, 403)
		wantContains(t, body, "Bekreftelsen av tjenstlig behov er for gammel")
		rows := e.b.auditRows()
		if last := rows[len(rows)-1]; last.Outcome != ui.OutcomeDeny || last.Rule != "attestation-expired" {
			t.Errorf("denial not audited: %+v", last)
		}
	})
	t.Run("wrong patient in session", func(t *testing.T) {
		e := newEnv(t)
		// A launch for Ola with a credential attested for Kari: the
		// session is bound to Ola, the policy refuses.
		resp := e.launchRaw("DPoP "+e.b.token("lege", patientKari), "p", "application/x-www-form-urlencoded", "patient="+patientOla)
		var lr ui.LaunchResponse
		_ = json.NewDecoder(resp.Body).Decode(&lr)
		resp.Body.Close()
		br := e.browser()
		br.get(lr.LaunchURL)
		r, body := br.get("/ui/")
		wantStatus(t, r, body, 403)
		wantContains(t, body, "Pasienten er ikke den samme")
	})
}

var docs = map[string]string{
	"pdf":   "2.16.578.1.12.4.1.7.991000011.1001",
	"text":  "2.16.578.1.12.4.1.7.991000011.1002",
	"xml":   "2.16.578.1.12.4.1.7.991000046.2001",
	"png":   "2.16.578.1.12.4.1.7.991000011.1003",
	"svg":   "2.16.578.1.12.4.1.7.991000054.3001",
	"dicom": "2.16.578.1.12.4.1.7.991000011.1004",
	"nors":  "2.16.578.1.12.4.1.7.991000011.1006",
	"btg":   "2.16.578.1.12.4.1.7.991000011.1005",
}

func TestViewerPage(t *testing.T) {
	e := newEnv(t)
	br := e.login("lege", patientKari)
	for _, tc := range []struct {
		kind string
		want []string
	}{
		{"pdf", []string{`<iframe class="doc-frame doc-frame--pdf" id="doc-content" data-kind="pdf" src="/ui/content?id=2.16.578.1.12.4.1.7.991000011.1001"`, "Epikrise etter innleggelse"}},
		{"text", []string{`data-kind="text" sandbox=""`, "Poliklinisk notat"}},
		{"xml", []string{`data-kind="text" sandbox=""`}},
		{"svg", []string{`data-kind="text" sandbox=""`}},
		{"png", []string{`<img class="doc-image" id="doc-content" data-kind="image"`, `alt="Dokumentinnhold: Røntgen thorax"`}},
		{"dicom", []string{`data-kind="download"`, "application/dicom"}},
	} {
		t.Run(tc.kind, func(t *testing.T) {
			resp, body := br.get("/ui/document?id=" + url.QueryEscape(docs[tc.kind]) + "&liste=" + url.QueryEscape("kategori=E00-1&x=<y>"))
			wantStatus(t, resp, body, 200)
			wantContains(t, body, tc.want...)
			wantContains(t, body, `id="back-link"`, `href="/ui/?kategori=E00-1"`, `id="download-link"`)
		})
	}
	for _, tc := range []struct {
		name, query string
		status      int
	}{
		{"no id", "", 400},
		{"two ids", "id=a&id=b", 400},
		{"control character", "id=" + url.QueryEscape("a\nb"), 400},
		{"too long", "id=" + strings.Repeat("1", 300), 400},
		{"unknown", "id=1.2.3", 404},
		{"hidden (NORS)", "id=" + docs["nors"], 404},
		{"emergency only", "id=" + docs["btg"], 404},
	} {
		t.Run(tc.name, func(t *testing.T) {
			resp, body := br.get("/ui/document?" + tc.query)
			wantStatus(t, resp, body, tc.status)
		})
	}
}

func TestContentHeaders(t *testing.T) {
	e := newEnv(t)
	br := e.login("lege", patientKari)
	for _, tc := range []struct {
		name        string
		query       string
		ctype       string
		disposition string
		sandbox     bool
		body        func(t *testing.T, body string)
	}{
		{"pdf", "id=" + docs["pdf"], "application/pdf", `inline; filename="Epikrise etter innleggelse for lungebetennelse.pdf"`, false,
			func(t *testing.T, body string) {
				if !strings.HasPrefix(body, "%PDF-1.4") {
					t.Error("not the PDF")
				}
			}},
		{"plain text", "id=" + docs["text"], "text/html; charset=utf-8", `inline; filename="Poliklinisk notat_ hjertepoliklinikken.html"`, true,
			func(t *testing.T, body string) {
				wantContains(t, body, "<pre>POLIKLINISK NOTAT – HJERTEPOLIKLINIKKEN")
			}},
		{"xml shown escaped", "id=" + docs["xml"], "text/html; charset=utf-8", "inline;", true,
			func(t *testing.T, body string) {
				wantContains(t, body, "&lt;html:script&gt;document.title = &#34;XSS&#34;", "&lt;html:img src=&#34;x&#34; onerror=")
				wantNotContains(t, body, "<html:script", "<html:img", "<Labsvar")
			}},
		{"svg shown escaped", "id=" + docs["svg"], "text/html; charset=utf-8", "inline;", true,
			func(t *testing.T, body string) {
				wantContains(t, body, "&lt;script&gt;")
				wantNotContains(t, body, "<svg", "<script")
			}},
		{"image", "id=" + docs["png"], "image/png", `inline; filename="R_ntgen thorax.png"; filename*=UTF-8''R%C3%B8ntgen%20thorax.png`, true, nil},
		{"unknown type downloads", "id=" + docs["dicom"], "application/octet-stream", `attachment; filename="CT abdomen_ bildeserie.bin"`, true, nil},
		{"explicit download", "id=" + docs["pdf"] + "&last-ned=1", "application/octet-stream", "attachment;", true, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			before := len(e.b.auditRows())
			resp, body := br.get("/ui/content?" + tc.query)
			wantStatus(t, resp, body, 200)
			h := resp.Header
			if got := h.Get("Content-Type"); got != tc.ctype {
				t.Errorf("Content-Type %q, want %q", got, tc.ctype)
			}
			if got := h.Get("Content-Disposition"); !strings.HasPrefix(got, tc.disposition) {
				t.Errorf("Content-Disposition %q, want prefix %q", got, tc.disposition)
			}
			if h.Get("X-Content-Type-Options") != "nosniff" {
				t.Error("no nosniff")
			}
			csp := cspDirectives(h.Get("Content-Security-Policy"))
			if csp["default-src"] != "'none'" {
				t.Errorf("default-src %q", csp["default-src"])
			}
			if _, ok := csp["script-src"]; ok {
				t.Error("viewed content may run script")
			}
			if _, ok := csp["sandbox"]; ok != tc.sandbox {
				t.Errorf("sandbox present = %v, want %v", ok, tc.sandbox)
			}
			if got := csp["frame-ancestors"]; got != "'self' "+hostOrigin {
				t.Errorf("frame-ancestors %q: every ancestor of the nested viewer frame must be allowed", got)
			}
			if style := csp["style-src"]; style != "" {
				// The only style allowed is the page's own <style>, by hash.
				m := regexp.MustCompile(`<style>(.*?)</style>`).FindStringSubmatch(body)
				if m == nil {
					t.Fatal("style-src without a <style>")
				}
				sum := sha256.Sum256([]byte(m[1]))
				if want := "'sha256-" + base64.StdEncoding.EncodeToString(sum[:]) + "'"; style != want {
					t.Errorf("style-src %s, want %s", style, want)
				}
			}
			if tc.body != nil {
				tc.body(t, body)
			}
			rows := e.b.auditRows()
			if len(rows) != before+1 || rows[len(rows)-1].Transaction != "UI-VIEW" {
				t.Fatalf("a view must write exactly one UI-VIEW record; got %d new", len(rows)-before)
			}
		})
	}
	t.Run("not found", func(t *testing.T) {
		resp, body := br.get("/ui/content?id=" + docs["nors"])
		wantStatus(t, resp, body, 404)
		if ct := resp.Header.Get("Content-Disposition"); ct != "" {
			t.Errorf("error page with Content-Disposition %q", ct)
		}
	})
}

func TestTextCharset(t *testing.T) {
	// The XML fixture declares UTF-8 and the page keeps its bytes as they are.
	e := newEnv(t)
	_, body := e.login("lege", patientKari).get("/ui/content?id=" + docs["xml"])
	wantContains(t, body, `<meta charset="utf-8">`, "11,7 – 15,3")
}

func TestRoles(t *testing.T) {
	e := newEnv(t)
	lege := e.login("lege", patientKari)
	kontroll := e.login("kontroll", "")
	borger := e.login("innbygger", "")
	for _, tc := range []struct {
		name     string
		br       *browser
		path     string
		status   int
		location string
	}{
		{"health worker: audit", lege, "/ui/audit/", 403, ""},
		{"health worker: flagged", lege, "/ui/audit/flagged", 403, ""},
		{"health worker: chain", lege, "/ui/audit/chain", 403, ""},
		{"health worker: export", lege, "/ui/audit/export.csv", 403, ""},
		{"health worker: citizen page", lege, "/ui/citizen/", 403, ""},
		{"citizen: list", borger, "/ui/", 303, "/ui/citizen/"},
		{"citizen: viewer", borger, "/ui/document?id=" + docs["pdf"], 403, ""},
		{"citizen: content", borger, "/ui/content?id=" + docs["pdf"], 403, ""},
		{"citizen: audit", borger, "/ui/audit/", 403, ""},
		{"citizen: export", borger, "/ui/audit/export.csv", 403, ""},
		{"citizen: own page", borger, "/ui/citizen/", 200, ""},
		{"compliance: list", kontroll, "/ui/", 303, "/ui/audit/"},
		{"compliance: viewer", kontroll, "/ui/document?id=" + docs["pdf"], 403, ""},
		{"compliance: content", kontroll, "/ui/content?id=" + docs["pdf"], 403, ""},
		{"compliance: citizen page", kontroll, "/ui/citizen/", 403, ""},
		{"compliance: audit", kontroll, "/ui/audit/", 200, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			before := len(e.b.auditRows())
			resp, body := tc.br.get(tc.path)
			wantStatus(t, resp, body, tc.status)
			if tc.location != "" && resp.Header.Get("Location") != tc.location {
				t.Errorf("Location %q", resp.Header.Get("Location"))
			}
			if tc.status == 403 {
				wantContains(t, body, "Ingen tilgang")
				if len(e.b.auditRows()) != before {
					t.Error("a refused page reached the backend")
				}
			}
		})
	}
}

// seedAudit makes four accesses: a list and two views by lege, a list by
// lege-btg (flagged); it returns the env and a compliance officer.
func seedAudit(t *testing.T) (*env, *browser) {
	e := newEnv(t)
	lege := e.login("lege", patientKari)
	lege.get("/ui/")
	e.clock.Advance(time.Minute)
	lege.get("/ui/content?id=" + docs["pdf"])
	lege.get("/ui/content?id=" + docs["text"])
	e.clock.Advance(time.Minute)
	e.login("lege-btg", patientKari).get("/ui/")
	return e, e.login("kontroll", "")
}

func TestAuditSearch(t *testing.T) {
	e, kontroll := seedAudit(t)
	for _, tc := range []struct {
		name   string
		query  string
		status int
		rows   int
		want   []string
	}{
		{"everything", "", 200, 4, []string{"4 treff.", "Ingrid Berg", "Henrik Dahl", "Lege", "HPR 9144889", "Nordvik legevakt"}},
		{"by patient", "pasient=" + patientKari, 200, 4, []string{`<input type="text" id="pasient" name="pasient" value="15838210012"`}},
		{"patient with space", "pasient=" + url.QueryEscape("158382 10012"), 200, 4, nil},
		{"by other patient", "pasient=" + patientOla, 200, 0, []string{"Ingen tilganger passer søket."}},
		{"by HPR", "helsepersonell=9144897", 200, 1, []string{"Henrik Dahl"}},
		{"by worker F-nr", "helsepersonell=21916510001", 200, 3, nil},
		{"by organisation", "virksomhet=991000054", 200, 1, nil},
		{"by document", "dokument=" + docs["pdf"], 200, 3, []string{"Epikrise etter innleggelse"}},
		{"by period", "fra=2026-01-15&til=2026-01-15", 200, 4, nil},
		{"period without hits", "til=2025-12-31", 200, 0, nil},
		{"bad patient", "pasient=12345", 400, 0, []string{`id="form-errors"`, "«Pasient» må være et fødselsnummer"}},
		{"bad worker", "helsepersonell=abc", 400, 0, []string{"«Helsepersonell»"}},
		{"bad organisation", "virksomhet=99x", 400, 0, []string{"«Virksomhet»"}},
		{"bad date", "fra=nå", 400, 0, []string{"«Fra dato»"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			resp, body := kontroll.get("/ui/audit/?" + tc.query)
			wantStatus(t, resp, body, tc.status)
			if n := strings.Count(body, "<tr data-transaction="); n != tc.rows {
				t.Errorf("%d rows, want %d", n, tc.rows)
			}
			wantContains(t, body, tc.want...)
			if tc.status == 200 && tc.rows > 0 {
				wantContains(t, body, `id="export-link"`, `<div class="table-wrap" role="region" aria-labelledby="audit-results-caption" tabindex="0">`, `<caption id="audit-results-caption">Tilganger, nyeste først</caption>`)
			}
		})
	}
	_, body := kontroll.get("/ui/audit/?pasient=" + patientKari)
	wantContains(t, body, `href="/ui/audit/export.csv?pasient=15838210012"`, "Åpnet dokument", "Så dokumentlisten")
	_ = e
}

func TestAuditPaging(t *testing.T) {
	e := newEnv(t)
	for i := range 120 {
		e.b.appendRow(ui.AuditRow{Time: e.clock.Now().Add(time.Duration(i) * time.Second), Transaction: "UI-LIST", Outcome: ui.OutcomePermit, Patient: patientKari})
	}
	br := e.login("kontroll", "")
	_, body := br.get("/ui/audit/?pasient=" + patientKari)
	if n := strings.Count(body, "<tr data-transaction="); n != 50 {
		t.Fatalf("%d rows on page 1", n)
	}
	next := regexp.MustCompile(`<a href="([^"]+)" class="button button--secondary" data-loading="Henter neste side …">Neste side</a>`).FindStringSubmatch(body)
	if next == nil {
		t.Fatal("no next link")
	}
	_, body = br.get(unescape(next[1]))
	if n := strings.Count(body, "<tr data-transaction="); n != 50 {
		t.Fatalf("%d rows on page 2", n)
	}
	resp, body := br.get("/ui/audit/?side=bogus")
	wantStatus(t, resp, body, 400)
}

func TestFlaggedQueue(t *testing.T) {
	_, kontroll := seedAudit(t)
	resp, body := kontroll.get("/ui/audit/flagged")
	wantStatus(t, resp, body, 200)
	if n := strings.Count(body, `<li class="card"`); n != 1 {
		t.Fatalf("%d flagged, want 1 (the BTG access)", n)
	}
	wantContains(t, body, "Henrik Dahl", "Nødtilgang (BTG)", "Utenfor behandlingsrelasjon",
		"knuste glasset", "Beslutningsreferanse", "0f6a1e0c-2b5f-4f43-9a43-8cfc7a0b9d11", "(valgt av bruker)",
		"Allmennlegetjeneste", "Formål", "Nødtilgang (BTG)", "Bekreftet", "15.01.2026")
	wantNotContains(t, body, "Ingrid Berg")
	resp, body = kontroll.get("/ui/audit/flagged?virksomhet=991000038")
	wantStatus(t, resp, body, 200)
	wantContains(t, body, "Ingen tilganger venter på oppfølging.")
}

func TestFlagManyPatients(t *testing.T) {
	e := newEnv(t)
	// A third patient within ten minutes flags the access.
	for _, p := range []string{patientKari, patientOla, "21916510001"} {
		e.login("lege", p).get("/ui/")
	}
	_, body := e.login("kontroll", "").get("/ui/audit/flagged")
	wantContains(t, body, "Mange pasienter på kort tid")
}

func TestAuditChain(t *testing.T) {
	e, kontroll := seedAudit(t)
	resp, body := kontroll.get("/ui/audit/chain")
	wantStatus(t, resp, body, 200)
	wantContains(t, body, `data-ok="true"`, "Loggen er intakt", "Alle 4 poster")
	e.b.tamper(2, func(r *ui.AuditRow) { r.Worker.Name = "Noen andre" })
	resp, body = kontroll.get("/ui/audit/chain")
	wantStatus(t, resp, body, 200)
	wantContains(t, body, `data-ok="false"`, `role="alert"`, "Loggen er ikke intakt", "post 3")
}

func TestAuditExportCSV(t *testing.T) {
	e, kontroll := seedAudit(t)
	evil := ui.AuditRow{
		Time: e.clock.Now(), Transaction: "UI-VIEW", Outcome: ui.OutcomePermit, Patient: patientKari,
		Worker:    ui.Person{Name: `=HYPERLINK("http://evil.example","klikk")`, HPR: "9144889"},
		Reason:    "+SUM(A1:A9)",
		Rule:      "-2+3",
		Client:    "@cmd",
		Action:    "\tx",
		Documents: []ui.AuditDocument{{ID: "=1+1"}},
	}
	e.b.appendRow(evil)
	resp, body := kontroll.get("/ui/audit/export.csv?pasient=" + patientKari)
	wantStatus(t, resp, body, 200)
	if ct := resp.Header.Get("Content-Type"); ct != "text/csv; charset=utf-8" {
		t.Errorf("Content-Type %q", ct)
	}
	if cd := resp.Header.Get("Content-Disposition"); !strings.HasPrefix(cd, `attachment; filename="tilgangslogg-20260115-`) || !strings.Contains(cd, `.csv"`) {
		t.Errorf("Content-Disposition %q", cd)
	}
	recs, err := csv.NewReader(strings.NewReader(body)).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	if len(recs) != 6 { // header + 4 seeded + the evil row
		t.Fatalf("%d records", len(recs))
	}
	if recs[0][0] != "Tidspunkt" || recs[0][7] != "Helsepersonell" {
		t.Errorf("header %q", recs[0])
	}
	for _, rec := range recs[1:] {
		for i, cell := range rec {
			if cell != "" && strings.ContainsRune("=+-@\t\r", rune(cell[0])) {
				t.Errorf("column %q: cell %q could run as a formula", recs[0][i], cell)
			}
		}
	}
	row := recs[1] // newest first: the evil row
	col := func(name string) string { return row[slices.Index(recs[0], name)] }
	if col("Helsepersonell") != `'=HYPERLINK("http://evil.example","klikk")` || col("Begrunnelse") != "'+SUM(A1:A9)" ||
		col("Regel") != "'-2+3" || col("Klientsystem") != "'@cmd" || col("Handling") != "'\tx" || col("Dokumenter") != "'=1+1" {
		t.Errorf("formula cells not neutralised: %q", row)
	}
	if got := recs[2][slices.Index(recs[0], "HPR-nummer")]; got != "9144897" {
		t.Errorf("second row HPR %q", got)
	}

	resp, body = kontroll.get("/ui/audit/export.csv?pasient=" + patientOla)
	wantStatus(t, resp, body, 200)
	if recs, _ := csv.NewReader(strings.NewReader(body)).ReadAll(); len(recs) != 1 {
		t.Errorf("empty export: %d records, want the header alone", len(recs))
	}
	resp, body = kontroll.get("/ui/audit/export.csv?pasient=1")
	wantStatus(t, resp, body, 400)
	e.b.fail(ui.ErrUnavailable)
	resp, body = kontroll.get("/ui/audit/export.csv")
	wantStatus(t, resp, body, 503)
	if strings.HasPrefix(resp.Header.Get("Content-Type"), "text/csv") {
		t.Error("a failed export answered as CSV")
	}
}

func TestCitizenPage(t *testing.T) {
	e, _ := seedAudit(t)
	borger := e.login("innbygger", "")
	resp, body := borger.get("/ui/citizen/")
	wantStatus(t, resp, body, 200)
	wantContains(t, body, "Hvem har sett dokumentene mine", "Ingrid Berg", "Henrik Dahl", "Lege", "Nordvik legevakt",
		"Sentrum legekontor", "Epikrise etter innleggelse for lungebetennelse", "Poliklinisk notat", "Behandling", "Nødtilgang",
		`<div class="table-wrap" role="region" aria-labelledby="access-log-caption" tabindex="0">`,
		`<caption id="access-log-caption">Oppslag i journaldokumentene dine, nyeste først</caption>`)
	wantNotContains(t, body, "21916510001", "06905510027", "0f6a1e0c")
	if n := strings.Count(body, "<tr>"); n != 5 { // header row + 4 rows
		t.Errorf("%d rows", n-1)
	}
	// Other people's filters are ignored; the period applies.
	resp, body = borger.get("/ui/citizen/?pasient=" + patientOla + "&til=2025-01-01")
	wantStatus(t, resp, body, 200)
	wantContains(t, body, "Ingen har sett dokumentene dine i denne perioden.")
}

func TestDemoHost(t *testing.T) {
	t.Run("off without Dev", func(t *testing.T) {
		c := newClock()
		b := newTestBackend(t, c.Now)
		u, err := ui.New(ui.Config{Backend: b, Secure: true, Sessions: ui.NewMemorySessionStore(c.Now), Now: c.Now})
		if err != nil {
			t.Fatal(err)
		}
		mux := http.NewServeMux()
		u.Routes(mux)
		for _, m := range []string{http.MethodGet, http.MethodPost} {
			req, _ := http.NewRequest(m, "/ui/demo-host", nil)
			rec := httptest.NewRecorder()
			mux.ServeHTTP(rec, req)
			if rec.Code != 404 && rec.Code != 405 {
				t.Errorf("%s /ui/demo-host without Dev: %d", m, rec.Code)
			}
		}
	})
	e := newEnv(t)
	br := e.browser()
	resp, body := br.get("/ui/demo-host")
	wantStatus(t, resp, body, 200)
	wantContains(t, body, `<label for="persona">`, `<label for="patient">`, "Ingrid Berg, lege, Nordvik legevakt", "Kari Testesen")
	wantNotContains(t, body, "<iframe")
	resp, body = br.get("/ui/demo-host?persona=lege&patient=" + patientKari)
	wantStatus(t, resp, body, 200)
	src := regexp.MustCompile(`<iframe id="pjd-frame" class="host-frame" src="(/ui/launch/[A-Za-z0-9_-]{43})"`).FindStringSubmatch(body)
	if src == nil {
		t.Fatalf("no embedded launch URL:\n%s", body)
	}
	if csp := cspDirectives(resp.Header.Get("Content-Security-Policy")); csp["frame-src"] != "'self'" {
		t.Errorf("frame-src %q", csp["frame-src"])
	}
	framed := e.browser()
	resp, body = framed.get(src[1])
	wantStatus(t, resp, body, 200)
	_, body = framed.get("/ui/")
	if got := listTitles(body); !slices.Equal(got, wantTitlesLege) {
		t.Errorf("embedded list %q", got)
	}
	resp, body = br.get("/ui/demo-host?persona=nobody")
	wantStatus(t, resp, body, 200)
	wantContains(t, body, `id="host-error"`, "Ukjent persona")
	resp, body = br.get("/ui/demo-host?persona=system")
	wantStatus(t, resp, body, 200)
	wantContains(t, body, `id="host-error"`, "Oppstarten ble avvist")

	// The JSON launch the browser tests use.
	form := http.Header{"Content-Type": {"application/x-www-form-urlencoded"}}
	resp, body = br.do(http.MethodPost, "/ui/demo-host/launch", strings.NewReader("persona=lege&patient="+patientKari), form)
	wantStatus(t, resp, body, 200)
	var lr ui.LaunchResponse
	if err := json.Unmarshal([]byte(body), &lr); err != nil || !strings.HasPrefix(lr.LaunchURL, "/ui/launch/") {
		t.Fatalf("%v %q", err, body)
	}
	resp, body = br.do(http.MethodPost, "/ui/demo-host/launch", strings.NewReader("persona=nobody"), form)
	wantStatus(t, resp, body, 400)
}

func TestConfig(t *testing.T) {
	b := newTestBackend(t, time.Now)
	good := func() ui.Config {
		return ui.Config{Backend: b, Secure: true, Sessions: ui.NewMemorySessionStore(nil)}
	}
	if _, err := ui.New(good()); err != nil {
		t.Fatalf("minimal production config: %v", err)
	}
	for _, tc := range []struct {
		name string
		mod  func(*ui.Config)
	}{
		{"no backend", func(c *ui.Config) { c.Backend = nil }},
		{"insecure cookie outside dev", func(c *ui.Config) { c.Secure = false }},
		{"SameSite=None without Secure", func(c *ui.Config) {
			c.Secure, c.Dev, c.DemoLauncher = false, true, b.authorize
			c.CookieSameSite = http.SameSiteNoneMode
		}},
		{"unknown SameSite", func(c *ui.Config) { c.CookieSameSite = 9 }},
		{"launch TTL too long", func(c *ui.Config) { c.LaunchTTL = 10 * time.Minute }},
		{"negative launch TTL", func(c *ui.Config) { c.LaunchTTL = -time.Second }},
		{"idle longer than absolute", func(c *ui.Config) { c.SessionTTL, c.SessionIdleTTL = time.Minute, time.Hour }},
		{"no session store outside dev", func(c *ui.Config) { c.Sessions = nil }},
		{"dev without demo launcher", func(c *ui.Config) { c.Dev = true }},
		{"frame ancestor wildcard", func(c *ui.Config) { c.FrameAncestors = []string{"*"} }},
		{"frame ancestor injection", func(c *ui.Config) { c.FrameAncestors = []string{"https://a.no; script-src *"} }},
		{"frame ancestor two sources", func(c *ui.Config) { c.FrameAncestors = []string{"https://a.no https://b.no"} }},
		{"frame ancestor with path", func(c *ui.Config) { c.FrameAncestors = []string{"https://a.no/x"} }},
		{"frame ancestor scheme", func(c *ui.Config) { c.FrameAncestors = []string{"javascript://a"} }},
		{"frame ancestor none", func(c *ui.Config) { c.FrameAncestors = []string{"'none'"} }},
		{"frame ancestor inner wildcard", func(c *ui.Config) { c.FrameAncestors = []string{"https://a.*.no"} }},
		{"base URL with path", func(c *ui.Config) { c.BaseURL = "https://pjd.no/x" }},
		{"base URL without scheme", func(c *ui.Config) { c.BaseURL = "pjd.no" }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cfg := good()
			tc.mod(&cfg)
			if _, err := ui.New(cfg); !errors.Is(err, ui.ErrConfig) {
				t.Fatalf("got %v, want ErrConfig", err)
			}
		})
	}
	cfg := good()
	cfg.FrameAncestors = []string{"'self'", "https://*.nhn.no", "https://kj.nhn.no:8443", "http://127.0.0.1:9000"}
	if _, err := ui.New(cfg); err != nil {
		t.Errorf("valid frame ancestors refused: %v", err)
	}
}
