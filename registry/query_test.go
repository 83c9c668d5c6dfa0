package registry_test

import (
	"context"
	"reflect"
	"sort"
	"strings"
	"testing"
	"time"

	"pjd/registry"
)

// corpus is a small registry:
//
//	patient1, S1 (2024-01-15): D1 (A00-1/A03-2, N), D2 (E00-1/E01-2, NORS, created
//	          2024-03-01, referenceIdList ref-1, ref-2), Folder F1 holding both;
//	patient1, S2 (2024-06-01): D3 replaces D1 (RPLC) → D1 Deprecated, D3 joins F1;
//	patient2, S3 (2024-02-01): D4.
//
// 11 associations: S1→D1, S1→D2, S1→F1, F1→D1, F1→D2, S1→(F1→D1),
// S1→(F1→D2), S2→D3, D3 RPLC D1, F1→D3 (added by the registry), S3→D4.
type corpus struct {
	e              *env
	d1, d2, d3, d4 *registry.DocumentEntry
	s1, s2, s3     *registry.SubmissionSet
	f1             *registry.Folder
}

const (
	ref1 = "ref-1^^^^urn:ihe:iti:xds:2013:accession"
	ref2 = "ref-2^^^^urn:ihe:iti:xds:2013:accession"
	ref3 = "ref-3^^^^urn:ihe:iti:xds:2013:accession"
)

func newCorpus(t *testing.T, opts ...envOption) *corpus {
	return newCorpusOn(t, openSQLite, opts...)
}

func newCorpusOn(t *testing.T, open func(t *testing.T) registry.Store, opts ...envOption) *corpus {
	t.Helper()
	e := newEnvOn(t, open, opts...)
	s1 := sample(1, registry.SampleOptions{Patient: patient1, Documents: 2, Folder: true, Time: time.Date(2024, 1, 15, 10, 0, 0, 0, time.UTC)})
	d2 := s1.Documents[1]
	d2.Class, d2.Type = registry.SampleClassBilde, registry.SampleTypeBildesvar
	d2.Confidentiality = []registry.Code{registry.SampleConfSperret}
	d2.CreationTime = "20240301"
	d2.ReferenceIDs = []string{ref1, ref2}
	e.register(s1)
	c := &corpus{e: e}
	c.d1 = e.doc(registry.SampleUniqueID(1, 0))
	e.advance(time.Hour)
	s2 := sample(2, registry.SampleOptions{Patient: patient1, Time: time.Date(2024, 6, 1, 10, 0, 0, 0, time.UTC)})
	relation(s2, registry.AssocReplace, c.d1.ID)
	e.register(s2)
	e.advance(time.Hour)
	e.register(sample(3, registry.SampleOptions{Patient: patient2, Time: time.Date(2024, 2, 1, 10, 0, 0, 0, time.UTC)}))

	c.d1 = e.doc(registry.SampleUniqueID(1, 0))
	c.d2 = e.doc(registry.SampleUniqueID(1, 1))
	c.d3 = e.doc(registry.SampleUniqueID(2, 0))
	c.d4 = e.doc(registry.SampleUniqueID(3, 0))
	c.s1 = e.submissionSet(registry.SampleUniqueID(1, -1))
	c.s2 = e.submissionSet(registry.SampleUniqueID(2, -1))
	c.s3 = e.submissionSet(registry.SampleUniqueID(3, -1))
	c.f1 = e.folder(registry.SampleUniqueID(1, -2))
	if c.d1.Status != registry.StatusDeprecated || e.counts() != (counts{docs: 4, sets: 3, folders: 1, assocs: 11}) {
		t.Fatalf("corpus: d1 %s, counts %+v", c.d1.Status, e.counts())
	}
	return c
}

func quote(s string) string { return "'" + strings.ReplaceAll(s, "'", "''") + "'" }

func list(items ...string) string {
	q := make([]string, len(items))
	for i, s := range items {
		q[i] = quote(s)
	}
	return "(" + strings.Join(q, ",") + ")"
}

func code(c registry.Code) string { return c.Code + "^^^" + c.Scheme }

func p(name string, values ...string) registry.Slot { return registry.Slot{Name: name, Values: values} }

var (
	approvedOnly = list(registry.StatusApproved)
	anyStatus    = list(registry.StatusApproved, registry.StatusDeprecated)
	level2       = p(registry.ParamMetadataLevel, "2")
)

func TestStoredQueries(t *testing.T) {
	eachBackend(t, testStoredQueries)
}

func testStoredQueries(t *testing.T, open func(t *testing.T) registry.Store) {
	c := newCorpusOn(t, open)
	pid1, pid2 := quote(patient1), quote(patient2)
	findDocs := func(status string, extra ...registry.Slot) []registry.Slot {
		return append([]registry.Slot{p(registry.ParamDocumentEntryPatientID, pid1), p(registry.ParamDocumentEntryStatus, status)}, extra...)
	}
	byRef := func(extra ...registry.Slot) []registry.Slot { return findDocs(anyStatus, extra...) }
	findSets := func(extra ...registry.Slot) []registry.Slot {
		return append([]registry.Slot{p(registry.ParamSubmissionSetPatientID, pid1), p(registry.ParamSubmissionSetStatus, approvedOnly)}, extra...)
	}
	findFolders := func(extra ...registry.Slot) []registry.Slot {
		return append([]registry.Slot{p(registry.ParamFolderPatientID, pid1), p(registry.ParamFolderStatus, approvedOnly)}, extra...)
	}
	getAll := func(deStatus string, extra ...registry.Slot) []registry.Slot {
		return append([]registry.Slot{p(registry.ParamPatientID, pid1), p(registry.ParamDocumentEntryStatus, deStatus),
			p(registry.ParamSubmissionSetStatus, approvedOnly), p(registry.ParamFolderStatus, approvedOnly)}, extra...)
	}
	related := func(doc string, types ...string) []registry.Slot {
		return []registry.Slot{p(registry.ParamDocumentEntryEntryUUID, quote(doc)), p(registry.ParamAssociationTypes, list(types...))}
	}
	conf := func(cs ...registry.Code) string {
		s := make([]string, len(cs))
		for i, x := range cs {
			s[i] = code(x)
		}
		return list(s...)
	}
	onDemand := p(registry.ParamDocumentEntryType, list(registry.ObjectTypeOnDemand))

	tests := []struct {
		name   string
		query  string
		params []registry.Slot
		want   []string // ids of the objects found, any order
	}{
		// FindDocuments
		{"FindDocuments Approved", registry.QueryFindDocuments, findDocs(approvedOnly), ids(c.d2, c.d3)},
		{"FindDocuments Approved+Deprecated", registry.QueryFindDocuments, findDocs(anyStatus), ids(c.d1, c.d2, c.d3)},
		{"FindDocuments other patient", registry.QueryFindDocuments,
			[]registry.Slot{p(registry.ParamDocumentEntryPatientID, pid2), p(registry.ParamDocumentEntryStatus, approvedOnly)}, ids(c.d4)},
		{"FindDocuments classCode", registry.QueryFindDocuments, findDocs(anyStatus,
			p(registry.ParamDocumentEntryClassCode, list(code(registry.SampleClassEpikrise)))), ids(c.d1, c.d3)},
		{"FindDocuments classCode OR", registry.QueryFindDocuments, findDocs(anyStatus,
			p(registry.ParamDocumentEntryClassCode, list(code(registry.SampleClassEpikrise), code(registry.SampleClassBilde)))), ids(c.d1, c.d2, c.d3)},
		{"FindDocuments classCode as two Values", registry.QueryFindDocuments, findDocs(approvedOnly,
			p(registry.ParamDocumentEntryClassCode, list(code(registry.SampleClassEpikrise)), list(code(registry.SampleClassBilde)))), ids(c.d2, c.d3)},
		{"FindDocuments typeCode", registry.QueryFindDocuments, findDocs(approvedOnly,
			p(registry.ParamDocumentEntryTypeCode, list(code(registry.SampleTypeBildesvar)))), ids(c.d2)},
		{"FindDocuments facility, practice setting, format", registry.QueryFindDocuments, findDocs(approvedOnly,
			p(registry.ParamDocumentEntryFacilityTypeCode, list(code(registry.SampleFacilitySykehus))),
			p(registry.ParamDocumentEntryPracticeSettingCode, list(code(registry.SamplePracticeIndremedisin))),
			p(registry.ParamDocumentEntryFormatCode, list(code(registry.SampleFormatText)))), ids(c.d2, c.d3)},
		{"FindDocuments creationTime From inclusive, To exclusive", registry.QueryFindDocuments, findDocs(anyStatus,
			p(registry.ParamDocumentEntryCreationTimeFrom, "20240301"), p(registry.ParamDocumentEntryCreationTimeTo, "'20240601100000'")), ids(c.d2)},
		{"FindDocuments creationTime From = value", registry.QueryFindDocuments, findDocs(anyStatus,
			p(registry.ParamDocumentEntryCreationTimeFrom, "'20240601100000'")), ids(c.d3)},
		{"FindDocuments serviceStartTime", registry.QueryFindDocuments, findDocs(anyStatus,
			p(registry.ParamDocumentEntryServiceStartTimeFrom, "202405")), ids(c.d3)},
		{"FindDocuments serviceStopTime", registry.QueryFindDocuments, findDocs(anyStatus,
			p(registry.ParamDocumentEntryServiceStopTimeTo, "2024")), nil},
		{"FindDocuments confidentiality", registry.QueryFindDocuments, findDocs(anyStatus,
			p(registry.ParamDocumentEntryConfidentialityCode, conf(registry.SampleConfSperret))), ids(c.d2)},
		{"FindDocuments confidentiality OR", registry.QueryFindDocuments, findDocs(anyStatus,
			p(registry.ParamDocumentEntryConfidentialityCode, conf(registry.SampleConfSperret, registry.SampleConfNormal))), ids(c.d1, c.d2, c.d3)},
		{"FindDocuments confidentiality AND", registry.QueryFindDocuments, findDocs(anyStatus,
			p(registry.ParamDocumentEntryConfidentialityCode, conf(registry.SampleConfSperret)),
			p(registry.ParamDocumentEntryConfidentialityCode, conf(registry.SampleConfNormal))), nil},
		{"FindDocuments eventCodeList (none registered)", registry.QueryFindDocuments, findDocs(anyStatus,
			p(registry.ParamDocumentEntryEventCodeList, list("E1^^^1.2"))), nil},
		{"FindDocuments author LIKE", registry.QueryFindDocuments, findDocs(approvedOnly,
			p(registry.ParamDocumentEntryAuthorPerson, list("%Testlege%"))), ids(c.d2, c.d3)},
		{"FindDocuments author LIKE no match", registry.QueryFindDocuments, findDocs(approvedOnly,
			p(registry.ParamDocumentEntryAuthorPerson, list("%Nobody%"))), nil},
		{"FindDocuments On-Demand only", registry.QueryFindDocuments, findDocs(approvedOnly, onDemand), nil},
		{"FindDocuments Stable and On-Demand", registry.QueryFindDocuments, findDocs(approvedOnly,
			p(registry.ParamDocumentEntryType, list(registry.ObjectTypeStable, registry.ObjectTypeOnDemand))), ids(c.d2, c.d3)},
		// FindDocumentsByReferenceId
		{"ByReferenceId", registry.QueryFindDocumentsByReferenceID, byRef(p(registry.ParamDocumentEntryReferenceIDList, list(ref1))), ids(c.d2)},
		{"ByReferenceId OR", registry.QueryFindDocumentsByReferenceID, byRef(p(registry.ParamDocumentEntryReferenceIDList, list(ref3, ref1))), ids(c.d2)},
		{"ByReferenceId AND", registry.QueryFindDocumentsByReferenceID, byRef(
			p(registry.ParamDocumentEntryReferenceIDList, list(ref1)), p(registry.ParamDocumentEntryReferenceIDList, list(ref2))), ids(c.d2)},
		{"ByReferenceId AND no match", registry.QueryFindDocumentsByReferenceID, byRef(
			p(registry.ParamDocumentEntryReferenceIDList, list(ref1)), p(registry.ParamDocumentEntryReferenceIDList, list(ref3))), nil},
		// FindSubmissionSets
		{"FindSubmissionSets", registry.QueryFindSubmissionSets, findSets(), ids(c.s1, c.s2)},
		{"FindSubmissionSets submissionTime", registry.QueryFindSubmissionSets, findSets(
			p(registry.ParamSubmissionSetSubmissionTimeFrom, "20240501"), p(registry.ParamSubmissionSetSubmissionTimeTo, "2025")), ids(c.s2)},
		{"FindSubmissionSets sourceId", registry.QueryFindSubmissionSets, findSets(
			p(registry.ParamSubmissionSetSourceID, list("1.2.3", registry.SampleSourceID))), ids(c.s1, c.s2)},
		{"FindSubmissionSets unknown sourceId", registry.QueryFindSubmissionSets, findSets(
			p(registry.ParamSubmissionSetSourceID, list("1.2.3"))), nil},
		{"FindSubmissionSets author", registry.QueryFindSubmissionSets, findSets(
			p(registry.ParamSubmissionSetAuthorPerson, quote("%Testlege^Kari%"))), ids(c.s1, c.s2)},
		{"FindSubmissionSets contentType", registry.QueryFindSubmissionSets, findSets(
			p(registry.ParamSubmissionSetContentType, list(code(registry.SampleClassBilde)))), nil},
		// FindFolders
		{"FindFolders", registry.QueryFindFolders, findFolders(), ids(c.f1)},
		{"FindFolders lastUpdateTime From", registry.QueryFindFolders, findFolders(
			p(registry.ParamFolderLastUpdateTimeFrom, quote(c.f1.LastUpdateTime))), ids(c.f1)},
		{"FindFolders lastUpdateTime To (exclusive)", registry.QueryFindFolders, findFolders(
			p(registry.ParamFolderLastUpdateTimeTo, c.f1.LastUpdateTime)), nil},
		{"FindFolders codeList", registry.QueryFindFolders, findFolders(
			p(registry.ParamFolderCodeList, list(code(registry.SampleClassEpikrise)))), ids(c.f1)},
		{"FindFolders codeList AND", registry.QueryFindFolders, findFolders(
			p(registry.ParamFolderCodeList, list(code(registry.SampleClassEpikrise))), p(registry.ParamFolderCodeList, list(code(registry.SampleClassBilde)))), nil},
		// GetAll
		{"GetAll", registry.QueryGetAll, getAll(anyStatus), append(ids(c.d1, c.d2, c.d3, c.s1, c.s2, c.f1),
			append(c.links(c.s1, c.d1, c.s1, c.d2, c.s1, c.f1, c.f1, c.d1, c.f1, c.d2, c.s2, c.d3, c.d3, c.d1, c.f1, c.d3), c.memberships(c.d1, c.d2)...)...)},
		{"GetAll Approved documents", registry.QueryGetAll, getAll(approvedOnly), append(ids(c.d2, c.d3, c.s1, c.s2, c.f1),
			append(c.links(c.s1, c.d2, c.s1, c.f1, c.f1, c.d2, c.s2, c.d3, c.f1, c.d3), c.memberships(c.d2)...)...)},
		{"GetAll confidentiality filter", registry.QueryGetAll, getAll(anyStatus,
			p(registry.ParamDocumentEntryConfidentialityCode, conf(registry.SampleConfSperret))), append(ids(c.d2, c.s1, c.s2, c.f1),
			append(c.links(c.s1, c.d2, c.s1, c.f1, c.f1, c.d2), c.memberships(c.d2)...)...)},
		// GetDocuments
		{"GetDocuments by entryUUID", registry.QueryGetDocuments, []registry.Slot{p(registry.ParamDocumentEntryEntryUUID, list(c.d1.ID, c.d2.ID))}, ids(c.d1, c.d2)},
		{"GetDocuments by uniqueId", registry.QueryGetDocuments, []registry.Slot{p(registry.ParamDocumentEntryUniqueID, list(c.d3.UniqueID))}, ids(c.d3)},
		{"GetDocuments by logicalID", registry.QueryGetDocuments, []registry.Slot{p(registry.ParamDocumentEntryLogicalID, list(c.d1.LogicalID)), level2}, ids(c.d1)},
		{"GetDocuments unknown", registry.QueryGetDocuments, []registry.Slot{p(registry.ParamDocumentEntryEntryUUID, list("urn:uuid:0b7a2f1e-3c4d-4e5f-8a9b-0c1d2e3f4a5b"))}, nil},
		// GetFolders
		{"GetFolders by entryUUID", registry.QueryGetFolders, []registry.Slot{p(registry.ParamFolderEntryUUID, list(c.f1.ID))}, ids(c.f1)},
		{"GetFolders by uniqueId", registry.QueryGetFolders, []registry.Slot{p(registry.ParamFolderUniqueID, list(c.f1.UniqueID))}, ids(c.f1)},
		{"GetFolders by logicalID", registry.QueryGetFolders, []registry.Slot{p(registry.ParamFolderLogicalID, list(c.f1.LogicalID)), level2}, ids(c.f1)},
		// GetAssociations
		{"GetAssociations of a document", registry.QueryGetAssociations, []registry.Slot{p(registry.ParamUUID, list(c.d1.ID))},
			c.links(c.s1, c.d1, c.f1, c.d1, c.d3, c.d1)},
		{"GetAssociations of a folder", registry.QueryGetAssociations, []registry.Slot{p(registry.ParamUUID, list(c.f1.ID))},
			c.links(c.s1, c.f1, c.f1, c.d1, c.f1, c.d2, c.f1, c.d3)},
		// GetDocumentsAndAssociations
		{"GetDocumentsAndAssociations", registry.QueryGetDocumentsAndAssociations, []registry.Slot{p(registry.ParamDocumentEntryEntryUUID, list(c.d1.ID))},
			append(ids(c.d1), c.links(c.s1, c.d1, c.f1, c.d1, c.d3, c.d1)...)},
		{"GetDocumentsAndAssociations by uniqueId", registry.QueryGetDocumentsAndAssociations,
			[]registry.Slot{p(registry.ParamDocumentEntryUniqueID, list(c.d1.UniqueID, c.d2.UniqueID))},
			append(ids(c.d1, c.d2), c.links(c.s1, c.d1, c.f1, c.d1, c.d3, c.d1, c.s1, c.d2, c.f1, c.d2)...)},
		// GetSubmissionSets
		{"GetSubmissionSets", registry.QueryGetSubmissionSets, []registry.Slot{p(registry.ParamUUID, list(c.d1.ID, c.d3.ID))},
			append(ids(c.s1, c.s2), c.links(c.s1, c.d1, c.s2, c.d3)...)},
		{"GetSubmissionSets of a folder", registry.QueryGetSubmissionSets, []registry.Slot{p(registry.ParamUUID, list(c.f1.ID))},
			append(ids(c.s1), c.links(c.s1, c.f1)...)},
		// GetSubmissionSetAndContents
		{"GetSubmissionSetAndContents", registry.QueryGetSubmissionSetAndContents, []registry.Slot{p(registry.ParamSubmissionSetEntryUUID, quote(c.s1.ID))},
			append(ids(c.s1, c.d1, c.d2, c.f1), append(c.links(c.s1, c.d1, c.s1, c.d2, c.s1, c.f1, c.f1, c.d1, c.f1, c.d2), c.memberships(c.d1, c.d2)...)...)},
		{"GetSubmissionSetAndContents by uniqueId", registry.QueryGetSubmissionSetAndContents, []registry.Slot{p(registry.ParamSubmissionSetUniqueID, quote(c.s1.UniqueID))},
			append(ids(c.s1, c.d1, c.d2, c.f1), append(c.links(c.s1, c.d1, c.s1, c.d2, c.s1, c.f1, c.f1, c.d1, c.f1, c.d2), c.memberships(c.d1, c.d2)...)...)},
		{"GetSubmissionSetAndContents confidentiality filter", registry.QueryGetSubmissionSetAndContents,
			[]registry.Slot{p(registry.ParamSubmissionSetEntryUUID, quote(c.s1.ID)), p(registry.ParamDocumentEntryConfidentialityCode, conf(registry.SampleConfNormal))},
			append(ids(c.s1, c.d1, c.f1), append(c.links(c.s1, c.d1, c.s1, c.f1, c.f1, c.d1), c.memberships(c.d1)...)...)},
		{"GetSubmissionSetAndContents On-Demand only", registry.QueryGetSubmissionSetAndContents,
			[]registry.Slot{p(registry.ParamSubmissionSetEntryUUID, quote(c.s1.ID)), onDemand},
			append(ids(c.s1, c.f1), c.links(c.s1, c.f1)...)},
		{"GetSubmissionSetAndContents format filter", registry.QueryGetSubmissionSetAndContents,
			[]registry.Slot{p(registry.ParamSubmissionSetEntryUUID, quote(c.s1.ID)), p(registry.ParamDocumentEntryFormatCode, list("x^^^1.2"))},
			append(ids(c.s1, c.f1), c.links(c.s1, c.f1)...)},
		{"GetSubmissionSetAndContents unknown", registry.QueryGetSubmissionSetAndContents,
			[]registry.Slot{p(registry.ParamSubmissionSetUniqueID, quote("2.999.1"))}, nil},
		// GetFolderAndContents
		{"GetFolderAndContents", registry.QueryGetFolderAndContents, []registry.Slot{p(registry.ParamFolderEntryUUID, quote(c.f1.ID))},
			append(ids(c.f1, c.d1, c.d2, c.d3), c.links(c.f1, c.d1, c.f1, c.d2, c.f1, c.d3)...)},
		{"GetFolderAndContents by uniqueId", registry.QueryGetFolderAndContents, []registry.Slot{p(registry.ParamFolderUniqueID, quote(c.f1.UniqueID))},
			append(ids(c.f1, c.d1, c.d2, c.d3), c.links(c.f1, c.d1, c.f1, c.d2, c.f1, c.d3)...)},
		{"GetFolderAndContents confidentiality filter", registry.QueryGetFolderAndContents,
			[]registry.Slot{p(registry.ParamFolderEntryUUID, quote(c.f1.ID)), p(registry.ParamDocumentEntryConfidentialityCode, conf(registry.SampleConfSperret))},
			append(ids(c.f1, c.d2), c.links(c.f1, c.d2)...)},
		// GetFoldersForDocument
		{"GetFoldersForDocument", registry.QueryGetFoldersForDocument, []registry.Slot{p(registry.ParamDocumentEntryEntryUUID, quote(c.d3.ID))}, ids(c.f1)},
		{"GetFoldersForDocument by uniqueId", registry.QueryGetFoldersForDocument, []registry.Slot{p(registry.ParamDocumentEntryUniqueID, quote(c.d1.UniqueID))}, ids(c.f1)},
		{"GetFoldersForDocument none", registry.QueryGetFoldersForDocument, []registry.Slot{p(registry.ParamDocumentEntryUniqueID, quote(c.d4.UniqueID))}, nil},
		// GetRelatedDocuments
		{"GetRelatedDocuments of the replacement", registry.QueryGetRelatedDocuments, related(c.d3.ID, registry.AssocReplace),
			append(ids(c.d3, c.d1), c.links(c.d3, c.d1)...)},
		{"GetRelatedDocuments of the original by uniqueId", registry.QueryGetRelatedDocuments,
			[]registry.Slot{p(registry.ParamDocumentEntryUniqueID, quote(c.d1.UniqueID)), p(registry.ParamAssociationTypes, list(registry.AssocReplace, registry.AssocAppend))},
			append(ids(c.d1, c.d3), c.links(c.d3, c.d1)...)},
		{"GetRelatedDocuments other types", registry.QueryGetRelatedDocuments, related(c.d3.ID, registry.AssocAppend, registry.AssocTransform), nil},
		{"GetRelatedDocuments without relations", registry.QueryGetRelatedDocuments, related(c.d2.ID, registry.AssocReplace), nil},
		{"GetRelatedDocuments On-Demand only", registry.QueryGetRelatedDocuments, append(related(c.d3.ID, registry.AssocReplace), onDemand), nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			for _, rt := range []string{registry.ReturnLeafClass, registry.ReturnObjectRef} {
				res, err := c.e.reg.Query(context.Background(), &registry.Query{ID: tc.query, ReturnType: rt, Params: tc.params})
				if err != nil {
					t.Fatalf("%s: %v", rt, err)
				}
				if res.ReturnType != rt {
					t.Errorf("ReturnType %s", res.ReturnType)
				}
				got := resultIDs(res)
				if !sameSet(got, tc.want) {
					t.Fatalf("%s: %d objects %v\nwant %d %v", rt, len(got), c.names(got), len(tc.want), c.names(tc.want))
				}
				if res.Len() != len(tc.want) {
					t.Errorf("%s: Len() = %d, want %d", rt, res.Len(), len(tc.want))
				}
				if rt == registry.ReturnObjectRef && (res.Documents != nil || res.SubmissionSets != nil || res.Folders != nil || res.Associations != nil) {
					t.Errorf("ObjectRef result carries objects")
				}
			}
		})
	}

	t.Run("LeafClass objects are complete", func(t *testing.T) {
		res, err := c.e.reg.Query(context.Background(), &registry.Query{ID: registry.QueryGetSubmissionSetAndContents, ReturnType: registry.ReturnLeafClass,
			Params: []registry.Slot{p(registry.ParamSubmissionSetEntryUUID, quote(c.s1.ID))}})
		if err != nil {
			t.Fatal(err)
		}
		if len(res.SubmissionSets) != 1 || len(res.Documents) != 2 || len(res.Folders) != 1 || len(res.Associations) != 7 {
			t.Fatalf("sets %d docs %d folders %d assocs %d", len(res.SubmissionSets), len(res.Documents), len(res.Folders), len(res.Associations))
		}
		for _, d := range res.Documents {
			want := c.d1
			if d.ID == c.d2.ID {
				want = c.d2
			}
			if !reflect.DeepEqual(d, want) {
				t.Errorf("document %s differs from the stored one", d.ID)
			}
			if d.HomeCommunityID != "" {
				t.Errorf("home %q without a configured home community", d.HomeCommunityID)
			}
		}
	})
}

// ids returns the ids of registry objects.
func ids(objs ...any) []string {
	var out []string
	for _, o := range objs {
		switch x := o.(type) {
		case *registry.DocumentEntry:
			out = append(out, x.ID)
		case *registry.SubmissionSet:
			out = append(out, x.ID)
		case *registry.Folder:
			out = append(out, x.ID)
		}
	}
	return out
}

func objID(o any) string { return ids(o)[0] }

// links returns the ids of the associations source→target for each pair.
func (c *corpus) links(pairs ...any) []string {
	var out []string
	for i := 0; i+1 < len(pairs); i += 2 {
		as := c.e.assocs(registry.AssociationFilter{Sources: []string{objID(pairs[i])}, Targets: []string{objID(pairs[i+1])}})
		if len(as) != 1 {
			c.e.t.Fatalf("%d associations %v→%v", len(as), objID(pairs[i]), objID(pairs[i+1]))
		}
		out = append(out, as[0].ID)
	}
	return out
}

// memberships returns the ids of the S1→(F1→doc) associations.
func (c *corpus) memberships(docs ...*registry.DocumentEntry) []string {
	var out []string
	for _, d := range docs {
		fm := c.links(c.f1, d)[0]
		as := c.e.assocs(registry.AssociationFilter{Sources: []string{c.s1.ID}, Targets: []string{fm}})
		if len(as) != 1 {
			c.e.t.Fatalf("%d memberships of %s", len(as), fm)
		}
		out = append(out, as[0].ID)
	}
	return out
}

// names renders ids readably for failure messages.
func (c *corpus) names(idList []string) []string {
	names := map[string]string{
		c.d1.ID: "D1", c.d2.ID: "D2", c.d3.ID: "D3", c.d4.ID: "D4",
		c.s1.ID: "S1", c.s2.ID: "S2", c.s3.ID: "S3", c.f1.ID: "F1",
	}
	all := c.e.assocs(registry.AssociationFilter{})
	for _, a := range all {
		src, tgt := names[a.Source], names[a.Target]
		if src == "" {
			src = "?"
		}
		if tgt == "" {
			tgt = "(" + a.Target[len(a.Target)-4:] + ")"
		}
		names[a.ID] = src + "→" + tgt + "#" + a.ID[len(a.ID)-4:]
	}
	out := make([]string, len(idList))
	for i, id := range idList {
		out[i] = names[id]
		if out[i] == "" {
			out[i] = id
		}
	}
	sort.Strings(out)
	return out
}

func resultIDs(res *registry.QueryResult) []string {
	if res.ReturnType == registry.ReturnObjectRef {
		return res.Refs
	}
	var out []string
	for _, d := range res.Documents {
		out = append(out, d.ID)
	}
	for _, s := range res.SubmissionSets {
		out = append(out, s.ID)
	}
	for _, f := range res.Folders {
		out = append(out, f.ID)
	}
	for _, a := range res.Associations {
		out = append(out, a.ID)
	}
	return out
}

func sameSet(a, b []string) bool {
	if len(a) != len(b) {
		return false
	}
	x, y := append([]string(nil), a...), append([]string(nil), b...)
	sort.Strings(x)
	sort.Strings(y)
	return reflect.DeepEqual(x, y)
}

func TestQueryLimits(t *testing.T) {
	c := newCorpus(t, withMaxResults(2))
	q := func(id, rt string, params ...registry.Slot) error {
		_, err := c.e.reg.Query(context.Background(), &registry.Query{ID: id, ReturnType: rt, Params: params})
		return err
	}
	findDocs := func(status string) []registry.Slot {
		return []registry.Slot{p(registry.ParamDocumentEntryPatientID, quote(patient1)), p(registry.ParamDocumentEntryStatus, status)}
	}
	for _, rt := range []string{registry.ReturnLeafClass, registry.ReturnObjectRef} {
		if err := q(registry.QueryFindDocuments, rt, findDocs(approvedOnly)...); err != nil {
			t.Errorf("%s: 2 documents with MaxResults 2: %v", rt, err)
		}
		if got := codesOf(t, q(registry.QueryFindDocuments, rt, findDocs(anyStatus)...)); !reflect.DeepEqual(got, []string{registry.ErrCodeTooManyResults}) {
			t.Errorf("%s: 3 documents with MaxResults 2: %v", rt, got)
		}
		if got := codesOf(t, q(registry.QueryGetAll, rt, p(registry.ParamPatientID, quote(patient1)), p(registry.ParamDocumentEntryStatus, approvedOnly),
			p(registry.ParamSubmissionSetStatus, approvedOnly), p(registry.ParamFolderStatus, approvedOnly))); !reflect.DeepEqual(got, []string{registry.ErrCodeTooManyResults}) {
			t.Errorf("%s: GetAll: %v", rt, got)
		}
		if got := codesOf(t, q(registry.QueryGetFolderAndContents, rt, p(registry.ParamFolderEntryUUID, quote(c.f1.ID)))); !reflect.DeepEqual(got, []string{registry.ErrCodeTooManyResults}) {
			t.Errorf("%s: GetFolderAndContents: %v", rt, got)
		}
	}
}

func TestQueryNotSinglePatient(t *testing.T) {
	c := newCorpus(t)
	params := []registry.Slot{p(registry.ParamDocumentEntryEntryUUID, list(c.d1.ID, c.d4.ID))}
	_, err := c.e.reg.Query(context.Background(), &registry.Query{ID: registry.QueryGetDocuments, ReturnType: registry.ReturnLeafClass, Params: params})
	if got := codesOf(t, err); !reflect.DeepEqual(got, []string{registry.ErrCodeResultNotSinglePatient}) {
		t.Fatalf("LeafClass over two patients: %v", got)
	}
	res, err := c.e.reg.Query(context.Background(), &registry.Query{ID: registry.QueryGetDocuments, ReturnType: registry.ReturnObjectRef, Params: params})
	if err != nil || !sameSet(res.Refs, ids(c.d1, c.d4)) {
		t.Fatalf("ObjectRef over two patients: %v %v", res, err)
	}
	// Associations carry no patient: GetAssociations across patients is fine.
	if _, err := c.e.reg.Query(context.Background(), &registry.Query{ID: registry.QueryGetAssociations, ReturnType: registry.ReturnLeafClass,
		Params: []registry.Slot{p(registry.ParamUUID, list(c.d1.ID, c.d4.ID))}}); err != nil {
		t.Fatal(err)
	}
}

func TestQueryHomeCommunity(t *testing.T) {
	const home = "urn:oid:2.16.578.1.12.4.5.100.1"
	c := newCorpus(t, withHome(home))
	res, err := c.e.reg.Query(context.Background(), &registry.Query{ID: registry.QueryGetSubmissionSetAndContents, ReturnType: registry.ReturnLeafClass,
		Params: []registry.Slot{p(registry.ParamSubmissionSetEntryUUID, quote(c.s1.ID))}})
	if err != nil {
		t.Fatal(err)
	}
	for _, d := range res.Documents {
		if d.HomeCommunityID != home {
			t.Errorf("document home %q", d.HomeCommunityID)
		}
	}
	if res.SubmissionSets[0].HomeCommunityID != home || res.Folders[0].HomeCommunityID != home {
		t.Error("package home not set")
	}
	// The stored objects stay without home.
	if c.e.doc(c.d1.UniqueID).HomeCommunityID != "" {
		t.Error("home written to the store")
	}
}

func TestQueryErrors(t *testing.T) {
	c := newCorpus(t)
	tests := []struct {
		name string
		q    *registry.Query
		code string
	}{
		{"unknown stored query", &registry.Query{ID: "urn:uuid:00000000-0000-0000-0000-000000000000", ReturnType: registry.ReturnLeafClass},
			registry.ErrCodeUnknownStoredQuery},
		{"FindDocumentsForMultiplePatients is ITI-51", &registry.Query{ID: "urn:uuid:3d1bdb10-39a2-11de-89c2-2f44d94eaa9f", ReturnType: registry.ReturnLeafClass},
			registry.ErrCodeUnknownStoredQuery},
		{"unsupported returnType", &registry.Query{ID: registry.QueryGetDocuments, ReturnType: "LeafClassWithRepositoryItem",
			Params: []registry.Slot{p(registry.ParamDocumentEntryEntryUUID, list(c.d1.ID))}}, registry.ErrCodeRegistryError},
		{"missing parameter", &registry.Query{ID: registry.QueryFindDocuments, ReturnType: registry.ReturnLeafClass,
			Params: []registry.Slot{p(registry.ParamDocumentEntryPatientID, quote(patient1))}}, registry.ErrCodeStoredQueryMissingParam},
		{"parameter twice", &registry.Query{ID: registry.QueryGetFoldersForDocument, ReturnType: registry.ReturnLeafClass,
			Params: []registry.Slot{p(registry.ParamDocumentEntryEntryUUID, quote(c.d1.ID)), p(registry.ParamDocumentEntryEntryUUID, quote(c.d2.ID))}},
			registry.ErrCodeStoredQueryParamNumber},
		{"logicalID at $MetadataLevel 1", &registry.Query{ID: registry.QueryGetDocuments, ReturnType: registry.ReturnLeafClass,
			Params: []registry.Slot{p(registry.ParamDocumentEntryLogicalID, list(c.d1.ID))}}, registry.ErrCodeRegistryError},
		{"folder logicalID at explicit $MetadataLevel 1", &registry.Query{ID: registry.QueryGetFolders, ReturnType: registry.ReturnLeafClass,
			Params: []registry.Slot{p(registry.ParamFolderLogicalID, list(c.f1.ID)), p(registry.ParamMetadataLevel, "1")}}, registry.ErrCodeRegistryError},
		{"$MetadataLevel 3", &registry.Query{ID: registry.QueryGetDocuments, ReturnType: registry.ReturnLeafClass,
			Params: []registry.Slot{p(registry.ParamDocumentEntryEntryUUID, list(c.d1.ID)), p(registry.ParamMetadataLevel, "3")}}, registry.ErrCodeRegistryError},
		{"NUL in a value", &registry.Query{ID: registry.QueryGetDocuments, ReturnType: registry.ReturnLeafClass,
			Params: []registry.Slot{p(registry.ParamDocumentEntryEntryUUID, "('urn:uuid:\x00')")}}, registry.ErrCodeRegistryError},
		{"nil query", nil, registry.ErrCodeRegistryError},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := c.e.reg.Query(context.Background(), tc.q)
			if got := codesOf(t, err); !reflect.DeepEqual(got, []string{tc.code}) {
				t.Fatalf("codes %v, want %s (%v)", got, tc.code, err)
			}
		})
	}
	if got := registry.StoredQueryName(registry.QueryGetRelatedDocuments); got != "GetRelatedDocuments" {
		t.Errorf("StoredQueryName = %q", got)
	}
}
