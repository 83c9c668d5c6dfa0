// Package ebrim is the XML codec between the XDS wire format (ebRIM 3.0 /
// ebRS 3.0 and the IHE XDS.b bodies) and the registry model of package
// registry. It exists so that no other package has to know how an XDS
// attribute is spelled in XML: the SOAP layer hands it the element inside
// the Body and gets model values back, and it turns model values into an
// element the SOAP layer wraps.
//
// What it handles:
//   - lcm:SubmitObjectsRequest ↔ registry.Submission (ITI-42, ITI-57, the
//     metadata of ITI-41);
//   - lcm:RemoveObjectsRequest ↔ the ids of its ObjectRefList (ITI-62);
//   - query:AdhocQueryRequest ↔ registry.Query, and
//     query:AdhocQueryResponse ↔ registry.QueryResult (ITI-18, ITI-38);
//   - rs:RegistryResponse and rs:RegistryErrorList ↔ registry.Response;
//   - xdsb:ProvideAndRegisterDocumentSetRequest, RetrieveDocumentSetRequest
//     and RetrieveDocumentSetResponse (ITI-41, ITI-43, ITI-39), with
//     documents as xop:Include references or inline base64.
//
// Elements are matched by namespace URI and local name, never by prefix;
// output uses the prefixes rim, lcm, query, rs, xdsb and xop, declared on
// the returned root element. Classification and ExternalIdentifier ids on
// output are derived from the owner id and position, so encoding is
// deterministic.
//
// Parsing reports every structural problem of a message at once, as a
// registry.ErrorList whose codeContexts name the object id and the slot or
// attribute at fault: a single-valued slot with several values, a slot name
// repeated on one object, a RegistryPackage that is neither SubmissionSet
// nor Folder, a Classification or ExternalIdentifier naming an object that
// is not in the message, an object without id, a scheme XDS does not define
// for that object, malformed base64. Slots XDS does not define are kept
// verbatim in Extra, in order; the ITI-57 slots of an Association
// (PreviousVersion, OriginalStatus, NewStatus, AssociationPropagation)
// are among them, for the registry to read. An Association's
// "documentation" Classification (ITI TF-3 4.2.2.2, at most one) becomes
// Association.Documentation. Registry bookkeeping that the model has no
// place for and XDS gives no meaning (lid and VersionInfo of
// SubmissionSets, Classifications, ExternalIdentifiers and Associations;
// the Name of an ExternalIdentifier; xml:lang and charset; isOpaque;
// request and response slot lists) is read and dropped. A query response
// writes lid (= id) and VersionInfo 1 on SubmissionSets and Associations
// too, which are never versioned, because ebRIM has them on every
// RegistryObject and validators expect them.
//
// The error code follows the receiver: XDSRegistryMetadataError for
// SubmitObjectsRequest and AdhocQueryResponse metadata,
// XDSRepositoryMetadataError for everything in a
// ProvideAndRegisterDocumentSetRequest, XDSRegistryError for
// AdhocQueryRequest, RemoveObjectsRequest and RegistryResponse, XDSRepositoryError for the
// retrieve bodies. At most 100 problems are listed, then a count.
//
// Values are kept byte for byte. To keep carriage returns in text and
// tabs or line breaks in attribute values exact on the wire, serialise with
// etree.WriteSettings{CanonicalText: true, CanonicalAttrVal: true}; plain
// etree output lets the receiving parser normalise them.
//
// It must never judge what the metadata means: required attributes, value
// formats, code lists, patient ids, association rules and SubmissionSet
// cardinality are the registry's validation. It must never rewrite ids
// (symbolic ids stay symbolic), never talk to the network or a store, never
// panic on any input, and never put anything into a codeContext but short,
// quoted pieces of the message itself.
package ebrim
