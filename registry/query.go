package registry

// Stored query ids (reference/stored_queries.md).
const (
	QueryFindDocuments               = "urn:uuid:14d4debf-8f97-4251-9a74-a90016b0af0d"
	QueryFindDocumentsByReferenceID  = "urn:uuid:12941a89-e02e-4be5-967c-ce4bfc8fe492"
	QueryFindSubmissionSets          = "urn:uuid:f26abbcb-ac74-4422-8a30-edb644bbc1a9"
	QueryFindFolders                 = "urn:uuid:958f3006-baad-4929-a4de-ff1114824431"
	QueryGetAll                      = "urn:uuid:10b545ea-725c-446d-9b95-8aeb444eddf3"
	QueryGetDocuments                = "urn:uuid:5c4f972b-d56b-40ac-a5fc-c8ca9b40b9d4"
	QueryGetFolders                  = "urn:uuid:5737b14c-8a1a-4539-b659-e03a34a5e1e4"
	QueryGetAssociations             = "urn:uuid:a7ae438b-4bc2-4642-93e9-be891f7bb155"
	QueryGetDocumentsAndAssociations = "urn:uuid:bab9529a-4a10-40b3-a01f-f68a615d247a"
	QueryGetSubmissionSets           = "urn:uuid:51224314-5390-4169-9b91-b1980040715a"
	QueryGetSubmissionSetAndContents = "urn:uuid:e8e3cb2c-e39c-46b9-99e4-c12f57260b83"
	QueryGetFolderAndContents        = "urn:uuid:b909a503-523d-4517-8acf-8e5834dfc4c7"
	QueryGetFoldersForDocument       = "urn:uuid:10cae35a-c7f9-4cf5-b61e-fc3278ffb578"
	QueryGetRelatedDocuments         = "urn:uuid:d90e5407-b356-4d91-a89f-873917b4b0e6"

	// ITI-51 Multi-Patient Stored Query (ITI TF-2 3.51.4.1.2).
	QueryFindDocumentsForMultiplePatients = "urn:uuid:3d1bdb10-39a2-11de-89c2-2f44d94eaa9f"
	QueryFindFoldersForMultiplePatients   = "urn:uuid:50d3f5ac-39a2-11de-a1ca-b366239e58df"
)

// Return types of an AdhocQuery (ResponseOption/@returnType).
const (
	ReturnLeafClass = "LeafClass"
	ReturnObjectRef = "ObjectRef"
)

// Query is one ITI-18 AdhocQueryRequest: the stored query id, the return
// type and the parameters as sent. Params keeps every rim:Slot in order,
// so a parameter sent as several slots (AND semantics) appears several
// times; values are the raw slot values, quotes and list parentheses
// included ("('a','b')").
type Query struct {
	ID              string
	ReturnType      string
	HomeCommunityID string
	Params          []Slot
}

// QueryResult is what a stored query found. For LeafClass results the
// object slices are filled; for ObjectRef results only Refs (the ids of
// every object found, in result order) is.
type QueryResult struct {
	ReturnType     string
	Documents      []*DocumentEntry
	SubmissionSets []*SubmissionSet
	Folders        []*Folder
	Associations   []*Association
	Refs           []string
	// Warnings are returned with a Success status.
	Warnings ErrorList
}

// Len is the number of objects in the result.
func (r *QueryResult) Len() int {
	if r.ReturnType == ReturnObjectRef {
		return len(r.Refs)
	}
	return len(r.Documents) + len(r.SubmissionSets) + len(r.Folders) + len(r.Associations)
}
