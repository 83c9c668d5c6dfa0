package registrytest

import (
	"fmt"

	"pjd/registry"
	"pjd/registry/internal/sqlstore"
	"pjd/registry/oid"
)

// Synthetic Norwegian fixtures. Patients are Test-Norge style synthetic
// fødselsnummer (birth month + 80, valid check digits); codes are Volven
// 9602/9603 and the HL7 confidentiality system; authors carry HPR numbers
// (…4.1.4.4) and RESH/org.nr institutions. No real person or organisation.

// PatientID returns the CX patient id of the n-th synthetic person.
func PatientID(n int) string { return sqlstore.SyntheticPatientID(n) }

// Fnr returns the n-th synthetic fødselsnummer.
func Fnr(n int) string { return sqlstore.SyntheticFnr(n) }

const (
	schemeFormat    = "2.16.578.1.12.4.1.1.9610"
	schemeFacility  = "2.16.578.1.12.4.1.1.1303"
	schemePractice  = "2.16.578.1.12.4.1.1.8655"
	schemeEvent     = "2.16.578.1.12.4.1.1.7210"
	schemeContent   = "2.16.578.1.12.4.1.1.9999"
	schemeFolder    = "2.16.578.1.12.4.1.1.9998"
	sourceA         = "2.16.578.1.12.4.1.7.1.1"
	sourceB         = "2.16.578.1.12.4.1.7.2.1"
	authorityHPR    = "&" + oid.HPR + "&ISO"
	reshInstitution = "Akershus universitetssykehus HF^^^^^&" + oid.RESH + "&ISO^^^^4001031"
)

// Authors (XCN with a synthetic HPR number).
var (
	authorKari = "9144900^Nordmann^Kari^^^^^^" + authorityHPR
	authorOla  = "1234567^Hansen^Ola^^^^^^" + authorityHPR
	authorPer  = "7777777^Pettersen^Per^^^^^^" + authorityHPR
	// authorOdd holds LIKE/GLOB metacharacters and non-ASCII letters that
	// a pattern must match literally.
	authorOdd = "7654321^Ås[1]*?^Eva^^^^^^" + authorityHPR
)

// Codes.
var (
	classEpikrise   = registry.Code{Code: "A00-1", Scheme: oid.Volven9602, Display: "Epikriser og sammenfatninger"}
	classBilde      = registry.Code{Code: "E00-1", Scheme: oid.Volven9602, Display: "Bildediagnostikk"}
	classProvesvar  = registry.Code{Code: "C00-1", Scheme: oid.Volven9602, Display: "Prøvesvar, vev og væsker"}
	classKorresp    = registry.Code{Code: "I00-1", Scheme: oid.Volven9602, Display: "Korrespondanse"}
	typeEpikrise    = registry.Code{Code: "A03-2", Scheme: oid.Volven9602, Display: "Epikrise"}
	typePoliklinisk = registry.Code{Code: "A13-2", Scheme: oid.Volven9602, Display: "Poliklinisk epikrise"}
	typeBildesvar   = registry.Code{Code: "E01-2", Scheme: oid.Volven9602, Display: "Bildediagnostiske svar"}
	typeLab         = registry.Code{Code: "C01-2", Scheme: oid.Volven9602, Display: "Laboratoriesvar"}
	typeHenvisning  = registry.Code{Code: "I01-2", Scheme: oid.Volven9602, Display: "Henvisninger"}
	formatPDF       = registry.Code{Code: "urn:no:ehelse:document:pdf", Scheme: schemeFormat, Display: "PDF"}
	formatText      = registry.Code{Code: "urn:no:ehelse:document:text", Scheme: schemeFormat}
	formatImage     = registry.Code{Code: "urn:no:ehelse:document:image", Scheme: schemeFormat}
	facSomatisk     = registry.Code{Code: "86.101", Scheme: schemeFacility, Display: "Alminnelige somatiske sykehus"}
	facPsykiatrisk  = registry.Code{Code: "86.211", Scheme: schemeFacility, Display: "Psykiatriske sykehus"}
	practiceAllmenn = registry.Code{Code: "1", Scheme: schemePractice, Display: "Allmennmedisin"}
	practiceIndre   = registry.Code{Code: "2", Scheme: schemePractice, Display: "Indremedisin"}
	confN           = registry.Code{Code: "N", Scheme: oid.Volven9603, Display: "Normal"}
	confNORS        = registry.Code{Code: "NORS", Scheme: oid.Volven9603, Display: "Sperret"}
	confHL7N        = registry.Code{Code: "N", Scheme: oid.HL7Confidentiality, Display: "normal"}
	confHL7R        = registry.Code{Code: "R", Scheme: oid.HL7Confidentiality, Display: "restricted"}
	event1          = registry.Code{Code: "E1", Scheme: schemeEvent, Display: "Innleggelse"}
	event2          = registry.Code{Code: "E2", Scheme: schemeEvent}
	event3          = registry.Code{Code: "E3", Scheme: schemeEvent}
	contentEPJ      = registry.Code{Code: "epj", Scheme: schemeContent, Display: "Epikrise fra EPJ"}
	contentKJ       = registry.Code{Code: "kj", Scheme: schemeContent}
	folderCode1     = registry.Code{Code: "F1", Scheme: schemeFolder, Display: "Innleggelse"}
	folderCode2     = registry.Code{Code: "F2", Scheme: schemeFolder}
)

// id returns the n-th fixture UUID of a kind (d DocumentEntry, s
// SubmissionSet, f Folder, a Association; the first hex digit tells them
// apart). Higher n sort lower, so registration order (ascending n in the
// fixtures) is never the order of the ids.
func id(kind byte, n int) string {
	digit := map[byte]byte{'d': 'd', 's': '5', 'f': 'f', 'a': 'a'}[kind]
	return fmt.Sprintf("urn:uuid:%c%07x-6a1b-4c2d-8e3f-%012x", digit, 0xfffffff-n, 0xffffffffffff-n)
}

// Document returns a minimal, valid DocumentEntry for the given patient.
func Document(n int, patient string) *registry.DocumentEntry {
	did := id('d', n)
	return &registry.DocumentEntry{
		ID:              did,
		LogicalID:       did,
		Version:         "1",
		Status:          registry.StatusApproved,
		ObjectType:      registry.ObjectTypeStable,
		UniqueID:        fmt.Sprintf("2.16.578.1.12.4.1.7.3.%d", n),
		PatientID:       patient,
		MimeType:        "application/pdf",
		CreationTime:    "20240105081500",
		Class:           classEpikrise,
		Type:            typeEpikrise,
		Format:          formatPDF,
		FacilityType:    facSomatisk,
		PracticeSetting: practiceAllmenn,
		Confidentiality: []registry.Code{confN},
		Authors:         []registry.Author{{Person: authorKari}},
	}
}

// SubmissionSet returns a minimal, valid SubmissionSet.
func SubmissionSet(n int, patient string) *registry.SubmissionSet {
	return &registry.SubmissionSet{
		ID:             id('s', n),
		Status:         registry.StatusApproved,
		UniqueID:       fmt.Sprintf("2.16.578.1.12.4.1.7.4.%d", n),
		SourceID:       sourceA,
		PatientID:      patient,
		SubmissionTime: "20240105081600",
		ContentType:    contentEPJ,
	}
}

// Folder returns a minimal, valid Folder.
func Folder(n int, patient string) *registry.Folder {
	fid := id('f', n)
	return &registry.Folder{
		ID:             fid,
		LogicalID:      fid,
		Version:        "1",
		Status:         registry.StatusApproved,
		UniqueID:       fmt.Sprintf("2.16.578.1.12.4.1.7.5.%d", n),
		PatientID:      patient,
		LastUpdateTime: "20240105081600",
		Codes:          []registry.Code{folderCode1},
	}
}

// Association returns a HasMember association source → target.
func Association(n int, source, target string) *registry.Association {
	return &registry.Association{
		ID:     id('a', n),
		Type:   registry.AssocHasMember,
		Source: source,
		Target: target,
		Status: registry.StatusApproved,
	}
}

// FullDocument returns a DocumentEntry with every field filled
// (TestFixturesComplete proves it), for round-trip tests.
func FullDocument() *registry.DocumentEntry {
	size := int64(48213)
	p := PatientID(7)
	return &registry.DocumentEntry{
		ID:                 id('d', 900),
		LogicalID:          id('d', 901),
		Version:            "2",
		Status:             registry.StatusApproved,
		ObjectType:         registry.ObjectTypeStable,
		HomeCommunityID:    "urn:oid:2.16.578.1.12.4.1.7.1.1",
		UniqueID:           "2.16.578.1.12.4.1.7.3.900^v2",
		PatientID:          p,
		MimeType:           "application/pdf",
		Title:              "Epikrise – innleggelse på Ahus (æøå ÆØÅ)",
		Comments:           "Skrevet av turnuslege; kontrasignert. «Sitat» \"dobbel\" 'enkel' \\ bakstrek",
		LanguageCode:       "nb-NO",
		CreationTime:       "20240105081500",
		ServiceStartTime:   "202401010930",
		ServiceStopTime:    "20240104",
		Hash:               "da39a3ee5e6b4b0d3255bfef95601890afd80709",
		Size:               &size,
		RepositoryUniqueID: "2.16.578.1.12.4.1.7.1.1.1",
		SourcePatientID:    Fnr(7) + "^^^&2.16.578.1.12.4.1.4.1&ISO",
		SourcePatientInfo: []string{
			"PID-3|" + Fnr(7) + "^^^&2.16.578.1.12.4.1.4.1&ISO",
			"PID-5|Testesen^Syntetisk^^^",
			"PID-7|19750101",
			"PID-8|F",
		},
		LegalAuthenticator:   authorPer,
		URI:                  "https://pjd.example.invalid/mhd/document?id=900",
		DocumentAvailability: "urn:ihe:iti:2010:DocumentAvailability:Online",
		ReferenceIDs: []string{
			"4001031-12345^^^&2.16.578.1.12.4.1.4.102&ISO^urn:ihe:iti:xds:2013:accession",
			"E-2024-77^^^&2.16.578.1.12.4.1.7.1.1&ISO^urn:ihe:iti:xds:2015:encounterId",
		},
		Authors: []registry.Author{
			{
				Person:       authorKari,
				Institutions: []string{reshInstitution, "Ahus^^^^^&" + oid.OrgNr + "&ISO^^^^983971636"},
				Roles:        []string{"LE^Lege^2.16.578.1.12.4.1.1.9060"},
				Specialties:  []string{"1^Allmennmedisin^" + schemePractice},
				Telecoms:     []string{"^^Internet^kari.nordmann@example.invalid"},
			},
			{
				Person:       authorOdd,
				Institutions: []string{reshInstitution},
				Roles:        []string{"PS^Psykolog^2.16.578.1.12.4.1.1.9060"},
				Specialties:  []string{"Klinisk psykologi"},
				Telecoms:     []string{"^PRN^PH^^47^^22000000"},
			},
		},
		Class:           classEpikrise,
		Type:            typeEpikrise,
		Format:          formatPDF,
		FacilityType:    facSomatisk,
		PracticeSetting: practiceAllmenn,
		Confidentiality: []registry.Code{confN, confHL7N},
		Events:          []registry.Code{event1, {Code: "T2", Scheme: schemeEvent, Display: "Kontroll"}},
		Extra: []registry.Slot{
			{Name: "urn:no:nhn:pjd:sourceSystem", Values: []string{"DIPS Arena", "21.2"}},
			{Name: "urn:no:nhn:pjd:tom", Values: []string{" "}},
		},
	}
}

// FullSubmissionSet returns a SubmissionSet with every field filled.
func FullSubmissionSet() *registry.SubmissionSet {
	return &registry.SubmissionSet{
		ID:              id('s', 900),
		Status:          registry.StatusApproved,
		HomeCommunityID: "urn:oid:2.16.578.1.12.4.1.7.1.1",
		UniqueID:        "2.16.578.1.12.4.1.7.4.900",
		SourceID:        sourceA,
		PatientID:       PatientID(7),
		SubmissionTime:  "20240105081600",
		Title:           "Innsending fra DIPS – æøå",
		Comments:        "Automatisk innsending ved utskrivning",
		ContentType:     contentEPJ,
		Authors: []registry.Author{{
			Person:       authorKari,
			Institutions: []string{reshInstitution},
			Roles:        []string{"LE^Lege^2.16.578.1.12.4.1.1.9060"},
			Specialties:  []string{"1^Allmennmedisin^" + schemePractice},
			Telecoms:     []string{"^^Internet^post@example.invalid"},
		}},
		IntendedRecipients: []string{
			"Legekontoret^^^^^&" + oid.OrgNr + "&ISO^^^^974600951|1234567^Hansen^Ola^^^^^^" + authorityHPR + "|",
			"|" + authorPer + "|^^Internet^per@example.invalid",
		},
		Extra: []registry.Slot{{Name: "urn:no:nhn:pjd:batch", Values: []string{"42"}}},
	}
}

// FullFolder returns a Folder with every field filled.
func FullFolder() *registry.Folder {
	return &registry.Folder{
		ID:              id('f', 900),
		LogicalID:       id('f', 901),
		Version:         "3",
		Status:          registry.StatusApproved,
		HomeCommunityID: "urn:oid:2.16.578.1.12.4.1.7.1.1",
		UniqueID:        "2.16.578.1.12.4.1.7.5.900",
		PatientID:       PatientID(7),
		Title:           "Innleggelse januar 2024",
		Comments:        "Alle dokumenter fra oppholdet",
		LastUpdateTime:  "20240105081600",
		Codes:           []registry.Code{folderCode1, {Code: "F3", Scheme: schemeFolder, Display: "Opphold"}},
		Extra:           []registry.Slot{{Name: "urn:no:nhn:pjd:episode", Values: []string{"E-2024-77"}}},
	}
}

// FullAssociation returns an Association with every field filled.
func FullAssociation() *registry.Association {
	return &registry.Association{
		ID:                  id('a', 900),
		Type:                registry.AssocHasMember,
		Source:              id('s', 900),
		Target:              id('d', 900),
		Status:              registry.StatusApproved,
		SubmissionSetStatus: registry.SubmissionSetStatusOriginal,
		Documentation:       &registry.Code{Code: "KORR", Scheme: "2.16.578.1.12.4.1.7.99.doc", Display: "Korrigert diagnose"},
		Extra: []registry.Slot{
			{Name: "PreviousVersion", Values: []string{"1"}},
			{Name: "urn:no:nhn:pjd:note", Values: []string{"a", "b"}},
		},
	}
}
