package xds

import (
	"bytes"
	"context"
	"errors"
	"io"
	"log/slog"
	"net/http"

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

// Endpoints serves the SOAP endpoints /xds/registry (ITI-42, ITI-18, and
// the lifecycle's ITI-57, ITI-62, ITI-51) and /xds/repository (ITI-41,
// ITI-43, ITI-86). Every data path goes through the
// access Guard.
type Endpoints struct {
	Guard  *access.Guard
	Auth   *authn.SOAP
	Limits soap.Limits
	// Gate, if set, bounds the envelopes both endpoints read at once.
	Gate    *soap.Gate
	Log     *slog.Logger
	Metrics gateway.Metrics
}

// RegistryHandler is the /xds/registry endpoint.
func (x *Endpoints) RegistryHandler() http.Handler {
	m := &soap.Mux{Limits: x.Limits, Gate: x.Gate, Logger: x.Log}
	m.Handle(ebrim.ActionRegister, x.register)
	m.Handle(ebrim.ActionStoredQuery, x.storedQuery)
	m.Handle(ebrim.ActionUpdateDocumentSet, x.update)
	m.Handle(ebrim.ActionDeleteDocumentSet, x.removeMetadata)
	m.Handle(ebrim.ActionMultiPatientQuery, x.multiPatientQuery)
	return m
}

// RepositoryHandler is the /xds/repository endpoint.
func (x *Endpoints) RepositoryHandler() http.Handler {
	m := &soap.Mux{Limits: x.Limits, Gate: x.Gate, Logger: x.Log}
	m.Handle(ebrim.ActionProvide, x.provide)
	m.Handle(ebrim.ActionRetrieve, x.retrieve)
	m.Handle(ebrim.ActionRemoveDocuments, x.removeDocuments)
	return m
}

// adapter is the shared XDS-over-SOAP pieces, as this adapter uses them:
// every caller that authenticates, a refused credential audited on data
// transactions.
func (x *Endpoints) adapter() *xdsadapt.Adapter {
	return &xdsadapt.Adapter{Guard: x.Guard, Auth: x.Auth, Log: x.Log, Metrics: x.Metrics, Kind: "SOAP"}
}

// principal authenticates req or answers with a WS-Security fault; a
// refused credential on a data transaction (tx not "") is audited first.
func (x *Endpoints) principal(w http.ResponseWriter, req *soap.Request, tx string, action audit.Action) (*trust.Principal, bool) {
	return x.adapter().Principal(w, req, tx, action)
}

// requireSystem answers a fault when anyone but a system (a certificate,
// or the --dev loopback) tries a source transaction.
func requireSystem(w http.ResponseWriter, req *soap.Request, p *trust.Principal) bool {
	if p.IsSystem() {
		return true
	}
	f := soap.SenderFault("this transaction is for document sources: authenticate with the source's client certificate", nil)
	f.Subcodes = []soap.QName{{Space: soap.NSSecurity, Local: "FailedAuthentication"}}
	f.RelatesTo = req.Addressing.MessageID
	_ = soap.WriteFault(w, f)
	return false
}

func (x *Endpoints) call(req *soap.Request, p *trust.Principal, tx string) access.Call {
	return x.adapter().Call(req, p, tx)
}

// protocolErrors turns any error from below into RegistryErrors a client
// may see, logging what it may not (xdsadapt.Adapter.ProtocolErrors, the
// mapping this adapter shares with XCA). code is the endpoint's generic
// code (XDSRegistryError or XDSRepositoryError, or a metadata error code).
//
// A dependency that is unavailable (access.Unavailable: the database,
// object storage, the audit log, the request's deadline) is reported with
// the transient code of the side that failed — XDSRegistryBusy for the
// registry endpoint, XDSRepositoryBusy for the repository's, the only
// ITI TF codes that tell a source to try again later ("too much activity
// to process the request"), and which IHE allows for ITI-18/42 and
// ITI-41/43 respectively — with a codeContext saying the service is
// temporarily unavailable. A registry the repository could not reach is
// XDSRegistryNotAvailable, the code ITI-41 defines for exactly that.
func (x *Endpoints) protocolErrors(ctx context.Context, err error, code string) registry.ErrorList {
	if _, listed := registry.AsErrors(err); !listed && errors.Is(err, repository.ErrRegistry) && !errors.Is(err, access.ErrAudit) {
		x.Log.WarnContext(ctx, "registry unreachable", "err", err)
		return registry.ErrorList{registry.Errorf(registry.ErrCodeRegistryNotAvailable, "the registry is temporarily unavailable; the submission may or may not be registered: query it, or send it again later (request id %s)", gateway.RequestIDFrom(ctx))}
	}
	busy := registry.ErrCodeRegistryBusy
	if code == registry.ErrCodeRepositoryError || code == registry.ErrCodeRepositoryMetadataError {
		busy = registry.ErrCodeRepositoryBusy
	}
	return x.adapter().ProtocolErrors(ctx, err, code, busy)
}

func (x *Endpoints) writeRegistryResponse(w http.ResponseWriter, req *soap.Request, action string, resp registry.Response) {
	x.Metrics.Transaction(txName(action), outcomeName(resp.Status))
	if err := soap.WriteResponse(w, action+ebrim.ResponseSuffix, req.Addressing.MessageID, ebrim.EncodeRegistryResponse(resp)); err != nil {
		x.adapter().LogWriteError(req.HTTP.Context(), "writing SOAP response", err)
	}
}

func failed(errs registry.ErrorList) registry.Response {
	return registry.Response{Status: registry.StatusFor(errs), Errors: errs}
}

// submitObjects reads the lcm:SubmitObjectsRequest of req; a body that
// is not one is the error code (as a registry.ErrorList).
func submitObjects(req *soap.Request, code string) (*registry.Submission, error) {
	body := req.Body()
	if body.Tag != "SubmitObjectsRequest" {
		return nil, registry.ErrorList{registry.Errorf(code, "expected lcm:SubmitObjectsRequest, got %s", body.Tag)}
	}
	return ebrim.ParseSubmitObjectsRequest(body)
}

// register is ITI-42 Register Document Set-b.
func (x *Endpoints) register(w http.ResponseWriter, req *soap.Request) {
	ctx := req.HTTP.Context()
	p, ok := x.principal(w, req, "", "")
	if !ok || !requireSystem(w, req, p) {
		return
	}
	sub, err := submitObjects(req, registry.ErrCodeRegistryMetadataError)
	if err != nil {
		x.writeRegistryResponse(w, req, ebrim.ActionRegister, failed(x.protocolErrors(ctx, err, registry.ErrCodeRegistryMetadataError)))
		return
	}
	warnings, err := x.Guard.Register(ctx, p, sub)
	if err != nil {
		x.writeRegistryResponse(w, req, ebrim.ActionRegister, failed(x.protocolErrors(ctx, err, registry.ErrCodeRegistryError)))
		return
	}
	x.writeRegistryResponse(w, req, ebrim.ActionRegister, registry.Response{Status: registry.ResponseSuccess, Errors: warnings})
}

// storedQuery is ITI-18 Registry Stored Query.
func (x *Endpoints) storedQuery(w http.ResponseWriter, req *soap.Request) {
	x.query(w, req, ebrim.ActionStoredQuery, audit.TxITI18, x.Guard.Query, true)
}

// query answers a stored query of transaction tx (ITI-18, ITI-51) with
// run's result. With conceal, a refusal about documents the caller may not
// know exist (another patient's) is answered as for documents that do
// not.
func (x *Endpoints) query(w http.ResponseWriter, req *soap.Request, action, tx string,
	run func(context.Context, access.Call, *registry.Query) (*registry.QueryResult, error), conceal bool) {
	ctx := req.HTTP.Context()
	answer := func(res *registry.QueryResult, errs registry.ErrorList) {
		x.adapter().WriteQuery(w, req, action, tx, res, registry.StatusFor(errs), errs, nil)
	}
	p, q, ok := x.adapter().BeginQuery(w, req, tx, func(errs registry.ErrorList) { answer(nil, errs) })
	if !ok {
		return
	}
	res, err := run(ctx, x.call(req, p, tx), q)
	if d := (*access.Denied)(nil); conceal && errors.As(err, &d) && d.Conceal {
		answer(&registry.QueryResult{ReturnType: q.ReturnType}, nil)
		return
	}
	if err != nil {
		answer(&registry.QueryResult{ReturnType: q.ReturnType}, x.protocolErrors(ctx, err, registry.ErrCodeRegistryError))
		return
	}
	answer(res, res.Warnings)
}

// provide is ITI-41 Provide and Register Document Set-b: documents stream
// from the MTOM parts (or inline base64) into the repository, which
// registers them once all are stored.
func (x *Endpoints) provide(w http.ResponseWriter, req *soap.Request) {
	ctx := req.HTTP.Context()
	p, ok := x.principal(w, req, "", "")
	if !ok || !requireSystem(w, req, p) {
		return
	}
	respond := func(resp registry.Response) { x.writeRegistryResponse(w, req, ebrim.ActionProvide, resp) }
	body := req.Body()
	if body.Tag != "ProvideAndRegisterDocumentSetRequest" {
		respond(failed(registry.ErrorList{registry.Errorf(registry.ErrCodeRepositoryMetadataError,
			"expected xdsb:ProvideAndRegisterDocumentSetRequest, got %s", body.Tag)}))
		return
	}
	sub, parts, err := ebrim.ParseProvideAndRegister(body)
	if err != nil {
		respond(failed(x.protocolErrors(ctx, err, registry.ErrCodeRepositoryMetadataError)))
		return
	}
	ids := make([]string, len(parts))
	byCID := map[string]string{}
	for i, pt := range parts {
		ids[i] = pt.ID
		if pt.IncludeHref != "" {
			byCID[cidOf(pt.IncludeHref)] = pt.ID
		}
	}
	up, err := x.Guard.NewUpload(ctx, p, sub, ids)
	if err != nil {
		respond(failed(x.protocolErrors(ctx, err, registry.ErrCodeRepositoryError)))
		return
	}
	fail := func(err error) {
		up.Abort(context.WithoutCancel(ctx))
		if f := (*soap.Fault)(nil); errors.As(err, &f) && !errors.Is(err, soap.ErrTooLarge) {
			// The MIME package itself is broken: the body ended before
			// its closing boundary (a dropped connection, a proxy that
			// cut it), a part is malformed. That is a SOAP-level error
			// of the sender — the message never arrived whole, so there
			// is no ProvideAndRegister request to answer with a
			// RegistryResponse — hence a SOAP 1.2 env:Sender fault (HTTP
			// 400), not an XDSRepositoryError, which says the repository
			// failed. Nothing was registered; the source may resend.
			x.Log.InfoContext(ctx, "ITI-41 refused: the MTOM package is malformed", "err", err)
			x.Metrics.Transaction("ITI-41", "Failure")
			f.RelatesTo = req.Addressing.MessageID
			_ = soap.WriteFault(w, f)
			return
		}
		respond(failed(x.protocolErrors(ctx, err, registry.ErrCodeRepositoryError)))
	}
	for _, pt := range parts {
		if pt.IncludeHref == "" {
			if err := up.Put(ctx, pt.ID, bytes.NewReader(pt.Inline)); err != nil {
				fail(err)
				return
			}
		}
	}
	for {
		part, err := req.NextPart()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			if errors.Is(err, soap.ErrTooLarge) {
				up.Abort(context.WithoutCancel(ctx))
				respond(failed(registry.ErrorList{registry.Errorf(registry.ErrCodeRepositoryError,
					"the request is larger than this repository accepts (%d bytes)", x.Limits.MaxRequest)}))
				return
			}
			fail(err)
			return
		}
		id, known := byCID[part.ContentID]
		if !known {
			fail(registry.ErrorList{registry.Errorf(registry.ErrCodeMissingDocumentMetadata,
				"MIME part %q is not referenced by any Document", part.ContentID)})
			return
		}
		if err := up.Put(ctx, id, part.Body); err != nil {
			if errors.Is(err, soap.ErrTooLarge) {
				fail(registry.ErrorList{registry.Errorf(registry.ErrCodeRepositoryError,
					"the request is larger than this repository accepts (%d bytes)", x.Limits.MaxRequest)})
				return
			}
			fail(err)
			return
		}
	}
	warnings, err := up.Commit(ctx)
	if err != nil {
		respond(failed(x.protocolErrors(ctx, err, registry.ErrCodeRepositoryError)))
		return
	}
	respond(registry.Response{Status: registry.ResponseSuccess, Errors: warnings})
}

// retrieve is ITI-43 Retrieve Document Set: an MTOM response whose
// attachments stream from the blob store.
func (x *Endpoints) retrieve(w http.ResponseWriter, req *soap.Request) {
	ctx := req.HTTP.Context()
	p, rw, drs, ok := x.adapter().BeginRetrieval(w, req, ebrim.ActionRetrieve, "ITI-43", audit.TxITI43)
	if !ok {
		return
	}
	call := x.call(req, p, audit.TxITI43)
	res, err := x.Guard.Retrieve(ctx, call, xdsadapt.DocumentRequests(drs))
	if err != nil {
		rw.Fail(x.protocolErrors(ctx, err, registry.ErrCodeRepositoryError))
		return
	}
	rw.Send(ctx, call, res.Response, xdsadapt.Retrieved(res.Documents))
}

func cidOf(href string) string {
	if len(href) > 4 && (href[:4] == "cid:" || href[:4] == "CID:") {
		return href[4:]
	}
	return href
}

// txNames names the transaction of each action, for the metrics.
var txNames = map[string]string{
	ebrim.ActionRegister:    "ITI-42",
	ebrim.ActionStoredQuery: "ITI-18",
	ebrim.ActionProvide:     "ITI-41",
	ebrim.ActionRetrieve:    "ITI-43",

	ebrim.ActionUpdateDocumentSet: "ITI-57",
	ebrim.ActionDeleteDocumentSet: "ITI-62",
	ebrim.ActionMultiPatientQuery: "ITI-51",
	ebrim.ActionRemoveDocuments:   "ITI-86",
}

func txName(action string) string {
	if n, ok := txNames[action]; ok {
		return n
	}
	return action
}

func outcomeName(status string) string { return xdsadapt.Outcome(status) }
