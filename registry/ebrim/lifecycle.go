package ebrim

import (
	"github.com/beevik/etree"

	"pjd/registry"
)

// WS-Addressing actions of the lifecycle transactions (research digest for
// issue 13: ITI-57 and ITI-62 from IPF iti57/iti62.wsdl and the NIST
// TransactionType, ITI-51 from ITI TF-2 3.51.4.1.2.3, ITI-86 from IPF
// iti86.wsdl). ITI-62 keeps the wire name DeleteDocumentSet although the RMD
// profile calls the transaction Remove Metadata.
const (
	ActionUpdateDocumentSet = "urn:ihe:iti:2010:UpdateDocumentSet"
	ActionDeleteDocumentSet = "urn:ihe:iti:2010:DeleteDocumentSet"
	ActionMultiPatientQuery = "urn:ihe:iti:2009:MultiPatientStoredQuery"
	ActionRemoveDocuments   = "urn:ihe:iti:2017:RemoveDocuments"
)

// NSRMD is the namespace of the ITI-86 request element.
const NSRMD = "urn:ihe:iti:rmd:2017"

const (
	prefixRMD                    = "rmd"
	removeDocumentsRequestElemNm = "RemoveDocumentsRequest"
)

// ParseRemoveDocumentsRequest decodes an rmd:RemoveDocumentsRequest
// (ITI-86 Remove Documents). Its type is xds:RetrieveDocumentSetRequestType
// (IPF iti86.wsdl): a list of xdsb:DocumentRequest, each with an optional
// HomeCommunityId and a RepositoryUniqueId and DocumentUniqueId (both
// required: IPF REPO_ID_MUST_BE_SPECIFIED, DOC_ID_MUST_BE_SPECIFIED).
// Structural problems are a registry.ErrorList of XDSRepositoryError.
func ParseRemoveDocumentsRequest(el *etree.Element) ([]DocumentRequest, error) {
	p := newProblems(registry.ErrCodeRepositoryError)
	if !is(el, NSRMD, removeDocumentsRequestElemNm) {
		p.addf("expected {%s}RemoveDocumentsRequest, got %s", NSRMD, elName(el))
		return nil, p.err()
	}
	reqs := parseDocumentRequests(el, "RemoveDocumentsRequest", p, func(pos int, r DocumentRequest) {
		if r.RepositoryUniqueID == "" {
			p.addf("DocumentRequest #%d: no RepositoryUniqueId", pos)
		}
		if r.DocumentUniqueID == "" {
			p.addf("DocumentRequest #%d: no DocumentUniqueId", pos)
		}
	})
	if len(reqs) == 0 && len(p.list) == 0 {
		p.addf("RemoveDocumentsRequest: no DocumentRequest")
	}
	if err := p.err(); err != nil {
		return nil, err
	}
	return reqs, nil
}

// EncodeRemoveDocumentsRequest encodes an rmd:RemoveDocumentsRequest.
func EncodeRemoveDocumentsRequest(reqs []DocumentRequest) *etree.Element {
	root := newRoot(prefixRMD+":"+removeDocumentsRequestElemNm, prefixXDSB)
	root.CreateAttr("xmlns:"+prefixRMD, NSRMD)
	encodeDocumentRequests(root, reqs)
	return root
}
