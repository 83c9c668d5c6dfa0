package registry_test

import (
	"context"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"

	"pjd/registry"
	"pjd/registry/oid"
)

const (
	metaErr       = registry.ErrCodeRegistryMetadataError
	unresolved    = registry.ErrCodeUnresolvedReference
	pidMismatch   = registry.ErrCodePatientIDDoesNotMatch
	unknownPID    = registry.ErrCodeUnknownPatientID
	dupInMessage  = registry.ErrCodeRegistryDuplicateUniqueIDInMessage
	dupInRegistry = registry.ErrCodeDuplicateUniqueIDInRegistry
	deprecatedErr = registry.ErrCodeRegistryDeprecatedDocumentError
)

// TestRegisterRejections has one row per ITI-42 rejection: the submission
// fails with exactly the listed XDS codes and nothing is stored.
func TestRegisterRejections(t *testing.T) {
	// Objects registered before some rows run.
	const priorSeq = 1000
	priorSub := func() *registry.Submission {
		return sample(priorSeq, registry.SampleOptions{Patient: patient1, Folder: true})
	}
	priorDoc := func(e *env) *registry.DocumentEntry { return e.doc(registry.SampleUniqueID(priorSeq, 0)) }

	tests := []struct {
		name     string
		opts     []envOption
		setup    func(e *env)                              // registers what the row needs
		build    func(e *env) *registry.Submission         // the rejected submission
		codes    []string                                  // exact distinct codes
		mentions []string                                  // words some codeContext holds
		check    func(t *testing.T, e *env, before counts) // extra assertions
	}{
		{name: "no SubmissionSet", codes: []string{metaErr, unresolved},
			build: func(e *env) *registry.Submission {
				s := sample(1, registry.SampleOptions{})
				s.SubmissionSet = nil
				return s
			}},
		{name: "DocumentEntry without hash", codes: []string{metaErr}, mentions: []string{"Document01", "hash"},
			build: func(e *env) *registry.Submission {
				s := sample(1, registry.SampleOptions{})
				s.Documents[0].Hash = ""
				return s
			}},
		{name: "DocumentEntry without size", codes: []string{metaErr}, mentions: []string{"Document01", "size"},
			build: func(e *env) *registry.Submission {
				s := sample(1, registry.SampleOptions{})
				s.Documents[0].Size = nil
				return s
			}},
		{name: "DocumentEntry without repositoryUniqueId", codes: []string{metaErr}, mentions: []string{"repositoryUniqueId"},
			build: func(e *env) *registry.Submission {
				s := sample(1, registry.SampleOptions{})
				s.Documents[0].RepositoryUniqueID = ""
				return s
			}},
		{name: "hash not SHA-1 hex", codes: []string{metaErr}, mentions: []string{"hash", "xyz"},
			build: func(e *env) *registry.Submission {
				s := sample(1, registry.SampleOptions{})
				s.Documents[0].Hash = "xyz"
				return s
			}},
		{name: "negative size", codes: []string{metaErr}, mentions: []string{"size"},
			build: func(e *env) *registry.Submission {
				s := sample(1, registry.SampleOptions{})
				n := int64(-1)
				s.Documents[0].Size = &n
				return s
			}},
		{name: "creationTime not a DTM", codes: []string{metaErr}, mentions: []string{"creationTime", "2024-01-15"},
			build: func(e *env) *registry.Submission {
				s := sample(1, registry.SampleOptions{})
				s.Documents[0].CreationTime = "2024-01-15"
				return s
			}},
		{name: "serviceStartTime after serviceStopTime", codes: []string{metaErr}, mentions: []string{"serviceStartTime"},
			build: func(e *env) *registry.Submission {
				s := sample(1, registry.SampleOptions{})
				s.Documents[0].ServiceStartTime, s.Documents[0].ServiceStopTime = "20240102", "20240101"
				return s
			}},
		{name: "sourcePatientId not a CX", codes: []string{metaErr}, mentions: []string{"sourcePatientId"},
			build: func(e *env) *registry.Submission {
				s := sample(1, registry.SampleOptions{})
				s.Documents[0].SourcePatientID = "15817510067"
				return s
			}},
		{name: "sourcePatientInfo PID-2", codes: []string{metaErr}, mentions: []string{"PID-2"},
			build: func(e *env) *registry.Submission {
				s := sample(1, registry.SampleOptions{})
				s.Documents[0].SourcePatientInfo = append(s.Documents[0].SourcePatientInfo, "PID-2|x")
				return s
			}},
		{name: "languageCode", codes: []string{metaErr}, mentions: []string{"languageCode"},
			build: func(e *env) *registry.Submission {
				s := sample(1, registry.SampleOptions{})
				s.Documents[0].LanguageCode = "norsk bokmål"
				return s
			}},
		{name: "mimeType", codes: []string{metaErr}, mentions: []string{"mimeType"},
			build: func(e *env) *registry.Submission {
				s := sample(1, registry.SampleOptions{})
				s.Documents[0].MimeType = "pdf"
				return s
			}},
		{name: "On-Demand objectType", codes: []string{metaErr}, mentions: []string{"objectType"},
			build: func(e *env) *registry.Submission {
				s := sample(1, registry.SampleOptions{})
				s.Documents[0].ObjectType = registry.ObjectTypeOnDemand
				return s
			}},
		{name: "authorPerson not an XCN", codes: []string{metaErr}, mentions: []string{"authorPerson"},
			build: func(e *env) *registry.Submission {
				s := sample(1, registry.SampleOptions{})
				s.Documents[0].Authors[0].Person = "^^Kari^^^^^^&2.16.578.1.12.4.1.4.4&ISO"
				return s
			}},
		{name: "authorInstitution not an XON", codes: []string{metaErr}, mentions: []string{"authorInstitution"},
			build: func(e *env) *registry.Submission {
				s := sample(1, registry.SampleOptions{})
				s.Documents[0].Authors[0].Institutions = []string{"^^^^^&2.16.578.1.12.4.1.4.101&ISO^^^^991919198"}
				return s
			}},
		{name: "authorTelecommunication not an XTN", codes: []string{metaErr}, mentions: []string{"authorTelecommunication"},
			build: func(e *env) *registry.Submission {
				s := sample(1, registry.SampleOptions{})
				s.SubmissionSet.Authors[0].Telecoms = []string{"^NET^Internet^no-at-sign"}
				return s
			}},
		{name: "empty author", codes: []string{metaErr}, mentions: []string{"author 2"},
			build: func(e *env) *registry.Submission {
				s := sample(1, registry.SampleOptions{})
				s.Documents[0].Authors = append(s.Documents[0].Authors, registry.Author{Roles: []string{"Lege"}})
				return s
			}},
		{name: "SubmissionSet uniqueId not an OID", codes: []string{metaErr}, mentions: []string{"SubmissionSet01", "uniqueId"},
			build: func(e *env) *registry.Submission {
				s := sample(1, registry.SampleOptions{})
				s.SubmissionSet.UniqueID = "urn:uuid:1"
				return s
			}},
		{name: "SubmissionSet without submissionTime", codes: []string{metaErr}, mentions: []string{"submissionTime"},
			build: func(e *env) *registry.Submission {
				s := sample(1, registry.SampleOptions{})
				s.SubmissionSet.SubmissionTime = ""
				return s
			}},
		{name: "SubmissionSet sourceId not an OID", codes: []string{metaErr}, mentions: []string{"sourceId"},
			build: func(e *env) *registry.Submission {
				s := sample(1, registry.SampleOptions{})
				s.SubmissionSet.SourceID = "EPJ"
				return s
			}},
		{name: "DocumentEntry uniqueId longer than 128", codes: []string{metaErr}, mentions: []string{"uniqueId"},
			build: func(e *env) *registry.Submission {
				s := sample(1, registry.SampleOptions{})
				s.Documents[0].UniqueID = "2.999." + strings.Repeat("1", 130)
				return s
			}},
		{name: "DocumentEntry uniqueId with a space", codes: []string{metaErr}, mentions: []string{"uniqueId"},
			build: func(e *env) *registry.Submission {
				s := sample(1, registry.SampleOptions{})
				s.Documents[0].UniqueID = "2.999.1 2"
				return s
			}},
		{name: "unknown classCode", codes: []string{metaErr}, mentions: []string{"Document01", "classCode", "Z00-1", oid.Volven9602},
			build: func(e *env) *registry.Submission {
				s := sample(1, registry.SampleOptions{})
				s.Documents[0].Class.Code = "Z00-1"
				return s
			}},
		{name: "classCode in an unknown scheme", codes: []string{metaErr}, mentions: []string{"classCode", "2.16.840.1.113883.6.1"},
			build: func(e *env) *registry.Submission {
				s := sample(1, registry.SampleOptions{})
				s.Documents[0].Class = registry.Code{Code: "18842-5", Scheme: "2.16.840.1.113883.6.1"}
				s.Documents[0].Type = registry.Code{Code: "18842-5", Scheme: "2.16.840.1.113883.6.1"}
				return s
			}},
		{name: "typeCode of another classCode", codes: []string{metaErr}, mentions: []string{"typeCode", "E01-2", "A00-1"},
			build: func(e *env) *registry.Submission {
				s := sample(1, registry.SampleOptions{})
				s.Documents[0].Type = registry.SampleTypeBildesvar
				return s
			}},
		{name: "unknown confidentialityCode", codes: []string{metaErr}, mentions: []string{"confidentialityCode", "SECRET"},
			build: func(e *env) *registry.Submission {
				s := sample(1, registry.SampleOptions{})
				s.Documents[0].Confidentiality = []registry.Code{{Code: "SECRET", Scheme: oid.Volven9603}}
				return s
			}},
		{name: "no confidentialityCode", codes: []string{metaErr}, mentions: []string{"confidentialityCode"},
			build: func(e *env) *registry.Submission {
				s := sample(1, registry.SampleOptions{})
				s.Documents[0].Confidentiality = []registry.Code{}
				return s
			}},
		{name: "unknown formatCode", codes: []string{metaErr}, mentions: []string{"formatCode"},
			build: func(e *env) *registry.Submission {
				s := sample(1, registry.SampleOptions{})
				s.Documents[0].Format.Code = "urn:x:unknown"
				return s
			}},
		{name: "unknown healthcareFacilityTypeCode", codes: []string{metaErr}, mentions: []string{"healthcareFacilityTypeCode", "99.999"},
			build: func(e *env) *registry.Submission {
				s := sample(1, registry.SampleOptions{})
				s.Documents[0].FacilityType.Code = "99.999"
				return s
			}},
		{name: "practiceSettingCode without scheme", codes: []string{metaErr}, mentions: []string{"practiceSettingCode"},
			build: func(e *env) *registry.Submission {
				s := sample(1, registry.SampleOptions{})
				s.Documents[0].PracticeSetting.Scheme = ""
				return s
			}},
		{name: "unknown slot name", codes: []string{metaErr}, mentions: []string{"Document01", "myField"},
			build: func(e *env) *registry.Submission {
				s := sample(1, registry.SampleOptions{})
				s.Documents[0].Extra = []registry.Slot{{Name: "myField", Values: []string{"x"}}}
				return s
			}},
		{name: "NUL in title", codes: []string{metaErr}, mentions: []string{"title"},
			build: func(e *env) *registry.Submission {
				s := sample(1, registry.SampleOptions{})
				s.Documents[0].Title = "Epi\x00krise"
				return s
			}},
		{name: "invalid UTF-8", codes: []string{metaErr}, mentions: []string{"comments"},
			build: func(e *env) *registry.Submission {
				s := sample(1, registry.SampleOptions{})
				s.Documents[0].Comments = "\xff\xfe"
				return s
			}},
		{name: "logicalID differs from id", codes: []string{metaErr}, mentions: []string{"logicalID"},
			build: func(e *env) *registry.Submission {
				s := sample(1, registry.SampleOptions{})
				s.Documents[0].LogicalID = "urn:uuid:6f1c3b0e-4b7e-4d6b-9a55-8d8a3c9a1f00"
				return s
			}},
		{name: "Folder without codeList", codes: []string{metaErr}, mentions: []string{"Folder01", "codeList"},
			build: func(e *env) *registry.Submission {
				s := sample(1, registry.SampleOptions{Folder: true})
				s.Folders[0].Codes = nil
				return s
			}},
		{name: "Folder without title", codes: []string{metaErr}, mentions: []string{"Folder01", "title"},
			build: func(e *env) *registry.Submission {
				s := sample(1, registry.SampleOptions{Folder: true})
				s.Folders[0].Title = ""
				return s
			}},
		{name: "uniqueId twice in the message", codes: []string{dupInMessage}, mentions: []string{registry.SampleUniqueID(1, 0)},
			build: func(e *env) *registry.Submission {
				s := sample(1, registry.SampleOptions{Documents: 2})
				s.Documents[1].UniqueID = s.Documents[0].UniqueID
				return s
			}},
		{name: "entryUUID twice in the message", codes: []string{metaErr}, mentions: []string{"Document01"},
			build: func(e *env) *registry.Submission {
				s := sample(1, registry.SampleOptions{Documents: 2})
				s.Documents[1].ID = "Document01"
				assoc(s, "HasMember02").Target = "Document01"
				return s
			}},
		{name: "malformed urn:uuid id", codes: []string{metaErr}, mentions: []string{"urn:uuid:not-a-uuid"},
			build: func(e *env) *registry.Submission {
				s := sample(1, registry.SampleOptions{})
				s.Documents[0].ID = "urn:uuid:not-a-uuid"
				assoc(s, "HasMember01").Target = "urn:uuid:not-a-uuid"
				return s
			}},
		{name: "DocumentEntry of another patient", codes: []string{pidMismatch}, mentions: []string{"Document02", patient2},
			build: func(e *env) *registry.Submission {
				s := sample(1, registry.SampleOptions{Patient: patient1, Documents: 2})
				s.Documents[1].PatientID = patient2
				s.Documents[1].SourcePatientID = patient2
				return s
			}},
		{name: "Folder of another patient", codes: []string{pidMismatch}, mentions: []string{"Folder01"},
			build: func(e *env) *registry.Submission {
				s := sample(1, registry.SampleOptions{Patient: patient1, Folder: true})
				s.Folders[0].PatientID = patient2
				return s
			}},
		{name: "unknown patient (bad check digit)", codes: []string{unknownPID}, mentions: []string{"15817510068"},
			build: func(e *env) *registry.Submission {
				return sample(1, registry.SampleOptions{Patient: "15817510068^^^&2.16.578.1.12.4.1.4.1&ISO"})
			}},
		{name: "unknown patient (foreign assigning authority)", codes: []string{unknownPID},
			build: func(e *env) *registry.Submission {
				return sample(1, registry.SampleOptions{Patient: "123456^^^&1.2.3.4&ISO"})
			}},
		{name: "synthetic patient where synthetic numbers are refused", codes: []string{unknownPID},
			opts: []envOption{withPatients(registry.NorwegianPatientIDs{AllowSynthetic: false})},
			build: func(e *env) *registry.Submission {
				return sample(1, registry.SampleOptions{Patient: patient1})
			}},
		{name: "SubmissionSet uniqueId already registered", codes: []string{dupInRegistry},
			mentions: []string{"SubmissionSet01", registry.SampleUniqueID(priorSeq, -1)},
			setup:    func(e *env) { e.register(priorSub()) },
			build: func(e *env) *registry.Submission {
				s := sample(2, registry.SampleOptions{Patient: patient1})
				s.SubmissionSet.UniqueID = registry.SampleUniqueID(priorSeq, -1)
				return s
			}},
		{name: "Folder uniqueId already registered", codes: []string{dupInRegistry}, mentions: []string{"Folder01"},
			setup: func(e *env) { e.register(priorSub()) },
			build: func(e *env) *registry.Submission {
				s := sample(2, registry.SampleOptions{Patient: patient1, Folder: true})
				s.Folders[0].UniqueID = registry.SampleUniqueID(priorSeq, -2)
				return s
			}},
		{name: "DocumentEntry uniqueId registered with another hash", codes: []string{registry.ErrCodeNonIdenticalHash},
			mentions: []string{registry.SampleUniqueID(priorSeq, 0)},
			setup:    func(e *env) { e.register(priorSub()) },
			build: func(e *env) *registry.Submission {
				s := sample(2, registry.SampleOptions{Patient: patient1})
				s.Documents[0].UniqueID = registry.SampleUniqueID(priorSeq, 0)
				s.Documents[0].Hash = strings.Repeat("ab", 20)
				s.Documents[0].Size = priorDoc(e).Size
				return s
			}},
		{name: "DocumentEntry uniqueId registered with another size", codes: []string{registry.ErrCodeNonIdenticalSize},
			setup: func(e *env) { e.register(priorSub()) },
			build: func(e *env) *registry.Submission {
				s := sample(2, registry.SampleOptions{Patient: patient1})
				old := priorDoc(e)
				s.Documents[0].UniqueID, s.Documents[0].Hash = old.UniqueID, strings.ToUpper(old.Hash)
				n := *old.Size + 1
				s.Documents[0].Size = &n
				return s
			}},
		{name: "pre-assigned entryUUID already in the registry", codes: []string{metaErr},
			setup: func(e *env) { e.register(priorSub()) },
			build: func(e *env) *registry.Submission {
				s := sample(2, registry.SampleOptions{Patient: patient1})
				id := priorDoc(e).ID
				s.Documents[0].ID = id
				assoc(s, "HasMember01").Target = id
				return s
			}},
		{name: "DocumentEntry not a member of the SubmissionSet", codes: []string{metaErr}, mentions: []string{"Document01", "member"},
			build: func(e *env) *registry.Submission {
				s := sample(1, registry.SampleOptions{})
				withoutAssoc(s, "HasMember01")
				return s
			}},
		{name: "Folder not a member of the SubmissionSet", codes: []string{metaErr}, mentions: []string{"Folder01", "member"},
			build: func(e *env) *registry.Submission {
				s := sample(1, registry.SampleOptions{Folder: true})
				withoutAssoc(s, "HasMemberFolder")
				return s
			}},
		{name: "HasMember without SubmissionSetStatus", codes: []string{metaErr}, mentions: []string{"HasMember01", "SubmissionSetStatus"},
			build: func(e *env) *registry.Submission {
				s := sample(1, registry.SampleOptions{})
				assoc(s, "HasMember01").SubmissionSetStatus = ""
				return s
			}},
		{name: "SubmissionSetStatus Reference for a new DocumentEntry", codes: []string{metaErr}, mentions: []string{"HasMember01"},
			build: func(e *env) *registry.Submission {
				s := sample(1, registry.SampleOptions{})
				assoc(s, "HasMember01").SubmissionSetStatus = registry.SubmissionSetStatusReference
				return s
			}},
		{name: "SubmissionSetStatus Original for a registered DocumentEntry", codes: []string{metaErr},
			setup: func(e *env) { e.register(priorSub()) },
			build: func(e *env) *registry.Submission {
				s := sample(2, registry.SampleOptions{Patient: patient1})
				s.Associations = append(s.Associations, &registry.Association{ID: "Ref", Type: registry.AssocHasMember,
					Source: "SubmissionSet01", Target: priorDoc(e).ID, SubmissionSetStatus: registry.SubmissionSetStatusOriginal})
				return s
			}},
		{name: "invalid SubmissionSetStatus", codes: []string{metaErr},
			build: func(e *env) *registry.Submission {
				s := sample(1, registry.SampleOptions{})
				assoc(s, "HasMember01").SubmissionSetStatus = "Copy"
				return s
			}},
		{name: "Folder→DocumentEntry HasMember not in the SubmissionSet", codes: []string{metaErr}, mentions: []string{"FolderMember01"},
			build: func(e *env) *registry.Submission {
				s := sample(1, registry.SampleOptions{Folder: true})
				withoutAssoc(s, "FolderMember01InSet")
				return s
			}},
		{name: "HasMember from a DocumentEntry", codes: []string{metaErr},
			build: func(e *env) *registry.Submission {
				s := sample(1, registry.SampleOptions{Documents: 2})
				s.Associations = append(s.Associations, &registry.Association{ID: "Odd", Type: registry.AssocHasMember,
					Source: "Document01", Target: "Document02"})
				return s
			}},
		{name: "registered Folder gains a member of another patient", codes: []string{pidMismatch},
			setup: func(e *env) { e.register(priorSub()) },
			build: func(e *env) *registry.Submission {
				s := sample(2, registry.SampleOptions{Patient: patient2})
				f := e.folder(registry.SampleUniqueID(priorSeq, -2))
				s.Associations = append(s.Associations,
					&registry.Association{ID: "FM", Type: registry.AssocHasMember, Source: f.ID, Target: "Document01"},
					&registry.Association{ID: "FMInSet", Type: registry.AssocHasMember, Source: "SubmissionSet01", Target: "FM"})
				return s
			}},
		{name: "association to a symbolic id not in the submission", codes: []string{unresolved}, mentions: []string{"Document99"},
			build: func(e *env) *registry.Submission {
				s := sample(1, registry.SampleOptions{})
				s.Associations = append(s.Associations, &registry.Association{ID: "Dangling", Type: registry.AssocHasMember,
					Source: "SubmissionSet01", Target: "Document99", SubmissionSetStatus: registry.SubmissionSetStatusReference})
				return s
			}},
		{name: "association to a UUID the registry does not hold", codes: []string{unresolved},
			mentions: []string{"urn:uuid:0b7a2f1e-3c4d-4e5f-8a9b-0c1d2e3f4a5b"},
			build: func(e *env) *registry.Submission {
				s := sample(1, registry.SampleOptions{})
				s.Associations = append(s.Associations, &registry.Association{ID: "Dangling", Type: registry.AssocHasMember,
					Source: "SubmissionSet01", Target: "urn:uuid:0b7a2f1e-3c4d-4e5f-8a9b-0c1d2e3f4a5b", SubmissionSetStatus: registry.SubmissionSetStatusReference})
				return s
			}},
		{name: "RPLC target not in the registry", codes: []string{unresolved},
			build: func(e *env) *registry.Submission {
				s := sample(1, registry.SampleOptions{})
				relation(s, registry.AssocReplace, "urn:uuid:0b7a2f1e-3c4d-4e5f-8a9b-0c1d2e3f4a5b")
				return s
			}},
		{name: "RPLC source not in the submission", codes: []string{unresolved}, mentions: []string{"Rel01", "sourceObject"},
			setup: func(e *env) {
				e.register(priorSub())
				e.register(sample(priorSeq+1, registry.SampleOptions{Patient: patient1}))
			},
			build: func(e *env) *registry.Submission {
				s := sample(2, registry.SampleOptions{Patient: patient1})
				s.Associations = append(s.Associations, &registry.Association{ID: "Rel01", Type: registry.AssocReplace,
					Source: e.doc(registry.SampleUniqueID(priorSeq+1, 0)).ID, Target: priorDoc(e).ID})
				return s
			}},
		{name: "documentation classification on a HasMember", codes: []string{metaErr}, mentions: []string{"HasMember01", "documentation"},
			build: func(e *env) *registry.Submission {
				s := sample(1, registry.SampleOptions{})
				s.Associations[0].Documentation = &registry.Code{Code: "KORR", Scheme: "2.999.1"}
				return s
			}},
		{name: "documentation classification without codingScheme", codes: []string{metaErr}, mentions: []string{"Rel01", "codingScheme"},
			setup: func(e *env) { e.register(priorSub()) },
			build: func(e *env) *registry.Submission {
				s := sample(1, registry.SampleOptions{Patient: patient1})
				relation(s, registry.AssocReplace, priorDoc(e).ID)
				s.Associations[len(s.Associations)-1].Documentation = &registry.Code{Code: "KORR"}
				return s
			}},
		{name: "RPLC of a Deprecated DocumentEntry", codes: []string{deprecatedErr},
			setup: func(e *env) {
				e.register(priorSub())
				s := sample(priorSeq+1, registry.SampleOptions{Patient: patient1})
				relation(s, registry.AssocReplace, priorDoc(e).ID)
				e.register(s)
			},
			build: func(e *env) *registry.Submission {
				s := sample(2, registry.SampleOptions{Patient: patient1})
				relation(s, registry.AssocReplace, priorDoc(e).ID)
				return s
			}},
		{name: "APND to a Deprecated DocumentEntry", codes: []string{deprecatedErr},
			setup: func(e *env) {
				e.register(priorSub())
				s := sample(priorSeq+1, registry.SampleOptions{Patient: patient1})
				relation(s, registry.AssocTransformReplace, priorDoc(e).ID)
				e.register(s)
			},
			build: func(e *env) *registry.Submission {
				s := sample(2, registry.SampleOptions{Patient: patient1})
				relation(s, registry.AssocAppend, priorDoc(e).ID)
				return s
			}},
		{name: "RPLC target of another patient", codes: []string{pidMismatch},
			setup: func(e *env) { e.register(priorSub()) },
			build: func(e *env) *registry.Submission {
				s := sample(2, registry.SampleOptions{Patient: patient2})
				relation(s, registry.AssocReplace, priorDoc(e).ID)
				return s
			}},
		{name: "XFRM target in the same submission", codes: []string{metaErr},
			build: func(e *env) *registry.Submission {
				s := sample(1, registry.SampleOptions{Documents: 2})
				relation(s, registry.AssocTransform, "Document02")
				return s
			}},
		{name: "one document replaced twice", codes: []string{metaErr}, mentions: []string{"replaced twice"},
			setup: func(e *env) { e.register(priorSub()) },
			build: func(e *env) *registry.Submission {
				s := sample(2, registry.SampleOptions{Patient: patient1, Documents: 2})
				target := priorDoc(e).ID
				s.Associations = append(s.Associations,
					&registry.Association{ID: "R1", Type: registry.AssocReplace, Source: "Document01", Target: target},
					&registry.Association{ID: "R2", Type: registry.AssocReplace, Source: "Document02", Target: target})
				return s
			}},
		{name: "unsupported association type", codes: []string{metaErr}, mentions: []string{"Rel01"},
			build: func(e *env) *registry.Submission {
				s := sample(1, registry.SampleOptions{Documents: 2})
				relation(s, "urn:example:AssociationType:Likes", "Document02")
				return s
			}},
		{name: "IsSnapshotOf", codes: []string{metaErr},
			setup: func(e *env) { e.register(priorSub()) },
			build: func(e *env) *registry.Submission {
				s := sample(2, registry.SampleOptions{Patient: patient1})
				relation(s, registry.AssocIsSnapshotOf, priorDoc(e).ID)
				return s
			}},
		{name: "several problems reported together", codes: []string{dupInMessage, metaErr, unknownPID},
			build: func(e *env) *registry.Submission {
				s := sample(1, registry.SampleOptions{Documents: 2, Patient: "15817510068^^^&2.16.578.1.12.4.1.4.1&ISO"})
				s.Documents[0].Hash = ""
				s.Documents[0].LanguageCode = ""
				s.Documents[1].Class.Code = "Z00-1"
				s.Documents[1].UniqueID = s.Documents[0].UniqueID
				return s
			}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv(t, tc.opts...)
			if tc.setup != nil {
				tc.setup(e)
			}
			before := e.counts()
			sub := tc.build(e)
			warnings, err := e.reg.Register(context.Background(), sub)
			if err == nil {
				t.Fatalf("Register succeeded (warnings %v), want %v", warnings, tc.codes)
			}
			if got := codesOf(t, err); !reflect.DeepEqual(got, sorted(tc.codes...)) {
				t.Fatalf("codes = %v, want %v\n%v", got, sorted(tc.codes...), err)
			}
			if len(tc.mentions) > 0 && !contextMentions(err, tc.mentions...) {
				t.Errorf("no codeContext mentions %q:\n%v", tc.mentions, err)
			}
			if after := e.counts(); after != before {
				t.Errorf("stored objects changed from %+v to %+v", before, after)
			}
		})
	}

	t.Run("every problem is listed", func(t *testing.T) {
		e := newEnv(t)
		s := sample(1, registry.SampleOptions{Documents: 2})
		s.Documents[0].Hash = ""
		s.Documents[0].LanguageCode = ""
		s.Documents[1].Title = strings.Repeat("x", 129)
		_, err := e.reg.Register(context.Background(), s)
		l, _ := registry.AsErrors(err)
		if len(l) != 3 {
			t.Fatalf("%d errors, want 3 (hash, languageCode, title): %v", len(l), err)
		}
	})
}

func TestRegisterStoresSubmission(t *testing.T) {
	e := newEnv(t)
	s := sample(1, registry.SampleOptions{Patient: patient1, Documents: 2, Folder: true})
	s.Documents[0].Hash = strings.ToUpper(s.Documents[0].Hash)
	s.Documents[0].Extra = []registry.Slot{{Name: "urn:no:nhn:xds:extra", Values: []string{"kept"}}}
	s.Documents[0].Status = registry.StatusDeprecated // ignored: new objects are Approved
	s.Folders[0].LastUpdateTime = "19990101"          // ignored: set by the registry
	orig := *s.Documents[0]
	e.register(s)

	if got := e.counts(); got != (counts{docs: 2, sets: 1, folders: 1, assocs: 7}) {
		t.Fatalf("counts = %+v", got)
	}
	if !reflect.DeepEqual(*s.Documents[0], orig) {
		t.Error("Register modified the caller's submission")
	}
	d := e.doc(registry.SampleUniqueID(1, 0))
	if !strings.HasPrefix(d.ID, "urn:uuid:") || d.ID == "Document01" {
		t.Errorf("symbolic id not replaced: %s", d.ID)
	}
	if d.LogicalID != d.ID || d.Version != "1" || d.Status != registry.StatusApproved {
		t.Errorf("lid %s version %s status %s", d.LogicalID, d.Version, d.Status)
	}
	if d.Hash != strings.ToLower(orig.Hash) {
		t.Errorf("hash %s not lower-cased", d.Hash)
	}
	if !reflect.DeepEqual(d.Extra, orig.Extra) {
		t.Errorf("extra slots %v, want %v", d.Extra, orig.Extra)
	}
	if d.Title != orig.Title || d.PatientID != patient1 || d.Class != orig.Class || !reflect.DeepEqual(d.Authors, orig.Authors) {
		t.Errorf("metadata not stored as sent: %+v", d)
	}
	f := e.folder(registry.SampleUniqueID(1, -2))
	if f.LastUpdateTime != registry.FormatDTM(t0) || f.LogicalID != f.ID || f.Version != "1" || f.Status != registry.StatusApproved {
		t.Errorf("folder %+v", f)
	}
	ss := e.submissionSet(registry.SampleUniqueID(1, -1))
	if ss.Status != registry.StatusApproved {
		t.Errorf("submission set status %s", ss.Status)
	}
	// Associations point at the stored ids.
	has := e.assocs(registry.AssociationFilter{Sources: []string{ss.ID}})
	if len(has) != 5 { // 2 documents, the folder, 2 folder memberships
		t.Fatalf("%d SubmissionSet associations", len(has))
	}
	inFolder := e.assocs(registry.AssociationFilter{Sources: []string{f.ID}, Targets: []string{d.ID}})
	if len(inFolder) != 1 || inFolder[0].Status != registry.StatusApproved {
		t.Fatalf("folder membership %+v", inFolder)
	}
	for _, a := range has {
		if a.Target == d.ID && a.SubmissionSetStatus != registry.SubmissionSetStatusOriginal {
			t.Errorf("SubmissionSetStatus %q", a.SubmissionSetStatus)
		}
	}
}

func TestRegisterPreassignedUUIDs(t *testing.T) {
	e := newEnv(t)
	s := sample(1, registry.SampleOptions{})
	const ssID = "urn:uuid:4f6e2c1a-8b3d-4c5e-9f7a-1b2c3d4e5f60"
	const docID = "urn:uuid:5a7f3d2b-9c4e-4d6f-8a1b-2c3d4e5f6a71"
	s.SubmissionSet.ID, s.Documents[0].ID = ssID, docID
	a := assoc(s, "HasMember01")
	a.Source, a.Target = ssID, docID
	e.register(s)
	if d := e.doc(registry.SampleUniqueID(1, 0)); d.ID != docID || d.LogicalID != docID {
		t.Errorf("pre-assigned id not kept: %s / %s", d.ID, d.LogicalID)
	}
	if got := e.submissionSet(registry.SampleUniqueID(1, -1)).ID; got != ssID {
		t.Errorf("submission set id %s", got)
	}
}

func TestRegisterResubmission(t *testing.T) {
	e := newEnv(t)
	e.register(sample(1, registry.SampleOptions{Patient: patient1}))
	// The same document (uniqueId, hash, size) in a new submission.
	s := sample(2, registry.SampleOptions{Patient: patient1})
	first := e.doc(registry.SampleUniqueID(1, 0))
	s.Documents[0].UniqueID, s.Documents[0].Hash, s.Documents[0].Size = first.UniqueID, strings.ToUpper(first.Hash), first.Size
	e.register(s)
	docs, _ := e.reg.Reader().Documents(context.Background(), registry.DocumentFilter{UniqueIDs: []string{first.UniqueID}})
	if len(docs) != 2 {
		t.Fatalf("%d entries with the uniqueId, want 2", len(docs))
	}
}

func TestRegisterReferenceMember(t *testing.T) {
	e := newEnv(t)
	e.register(sample(1, registry.SampleOptions{Patient: patient1}))
	old := e.doc(registry.SampleUniqueID(1, 0))
	// A SubmissionSet may list a registered document by Reference, also
	// one of another patient (NIST: Reference members are exempt).
	for seq, pid := range map[uint64]string{2: patient1, 3: patient2} {
		s := sample(seq, registry.SampleOptions{Patient: pid})
		s.Associations = append(s.Associations, &registry.Association{ID: "Ref", Type: registry.AssocHasMember,
			Source: "SubmissionSet01", Target: old.ID, SubmissionSetStatus: registry.SubmissionSetStatusReference})
		e.register(s)
	}
	if n := len(e.assocs(registry.AssociationFilter{Targets: []string{old.ID}})); n != 3 {
		t.Errorf("%d HasMember to the referenced document, want 3", n)
	}
}

func TestRegisterAddsToRegisteredFolder(t *testing.T) {
	e := newEnv(t)
	e.register(sample(1, registry.SampleOptions{Patient: patient1, Folder: true}))
	f := e.folder(registry.SampleUniqueID(1, -2))
	e.advance(time.Hour)
	s := sample(2, registry.SampleOptions{Patient: patient1})
	s.Associations = append(s.Associations,
		&registry.Association{ID: "FM", Type: registry.AssocHasMember, Source: f.ID, Target: "Document01"},
		&registry.Association{ID: "FMInSet", Type: registry.AssocHasMember, Source: "SubmissionSet01", Target: "FM"})
	e.register(s)
	if got := e.folder(f.UniqueID).LastUpdateTime; got != registry.FormatDTM(t0.Add(time.Hour)) {
		t.Errorf("folder lastUpdateTime %s, want %s", got, registry.FormatDTM(t0.Add(time.Hour)))
	}
	if n := len(e.assocs(registry.AssociationFilter{Sources: []string{f.ID}})); n != 2 {
		t.Errorf("folder has %d members, want 2", n)
	}
}

// TestRegisterRelationships covers every relationship type and its effect
// on the registry.
func TestRegisterRelationships(t *testing.T) {
	eachBackend(t, testRegisterRelationships)
}

func testRegisterRelationships(t *testing.T, open func(t *testing.T) registry.Store) {
	newEnv := func(t *testing.T) *env { return newEnvOn(t, open) }
	status := func(e *env, seq uint64) string { return e.doc(registry.SampleUniqueID(seq, 0)).Status }
	id := func(e *env, seq uint64) string { return e.doc(registry.SampleUniqueID(seq, 0)).ID }
	relate := func(e *env, seq uint64, typ string, target uint64) {
		s := sample(seq, registry.SampleOptions{Patient: patient1})
		relation(s, typ, id(e, target))
		e.register(s)
	}

	t.Run("RPLC", func(t *testing.T) {
		e := newEnv(t)
		e.register(sample(1, registry.SampleOptions{Patient: patient1, Folder: true}))
		relate(e, 2, registry.AssocAppend, 1)    // addendum of 1
		relate(e, 3, registry.AssocTransform, 1) // transformation of 1
		relate(e, 4, registry.AssocAppend, 2)    // addendum of the addendum
		relate(e, 5, registry.AssocSigns, 1)     // signature: not deprecated with it
		e.advance(24 * time.Hour)
		relate(e, 6, registry.AssocReplace, 1)
		for seq, want := range map[uint64]string{
			1: registry.StatusDeprecated, 2: registry.StatusDeprecated, 3: registry.StatusDeprecated,
			4: registry.StatusDeprecated, 5: registry.StatusApproved, 6: registry.StatusApproved,
		} {
			if got := status(e, seq); got != want {
				t.Errorf("document of submission %d: %s, want %s", seq, got, want)
			}
		}
		f := e.folder(registry.SampleUniqueID(1, -2))
		if got := e.assocs(registry.AssociationFilter{Sources: []string{f.ID}, Targets: []string{id(e, 6)}}); len(got) != 1 ||
			got[0].Type != registry.AssocHasMember || got[0].Status != registry.StatusApproved {
			t.Errorf("replacement not added to the folder: %+v", got)
		}
		if f.LastUpdateTime != registry.FormatDTM(t0.Add(24*time.Hour)) {
			t.Errorf("folder lastUpdateTime %s", f.LastUpdateTime)
		}
		if got := e.assocs(registry.AssociationFilter{Sources: []string{id(e, 6)}, Types: []string{registry.AssocReplace}}); len(got) != 1 || got[0].Target != id(e, 1) {
			t.Errorf("RPLC association %+v", got)
		}
	})
	t.Run("RPLC with documentation", func(t *testing.T) {
		// NIST finding: the reason for the replacement (ITI TF-3 4.2.2.2)
		// is stored and returned.
		e := newEnv(t)
		e.register(sample(1, registry.SampleOptions{Patient: patient1}))
		s := sample(2, registry.SampleOptions{Patient: patient1})
		relation(s, registry.AssocReplace, id(e, 1))
		why := &registry.Code{Code: "KORR", Scheme: "2.16.578.1.12.4.1.7.99.3", Display: "Korrigert diagnose"}
		s.Associations[len(s.Associations)-1].Documentation = why
		e.register(s)
		res, err := e.reg.Query(context.Background(), &registry.Query{ID: registry.QueryGetRelatedDocuments, ReturnType: registry.ReturnLeafClass,
			Params: []registry.Slot{p(registry.ParamDocumentEntryEntryUUID, quote(id(e, 2))), p(registry.ParamAssociationTypes, list(registry.AssocReplace))}})
		if err != nil || len(res.Associations) != 1 || !reflect.DeepEqual(res.Associations[0].Documentation, why) {
			t.Errorf("GetRelatedDocuments: %+v, %v", res, err)
		}
	})
	t.Run("XFRM_RPLC", func(t *testing.T) {
		e := newEnv(t)
		e.register(sample(1, registry.SampleOptions{Patient: patient1}))
		relate(e, 2, registry.AssocTransform, 1)
		relate(e, 3, registry.AssocTransformReplace, 1)
		for seq, want := range map[uint64]string{1: registry.StatusDeprecated, 2: registry.StatusDeprecated, 3: registry.StatusApproved} {
			if got := status(e, seq); got != want {
				t.Errorf("document of submission %d: %s, want %s", seq, got, want)
			}
		}
	})
	for _, typ := range []string{registry.AssocAppend, registry.AssocTransform, registry.AssocSigns} {
		t.Run(typ[strings.LastIndexByte(typ, ':')+1:], func(t *testing.T) {
			e := newEnv(t)
			e.register(sample(1, registry.SampleOptions{Patient: patient1}))
			before := e.counts()
			relate(e, 2, typ, 1)
			if status(e, 1) != registry.StatusApproved {
				t.Errorf("target became %s", status(e, 1))
			}
			got := e.assocs(registry.AssociationFilter{Types: []string{typ}})
			if len(got) != 1 || got[0].Source != id(e, 2) || got[0].Target != id(e, 1) {
				t.Errorf("association %+v", got)
			}
			if after := e.counts(); after.assocs != before.assocs+2 || after.docs != before.docs+1 {
				t.Errorf("counts %+v → %+v", before, after)
			}
		})
	}
	t.Run("signs a document of the same submission", func(t *testing.T) {
		e := newEnv(t)
		s := sample(1, registry.SampleOptions{Patient: patient1, Documents: 2})
		relation(s, registry.AssocSigns, "Document02")
		e.register(s)
		if n := len(e.assocs(registry.AssociationFilter{Types: []string{registry.AssocSigns}})); n != 1 {
			t.Errorf("%d signs associations", n)
		}
	})
}

// TestRegisterConcurrentSameSubmissionSet: several goroutines register
// the same SubmissionSet uniqueId at once; exactly one succeeds.
func TestRegisterConcurrentSameSubmissionSet(t *testing.T) {
	eachBackend(t, testRegisterConcurrent)
}

func testRegisterConcurrent(t *testing.T, open func(t *testing.T) registry.Store) {
	e := newEnvOn(t, open)
	const n = 8
	var wg sync.WaitGroup
	errs := make([]error, n)
	for i := 0; i < n; i++ {
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			_, errs[i] = e.reg.Register(context.Background(), sample(42, registry.SampleOptions{Patient: patient1}))
		}(i)
	}
	wg.Wait()
	ok := 0
	for _, err := range errs {
		if err == nil {
			ok++
			continue
		}
		if got := codesOf(t, err); !reflect.DeepEqual(got, []string{dupInRegistry}) {
			t.Errorf("loser got %v, want %s", got, dupInRegistry)
		}
	}
	if ok != 1 {
		t.Fatalf("%d registrations succeeded, want exactly 1", ok)
	}
	if c := e.counts(); c.sets != 1 || c.docs != 1 {
		t.Errorf("counts %+v", c)
	}
}

func TestNewConfig(t *testing.T) {
	if _, err := registry.New(registry.Config{}); err == nil {
		t.Error("New without a store succeeded")
	}
	e := newEnv(t)
	for _, cfg := range []registry.Config{
		{Store: e.store, MaxResults: -1},
		{Store: e.store, MaxResults: registry.DefaultMaxResults + 1},
		{Store: e.store, HomeCommunityID: "2.16.578.1.12.4.5.100.1"},
		{Store: e.store, HomeCommunityID: "urn:oid:not-an-oid"},
	} {
		if _, err := registry.New(cfg); err == nil {
			t.Errorf("New(%+v) succeeded", cfg)
		}
	}
	if _, err := registry.New(registry.Config{Store: e.store, HomeCommunityID: "urn:oid:2.16.578.1.12.4.5.100.1"}); err != nil {
		t.Error(err)
	}
	// The default profile refuses synthetic patients (AllowSynthetic is
	// off unless configured).
	reg, _ := registry.New(registry.Config{Store: e.store})
	_, err := reg.Register(context.Background(), sample(1, registry.SampleOptions{}))
	if got := codesOf(t, err); !reflect.DeepEqual(got, []string{unknownPID}) {
		t.Errorf("default checker: %v", got)
	}
	if _, err := reg.Register(context.Background(), nil); err == nil {
		t.Error("nil submission accepted")
	}
}
