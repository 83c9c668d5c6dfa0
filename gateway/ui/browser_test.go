package ui_test

import (
	"bytes"
	"errors"
	"flag"
	"fmt"
	"image"
	"image/png"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"pjd/conformance/testenv"
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
// rendering may differ a little between machines). Each file is a
// subtest; the PDF viewer's is compared only where the fonts the demo PDF
// is drawn with are installed (see pdfFonts).
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
		t.Run("ReadmeScreenshot/"+file, func(t *testing.T) {
			if !strings.Contains(string(readme), "screenshots/"+file) {
				t.Errorf("README.md does not show screenshots/%s", file)
			}
			if file == "viewer-pdf.png" {
				if err := pdfFonts(); err != nil {
					testenv.Unavailable(t, "Liberation Sans (fonts-liberation)",
						fmt.Errorf("%w; Chromium draws the demo PDF's Helvetica with another font, so only the pixel comparison of %s is left out", err, file))
				}
			}
			old, err := os.ReadFile(filepath.Join("screenshots", file))
			if err != nil {
				t.Fatalf("%v (run go test ./gateway/ui -run TestBrowser -args -update-screenshots)", err)
			}
			diff, err := pngDifference(old, shots[uitest.ReadmeNames[file]])
			if err != nil {
				t.Fatalf("%s: %v", file, err)
			}
			if diff > 0.02 {
				t.Errorf("screenshots/%s is out of date: %.1f%% of the pixels differ (run go test ./gateway/ui -run TestBrowser -args -update-screenshots)", file, diff*100)
			}
		})
	}
}

// pdfFonts reports why the fonts the README's PDF screenshot was drawn
// with cannot be had: the demo PDF names Helvetica, which fontconfig
// resolves to Liberation Sans when it is installed (fonts-liberation, as
// .ci/setup installs it) and to DejaVu Sans otherwise, a different picture.
// PJD_TEST_WITHOUT=liberation-fonts treats them as missing.
func pdfFonts() error {
	if err := testenv.Without("liberation-fonts"); err != nil {
		return err
	}
	if out, err := exec.Command("fc-match", "-f", "%{family}", "Helvetica").Output(); err == nil {
		if strings.Contains(string(out), "Liberation Sans") {
			return nil
		}
		return fmt.Errorf("fontconfig draws Helvetica with %q", out)
	}
	for _, dir := range []string{"/usr/share/fonts", "/usr/local/share/fonts"} {
		if m, _ := filepath.Glob(filepath.Join(dir, "*", "*", "LiberationSans-Regular.ttf")); len(m) > 0 {
			return nil
		}
		if m, _ := filepath.Glob(filepath.Join(dir, "*", "LiberationSans-Regular.ttf")); len(m) > 0 {
			return nil
		}
	}
	return errors.New("no LiberationSans-Regular.ttf under /usr/share/fonts or /usr/local/share/fonts")
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
