package ebrim

import (
	"pjd/registry"
	"pjd/registry/oid"
)

// Synthetic Norwegian metadata. The people are synthetic: 15838540063 is a
// Test-Norge F-nr (month + 80), 02736540080 an NHN synthetic F-nr
// (month + 65), both with valid check digits; HPR numbers, organisation
// numbers and names are made up.
const (
	fnrKari   = "15838540063^^^&2.16.578.1.12.4.1.4.1&ISO"
	fnrNHN    = "02736540080^^^&2.16.578.1.12.4.1.4.1&ISO"
	hprKari   = "9144889^Testlege^Kari^^^^^^&2.16.578.1.12.4.1.4.4&ISO"
	hprOla    = "9255990^Testoverlege^Ola^^^^^^&2.16.578.1.12.4.1.4.4&ISO"
	hprNina   = "9477112^Testlege^Nina^^^^^^&2.16.578.1.12.4.1.4.4&ISO"
	orgSyk    = "Testsykehuset HF^^^^^&2.16.578.1.12.4.1.4.101&ISO^^^^999999999"
	reshMed   = "Medisinsk avdeling^^^^^&2.16.578.1.12.4.1.4.102&ISO^^^^4001234"
	orgLege   = "Testbyen legesenter AS^^^^^&2.16.578.1.12.4.1.4.101&ISO^^^^999999998"
	roleLege  = "LE^^^&2.16.578.1.12.4.1.1.9060&ISO"
	volven    = oid.Volven9602
	hl7Conf   = oid.HL7Confidentiality
	fmtScheme = "2.16.578.1.12.4.1.1.9604"
	hcft      = "2.16.578.1.12.4.1.1.1303"
	practice  = "2.16.578.1.12.4.1.1.8655"
	oldEpikr  = "urn:uuid:0b6cbb2e-2c9f-4b7a-9d55-6f1c8c0e4a21"
)

// norwegianSubmission is what testdata/ebrim/no/submit_epikrise_folder_rplc.xml
// holds: a replacement epikrise, a notat, a Folder and their associations.
func norwegianSubmission() *registry.Submission {
	ss := &registry.SubmissionSet{
		ID:                 "SubmissionSet01",
		UniqueID:           "2.16.578.1.12.4.1.7.99.20240312101500.1",
		SourceID:           "2.16.578.1.12.4.1.7.99",
		PatientID:          fnrKari,
		SubmissionTime:     "20240312101500",
		Title:              "Epikrise og notat etter innleggelse",
		Comments:           "Syntetiske testdata",
		ContentType:        registry.Code{Code: "A00-1", Scheme: volven, Display: "Epikriser og sammenfatninger"},
		IntendedRecipients: []string{orgLege + "|9366011^Fastlege^Per^^^^^^&2.16.578.1.12.4.1.4.4&ISO"},
		Authors: []registry.Author{
			{Person: hprKari, Institutions: []string{orgSyk, reshMed}},
			{Institutions: []string{orgSyk}, Telecoms: []string{"^^Internet^dokumentsenter@testsykehuset.example"}},
		},
		Extra: []registry.Slot{{Name: "urn:no:nhn:pjd:sourceSystem", Values: []string{"Syntetisk EPJ 1.0"}}},
	}
	epikrise := &registry.DocumentEntry{
		ID:                 "Epikrise02",
		ObjectType:         registry.ObjectTypeStable,
		UniqueID:           "2.16.578.1.12.4.1.7.99.20240312093000.7",
		PatientID:          fnrKari,
		MimeType:           "application/pdf",
		Title:              "Epikrise (korrigert)",
		Comments:           "Erstatter epikrise av 11.03.2024",
		LanguageCode:       "nb-NO",
		CreationTime:       "20240312093000",
		ServiceStartTime:   "20240305",
		ServiceStopTime:    "20240311",
		Hash:               "2fd4e1c67a2d28fced849ee1bb76e7391b93eb12",
		Size:               ptr(int64(48213)),
		RepositoryUniqueID: "2.16.578.1.12.4.1.7.99.1",
		SourcePatientID:    fnrKari,
		SourcePatientInfo: []string{
			"PID-3|" + fnrKari,
			"PID-5|Testperson^Kari Syntetisk^^^",
			"PID-7|19850315",
			"PID-8|F",
		},
		LegalAuthenticator: hprOla,
		ReferenceIDs:       []string{"ENC-2024-0042^^^&2.16.578.1.12.4.1.7.99.2&ISO^urn:ihe:iti:xds:2015:encounterId"},
		Authors: []registry.Author{
			{Person: hprKari, Institutions: []string{orgSyk, reshMed}, Roles: []string{roleLege}, Specialties: []string{"Indremedisin"}},
			{Person: hprOla, Institutions: []string{orgSyk}, Roles: []string{roleLege}},
		},
		Class:           registry.Code{Code: "A00-1", Scheme: volven, Display: "Epikriser og sammenfatninger"},
		Type:            registry.Code{Code: "A03-2", Scheme: volven, Display: "Epikrise"},
		Format:          registry.Code{Code: "urn:no:ehelse:document:pdf", Scheme: fmtScheme, Display: "PDF"},
		FacilityType:    registry.Code{Code: "86.101", Scheme: hcft, Display: "Alminnelige somatiske sykehus"},
		PracticeSetting: registry.Code{Code: "1", Scheme: practice, Display: "Allmennmedisin"},
		Confidentiality: []registry.Code{
			{Code: "N", Scheme: hl7Conf, Display: "Normal"},
			{Code: "N", Scheme: oid.Volven9603, Display: "Normal"},
		},
		Events: []registry.Code{{Code: "I21", Scheme: "2.16.578.1.12.4.1.1.7110", Display: "Akutt hjerteinfarkt"}},
		Extra:  []registry.Slot{{Name: "urn:no:nhn:pjd:epikriseType", Values: []string{"utskrivning", "korrigert"}}},
	}
	notat := &registry.DocumentEntry{
		ID:              "Notat01",
		ObjectType:      registry.ObjectTypeStable,
		UniqueID:        "2.16.578.1.12.4.1.7.99.20240312094500.8",
		PatientID:       fnrKari,
		MimeType:        "text/plain",
		Title:           "Poliklinisk notat",
		LanguageCode:    "nn-NO",
		CreationTime:    "20240312094500",
		SourcePatientID: fnrKari,
		Authors:         []registry.Author{{Institutions: []string{orgSyk}}},
		Class:           registry.Code{Code: "A00-1", Scheme: volven, Display: "Epikriser og sammenfatninger"},
		Type:            registry.Code{Code: "A13-2", Scheme: volven, Display: "Poliklinisk epikrise"},
		Format:          registry.Code{Code: "urn:no:ehelse:document:text", Scheme: fmtScheme},
		FacilityType:    registry.Code{Code: "86.101", Scheme: hcft},
		PracticeSetting: registry.Code{Code: "1", Scheme: practice},
		Confidentiality: []registry.Code{{Code: "N", Scheme: hl7Conf}},
	}
	folder := &registry.Folder{
		ID:        "Folder01",
		UniqueID:  "2.16.578.1.12.4.1.7.99.20240312101500.9",
		PatientID: fnrKari,
		Title:     "Innleggelse mars 2024",
		Codes:     []registry.Code{{Code: "A00-1", Scheme: volven, Display: "Epikriser og sammenfatninger"}},
	}
	hasMember := func(id, src, dst, status string) *registry.Association {
		return &registry.Association{ID: id, Type: registry.AssocHasMember, Source: src, Target: dst, SubmissionSetStatus: status}
	}
	return &registry.Submission{
		SubmissionSet: ss,
		Documents:     []*registry.DocumentEntry{epikrise, notat},
		Folders:       []*registry.Folder{folder},
		Associations: []*registry.Association{
			hasMember("as-ss-de1", "SubmissionSet01", "Epikrise02", registry.SubmissionSetStatusOriginal),
			hasMember("as-ss-de2", "SubmissionSet01", "Notat01", registry.SubmissionSetStatusOriginal),
			hasMember("as-ss-f", "SubmissionSet01", "Folder01", ""),
			hasMember("as-f-de1", "Folder01", "Epikrise02", ""),
			hasMember("as-ss-fde1", "SubmissionSet01", "as-f-de1", ""),
			{ID: "as-rplc", Type: registry.AssocReplace, Source: "Epikrise02", Target: oldEpikr,
				Documentation: &registry.Code{Code: "KORR", Scheme: "2.16.578.1.12.4.1.7.99.3", Display: "Korrigert diagnose"}},
		},
	}
}

// pnrSubmission is the metadata of testdata/ebrim/no/pnr_epikrise_xop.xml.
func pnrSubmission() *registry.Submission {
	const ssID = "urn:uuid:6f0c1d2e-3a4b-4c5d-8e6f-708192a3b4c5"
	doc := func(id, mime, created, title, uid string, class, typ, format registry.Code) *registry.DocumentEntry {
		return &registry.DocumentEntry{
			ID: id, ObjectType: registry.ObjectTypeStable, MimeType: mime, CreationTime: created,
			LanguageCode: "nb-NO", SourcePatientID: fnrNHN, Title: title, UniqueID: uid, PatientID: fnrNHN,
			Class: class, Type: typ, Format: format,
			Confidentiality: []registry.Code{{Code: "N", Scheme: hl7Conf}},
			FacilityType:    registry.Code{Code: "86.211", Scheme: hcft},
			PracticeSetting: registry.Code{Code: "1", Scheme: practice},
		}
	}
	d1 := doc("Doc1", "text/plain", "20240401075500", "Henvisning til spesialist", "2.16.578.1.12.4.1.7.98.20240401075500.2",
		registry.Code{Code: "I00-1", Scheme: volven},
		registry.Code{Code: "I01-2", Scheme: volven, Display: "Henvisninger"},
		registry.Code{Code: "urn:ihe:iti:xds:2017:mimeTypeSufficient", Scheme: "1.3.6.1.4.1.19376.1.2.3"})
	d1.Authors = []registry.Author{{Person: hprNina}}
	d2 := doc("Doc2", "application/pdf", "20240401075800", "Vedlegg: EKG", "2.16.578.1.12.4.1.7.98.20240401075800.3",
		registry.Code{Code: "D00-1", Scheme: volven},
		registry.Code{Code: "D01-2", Scheme: volven},
		registry.Code{Code: "urn:no:ehelse:document:pdf", Scheme: fmtScheme})
	return &registry.Submission{
		SubmissionSet: &registry.SubmissionSet{
			ID:             ssID,
			UniqueID:       "2.16.578.1.12.4.1.7.98.20240401080000.1",
			SourceID:       "2.16.578.1.12.4.1.7.98",
			PatientID:      fnrNHN,
			SubmissionTime: "20240401080000",
			ContentType:    registry.Code{Code: "I00-1", Scheme: volven, Display: "Korrespondanse"},
			Authors:        []registry.Author{{Person: hprNina, Institutions: []string{orgLege}}},
		},
		Documents: []*registry.DocumentEntry{d1, d2},
		Associations: []*registry.Association{
			{ID: "a1", Type: registry.AssocHasMember, Source: ssID, Target: "Doc1", SubmissionSetStatus: "Original"},
			{ID: "a2", Type: registry.AssocHasMember, Source: ssID, Target: "Doc2", SubmissionSetStatus: "Original"},
		},
	}
}

// pnrDoc1 is the inline document of the PnR fixture.
const pnrDoc1 = "Syntetisk epikrise for Testperson Kari. Ingen reelle pasientdata.\n" +
	"Pasienten ble innlagt med brystsmerter og utskrevet i god allmenntilstand.\n"

func pnrParts() []DocumentPart {
	return []DocumentPart{
		{ID: "Doc1", Inline: []byte(pnrDoc1)},
		{ID: "Doc2", IncludeHref: "cid:1.urn:uuid:9d3c6a10-5b7e-4f3a-8a51-2c4d6e8f0a12@pjd.example"},
	}
}

// registeredObjects is what the registry holds after registering
// norwegianSubmission and an earlier epikrise: UUID ids, lid, version,
// status and home set, one document Deprecated by the RPLC.
func registeredObjects() *registry.QueryResult {
	const (
		home  = "urn:oid:2.16.578.1.12.4.1.7.1.1"
		ssID  = "urn:uuid:3c2b1a09-8f7e-4d6c-9b5a-493827160514"
		newID = "urn:uuid:a1b2c3d4-e5f6-4a7b-8c9d-0e1f2a3b4c5d"
		fID   = "urn:uuid:f0e1d2c3-b4a5-4968-8776-655443322110"
	)
	sub := norwegianSubmission()
	de := sub.Documents[0]
	de.ID, de.LogicalID, de.Version = newID, oldEpikr, "2"
	de.Status, de.HomeCommunityID = registry.StatusApproved, home
	old := *sub.Documents[1]
	old.ID, old.LogicalID, old.Version = oldEpikr, oldEpikr, "1"
	old.Status, old.HomeCommunityID = registry.StatusDeprecated, home
	old.UniqueID = "2.16.578.1.12.4.1.7.99.20240311120000.3"
	ss := sub.SubmissionSet
	ss.ID, ss.Status, ss.HomeCommunityID = ssID, registry.StatusApproved, home
	f := sub.Folders[0]
	f.ID, f.LogicalID, f.Version = fID, fID, "1"
	f.Status, f.HomeCommunityID, f.LastUpdateTime = registry.StatusApproved, home, "20240312101502"
	return &registry.QueryResult{
		ReturnType:     registry.ReturnLeafClass,
		Documents:      []*registry.DocumentEntry{de, &old},
		SubmissionSets: []*registry.SubmissionSet{ss},
		Folders:        []*registry.Folder{f},
		Associations: []*registry.Association{
			{ID: "urn:uuid:0a0a0a0a-1b1b-4c2c-8d3d-4e4e4e4e4e4e", Type: registry.AssocHasMember, Source: ssID, Target: newID,
				Status: registry.StatusApproved, SubmissionSetStatus: registry.SubmissionSetStatusOriginal},
			{ID: "urn:uuid:0b0b0b0b-1c1c-4d2d-8e3e-4f4f4f4f4f4f", Type: registry.AssocReplace, Source: newID, Target: oldEpikr,
				Status: registry.StatusApproved, Extra: []registry.Slot{{Name: "urn:no:nhn:pjd:note", Values: []string{"korrigert"}}},
				Documentation: &registry.Code{Code: "KORR", Scheme: "2.16.578.1.12.4.1.7.99.3", Display: "Korrigert diagnose"}},
		},
	}
}
