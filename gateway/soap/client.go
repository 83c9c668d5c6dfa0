package soap

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"

	"github.com/beevik/etree"
)

// Client calls SOAP 1.2 endpoints: pjd's own roles, other gateways, and
// the conformance suite acting as an XDS actor.
type Client struct {
	// HTTP sends the requests; nil means http.DefaultClient. Set timeouts
	// and TLS there.
	HTTP *http.Client
	// Limits bound the responses read; zero fields take DefaultLimits.
	Limits Limits
	// Headers, if set, returns extra header blocks for a request, e.g. a
	// wsse:Security block with an XUA assertion. Each must declare the
	// namespaces it uses.
	Headers func(ctx context.Context, action string) ([]*etree.Element, error)
	// Header holds extra HTTP headers sent with every request (e.g. the
	// nhn-event-id and traceparent a gateway forwards on an outbound hop).
	// Content-Type is the client's own and is never taken from here.
	Header http.Header
}

// Attachment is one document sent with CallMTOM. ContentID must be named
// by an xop:Include in the body (see NewInclude). Body is read once,
// streaming, while the request is sent.
type Attachment struct {
	ContentID   string
	ContentType string
	Body        io.Reader
}

// Response is a SOAP response. Its envelope is in memory; MTOM attachments
// stream from the connection through NextPart. Close it when done.
type Response struct {
	*Message
	StatusCode int
	body       io.ReadCloser
}

// Close releases the connection. Unread attachments are discarded.
func (r *Response) Close() error {
	if r.body == nil {
		return nil
	}
	err := r.body.Close()
	r.body = nil
	return err
}

// Call sends a plain SOAP 1.2 request and reads the response, plain or
// MTOM. A SOAP fault in the response is returned as a *Fault; a response
// whose RelatesTo is not the request's MessageID fails with ErrRelatesTo.
func (c *Client) Call(ctx context.Context, url, action string, body *etree.Element) (*Response, error) {
	extra, err := c.headers(ctx, action)
	if err != nil {
		return nil, err
	}
	if err := checkOut(action, body, extra); err != nil {
		return nil, err
	}
	id := newMessageID()
	var buf bytes.Buffer
	bw := bufio.NewWriter(&buf)
	writeEnvelope(bw, outHeader{action: action, messageID: id, to: url, replyTo: true, extra: extra}, body)
	if err := bw.Flush(); err != nil {
		return nil, err
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, url, &buf)
	if err != nil {
		return nil, err
	}
	c.setHeader(req)
	req.Header.Set("Content-Type", contentTypeWithAction(MediaSOAP12, action))
	resp, err := c.httpClient().Do(req)
	if err != nil {
		return nil, err
	}
	return c.readResponse(resp, id)
}

// CallMTOM sends an MTOM request (ITI-41, ITI-43, ITI-39 use it) whose
// attachments are streamed from their readers while the request is sent
// — nothing is buffered — and reads the response like Call. Every
// xop:Include in body must have its attachment and vice versa; this is
// checked before anything is sent. With no attachments the request is
// still MTOM-packaged, as IHE asks for these transactions.
func (c *Client) CallMTOM(ctx context.Context, url, action string, body *etree.Element, attachments []Attachment) (*Response, error) {
	extra, err := c.headers(ctx, action)
	if err != nil {
		return nil, err
	}
	pr, pw := io.Pipe()
	enc := newMTOMEncoder(pw)
	if err := enc.prepare(action, body, extra); err != nil {
		return nil, err
	}
	if len(attachments) != len(enc.order) {
		return nil, fmt.Errorf("soap: %d attachments for %d xop:Include elements", len(attachments), len(enc.order))
	}
	given := map[string]bool{}
	for _, a := range attachments {
		id := normalizeCID(a.ContentID)
		if _, ok := enc.want[id]; !ok {
			return nil, fmt.Errorf("soap: no xop:Include refers to attachment %q", a.ContentID)
		}
		if given[id] {
			return nil, fmt.Errorf("soap: attachment %q given twice", a.ContentID)
		}
		if a.Body == nil {
			return nil, fmt.Errorf("soap: attachment %q has no Body", a.ContentID)
		}
		given[id] = true
	}
	id := newMessageID()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, url, pr)
	if err != nil {
		return nil, err
	}
	c.setHeader(req)
	req.Header.Set("Content-Type", enc.contentType(action))

	writeErr := make(chan error, 1)
	go func() {
		err := enc.writeRoot(outHeader{action: action, messageID: id, to: url, replyTo: true, extra: extra}, body)
		for _, a := range attachments {
			if err != nil {
				break
			}
			_, err = enc.writeAttachment(a.ContentID, a.ContentType, a.Body)
		}
		if err == nil {
			err = enc.close()
		}
		pw.CloseWithError(err) // nil: the reader sees EOF
		writeErr <- err
	}()

	resp, err := c.httpClient().Do(req)
	// The server has answered (or the call failed): stop feeding the body
	// and wait for the writer, so no goroutine outlives the call. The body
	// is ended cleanly — the transport's next read sees io.EOF and the
	// writer's next write io.ErrClosedPipe — not aborted: over HTTP/2 a
	// body read error resets the stream, and the reset takes the response
	// being read with it.
	pw.Close()
	werr := <-writeErr
	if err != nil {
		if werr != nil && !errors.Is(werr, io.ErrClosedPipe) {
			return nil, fmt.Errorf("soap: sending attachments: %w", werr)
		}
		return nil, err
	}
	return c.readResponse(resp, id)
}

func (c *Client) headers(ctx context.Context, action string) ([]*etree.Element, error) {
	if c.Headers == nil {
		return nil, nil
	}
	return c.Headers(ctx, action)
}

func (c *Client) setHeader(req *http.Request) {
	for k, vs := range c.Header {
		for _, v := range vs {
			req.Header.Add(k, v)
		}
	}
}

func (c *Client) httpClient() *http.Client {
	if c.HTTP != nil {
		return c.HTTP
	}
	return http.DefaultClient
}

// ResponseError is a response that is not an acceptable SOAP message. It
// matches ErrUnexpectedResponse and, when the message was read but
// rejected, the kind of the rejection (ErrTooLarge, ErrMalformed …).
type ResponseError struct {
	StatusCode  int
	ContentType string
	err         error
}

func (e *ResponseError) Error() string {
	return fmt.Sprintf("soap: unexpected response (HTTP %d, %q): %v", e.StatusCode, e.ContentType, e.err)
}

func (e *ResponseError) Unwrap() []error {
	errs := []error{ErrUnexpectedResponse}
	var f *Fault
	if errors.As(e.err, &f) {
		return append(errs, f.Unwrap()...)
	}
	return append(errs, e.err)
}

func (c *Client) readResponse(resp *http.Response, requestID string) (*Response, error) {
	ct := resp.Header.Get("Content-Type")
	fail := func(err error) (*Response, error) {
		resp.Body.Close()
		return nil, &ResponseError{StatusCode: resp.StatusCode, ContentType: ct, err: err}
	}
	mt, _, _ := mime.ParseMediaType(ct)
	if mt != MediaSOAP12 && mt != MediaMultipart {
		return fail(errors.New("not a SOAP 1.2 message"))
	}
	m, err := readMessage(ct, resp.Body, resp.ContentLength, c.Limits.withDefaults(), false)
	if err != nil {
		return fail(err)
	}
	if m.fault != nil {
		resp.Body.Close()
		return nil, m.fault
	}
	if resp.StatusCode != http.StatusOK {
		return fail(errors.New("error status without a SOAP fault"))
	}
	if m.Addressing.RelatesTo != requestID {
		resp.Body.Close()
		return nil, fmt.Errorf("%w: RelatesTo %q, MessageID %q", ErrRelatesTo, m.Addressing.RelatesTo, requestID)
	}
	r := &Response{Message: m, StatusCode: resp.StatusCode, body: resp.Body}
	if !m.mtom {
		r.Close() // the whole message has been read
	}
	return r, nil
}
