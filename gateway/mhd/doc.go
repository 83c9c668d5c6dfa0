// Package mhd is pjd's IHE MHD (FHIR R4, IG 4.2.x) codec: it maps the XDS
// registry model to and from FHIR resources, and validates MHD requests.
//
// It exists so that the gateway's FHIR endpoints are thin: a handler
// parses the request here (ParseDocumentSearch for ITI-67,
// ParseListSearch for ITI-66, ParseRetrieveQuery for ITI-68,
// ParseProvideBundle for ITI-65), gets registry filters that select a
// superset of the answer, applies Match to what the store returns, applies
// policy, and renders the answer here (DocumentReferenceFrom,
// ListFromSubmissionSet, ListFromFolder, SearchSet, ProvideResponse). Every
// rejection is a *fhir.Error carrying the HTTP status and the OperationOutcome
// to send, naming the parameter or element at fault.
//
// The mapping follows xds_metadata.md §5. Where MHD leaves a choice open it
// is made and documented where it is made: DocumentReference.date is the
// creationTime, custodian the first author institution, attachment.hash
// the base64 of the raw SHA-1 (both forms are read), List.status retired
// for a Deprecated folder, and ITI-68 URLs are
// <base>/mhd/document?repositoryUniqueId=…&uniqueId=….
//
// Patients are Norwegian national identity numbers (F-nr, D-nr, H-nr,
// check digits verified) given as patient.identifier or in the PJD API's
// nhn-patient-nin header; exactly one per request. Page links never carry
// the patient: it travels inside an encrypted page token (Pager).
//
// It must never talk to the network, the stores or the repository, decide
// who may see what (trust/policy does, in the gateway), or write audit
// records. It must never let a request reach a store without its one
// patient: filters fail closed (Filter returns an error, never a filter
// without a patient). It must never put internal detail in an
// OperationOutcome, and never panic on any input.
package mhd
