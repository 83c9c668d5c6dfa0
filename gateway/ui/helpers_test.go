package ui_test

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"pjd/gateway/ui"
)

// clock is a pinned, steppable clock shared by the UI, its memory store
// and the test backend.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func newClock() *clock { return &clock{t: time.Date(2026, 1, 15, 9, 0, 0, 0, time.UTC)} }

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *clock) Advance(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

// env is a UI over the test backend behind a real HTTP server.
type env struct {
	t     *testing.T
	b     *testBackend
	clock *clock
	ui    *ui.UI
	srv   *httptest.Server
	cfg   ui.Config
}

const hostOrigin = "https://kjernejournal.test.nhn.no"

func newEnv(t *testing.T, mod ...func(*ui.Config)) *env {
	t.Helper()
	c := newClock()
	b := newTestBackend(t, c.Now)
	cfg := ui.Config{
		Backend:        b,
		FrameAncestors: []string{hostOrigin},
		Secure:         true,
		Sessions:       ui.NewMemorySessionStore(c.Now),
		Now:            c.Now,
		Dev:            true,
		DemoLauncher:   b.authorize,
		DemoPersonas:   b.demoPersonas(),
		DemoPatients:   b.demoPatients(),
	}
	for _, m := range mod {
		m(&cfg)
	}
	u, err := ui.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	mux := http.NewServeMux()
	u.Routes(mux)
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	return &env{t: t, b: b, clock: c, ui: u, srv: srv, cfg: cfg}
}

// post sends the host's launch call with a credential for persona.
func (e *env) launchRaw(auth, dpop, contentType, body string) *http.Response {
	e.t.Helper()
	req, err := http.NewRequest(http.MethodPost, e.srv.URL+"/ui/launch", strings.NewReader(body))
	if err != nil {
		e.t.Fatal(err)
	}
	if auth != "" {
		req.Header.Set("Authorization", auth)
	}
	if dpop != "" {
		req.Header.Set("DPoP", dpop)
	}
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		e.t.Fatal(err)
	}
	return resp
}

// launchURL does the host's launch call for persona and patient and
// returns the launch URL.
func (e *env) launchURL(persona, patient string) string {
	e.t.Helper()
	form := url.Values{}
	if patient != "" {
		form.Set("patient", patient)
	}
	resp := e.launchRaw("DPoP "+e.b.token(persona, patient), "proof", "application/x-www-form-urlencoded", form.Encode())
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		b, _ := io.ReadAll(resp.Body)
		e.t.Fatalf("launch %s: %d %s", persona, resp.StatusCode, b)
	}
	var lr ui.LaunchResponse
	if err := json.NewDecoder(resp.Body).Decode(&lr); err != nil {
		e.t.Fatal(err)
	}
	return lr.LaunchURL
}

// browser is a minimal client: one session cookie, no redirects
// followed, Sec-Fetch-Site as a browser would send it from pjd's own
// pages.
type browser struct {
	e      *env
	cookie *http.Cookie
	hc     *http.Client
}

func (e *env) browser() *browser {
	return &browser{e: e, hc: &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}}
}

// login launches persona for patient and uses the launch URL.
func (e *env) login(persona, patient string) *browser {
	e.t.Helper()
	br := e.browser()
	resp, body := br.get(e.launchURL(persona, patient))
	if resp.StatusCode != http.StatusOK || br.cookie == nil {
		e.t.Fatalf("using launch URL: %d, cookie %v\n%s", resp.StatusCode, br.cookie, body)
	}
	return br
}

func (br *browser) do(method, path string, body io.Reader, hdr http.Header) (*http.Response, string) {
	br.e.t.Helper()
	u := path
	if strings.HasPrefix(path, "/") {
		u = br.e.srv.URL + path
	}
	req, err := http.NewRequest(method, u, body)
	if err != nil {
		br.e.t.Fatal(err)
	}
	req.Header.Set("Sec-Fetch-Site", "same-origin")
	for k, v := range hdr {
		req.Header[k] = v
	}
	if br.cookie != nil {
		req.AddCookie(br.cookie)
	}
	resp, err := br.hc.Do(req)
	if err != nil {
		br.e.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		br.e.t.Fatal(err)
	}
	for _, c := range resp.Cookies() {
		if c.MaxAge < 0 {
			br.cookie = nil
		} else {
			br.cookie = c
		}
	}
	return resp, string(b)
}

func (br *browser) get(path string, hdr ...http.Header) (*http.Response, string) {
	h := http.Header{}
	for _, x := range hdr {
		for k, v := range x {
			h[k] = v
		}
	}
	return br.do(http.MethodGet, path, nil, h)
}

func wantStatus(t *testing.T, resp *http.Response, body string, want int) {
	t.Helper()
	if resp.StatusCode != want {
		t.Fatalf("%s %s: status %d, want %d\n%s", resp.Request.Method, resp.Request.URL.Path, resp.StatusCode, want, body)
	}
	// A 503 says when to try again, as every other 503 of pjd does.
	if want == http.StatusServiceUnavailable && resp.Header.Get("Retry-After") != strconv.Itoa(ui.RetryAfter) {
		t.Errorf("%s %s: 503 with Retry-After %q, want %d", resp.Request.Method, resp.Request.URL.Path, resp.Header.Get("Retry-After"), ui.RetryAfter)
	}
}

func wantContains(t *testing.T, body string, subs ...string) {
	t.Helper()
	for _, s := range subs {
		if !strings.Contains(body, s) {
			t.Errorf("body lacks %q", s)
		}
	}
}

func wantNotContains(t *testing.T, body string, subs ...string) {
	t.Helper()
	for _, s := range subs {
		if strings.Contains(body, s) {
			t.Errorf("body contains %q", s)
		}
	}
}

var rowTitle = regexp.MustCompile(`<a class="row-link" href="[^"]*">([^<]*)</a>`)

// listTitles returns the document titles of a rendered list, in order.
func listTitles(body string) []string {
	var out []string
	for _, m := range rowTitle.FindAllStringSubmatch(body, -1) {
		out = append(out, unescape(m[1]))
	}
	return out
}

func unescape(s string) string {
	r := strings.NewReplacer("&amp;", "&", "&lt;", "<", "&gt;", ">", "&#34;", `"`, "&#39;", "'", "&quot;", `"`)
	return r.Replace(s)
}
