package ebrim

// Every namespace and URN this codec reads or writes
// (reference/xds_metadata.md §1–3). Status, association type, objectType,
// error code, severity and response-status URNs that the registry core needs
// too live in package registry.

// XML namespaces.
const (
	NSRim   = "urn:oasis:names:tc:ebxml-regrep:xsd:rim:3.0"
	NSLcm   = "urn:oasis:names:tc:ebxml-regrep:xsd:lcm:3.0"
	NSQuery = "urn:oasis:names:tc:ebxml-regrep:xsd:query:3.0"
	NSRs    = "urn:oasis:names:tc:ebxml-regrep:xsd:rs:3.0"
	NSXDSB  = "urn:ihe:iti:xds-b:2007"
	NSXOP   = "http://www.w3.org/2004/08/xop/include"
)

// WS-Addressing actions of the XDS.b transactions (xds_metadata.md §1),
// which both ends of a SOAP exchange use; a response's action is the
// request's with ResponseSuffix.
const (
	ActionRegister    = "urn:ihe:iti:2007:RegisterDocumentSet-b"
	ActionStoredQuery = "urn:ihe:iti:2007:RegistryStoredQuery"
	ActionProvide     = "urn:ihe:iti:2007:ProvideAndRegisterDocumentSet-b"
	ActionRetrieve    = "urn:ihe:iti:2007:RetrieveDocumentSet"
	ResponseSuffix    = "Response"
)

// Prefixes used on output. Input may use any prefix or a default namespace.
const (
	prefixRim   = "rim"
	prefixLcm   = "lcm"
	prefixQuery = "query"
	prefixRs    = "rs"
	prefixXDSB  = "xdsb"
	prefixXOP   = "xop"
)

// Classification schemes (Classification/@classificationScheme).
const (
	SchemeDocumentEntryAuthor                     = "urn:uuid:93606bcf-9494-43ec-9b4e-a7748d1a838d"
	SchemeDocumentEntryClassCode                  = "urn:uuid:41a5887f-8865-4c09-adf7-e362475b143a"
	SchemeDocumentEntryConfidentialityCode        = "urn:uuid:f4f85eac-e6cb-4883-b524-f2705394840f"
	SchemeDocumentEntryEventCodeList              = "urn:uuid:2c6b8cb7-8b2a-4051-b291-b1ae6a575ef4"
	SchemeDocumentEntryFormatCode                 = "urn:uuid:a09d5840-386c-46f2-b5ad-9c3699a4309d"
	SchemeDocumentEntryHealthcareFacilityTypeCode = "urn:uuid:f33fb8ac-18af-42cc-ae0e-ed0b0bdb91e1"
	SchemeDocumentEntryPracticeSettingCode        = "urn:uuid:cccf5598-8b07-4b77-a05e-ae952c785ead"
	SchemeDocumentEntryTypeCode                   = "urn:uuid:f0306f51-975f-434e-a61c-c59651d33983"
	SchemeSubmissionSetAuthor                     = "urn:uuid:a7058bb9-b4e4-4307-ba5b-e3f0ab85e12d"
	SchemeSubmissionSetContentTypeCode            = "urn:uuid:aa543740-bdda-424e-8c96-df4873be8500"
	SchemeFolderCodeList                          = "urn:uuid:1ba97051-7806-41a8-a48b-8fce7af683c5"
	// SchemeAssociationDocumentation is the documentation classification of
	// a document relationship Association (ITI TF-3 4.2.2.2), kept in
	// registry.Association.Documentation.
	SchemeAssociationDocumentation = "urn:uuid:abd807a3-4432-4053-87b4-fd82c643d1f3"
)

// Identification schemes (ExternalIdentifier/@identificationScheme).
const (
	IdentDocumentEntryUniqueID  = "urn:uuid:2e82c1f6-a085-4c72-9da3-8640a32e42ab"
	IdentDocumentEntryPatientID = "urn:uuid:58a6f841-87b3-4a3e-92fd-a8ffeff98427"
	IdentSubmissionSetUniqueID  = "urn:uuid:96fdda7c-d067-4183-912e-bf5ee74998a8"
	IdentSubmissionSetSourceID  = "urn:uuid:554ac39e-e3fe-47fe-b233-965d2a147832"
	IdentSubmissionSetPatientID = "urn:uuid:6b5aea1a-874d-4603-a4bc-96a0a7b38446"
	IdentFolderUniqueID         = "urn:uuid:75df8f67-9973-4fbe-a900-df66cefecc5a"
	IdentFolderPatientID        = "urn:uuid:f64ffdf0-4b97-4e06-b79f-a52b38ec2f8a"
)

// ExternalIdentifier names (the Name/LocalizedString written on output).
const (
	nameDocumentEntryUniqueID  = "XDSDocumentEntry.uniqueId"
	nameDocumentEntryPatientID = "XDSDocumentEntry.patientId"
	nameSubmissionSetUniqueID  = "XDSSubmissionSet.uniqueId"
	nameSubmissionSetSourceID  = "XDSSubmissionSet.sourceId"
	nameSubmissionSetPatientID = "XDSSubmissionSet.patientId"
	nameFolderUniqueID         = "XDSFolder.uniqueId"
	nameFolderPatientID        = "XDSFolder.patientId"
)

// Classification nodes (Classification/@classificationNode).
const (
	NodeSubmissionSet = "urn:uuid:a54d6aa5-d40d-43f9-88c5-b4633d873bdd"
	NodeFolder        = "urn:uuid:d9d542f3-6cc4-48b6-8870-ea235fbc94c2"
	// Limited-metadata flags (XDM/XDR only; rejected here).
	NodeDocumentEntryLimitedMetadata = "urn:uuid:ab9b591b-83ab-4d03-8f5d-f93b1fb92e85"
	NodeSubmissionSetLimitedMetadata = "urn:uuid:5003a9db-8d8d-49e6-bf0c-990e34ac7707"
	NodeFolderLimitedMetadata        = "urn:uuid:2c144a76-29a9-4b7c-af54-b25409fe7d03"
)

// ebRIM objectTypes of the non-XDS registry objects.
const (
	ObjectTypeClassification     = "urn:oasis:names:tc:ebxml-regrep:ObjectType:RegistryObject:Classification"
	ObjectTypeExternalIdentifier = "urn:oasis:names:tc:ebxml-regrep:ObjectType:RegistryObject:ExternalIdentifier"
	ObjectTypeRegistryPackage    = "urn:oasis:names:tc:ebxml-regrep:ObjectType:RegistryObject:RegistryPackage"
	ObjectTypeAssociation        = "urn:oasis:names:tc:ebxml-regrep:ObjectType:RegistryObject:Association"
)

// Association types that package registry does not name.
const (
	AssocUpdateAvailabilityStatus = "urn:ihe:iti:2010:AssociationType:UpdateAvailabilityStatus"
	AssocSubmitAssociation        = "urn:ihe:iti:2010:AssociationType:SubmitAssociation"
)

// DocumentEntry documentAvailability slot values.
const (
	DocumentAvailabilityOnline  = "urn:ihe:iti:2010:DocumentAvailability:Online"
	DocumentAvailabilityOffline = "urn:ihe:iti:2010:DocumentAvailability:Offline"
)

// Slot names XDS defines.
const (
	SlotCreationTime         = "creationTime"
	SlotHash                 = "hash"
	SlotSize                 = "size"
	SlotRepositoryUniqueID   = "repositoryUniqueId"
	SlotLanguageCode         = "languageCode"
	SlotSourcePatientID      = "sourcePatientId"
	SlotSourcePatientInfo    = "sourcePatientInfo"
	SlotLegalAuthenticator   = "legalAuthenticator"
	SlotServiceStartTime     = "serviceStartTime"
	SlotServiceStopTime      = "serviceStopTime"
	SlotURI                  = "URI"
	SlotDocumentAvailability = "documentAvailability"
	SlotReferenceIDList      = "urn:ihe:iti:xds:2013:referenceIdList"
	SlotSubmissionTime       = "submissionTime"
	SlotIntendedRecipient    = "intendedRecipient"
	SlotLastUpdateTime       = "lastUpdateTime"
	SlotCodingScheme         = "codingScheme"

	SlotAuthorPerson            = "authorPerson"
	SlotAuthorInstitution       = "authorInstitution"
	SlotAuthorRole              = "authorRole"
	SlotAuthorSpecialty         = "authorSpecialty"
	SlotAuthorTelecommunication = "authorTelecommunication"
	// slotAuthorSpecialityLegacy is the misspelling found in old
	// Connectathon material (and IPF's sample SubmitObjectsRequest_ebrs30);
	// it is read as authorSpecialty and never written.
	slotAuthorSpecialityLegacy = "authorSpeciality"

	SlotSubmissionSetStatus    = "SubmissionSetStatus"
	SlotPreviousVersion        = "PreviousVersion"
	SlotOriginalStatus         = "OriginalStatus"
	SlotNewStatus              = "NewStatus"
	SlotAssociationPropagation = "AssociationPropagation"
)
