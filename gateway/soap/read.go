package soap

import (
	"bufio"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"mime"
	"mime/multipart"
	"mime/quotedprintable"
	"net"
	"net/http"
	"net/url"
	"os"
	"strings"

	"github.com/beevik/etree"
)

// readMessage reads one SOAP 1.2 message, plain or MTOM, from body. The
// envelope is read into memory (at most lim.MaxEnvelope bytes) and checked;
// for MTOM the remaining parts are left on the connection for NextPart.
// Every error is a *Fault.
//
// size is the body's Content-Length when known (else -1); it only sizes
// the envelope buffer of a plain message.
func readMessage(contentType string, body io.Reader, size int64, lim Limits, request bool) (*Message, error) {
	lr := &limitReader{r: body, left: lim.MaxRequest}
	mt, params, err := parseMediaType(contentType)
	if err != nil {
		return nil, unsupportedMedia(fmt.Errorf("content type %q: %w", contentType, err))
	}
	var (
		envelope []byte
		actions  []string // action media-type parameters, all must equal wsa:Action
		parts    *partReader
	)
	switch mt {
	case MediaSOAP12:
		if err := checkCharset(params); err != nil {
			return nil, err
		}
		actions = append(actions, params["action"])
		if envelope, err = readEnvelope(lr, lim.MaxEnvelope, size); err != nil {
			return nil, err
		}
	case MediaSOAP11:
		return nil, versionMismatch(true, errors.New("text/xml is SOAP 1.1"))
	case MediaMultipart:
		var root *multipart.Part
		root, parts, err = openMTOM(lr, params, lim)
		if err != nil {
			return nil, err
		}
		rootType, rootParams, err := parseMediaType(root.Header.Get("Content-Type"))
		if err != nil {
			return nil, faultf(CodeSender, ErrMediaType, err, "The MTOM root part has no valid Content-Type")
		}
		switch rootType {
		case MediaXOP:
			switch t, _, _ := mime.ParseMediaType(rootParams["type"]); t {
			case MediaSOAP12, "":
			case MediaSOAP11:
				return nil, versionMismatch(true, errors.New("root part type text/xml"))
			default:
				return nil, faultf(CodeSender, ErrMediaType, fmt.Errorf("root part type %q", t), "The MTOM root part must be SOAP 1.2")
			}
		case MediaSOAP12:
			// Not XOP-packaged but still a SOAP 1.2 root; some stacks do this.
		default:
			return nil, faultf(CodeSender, ErrMediaType, fmt.Errorf("root part %q", rootType), "The MTOM root part must be application/xop+xml")
		}
		if err := checkCharset(rootParams); err != nil {
			return nil, err
		}
		actions = append(actions, params["action"], rootParams["action"])
		if _, si, err := mime.ParseMediaType(params["start-info"]); err == nil {
			actions = append(actions, si["action"])
		}
		if _, tp, err := mime.ParseMediaType(rootParams["type"]); err == nil {
			actions = append(actions, tp["action"])
		}
		rd, err := decodeTransfer(root, root.Header.Get("Content-Transfer-Encoding"))
		if err != nil {
			return nil, err
		}
		if envelope, err = readEnvelope(rd, lim.MaxEnvelope, -1); err != nil {
			return nil, err
		}
	default:
		return nil, unsupportedMedia(fmt.Errorf("content type %q", mt))
	}

	doc, err := parseXML(envelope, lim)
	if err != nil {
		return nil, err
	}
	m, err := parseEnvelope(doc, request)
	if err == nil && request {
		for _, a := range actions {
			if a != "" && a != m.Addressing.Action {
				err = invalidHeader("Action", SubcodeActionMismatch, fmt.Errorf("action parameter %q, wsa:Action %q", a, m.Addressing.Action))
				break
			}
		}
	}
	if err != nil {
		var f *Fault
		if m != nil && errors.As(err, &f) && f.RelatesTo == "" {
			f.RelatesTo = m.Addressing.MessageID
		}
		return nil, err
	}
	if parts != nil {
		m.mtom = true
		m.parts = parts
		parts.want = make(map[string]*etree.Element, len(m.includes))
		for _, inc := range m.includes {
			parts.want[inc.ContentID] = inc.Element
		}
	}
	return m, nil
}

// parseMediaType is mime.ParseMediaType, forgiving one common sender
// mistake: parameter values with tspecials left unquoted
// (action=urn:ihe:iti:2007:RetrieveDocumentSet, boundary=uuid:…). Such a
// header is split on ';' and '=' instead.
func parseMediaType(s string) (string, map[string]string, error) {
	mt, params, err := mime.ParseMediaType(s)
	if !errors.Is(err, mime.ErrInvalidMediaParameter) {
		return mt, params, err
	}
	fields := strings.Split(s, ";")
	params = make(map[string]string, len(fields)-1)
	for _, f := range fields[1:] {
		f = strings.TrimSpace(f)
		if f == "" {
			continue
		}
		k, v, ok := strings.Cut(f, "=")
		k = strings.ToLower(strings.TrimSpace(k))
		v = strings.TrimSpace(v)
		if len(v) >= 2 && v[0] == '"' && v[len(v)-1] == '"' {
			v = v[1 : len(v)-1]
		}
		if _, dup := params[k]; !ok || k == "" || dup || strings.ContainsAny(v, "\"\\") {
			return "", nil, err // escapes or stray quotes: too odd to guess
		}
		params[k] = v
	}
	return mt, params, nil
}

func unsupportedMedia(cause error) *Fault {
	f := faultf(CodeSender, ErrMediaType, cause, "The message must be application/soap+xml or MTOM (multipart/related; type=\"application/xop+xml\")")
	f.status = http.StatusUnsupportedMediaType
	return f
}

func checkCharset(params map[string]string) error {
	if cs, ok := params["charset"]; ok {
		switch strings.ToLower(strings.TrimSpace(cs)) {
		case "utf-8", "utf8":
		default:
			return faultf(CodeSender, ErrMediaType, fmt.Errorf("charset %q", cs), "Only UTF-8 encoded messages are accepted")
		}
	}
	return nil
}

// openMTOM checks the multipart/related parameters and returns the root
// part. RFC 2387 lets "start" name any part, but a streaming reader cannot
// hold back the parts before it; every stack we know sends the root first,
// so a start naming a later part is refused.
func openMTOM(r io.Reader, params map[string]string, lim Limits) (*multipart.Part, *partReader, error) {
	switch t := strings.ToLower(strings.TrimSpace(params["type"])); t {
	case MediaXOP, "":
	case MediaSOAP11:
		return nil, nil, versionMismatch(true, errors.New("multipart type text/xml"))
	default:
		return nil, nil, unsupportedMedia(fmt.Errorf("multipart/related type %q", t))
	}
	if si, ok := params["start-info"]; ok {
		if t, _, _ := mime.ParseMediaType(si); t == MediaSOAP11 {
			return nil, nil, versionMismatch(true, errors.New("start-info text/xml"))
		}
	}
	boundary := params["boundary"]
	if boundary == "" {
		return nil, nil, faultf(CodeSender, ErrMalformed, errors.New("no boundary"), "The multipart message has no boundary")
	}
	// A larger buffer than multipart's own 4 KiB: fewer reads per
	// attachment. multipart uses it as is (bufio.NewReaderSize returns it).
	mr := multipart.NewReader(bufio.NewReaderSize(r, 64<<10), boundary)
	root, err := mr.NextRawPart()
	if err != nil {
		return nil, nil, partError(err)
	}
	if start := params["start"]; start != "" {
		if got, want := normalizeCID(root.Header.Get("Content-ID")), normalizeCID(start); got != want {
			return nil, nil, faultf(CodeSender, ErrMalformed, fmt.Errorf("first part %q, start %q", got, want),
				"The MTOM root part (start) must be the first part")
		}
	}
	return root, &partReader{mr: mr, lim: lim, seen: map[string]bool{}}, nil
}

// readEnvelope reads at most max bytes of envelope. A declared size
// (Content-Length) sizes the first buffer, but only up to 1 MiB: memory
// beyond that is committed as bytes actually arrive, so a client cannot
// make the server allocate by merely announcing a large body. The buffer
// grows by doubling but never beyond max+1 bytes (the one byte that shows
// the envelope is too large), so an oversized envelope costs max+1 bytes,
// not twice that.
func readEnvelope(r io.Reader, max, size int64) ([]byte, error) {
	initial := int64(32 << 10)
	if size >= 0 && size <= max {
		initial = min(size+1, 1<<20) // +1: room to see EOF without growing
	}
	initial = min(initial, max+1)
	b := make([]byte, 0, initial)
	for int64(len(b)) <= max {
		if len(b) == cap(b) {
			size := 2 * int64(cap(b))
			if size >= max {
				size = max + 1
			}
			nb := make([]byte, len(b), size)
			copy(nb, b)
			b = nb
		}
		n, err := r.Read(b[len(b):cap(b)])
		b = b[:len(b)+n]
		if int64(len(b)) > max {
			break
		}
		if err == io.EOF {
			return b, nil
		}
		if err != nil {
			return nil, partError(err)
		}
	}
	return nil, faultf(CodeSender, ErrTooLarge, fmt.Errorf("envelope > %d bytes", max),
		"The SOAP envelope is larger than this service accepts")
}

// partReader hands out the MTOM parts after the root.
type partReader struct {
	mr   *multipart.Reader
	lim  Limits
	n    int
	seen map[string]bool           // Content-IDs delivered
	want map[string]*etree.Element // Content-ID → the xop:Include naming it
	err  error                     // sticky
}

func (p *partReader) next() (*Part, error) {
	if p.err != nil {
		return nil, p.err
	}
	mp, err := p.mr.NextRawPart()
	if err == io.EOF { // exactly io.EOF: the closing boundary was seen
		for id := range p.want {
			if !p.seen[id] {
				p.err = faultf(CodeSender, ErrXOP, fmt.Errorf("no part for cid %q", id),
					"An xop:Include refers to a part the message does not contain")
				return nil, p.err
			}
		}
		p.err = io.EOF
		return nil, io.EOF
	}
	if err != nil {
		p.err = partError(err)
		return nil, p.err
	}
	p.n++
	if p.n > p.lim.MaxParts {
		p.err = faultf(CodeSender, ErrLimit, fmt.Errorf("parts > %d", p.lim.MaxParts), "The message has too many parts")
		return nil, p.err
	}
	id := normalizeCID(mp.Header.Get("Content-ID"))
	if id == "" {
		p.err = faultf(CodeSender, ErrXOP, errors.New("part without Content-ID"), "Every attachment must have a Content-ID")
		return nil, p.err
	}
	if p.seen[id] {
		p.err = faultf(CodeSender, ErrXOP, fmt.Errorf("cid %q twice", id), "Two attachments have the same Content-ID")
		return nil, p.err
	}
	inc, ok := p.want[id]
	if !ok {
		p.err = faultf(CodeSender, ErrXOP, fmt.Errorf("cid %q not referenced", id),
			"An attachment is not referenced by any xop:Include")
		return nil, p.err
	}
	p.seen[id] = true
	body, err := decodeTransfer(mp, mp.Header.Get("Content-Transfer-Encoding"))
	if err != nil {
		p.err = err
		return nil, err
	}
	ct := mp.Header.Get("Content-Type")
	if ct == "" {
		ct = "application/octet-stream"
	}
	return &Part{ContentID: id, ContentType: ct, Include: inc, Body: &faultReader{r: body}}, nil
}

// decodeTransfer undoes a Content-Transfer-Encoding. MTOM senders use
// binary or 8bit; base64 and quoted-printable are accepted from older
// SwA-minded stacks.
func decodeTransfer(r io.Reader, cte string) (io.Reader, error) {
	switch strings.ToLower(strings.TrimSpace(cte)) {
	case "", "binary", "8bit", "7bit":
		return r, nil
	case "base64":
		return base64.NewDecoder(base64.StdEncoding, r), nil
	case "quoted-printable":
		return quotedprintable.NewReader(r), nil
	}
	return nil, faultf(CodeSender, ErrMediaType, fmt.Errorf("transfer encoding %q", cte), "Unsupported Content-Transfer-Encoding")
}

// faultReader turns errors from the multipart stream into faults.
type faultReader struct{ r io.Reader }

func (f *faultReader) Read(p []byte) (int, error) {
	n, err := f.r.Read(p)
	if err != nil && err != io.EOF {
		err = partError(err)
	}
	return n, err
}

// partError classifies an error met while reading the body.
func partError(err error) error {
	var f *Fault
	if errors.As(err, &f) {
		return f
	}
	if isTimeout(err) {
		// The connection's read deadline passed: the client stopped
		// sending (the gateway drops a body that makes no progress).
		f := faultf(CodeSender, ErrTimeout, err, "The message stopped arriving before it was complete")
		f.status = http.StatusRequestTimeout
		return f
	}
	if errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, io.EOF) {
		// A wrapped io.EOF from multipart means the body ended before the
		// closing boundary.
		return faultf(CodeSender, ErrMalformed, err, "The message ended before its closing MIME boundary")
	}
	var ce base64.CorruptInputError
	if errors.As(err, &ce) {
		return faultf(CodeSender, ErrMalformed, err, "An attachment is not valid base64")
	}
	return faultf(CodeSender, ErrMalformed, err, "The multipart message is malformed")
}

// isTimeout reports whether err is a read deadline that passed.
func isTimeout(err error) bool {
	if errors.Is(err, os.ErrDeadlineExceeded) {
		return true
	}
	var ne net.Error
	return errors.As(err, &ne) && ne.Timeout()
}

// normalizeCID turns a Content-ID header value, a start parameter or a
// cid: URL into the bare, unescaped id: "<a%40b>" and "cid:a%40b" both
// become "a@b". RFC 2392 cid: URLs are URL-escaped; WCF escapes them and
// CXF does not, so both sides are unescaped before comparing.
func normalizeCID(s string) string {
	s = strings.TrimSpace(s)
	if len(s) >= 4 && strings.EqualFold(s[:4], "cid:") {
		s = strings.TrimSpace(s[4:])
	}
	s = strings.TrimPrefix(s, "<")
	s = strings.TrimSuffix(s, ">")
	if u, err := url.PathUnescape(s); err == nil {
		s = u
	}
	return strings.TrimSpace(s)
}

// limitReader fails with an ErrTooLarge fault once more than left bytes
// have been read.
type limitReader struct {
	r    io.Reader
	left int64
	err  error
}

func (l *limitReader) Read(p []byte) (int, error) {
	if l.err != nil {
		return 0, l.err
	}
	if l.left < 0 {
		return 0, l.tooLarge()
	}
	if int64(len(p)) > l.left+1 {
		p = p[:l.left+1]
	}
	n, err := l.r.Read(p)
	l.left -= int64(n)
	if l.left < 0 {
		// Report what fits, then fail.
		n += int(l.left)
		return n, l.tooLarge()
	}
	return n, err
}

func (l *limitReader) tooLarge() error {
	if l.err == nil {
		l.err = faultf(CodeSender, ErrTooLarge, errors.New("body exceeds MaxRequest"),
			"The message is larger than this service accepts")
	}
	return l.err
}
