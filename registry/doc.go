// Package registry is the XDS document registry: the metadata model
// (DocumentEntry, SubmissionSet, Folder, Association, coded values and the
// HL7 v2 data types), the validation of ITI-42 submissions, document
// lifecycle (RPLC/APND/XFRM/XFRM_RPLC/signs), and the 14 ITI-18 stored
// queries, over one Store interface.
//
// It must never talk to the network, know about SOAP or FHIR, or decide who
// may see what: that is trust/policy's job, enforced by the gateway. It
// must never store part of a submission: a submission is validated and
// written in one Store.Update transaction or not at all.
package registry
