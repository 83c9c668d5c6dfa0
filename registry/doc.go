// Package registry is the XDS document registry: the metadata model
// (DocumentEntry, SubmissionSet, Folder, Association, coded values and the
// HL7 v2 data types CX/XCN/XON/XTN/DTM), the validation of ITI-42
// submissions, the document lifecycle (relationships RPLC/APND/XFRM/
// XFRM_RPLC/signs, ITI-57 metadata update, ITI-62 removal, patient
// identity links), the 14 ITI-18 stored queries and the two ITI-51
// multi-patient queries, over one Store interface.
//
// Registry.Register checks a submission against the XDS rules
// (reference/xds_metadata.md §2 and §4), the Norwegian value sets embedded
// from valuesets/norway.json (or another file in the same format, see
// valuesets/README.md) and a PatientIDChecker (by default: a valid
// Norwegian F-nr, D-nr or H-nr under its own assigning authority), then
// stores it. Registry.Query runs a stored query. Both report protocol
// problems as an ErrorList of XDS codes with codeContexts naming the object
// and value; any other error is internal. SampleSubmission builds valid
// synthetic Norwegian submissions for tests and the demo.
//
// It must never talk to the network itself, know about SOAP or FHIR, or
// decide who may see what: that is trust/policy's job, enforced by the
// gateway. It must never store part of a submission: a submission is
// validated and written in one Store.Update transaction or not at all. It
// must never put a client's value into anything but a bound parameter of a
// Store filter, and never let an internal error's text reach a client.
package registry
