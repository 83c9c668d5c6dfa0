package uitest

import (
	"context"
	_ "embed"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/browser"
	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/cdproto/target"
	"github.com/chromedp/chromedp"
	"github.com/chromedp/chromedp/kb"
)

//go:embed js/a11y.js
var a11yJS string

//go:embed js/contrast.js
var contrastJS string

// pdfViewerURL is the origin of Chromium's built-in PDF viewer; a frame
// of it appears when a PDF is rendered (and not when it is blocked).
const pdfViewerURL = "chrome-extension://mhjfbmdgcfjbbpaeojofohoefgiehjai/"

// Target is a running pjd whose UI the flows drive. It must serve the
// demo host (pjd serve --dev, or a test server with Dev set).
type Target struct {
	// BaseURL is pjd's URL, e.g. http://127.0.0.1:8080.
	BaseURL string
	// Patient is a demo patient (national identity number) with at least
	// one PDF and one plain-text document the Clinician may see.
	Patient string
	// Demo persona ids (as the demo host offers them): a health worker
	// with an ordinary care relation (purpose TREAT), a compliance
	// officer, and the citizen who is Patient.
	Clinician, Compliance, Citizen string
	// Launch makes the host's server-to-server launch call and returns
	// the launch URL (absolute or a path). Nil: POST /ui/demo-host/launch.
	Launch func(ctx context.Context, persona, patient string) (string, error)
	// Artifacts is where screenshots and the exported CSV go; default
	// ArtifactsDir(t, "ui-browser").
	Artifacts string
	// ReadmeScreenshots, when set, also receives the screenshots the
	// README shows (list.png, viewer-pdf.png, compliance.png …).
	ReadmeScreenshots string
}

// Result is what a run produced.
type Result struct {
	// Screenshots by name (without ".png").
	Screenshots map[string][]byte
	// ExportCSV is the downloaded compliance export.
	ExportCSV []byte
}

// ReadmeNames maps the README's screenshot files to the run's screenshots.
var ReadmeNames = map[string]string{
	"demo-host.png":      "01-demo-host",
	"list.png":           "02-list",
	"viewer-pdf.png":     "03-viewer-pdf",
	"viewer-text.png":    "04-viewer-text",
	"list-360.png":       "06-list-360",
	"compliance.png":     "07-compliance-search",
	"flagged.png":        "08-flagged",
	"citizen.png":        "10-citizen",
	"citizen-blocks.png": "11-citizen-blocks",
}

type run struct {
	tg  Target
	b   *Browser
	res *Result
}

type docLink struct{ ID, Title, Href string }

// Run drives every flow against tg, each as a subtest, in order. Each
// subtest sets up what it needs itself — its own tabs, launched as its
// own personas, and the documents it reads off its own list — so any one
// can run alone (-run TestBrowser/OpenPDF), and none is skipped because
// another failed.
func Run(t *testing.T, tg Target) *Result {
	t.Helper()
	tg.BaseURL = strings.TrimSuffix(tg.BaseURL, "/")
	if tg.Artifacts == "" {
		tg.Artifacts = ArtifactsDir(t, "ui-browser")
	}
	if tg.Launch == nil {
		tg.Launch = demoLauncher(tg.BaseURL)
	}
	b := NewBrowser(t, tg.Artifacts)
	if b == nil {
		return nil
	}
	r := &run{tg: tg, b: b, res: &Result{Screenshots: map[string][]byte{}}}
	for _, f := range []struct {
		name string
		fn   func(t *testing.T)
	}{
		{"EmbedThroughDemoHost", r.embed},
		{"List", r.list},
		{"FilterAndSort", r.filterAndSort},
		{"OpenPDF", r.openPDF},
		{"OpenText", r.openText},
		{"ViewsAreAudited", r.viewsAudited},
		{"KeyboardOnly", r.keyboard},
		{"NarrowFrame", r.narrow},
		{"ComplianceSearchAndExport", r.complianceSearch},
		{"FlaggedAndChain", r.flaggedAndChain},
		{"Citizen", r.citizen},
		{"SecurityHeaders", r.headers},
		{"FrameAncestorsEnforced", r.frameAncestors},
		{"LaunchURLSingleUse", r.singleUse},
		{"CitizenBlocksAccessible", r.citizenBlocks},
		{"CitizenRevokesBlockWithKeyboard", r.citizenRevokeKeyboard},
	} {
		t.Run(f.name, f.fn)
	}
	if tg.ReadmeScreenshots != "" {
		for file, shot := range ReadmeNames {
			if png, ok := r.res.Screenshots[shot]; ok {
				if err := os.WriteFile(filepath.Join(tg.ReadmeScreenshots, file), png, 0o644); err != nil {
					t.Error(err)
				}
			}
		}
	}
	return r.res
}

// demoLauncher asks the demo host for a launch URL (dev only).
func demoLauncher(base string) func(ctx context.Context, persona, patient string) (string, error) {
	return func(ctx context.Context, persona, patient string) (string, error) {
		form := url.Values{"persona": {persona}, "patient": {patient}}
		req, err := http.NewRequestWithContext(ctx, http.MethodPost, base+"/ui/demo-host/launch", strings.NewReader(form.Encode()))
		if err != nil {
			return "", err
		}
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			return "", err
		}
		defer resp.Body.Close()
		body, _ := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
		if resp.StatusCode != http.StatusOK {
			return "", fmt.Errorf("demo launch: %s: %s", resp.Status, body)
		}
		var lr struct {
			LaunchURL string `json:"launch_url"`
		}
		if err := json.Unmarshal(body, &lr); err != nil {
			return "", fmt.Errorf("demo launch: %w", err)
		}
		return lr.LaunchURL, nil
	}
}

func (r *run) abs(u string) string {
	if strings.HasPrefix(u, "/") {
		return r.tg.BaseURL + u
	}
	return u
}

func (r *run) shot(t *testing.T, ctx context.Context, name string) {
	r.res.Screenshots[name] = r.b.Screenshot(t, ctx, name)
}

// checkPage runs axe-core (the WCAG 2.0/2.1 A and AA rules) and the
// project's own accessibility and contrast checks (the skip link, lang nb,
// one main and h1 … which axe does not require) on the tab's page.
func checkPage(t *testing.T, ctx context.Context, what string) {
	t.Helper()
	for _, v := range axeRun(t, ctx) {
		t.Errorf("%s: axe-core: %s", what, v)
	}
	for _, p := range eval[[]string](t, ctx, a11yJS) {
		t.Errorf("%s: accessibility: %s", what, p)
	}
	for _, p := range eval[[]string](t, ctx, contrastJS) {
		t.Errorf("%s: contrast: %s", what, p)
	}
}

// openAs loads the demo host for persona and waits until the embedded
// frame shows a pjd page with one of the selectors; the tab's browser
// context then holds the persona's session.
func (r *run) openAs(t *testing.T, ctx context.Context, persona, patient, ready string) {
	t.Helper()
	q := url.Values{"persona": {persona}, "patient": {patient}}
	navigate(t, ctx, r.tg.BaseURL+"/ui/demo-host?"+q.Encode())
	waitFor(t, ctx, "the embedded UI", `document.getElementById("pjd-frame").contentDocument.querySelector(`+jsString(ready)+`)`)
}

// clinicianTab opens a tab of t's own with a session of the clinician for
// the patient, on the document list.
func (r *run) clinicianTab(t *testing.T) context.Context {
	t.Helper()
	ctx := r.launchedTab(t, r.tg.Clinician, r.tg.Patient)
	waitFor(t, ctx, "the document list", `location.pathname === "/ui/" && document.querySelector("#documents tbody tr")`)
	return ctx
}

// complianceTab opens a tab of t's own with a session of the compliance
// officer, on the audit search.
func (r *run) complianceTab(t *testing.T) context.Context {
	t.Helper()
	ctx := r.launchedTab(t, r.tg.Compliance, "")
	waitFor(t, ctx, "the audit search", `location.pathname === "/ui/audit/" && document.querySelector("#audit-results, #empty-state")`)
	return ctx
}

// launchedTab opens a tab in a browser context of its own and uses a
// launch URL for persona in it, as the host's browser would; the launch
// page moves on to the persona's first page by itself.
func (r *run) launchedTab(t *testing.T, persona, patient string) context.Context {
	t.Helper()
	ctx := r.b.Tab(t)
	sctx, cancel := context.WithTimeout(ctx, StepTimeout)
	launch, err := r.tg.Launch(sctx, persona, patient)
	cancel()
	if err != nil {
		t.Fatalf("launch as %s: %v", persona, err)
	}
	navigate(t, ctx, r.abs(launch))
	return ctx
}

// listed is what the clinician's document list (the tab's page) shows:
// who is logged in, and a PDF, a plain-text and (if any) an XML document.
type listed struct {
	clinician      string
	pdf, text, xml docLink
}

func (r *run) listed(t *testing.T, ctx context.Context) listed {
	t.Helper()
	find := func(sel string) docLink {
		v := eval[[]string](t, ctx, `(() => { const a = document.querySelector(`+jsString(sel)+`); if (!a) return []; return [new URL(a.href).searchParams.get("id"), a.textContent.trim(), a.getAttribute("href")]; })()`)
		if len(v) != 3 {
			return docLink{}
		}
		return docLink{ID: v[0], Title: v[1], Href: v[2]}
	}
	l := listed{
		clinician: eval[string](t, ctx, `(document.querySelector(".app-user__name")||{textContent:""}).textContent.split(",")[0].trim()`),
		pdf:       find(`tr[data-mime^="application/pdf"] a.row-link`),
		text:      find(`tr[data-mime^="text/plain"] a.row-link`),
		xml:       find(`tr[data-mime$="/xml"] a.row-link`),
	}
	if l.pdf.ID == "" || l.text.ID == "" {
		t.Fatalf("patient %s needs a PDF and a plain-text document in the list", r.tg.Patient)
	}
	return l
}

func (r *run) embed(t *testing.T) {
	ctx := r.b.Tab(t)
	r.openAs(t, ctx, r.tg.Clinician, r.tg.Patient, "#documents")
	rows := eval[int](t, ctx, `document.getElementById("pjd-frame").contentDocument.querySelectorAll("#documents tbody tr").length`)
	if rows == 0 {
		t.Fatal("the embedded list has no documents")
	}
	if src := eval[string](t, ctx, `document.getElementById("pjd-frame").contentWindow.location.pathname`); src != "/ui/" {
		t.Errorf("the frame ended at %s, want /ui/ (the launch page moves on by itself)", src)
	}
	checkPage(t, ctx, "demo host")
	r.shot(t, ctx, "01-demo-host")
}

func (r *run) list(t *testing.T) {
	ctx := r.clinicianTab(t)
	checkPage(t, ctx, "list")
	if r.listed(t, ctx).clinician == "" {
		t.Error("the list does not say who is logged in")
	}
	dates := eval[[]string](t, ctx, `Array.from(document.querySelectorAll("#documents tbody time")).map(e => e.getAttribute("datetime"))`)
	for i := 1; i < len(dates); i++ {
		if dates[i] > dates[i-1] {
			t.Errorf("not newest first: %s after %s", dates[i], dates[i-1])
		}
	}
	if got := eval[string](t, ctx, `document.querySelector("#documents th[aria-sort]").textContent`); !strings.HasPrefix(got, "Dato") {
		t.Errorf("sorted column %q, want Dato", got)
	}
	r.shot(t, ctx, "02-list")
}

func (r *run) filterAndSort(t *testing.T) {
	ctx := r.clinicianTab(t)
	// The loading state: submit the filter form, held back so the page
	// stays, and look at what ui.js did.
	loading := eval[[]string](t, ctx, `(() => {
		const f = document.querySelector("form.filters");
		f.addEventListener("submit", (e) => e.preventDefault(), {once: true});
		f.requestSubmit();
		return [document.getElementById("status").textContent, String(document.querySelector(".results").getAttribute("aria-busy"))]; })()`)
	if len(loading) != 2 || !strings.HasPrefix(loading[0], "Henter") || loading[1] != "true" {
		t.Errorf("no loading state on submit: %q", loading)
	}
	navigate(t, ctx, r.tg.BaseURL+"/ui/")
	total := eval[int](t, ctx, `document.querySelectorAll("#documents tbody tr").length`)
	class := eval[string](t, ctx, `document.querySelector('#kategori option:not([value=""])').value`)
	step(t, ctx, "choosing a category", chromedp.SetValue(chromedp.ID("kategori"), class))
	clickAndLoad(t, ctx, chromedp.ID("apply-filter"))
	if p := path(t, ctx); !strings.Contains(p, "kategori="+url.QueryEscape(class)) {
		t.Errorf("filter form went to %s", p)
	}
	classes := eval[[]string](t, ctx, `Array.from(document.querySelectorAll("#documents tbody tr")).map(tr => tr.dataset.class)`)
	if len(classes) == 0 || len(classes) > total {
		t.Errorf("%d documents after filtering %d", len(classes), total)
	}
	for _, c := range classes {
		if c != class {
			t.Errorf("filter on category %s shows a document of category %s", class, c)
		}
	}
	if s := eval[string](t, ctx, `document.getElementById("status").textContent`); !strings.Contains(s, "Viser") {
		t.Errorf("status %q", s)
	}
	navigate(t, ctx, r.tg.BaseURL+"/ui/")
	clickAndLoad(t, ctx, chromedp.CSS(`a[data-sort="tittel"]`))
	ok := eval[bool](t, ctx, `(() => {
		const t = Array.from(document.querySelectorAll("#documents a.row-link")).map(a => a.textContent.trim().toLowerCase());
		for (let i = 1; i < t.length; i++) if (t[i-1].localeCompare(t[i], "nb") > 0) return false;
		return t.length > 1; })()`)
	if !ok {
		t.Error("sorting by title did not sort A–Å")
	}
	if got := eval[string](t, ctx, `document.querySelector('a[data-sort="tittel"]').closest("th").getAttribute("aria-sort")`); got != "ascending" {
		t.Errorf("aria-sort %q", got)
	}
}

// clickAndLoad clicks the element and waits for the page it loads.
func clickAndLoad[S chromedp.Selectable](t *testing.T, ctx context.Context, sel S) *network.Response {
	t.Helper()
	sctx, cancel := context.WithTimeout(ctx, StepTimeout)
	defer cancel()
	resp, err := chromedp.RunResponse(sctx, chromedp.Click(sel, chromedp.NodeVisible))
	if err != nil {
		t.Fatalf("clicking %v: %v", sel, err)
	}
	return resp
}

// auditViews counts the UI-VIEW rows for a document on the compliance
// search page of the tab ctx.
func (r *run) auditViews(t *testing.T, ctx context.Context, id string) int {
	t.Helper()
	navigate(t, ctx, r.tg.BaseURL+"/ui/audit/?"+url.Values{"dokument": {id}}.Encode())
	waitFor(t, ctx, "audit results", `document.querySelector("#audit-results, #empty-state")`)
	return eval[int](t, ctx, `document.querySelectorAll('#audit-results tr[data-transaction="UI-VIEW"]').length`)
}

func (r *run) openPDF(t *testing.T) {
	ctx := r.clinicianTab(t)
	clickAndLoad(t, ctx, chromedp.CSS(`tr[data-mime^="application/pdf"] a.row-link`))
	if p := path(t, ctx); !strings.HasPrefix(p, "/ui/document?") {
		t.Fatalf("the link went to %s", p)
	}
	if kind := eval[string](t, ctx, `document.getElementById("doc-content").dataset.kind`); kind != "pdf" {
		t.Fatalf("viewer kind %q", kind)
	}
	waitPDFRendered(t, ctx)
	checkPage(t, ctx, "viewer (PDF)")
	r.shot(t, ctx, "03-viewer-pdf")
}

// waitPDFRendered waits until Chromium's PDF viewer, which shows up as a
// frame of its own origin when it renders the document (a CSP or sandbox
// that blocks it leaves none), says the document has loaded and has
// painted every page thumbnail — the pages themselves are painted before
// their thumbnails.
func waitPDFRendered(t *testing.T, ctx context.Context) {
	t.Helper()
	const rendered = `(() => {
		const deep = (root, sel, out) => { root.querySelectorAll(sel).forEach(e => out.push(e));
			root.querySelectorAll("*").forEach(e => { if (e.shadowRoot) deep(e.shadowRoot, sel, out); }); return out; };
		const v = document.querySelector("pdf-viewer");
		if (!v || v.loadState_ !== "success") return false;
		return deep(document, "viewer-thumbnail", []).every(th => {
			const c = th.shadowRoot && th.shadowRoot.querySelector("canvas"); return c && c.width > 0; });
	})()`
	untilTarget(t, ctx, "waiting for the PDF viewer", "Chromium's PDF viewer did not render the document",
		func(in *target.Info) bool { return strings.HasPrefix(in.URL, pdfViewerURL) },
		func(vctx context.Context) bool {
			sctx, scancel := context.WithTimeout(vctx, 2*time.Second)
			defer scancel()
			done, err := chromedp.Run(sctx, chromedp.Evaluate[bool](rendered))
			return err == nil && done
		})
}

// untilTarget polls the browser's targets until try, run attached to a
// target that match accepts, reports done; the test fails with failure
// when StepTimeout passes first.
func untilTarget(t *testing.T, ctx context.Context, waiting, failure string, match func(*target.Info) bool, try func(tctx context.Context) bool) {
	t.Helper()
	attached := func(in *target.Info) bool {
		tctx, cancel := chromedp.NewContext(ctx, chromedp.WithTargetID(in.TargetID), chromedp.WithDetachOnCancel())
		defer cancel()
		return try(tctx)
	}
	deadline := time.Now().Add(StepTimeout)
	for {
		infos, err := chromedp.Targets(ctx)
		if err != nil {
			t.Fatal(err)
		}
		for _, in := range infos {
			if match(in) && attached(in) {
				return
			}
		}
		if time.Now().After(deadline) {
			t.Fatal(failure)
		}
		step(t, ctx, waiting, chromedp.Sleep(100*time.Millisecond))
	}
}

// frameText returns the text of sel in the viewer's content frame. The
// frame is sandboxed (an opaque origin the page cannot read, which
// Chromium runs as a target of its own), so it is read through the
// DevTools protocol.
func frameText(t *testing.T, ctx context.Context, sel string) string {
	t.Helper()
	src := eval[string](t, ctx, `document.getElementById("doc-content").src`)
	var txt string
	untilTarget(t, ctx, "waiting for the content frame", "no frame target for "+src,
		func(in *target.Info) bool { return in.Type == "iframe" && in.URL == src },
		func(fctx context.Context) bool {
			sctx, scancel := context.WithTimeout(fctx, StepTimeout)
			defer scancel()
			var err error
			txt, err = chromedp.Run(sctx, chromedp.Evaluate[string](`(() => { const e = document.querySelector(`+jsString(sel)+`); return e ? e.textContent : ""; })()`))
			if err != nil {
				t.Fatalf("reading %s in the content frame: %v", sel, err)
			}
			return true
		})
	return txt
}

func (r *run) openText(t *testing.T) {
	ctx := r.clinicianTab(t)
	docs := r.listed(t, ctx)
	clickAndLoad(t, ctx, chromedp.CSS(`tr[data-mime^="text/plain"] a.row-link`))
	if kind := eval[string](t, ctx, `document.getElementById("doc-content").dataset.kind`); kind != "text" {
		t.Fatalf("viewer kind %q", kind)
	}
	if txt := frameText(t, ctx, "pre"); len(strings.TrimSpace(txt)) == 0 {
		t.Error("the text document is empty in the viewer")
	}
	checkPage(t, ctx, "viewer (text)")
	r.shot(t, ctx, "04-viewer-text")

	if docs.xml.ID == "" {
		t.Log("no XML document for this patient; the escaping check is skipped")
		return
	}
	title := eval[string](t, ctx, `document.title`)
	navigate(t, ctx, r.abs(docs.xml.Href))
	txt := frameText(t, ctx, "pre")
	if !strings.Contains(txt, "<") {
		t.Error("the XML is not shown as its source text")
	}
	step(t, ctx, "letting scripts run, if any could", chromedp.Sleep(300*time.Millisecond))
	if got := eval[string](t, ctx, `document.title`); got == "XSS" || got == title {
		t.Errorf("a script in the XML document ran, or the viewer did not open it (title %q)", got)
	}
	if frameTitle := frameText(t, ctx, "title"); frameTitle == "XSS" {
		t.Error("a script in the XML document ran in the content frame")
	}
	r.shot(t, ctx, "04b-viewer-xml")
}

// viewsAudited counts a document's UI-VIEW records on the compliance
// screen before and after the clinician views it once.
func (r *run) viewsAudited(t *testing.T) {
	comp := r.complianceTab(t)
	ctx := r.clinicianTab(t)
	docs := r.listed(t, ctx)
	for _, d := range []docLink{docs.pdf, docs.text} {
		before := r.auditViews(t, comp, d.ID)
		navigate(t, ctx, r.abs(d.Href))
		if eval[string](t, ctx, `document.getElementById("doc-content").dataset.kind`) == "pdf" {
			waitPDFRendered(t, ctx)
		} else {
			frameText(t, ctx, "pre")
		}
		if got, want := r.auditViews(t, comp, d.ID), before+1; got != want {
			t.Errorf("%q: %d UI-VIEW records after one view, want %d (every view is exactly one audited retrieval)", d.Title, got, want)
		}
	}
}

func activeIs(t *testing.T, ctx context.Context, sel string) bool {
	return eval[bool](t, ctx, `!!document.activeElement && document.activeElement.matches(`+jsString(sel)+`)`)
}

func press(t *testing.T, ctx context.Context, key string) {
	t.Helper()
	step(t, ctx, "pressing a key", chromedp.KeyEvent(key))
}

func (r *run) keyboard(t *testing.T) {
	ctx := r.clinicianTab(t)
	eval[chromedp.Void](t, ctx, `document.activeElement && document.activeElement.blur()`)
	press(t, ctx, kb.Tab)
	if !activeIs(t, ctx, "a.skip-link") {
		t.Fatal("the first Tab does not reach the skip link")
	}
	if top := eval[float64](t, ctx, `document.activeElement.getBoundingClientRect().top`); top < 0 {
		t.Error("the focused skip link is not visible")
	}
	press(t, ctx, kb.Enter)
	waitFor(t, ctx, "focus on main", `document.activeElement && document.activeElement.id === "main"`)
	reached := false
	for range 60 {
		press(t, ctx, kb.Tab)
		focusVisible := eval[bool](t, ctx, `(() => { const s = getComputedStyle(document.activeElement);
			return (s.outlineStyle !== "none" && parseFloat(s.outlineWidth) > 0) || s.boxShadow !== "none"; })()`)
		if !focusVisible {
			t.Errorf("no visible focus on %s", eval[string](t, ctx, `document.activeElement.outerHTML.slice(0, 100)`))
		}
		if activeIs(t, ctx, "#documents a.row-link") {
			reached = true
			break
		}
	}
	if !reached {
		t.Fatal("Tab never reached the first document")
	}
	first := eval[string](t, ctx, `document.activeElement.textContent`)
	press(t, ctx, kb.ArrowDown)
	second := eval[string](t, ctx, `document.activeElement.textContent`)
	if !activeIs(t, ctx, "#documents a.row-link") || second == first {
		t.Fatal("ArrowDown did not move to the next document")
	}
	r.shot(t, ctx, "05-keyboard-focus")
	sctx, cancel := context.WithTimeout(ctx, StepTimeout)
	_, err := chromedp.RunResponse(sctx, chromedp.KeyEvent(kb.Enter))
	cancel()
	if err != nil {
		t.Fatalf("Enter on a document: %v", err)
	}
	if p := path(t, ctx); !strings.HasPrefix(p, "/ui/document?") {
		t.Fatalf("Enter went to %s", p)
	}
	reached = false
	for range 10 {
		press(t, ctx, kb.Tab)
		if activeIs(t, ctx, "#back-link") {
			reached = true
			break
		}
	}
	if !reached {
		t.Fatal("Tab never reached the back link in the viewer")
	}
	sctx, cancel = context.WithTimeout(ctx, StepTimeout)
	_, err = chromedp.RunResponse(sctx, chromedp.KeyEvent(kb.Enter))
	cancel()
	if err != nil {
		t.Fatal(err)
	}
	if p := path(t, ctx); p != "/ui/" {
		t.Errorf("the back link went to %s", p)
	}
}

func (r *run) narrow(t *testing.T) {
	ctx := r.clinicianTab(t)
	step(t, ctx, "narrowing the viewport", chromedp.EmulateViewport(360, 740))
	defer step(t, ctx, "restoring the viewport", chromedp.EmulateViewport(1280, 900))
	navigate(t, ctx, r.tg.BaseURL+"/ui/")
	waitFor(t, ctx, "the list", `document.querySelector("#documents")`)
	if w := eval[int](t, ctx, `document.documentElement.scrollWidth`); w > 360 {
		t.Errorf("the list is %d px wide in a 360 px frame (horizontal scrolling)", w)
	}
	checkPage(t, ctx, "list at 360 px")
	r.res.Screenshots["06-list-360"] = r.b.FullScreenshot(t, ctx, "06-list-360")
}

// complianceSearch: the clinician looks at the patient's list, and the
// compliance officer finds that in the log and exports it.
func (r *run) complianceSearch(t *testing.T) {
	clinician := r.listed(t, r.clinicianTab(t)).clinician
	ctx := r.complianceTab(t)
	navigate(t, ctx, r.tg.BaseURL+"/ui/audit/")
	step(t, ctx, "typing the patient", chromedp.SendKeys(chromedp.ID("pasient"), r.tg.Patient))
	clickAndLoad(t, ctx, chromedp.ID("search-button"))
	patients := eval[[]string](t, ctx, `Array.from(document.querySelectorAll('#audit-results td[data-label="Pasient"]')).map(td => td.textContent.replace(/\s/g, ""))`)
	if len(patients) == 0 {
		t.Fatal("the search found nothing")
	}
	for _, p := range patients {
		if p != r.tg.Patient {
			t.Errorf("a row for patient %s in a search for %s", p, r.tg.Patient)
		}
	}
	if clinician == "" || !eval[bool](t, ctx, `document.getElementById("audit-results").textContent.includes(`+jsString(clinician)+`)`) {
		t.Errorf("the clinician %q is not in the log", clinician)
	}
	checkPage(t, ctx, "compliance search")
	r.shot(t, ctx, "07-compliance-search")

	// The export, downloaded by the browser.
	dir := filepath.Join(r.b.Artifacts(), "downloads")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	bctx := chromedp.FromContext(ctx).BrowserContextID
	sctx, cancel := context.WithTimeout(ctx, StepTimeout)
	defer cancel()
	if _, err := chromedp.CallBrowser(sctx, browser.SetDownloadBehavior, browser.SetDownloadBehaviorParams{
		Behavior: browser.SetDownloadBehaviorBehaviorAllowAndName, BrowserContextID: bctx, DownloadPath: dir, EventsEnabled: ptr(true),
	}); err != nil {
		t.Fatalf("allowing downloads: %v", err)
	}
	progress := chromedp.BrowserEvents(sctx, browser.DownloadProgress)
	step(t, ctx, "clicking export", chromedp.Click(chromedp.ID("export-link"), chromedp.NodeVisible))
	var file string
	for ev, err := range progress {
		if err != nil {
			t.Fatalf("waiting for the download: %v", err)
		}
		if ev.State == browser.DownloadProgressStateCompleted {
			file = filepath.Join(dir, ev.GUID)
			break
		}
		if ev.State == browser.DownloadProgressStateCanceled {
			t.Fatal("the download was cancelled")
		}
	}
	r.checkExportHeaders(t, ctx)
	data, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	r.res.ExportCSV = data
	_ = os.WriteFile(filepath.Join(r.b.Artifacts(), "compliance-export.csv"), data, 0o644)
	recs, err := csv.NewReader(strings.NewReader(string(data))).ReadAll()
	if err != nil {
		t.Fatalf("the export is not CSV: %v", err)
	}
	if len(recs) < 2 || recs[0][0] != "Tidspunkt" {
		t.Fatalf("export: %d records, header %q", len(recs), recs[0])
	}
	col := -1
	for i, h := range recs[0] {
		if h == "Pasient" {
			col = i
		}
	}
	for _, rec := range recs[1:] {
		if rec[col] != r.tg.Patient {
			t.Errorf("exported row for patient %s", rec[col])
		}
	}
	if len(recs)-1 < len(patients) {
		t.Errorf("the export has %d rows, the search page %d", len(recs)-1, len(patients))
	}
}

// checkExportHeaders fetches the export link with the browser's own
// session cookie (a download shows no response to the page) and checks
// how it is served.
func (r *run) checkExportHeaders(t *testing.T, ctx context.Context) {
	t.Helper()
	href := eval[string](t, ctx, `document.getElementById("export-link").href`)
	sctx, cancel := context.WithTimeout(ctx, StepTimeout)
	defer cancel()
	cookies, err := chromedp.Call(sctx, network.GetCookies, network.GetCookiesParams{URLs: []string{href}})
	if err != nil {
		t.Fatalf("reading the session cookie: %v", err)
	}
	req, err := http.NewRequestWithContext(sctx, http.MethodGet, href, nil)
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range cookies.Cookies {
		req.AddCookie(&http.Cookie{Name: c.Name, Value: c.Value})
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	_, _ = io.Copy(io.Discard, resp.Body)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("export: %s", resp.Status)
	}
	if ct := resp.Header.Get("Content-Type"); ct != "text/csv; charset=utf-8" {
		t.Errorf("export Content-Type %q", ct)
	}
	if cd := resp.Header.Get("Content-Disposition"); !strings.HasPrefix(cd, "attachment;") {
		t.Errorf("export Content-Disposition %q", cd)
	}
}

func header(h network.Headers, name string) any {
	for k, v := range h {
		if strings.EqualFold(k, name) {
			return v
		}
	}
	return nil
}

func ptr[T any](v T) *T { return &v }

func (r *run) flaggedAndChain(t *testing.T) {
	ctx := r.complianceTab(t)
	navigate(t, ctx, r.tg.BaseURL+"/ui/audit/flagged")
	waitFor(t, ctx, "the queue", `document.querySelector("#flagged-list, #empty-state")`)
	checkPage(t, ctx, "flagged accesses")
	r.shot(t, ctx, "08-flagged")
	navigate(t, ctx, r.tg.BaseURL+"/ui/audit/chain")
	if ok := eval[string](t, ctx, `document.getElementById("chain-status").dataset.ok`); ok != "true" {
		t.Errorf("the audit chain does not verify (data-ok=%q)", ok)
	}
	checkPage(t, ctx, "chain")
	r.shot(t, ctx, "09-chain")
}

// citizen: the clinician looks at the patient's list, and the patient
// sees that in their access log.
func (r *run) citizen(t *testing.T) {
	clinician := r.listed(t, r.clinicianTab(t)).clinician
	ctx := r.b.Tab(t)
	r.openAs(t, ctx, r.tg.Citizen, r.tg.Patient, "#access-log, #empty-state")
	navigate(t, ctx, r.tg.BaseURL+"/ui/citizen/")
	waitFor(t, ctx, "the access log", `document.querySelector("#access-log")`)
	if clinician == "" || !eval[bool](t, ctx, `document.getElementById("access-log").textContent.includes(`+jsString(clinician)+`)`) {
		t.Errorf("the citizen does not see that %q looked", clinician)
	}
	checkPage(t, ctx, "citizen")
	r.shot(t, ctx, "10-citizen")
}

// citizenTab opens a tab of t's own with a session of the citizen, on
// the citizen page.
func (r *run) citizenTab(t *testing.T) context.Context {
	t.Helper()
	ctx := r.launchedTab(t, r.tg.Citizen, r.tg.Patient)
	waitFor(t, ctx, "the citizen page", `location.pathname === "/ui/citizen/" && document.querySelector("#blocks-heading")`)
	return ctx
}

// blockAllSharing makes a block of all sharing with the page's own
// button, so the page has a block to show, and returns the CSS selector
// of its «Fjern sperringen» button. When t ends the block is revoked if
// it is still there, so the other flows (the clinician's list, the other
// block flow) never depend on how this one went.
func (r *run) blockAllSharing(t *testing.T, ctx context.Context) string {
	t.Helper()
	const ids = `Array.from(document.querySelectorAll('#blocks input[name="id"]')).map(i => i.value)`
	before := eval[[]string](t, ctx, ids)
	if !eval[bool](t, ctx, `!!document.getElementById("block-all")`) {
		t.Fatal("the citizen page offers no «Sperr all deling» (is all sharing blocked already?)")
	}
	clickAndLoad(t, ctx, chromedp.ID("block-all"))
	waitFor(t, ctx, "the new block in the list", `document.querySelectorAll('#blocks input[name="id"]').length > `+fmt.Sprint(len(before)))
	var made string
	for _, id := range eval[[]string](t, ctx, ids) {
		if !slices.Contains(before, id) {
			made = id
		}
	}
	if made == "" {
		t.Fatal("no new block in the list")
	}
	button := `#blocks input[name="id"][value=` + jsString(made) + `] ~ button`
	t.Cleanup(func() {
		if eval[bool](t, ctx, `!!document.querySelector(`+jsString(button)+`)`) {
			clickAndLoad(t, ctx, button)
		}
	})
	return button
}

// citizenBlocks: the citizen page with a block passes the accessibility
// and contrast checks and names what each «Fjern sperringen» removes.
func (r *run) citizenBlocks(t *testing.T) {
	ctx := r.citizenTab(t)
	button := r.blockAllSharing(t, ctx)
	if got := eval[string](t, ctx, `document.querySelector(`+jsString(button)+`).getAttribute("aria-label") || ""`); got != "Fjern sperringen av all deling" {
		t.Errorf("the new block's button is labelled %q", got)
	}
	if got := eval[string](t, ctx, `document.getElementById("blocks-status").textContent.trim()`); got != "All deling av dokumentene dine er sperret." {
		t.Errorf("status after blocking: %q", got)
	}
	for _, name := range eval[[]string](t, ctx, `Array.from(document.querySelectorAll("#blocks button")).map(b => b.getAttribute("aria-label") || "")`) {
		if !strings.HasPrefix(name, "Fjern sperringen av ") {
			t.Errorf("a revoke button is labelled %q, not by the block it removes", name)
		}
	}
	checkPage(t, ctx, "citizen page with blocks")
	r.shot(t, ctx, "11-citizen-blocks")
}

// citizenRevokeKeyboard: the citizen revokes a block with Tab and Enter
// alone, and the page says so in its status region.
func (r *run) citizenRevokeKeyboard(t *testing.T) {
	ctx := r.citizenTab(t)
	button := r.blockAllSharing(t, ctx)
	eval[chromedp.Void](t, ctx, `document.activeElement && document.activeElement.blur()`)
	reached := false
	for range 40 {
		press(t, ctx, kb.Tab)
		if activeIs(t, ctx, button) {
			reached = true
			break
		}
	}
	if !reached {
		t.Fatal("Tab never reached «Fjern sperringen» of the new block")
	}
	if !eval[bool](t, ctx, `(() => { const s = getComputedStyle(document.activeElement);
		return (s.outlineStyle !== "none" && parseFloat(s.outlineWidth) > 0) || s.boxShadow !== "none"; })()`) {
		t.Error("no visible focus on «Fjern sperringen»")
	}
	sctx, cancel := context.WithTimeout(ctx, StepTimeout)
	_, err := chromedp.RunResponse(sctx, chromedp.KeyEvent(kb.Enter))
	cancel()
	if err != nil {
		t.Fatalf("Enter on «Fjern sperringen»: %v", err)
	}
	waitFor(t, ctx, "the status", `document.getElementById("blocks-status").textContent.trim() === "Sperringen er fjernet."`)
	if eval[bool](t, ctx, `!!document.querySelector(`+jsString(button)+`)`) {
		t.Error("the block is still listed after it was revoked")
	}
	if p := path(t, ctx); p != "/ui/citizen/?melding=fjernet" {
		t.Errorf("after the revocation the page is %s", p)
	}
}

func (r *run) headers(t *testing.T) {
	ctx := r.clinicianTab(t)
	docs := r.listed(t, ctx)
	check := func(path string, wantScript bool) {
		sctx, cancel := context.WithTimeout(ctx, StepTimeout)
		defer cancel()
		resp, err := chromedp.Run(sctx, chromedp.NavigateResponse(r.tg.BaseURL+path))
		if err != nil {
			t.Fatalf("%s: %v", path, err)
		}
		csp := fmt.Sprint(header(resp.Headers, "Content-Security-Policy"))
		if !strings.Contains(csp, "frame-ancestors 'self'") || !strings.Contains(csp, "default-src 'none'") || strings.Contains(csp, "unsafe-") {
			t.Errorf("%s: CSP %q", path, csp)
		}
		if hasScript := strings.Contains(csp, "script-src 'self'"); hasScript != wantScript {
			t.Errorf("%s: script-src 'self' present = %v (CSP %q)", path, hasScript, csp)
		}
		for k, v := range map[string]string{"X-Content-Type-Options": "nosniff", "Referrer-Policy": "no-referrer", "Cache-Control": "no-store"} {
			if got := fmt.Sprint(header(resp.Headers, k)); got != v {
				t.Errorf("%s: %s %q, want %q", path, k, got, v)
			}
		}
	}
	check("/ui/", true)
	check("/ui/content?"+url.Values{"id": {docs.text.ID}}.Encode(), false)
}

// frameAncestors embeds the UI in a page of another origin and expects
// Chromium to refuse the frame.
func (r *run) frameAncestors(t *testing.T) {
	ctx := r.clinicianTab(t)
	foreign := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		fmt.Fprintf(w, `<!doctype html><html lang="en"><title>foreign</title><iframe id="f" title="x" src="%s/ui/"></iframe>`, r.tg.BaseURL)
	}))
	defer foreign.Close()
	sctx, cancel := context.WithTimeout(ctx, StepTimeout)
	defer cancel()
	messages := chromedp.Console(sctx)
	navigate(t, ctx, foreign.URL)
	for m, err := range messages {
		if err != nil {
			t.Fatalf("no frame-ancestors refusal seen: %v", err)
		}
		if strings.Contains(m.Text, "frame-ancestors") {
			t.Logf("refused as expected: %s", m.Text)
			break
		}
	}
}

func (r *run) singleUse(t *testing.T) {
	sctx, cancel := context.WithTimeout(context.Background(), StepTimeout)
	defer cancel()
	launch, err := r.tg.Launch(sctx, r.tg.Clinician, r.tg.Patient)
	if err != nil {
		t.Fatalf("launch: %v", err)
	}
	launch = r.abs(launch)
	if !regexp.MustCompile(`/ui/launch/[A-Za-z0-9_-]{43}$`).MatchString(launch) {
		t.Errorf("launch URL %s does not carry a 256-bit token", launch)
	}
	ctx := r.b.Tab(t)
	nctx, ncancel := context.WithTimeout(ctx, StepTimeout)
	resp, err := chromedp.Run(nctx, chromedp.NavigateResponse(launch))
	ncancel()
	if err != nil || resp.Status != 200 {
		t.Fatalf("first use: %v %v", resp, err)
	}
	waitFor(t, ctx, "the list after launch", `location.pathname === "/ui/" && document.querySelector("#documents, #empty-state")`)
	nctx, ncancel = context.WithTimeout(ctx, StepTimeout)
	resp, err = chromedp.Run(nctx, chromedp.NavigateResponse(launch))
	ncancel()
	if err != nil {
		t.Fatal(err)
	}
	if resp.Status != 404 {
		t.Errorf("second use answered %d, want 404", resp.Status)
	}
	if h1 := eval[string](t, ctx, `document.querySelector("h1").textContent`); h1 != "Lenken er ikke gyldig" {
		t.Errorf("second use shows %q", h1)
	}
	r.shot(t, ctx, "11-launch-refused")
}
