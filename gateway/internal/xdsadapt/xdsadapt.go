// Package xdsadapt is what the two XDS-over-SOAP adapters, gateway/xds and
// gateway/xca, share, so that both speak the same protocol the same way:
// authenticating a SOAP request or answering it with the WS-Security
// fault (the refusal audited), the audit description of a call, reading
// an AdhocQueryRequest or a RetrieveDocumentSetRequest, turning errors
// from below into the RegistryErrors a client may see (the one mapping of
// both adapters; each adds only its own protocol's rules), writing a query
// answer, and the MTOM Retrieve Document Set answer whose documents stream
// from their source and which is left truncated, the failure audited, when
// one cannot be sent.
//
// It is a layer of its own between the Guard and the adapters
// (gateway/layering_test.go): it uses the Guard, the pieces and the
// codecs, and imports no adapter.
package xdsadapt

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"

	"github.com/beevik/etree"

	"pjd/gateway"
	"pjd/gateway/access"
	"pjd/gateway/audit"
	"pjd/gateway/authn"
	"pjd/gateway/soap"
	"pjd/registry"
	"pjd/registry/ebrim"
	"pjd/repository"
	"pjd/trust"
)

// Adapter is one adapter's view of the shared pieces.
type Adapter struct {
	Guard   *access.Guard
	Auth    *authn.SOAP
	Log     *slog.Logger
	Metrics gateway.Metrics
	// Kind names the adapter's requests in log messages ("SOAP", "XCA").
	Kind string
	// Accept, if set, refuses an authenticated principal the adapter does
	// not serve (a *trust.Error, answered as any refused credential).
	Accept func(*trust.Principal) error
	// Gateway, if set, names the gateway a request came through, for the
	// audit record (access.Call.Gateway).
	Gateway func(*http.Request, *trust.Principal) string
}

// Principal authenticates req or answers with a WS-Security fault; on a
// data transaction (tx not "") the refusal is audited first (ITI TF-2
// §3.40.4.1.3), and an audit log that cannot record it is a Receiver
// fault.
func (a *Adapter) Principal(w http.ResponseWriter, req *soap.Request, tx string, action audit.Action) (*trust.Principal, bool) {
	ctx := req.HTTP.Context()
	p, err := a.Auth.Principal(ctx, req)
	if err == nil && a.Accept != nil {
		err = a.Accept(p)
	}
	if err == nil {
		return p, true
	}
	a.Log.WarnContext(ctx, a.Kind+" request refused: no valid credential", "err", err)
	if tx != "" {
		if aerr := a.Guard.RecordRefusal(ctx, a.Call(req, nil, tx), action, "", "authentication", trust.Description(err)); aerr != nil {
			f := soap.ReceiverFault("the access log is unavailable; try again later", aerr)
			f.RelatesTo = req.Addressing.MessageID
			_ = soap.WriteFault(w, f)
			return nil, false
		}
	}
	reason := "authentication failed"
	sub := "FailedAuthentication"
	if errors.Is(err, authn.ErrNoCredential) {
		reason = "authentication required: an XUA assertion or a client certificate"
		sub = "SecurityTokenUnavailable"
	} else if te := (*trust.Error)(nil); errors.As(err, &te) {
		reason = te.Description
		sub = trust.WSSecurityFault(err)
	}
	f := soap.SenderFault(reason, err)
	f.Subcodes = []soap.QName{{Space: soap.NSSecurity, Local: sub}}
	f.RelatesTo = req.Addressing.MessageID
	_ = soap.WriteFault(w, f)
	return nil, false
}

// Call is the audit description of req, by p, as transaction tx.
func (a *Adapter) Call(req *soap.Request, p *trust.Principal, tx string) access.Call {
	r := req.HTTP
	c := access.Call{
		Principal:   p,
		Transaction: tx,
		RequestID:   gateway.RequestIDFrom(r.Context()),
		EventID:     r.Header.Get("nhn-event-id"),
		SourceIP:    gateway.ClientIP(r),
		UserAgent:   r.UserAgent(),
	}
	if a.Gateway != nil {
		c.Gateway = a.Gateway(r, p)
	}
	return c
}

// ProtocolErrors turns any error from below into RegistryErrors a client
// may see, logging what it may not. code is the transaction's generic
// code (XDSRegistryError, XDSRepositoryError, or a metadata error code);
// busy is the transient code of the side that serves it (XDSRegistryBusy
// or XDSRepositoryBusy, the only ITI TF codes that tell a caller to try
// again later), for a dependency that is unavailable (access.Unavailable:
// the database, object storage, the audit log, the request's deadline).
func (a *Adapter) ProtocolErrors(ctx context.Context, err error, code, busy string) registry.ErrorList {
	if l, ok := registry.AsErrors(err); ok {
		return l
	}
	var d *access.Denied
	switch {
	case errors.As(err, &d):
		return registry.ErrorList{registry.Errorf(code, "access denied by policy (%s)", d.Rule)}
	case errors.Is(err, access.ErrAudit):
		a.Log.WarnContext(ctx, a.Kind+" request failed: audit log unavailable", "err", err)
		return registry.ErrorList{registry.Errorf(busy, "the access log is temporarily unavailable, so nothing can be returned; try again later (request id %s)", gateway.RequestIDFrom(ctx))}
	case access.Unavailable(err):
		a.Log.WarnContext(ctx, a.Kind+" request failed: a dependency is unavailable", "err", err)
		what := "the registry"
		if busy == registry.ErrCodeRepositoryBusy {
			what = "the repository"
		}
		return registry.ErrorList{registry.Errorf(busy, "%s is temporarily unavailable; try again later (request id %s)", what, gateway.RequestIDFrom(ctx))}
	case errors.Is(err, context.Canceled):
		a.Log.InfoContext(ctx, a.Kind+" request cancelled by the client", "err", err)
		return registry.ErrorList{registry.Errorf(code, "the request was cancelled")}
	}
	a.Log.ErrorContext(ctx, "internal error", "err", err)
	return registry.ErrorList{registry.Errorf(code, "internal error (request id %s)", gateway.RequestIDFrom(ctx))}
}

// Refuse records the refusal of a request the adapter rejects by its own
// rules (errs, under rule), and returns what to answer: errs, or the
// transient error of an audit log that could not record it.
func (a *Adapter) Refuse(ctx context.Context, call access.Call, action audit.Action, rule string, errs registry.ErrorList, code, busy string) registry.ErrorList {
	if aerr := a.Guard.RecordRefusal(ctx, call, action, "", rule, errs.Error()); aerr != nil {
		return a.ProtocolErrors(ctx, aerr, code, busy)
	}
	return errs
}

// readQuery reads the AdhocQueryRequest of req. A body that is not one is an
// XDSRegistryError (as a registry.ErrorList, which ProtocolErrors passes
// on); so is one that does not parse.
func readQuery(req *soap.Request) (*registry.Query, error) {
	body := req.Body()
	if body.Tag != "AdhocQueryRequest" {
		return nil, registry.ErrorList{registry.Errorf(registry.ErrCodeRegistryError, "expected query:AdhocQueryRequest, got %s", body.Tag)}
	}
	return ebrim.ParseAdhocQueryRequest(body)
}

// retrieveRequests reads the DocumentRequests of a
// RetrieveDocumentSetRequest; a body that is not one is an
// XDSRepositoryError.
func retrieveRequests(req *soap.Request) ([]ebrim.DocumentRequest, error) {
	body := req.Body()
	if body.Tag != "RetrieveDocumentSetRequest" {
		return nil, registry.ErrorList{registry.Errorf(registry.ErrCodeRepositoryError, "expected xdsb:RetrieveDocumentSetRequest, got %s", body.Tag)}
	}
	return ebrim.ParseRetrieveDocumentSetRequest(body)
}

// DocumentRequests are drs as the repository takes them.
func DocumentRequests(drs []ebrim.DocumentRequest) []repository.DocumentRequest {
	out := make([]repository.DocumentRequest, len(drs))
	for i, d := range drs {
		out[i] = repository.DocumentRequest(d)
	}
	return out
}

// WriteQuery answers an AdhocQueryRequest (action is the request's) of
// transaction tx with res (an empty LeafClass result when nil), status and
// errs; stamp, if set, amends the response element before it is written.
func (a *Adapter) WriteQuery(w http.ResponseWriter, req *soap.Request, action, tx string, res *registry.QueryResult, status string, errs registry.ErrorList, stamp func(*etree.Element)) {
	if res == nil {
		res = &registry.QueryResult{ReturnType: registry.ReturnLeafClass}
	}
	a.Metrics.Transaction(tx, Outcome(status))
	body := ebrim.EncodeAdhocQueryResponse(res, status, errs)
	if stamp != nil {
		stamp(body)
	}
	if err := soap.WriteResponse(w, action+ebrim.ResponseSuffix, req.Addressing.MessageID, body); err != nil {
		a.LogWriteError(req.HTTP.Context(), "writing "+tx+" response", err)
	}
}

// LogWriteError logs a failure to write a response: at INFO when the
// client went away (its request context ended), at ERROR otherwise.
func (a *Adapter) LogWriteError(ctx context.Context, msg string, err error) {
	if ctx.Err() != nil {
		a.Log.InfoContext(ctx, msg+": the client went away", "err", err)
		return
	}
	a.Log.ErrorContext(ctx, msg, "err", err)
}

// Outcome is the metrics outcome of a response status.
func Outcome(status string) string {
	switch status {
	case registry.ResponseSuccess:
		return "Success"
	case registry.ResponsePartialSuccess:
		return "PartialSuccess"
	default:
		return "Failure"
	}
}

// Document is one document of a Retrieve Document Set answer: its
// DocumentResponse (IncludeHref is set when it is written) and how to open
// its bytes.
type Document struct {
	Response ebrim.DocumentResponse
	Open     func(ctx context.Context) (io.ReadCloser, error)
}

// Retrieved are a repository's documents as a Retrieve Document Set
// answer's.
func Retrieved(docs []repository.RetrievedDocument) []Document {
	out := make([]Document, len(docs))
	for i, d := range docs {
		out[i] = Document{
			Response: ebrim.DocumentResponse{HomeCommunityID: d.HomeCommunityID, RepositoryUniqueID: d.RepositoryUniqueID,
				DocumentUniqueID: d.DocumentUniqueID, MimeType: d.MimeType},
			Open: d.Open,
		}
	}
	return out
}

// Retrieval is the MTOM answer to a Retrieve Document Set request (ITI-43,
// ITI-39) of transaction tx.
type Retrieval struct {
	a  *Adapter
	mw *soap.MTOMWriter
	tx string
}

// NewRetrieval starts the answer to req (action is the request's).
func (a *Adapter) NewRetrieval(w http.ResponseWriter, req *soap.Request, action, tx string) *Retrieval {
	return &Retrieval{a: a, mw: soap.NewMTOMWriter(w, action+ebrim.ResponseSuffix, req.Addressing.MessageID), tx: tx}
}

// Fail answers with a Failure response holding errs and no document.
func (r *Retrieval) Fail(errs registry.ErrorList) {
	r.a.Metrics.Transaction(r.tx, "Failure")
	body := ebrim.EncodeRetrieveDocumentSetResponse(registry.Response{Status: registry.ResponseFailure, Errors: errs}, nil)
	if err := r.mw.WriteEnvelope(body); err == nil {
		_ = r.mw.Close()
	}
}

// Send answers with resp and docs, each streamed as an attachment in
// turn. A document that cannot be opened or sent leaves the response
// without its closing boundary (the client sees it truncated, never
// complete), and the failure is recorded for call.
func (r *Retrieval) Send(ctx context.Context, call access.Call, resp registry.Response, docs []Document) {
	out := make([]ebrim.DocumentResponse, len(docs))
	cids := make([]string, len(docs))
	for i, d := range docs {
		_, cids[i] = soap.NewInclude()
		out[i] = d.Response
		out[i].IncludeHref = "cid:" + cids[i]
	}
	if err := r.mw.WriteEnvelope(ebrim.EncodeRetrieveDocumentSetResponse(resp, out)); err != nil {
		r.a.LogWriteError(ctx, "writing "+r.tx+" response", err)
		return
	}
	for i, d := range docs {
		rc, err := d.Open(ctx)
		if err == nil {
			_, err = r.mw.WriteAttachment(cids[i], d.Response.MimeType, rc)
			rc.Close()
		}
		if err != nil {
			r.abort(ctx, call, d.Response.DocumentUniqueID, err)
			return
		}
	}
	if err := r.mw.Close(); err != nil {
		r.a.LogWriteError(ctx, "closing "+r.tx+" response", err)
		return
	}
	r.a.Metrics.Transaction(r.tx, Outcome(resp.Status))
}

// abort logs and records a response left truncated.
func (r *Retrieval) abort(ctx context.Context, call access.Call, uid string, err error) {
	if ctx.Err() != nil {
		r.a.Log.InfoContext(ctx, r.tx+" response not taken by the client; aborted", "err", err)
	} else {
		r.a.Log.ErrorContext(ctx, r.tx+" document stream failed; response aborted", "err", err)
	}
	r.a.Metrics.Transaction(r.tx, "Aborted")
	if aerr := r.a.Guard.RecordError(context.WithoutCancel(ctx), call, audit.ActionRead, "",
		fmt.Sprintf("document %s could not be streamed", uid)); aerr != nil {
		r.a.Log.ErrorContext(ctx, "recording failed retrieval", "err", aerr)
	}
}

// RetrievalStatus is the status of a Retrieve Document Set answer with
// errs and n documents: Success without errors, PartialSuccess when some
// document is sent nonetheless, Failure when none is.
func RetrievalStatus(errs registry.ErrorList, n int) string {
	switch {
	case !errs.Failed():
		return registry.ResponseSuccess
	case n > 0:
		return registry.ResponsePartialSuccess
	default:
		return registry.ResponseFailure
	}
}

// BeginQuery authenticates a stored query (a refusal audited as
// transaction tx) and reads its AdhocQueryRequest; a request that does not
// parse is answered with fail. ok is false when the request has been
// answered.
func (a *Adapter) BeginQuery(w http.ResponseWriter, req *soap.Request, tx string, fail func(registry.ErrorList)) (p *trust.Principal, q *registry.Query, ok bool) {
	if p, ok = a.Principal(w, req, tx, audit.ActionQuery); !ok {
		return nil, nil, false
	}
	q, err := readQuery(req)
	if err != nil {
		fail(a.ProtocolErrors(req.HTTP.Context(), err, registry.ErrCodeRegistryError, registry.ErrCodeRegistryBusy))
		return nil, nil, false
	}
	return p, q, true
}

// BeginRetrieval authenticates a Retrieve Document Set request (a refusal
// audited as transaction auditTx), starts its answer (action is the
// request's, tx names it in the metrics) and reads its DocumentRequests; a
// request that does not parse is answered. ok is false when the request
// has been answered.
func (a *Adapter) BeginRetrieval(w http.ResponseWriter, req *soap.Request, action, tx, auditTx string) (p *trust.Principal, rw *Retrieval, drs []ebrim.DocumentRequest, ok bool) {
	if p, ok = a.Principal(w, req, auditTx, audit.ActionRead); !ok {
		return nil, nil, nil, false
	}
	rw = a.NewRetrieval(w, req, action, tx)
	drs, err := retrieveRequests(req)
	if err != nil {
		rw.Fail(a.ProtocolErrors(req.HTTP.Context(), err, registry.ErrCodeRepositoryError, registry.ErrCodeRepositoryBusy))
		return nil, nil, nil, false
	}
	return p, rw, drs, true
}
