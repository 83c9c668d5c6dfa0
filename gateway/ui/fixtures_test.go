package ui_test

import (
	"bytes"
	"flag"
	"fmt"
	"image"
	"image/color"
	"image/png"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"
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

// latin1 encodes s for a PDF string in WinAnsiEncoding, escaping ( ) \.
func latin1(s string) string {
	var b strings.Builder
	for _, r := range s {
		switch {
		case r == '(' || r == ')' || r == '\\':
			b.WriteByte('\\')
			b.WriteRune(r)
		case r == '–':
			b.WriteByte(0x96)
		case r < 0x100:
			b.WriteByte(byte(r))
		default:
			b.WriteByte('?')
		}
	}
	return b.String()
}

// epikrisePDF is a one-page synthetic discharge summary, a valid PDF 1.4
// with correct cross-reference offsets.
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
	var content strings.Builder
	y := 780
	for _, l := range lines {
		if l.text != "" {
			font := "F1"
			if l.size > 11 {
				font = "F2"
			}
			fmt.Fprintf(&content, "BT /%s %d Tf 60 %d Td (%s) Tj ET\n", font, l.size, y, latin1(l.text))
		}
		y -= l.size + 9
	}
	objs := []string{
		"<< /Type /Catalog /Pages 2 0 R >>",
		"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
		"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] /Resources << /Font << /F1 5 0 R /F2 6 0 R >> >> /Contents 4 0 R >>",
		fmt.Sprintf("<< /Length %d >>\nstream\n%sendstream", content.Len(), content.String()),
		"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica /Encoding /WinAnsiEncoding >>",
		"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica-Bold /Encoding /WinAnsiEncoding >>",
	}
	var out bytes.Buffer
	out.WriteString("%PDF-1.4\n%\xe2\xe3\xcf\xd3\n")
	offsets := make([]int, len(objs))
	for i, o := range objs {
		offsets[i] = out.Len()
		fmt.Fprintf(&out, "%d 0 obj\n%s\nendobj\n", i+1, o)
	}
	xref := out.Len()
	fmt.Fprintf(&out, "xref\n0 %d\n0000000000 65535 f \n", len(objs)+1)
	for _, off := range offsets {
		fmt.Fprintf(&out, "%010d 00000 n \n", off)
	}
	fmt.Fprintf(&out, "trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n", len(objs)+1, xref)
	return out.Bytes()
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
