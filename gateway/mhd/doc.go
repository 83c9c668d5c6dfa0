// Package mhd is the gateway's IHE MHD (FHIR R4, IG 4.2.x) adapter: the
// endpoints (Endpoints: ITI-67 Find Document References, ITI-66 Find
// Document Lists, ITI-68 Retrieve Document, ITI-65 Provide Document
// Bundle; and of the document lifecycle: DocumentReference _history and
// vread (history.go), ITI-104 Patient Identity Feed FHIR (patientfeed.go)
// and a patient's own blocks as Consent (consent.go)) and the mapping of
// the XDS registry model to and from FHIR resources (gateway/fhir) that
// they use.
//
// A handler authenticates the HelseID DPoP token (gateway/authn), parses
// the request here (ParseDocumentSearch for ITI-67, ParseListSearch for
// ITI-66, ParseRetrieveQuery for ITI-68, ParseProvideBundle for ITI-65),
// gets registry filters that select a superset of the answer, and asks the
// access Guard, which applies Match to what the store returns, decides,
// audits and only then answers; the answer is rendered here
// (DocumentReferenceFrom, ListFromSubmissionSet, ListFromFolder,
// SearchSet, ProvideResponse). Every rejection is a *fhir.Error carrying
// the HTTP status and the OperationOutcome to send, naming the parameter
// or element at fault; the Guard's errors become OperationOutcomes in
// guardError, once.
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
// It must never reach the registry, the repository or the audit log except
// through the Guard, decide who may see what (trust/policy does, in the
// Guard), or import another adapter. It must never let a request reach a
// store without its one patient: filters fail closed (Filter returns an
// error, never a filter without a patient). It must never put internal
// detail in an OperationOutcome, and never panic on any input.
package mhd
