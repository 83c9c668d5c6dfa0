package ui

import (
	"bytes"
	"strings"
	"testing"
	"testing/iotest"
	"time"

	"pjd/registry"
)

func TestCSVSafe(t *testing.T) {
	for in, want := range map[string]string{
		"":                 "",
		"Ingrid Berg":      "Ingrid Berg",
		"=1+1":             "'=1+1",
		"+47 55 00 00 00":  "'+47 55 00 00 00",
		"-2":               "'-2",
		"@SUM(A1)":         "'@SUM(A1)",
		"\tcmd":            "'\tcmd",
		"\rcmd":            "'\rcmd",
		"a=b":              "a=b",
		"2026-01-15T10:00": "2026-01-15T10:00",
	} {
		if got := csvSafe(in); got != want {
			t.Errorf("csvSafe(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestViewKind(t *testing.T) {
	for mt, want := range map[string]string{
		"application/pdf":             "pdf",
		"APPLICATION/PDF":             "pdf",
		"image/png":                   "image",
		"image/jpeg":                  "image",
		"image/svg+xml":               "text", // can carry script
		"image/tiff":                  "download",
		"text/plain; charset=utf-8":   "text",
		"text/html":                   "text", // never rendered as HTML
		"application/xml":             "text",
		"text/xml":                    "text",
		"application/hl7-v3+xml":      "text",
		"application/fhir+json":       "text",
		"application/dicom":           "download",
		"application/octet-stream":    "download",
		"":                            "download",
		"garbage/":                    "download",
		"application/pdf; x=\"broken": "download",
	} {
		if got := viewKind(mt); got != want {
			t.Errorf("viewKind(%q) = %q, want %q", mt, got, want)
		}
	}
}

func TestSafeFilename(t *testing.T) {
	for _, tc := range []struct{ title, kind, mime, want string }{
		{"Epikrise", "pdf", "application/pdf", "Epikrise.pdf"},
		{`../../etc/passwd`, "text", "text/plain", "_.._etc_passwd.txt"},
		{"a\"b\r\nc;d", "pdf", "application/pdf", "a_b_c_d.pdf"},
		{"", "image", "image/jpeg", "dokument.jpg"},
		{"...", "download", "application/dicom", "dokument.bin"},
		{"Røntgen thorax", "image", "image/png", "Røntgen thorax.png"},
		{strings.Repeat("å", 200), "pdf", "application/pdf", strings.Repeat("å", 80) + ".pdf"},
		{"Labsvar", "download", "application/xml", "Labsvar.xml"},
	} {
		if got := safeFilename(tc.title, tc.kind, tc.mime); got != tc.want {
			t.Errorf("safeFilename(%q) = %q, want %q", tc.title, got, tc.want)
		}
	}
	if got := contentDisposition("inline", "Røntgen \"x\".png"); got != `inline; filename="R_ntgen _x_.png"; filename*=UTF-8''R%C3%B8ntgen%20%22x%22.png` {
		t.Errorf("contentDisposition: %s", got)
	}
}

func TestParseDate(t *testing.T) {
	for in, ok := range map[string]bool{
		"": true, "2025-01-31": true, "31.01.2025": true, "1.2.2025": true,
		"2025-02-30": false, "31/01/2025": false, "0001-01-01": false, "9999-01-01": false, "i går": false,
	} {
		if _, got := parseDate(in); got != ok {
			t.Errorf("parseDate(%q) ok = %v, want %v", in, got, ok)
		}
	}
	d, _ := parseDate("2025-06-01")
	if want := time.Date(2025, 5, 31, 22, 0, 0, 0, time.UTC); !d.Equal(want) {
		t.Errorf("2025-06-01 is %v, want midnight in Norway (%v)", d, want)
	}
}

func TestHTMLEscaperStreams(t *testing.T) {
	in := strings.Repeat(`<script>alert("x")</script> & æøå `, 500)
	var out bytes.Buffer
	// One byte at a time: escaping never depends on how the input is split.
	if _, err := (htmlEscaper{&out}).Write(nil); err != nil {
		t.Fatal(err)
	}
	r := iotest.OneByteReader(strings.NewReader(in))
	buf := make([]byte, 1)
	for {
		n, err := r.Read(buf)
		if n > 0 {
			if _, werr := (htmlEscaper{&out}).Write(buf[:n]); werr != nil {
				t.Fatal(werr)
			}
		}
		if err != nil {
			break
		}
	}
	got := out.String()
	if strings.ContainsAny(got, "<>\"") || !strings.Contains(got, "&lt;script&gt;alert(&#34;x&#34;)&lt;/script&gt; &amp; æøå") {
		t.Fatalf("not escaped: %.120s", got)
	}
}

func TestFormatting(t *testing.T) {
	for n, want := range map[int64]string{-1: "ukjent", 0: "0 byte", 999: "999 byte", 1500: "2 kB", 1_234_567: "1,2 MB"} {
		if got := fmtSize(n); got != want {
			t.Errorf("fmtSize(%d) = %q, want %q", n, got, want)
		}
	}
	at := time.Date(2025, 6, 30, 22, 30, 0, 0, time.UTC)
	if got := fmtDateTime(at); got != "01.07.2025 00:30" {
		t.Errorf("fmtDateTime = %q (Norwegian summer time)", got)
	}
	if got := fmtNIN("15838210012"); got != "158382\u00a010012" {
		t.Errorf("fmtNIN = %q", got)
	}
}

// The viewer names a document's version once ITI-57 has updated its
// metadata (version 1 says nothing), from the registry entry's version.
func TestViewerShowsVersion(t *testing.T) {
	// Only the templates are used: the backend is never called.
	type unused struct{ Backend }
	u, err := New(Config{Backend: unused{}, Sessions: NewMemorySessionStore(time.Now), Secure: true})
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		version string
		shown   bool
	}{{"1", false}, {"2", true}, {"", false}} {
		d := uiDocument(&registry.DocumentEntry{UniqueID: "1.2.3", Title: "Epikrise", MimeType: "application/pdf", Version: c.version},
			func(string, string, string) string { return "" })
		if d.Version != c.version {
			t.Fatalf("uiDocument version %q, want %q", d.Version, c.version)
		}
		var buf bytes.Buffer
		if err := u.pages["viewer.html"].ExecuteTemplate(&buf, "layout", pageData{Title: "x", Status: 200, Data: viewerData{Doc: &d, Kind: "pdf", Back: "/ui/"}}); err != nil {
			t.Fatal(err)
		}
		if got := strings.Contains(buf.String(), `id="doc-version">`+c.version+` `); got != c.shown {
			t.Fatalf("version %q shown: %v, want %v", c.version, got, c.shown)
		}
	}
}
