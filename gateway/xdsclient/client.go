// Package xdsclient is pjd's XDS.b client: ITI-41, ITI-42, ITI-18 and
// ITI-43 over SOAP 1.2 (MTOM where IHE asks for it), streaming documents
// both ways. The repository role uses it to reach a registry running in
// another process, the pjd CLI uses it as a source and consumer, and the
// conformance suite uses it as the actors it plays.
//
// It must never buffer a document, and never treat an unanswered
// registration as a failure: ErrUnanswered means the outcome is unknown.
package xdsclient

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"

	"pjd/gateway/soap"
	"pjd/registry"
	"pjd/registry/ebrim"
	"pjd/repository"
)

// ErrUnanswered: the request was sent but no valid answer came back; the
// server may or may not have acted on it.
var ErrUnanswered = errors.New("xdsclient: no answer from the server")

// ErrAnswerTooLarge: the server answered with more than the client's
// limits accept (see ResponseLimits). The answer was not read, so what the
// server did is unknown: the error matches ErrUnanswered too.
var ErrAnswerTooLarge = errors.New("xdsclient: the answer was larger than this client accepts")

// Budgets of one registry object (a DocumentEntry, SubmissionSet, Folder
// or Association) in a query response, for ResponseLimits. A
// DocumentEntry with the Norwegian profile's metadata (an author with a
// person, two institutions and a role, sourcePatientInfo, a legal
// authenticator, service times) encodes to about 60 elements and 2.8 KB;
// the budgets leave room for several authors, event codes and long titles
// and comments in every entry at once.
const (
	ObjectElements = 256
	ObjectBytes    = 16 << 10
)

// ResponseLimits bound the responses a client reads so that a stored
// query answering maxResults objects — the most a registry returns before
// it answers XDSTooManyResults instead — is always read. The registry's
// limit (registry.Config.MaxResults, pjd serve --max-results) is at most
// registry.DefaultMaxResults, which New uses: a client made by New reads
// the full answer of any pjd registry.
func ResponseLimits(maxResults int) soap.Limits {
	return soap.Limits{
		MaxEnvelope: int64(maxResults)*ObjectBytes + 1<<20,
		MaxElements: maxResults*ObjectElements + 10_000,
	}
}

// Client calls a registry and a repository.
type Client struct {
	SOAP          *soap.Client
	RegistryURL   string // …/xds/registry
	RepositoryURL string // …/xds/repository
}

// New returns a Client for a pjd server at base (e.g. http://127.0.0.1:8080)
// serving both roles.
func New(base string, hc *http.Client) *Client {
	base = strings.TrimRight(base, "/")
	return &Client{SOAP: &soap.Client{HTTP: hc, Limits: ResponseLimits(registry.DefaultMaxResults)},
		RegistryURL: base + "/xds/registry", RepositoryURL: base + "/xds/repository"}
}

// Register sends ITI-42. Rejections come back in the list (Error
// severity) with a nil error.
func (c *Client) Register(ctx context.Context, sub *registry.Submission) (registry.ErrorList, error) {
	rr, err := registryResponse(c.SOAP.Call(ctx, c.RegistryURL, ebrim.ActionRegister, ebrim.EncodeSubmitObjectsRequest(sub)))
	if err != nil {
		return nil, err
	}
	return rr.Errors, nil
}

// Query sends ITI-18 and returns the result and the response status with
// its errors. err is non-nil only when no valid answer came back.
func (c *Client) Query(ctx context.Context, q *registry.Query) (*registry.QueryResult, registry.Response, error) {
	return c.adhocQuery(ctx, ebrim.ActionStoredQuery, q)
}

// adhocQuery sends q to the registry as a stored query of action and
// decodes the query:AdhocQueryResponse.
func (c *Client) adhocQuery(ctx context.Context, action string, q *registry.Query) (*registry.QueryResult, registry.Response, error) {
	resp, err := c.SOAP.Call(ctx, c.RegistryURL, action, ebrim.EncodeAdhocQueryRequest(q))
	if err != nil {
		return nil, registry.Response{}, unanswered(err)
	}
	defer resp.Close()
	res, rr, err := ebrim.ParseAdhocQueryResponse(resp.Body())
	if err != nil {
		return nil, registry.Response{}, fmt.Errorf("%w: %v", ErrUnanswered, err)
	}
	return res, rr, nil
}

// DocumentsByUniqueID runs GetDocuments (LeafClass) for the uniqueIds:
// the DocumentEntries of every availability status.
func (c *Client) DocumentsByUniqueID(ctx context.Context, uniqueIDs []string) ([]*registry.DocumentEntry, error) {
	if len(uniqueIDs) == 0 {
		return nil, nil
	}
	quoted := make([]string, len(uniqueIDs))
	for i, u := range uniqueIDs {
		quoted[i] = "'" + strings.ReplaceAll(u, "'", "''") + "'"
	}
	q := &registry.Query{ID: registry.QueryGetDocuments, ReturnType: registry.ReturnLeafClass, Params: []registry.Slot{
		{Name: registry.ParamDocumentEntryUniqueID, Values: []string{"(" + strings.Join(quoted, ",") + ")"}},
	}}
	res, rr, err := c.Query(ctx, q)
	if err != nil {
		return nil, err
	}
	if rr.Errors.Failed() {
		return nil, rr.Errors
	}
	return res.Documents, nil
}

// Document is one document to provide: the DocumentEntry id it belongs to,
// its media type and its bytes (read once, streaming).
type Document struct {
	ID       string
	MimeType string
	Body     io.Reader
}

// Provide sends ITI-41 with the documents as MTOM attachments, streamed.
// Rejections come back in the Response with a nil error.
func (c *Client) Provide(ctx context.Context, sub *registry.Submission, docs []Document) (registry.Response, error) {
	parts := make([]ebrim.DocumentPart, len(docs))
	atts := make([]soap.Attachment, len(docs))
	for i, d := range docs {
		_, cid := soap.NewInclude()
		parts[i] = ebrim.DocumentPart{ID: d.ID, IncludeHref: "cid:" + cid}
		ct := d.MimeType
		if ct == "" {
			ct = "application/octet-stream"
		}
		atts[i] = soap.Attachment{ContentID: cid, ContentType: ct, Body: d.Body}
	}
	return registryResponse(c.SOAP.CallMTOM(ctx, c.RepositoryURL, ebrim.ActionProvide, ebrim.EncodeProvideAndRegister(sub, parts), atts))
}

// registryResponse decodes the rs:RegistryResponse of a call's answer
// (resp, err).
func registryResponse(resp *soap.Response, err error) (registry.Response, error) {
	if err != nil {
		return registry.Response{}, unanswered(err)
	}
	defer resp.Close()
	rr, err := ebrim.ParseRegistryResponse(resp.Body())
	if err != nil {
		return registry.Response{}, fmt.Errorf("%w: %v", ErrUnanswered, err)
	}
	return rr, nil
}

// Retrieved is the answer to an ITI-43 request. Call Next for each
// document in turn; its Body streams from the connection until the next
// call. Close when done.
type Retrieved struct {
	Response registry.Response
	Docs     []ebrim.DocumentResponse
	resp     *soap.Response
	byCID    map[string]int
	// partsDone is set once every attachment has been read; inline is
	// the index of the next Docs entry to look at for inline documents.
	partsDone bool
	inline    int
}

// Next returns the next attachment's document response and a reader of its
// bytes, or io.EOF. Inline (base64) documents are returned by Next too,
// after the attachments.
func (r *Retrieved) Next() (*ebrim.DocumentResponse, io.Reader, error) {
	if !r.partsDone {
		part, err := r.resp.NextPart()
		if err == nil {
			i, ok := r.byCID[part.ContentID]
			if !ok {
				return nil, nil, fmt.Errorf("xdsclient: response part %q matches no DocumentResponse", part.ContentID)
			}
			return &r.Docs[i], part.Body, nil
		}
		if !errors.Is(err, io.EOF) {
			return nil, nil, err
		}
		r.partsDone = true
	}
	for r.inline < len(r.Docs) {
		d := &r.Docs[r.inline]
		r.inline++
		if d.IncludeHref == "" {
			return d, bytes.NewReader(d.Inline), nil
		}
	}
	return nil, nil, io.EOF
}

// Close releases the connection.
func (r *Retrieved) Close() error { return r.resp.Close() }

// Retrieve sends ITI-43 to the repository.
func (c *Client) Retrieve(ctx context.Context, reqs []repository.DocumentRequest) (*Retrieved, error) {
	drs := make([]ebrim.DocumentRequest, len(reqs))
	for i, r := range reqs {
		drs[i] = ebrim.DocumentRequest(r)
	}
	resp, err := c.SOAP.CallMTOM(ctx, c.RepositoryURL, ebrim.ActionRetrieve, ebrim.EncodeRetrieveDocumentSetRequest(drs), nil)
	if err != nil {
		return nil, unanswered(err)
	}
	rr, docs, err := ebrim.ParseRetrieveDocumentSetResponse(resp.Body())
	if err != nil {
		resp.Close()
		return nil, fmt.Errorf("%w: %v", ErrUnanswered, err)
	}
	out := &Retrieved{Response: rr, Docs: docs, resp: resp, byCID: map[string]int{}}
	for i, d := range docs {
		if d.IncludeHref != "" {
			out.byCID[strings.TrimPrefix(d.IncludeHref, "cid:")] = i
		}
	}
	return out, nil
}

// unanswered keeps SOAP faults as they are (the server answered, with a
// fault), marks an answer over the client's limits as ErrAnswerTooLarge
// and other failures as ErrUnanswered.
func unanswered(err error) error {
	var re *soap.ResponseError
	if errors.As(err, &re) && (errors.Is(err, soap.ErrTooLarge) || errors.Is(err, soap.ErrLimit)) {
		return &tooLargeError{status: re.StatusCode, cause: err}
	}
	var f *soap.Fault
	if errors.As(err, &f) {
		return err
	}
	return fmt.Errorf("%w: %w", ErrUnanswered, err)
}

// tooLargeError is an answer the client's limits refused.
type tooLargeError struct {
	status int
	cause  error
}

func (e *tooLargeError) Error() string {
	detail := e.cause.Error()
	var f *soap.Fault
	if errors.As(e.cause, &f) {
		// "soap fault env:Sender: The message has too many elements: elements > 200000"
		if _, rest, ok := strings.Cut(f.Error(), ": "); ok {
			detail = rest
		}
	}
	return fmt.Sprintf("%v (HTTP %d): %s", ErrAnswerTooLarge, e.status, detail)
}

func (e *tooLargeError) Unwrap() []error { return []error{ErrAnswerTooLarge, ErrUnanswered, e.cause} }

// Registry adapts a Client to repository.Registry for a repository whose
// registry runs in another process.
type Registry struct{ C *Client }

// Register implements repository.Registry: an unanswered ITI-42 wraps
// repository.ErrRegistry, so the repository leaves its blobs for the
// sweeper instead of deleting what may have been registered.
func (r Registry) Register(ctx context.Context, sub *registry.Submission) (registry.ErrorList, error) {
	l, err := r.C.Register(ctx, sub)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", repository.ErrRegistry, err)
	}
	return l, nil
}

// DocumentsByUniqueID implements repository.Registry.
func (r Registry) DocumentsByUniqueID(ctx context.Context, uids []string) ([]*registry.DocumentEntry, error) {
	d, err := r.C.DocumentsByUniqueID(ctx, uids)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", repository.ErrRegistry, err)
	}
	return d, nil
}

var _ repository.Registry = Registry{}
