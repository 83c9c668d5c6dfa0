package xds

import (
	"errors"
	"net/http"

	"pjd/gateway/access"
	"pjd/gateway/audit"
	"pjd/gateway/internal/xdsadapt"
	"pjd/gateway/soap"
	"pjd/registry"
	"pjd/registry/ebrim"
)

// The document lifecycle on the SOAP endpoints (issue 13):
//   - /xds/registry: ITI-57 Update Document Set
//     (urn:ihe:iti:2010:UpdateDocumentSet), ITI-62 Remove Metadata
//     (urn:ihe:iti:2010:DeleteDocumentSet), ITI-51 Multi-Patient Stored
//     Query (urn:ihe:iti:2009:MultiPatientStoredQuery);
//   - /xds/repository: ITI-86 Remove Documents
//     (urn:ihe:iti:2017:RemoveDocuments).
//
// ITI-57/62/86 answer with an rs:RegistryResponse, ITI-51 with a
// query:AdhocQueryResponse. A refusal by the Guard is "XDSRegistryError
// access denied by policy (rule)" (the TF defines no code for it; research
// digest §2.5, §5.4, §7), registry rejections keep their codes, and an
// unavailable dependency is XDSRegistryBusy / XDSRepositoryBusy.

// update is ITI-57 Update Document Set.
func (x *Endpoints) update(w http.ResponseWriter, req *soap.Request) {
	ctx := req.HTTP.Context()
	p, ok := x.principal(w, req, audit.TxITI57, audit.ActionUpdate)
	if !ok {
		return
	}
	respond := func(resp registry.Response) { x.writeRegistryResponse(w, req, ebrim.ActionUpdateDocumentSet, resp) }
	body := req.Body()
	if body.Tag != "SubmitObjectsRequest" {
		respond(failed(registry.ErrorList{registry.Errorf(registry.ErrCodeMetadataUpdateError, "expected lcm:SubmitObjectsRequest, got %s", body.Tag)}))
		return
	}
	sub, err := ebrim.ParseSubmitObjectsRequest(body)
	if err != nil {
		respond(failed(x.protocolErrors(ctx, err, registry.ErrCodeRegistryMetadataError)))
		return
	}
	if _, err := x.Guard.Update(ctx, x.call(req, p, audit.TxITI57), sub); err != nil {
		respond(failed(x.protocolErrors(ctx, err, registry.ErrCodeRegistryError)))
		return
	}
	respond(registry.Response{Status: registry.ResponseSuccess})
}

// removeMetadata is ITI-62 Remove Metadata (Delete Document Set).
func (x *Endpoints) removeMetadata(w http.ResponseWriter, req *soap.Request) {
	ctx := req.HTTP.Context()
	p, ok := x.principal(w, req, audit.TxITI62, audit.ActionDelete)
	if !ok {
		return
	}
	respond := func(resp registry.Response) { x.writeRegistryResponse(w, req, ebrim.ActionDeleteDocumentSet, resp) }
	ids, err := ebrim.ParseRemoveObjectsRequest(req.Body())
	if err != nil {
		respond(failed(x.protocolErrors(ctx, err, registry.ErrCodeRegistryError)))
		return
	}
	if _, err := x.Guard.RemoveMetadata(ctx, x.call(req, p, audit.TxITI62), ids); err != nil {
		respond(failed(x.protocolErrors(ctx, err, registry.ErrCodeRegistryError)))
		return
	}
	respond(registry.Response{Status: registry.ResponseSuccess})
}

// multiPatientQuery is ITI-51 Multi-Patient Stored Query.
func (x *Endpoints) multiPatientQuery(w http.ResponseWriter, req *soap.Request) {
	ctx := req.HTTP.Context()
	p, ok := x.principal(w, req, audit.TxITI51, audit.ActionQuery)
	if !ok {
		return
	}
	answer := func(res *registry.QueryResult, errs registry.ErrorList) {
		x.adapter().WriteQuery(w, req, ebrim.ActionMultiPatientQuery, "ITI-51", res, registry.StatusFor(errs), errs, nil)
	}
	q, err := xdsadapt.Query(req)
	if err != nil {
		answer(nil, x.protocolErrors(ctx, err, registry.ErrCodeRegistryError))
		return
	}
	res, err := x.Guard.MultiPatientQuery(ctx, x.call(req, p, audit.TxITI51), q)
	if err != nil {
		answer(&registry.QueryResult{ReturnType: q.ReturnType}, x.protocolErrors(ctx, err, registry.ErrCodeRegistryError))
		return
	}
	answer(res, res.Warnings)
}

// removeDocuments is ITI-86 Remove Documents.
func (x *Endpoints) removeDocuments(w http.ResponseWriter, req *soap.Request) {
	ctx := req.HTTP.Context()
	p, ok := x.principal(w, req, audit.TxITI86, audit.ActionDelete)
	if !ok {
		return
	}
	respond := func(resp registry.Response) { x.writeRegistryResponse(w, req, ebrim.ActionRemoveDocuments, resp) }
	drs, err := ebrim.ParseRemoveDocumentsRequest(req.Body())
	if err != nil {
		respond(failed(x.protocolErrors(ctx, err, registry.ErrCodeRepositoryError)))
		return
	}
	resp, err := x.Guard.RemoveDocuments(ctx, x.call(req, p, audit.TxITI86), xdsadapt.DocumentRequests(drs))
	if err != nil {
		code := registry.ErrCodeRepositoryError
		if d := (*access.Denied)(nil); errors.As(err, &d) {
			code = registry.ErrCodeRegistryError
		}
		respond(failed(x.protocolErrors(ctx, err, code)))
		return
	}
	respond(resp)
}
