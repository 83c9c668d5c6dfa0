package ui_test

import (
	"bytes"
	"flag"
	"image"
	"image/color"
	"image/png"
	"math"
	"os"
	"path/filepath"
	"testing"

	"pjd/conformance/pdf"
)

// The binary fixtures (a PDF and a PNG) are generated here so they can be
// reviewed as code; go test -run TestFixtures -update-fixtures rewrites
// them, and TestFixtures fails when the files drift from the generator.
var updateFixtures = flag.Bool("update-fixtures", false, "rewrite the generated files in testdata/ui")

const fixtureDir = "../../testdata/ui"

var generatedFixtures = map[string]func() []byte{
	"epikrise.pdf":       epikrisePDF,
	"rontgen-thorax.png": rontgenPNG,
}

func TestFixtures(t *testing.T) {
	for name, gen := range generatedFixtures {
		want := gen()
		path := filepath.Join(fixtureDir, name)
		if *updateFixtures {
			if err := os.WriteFile(path, want, 0o644); err != nil {
				t.Fatal(err)
			}
			continue
		}
		got, err := os.ReadFile(path)
		if err != nil {
			t.Fatalf("%v (run go test ./gateway/ui -run TestFixtures -update-fixtures)", err)
		}
		if !bytes.Equal(got, want) {
			t.Errorf("%s differs from its generator (run with -update-fixtures)", name)
		}
	}
}

// epikrisePDF is a one-page synthetic discharge summary (the one PDF
// writer, conformance/pdf).
func epikrisePDF() []byte {
	lines := []struct {
		size int
		text string
	}{
		{18, "EPIKRISE"},
		{11, "Fjordby sykehus HF – Medisinsk avdeling"},
		{11, ""},
		{11, "Pasient: Kari Testesen (syntetisk testperson), f.nr. 158382 10012"},
		{11, "Innlagt: 28.10.2025   Utskrevet: 03.11.2025"},
		{11, ""},
		{13, "Diagnose"},
		{11, "J18.9 Lungebetennelse, uspesifisert"},
		{11, ""},
		{13, "Forløp"},
		{11, "Innlagt med feber, hoste og nedsatt allmenntilstand. Røntgen thorax viste"},
		{11, "infiltrat i høyre underlapp. Behandlet med penicillin intravenøst i tre døgn,"},
		{11, "deretter peroralt. God klinisk bedring, CRP falt fra 180 til 25 mg/L."},
		{11, ""},
		{13, "Videre plan"},
		{11, "Fullføre antibiotikakur i totalt sju dager. Kontroll hos fastlege om to uker."},
		{11, ""},
		{11, "Nils Nilsen, overlege"},
	}
	var page pdf.Page
	y := 780
	for _, l := range lines {
		page = append(page, pdf.Line{X: 60, Y: y, Size: l.size, Bold: l.size > 11, Text: l.text})
		y -= l.size + 9
	}
	return pdf.Document{Pages: []pdf.Page{page}}.Bytes()
}

// rontgenPNG is a synthetic grey "chest X-ray": two dark lung fields in
// a lighter body, deterministic.
func rontgenPNG() []byte {
	const w, h = 360, 300
	img := image.NewGray(image.Rect(0, 0, w, h))
	for y := range h {
		for x := range w {
			v := 25.0
			dx := (float64(x) - w/2) / (w * 0.42)
			dy := (float64(y) - h*0.55) / (h * 0.5)
			if dx*dx+dy*dy < 1 {
				v = 175 - 40*(dx*dx+dy*dy)
			}
			for _, cx := range []float64{w * 0.33, w * 0.67} {
				lx := (float64(x) - cx) / (w * 0.14)
				ly := (float64(y) - h*0.52) / (h * 0.33)
				if d := lx*lx + ly*ly; d < 1 {
					v = 60 + 50*d
				}
			}
			if math.Abs(float64(x)-w/2) < 9 && y > 20 {
				v = 215
			}
			if int(y)%23 < 2 && math.Abs(float64(x)-w/2) < 150 && v >= 60 && v < 120 {
				v += 35
			}
			img.SetGray(x, y, color.Gray{Y: uint8(math.Min(v, 255))})
		}
	}
	var buf bytes.Buffer
	if err := (&png.Encoder{CompressionLevel: png.BestCompression}).Encode(&buf, img); err != nil {
		panic(err)
	}
	return buf.Bytes()
}
