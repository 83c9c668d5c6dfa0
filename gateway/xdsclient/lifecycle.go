package xdsclient

import (
	"context"

	"pjd/registry"
	"pjd/registry/ebrim"
	"pjd/repository"
)

// Update sends ITI-57 Update Document Set (an lcm:SubmitObjectsRequest
// with one new SubmissionSet and the update's operations). Rejections
// come back in the response (status Failure) with a nil error.
func (c *Client) Update(ctx context.Context, sub *registry.Submission) (registry.Response, error) {
	return registryResponse(c.SOAP.Call(ctx, c.RegistryURL, ebrim.ActionUpdateDocumentSet, ebrim.EncodeSubmitObjectsRequest(sub)))
}

// RemoveMetadata sends ITI-62 Remove Metadata (Delete Document Set) for
// the registry objects ids (entryUUIDs).
func (c *Client) RemoveMetadata(ctx context.Context, ids []string) (registry.Response, error) {
	return registryResponse(c.SOAP.Call(ctx, c.RegistryURL, ebrim.ActionDeleteDocumentSet, ebrim.EncodeRemoveObjectsRequest(ids)))
}

// RemoveDocuments sends ITI-86 Remove Documents to the repository.
func (c *Client) RemoveDocuments(ctx context.Context, reqs []repository.DocumentRequest) (registry.Response, error) {
	drs := make([]ebrim.DocumentRequest, len(reqs))
	for i, r := range reqs {
		drs[i] = ebrim.DocumentRequest(r)
	}
	return registryResponse(c.SOAP.Call(ctx, c.RepositoryURL, ebrim.ActionRemoveDocuments, ebrim.EncodeRemoveDocumentsRequest(drs)))
}

// MultiPatientQuery sends ITI-51 Multi-Patient Stored Query, with the
// conventions of Query.
func (c *Client) MultiPatientQuery(ctx context.Context, q *registry.Query) (*registry.QueryResult, registry.Response, error) {
	return c.adhocQuery(ctx, ebrim.ActionMultiPatientQuery, q)
}
