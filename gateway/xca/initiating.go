package xca

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"slices"
	"time"

	"github.com/beevik/etree"
	"github.com/google/uuid"

	"pjd/gateway"
	"pjd/gateway/access"
	"pjd/gateway/audit"
	"pjd/gateway/authn"
	"pjd/gateway/soap"
	"pjd/registry"
	"pjd/registry/ebrim"
	"pjd/repository"
)

// InitiatingPath is where the Initiating Gateway is mounted.
const InitiatingPath = "/xca/initiating"

// Initiating is the Initiating Gateway's consumer interface (XDS Affinity
// Domain option, ITI TF-1 §18.2.1): ITI-18 and ITI-43 from XDS consumers,
// answered from the local registry and repository and from every
// community through the Guard's federation engine. The callers are those
// of /xds (persons with XUA, systems by client certificate, the --dev
// loopback), with the same policy and audit.
type Initiating struct {
	Guard *access.Guard
	Auth  *authn.SOAP
	// HomeCommunityID is this community's id (urn:oid:…).
	HomeCommunityID string
	Limits          soap.Limits
	Gate            *soap.Gate
	// QueryTimeout bounds an ITI-18 beyond the communities' own deadlines
	// (the route is a transfer route, for ITI-43); 0: none.
	QueryTimeout time.Duration
	Log          *slog.Logger
	Metrics      gateway.Metrics
}

// Handler is the POST /xca/initiating endpoint.
func (x *Initiating) Handler() http.Handler {
	if x.Log == nil {
		x.Log = slog.New(slog.DiscardHandler)
	}
	m := &soap.Mux{Limits: x.Limits, Gate: x.Gate, Logger: x.Log}
	m.Handle(ebrim.ActionStoredQuery, x.query)
	m.Handle(ebrim.ActionRetrieve, x.retrieve)
	return m
}

// responding lends the Responding Gateway's credential and error mapping.
func (x *Initiating) responding() *Responding {
	return &Responding{Guard: x.Guard, Auth: x.Auth, HomeCommunityID: x.HomeCommunityID, Log: x.Log, Metrics: x.Metrics}
}

// query is ITI-18 on the Initiating Gateway: the local registry and every
// community (or the one AdhocQuery/@home names), merged, home on every
// object; a failed community is PartialSuccess with XDSUnavailableCommunity
// (location = its id).
func (x *Initiating) query(w http.ResponseWriter, req *soap.Request) {
	ctx := req.HTTP.Context()
	r := x.responding()
	// Persons (XUA) and systems, refused with the fault, audited, that
	// /xca/responding gives.
	p, ok := r.principal(w, req, audit.TxITI18, audit.ActionQuery)
	if !ok {
		return
	}
	answer := func(res *access.FederatedResult, errs registry.ErrorList, status string) {
		if res == nil || res.QueryResult == nil {
			res = &access.FederatedResult{QueryResult: &registry.QueryResult{ReturnType: registry.ReturnLeafClass}}
		}
		x.Metrics.Transaction("ITI-18", outcomeName(status))
		body := ebrim.EncodeAdhocQueryResponse(res.QueryResult, status, errs)
		stampHomes(body, res.Homes, r.home())
		if err := soap.WriteResponse(w, ebrim.ActionStoredQuery+ebrim.ResponseSuffix, req.Addressing.MessageID, body); err != nil {
			r.logWriteError(ctx, "writing ITI-18 response", err)
		}
	}
	fail := func(errs registry.ErrorList) { answer(nil, errs, registry.ResponseFailure) }
	body := req.Body()
	if body.Tag != "AdhocQueryRequest" {
		fail(registry.ErrorList{registry.Errorf(registry.ErrCodeRegistryError, "expected query:AdhocQueryRequest, got %s", body.Tag)})
		return
	}
	q, err := ebrim.ParseAdhocQueryRequest(body)
	if err != nil {
		fail(r.protocolErrors(ctx, err, registry.ErrCodeRegistryError, registry.ErrCodeRegistryBusy))
		return
	}
	call := r.call(req, p, audit.TxITI18)
	call.Gateway = ""
	refuse := func(e registry.Error) {
		if aerr := x.Guard.RecordRefusal(ctx, call, audit.ActionQuery, "", "xca-request-rejected", e.Code+": "+e.Context); aerr != nil {
			fail(r.protocolErrors(ctx, aerr, registry.ErrCodeRegistryError, registry.ErrCodeRegistryBusy))
			return
		}
		fail(registry.ErrorList{e})
	}
	switch {
	case q.HomeCommunityID == "" && slices.Contains(idQueries, q.ID):
		// ITI TF-1 §18.2.1: the initiating gateway requires the
		// homeCommunityId on the queries that name no patient.
		refuse(registry.Errorf(registry.ErrCodeMissingHomeCommunityID, "a query without a patient id must name the community (AdhocQuery/@home, from the object's home)"))
		return
	case slices.Contains(notCrossGateway, q.ID):
		refuse(registry.Errorf(registry.ErrCodeUnknownStoredQuery, "stored query %s is not offered by the initiating gateway (use ITI-51 on /xds/registry)", q.ID))
		return
	}
	qctx := ctx
	if x.QueryTimeout > 0 {
		var cancel context.CancelFunc
		qctx, cancel = context.WithTimeout(ctx, x.QueryTimeout)
		defer cancel()
	}
	var res *access.FederatedResult
	if SameCommunity(q.HomeCommunityID, x.HomeCommunityID) {
		// This community's own: the local registry, as on /xds (the
		// Guard knows its home only when it federates).
		var lres *registry.QueryResult
		if lres, err = x.Guard.Query(qctx, call, q); err == nil {
			res = &access.FederatedResult{QueryResult: lres, LocalAsked: true}
		}
	} else {
		res, err = x.Guard.FederatedQuery(qctx, call, q)
	}
	switch d := (*access.Denied)(nil); {
	case errors.Is(err, access.ErrUnknownCommunity):
		fail(registry.ErrorList{{Code: registry.ErrCodeUnknownCommunity, Severity: registry.SeverityError, Location: clip(q.HomeCommunityID),
			Context: fmt.Sprintf("homeCommunityId %s is neither this community nor one it federates with", clip(q.HomeCommunityID))}})
		return
	case errors.As(err, &d) && d.Conceal:
		answer(&access.FederatedResult{QueryResult: &registry.QueryResult{ReturnType: q.ReturnType}}, nil, registry.ResponseSuccess)
		return
	case err != nil:
		fail(r.protocolErrors(ctx, err, registry.ErrCodeRegistryError, registry.ErrCodeRegistryBusy))
		return
	}
	errs := res.Errors()
	answer(res, errs, federatedStatus(errs, res))
}

// federatedStatus is the status of a federated answer: Success without
// errors; PartialSuccess when some source answered (the local registry,
// or a community that did not fail); Failure when none did.
func federatedStatus(errs registry.ErrorList, res *access.FederatedResult) string {
	if !errs.Failed() {
		return registry.ResponseSuccess
	}
	answered := res.LocalAsked
	for _, o := range res.Communities {
		answered = answered || !o.Failed
	}
	if answered {
		return registry.ResponsePartialSuccess
	}
	return registry.ResponseFailure
}

// stampHomes sets home on every ExtrinsicObject, RegistryPackage and
// ObjectRef of an AdhocQueryResponse from homes (by id; local when not
// there), and location (this community's id) on every RegistryError that
// has none.
func stampHomes(resp *etree.Element, homes map[string]string, local string) {
	for _, c := range resp.ChildElements() {
		switch c.Tag {
		case "RegistryObjectList":
			for _, o := range c.ChildElements() {
				if o.Tag != "ExtrinsicObject" && o.Tag != "RegistryPackage" && o.Tag != "ObjectRef" {
					continue
				}
				home := homes[o.SelectAttrValue("id", "")]
				if home == "" {
					home = o.SelectAttrValue("home", local)
				}
				o.CreateAttr("home", home)
			}
		case "RegistryErrorList":
			for _, e := range c.ChildElements() {
				if e.Tag == "RegistryError" && e.SelectAttrValue("location", "") == "" {
					e.CreateAttr("location", local)
				}
			}
		}
	}
}

// pending is one document of an ITI-43 answer: the local repository's or
// a community's.
type pending struct {
	resp ebrim.DocumentResponse
	cid  string
	open func(ctx context.Context) (io.ReadCloser, error)
}

// retrieve is ITI-43 on the Initiating Gateway: each DocumentRequest is
// routed by its HomeCommunityId — this community's to the local
// repository (ITI-43 through the Guard), another's to that community
// (ITI-39, decided and audited here on the document's metadata first),
// an unknown one is XDSUnknownCommunity, a community that cannot be asked
// XDSUnavailableCommunity (location = its id).
func (x *Initiating) retrieve(w http.ResponseWriter, req *soap.Request) {
	ctx := req.HTTP.Context()
	r := x.responding()
	// Persons (XUA) and systems, refused with the fault, audited, that
	// /xca/responding gives.
	p, ok := r.principal(w, req, audit.TxITI43, audit.ActionRead)
	if !ok {
		return
	}
	mw := soap.NewMTOMWriter(w, ebrim.ActionRetrieve+ebrim.ResponseSuffix, req.Addressing.MessageID)
	failWith := func(errs registry.ErrorList) {
		x.Metrics.Transaction("ITI-43", "Failure")
		body := ebrim.EncodeRetrieveDocumentSetResponse(registry.Response{Status: registry.ResponseFailure, Errors: errs}, nil)
		if err := mw.WriteEnvelope(body); err == nil {
			_ = mw.Close()
		}
	}
	protocol := func(err error) registry.ErrorList {
		return r.protocolErrors(ctx, err, registry.ErrCodeRepositoryError, registry.ErrCodeRepositoryBusy)
	}
	body := req.Body()
	if body.Tag != "RetrieveDocumentSetRequest" {
		failWith(registry.ErrorList{registry.Errorf(registry.ErrCodeRepositoryError, "expected xdsb:RetrieveDocumentSetRequest, got %s", body.Tag)})
		return
	}
	drs, err := ebrim.ParseRetrieveDocumentSetRequest(body)
	if err != nil {
		failWith(protocol(err))
		return
	}
	call := r.call(req, p, audit.TxITI43)
	call.Gateway = ""
	if call.EventID == "" && x.Guard.HomeCommunityID() != "" {
		call.EventID = uuid.NewString() // the correlation id every community is sent
	}
	var (
		local    []repository.DocumentRequest
		docs     []pending
		errs     registry.ErrorList
		opened   []io.Closer
		closeAll = func() {
			for _, c := range opened {
				c.Close()
			}
		}
	)
	for _, d := range drs {
		home := d.HomeCommunityID
		switch {
		case home == "":
			errs = append(errs, registry.Error{Code: registry.ErrCodeMissingHomeCommunityID, Severity: registry.SeverityError, Location: r.home(),
				Context: fmt.Sprintf("DocumentRequest for %s has no HomeCommunityId (the initiating gateway routes by it)", clip(d.DocumentUniqueID))})
		case SameCommunity(home, x.HomeCommunityID):
			local = append(local, repository.DocumentRequest{HomeCommunityID: home, RepositoryUniqueID: d.RepositoryUniqueID, DocumentUniqueID: d.DocumentUniqueID})
		case !x.Guard.Federates(home):
			errs = append(errs, registry.Error{Code: registry.ErrCodeUnknownCommunity, Severity: registry.SeverityError, Location: clip(home),
				Context: fmt.Sprintf("homeCommunityId %s is neither this community nor one it federates with; document %s not retrieved", clip(home), clip(d.DocumentUniqueID))})
		default:
			pd, perr, err := x.openRemote(ctx, call, d)
			if err != nil {
				closeAll()
				failWith(protocol(err))
				return
			}
			if perr != nil {
				errs = append(errs, *perr)
				continue
			}
			opened = append(opened, pd.closer)
			docs = append(docs, pd.pending)
		}
	}
	if len(local) == 0 && len(docs) == 0 {
		if aerr := x.Guard.RecordRefusal(ctx, call, audit.ActionRead, "", "xca-request-rejected", errs.Error()); aerr != nil {
			failWith(protocol(aerr))
			return
		}
		failWith(errs)
		return
	}
	if len(local) > 0 {
		res, err := x.Guard.Retrieve(ctx, call, local)
		if err != nil {
			closeAll()
			failWith(protocol(err))
			return
		}
		errs = append(slices.Clone(res.Response.Errors), errs...)
		for _, d := range res.Documents {
			docs = append(docs, pending{
				resp: ebrim.DocumentResponse{HomeCommunityID: d.HomeCommunityID, RepositoryUniqueID: d.RepositoryUniqueID,
					DocumentUniqueID: d.DocumentUniqueID, MimeType: d.MimeType},
				open: d.Open,
			})
		}
	}
	defer closeAll()
	resp := registry.Response{Status: registry.ResponseSuccess, Errors: errs}
	switch {
	case !errs.Failed():
	case len(docs) > 0:
		resp.Status = registry.ResponsePartialSuccess
	default:
		resp.Status = registry.ResponseFailure
	}
	out := make([]ebrim.DocumentResponse, len(docs))
	for i := range docs {
		_, docs[i].cid = soap.NewInclude()
		out[i] = docs[i].resp
		out[i].IncludeHref = "cid:" + docs[i].cid
	}
	if err := mw.WriteEnvelope(ebrim.EncodeRetrieveDocumentSetResponse(resp, out)); err != nil {
		r.logWriteError(ctx, "writing ITI-43 response", err)
		return
	}
	for _, d := range docs {
		rc, err := d.open(ctx)
		if err == nil {
			_, err = mw.WriteAttachment(d.cid, d.resp.MimeType, rc)
			rc.Close()
		}
		if err != nil {
			x.abort(ctx, call, d.resp.DocumentUniqueID, err)
			return
		}
	}
	if err := mw.Close(); err != nil {
		r.logWriteError(ctx, "closing ITI-43 response", err)
		return
	}
	x.Metrics.Transaction("ITI-43", outcomeName(resp.Status))
}

// remoteDoc is a community's document, authorized and opened.
type remoteDoc struct {
	pending
	closer io.Closer
}

// openRemote authorizes (and audits) reading another community's
// document and opens it (ITI-39), before the answer's envelope is
// written: a document the community does not hold, or one policy hides,
// is XDSDocumentUniqueIdError; a community that cannot be asked is
// XDSUnavailableCommunity. err is a failure of the whole request (the
// audit log, a principal refused outright).
func (x *Initiating) openRemote(ctx context.Context, call access.Call, d ebrim.DocumentRequest) (*remoteDoc, *registry.Error, error) {
	notFound := &registry.Error{Code: registry.ErrCodeDocumentUniqueIDError, Severity: registry.SeverityError, Location: clip(d.DocumentUniqueID),
		Context: "document not available: " + clip(d.DocumentUniqueID)}
	unavailable := func(err error) (*remoteDoc, *registry.Error, error) {
		cm, msg, ok := access.RemoteFailure(err)
		if !ok {
			return nil, nil, err
		}
		x.Log.WarnContext(ctx, "initiating gateway: community failed", "community", cm.ID, "err", err)
		return nil, &registry.Error{Code: access.ErrCodeUnavailableCommunity, Severity: registry.SeverityError, Location: cm.ID,
			Context: msg + "; document " + clip(d.DocumentUniqueID) + " not retrieved"}, nil
	}
	doc, err := x.Guard.OpenDocumentIn(ctx, call, d.HomeCommunityID, d.RepositoryUniqueID, d.DocumentUniqueID, "")
	var denied *access.Denied
	switch {
	case errors.Is(err, access.ErrNotFound), errors.As(err, &denied) && denied.Conceal:
		return nil, notFound, nil
	case err != nil:
		return unavailable(err)
	}
	rc, _, err := doc.Open(ctx)
	switch {
	case errors.Is(err, access.ErrNotFound):
		return nil, notFound, nil
	case err != nil:
		return unavailable(err)
	}
	used := false
	return &remoteDoc{
		pending: pending{
			resp: ebrim.DocumentResponse{HomeCommunityID: d.HomeCommunityID, RepositoryUniqueID: d.RepositoryUniqueID,
				DocumentUniqueID: d.DocumentUniqueID, MimeType: doc.Entry.MimeType},
			open: func(context.Context) (io.ReadCloser, error) {
				if used {
					return nil, errors.New("xca: document opened twice")
				}
				used = true
				return io.NopCloser(rc), nil
			},
		},
		closer: rc,
	}, nil, nil
}

// abort leaves an MTOM response without its closing boundary and records
// the failure.
func (x *Initiating) abort(ctx context.Context, call access.Call, uid string, err error) {
	if ctx.Err() != nil {
		x.Log.InfoContext(ctx, "ITI-43 response not taken by the client; aborted", "err", err)
	} else {
		x.Log.ErrorContext(ctx, "ITI-43 document stream failed; response aborted", "err", err)
	}
	x.Metrics.Transaction("ITI-43", "Aborted")
	if aerr := x.Guard.RecordError(context.WithoutCancel(ctx), call, audit.ActionRead, "",
		fmt.Sprintf("document %s could not be streamed", uid)); aerr != nil {
		x.Log.ErrorContext(ctx, "recording failed retrieval", "err", aerr)
	}
}
