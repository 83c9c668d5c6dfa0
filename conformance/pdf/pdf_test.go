package pdf

import (
	"bytes"
	"regexp"
	"strconv"
	"strings"
	"testing"
)

// objects checks b's cross-reference table against where each object
// really starts, and returns the objects' text.
func objects(t *testing.T, b []byte) []string {
	t.Helper()
	if !bytes.HasPrefix(b, []byte("%PDF-1.4\n")) || !bytes.HasSuffix(b, []byte("%%EOF\n")) {
		t.Fatal("not a PDF 1.4 file")
	}
	m := regexp.MustCompile(`startxref\n(\d+)\n%%EOF\n$`).FindSubmatch(b)
	if m == nil {
		t.Fatal("no startxref")
	}
	xref, _ := strconv.Atoi(string(m[1]))
	if !bytes.HasPrefix(b[xref:], []byte("xref\n0 ")) {
		t.Fatalf("startxref %d does not point at the xref table", xref)
	}
	lines := strings.Split(string(b[xref:]), "\n")
	n, _ := strconv.Atoi(strings.Fields(lines[1])[1])
	var objs []string
	for i := 1; i < n; i++ {
		off, err := strconv.Atoi(lines[2+i][:10])
		if err != nil {
			t.Fatalf("xref entry %d: %q", i, lines[2+i])
		}
		head := strconv.Itoa(i) + " 0 obj\n"
		if !bytes.HasPrefix(b[off:], []byte(head)) {
			t.Fatalf("xref entry %d points at %q", i, b[off:min(off+20, len(b))])
		}
		end := bytes.Index(b[off:], []byte("\nendobj\n"))
		objs = append(objs, string(b[off+len(head):off+end]))
	}
	return objs
}

func TestDocument(t *testing.T) {
	d := Document{Pages: []Page{{{X: 60, Y: 780, Size: 18, Bold: true, Text: "EPIKRISE"}, {X: 60, Y: 753, Size: 11, Text: "Blodtrykk (målt)"}}}}
	objs := objects(t, d.Bytes())
	all := strings.Join(objs, "\n")
	for _, want := range []string{
		"BT /F2 18 Tf 60 780 Td (EPIKRISE) Tj ET",
		`BT /F1 11 Tf 60 753 Td (Blodtrykk \(m\345lt\)) Tj ET`,
		"/BaseFont /Helvetica-Bold /Encoding /WinAnsiEncoding",
		"/Type /Pages /Kids [6 0 R] /Count 1",
	} {
		if !strings.Contains(all, want) {
			t.Errorf("no %q in\n%s", want, all)
		}
	}
	if strings.Contains(all, "/Lang") || strings.Contains(all, "/Title") {
		t.Errorf("metadata nobody asked for:\n%s", all)
	}

	d.Title, d.Producer, d.Lang = "Epikrise – test", "pjd", "nb-NO"
	b := d.Bytes()
	objs = objects(t, b)
	if objs[0] != "<< /Type /Catalog /Pages 2 0 R /Lang (nb-NO) >>" || objs[len(objs)-1] != "<< /Title (Epikrise - test) /Producer (pjd) >>" {
		t.Errorf("catalog %q, info %q", objs[0], objs[len(objs)-1])
	}
	if !bytes.Contains(b, []byte("/Info 7 0 R")) {
		t.Error("the trailer names no /Info")
	}
}

func TestString(t *testing.T) {
	for in, want := range map[string]string{
		"plain":        "plain",
		`a(b)c\d`:      `a\(b\)c\\d`,
		"Ærø Å é":      `\306r\370 \305 \351`,
		"a – b — c":    "a - b - c",
		"€ and 日本":     "? and ??",
		"tab\tnewline": "tab?newline",
	} {
		if got := String(in); got != want {
			t.Errorf("String(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestText(t *testing.T) {
	long := strings.Repeat("ord ", 30)
	var paras []string
	for range 60 {
		paras = append(paras, long)
	}
	d := Text("Tittel", paras)
	if len(d.Pages) < 2 || d.Title != "Tittel" {
		t.Fatalf("%d pages, title %q", len(d.Pages), d.Title)
	}
	first := d.Pages[0][0]
	if first != (Line{X: 56, Y: PageHeight - 56, Size: 16, Bold: true, Text: "Tittel"}) {
		t.Errorf("first line %+v", first)
	}
	for _, pg := range d.Pages {
		for _, l := range pg {
			if len([]rune(l.Text)) > 88 || l.Y < 56 {
				t.Errorf("line %+v outside the layout", l)
			}
		}
	}
	objects(t, d.Bytes())
	if got := Wrap("a bb ccc dddd", 6); strings.Join(got, "|") != "a bb|ccc|dddd" {
		t.Errorf("Wrap = %q", got)
	}
}
