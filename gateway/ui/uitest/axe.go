package uitest

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/chromedp/chromedp"

	"pjd/conformance/services"
	"pjd/conformance/testenv"
)

// AxeVersion is the axe-core release (npm) checkPage runs on every page;
// .ci/setup fetches it, checked against the registry's integrity.
const AxeVersion = "4.10.2"

// axeTags are the rule sets run: WCAG 2.0 and 2.1, levels A and AA.
var axeTags = []string{"wcag2a", "wcag2aa", "wcag21a", "wcag21aa"}

// AxePath finds axe.min.js: $PJD_AXE, then
// CacheDir()/npm/axe-core-VERSION/axe.min.js (where make test's set-up
// puts it). When it is not there the error says where it looked and — when
// the set-up could not fetch it — why.
func AxePath() (string, error) {
	if err := testenv.Without("axe"); err != nil {
		return "", err
	}
	var looked []string
	if p := os.Getenv("PJD_AXE"); p != "" {
		if fi, err := os.Stat(p); err == nil && fi.Mode().IsRegular() {
			return p, nil
		}
		looked = append(looked, "$PJD_AXE="+p+" (missing)")
	}
	dir := filepath.Join(services.CacheDir(), "npm", "axe-core-"+AxeVersion)
	p := filepath.Join(dir, "axe.min.js")
	if fi, err := os.Stat(p); err == nil && fi.Mode().IsRegular() {
		return p, nil
	}
	looked = append(looked, p)
	msg := fmt.Sprintf("axe-core %s not found (looked at %s)", AxeVersion, strings.Join(looked, ", "))
	if why, err := os.ReadFile(dir + ".unavailable"); err == nil && len(bytes.TrimSpace(why)) > 0 {
		msg += "; " + string(bytes.TrimSpace(why))
	} else {
		msg += "; make test's set-up fetches it (.ci/setup)"
	}
	return "", errors.New(msg)
}

var axeSource = sync.OnceValues(func() (string, error) {
	p, err := AxePath()
	if err != nil {
		return "", err
	}
	b, err := os.ReadFile(p)
	if err != nil {
		return "", err
	}
	if !bytes.Contains(b[:min(len(b), 200)], []byte("axe v"+AxeVersion)) {
		return "", fmt.Errorf("%s is not axe-core %s", p, AxeVersion)
	}
	return string(b), nil
})

// axeViolation is one rule an axe run found broken, with the first nodes.
type axeViolation struct {
	ID      string   `json:"id"`
	Impact  string   `json:"impact"`
	Help    string   `json:"help"`
	Nodes   int      `json:"nodes"`
	Targets []string `json:"targets"`
}

func (v axeViolation) String() string {
	return fmt.Sprintf("%s (%s): %s — %d node(s), e.g. %s", v.ID, v.Impact, v.Help, v.Nodes, strings.Join(v.Targets, "; "))
}

// axeRun injects axe-core into the tab's page (once per document) and runs
// the WCAG 2.0/2.1 A and AA rules on it. Frames are not entered
// (iframes: false): the pages pjd frames are its own, checked on their own
// by the flows, and Chromium's PDF viewer is not pjd's.
func axeRun(tb testing.TB, ctx context.Context) []axeViolation {
	tb.Helper()
	src, err := axeSource()
	if err != nil {
		tb.Fatalf("axe-core: %v", err)
	}
	if !eval[bool](tb, ctx, `typeof window.axe === "object" && window.axe.version === `+jsString(AxeVersion)) {
		sctx, cancel := context.WithTimeout(ctx, StepTimeout)
		defer cancel()
		ok, err := chromedp.Run(sctx, chromedp.Evaluate[bool](src+"\n;typeof window.axe === \"object\" && window.axe.version === "+jsString(AxeVersion)))
		if err != nil || !ok {
			tb.Fatalf("injecting axe-core %s: %v (loaded: %v)", AxeVersion, err, ok)
		}
	}
	tags, _ := json.Marshal(axeTags)
	expr := `axe.run(document, {runOnly: {type: "tag", values: ` + string(tags) + `}, iframes: false, resultTypes: ["violations"]})
	.then(r => r.violations.map(v => ({
		id: v.id, impact: v.impact || "", help: v.help, nodes: v.nodes.length,
		targets: v.nodes.slice(0, 3).map(n => n.target.join(" ")),
	})))`
	sctx, cancel := context.WithTimeout(ctx, StepTimeout)
	defer cancel()
	vs, err := chromedp.Run(sctx, chromedp.Evaluate[[]axeViolation](expr, chromedp.EvalAwaitPromise))
	if err != nil {
		tb.Fatalf("running axe-core: %v", err)
	}
	return vs
}
