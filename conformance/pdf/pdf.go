// Package pdf writes small, valid PDF 1.4 documents of text: lines of
// Helvetica and Helvetica-Bold in WinAnsiEncoding on A4 pages, with a
// correct cross-reference table, enough for a browser's PDF viewer to show
// them properly. It is the one PDF writer of pjd: the synthetic demo data
// pjd serve --dev seeds (cmd/pjd/internal/demo), and the UI's test
// fixtures (gateway/ui), are written with it.
//
// It never reads PDF, embeds no fonts and no images, and its documents
// hold only the text given.
package pdf

import (
	"bytes"
	"fmt"
	"strings"
)

// A4 page size in points.
const (
	PageWidth  = 595
	PageHeight = 842
)

// Line is one line of text at (X, Y) points from the page's bottom left
// corner, in Size points, bold or not.
type Line struct {
	X, Y int
	Size int
	Bold bool
	Text string
}

// Page is the lines of one page.
type Page []Line

// Document is a PDF's pages and its optional metadata: Lang in the
// catalog, Title and Producer in the document information dictionary.
type Document struct {
	Title, Producer string
	Lang            string // e.g. "nb-NO"
	Pages           []Page
}

// Bytes renders d.
func (d Document) Bytes() []byte {
	var objs []string // objects 1..n: index i holds object i+1
	add := func(s string) int { objs = append(objs, s); return len(objs) }
	catalog := add("") // filled in once the pages are known
	pagesObj := add("")
	font := add("<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica /Encoding /WinAnsiEncoding >>")
	fontBold := add("<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica-Bold /Encoding /WinAnsiEncoding >>")
	var kids []string
	for _, pg := range d.Pages {
		var cs strings.Builder
		for _, l := range pg {
			if l.Text == "" {
				continue
			}
			f := "/F1"
			if l.Bold {
				f = "/F2"
			}
			fmt.Fprintf(&cs, "BT %s %d Tf %d %d Td (%s) Tj ET\n", f, l.Size, l.X, l.Y, String(l.Text))
		}
		content := cs.String()
		c := add(fmt.Sprintf("<< /Length %d >>\nstream\n%sendstream", len(content), content))
		p := add(fmt.Sprintf("<< /Type /Page /Parent %d 0 R /MediaBox [0 0 %d %d] /Resources << /Font << /F1 %d 0 R /F2 %d 0 R >> >> /Contents %d 0 R >>",
			pagesObj, PageWidth, PageHeight, font, fontBold, c))
		kids = append(kids, fmt.Sprintf("%d 0 R", p))
	}
	lang := ""
	if d.Lang != "" {
		lang = " /Lang (" + String(d.Lang) + ")"
	}
	objs[catalog-1] = fmt.Sprintf("<< /Type /Catalog /Pages %d 0 R%s >>", pagesObj, lang)
	objs[pagesObj-1] = fmt.Sprintf("<< /Type /Pages /Kids [%s] /Count %d >>", strings.Join(kids, " "), len(kids))
	info := 0
	if d.Title != "" || d.Producer != "" {
		var b strings.Builder
		b.WriteString("<<")
		if d.Title != "" {
			fmt.Fprintf(&b, " /Title (%s)", String(d.Title))
		}
		if d.Producer != "" {
			fmt.Fprintf(&b, " /Producer (%s)", String(d.Producer))
		}
		b.WriteString(" >>")
		info = add(b.String())
	}

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
	fmt.Fprintf(&b, "trailer\n<< /Size %d /Root %d 0 R", len(objs)+1, catalog)
	if info != 0 {
		fmt.Fprintf(&b, " /Info %d 0 R", info)
	}
	fmt.Fprintf(&b, " >>\nstartxref\n%d\n%%%%EOF\n", xref)
	return b.Bytes()
}

// String escapes s for a PDF literal string in WinAnsiEncoding: ( ) \
// escaped, Latin-1 letters (æøåÆØÅé…) as octal escapes, dashes as '-',
// anything else outside the encoding as '?'.
func String(s string) string {
	var b strings.Builder
	for _, r := range s {
		switch {
		case r == '(' || r == ')' || r == '\\':
			b.WriteByte('\\')
			b.WriteRune(r)
		case r >= 32 && r < 127:
			b.WriteRune(r)
		case r >= 0xA0 && r <= 0xFF: // Latin-1 block = WinAnsi here
			fmt.Fprintf(&b, "\\%03o", r)
		case r == '–' || r == '—':
			b.WriteByte('-')
		default:
			b.WriteByte('?')
		}
	}
	return b.String()
}

// Text lays out a title (16 pt bold) and paragraphs (11 pt, wrapped at 88
// characters, a blank line after each) on as many A4 pages as they need,
// with margins of 56 points.
func Text(title string, paragraphs []string) Document {
	const (
		margin   = 56
		lineH    = 15
		maxChars = 88
	)
	lines := []Line{{Text: title, Size: 16, Bold: true}, {Size: 11}}
	for _, p := range paragraphs {
		for _, l := range Wrap(p, maxChars) {
			lines = append(lines, Line{Text: l, Size: 11})
		}
		lines = append(lines, Line{Size: 11})
	}
	perPage := (PageHeight - 2*margin) / lineH
	d := Document{Title: title}
	for len(lines) > 0 {
		n := min(perPage, len(lines))
		pg := make(Page, n)
		for i, l := range lines[:n] {
			l.X, l.Y = margin, PageHeight-margin-i*lineH
			pg[i] = l
		}
		d.Pages = append(d.Pages, pg)
		lines = lines[n:]
	}
	return d
}

// Wrap breaks s into lines of at most width characters at spaces (a word
// longer than width stands alone).
func Wrap(s string, width int) []string {
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
