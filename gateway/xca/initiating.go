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
	"pjd/gateway/internal/xdsadapt"
	"pjd/gateway/soap"
	"pjd/registry"
	"pjd/registry/ebrim"
	"pjd/repository"
	"pjd/trust"
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

// adapter is the shared XDS-over-SOAP pieces as the Responding Gateway
// uses them: the callers it accepts, refused with the same fault, audited.
func (x *Initiating) adapter() *xdsadapt.Adapter {
	return (&Responding{Guard: x.Guard, Auth: x.Auth, Log: x.Log, Metrics: x.Metrics}).adapter()
}

// home is this community's id as written on answers: urn:oid:….
func (x *Initiating) home() string { return (&Responding{HomeCommunityID: x.HomeCommunityID}).home() }

// call is the audit description of an authenticated request: the
// consumer's own, through no other gateway.
func call(a *xdsadapt.Adapter, req *soap.Request, p *trust.Principal, tx string) access.Call {
	c := a.Call(req, p, tx)
	c.Gateway = ""
	return c
}

// query is ITI-18 on the Initiating Gateway: the local registry and every
// community (or the one AdhocQuery/@home names), merged, home on every
// object; a failed community is PartialSuccess with XDSUnavailableCommunity
// (location = its id).
func (x *Initiating) query(w http.ResponseWriter, req *soap.Request) {
	ctx := req.HTTP.Context()
	// Persons (XUA) and systems, refused with the fault, audited, that
	// /xca/responding gives.
	a := x.adapter()
	answer := func(res *access.FederatedResult, errs registry.ErrorList, status string) {
		if res == nil {
			res = &access.FederatedResult{}
		}
		a.WriteQuery(w, req, ebrim.ActionStoredQuery, "ITI-18", res.QueryResult, status, errs,
			func(body *etree.Element) { stampHomes(body, res.Homes, x.home()) })
	}
	fail := func(errs registry.ErrorList) { answer(nil, errs, registry.ResponseFailure) }
	p, q, ok := a.BeginQuery(w, req, audit.TxITI18, fail)
	if !ok {
		return
	}
	protocol := func(err error) registry.ErrorList {
		return a.ProtocolErrors(ctx, err, registry.ErrCodeRegistryError, registry.ErrCodeRegistryBusy)
	}
	call := call(a, req, p, audit.TxITI18)
	refuse := func(e registry.Error) {
		fail(a.Refuse(ctx, call, audit.ActionQuery, "xca-request-rejected", registry.ErrorList{e},
			registry.ErrCodeRegistryError, registry.ErrCodeRegistryBusy))
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
	qctx, cancel := withTimeout(ctx, x.QueryTimeout)
	defer cancel()
	var (
		res *access.FederatedResult
		err error
	)
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
		fail(protocol(err))
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
	stamp(resp, func(o *etree.Element) {
		home := homes[o.SelectAttrValue("id", "")]
		if home == "" {
			home = o.SelectAttrValue("home", local)
		}
		o.CreateAttr("home", home)
	}, func(e *etree.Element) {
		if e.SelectAttrValue("location", "") == "" {
			e.CreateAttr("location", local)
		}
	})
}

// retrieve is ITI-43 on the Initiating Gateway: each DocumentRequest is
// routed by its HomeCommunityId — this community's to the local
// repository (ITI-43 through the Guard), another's to that community
// (ITI-39, decided and audited here on the document's metadata first),
// an unknown one is XDSUnknownCommunity, a community that cannot be asked
// XDSUnavailableCommunity (location = its id).
func (x *Initiating) retrieve(w http.ResponseWriter, req *soap.Request) {
	ctx := req.HTTP.Context()
	a := x.adapter()
	// Persons (XUA) and systems, refused with the fault, audited, that
	// /xca/responding gives.
	p, rw, drs, ok := a.BeginRetrieval(w, req, ebrim.ActionRetrieve, "ITI-43", audit.TxITI43)
	if !ok {
		return
	}
	protocol := func(err error) registry.ErrorList {
		return a.ProtocolErrors(ctx, err, registry.ErrCodeRepositoryError, registry.ErrCodeRepositoryBusy)
	}
	call := call(a, req, p, audit.TxITI43)
	if call.EventID == "" && x.Guard.HomeCommunityID() != "" {
		call.EventID = uuid.NewString() // the correlation id every community is sent
	}
	var (
		local    []repository.DocumentRequest
		docs     []xdsadapt.Document
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
			errs = append(errs, registry.Error{Code: registry.ErrCodeMissingHomeCommunityID, Severity: registry.SeverityError, Location: x.home(),
				Context: fmt.Sprintf("DocumentRequest for %s has no HomeCommunityId (the initiating gateway routes by it)", clip(d.DocumentUniqueID))})
		case SameCommunity(home, x.HomeCommunityID):
			local = append(local, repository.DocumentRequest(d))
		case !x.Guard.Federates(home):
			errs = append(errs, registry.Error{Code: registry.ErrCodeUnknownCommunity, Severity: registry.SeverityError, Location: clip(home),
				Context: fmt.Sprintf("homeCommunityId %s is neither this community nor one it federates with; document %s not retrieved", clip(home), clip(d.DocumentUniqueID))})
		default:
			pd, perr, err := x.openRemote(ctx, call, d)
			if err != nil {
				closeAll()
				rw.Fail(protocol(err))
				return
			}
			if perr != nil {
				errs = append(errs, *perr)
				continue
			}
			opened = append(opened, pd.closer)
			docs = append(docs, pd.Document)
		}
	}
	if len(local) == 0 && len(docs) == 0 {
		rw.Fail(a.Refuse(ctx, call, audit.ActionRead, "xca-request-rejected", errs,
			registry.ErrCodeRepositoryError, registry.ErrCodeRepositoryBusy))
		return
	}
	if len(local) > 0 {
		res, err := x.Guard.Retrieve(ctx, call, local)
		if err != nil {
			closeAll()
			rw.Fail(protocol(err))
			return
		}
		errs = append(slices.Clone(res.Response.Errors), errs...)
		docs = append(docs, xdsadapt.Retrieved(res.Documents)...)
	}
	defer closeAll()
	rw.Send(ctx, call, registry.Response{Status: xdsadapt.RetrievalStatus(errs, len(docs)), Errors: errs}, docs)
}

// remoteDoc is a community's document, authorized and opened.
type remoteDoc struct {
	xdsadapt.Document
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
		Document: xdsadapt.Document{
			Response: ebrim.DocumentResponse{HomeCommunityID: d.HomeCommunityID, RepositoryUniqueID: d.RepositoryUniqueID,
				DocumentUniqueID: d.DocumentUniqueID, MimeType: doc.Entry.MimeType},
			Open: func(context.Context) (io.ReadCloser, error) {
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
