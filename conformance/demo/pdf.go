package demo

import (
	"bytes"
	"fmt"
	"strings"
)

// PDF renders a simple, valid PDF 1.4 document: a title and paragraphs of
// text in Helvetica on A4 pages, with Norwegian letters encoded in
// WinAnsiEncoding. It is enough for synthetic epikriser and radiology
// reports that a browser's PDF viewer shows properly.
func PDF(title string, paragraphs []string) []byte {
	const (
		pageW, pageH = 595, 842
		margin       = 56
		lineH        = 15
		maxChars     = 88
	)
	type line struct {
		text string
		size int
	}
	var lines []line
	lines = append(lines, line{title, 16}, line{"", 11})
	for _, p := range paragraphs {
		for _, l := range wrap(p, maxChars) {
			lines = append(lines, line{l, 11})
		}
		lines = append(lines, line{"", 11})
	}
	perPage := (pageH - 2*margin) / lineH
	var pages [][]line
	for len(lines) > 0 {
		n := min(perPage, len(lines))
		pages = append(pages, lines[:n])
		lines = lines[n:]
	}

	var objs []string // objects 1..n, index i holds object i+1
	add := func(s string) int { objs = append(objs, s); return len(objs) }
	catalog := add("") // filled below
	pagesObj := add("")
	font := add("<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica /Encoding /WinAnsiEncoding >>")
	fontBold := add("<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica-Bold /Encoding /WinAnsiEncoding >>")
	var kids []string
	for _, pg := range pages {
		var cs strings.Builder
		y := pageH - margin
		for _, l := range pg {
			if l.text != "" {
				f := "/F1"
				if l.size > 11 {
					f = "/F2"
				}
				fmt.Fprintf(&cs, "BT %s %d Tf %d %d Td (%s) Tj ET\n", f, l.size, margin, y, pdfString(l.text))
			}
			y -= lineH
		}
		content := cs.String()
		c := add(fmt.Sprintf("<< /Length %d >>\nstream\n%sendstream", len(content), content))
		p := add(fmt.Sprintf("<< /Type /Page /Parent %d 0 R /MediaBox [0 0 %d %d] /Resources << /Font << /F1 %d 0 R /F2 %d 0 R >> >> /Contents %d 0 R >>",
			pagesObj, pageW, pageH, font, fontBold, c))
		kids = append(kids, fmt.Sprintf("%d 0 R", p))
	}
	objs[catalog-1] = fmt.Sprintf("<< /Type /Catalog /Pages %d 0 R /Lang (nb-NO) >>", pagesObj)
	objs[pagesObj-1] = fmt.Sprintf("<< /Type /Pages /Kids [%s] /Count %d >>", strings.Join(kids, " "), len(kids))
	info := add(fmt.Sprintf("<< /Title (%s) /Producer (pjd demo data) >>", pdfString(title)))

	var b bytes.Buffer
	b.WriteString("%PDF-1.4\n%\xe2\xe3\xcf\xd3\n")
	offsets := make([]int, len(objs))
	for i, o := range objs {
		offsets[i] = b.Len()
		fmt.Fprintf(&b, "%d 0 obj\n%s\nendobj\n", i+1, o)
	}
	xref := b.Len()
	fmt.Fprintf(&b, "xref\n0 %d\n0000000000 65535 f \n", len(objs)+1)
	for _, off := range offsets {
		fmt.Fprintf(&b, "%010d 00000 n \n", off)
	}
	fmt.Fprintf(&b, "trailer\n<< /Size %d /Root %d 0 R /Info %d 0 R >>\nstartxref\n%d\n%%%%EOF\n", len(objs)+1, catalog, info, xref)
	return b.Bytes()
}

// pdfString escapes s for a PDF literal string in WinAnsiEncoding.
func pdfString(s string) string {
	var b strings.Builder
	for _, r := range s {
		switch {
		case r == '(' || r == ')' || r == '\\':
			b.WriteByte('\\')
			b.WriteRune(r)
		case r >= 32 && r < 127:
			b.WriteRune(r)
		case r >= 0xA0 && r <= 0xFF: // Latin-1 block = WinAnsi here (æøåÆØÅé…)
			fmt.Fprintf(&b, "\\%03o", r)
		case r == '–' || r == '—':
			b.WriteByte('-')
		default:
			b.WriteByte('?')
		}
	}
	return b.String()
}

func wrap(s string, width int) []string {
	var out []string
	var cur strings.Builder
	for _, w := range strings.Fields(s) {
		if cur.Len() > 0 && cur.Len()+1+len([]rune(w)) > width {
			out = append(out, cur.String())
			cur.Reset()
		}
		if cur.Len() > 0 {
			cur.WriteByte(' ')
		}
		cur.WriteString(w)
	}
	if cur.Len() > 0 {
		out = append(out, cur.String())
	}
	return out
}
