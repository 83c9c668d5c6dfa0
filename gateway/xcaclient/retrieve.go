package xcaclient

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"pjd/registry"
	"pjd/registry/ebrim"
)

// Document is one document a community returned to ITI-39: its response
// and a reader of its bytes, streamed from the connection. Close it.
type Document struct {
	Response ebrim.DocumentResponse
	Body     io.Reader
	close    func()
}

// Close releases the connection and the community's slot.
func (d *Document) Close() error {
	d.close()
	return nil
}

// RetrieveOne sends an ITI-39 Cross Gateway Retrieve for one document of
// the community and returns it streaming. The community's deadline bounds
// the wait for its answer's envelope; the bytes then stream for as long as
// the caller reads (the server's idle timeout bounds a stalled stream).
// The call holds one of the community's slots until the Document is
// closed. A document the community does not return is the RegistryErrors
// it gave (registry.ErrorList, each with a location) — or
// XDSDocumentUniqueIdError when it gave none.
func (cl *Client) RetrieveOne(ctx context.Context, out Outbound, repositoryUniqueID, uniqueID string) (*Document, error) {
	if n, skip := cl.br.open(); skip {
		return nil, &Failure{Community: cl.c, Kind: KindSkipped,
			Message: fmt.Sprintf("%s skipped: %d failures in the last %s", cl.c.DisplayName(), n, cl.br.window)}
	}
	sc, err := cl.soapFor(ctx, out)
	if err != nil {
		return nil, err
	}
	select {
	case cl.slots <- struct{}{}:
	default:
		return nil, &Failure{Community: cl.c, Kind: KindBusy,
			Message: fmt.Sprintf("%s is busy: %d requests already in flight", cl.c.DisplayName(), cl.c.MaxConcurrent)}
	}
	ctx, cancel := context.WithCancel(ctx)
	var expired atomic.Bool
	timer := time.AfterFunc(cl.c.Timeout, func() { expired.Store(true); cancel() })
	var once sync.Once
	release := func() { once.Do(func() { timer.Stop(); cancel(); <-cl.slots }) }

	fail := func(err error) (*Document, error) {
		stopped := timer.Stop()
		release()
		var f *Failure
		switch {
		case errors.As(err, &f):
		case !stopped && expired.Load():
			f = &Failure{Community: cl.c, Kind: KindTimeout,
				Message: fmt.Sprintf("%s did not answer within %s", cl.c.DisplayName(), cl.c.Timeout), cause: err}
		case ctx.Err() != nil && !expired.Load():
			return nil, err // the consumer went away
		default:
			f = classify(cl.c, err)
		}
		cl.br.failure()
		return nil, f
	}
	req := []ebrim.DocumentRequest{{HomeCommunityID: cl.c.ID, RepositoryUniqueID: repositoryUniqueID, DocumentUniqueID: uniqueID}}
	resp, err := sc.CallMTOM(ctx, cl.c.URL, ActionCrossGatewayRetrieve, ebrim.EncodeRetrieveDocumentSetRequest(req), nil)
	if err != nil {
		return fail(err)
	}
	rr, docs, err := ebrim.ParseRetrieveDocumentSetResponse(resp.Body())
	if err != nil {
		resp.Close()
		return fail(&Failure{Community: cl.c, Kind: KindMalformed,
			Message: fmt.Sprintf("%s answered with something that is not a valid ITI-39 answer", cl.c.DisplayName()), cause: err})
	}
	if !timer.Stop() {
		resp.Close()
		return fail(context.DeadlineExceeded)
	}
	cl.br.success()
	var doc *ebrim.DocumentResponse
	for i := range docs {
		if docs[i].DocumentUniqueID == uniqueID && docs[i].RepositoryUniqueID == repositoryUniqueID {
			doc = &docs[i]
		}
	}
	if doc == nil {
		resp.Close()
		release()
		errs := cl.passOn(rr.Errors)
		if !errs.Failed() {
			errs = append(errs, registry.Error{Code: registry.ErrCodeDocumentUniqueIDError, Severity: registry.SeverityError,
				Location: uniqueID, Context: fmt.Sprintf("%s did not return document %s", cl.c.DisplayName(), uniqueID)})
		}
		return nil, errs
	}
	closeAll := func() { resp.Close(); release() }
	if doc.IncludeHref == "" {
		return &Document{Response: *doc, Body: bytes.NewReader(doc.Inline), close: closeAll}, nil
	}
	for {
		part, err := resp.NextPart()
		if err != nil {
			closeAll()
			cl.br.failure()
			return nil, &Failure{Community: cl.c, Kind: KindMalformed,
				Message: fmt.Sprintf("%s answered without the document's content", cl.c.DisplayName()), cause: err}
		}
		if part.ContentID == strings.TrimPrefix(doc.IncludeHref, "cid:") {
			return &Document{Response: *doc, Body: part.Body, close: closeAll}, nil
		}
	}
}
