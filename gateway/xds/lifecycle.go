package xds

import (
	"context"
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

// registryTx serves a transaction answered with an rs:RegistryResponse:
// the caller is authenticated (a refusal audited as tx, action), then run
// does the work; an error it returns is answered as RegistryErrors (code
// is the transaction's generic one; run maps what it knows better
// itself).
func (x *Endpoints) registryTx(w http.ResponseWriter, req *soap.Request, wsAction, tx string, action audit.Action, code string,
	run func(ctx context.Context, call access.Call) (registry.Response, error)) {
	ctx := req.HTTP.Context()
	p, ok := x.principal(w, req, tx, action)
	if !ok {
		return
	}
	resp, err := run(ctx, x.call(req, p, tx))
	if err != nil {
		resp = failed(x.protocolErrors(ctx, err, code))
	}
	x.writeRegistryResponse(w, req, wsAction, resp)
}

// update is ITI-57 Update Document Set.
func (x *Endpoints) update(w http.ResponseWriter, req *soap.Request) {
	x.registryTx(w, req, ebrim.ActionUpdateDocumentSet, audit.TxITI57, audit.ActionUpdate, registry.ErrCodeRegistryError,
		func(ctx context.Context, call access.Call) (registry.Response, error) {
			sub, err := submitObjects(req, registry.ErrCodeMetadataUpdateError)
			if err != nil {
				return registry.Response{}, x.protocolErrors(ctx, err, registry.ErrCodeRegistryMetadataError)
			}
			_, err = x.Guard.Update(ctx, call, sub)
			return registry.Response{Status: registry.ResponseSuccess}, err
		})
}

// removeMetadata is ITI-62 Remove Metadata (Delete Document Set).
func (x *Endpoints) removeMetadata(w http.ResponseWriter, req *soap.Request) {
	x.registryTx(w, req, ebrim.ActionDeleteDocumentSet, audit.TxITI62, audit.ActionDelete, registry.ErrCodeRegistryError,
		func(ctx context.Context, call access.Call) (registry.Response, error) {
			ids, err := ebrim.ParseRemoveObjectsRequest(req.Body())
			if err != nil {
				return registry.Response{}, err
			}
			_, err = x.Guard.RemoveMetadata(ctx, call, ids)
			return registry.Response{Status: registry.ResponseSuccess}, err
		})
}

// multiPatientQuery is ITI-51 Multi-Patient Stored Query.
func (x *Endpoints) multiPatientQuery(w http.ResponseWriter, req *soap.Request) {
	x.query(w, req, ebrim.ActionMultiPatientQuery, audit.TxITI51, x.Guard.MultiPatientQuery, false)
}

// removeDocuments is ITI-86 Remove Documents.
func (x *Endpoints) removeDocuments(w http.ResponseWriter, req *soap.Request) {
	x.registryTx(w, req, ebrim.ActionRemoveDocuments, audit.TxITI86, audit.ActionDelete, registry.ErrCodeRepositoryError,
		func(ctx context.Context, call access.Call) (registry.Response, error) {
			drs, err := ebrim.ParseRemoveDocumentsRequest(req.Body())
			if err != nil {
				return registry.Response{}, err
			}
			resp, err := x.Guard.RemoveDocuments(ctx, call, xdsadapt.DocumentRequests(drs))
			if d := (*access.Denied)(nil); errors.As(err, &d) {
				// A refusal by policy is the registry's word.
				return registry.Response{}, x.protocolErrors(ctx, err, registry.ErrCodeRegistryError)
			}
			return resp, err
		})
}
