package uitest

import (
	"net/http"
	"net/http/httptest"
	"slices"
	"testing"
)

// TestAxeRun shows that the axe-core run checkPage does finds violations
// (and only those): a page with a known one per rule, then the same page
// fixed.
func TestAxeRun(t *testing.T) {
	pages := map[string]string{
		"/broken": `<!doctype html><html lang="nb"><head><title>Brutt</title></head><body><main>
<h1>Brutt</h1>
<img src="/x.png">
<div style="width:200px;overflow-x:auto"><div style="width:900px">en lang linje som må rulles sidelengs</div></div>
<p style="color:#aaa;background:#fff">for svak kontrast</p>
</main></body></html>`,
		"/fixed": `<!doctype html><html lang="nb"><head><title>Rett</title></head><body><main>
<h1>Rett</h1>
<img src="/x.png" alt="Et bilde">
<div style="width:200px;overflow-x:auto" tabindex="0" role="region" aria-label="Lang linje"><div style="width:900px">en lang linje som må rulles sidelengs</div></div>
<p style="color:#595959;background:#fff">god nok kontrast</p>
</main></body></html>`,
	}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		page, ok := pages[r.URL.Path]
		if !ok {
			http.NotFound(w, r)
			return
		}
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		_, _ = w.Write([]byte(page))
	}))
	defer srv.Close()
	b := NewBrowser(t, ArtifactsDir(t, "axe"))
	ctx := b.Tab(t)

	navigate(t, ctx, srv.URL+"/broken")
	var ids []string
	for _, v := range axeRun(t, ctx) {
		ids = append(ids, v.ID)
		if v.Impact == "" || v.Help == "" || v.Nodes == 0 || len(v.Targets) == 0 {
			t.Errorf("violation without its details: %+v", v)
		}
	}
	slices.Sort(ids)
	if want := []string{"color-contrast", "image-alt", "scrollable-region-focusable"}; !slices.Equal(ids, want) {
		t.Errorf("axe-core found %q, want %q", ids, want)
	}

	navigate(t, ctx, srv.URL+"/fixed")
	for _, v := range axeRun(t, ctx) {
		t.Errorf("the fixed page: %s", v)
	}
}
