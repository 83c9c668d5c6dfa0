package ui

import (
	"bufio"
	"bytes"
	"fmt"
	"html/template"
	"io"
	"mime"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"unicode"
)

// textViewerCSS styles the escaped-text page; the page's CSP allows it by
// hash, and nothing else.
const textViewerCSS = `html{background:#fff;color:#1a1a1a}body{margin:0;padding:1rem 1.25rem;font:0.95rem/1.5 ui-monospace,"DejaVu Sans Mono",Menlo,Consolas,monospace}pre{margin:0;white-space:pre-wrap;overflow-wrap:anywhere;font:inherit}`

// refParam reads the document reference of the viewer routes.
func refParam(r *http.Request) (string, bool) {
	vals := r.URL.Query()["id"]
	if len(vals) != 1 {
		return "", false
	}
	ref := vals[0]
	if ref == "" || len(ref) > 256 {
		return "", false
	}
	for _, c := range ref {
		if c < 0x20 || c == 0x7f || unicode.IsSpace(c) {
			return "", false
		}
	}
	return ref, true
}

type viewerData struct {
	Doc  *Document
	Kind string // pdf, image, text, download
	Back string // list URL
}

func (viewerData) NavItem() string { return "list" }

// viewer is GET /ui/document?id=…: the document's heading and metadata,
// and its content embedded from /ui/content (the audited retrieval).
func (u *UI) viewer(w http.ResponseWriter, r *http.Request, s *reqSession) {
	ref, ok := refParam(r)
	if !ok {
		u.renderError(w, r, s, http.StatusBadRequest, "Ugyldig forespørsel", "Lenken til dokumentet er ikke gyldig.")
		return
	}
	back := "/ui/"
	if l := r.URL.Query().Get("liste"); l != "" {
		if q, err := url.ParseQuery(l); err == nil {
			lq, errs := parseListQuery(q)
			if len(errs) == 0 {
				if enc := lq.values().Encode(); enc != "" {
					back += "?" + enc
				}
			}
		}
	}
	doc, err := u.backend.DocumentInfo(r.Context(), s.Principal, s.Patient, ref)
	if err != nil {
		u.backendError(w, r, s, "document info", err)
		return
	}
	doc.Ref = ref
	u.render(w, r, s, http.StatusOK, "viewer.html", doc.Title, viewerData{Doc: doc, Kind: viewKind(doc.MimeType), Back: back})
}

// content is GET /ui/content?id=…[&last-ned=1]: the document itself,
// streamed, with headers that let nothing in it run.
func (u *UI) content(w http.ResponseWriter, r *http.Request, s *reqSession) {
	ref, ok := refParam(r)
	if !ok {
		u.renderError(w, r, s, http.StatusBadRequest, "Ugyldig forespørsel", "Lenken til dokumentet er ikke gyldig.")
		return
	}
	download := r.URL.Query().Get("last-ned") == "1"
	doc, rc, err := u.backend.OpenDocument(r.Context(), s.Principal, s.Patient, ref)
	if err != nil {
		u.backendError(w, r, s, "opening document", err)
		return
	}
	defer rc.Close()
	kind := viewKind(doc.MimeType)
	if download {
		kind = "download"
	}
	h := w.Header()
	name := safeFilename(doc.Title, kind, doc.MimeType)
	switch kind {
	case "pdf":
		// No CSP sandbox here: Firefox's PDF viewer refuses sandboxed
		// documents (and Chromium's is the same in some versions); the
		// viewer runs in the browser's own origin, and default-src
		// 'none' leaves nothing of ours to load or run. See doc.go.
		h.Set("Content-Security-Policy", "default-src 'none'; base-uri 'none'; form-action 'none'; frame-ancestors "+u.ancestors)
		h.Set("Content-Type", "application/pdf")
		h.Set("Content-Disposition", contentDisposition("inline", name))
	case "image":
		mt, _, _ := mime.ParseMediaType(doc.MimeType)
		h.Set("Content-Security-Policy", "default-src 'none'; sandbox; frame-ancestors "+u.ancestors)
		h.Set("Content-Type", mt)
		h.Set("Content-Disposition", contentDisposition("inline", name))
	case "text":
		u.serveText(w, r, doc, rc, name)
		return
	default:
		h.Set("Content-Security-Policy", "default-src 'none'; sandbox; frame-ancestors "+u.ancestors)
		h.Set("Content-Type", "application/octet-stream")
		h.Set("Content-Disposition", contentDisposition("attachment", name))
	}
	if doc.Size >= 0 {
		h.Set("Content-Length", fmt.Sprint(doc.Size))
	}
	w.WriteHeader(http.StatusOK)
	if r.Method == http.MethodHead {
		return
	}
	if _, err := io.Copy(w, rc); err != nil {
		// The headers are gone; abort so the client sees a broken
		// transfer, never a silently truncated document.
		u.log.WarnContext(r.Context(), "ui: streaming document", "err", err)
		panic(http.ErrAbortHandler)
	}
}

// asciiCharsets are source charsets the escaped-text page can declare
// as they are (ASCII-compatible, so the page's own markup stays valid).
var asciiCharsets = map[string]string{
	"utf-8": "utf-8", "utf8": "utf-8", "us-ascii": "utf-8", "ascii": "utf-8",
	"iso-8859-1": "iso-8859-1", "latin1": "iso-8859-1", "iso-8859-15": "iso-8859-15",
	"windows-1252": "windows-1252", "cp1252": "windows-1252",
}

var xmlEncoding = regexp.MustCompile(`^\s*<\?xml[^>]*\bencoding\s*=\s*["']([A-Za-z0-9._-]+)["']`)

// serveText shows any text type (XML, HTML and SVG included) as escaped
// text in a <pre>, in an HTML page whose CSP allows only its own style:
// markup in the document is never parsed, scripts never run.
func (u *UI) serveText(w http.ResponseWriter, r *http.Request, doc *Document, rc io.Reader, name string) {
	br := bufio.NewReaderSize(rc, 4096)
	charset := "utf-8"
	_, params, _ := mime.ParseMediaType(doc.MimeType)
	if cs, ok := params["charset"]; ok {
		charset = asciiCharsets[strings.ToLower(cs)]
	} else if head, _ := br.Peek(256); len(head) > 0 {
		if m := xmlEncoding.FindSubmatch(head); m != nil {
			charset = asciiCharsets[strings.ToLower(string(m[1]))]
		}
	}
	if charset == "" {
		charset = "utf-8" // unknown or not ASCII-compatible: shown as UTF-8
	}
	h := w.Header()
	h.Set("Content-Security-Policy", u.textCSP)
	h.Set("Content-Type", "text/html; charset="+charset)
	h.Set("Content-Disposition", contentDisposition("inline", strings.TrimSuffix(name, ".txt")+".html"))
	w.WriteHeader(http.StatusOK)
	if r.Method == http.MethodHead {
		return
	}
	var head bytes.Buffer
	head.WriteString("<!doctype html><html lang=\"nb\"><head><meta charset=\"" + charset + "\"><title>")
	template.HTMLEscape(&head, []byte(doc.Title))
	head.WriteString("</title><style>" + u.textCSS + "</style></head><body><pre>")
	if _, err := w.Write(head.Bytes()); err != nil {
		return
	}
	if _, err := io.Copy(htmlEscaper{w}, br); err != nil {
		u.log.WarnContext(r.Context(), "ui: streaming text document", "err", err)
		panic(http.ErrAbortHandler)
	}
	_, _ = io.WriteString(w, "</pre></body></html>\n")
}

// htmlEscaper escapes everything written through it for HTML text.
type htmlEscaper struct{ w io.Writer }

func (e htmlEscaper) Write(p []byte) (int, error) {
	var buf bytes.Buffer
	buf.Grow(len(p) + len(p)/8)
	template.HTMLEscape(&buf, p)
	if _, err := e.w.Write(buf.Bytes()); err != nil {
		return 0, err
	}
	return len(p), nil
}

var unsafeFilename = regexp.MustCompile(`[^\p{L}\p{N} ._-]+`)

// safeFilename makes a filename from a title: letters, digits, space,
// dot, dash and underscore only, at most 80 characters, with an extension
// that fits how the content is served.
func safeFilename(title, kind, mimeType string) string {
	name := strings.TrimSpace(unsafeFilename.ReplaceAllString(title, "_"))
	name = strings.Trim(name, ". ")
	if r := []rune(name); len(r) > 80 {
		name = string(r[:80])
	}
	if name == "" {
		name = "dokument"
	}
	ext := ".bin"
	switch kind {
	case "pdf":
		ext = ".pdf"
	case "text":
		ext = ".txt"
	case "image":
		mt, _, _ := mime.ParseMediaType(mimeType)
		ext = "." + strings.TrimPrefix(mt, "image/")
		if ext == ".jpeg" {
			ext = ".jpg"
		}
	default:
		switch formatLabel(mimeType) {
		case "PDF":
			ext = ".pdf"
		case "XML":
			ext = ".xml"
		case "Tekst":
			ext = ".txt"
		}
	}
	return name + ext
}

// contentDisposition builds the header with an ASCII filename and the
// RFC 5987 UTF-8 one.
func contentDisposition(disp, name string) string {
	ascii := strings.Map(func(r rune) rune {
		if r < 0x20 || r > 0x7e || r == '"' || r == '\\' {
			return '_'
		}
		return r
	}, name)
	return fmt.Sprintf(`%s; filename="%s"; filename*=UTF-8''%s`, disp, ascii, url.PathEscape(name))
}
