package registrytest

import (
	"pjd/registry"
	"pjd/registry/oid"
)

// Filter tables over the corpus. want lists corpus indexes in registration
// order.

// filterCase is one row of a filter table: the filter and the corpus
// indexes it must return.
type filterCase[F any] struct {
	name string
	f    F
	want []int
}

func cs(codes ...registry.Code) registry.CodeSet { return registry.CodeSet(codes) }

// anyScheme strips the scheme: "this code in any scheme".
func anyScheme(c registry.Code) registry.Code { return registry.Code{Code: c.Code} }

func documentCases() []filterCase[registry.DocumentFilter] {
	all := []int{1, 2, 3, 4, 5, 6, 7, 8}
	tr := func(from, to string) registry.TimeRange { return registry.TimeRange{From: from, To: to} }
	return []filterCase[registry.DocumentFilter]{
		{"zero filter", registry.DocumentFilter{}, all},
		{"patient p1", registry.DocumentFilter{PatientID: p1}, []int{1, 2, 3, 4, 6, 7, 8}},
		{"patient p2", registry.DocumentFilter{PatientID: p2}, []int{5}},
		{"unknown patient", registry.DocumentFilter{PatientID: PatientID(99)}, nil},
		{"patient is exact, not a prefix", registry.DocumentFilter{PatientID: Fnr(1)}, nil},
		{"ids in registration order", registry.DocumentFilter{IDs: []string{id('d', 3), id('d', 1), id('d', 42)}}, []int{1, 3}},
		{"unique ids", registry.DocumentFilter{UniqueIDs: []string{"U2", "U5", "U99"}}, []int{2, 5}},
		{"one unique id", registry.DocumentFilter{UniqueIDs: []string{"U7"}}, []int{7}},
		{"logical ids", registry.DocumentFilter{LogicalIDs: []string{"L1"}}, []int{1, 7}},
		{"status deprecated", registry.DocumentFilter{Statuses: []string{registry.StatusDeprecated}}, []int{3}},
		{"status either", registry.DocumentFilter{Statuses: []string{registry.StatusApproved, registry.StatusDeprecated}}, all},
		{"object type on-demand", registry.DocumentFilter{ObjectTypes: []string{registry.ObjectTypeOnDemand}}, []int{4}},
		{"object type stable", registry.DocumentFilter{ObjectTypes: []string{registry.ObjectTypeStable}}, []int{1, 2, 3, 5, 6, 7, 8}},
		{"class with scheme", registry.DocumentFilter{Classes: cs(classEpikrise)}, []int{1, 2, 5, 7}},
		{"class without scheme matches any scheme", registry.DocumentFilter{Classes: cs(anyScheme(classEpikrise))}, []int{1, 2, 5, 6, 7}},
		{"class in another scheme", registry.DocumentFilter{Classes: cs(registry.Code{Code: "A00-1", Scheme: "2.16.578.1.12.4.1.7.99.local"})}, []int{6}},
		{"class code right, scheme wrong", registry.DocumentFilter{Classes: cs(registry.Code{Code: "A00-1", Scheme: oid.Volven9603})}, nil},
		{"classes OR", registry.DocumentFilter{Classes: cs(classBilde, classProvesvar)}, []int{3, 4}},
		{"type", registry.DocumentFilter{Types: cs(typeEpikrise)}, []int{1, 5, 6, 7}},
		{"types OR", registry.DocumentFilter{Types: cs(typePoliklinisk, typeHenvisning)}, []int{2, 8}},
		{"practice setting", registry.DocumentFilter{PracticeSettings: cs(practiceIndre)}, []int{2}},
		{"practice setting without scheme", registry.DocumentFilter{PracticeSettings: cs(anyScheme(practiceAllmenn))}, []int{1, 3, 4, 5, 6, 7, 8}},
		{"facility type", registry.DocumentFilter{FacilityTypes: cs(facPsykiatrisk)}, []int{2}},
		{"format", registry.DocumentFilter{Formats: cs(formatImage)}, []int{3}},
		{"format without scheme", registry.DocumentFilter{Formats: cs(anyScheme(formatText))}, []int{2}},
		{"event", registry.DocumentFilter{Events: []registry.CodeSet{cs(event1)}}, []int{1, 2}},
		{"events AND", registry.DocumentFilter{Events: []registry.CodeSet{cs(event1), cs(event2)}}, []int{2}},
		{"events OR", registry.DocumentFilter{Events: []registry.CodeSet{cs(event2, event3)}}, []int{2, 7}},
		{"events AND of OR", registry.DocumentFilter{Events: []registry.CodeSet{cs(event1, event3), cs(event2, event3)}}, []int{2, 7}},
		{"event without scheme", registry.DocumentFilter{Events: []registry.CodeSet{cs(anyScheme(event3))}}, []int{7}},
		{"event wrong scheme", registry.DocumentFilter{Events: []registry.CodeSet{cs(registry.Code{Code: "E1", Scheme: schemeFormat})}}, nil},
		{"confidentiality", registry.DocumentFilter{Confidentiality: []registry.CodeSet{cs(confN)}}, []int{1, 2, 4, 5, 7, 8}},
		{"confidentiality AND", registry.DocumentFilter{Confidentiality: []registry.CodeSet{cs(confN), cs(confHL7N)}}, []int{2}},
		{"confidentiality OR", registry.DocumentFilter{Confidentiality: []registry.CodeSet{cs(confHL7R, confNORS)}}, []int{3, 6}},
		{"confidentiality without scheme", registry.DocumentFilter{Confidentiality: []registry.CodeSet{cs(anyScheme(confHL7N))}}, []int{1, 2, 4, 5, 7, 8}},
		{"confidentiality AND never both", registry.DocumentFilter{Confidentiality: []registry.CodeSet{cs(confN), cs(confNORS)}}, nil},
		{"creation from is inclusive", registry.DocumentFilter{CreationTime: tr("20230115103000", "")}, []int{1, 2, 3, 5, 6, 7}},
		{"creation to is exclusive", registry.DocumentFilter{CreationTime: tr("", "20230115103000")}, []int{8}},
		{"creation year range", registry.DocumentFilter{CreationTime: tr("2023", "2024")}, []int{1, 2, 5, 6, 7}},
		{"creation stored as year, from year", registry.DocumentFilter{CreationTime: tr("2024", "")}, []int{3}},
		{"creation stored as year sorts before its days", registry.DocumentFilter{CreationTime: tr("20240101", "")}, nil},
		{"creation to year", registry.DocumentFilter{CreationTime: tr("", "2023")}, []int{8}},
		{"creation minute precision", registry.DocumentFilter{CreationTime: tr("202301151030", "202301151031")}, []int{1, 5, 7}},
		{"creation bound with fraction and zone", registry.DocumentFilter{CreationTime: tr("20230115103000.000+0000", "20230115103001")}, []int{1, 5, 7}},
		{"service start from", registry.DocumentFilter{ServiceStartTime: tr("20230101", "")}, []int{1, 2}},
		{"service start to", registry.DocumentFilter{ServiceStartTime: tr("", "20230601")}, []int{1}},
		{"service stop from is inclusive", registry.DocumentFilter{ServiceStopTime: tr("2023060110", "")}, []int{2}},
		{"service stop to is exclusive", registry.DocumentFilter{ServiceStopTime: tr("", "2023060110")}, []int{1}},
		{"author substring", registry.DocumentFilter{AuthorPersons: []string{"%Nordmann%"}}, []int{1, 3, 5}},
		{"author is case-sensitive", registry.DocumentFilter{AuthorPersons: []string{"%nordmann%"}}, nil},
		{"author prefix", registry.DocumentFilter{AuthorPersons: []string{"9144900^%"}}, []int{1, 3, 5}},
		{"author underscore is one character", registry.DocumentFilter{AuthorPersons: []string{"_144900^%"}}, []int{1, 3, 5}},
		{"author underscore is exactly one", registry.DocumentFilter{AuthorPersons: []string{"_44900^%"}}, nil},
		{"authors OR", registry.DocumentFilter{AuthorPersons: []string{"%Hansen%", "%Pettersen%"}}, []int{2, 3, 7}},
		{"author any, not institution-only authors", registry.DocumentFilter{AuthorPersons: []string{"%"}}, []int{1, 2, 3, 5, 6, 7}},
		{"author without wildcard is exact", registry.DocumentFilter{AuthorPersons: []string{"Hansen"}}, nil},
		{"author exact", registry.DocumentFilter{AuthorPersons: []string{authorOdd}}, []int{6}},
		{"author literal metacharacters", registry.DocumentFilter{AuthorPersons: []string{"%Ås[1]*?%"}}, []int{6}},
		{"author literal bracket", registry.DocumentFilter{AuthorPersons: []string{"%[1]%"}}, []int{6}},
		{"author literal star", registry.DocumentFilter{AuthorPersons: []string{"%*%"}}, []int{6}},
		{"author literal question mark", registry.DocumentFilter{AuthorPersons: []string{"%?%"}}, []int{6}},
		{"author non-ASCII with underscore", registry.DocumentFilter{AuthorPersons: []string{"%^_s[1]%"}}, []int{6}},
		{"reference id", registry.DocumentFilter{ReferenceIDs: []string{"ref-1"}}, []int{1, 3}},
		{"reference ids OR", registry.DocumentFilter{ReferenceIDs: []string{"ref-2", "ref-9"}}, []int{3}},
		{"reference id is exact", registry.DocumentFilter{ReferenceIDs: []string{"ref"}}, nil},
		{"limit", registry.DocumentFilter{PatientID: p1, Limit: 2}, []int{1, 2}},
		{"limit above count", registry.DocumentFilter{Limit: 100}, all},
		{"limit after filtering", registry.DocumentFilter{Classes: cs(classEpikrise), Limit: 3}, []int{1, 2, 5}},
		{"FindDocuments shape", registry.DocumentFilter{
			PatientID: p1, Statuses: []string{registry.StatusApproved}, Classes: cs(classEpikrise),
			CreationTime: tr("2023", "2024"), AuthorPersons: []string{"%Nordmann%"},
		}, []int{1}},
		{"combined codes", registry.DocumentFilter{
			PatientID: p1, Statuses: []string{registry.StatusApproved},
			Confidentiality: []registry.CodeSet{cs(confN)}, Formats: cs(formatPDF),
		}, []int{1, 4, 7, 8}},
		{"combined events and types", registry.DocumentFilter{
			PatientID: p1, ObjectTypes: []string{registry.ObjectTypeStable}, Statuses: []string{registry.StatusApproved},
			Events: []registry.CodeSet{cs(event1, event3)},
		}, []int{1, 2, 7}},
		{"combined all single-valued codes", registry.DocumentFilter{
			Classes: cs(classEpikrise), Types: cs(typeEpikrise), PracticeSettings: cs(practiceAllmenn),
			FacilityTypes: cs(facSomatisk), Formats: cs(formatPDF), LogicalIDs: []string{"L1", "L5"},
			UniqueIDs: []string{"U1", "U5", "U7"}, IDs: []string{id('d', 1), id('d', 5)},
		}, []int{1, 5}},
		{"combined times", registry.DocumentFilter{
			CreationTime: tr("2023", ""), ServiceStartTime: tr("2023", ""), ServiceStopTime: tr("", "20230115"),
			ReferenceIDs: []string{"ref-1", "ref-3"},
		}, []int{1}},
		{"patient ids", registry.DocumentFilter{PatientIDs: []string{p2, PatientID(99)}}, []int{5}},
		{"patient ids, both", registry.DocumentFilter{PatientIDs: []string{p1, p2}}, all},
		{"patient ids and patient id", registry.DocumentFilter{PatientIDs: []string{p1, p2}, PatientID: p2}, []int{5}},
		{"latest only: d1 is version 1 of L1, d7 version 2", registry.DocumentFilter{LatestOnly: true}, []int{2, 3, 4, 5, 6, 7, 8}},
		{"latest only by logical id", registry.DocumentFilter{LogicalIDs: []string{"L1"}, LatestOnly: true}, []int{7}},
		{"online only: d8 is Offline", registry.DocumentFilter{OnlineOnly: true}, []int{1, 2, 3, 4, 5, 6, 7}},
		{"metadata level 1 shape", registry.DocumentFilter{
			PatientIDs: []string{p1}, Statuses: []string{registry.StatusApproved}, LatestOnly: true, OnlineOnly: true,
		}, []int{2, 4, 6, 7}},
		{"empty code set inside events matches nothing", registry.DocumentFilter{Events: []registry.CodeSet{cs(event1), {}}}, nil},
		{"empty code set inside confidentiality matches nothing", registry.DocumentFilter{Confidentiality: []registry.CodeSet{nil}}, nil},
	}
}

func submissionSetCases() []filterCase[registry.SubmissionSetFilter] {
	tr := func(from, to string) registry.TimeRange { return registry.TimeRange{From: from, To: to} }
	return []filterCase[registry.SubmissionSetFilter]{
		{"zero filter", registry.SubmissionSetFilter{}, []int{1, 2, 3, 4}},
		{"patient", registry.SubmissionSetFilter{PatientID: p1}, []int{1, 2, 4}},
		{"ids", registry.SubmissionSetFilter{IDs: []string{id('s', 2)}}, []int{2}},
		{"unique ids", registry.SubmissionSetFilter{UniqueIDs: []string{"SU3", "SU1"}}, []int{1, 3}},
		{"status", registry.SubmissionSetFilter{Statuses: []string{registry.StatusApproved}}, []int{1, 2, 3}},
		{"source ids", registry.SubmissionSetFilter{SourceIDs: []string{sourceA}}, []int{1, 3, 4}},
		{"submission time range", registry.SubmissionSetFilter{SubmissionTime: tr("2023", "20230601")}, []int{1, 3}},
		{"submission time from inclusive", registry.SubmissionSetFilter{SubmissionTime: tr("202306011200", "")}, []int{2}},
		{"submission time to exclusive", registry.SubmissionSetFilter{SubmissionTime: tr("", "202306011200")}, []int{1, 3}},
		{"missing submission time never in a range", registry.SubmissionSetFilter{SubmissionTime: tr("", "2030")}, []int{1, 2, 3}},
		{"author", registry.SubmissionSetFilter{AuthorPersons: []string{"%Nordmann%"}}, []int{1, 3}},
		{"authors OR", registry.SubmissionSetFilter{AuthorPersons: []string{"%Hansen%", "_144900%"}}, []int{1, 2, 3}},
		{"content type", registry.SubmissionSetFilter{ContentTypes: cs(contentEPJ)}, []int{1, 3}},
		{"content type without scheme", registry.SubmissionSetFilter{ContentTypes: cs(anyScheme(contentEPJ))}, []int{1, 3, 4}},
		{"content types OR", registry.SubmissionSetFilter{ContentTypes: cs(contentKJ, registry.Code{Code: "epj", Scheme: "2.16.578.1.12.4.1.7.99.other"})}, []int{2, 4}},
		{"limit", registry.SubmissionSetFilter{Limit: 1}, []int{1}},
		{"patient ids", registry.SubmissionSetFilter{PatientIDs: []string{p2, PatientID(99)}}, []int{3}},
		{"patient ids and status", registry.SubmissionSetFilter{PatientIDs: []string{p1, p2}, Statuses: []string{registry.StatusDeprecated}}, []int{4}},
		{"FindSubmissionSets shape", registry.SubmissionSetFilter{
			PatientID: p1, Statuses: []string{registry.StatusApproved}, SourceIDs: []string{sourceA},
		}, []int{1}},
		{"combined", registry.SubmissionSetFilter{
			PatientID: p1, SubmissionTime: tr("2023", "2024"), AuthorPersons: []string{"%Hansen%"},
			ContentTypes: cs(contentKJ), UniqueIDs: []string{"SU2"}, IDs: []string{id('s', 2), id('s', 1)},
		}, []int{2}},
	}
}

func folderCases() []filterCase[registry.FolderFilter] {
	tr := func(from, to string) registry.TimeRange { return registry.TimeRange{From: from, To: to} }
	return []filterCase[registry.FolderFilter]{
		{"zero filter", registry.FolderFilter{}, []int{1, 2, 3, 4}},
		{"patient", registry.FolderFilter{PatientID: p1}, []int{1, 2, 4}},
		{"ids", registry.FolderFilter{IDs: []string{id('f', 4), id('f', 3)}}, []int{3, 4}},
		{"unique ids", registry.FolderFilter{UniqueIDs: []string{"FU2"}}, []int{2}},
		{"logical ids", registry.FolderFilter{LogicalIDs: []string{"FL1"}}, []int{1, 4}},
		{"status", registry.FolderFilter{Statuses: []string{registry.StatusDeprecated}}, []int{4}},
		{"last update from inclusive", registry.FolderFilter{LastUpdateTime: tr("20230115103000", "")}, []int{1, 2, 3}},
		{"last update to exclusive", registry.FolderFilter{LastUpdateTime: tr("", "2023060112")}, []int{1, 3}},
		{"last update nothing later", registry.FolderFilter{LastUpdateTime: tr("2024", "")}, nil},
		{"code", registry.FolderFilter{Codes: []registry.CodeSet{cs(folderCode1)}}, []int{1, 3}},
		{"codes AND", registry.FolderFilter{Codes: []registry.CodeSet{cs(folderCode1), cs(folderCode2)}}, []int{1}},
		{"codes OR", registry.FolderFilter{Codes: []registry.CodeSet{cs(folderCode2, registry.Code{Code: "F9", Scheme: schemeFolder})}}, []int{1, 2}},
		{"code wrong scheme", registry.FolderFilter{Codes: []registry.CodeSet{cs(registry.Code{Code: "F2", Scheme: schemeContent})}}, nil},
		{"code without scheme", registry.FolderFilter{Codes: []registry.CodeSet{cs(anyScheme(folderCode1))}}, []int{1, 3}},
		{"limit", registry.FolderFilter{Limit: 2}, []int{1, 2}},
		{"FindFolders shape", registry.FolderFilter{
			PatientID: p1, Statuses: []string{registry.StatusApproved}, Codes: []registry.CodeSet{cs(folderCode2)},
		}, []int{1, 2}},
		{"combined", registry.FolderFilter{
			PatientID: p1, LogicalIDs: []string{"FL1", "FL2"}, UniqueIDs: []string{"FU1", "FU4"},
			LastUpdateTime: tr("2023", "2024"), IDs: []string{id('f', 1), id('f', 4)},
		}, []int{1}},
		{"patient ids", registry.FolderFilter{PatientIDs: []string{p2}}, []int{3}},
		{"latest only: f1 is version 1 of FL1, f4 version 2", registry.FolderFilter{LatestOnly: true}, []int{2, 3, 4}},
		{"latest only, patients, approved", registry.FolderFilter{
			LatestOnly: true, PatientIDs: []string{p1, p2}, Statuses: []string{registry.StatusApproved},
		}, []int{2, 3}},
		{"empty code set inside codes matches nothing", registry.FolderFilter{Codes: []registry.CodeSet{{}}}, nil},
	}
}

func associationCases() []filterCase[registry.AssociationFilter] {
	d := func(n int) string { return id('d', n) }
	return []filterCase[registry.AssociationFilter]{
		{"zero filter", registry.AssociationFilter{}, []int{1, 2, 3, 4, 5, 6}},
		{"ids", registry.AssociationFilter{IDs: []string{id('a', 5), id('a', 2)}}, []int{2, 5}},
		{"source or target", registry.AssociationFilter{SourceOrTarget: []string{d(1)}}, []int{1, 3, 4}},
		{"source or target, folder", registry.AssociationFilter{SourceOrTarget: []string{id('f', 1)}}, []int{2, 3}},
		{"source or target, association", registry.AssociationFilter{SourceOrTarget: []string{id('a', 3)}}, []int{6}},
		{"source or target, several", registry.AssociationFilter{SourceOrTarget: []string{d(2), d(7)}}, []int{4, 5}},
		{"sources", registry.AssociationFilter{Sources: []string{id('s', 1)}}, []int{1, 2, 6}},
		{"targets", registry.AssociationFilter{Targets: []string{d(1)}}, []int{1, 3, 4}},
		{"types", registry.AssociationFilter{Types: []string{registry.AssocReplace, registry.AssocAppend}}, []int{4, 5}},
		{"statuses", registry.AssociationFilter{Statuses: []string{registry.StatusDeprecated}}, []int{5}},
		{"limit", registry.AssociationFilter{Limit: 2}, []int{1, 2}},
		{"source, type and target", registry.AssociationFilter{
			Sources: []string{id('s', 1)}, Types: []string{registry.AssocHasMember}, Targets: []string{d(1)},
		}, []int{1}},
		{"source or target with type and status", registry.AssociationFilter{
			SourceOrTarget: []string{d(1)}, Types: []string{registry.AssocHasMember}, Statuses: []string{registry.StatusApproved},
			IDs: []string{id('a', 1), id('a', 3), id('a', 4)},
		}, []int{1, 3}},
	}
}
