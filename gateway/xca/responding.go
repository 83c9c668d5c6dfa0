package xca

import (
	"context"
	"crypto/x509"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/beevik/etree"

	"pjd/gateway"
	"pjd/gateway/access"
	"pjd/gateway/audit"
	"pjd/gateway/authn"
	"pjd/gateway/soap"
	"pjd/registry"
	"pjd/registry/ebrim"
	"pjd/registry/oid"
	"pjd/repository"
	"pjd/trust"
)

// WS-Addressing actions of XCA (ITI TF-2 §3.38.5, §3.39.5); a response's
// action is the request's with ebrim.ResponseSuffix.
const (
	ActionCrossGatewayQuery    = "urn:ihe:iti:2007:CrossGatewayQuery"
	ActionCrossGatewayRetrieve = "urn:ihe:iti:2007:CrossGatewayRetrieve"
)

// RespondingPath is where the Responding Gateway is mounted.
const RespondingPath = "/xca/responding"

// Responding is the Responding Gateway: ITI-38 and ITI-39 over this
// node's registry and repository, through the Guard.
type Responding struct {
	Guard *access.Guard
	Auth  *authn.SOAP
	// HomeCommunityID is this community's id (urn:oid:…, or a bare OID).
	HomeCommunityID string
	Limits          soap.Limits
	// Gate, if set, bounds the envelopes read at once.
	Gate *soap.Gate
	// QueryTimeout bounds an ITI-38 (the route is a transfer route, for
	// ITI-39, so the server's search deadline does not apply); 0: none
	// beyond the request's own.
	QueryTimeout time.Duration
	Log          *slog.Logger
	Metrics      gateway.Metrics
}

// Handler is the POST /xca/responding endpoint.
func (x *Responding) Handler() http.Handler {
	if x.Log == nil {
		x.Log = slog.New(slog.DiscardHandler)
	}
	m := &soap.Mux{Limits: x.Limits, Gate: x.Gate, Logger: x.Log}
	m.Handle(ActionCrossGatewayQuery, x.query)
	m.Handle(ActionCrossGatewayRetrieve, x.retrieve)
	return m
}

// home is this community's id as written on answers: urn:oid:….
func (x *Responding) home() string {
	return oid.URNPrefix + oid.Bare(strings.TrimSpace(x.HomeCommunityID))
}

// SameCommunity reports whether two homeCommunityIds name the same
// community ("urn:oid:X" and "X" are equal; NHN sends bare OIDs).
func SameCommunity(a, b string) bool {
	return oid.Bare(strings.TrimSpace(a)) == oid.Bare(strings.TrimSpace(b))
}

// idQueries are the stored queries that name no patient: ITI-38 requires
// home on them (ITI TF-2 §3.38.4.1.2.1).
var idQueries = []string{
	registry.QueryGetDocuments, registry.QueryGetFolders, registry.QueryGetAssociations,
	registry.QueryGetDocumentsAndAssociations, registry.QueryGetSubmissionSets,
	registry.QueryGetSubmissionSetAndContents, registry.QueryGetFolderAndContents,
	registry.QueryGetFoldersForDocument, registry.QueryGetRelatedDocuments,
}

// notCrossGateway are stored queries that are not ITI-38 queries (ITI-51
// Multi-Patient Query) [judgement: research digest §1.8].
var notCrossGateway = []string{registry.QueryFindDocumentsForMultiplePatients, registry.QueryFindFoldersForMultiplePatients}

// principal authenticates req or answers with a WS-Security fault; the
// refusal is audited first (ITI TF-2 §3.40.4.1.3).
func (x *Responding) principal(w http.ResponseWriter, req *soap.Request, tx string, action audit.Action) (*trust.Principal, bool) {
	ctx := req.HTTP.Context()
	p, err := x.Auth.Principal(ctx, req)
	if err == nil && !p.IsSystem() && p.Kind != trust.HealthWorker && p.Kind != trust.Citizen {
		err = &trust.Error{Kind: trust.KindPersonRequired, Description: "the responding gateway answers persons (XUA) and systems (client certificate) only"}
	}
	if err == nil {
		return p, true
	}
	x.Log.WarnContext(ctx, "XCA request refused: no valid credential", "err", err)
	if aerr := x.Guard.RecordRefusal(ctx, x.call(req, nil, tx), action, "", "authentication", trust.Description(err)); aerr != nil {
		f := soap.ReceiverFault("the access log is unavailable; try again later", aerr)
		f.RelatesTo = req.Addressing.MessageID
		_ = soap.WriteFault(w, f)
		return nil, false
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

// call is the audit description of req: the person or system, and the
// calling gateway.
func (x *Responding) call(req *soap.Request, p *trust.Principal, tx string) access.Call {
	r := req.HTTP
	return access.Call{
		Principal:   p,
		Transaction: tx,
		RequestID:   gateway.RequestIDFrom(r.Context()),
		EventID:     r.Header.Get("nhn-event-id"),
		Gateway:     CallingGateway(r, p),
		SourceIP:    gateway.ClientIP(r),
		UserAgent:   r.UserAgent(),
	}
}

// CallingGateway names the gateway a request came through: the initiating
// community the XUA assertion names, and the client certificate the
// connection was made with, when there is one.
func CallingGateway(r *http.Request, p *trust.Principal) string {
	var parts []string
	if p != nil && p.Credential == trust.CredentialXUASAML {
		if p.HomeCommunityID != "" {
			parts = append(parts, "community "+oid.URNPrefix+oid.Bare(p.HomeCommunityID))
		}
		if p.Client.ID != "" {
			parts = append(parts, "client "+p.Client.ID)
		}
	}
	if r.TLS != nil && len(r.TLS.VerifiedChains) > 0 && len(r.TLS.VerifiedChains[0]) > 0 {
		parts = append(parts, "certificate "+certName(r.TLS.VerifiedChains[0][0]))
	}
	if len(parts) == 0 && p != nil && p.Credential == trust.CredentialDevLoopback {
		parts = append(parts, "dev loopback")
	}
	return strings.Join(parts, "; ")
}

func certName(c *x509.Certificate) string {
	s := c.Subject.String()
	if len(s) > 200 {
		s = s[:200]
	}
	return s
}

// protocolErrors turns any error from below into RegistryErrors a client
// may see, logging what it may not; dependency outages are the transient
// code of the side that failed (busy), never "internal error" alone.
func (x *Responding) protocolErrors(ctx context.Context, err error, code, busy string) registry.ErrorList {
	if l, ok := registry.AsErrors(err); ok {
		return l
	}
	var d *access.Denied
	switch {
	case errors.As(err, &d):
		return registry.ErrorList{registry.Errorf(code, "access denied by policy (%s)", d.Rule)}
	case errors.Is(err, access.ErrAudit):
		x.Log.WarnContext(ctx, "XCA request failed: audit log unavailable", "err", err)
		return registry.ErrorList{registry.Errorf(busy, "the access log is temporarily unavailable, so nothing can be returned; try again later (request id %s)", gateway.RequestIDFrom(ctx))}
	case access.Unavailable(err):
		x.Log.WarnContext(ctx, "XCA request failed: a dependency is unavailable", "err", err)
		what := "the registry"
		if busy == registry.ErrCodeRepositoryBusy {
			what = "the repository"
		}
		return registry.ErrorList{registry.Errorf(busy, "%s is temporarily unavailable; try again later (request id %s)", what, gateway.RequestIDFrom(ctx))}
	case errors.Is(err, context.Canceled):
		x.Log.InfoContext(ctx, "XCA request cancelled by the client", "err", err)
		return registry.ErrorList{registry.Errorf(code, "the request was cancelled")}
	}
	x.Log.ErrorContext(ctx, "internal error", "err", err)
	return registry.ErrorList{registry.Errorf(code, "internal error (request id %s)", gateway.RequestIDFrom(ctx))}
}

// query is ITI-38 Cross Gateway Query: ITI-18 over the Guard, with the
// community rules.
func (x *Responding) query(w http.ResponseWriter, req *soap.Request) {
	ctx := req.HTTP.Context()
	p, ok := x.principal(w, req, audit.TxITI38, audit.ActionQuery)
	if !ok {
		return
	}
	answer := func(res *registry.QueryResult, errs registry.ErrorList) {
		status := registry.StatusFor(errs)
		if res == nil {
			res = &registry.QueryResult{ReturnType: registry.ReturnLeafClass}
		}
		x.Metrics.Transaction("ITI-38", outcomeName(status))
		body := ebrim.EncodeAdhocQueryResponse(res, status, errs)
		StampHome(body, x.home())
		if err := soap.WriteResponse(w, ActionCrossGatewayQuery+ebrim.ResponseSuffix, req.Addressing.MessageID, body); err != nil {
			x.logWriteError(ctx, "writing ITI-38 response", err)
		}
	}
	body := req.Body()
	if body.Tag != "AdhocQueryRequest" {
		answer(nil, registry.ErrorList{registry.Errorf(registry.ErrCodeRegistryError, "expected query:AdhocQueryRequest, got %s", body.Tag)})
		return
	}
	q, err := ebrim.ParseAdhocQueryRequest(body)
	if err != nil {
		answer(nil, x.protocolErrors(ctx, err, registry.ErrCodeRegistryError, registry.ErrCodeRegistryBusy))
		return
	}
	call := x.call(req, p, audit.TxITI38)
	refuse := func(e registry.Error) {
		if aerr := x.Guard.RecordRefusal(ctx, call, audit.ActionQuery, "", "xca-request-rejected", e.Code+": "+e.Context); aerr != nil {
			answer(nil, x.protocolErrors(ctx, aerr, registry.ErrCodeRegistryError, registry.ErrCodeRegistryBusy))
			return
		}
		answer(nil, registry.ErrorList{e})
	}
	switch {
	case q.HomeCommunityID != "" && !SameCommunity(q.HomeCommunityID, x.HomeCommunityID):
		refuse(registry.Errorf(registry.ErrCodeUnknownCommunity, "homeCommunityId %s is not served here", clip(q.HomeCommunityID)))
		return
	case q.HomeCommunityID == "" && slices.Contains(idQueries, q.ID):
		refuse(registry.Errorf(registry.ErrCodeMissingHomeCommunityID, "a Cross Gateway Query without a patient id must name the community (AdhocQuery/@home)"))
		return
	case slices.Contains(notCrossGateway, q.ID):
		refuse(registry.Errorf(registry.ErrCodeUnknownStoredQuery, "stored query %s is not offered through Cross Gateway Query", q.ID))
		return
	}
	qctx := ctx
	if x.QueryTimeout > 0 {
		var cancel context.CancelFunc
		qctx, cancel = context.WithTimeout(ctx, x.QueryTimeout)
		defer cancel()
	}
	res, err := x.Guard.Query(qctx, call, q)
	if d := (*access.Denied)(nil); errors.As(err, &d) && d.Conceal {
		// About documents the caller may not know exist: answer as for
		// documents that do not.
		answer(&registry.QueryResult{ReturnType: q.ReturnType}, nil)
		return
	}
	if err != nil {
		answer(&registry.QueryResult{ReturnType: q.ReturnType}, x.protocolErrors(ctx, err, registry.ErrCodeRegistryError, registry.ErrCodeRegistryBusy))
		return
	}
	answer(res, res.Warnings)
}

// StampHome sets home on every ExtrinsicObject, RegistryPackage and
// ObjectRef of an AdhocQueryResponse (ITI TF-2 §3.38.4.1.3; Associations
// are not listed there and get none [judgement: research digest §1.3]),
// and location on every RegistryError ("every RegistryError … shall have
// the location attribute set to one of the homeCommunityIds of the
// Responding Gateway").
func StampHome(resp *etree.Element, home string) {
	for _, c := range resp.ChildElements() {
		switch c.Tag {
		case "RegistryObjectList":
			for _, o := range c.ChildElements() {
				if o.Tag == "ExtrinsicObject" || o.Tag == "RegistryPackage" || o.Tag == "ObjectRef" {
					o.CreateAttr("home", home)
				}
			}
		case "RegistryErrorList":
			for _, e := range c.ChildElements() {
				if e.Tag == "RegistryError" {
					e.CreateAttr("location", home)
				}
			}
		}
	}
}

// retrieve is ITI-39 Cross Gateway Retrieve: ITI-43 over the Guard for
// the DocumentRequests addressed to this community, an MTOM answer whose
// documents stream from the blob store.
func (x *Responding) retrieve(w http.ResponseWriter, req *soap.Request) {
	ctx := req.HTTP.Context()
	p, ok := x.principal(w, req, audit.TxITI39, audit.ActionRead)
	if !ok {
		return
	}
	action := ActionCrossGatewayRetrieve + ebrim.ResponseSuffix
	mw := soap.NewMTOMWriter(w, action, req.Addressing.MessageID)
	failWith := func(errs registry.ErrorList) {
		x.Metrics.Transaction("ITI-39", "Failure")
		body := ebrim.EncodeRetrieveDocumentSetResponse(registry.Response{Status: registry.ResponseFailure, Errors: errs}, nil)
		if err := mw.WriteEnvelope(body); err == nil {
			_ = mw.Close()
		}
	}
	body := req.Body()
	if body.Tag != "RetrieveDocumentSetRequest" {
		failWith(registry.ErrorList{registry.Errorf(registry.ErrCodeRepositoryError, "expected xdsb:RetrieveDocumentSetRequest, got %s", body.Tag)})
		return
	}
	drs, err := ebrim.ParseRetrieveDocumentSetRequest(body)
	if err != nil {
		failWith(x.protocolErrors(ctx, err, registry.ErrCodeRepositoryError, registry.ErrCodeRepositoryBusy))
		return
	}
	// The community rules per DocumentRequest; request-level errors carry
	// this community's id as location [judgement: research digest §1.6].
	var reqs []repository.DocumentRequest
	var communityErrs registry.ErrorList
	for _, d := range drs {
		switch {
		case d.HomeCommunityID == "":
			communityErrs = append(communityErrs, registry.Error{Code: registry.ErrCodeMissingHomeCommunityID, Severity: registry.SeverityError,
				Context: fmt.Sprintf("DocumentRequest for %s has no HomeCommunityId (required in Cross Gateway Retrieve)", clip(d.DocumentUniqueID)), Location: x.home()})
		case !SameCommunity(d.HomeCommunityID, x.HomeCommunityID):
			communityErrs = append(communityErrs, registry.Error{Code: registry.ErrCodeUnknownCommunity, Severity: registry.SeverityError,
				Context: fmt.Sprintf("homeCommunityId %s is not served here; document %s not retrieved", clip(d.HomeCommunityID), clip(d.DocumentUniqueID)), Location: x.home()})
		default:
			reqs = append(reqs, repository.DocumentRequest{HomeCommunityID: d.HomeCommunityID, RepositoryUniqueID: d.RepositoryUniqueID, DocumentUniqueID: d.DocumentUniqueID})
		}
	}
	call := x.call(req, p, audit.TxITI39)
	if len(reqs) == 0 {
		if aerr := x.Guard.RecordRefusal(ctx, call, audit.ActionRead, "", "xca-request-rejected", communityErrs.Error()); aerr != nil {
			failWith(x.protocolErrors(ctx, aerr, registry.ErrCodeRepositoryError, registry.ErrCodeRepositoryBusy))
			return
		}
		failWith(communityErrs)
		return
	}
	res, err := x.Guard.Retrieve(ctx, call, reqs)
	if err != nil {
		failWith(x.protocolErrors(ctx, err, registry.ErrCodeRepositoryError, registry.ErrCodeRepositoryBusy))
		return
	}
	resp := res.Response
	resp.Errors = append(append(registry.ErrorList(nil), resp.Errors...), communityErrs...)
	switch {
	case !resp.Errors.Failed():
		resp.Status = registry.ResponseSuccess
	case len(res.Documents) > 0:
		resp.Status = registry.ResponsePartialSuccess
	default:
		resp.Status = registry.ResponseFailure
	}
	out := make([]ebrim.DocumentResponse, len(res.Documents))
	cids := make([]string, len(res.Documents))
	for i, d := range res.Documents {
		_, cid := soap.NewInclude()
		cids[i] = cid
		out[i] = ebrim.DocumentResponse{HomeCommunityID: d.HomeCommunityID, RepositoryUniqueID: d.RepositoryUniqueID,
			DocumentUniqueID: d.DocumentUniqueID, MimeType: d.MimeType, IncludeHref: "cid:" + cid}
	}
	if err := mw.WriteEnvelope(ebrim.EncodeRetrieveDocumentSetResponse(resp, out)); err != nil {
		x.logWriteError(ctx, "writing ITI-39 response", err)
		return
	}
	for i, d := range res.Documents {
		rc, err := d.Open(ctx)
		if err != nil {
			x.abortRetrieve(ctx, call, d, err)
			return
		}
		_, err = mw.WriteAttachment(cids[i], d.MimeType, rc)
		rc.Close()
		if err != nil {
			x.abortRetrieve(ctx, call, d, err)
			return
		}
	}
	if err := mw.Close(); err != nil {
		x.logWriteError(ctx, "closing ITI-39 response", err)
		return
	}
	x.Metrics.Transaction("ITI-39", outcomeName(resp.Status))
}

// abortRetrieve leaves an MTOM response without its closing boundary (the
// caller sees it truncated, never complete) and records the failure.
func (x *Responding) abortRetrieve(ctx context.Context, call access.Call, d repository.RetrievedDocument, err error) {
	if ctx.Err() != nil {
		x.Log.InfoContext(ctx, "ITI-39 response not taken by the caller; aborted", "err", err)
	} else {
		x.Log.ErrorContext(ctx, "ITI-39 document stream failed; response aborted", "err", err)
	}
	x.Metrics.Transaction("ITI-39", "Aborted")
	if aerr := x.Guard.RecordError(context.WithoutCancel(ctx), call, audit.ActionRead, "",
		fmt.Sprintf("document %s could not be streamed", d.DocumentUniqueID)); aerr != nil {
		x.Log.ErrorContext(ctx, "recording failed retrieval", "err", aerr)
	}
}

func (x *Responding) logWriteError(ctx context.Context, msg string, err error) {
	if ctx.Err() != nil {
		x.Log.InfoContext(ctx, msg+": the caller went away", "err", err)
		return
	}
	x.Log.ErrorContext(ctx, msg, "err", err)
}

// clip bounds a value echoed from the request into an error.
func clip(s string) string {
	if len(s) > 128 {
		return s[:128] + "…"
	}
	return s
}

func outcomeName(status string) string {
	switch status {
	case registry.ResponseSuccess:
		return "Success"
	case registry.ResponsePartialSuccess:
		return "PartialSuccess"
	default:
		return "Failure"
	}
}
