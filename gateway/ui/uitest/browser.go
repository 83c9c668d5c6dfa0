// Package uitest drives pjd's embeddable UI in a real headless Chromium
// (chromedp): the launch through a host page, the document list, filters
// and sorting, the viewer (PDF and text), keyboard-only use, a 360 px
// frame, the compliance screens and CSV export, the citizen page, the
// security headers, frame-ancestors enforcement and the single-use launch
// URL. Run drives any pjd that serves the demo host: the UI package's
// own tests point it at an httptest server over an in-test backend, and
// the same flows run against a real `pjd serve --dev` URL.
//
// Screenshots are saved under $PJD_ARTIFACTS (default: a temporary
// directory). Every page is checked with axe-core (npm, version
// AxeVersion, fetched by .ci/setup into the cache, or $PJD_AXE) and the
// project's own scripts (js/). When Chromium or axe-core is missing the
// tests skip, or fail when services are required (CI=true), through
// testenv.Unavailable.
//
// uitest must never import pjd/gateway/ui: it knows the UI only through
// HTTP and the DOM, like a user.
package uitest

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"pjd/conformance/testenv"
)

// Timeouts: one step (a navigation, a wait) and a whole browser.
const (
	StepTimeout    = 20 * time.Second
	BrowserTimeout = 5 * time.Minute
)

// ChromiumPath finds Chromium: $PJD_CHROMIUM, /usr/bin/chromium, or
// chromium / chromium-browser / google-chrome on PATH.
func ChromiumPath() (string, error) {
	if err := testenv.Without("chromium"); err != nil {
		return "", err
	}
	if p := os.Getenv("PJD_CHROMIUM"); p != "" {
		if _, err := os.Stat(p); err != nil {
			return "", fmt.Errorf("PJD_CHROMIUM: %w", err)
		}
		return p, nil
	}
	if _, err := os.Stat("/usr/bin/chromium"); err == nil {
		return "/usr/bin/chromium", nil
	}
	for _, name := range []string{"chromium", "chromium-browser", "google-chrome"} {
		if p, err := exec.LookPath(name); err == nil {
			return p, nil
		}
	}
	return "", errors.New("chromium not found (apt-get install chromium, or set PJD_CHROMIUM)")
}

// ArtifactsDir is where screenshots and downloads go: $PJD_ARTIFACTS/<name>,
// or a new temporary directory, removed when tb passes and kept (its path
// is logged) when it fails, so the screenshots of a failed run can be
// looked at.
func ArtifactsDir(tb testing.TB, name string) string {
	tb.Helper()
	base := os.Getenv("PJD_ARTIFACTS")
	if base == "" {
		dir, err := os.MkdirTemp("", "pjd-"+name+"-")
		if err != nil {
			tb.Fatalf("artifacts directory: %v", err)
		}
		tb.Cleanup(func() {
			if tb.Failed() {
				tb.Logf("artifacts kept in %s (set PJD_ARTIFACTS to choose)", dir)
				return
			}
			_ = os.RemoveAll(dir)
		})
		return dir
	}
	if abs, err := filepath.Abs(base); err == nil {
		base = abs
	}
	dir := filepath.Join(base, name)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		tb.Fatalf("artifacts directory: %v", err)
	}
	return dir
}

// Browser is one headless Chromium with a fresh profile.
type Browser struct {
	ctx       context.Context // the browser's first tab; parent of every Tab
	artifacts string
	tb        testing.TB
}

// NewBrowser starts Chromium for tb and stops it when tb ends. Screenshots
// go to artifacts.
func NewBrowser(tb testing.TB, artifacts string) *Browser {
	tb.Helper()
	path, err := ChromiumPath()
	if err != nil {
		testenv.Unavailable(tb, "chromium", err)
		return nil
	}
	// Every page is checked with axe-core: without it the browser tests
	// cannot run.
	if _, err := axeSource(); err != nil {
		testenv.Unavailable(tb, "axe-core "+AxeVersion, err)
		return nil
	}
	profile, err := os.MkdirTemp("", "pjd-chromium-")
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { _ = os.RemoveAll(profile) })
	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(path),
		chromedp.Headless,
		chromedp.NoSandbox,
		chromedp.DisableGPU,
		chromedp.NoFirstRun,
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.Flag("font-render-hinting", "none"),
		chromedp.UserDataDir(profile),
		chromedp.WindowSize(1280, 900),
	)
	life, stop := context.WithTimeout(context.Background(), BrowserTimeout)
	actx, cancelAlloc := chromedp.NewExecAllocator(life, opts...)
	ctx, cancelCtx := chromedp.NewContext(actx, chromedp.WithLogf(func(string, ...any) {}))
	tb.Cleanup(func() { cancelCtx(); cancelAlloc(); stop() })
	if err := chromedp.Do(ctx); err != nil { // start it, with no step timeout
		if testenv.Required() {
			tb.Fatalf("starting chromium %s: %v", path, err)
		}
		testenv.Unavailable(tb, "chromium", fmt.Errorf("starting %s: %w", path, err))
		return nil
	}
	return &Browser{ctx: ctx, artifacts: artifacts, tb: tb}
}

// Tab opens a tab in a new, empty browser context (its own cookies), as
// a different person's browser would be.
func (b *Browser) Tab(tb testing.TB) context.Context {
	tb.Helper()
	ctx, cancel := chromedp.NewContext(b.ctx, chromedp.WithNewBrowserContext())
	tb.Cleanup(cancel)
	if err := chromedp.Do(ctx, chromedp.EmulateViewport(1280, 900)); err != nil {
		tb.Fatalf("opening a tab: %v", err)
	}
	return ctx
}

// Artifacts is the directory screenshots are written to.
func (b *Browser) Artifacts() string { return b.artifacts }

// Screenshot saves the tab's viewport as name (".png" added) and returns
// the PNG.
func (b *Browser) Screenshot(tb testing.TB, ctx context.Context, name string) []byte {
	tb.Helper()
	return b.screenshot(tb, ctx, name, chromedp.CaptureScreenshot())
}

// FullScreenshot saves the whole page, not only the viewport.
func (b *Browser) FullScreenshot(tb testing.TB, ctx context.Context, name string) []byte {
	tb.Helper()
	return b.screenshot(tb, ctx, name, chromedp.FullScreenshot(100))
}

// maxShots bounds the pictures a screenshot takes to see the page settle.
const maxShots = 20

func (b *Browser) screenshot(tb testing.TB, ctx context.Context, name string, action chromedp.Action[[]byte]) []byte {
	tb.Helper()
	// The page's images are in (navigations wait for its load event); its
	// fonts too once document.fonts says so. Then whatever is still being
	// painted has settled when two pictures in a row are the same.
	waitFor(tb, ctx, "the page's fonts", `document.fonts.status === "loaded"`)
	sctx, cancel := context.WithTimeout(ctx, StepTimeout)
	defer cancel()
	var png []byte
	for i := 0; ; i++ {
		shot, err := chromedp.Run(sctx, action)
		if err != nil {
			tb.Fatalf("screenshot %s: %v", name, err)
		}
		if bytes.Equal(shot, png) {
			break
		}
		png = shot
		if i == maxShots {
			tb.Logf("screenshot %s: the page was still changing after %d pictures", name, maxShots)
			break
		}
	}
	path := filepath.Join(b.artifacts, name+".png")
	if err := os.WriteFile(path, png, 0o644); err != nil {
		tb.Fatal(err)
	}
	tb.Logf("screenshot: %s", path)
	return png
}

// step runs actions with the step timeout.
func step(tb testing.TB, ctx context.Context, what string, actions ...chromedp.Action[chromedp.Void]) {
	tb.Helper()
	sctx, cancel := context.WithTimeout(ctx, StepTimeout)
	defer cancel()
	if err := chromedp.Do(sctx, actions...); err != nil {
		tb.Fatalf("%s: %v", what, err)
	}
}

// eval evaluates a JavaScript expression with the step timeout.
func eval[T any](tb testing.TB, ctx context.Context, expr string) T {
	tb.Helper()
	sctx, cancel := context.WithTimeout(ctx, StepTimeout)
	defer cancel()
	v, err := chromedp.Run(sctx, chromedp.Evaluate[T](expr))
	if err != nil {
		tb.Fatalf("evaluating %.80q: %v", expr, err)
	}
	return v
}

// waitFor polls a JavaScript condition every 100 ms until it is true; it
// survives navigations (a page moving on by itself, a form submit).
func waitFor(tb testing.TB, ctx context.Context, what, expr string) {
	tb.Helper()
	deadline := time.Now().Add(StepTimeout)
	var last error
	for time.Now().Before(deadline) {
		sctx, cancel := context.WithTimeout(ctx, 2*time.Second)
		ok, err := chromedp.Run(sctx, chromedp.Evaluate[bool](`(() => { try { return !!(`+expr+`); } catch (e) { return false; } })()`))
		cancel()
		if err == nil && ok {
			return
		}
		last = err
		if err := chromedp.Do(ctx, chromedp.Sleep(100*time.Millisecond)); err != nil {
			break
		}
	}
	sctx, cancel := context.WithTimeout(ctx, 2*time.Second)
	url, _ := chromedp.Run(sctx, chromedp.Location())
	cancel()
	tb.Fatalf("waiting for %s at %s: timed out (last error %v)", what, url, last)
}

// navigate loads url and waits for its load event.
func navigate(tb testing.TB, ctx context.Context, url string) {
	tb.Helper()
	step(tb, ctx, "navigating to "+url, chromedp.Navigate(url))
}

// path returns the tab's location path and query.
func path(tb testing.TB, ctx context.Context) string {
	return eval[string](tb, ctx, `location.pathname + location.search`)
}

func jsString(s string) string {
	r := strings.NewReplacer(`\`, `\\`, `"`, `\"`, "\n", `\n`, "\r", `\r`, "<", `\u003c`)
	return `"` + r.Replace(s) + `"`
}
