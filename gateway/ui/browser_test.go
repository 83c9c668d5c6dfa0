package ui_test

import (
	"bytes"
	"flag"
	"image"
	"image/png"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"pjd/gateway/ui/uitest"
)

var updateScreenshots = flag.Bool("update-screenshots", false, "rewrite gateway/ui/screenshots from the browser test")

// TestBrowser runs the browser flows in real headless Chromium against
// this package's UI over the test backend (pjd serve --dev runs the same
// flows: see uitest.Run).
func TestBrowser(t *testing.T) {
	if testing.Short() {
		t.Skip("browser test skipped with -short")
	}
	e := newEnv(t)
	// An emergency access by another doctor, so the follow-up queue has
	// something to show.
	e.login("lege-btg", patientKari).get("/ui/")
	tg := uitest.Target{
		BaseURL:    e.srv.URL,
		Patient:    patientKari,
		Clinician:  "lege",
		Compliance: "kontroll",
		Citizen:    "innbygger",
	}
	if *updateScreenshots {
		tg.ReadmeScreenshots = "screenshots"
	}
	res := uitest.Run(t, tg)
	if res == nil || t.Failed() {
		return
	}
	// What the browser did is what the audit log holds.
	views := map[string]int{}
	for _, r := range e.b.auditRows() {
		if r.Transaction == "UI-VIEW" {
			for _, d := range r.Documents {
				views[d.Title]++
			}
		}
	}
	for _, title := range []string{"Epikrise etter innleggelse for lungebetennelse", "Poliklinisk notat, hjertepoliklinikken", "Laboratoriesvar, medisinsk biokjemi"} {
		if views[title] == 0 {
			t.Errorf("no UI-VIEW record for %q", title)
		}
	}
	if !*updateScreenshots {
		compareReadmeScreenshots(t, res.Screenshots)
	}
}

// compareReadmeScreenshots checks that the README's screenshots still
// show what the UI renders: same size, and close pixel for pixel (font
// rendering may differ a little between machines).
func compareReadmeScreenshots(t *testing.T, shots map[string][]byte) {
	t.Helper()
	readme, err := os.ReadFile("README.md")
	if err != nil {
		t.Fatal(err)
	}
	names := make([]string, 0, len(uitest.ReadmeNames))
	for file := range uitest.ReadmeNames {
		names = append(names, file)
	}
	sort.Strings(names)
	for _, file := range names {
		if !strings.Contains(string(readme), "screenshots/"+file) {
			t.Errorf("README.md does not show screenshots/%s", file)
		}
		old, err := os.ReadFile(filepath.Join("screenshots", file))
		if err != nil {
			t.Errorf("%v (run go test ./gateway/ui -run TestBrowser -args -update-screenshots)", err)
			continue
		}
		diff, err := pngDifference(old, shots[uitest.ReadmeNames[file]])
		if err != nil {
			t.Errorf("%s: %v", file, err)
			continue
		}
		if diff > 0.02 {
			t.Errorf("screenshots/%s is out of date: %.1f%% of the pixels differ (run go test ./gateway/ui -run TestBrowser -args -update-screenshots)", file, diff*100)
		}
	}
}

// pngDifference is the share of pixels whose grey level differs by more
// than 48 of 255.
func pngDifference(a, b []byte) (float64, error) {
	ia, err := png.Decode(bytes.NewReader(a))
	if err != nil {
		return 0, err
	}
	ib, err := png.Decode(bytes.NewReader(b))
	if err != nil {
		return 0, err
	}
	if ia.Bounds() != ib.Bounds() {
		return 1, nil
	}
	grey := func(img image.Image, x, y int) int {
		r, g, b, _ := img.At(x, y).RGBA()
		return int((299*r + 587*g + 114*b) / 1000 >> 8)
	}
	bad, total := 0, 0
	bnd := ia.Bounds()
	for y := bnd.Min.Y; y < bnd.Max.Y; y++ {
		for x := bnd.Min.X; x < bnd.Max.X; x++ {
			total++
			if d := grey(ia, x, y) - grey(ib, x, y); d > 48 || d < -48 {
				bad++
			}
		}
	}
	return float64(bad) / float64(total), nil
}
