package registrytest

import (
	"pjd/registry"
)

// The filter corpus: a few objects per type whose attributes are chosen so
// every filter field can be shown to select exactly the right subset. The
// tables in filters.go name objects by these indexes (d1 … d8, s1 … s4,
// f1 … f4, a1 … a6), registered in that order.

var (
	p1 = PatientID(1)
	p2 = PatientID(2)
)

// with returns o after mod has changed it.
func with[T any](o T, mod func(T)) T {
	mod(o)
	return o
}

func corpusDocuments() []*registry.DocumentEntry {
	mk := func(n int, patient string, mod func(d *registry.DocumentEntry)) *registry.DocumentEntry {
		d := Document(n, patient)
		d.Authors = nil
		d.Confidentiality = nil
		d.CreationTime = ""
		return with(d, mod)
	}
	return []*registry.DocumentEntry{
		mk(1, p1, func(d *registry.DocumentEntry) {
			d.LogicalID, d.UniqueID = "L1", "U1"
			d.Class, d.Type, d.PracticeSetting, d.FacilityType, d.Format = classEpikrise, typeEpikrise, practiceAllmenn, facSomatisk, formatPDF
			d.Events = []registry.Code{event1}
			d.Confidentiality = []registry.Code{confN}
			d.CreationTime, d.ServiceStartTime, d.ServiceStopTime = "20230115103000", "20230110", "20230114"
			d.Authors = []registry.Author{{Person: authorKari, Institutions: []string{reshInstitution}}}
			d.ReferenceIDs = []string{"ref-1"}
		}),
		mk(2, p1, func(d *registry.DocumentEntry) {
			d.LogicalID, d.UniqueID = "L2", "U2"
			d.Class, d.Type, d.PracticeSetting, d.FacilityType, d.Format = classEpikrise, typePoliklinisk, practiceIndre, facPsykiatrisk, formatText
			d.Events = []registry.Code{event1, event2}
			d.Confidentiality = []registry.Code{confN, confHL7N}
			d.CreationTime, d.ServiceStartTime, d.ServiceStopTime = "20230601", "2023060108", "2023060110"
			d.Authors = []registry.Author{{Person: authorOla}}
		}),
		mk(3, p1, func(d *registry.DocumentEntry) {
			d.LogicalID, d.UniqueID = "L3", "U3"
			d.Status = registry.StatusDeprecated
			d.Class, d.Type, d.PracticeSetting, d.FacilityType, d.Format = classBilde, typeBildesvar, practiceAllmenn, facSomatisk, formatImage
			d.Confidentiality = []registry.Code{confNORS}
			d.CreationTime = "2024"
			d.Authors = []registry.Author{{Person: authorKari}, {Person: authorPer}}
			d.ReferenceIDs = []string{"ref-2", "ref-1"}
		}),
		mk(4, p1, func(d *registry.DocumentEntry) {
			d.LogicalID, d.UniqueID = "L4", "U4"
			d.ObjectType = registry.ObjectTypeOnDemand
			d.Class, d.Type, d.PracticeSetting, d.FacilityType, d.Format = classProvesvar, typeLab, practiceAllmenn, facSomatisk, formatPDF
			d.Confidentiality = []registry.Code{confN}
		}),
		mk(5, p2, func(d *registry.DocumentEntry) {
			d.LogicalID, d.UniqueID = "L5", "U5"
			d.Class, d.Type, d.PracticeSetting, d.FacilityType, d.Format = classEpikrise, typeEpikrise, practiceAllmenn, facSomatisk, formatPDF
			d.Confidentiality = []registry.Code{confN}
			d.CreationTime = "20230115103000"
			d.Authors = []registry.Author{{Person: authorKari}}
		}),
		mk(6, p1, func(d *registry.DocumentEntry) {
			d.LogicalID, d.UniqueID = "L6", "U6"
			d.Class = registry.Code{Code: "A00-1", Scheme: "2.16.578.1.12.4.1.7.99.local", Display: "Lokal klasse"}
			d.Type, d.PracticeSetting, d.FacilityType, d.Format = typeEpikrise, practiceAllmenn, facSomatisk, formatPDF
			d.Confidentiality = []registry.Code{confHL7R}
			d.CreationTime = "20231231235959"
			d.Authors = []registry.Author{{Person: authorOdd}}
		}),
		mk(7, p1, func(d *registry.DocumentEntry) {
			d.LogicalID, d.UniqueID, d.Version = "L1", "U7", "2"
			d.Class, d.Type, d.PracticeSetting, d.FacilityType, d.Format = classEpikrise, typeEpikrise, practiceAllmenn, facSomatisk, formatPDF
			d.Events = []registry.Code{event3}
			d.Confidentiality = []registry.Code{confN}
			d.CreationTime = "202301151030"
			d.Authors = []registry.Author{{Person: authorOla}}
			d.ReferenceIDs = []string{"ref-3"}
		}),
		mk(8, p1, func(d *registry.DocumentEntry) {
			d.LogicalID, d.UniqueID = "L8", "U8"
			d.DocumentAvailability = registry.DocumentAvailabilityOffline
			d.Class, d.Type, d.PracticeSetting, d.FacilityType, d.Format = classKorresp, typeHenvisning, practiceAllmenn, facSomatisk, formatPDF
			d.Confidentiality = []registry.Code{confN}
			d.CreationTime = "20221231"
			d.Authors = []registry.Author{{Institutions: []string{reshInstitution}}}
		}),
	}
}

func corpusSubmissionSets() []*registry.SubmissionSet {
	mk := func(n int, patient string, mod func(s *registry.SubmissionSet)) *registry.SubmissionSet {
		return with(SubmissionSet(n, patient), mod)
	}
	return []*registry.SubmissionSet{
		mk(1, p1, func(s *registry.SubmissionSet) {
			s.UniqueID, s.SourceID, s.SubmissionTime, s.ContentType = "SU1", sourceA, "20230115103000", contentEPJ
			s.Authors = []registry.Author{{Person: authorKari}}
		}),
		mk(2, p1, func(s *registry.SubmissionSet) {
			s.UniqueID, s.SourceID, s.SubmissionTime, s.ContentType = "SU2", sourceB, "202306011200", contentKJ
			s.Authors = []registry.Author{{Person: authorOla}}
		}),
		mk(3, p2, func(s *registry.SubmissionSet) {
			s.UniqueID, s.SourceID, s.SubmissionTime, s.ContentType = "SU3", sourceA, "20230115103000", contentEPJ
			s.Authors = []registry.Author{{Person: authorKari}}
		}),
		mk(4, p1, func(s *registry.SubmissionSet) {
			s.UniqueID, s.SourceID, s.SubmissionTime = "SU4", sourceA, ""
			s.Status = registry.StatusDeprecated
			s.ContentType = registry.Code{Code: "epj", Scheme: "2.16.578.1.12.4.1.7.99.other"}
		}),
	}
}

func corpusFolders() []*registry.Folder {
	mk := func(n int, patient string, mod func(f *registry.Folder)) *registry.Folder {
		return with(Folder(n, patient), mod)
	}
	return []*registry.Folder{
		mk(1, p1, func(f *registry.Folder) {
			f.LogicalID, f.UniqueID, f.LastUpdateTime = "FL1", "FU1", "20230115103000"
			f.Codes = []registry.Code{folderCode1, folderCode2}
		}),
		mk(2, p1, func(f *registry.Folder) {
			f.LogicalID, f.UniqueID, f.LastUpdateTime = "FL2", "FU2", "2023060112"
			f.Codes = []registry.Code{folderCode2}
		}),
		mk(3, p2, func(f *registry.Folder) {
			f.LogicalID, f.UniqueID, f.LastUpdateTime = "FL3", "FU3", "20230115103000"
			f.Codes = []registry.Code{folderCode1}
		}),
		mk(4, p1, func(f *registry.Folder) {
			f.LogicalID, f.UniqueID, f.LastUpdateTime, f.Version = "FL1", "FU4", "", "2"
			f.Status = registry.StatusDeprecated
			f.Codes = nil
		}),
	}
}

// corpusAssociations links the corpus objects:
// a1 s1→d1 HasMember (Original), a2 s1→f1 HasMember, a3 f1→d1 HasMember,
// a4 d7→d1 RPLC, a5 d3→d2 APND (Deprecated), a6 s1→a3 HasMember.
func corpusAssociations() []*registry.Association {
	d := func(n int) string { return id('d', n) }
	s1, f1 := id('s', 1), id('f', 1)
	a := []*registry.Association{
		Association(1, s1, d(1)),
		Association(2, s1, f1),
		Association(3, f1, d(1)),
		Association(4, d(7), d(1)),
		Association(5, d(3), d(2)),
		Association(6, s1, id('a', 3)),
	}
	a[0].SubmissionSetStatus = registry.SubmissionSetStatusOriginal
	a[3].Type = registry.AssocReplace
	a[4].Type = registry.AssocAppend
	a[4].Status = registry.StatusDeprecated
	return a
}
