package registry

import (
	"crypto/rand"
	"crypto/sha1"
	"encoding/binary"
	"encoding/hex"
	"fmt"
	"pjd/registry/oid"
	"time"
)

// Synthetic Norwegian sample data for tests, conformance scenarios and the
// demo: valid registrations with synthetic people only (F-nr with month +
// 80, fictitious HPR numbers, organisation numbers and names). OIDs the
// samples invent are under 2.999, the arc reserved for examples.

// Sample identifiers.
const (
	SampleSourceID           = "2.999.578.2"
	SampleRepositoryUniqueID = "2.999.578.3"
	sampleUniqueIDRoot       = "2.999.578.1"
	// SampleOrgnr is a fictitious organisation number (valid mod-11 check
	// digit) used as authorInstitution.
	SampleOrgnr = "991919198"
	// SampleHPR is a fictitious HPR number used as authorPerson.
	SampleHPR = "100000001"
)

// Sample coded values, all in the embedded Norwegian value sets.
var (
	SampleClassEpikrise        = Code{Code: "A00-1", Scheme: oid.Volven9602, Display: "Epikriser og Sammenfatninger"}
	SampleTypeEpikrise         = Code{Code: "A03-2", Scheme: oid.Volven9602, Display: "Epikrise"}
	SampleClassBilde           = Code{Code: "E00-1", Scheme: oid.Volven9602, Display: "Bildediagnostikk"}
	SampleTypeBildesvar        = Code{Code: "E01-2", Scheme: oid.Volven9602, Display: "Bildediagnostiske svar"}
	SampleConfNormal           = Code{Code: "N", Scheme: oid.Volven9603, Display: "Normal"}
	SampleConfSperret          = Code{Code: "NORS", Scheme: oid.Volven9603, Display: "Sperret"}
	SampleFormatText           = Code{Code: "urn:ihe:iti:xds:2017:mimeTypeSufficient", Scheme: "1.3.6.1.4.1.19376.1.2.3", Display: "mimeType Sufficient"}
	SampleFacilitySykehus      = Code{Code: "86.101", Scheme: "2.16.578.1.12.4.1.1.1303", Display: "Alminnelige somatiske sykehus"}
	SamplePracticeIndremedisin = Code{Code: "S03", Scheme: "2.16.578.1.12.4.1.1.8655", Display: "Indremedisin"}
)

// SyntheticFnr returns the i-th synthetic fødselsnummer (Test-Norge style,
// month + 80) with valid check digits: distinct for distinct i ≥ 0, and
// the same for the same i.
func SyntheticFnr(i int) string {
	if i < 0 {
		i = -i
	}
	base := time.Date(1950, 1, 1, 0, 0, 0, 0, time.UTC)
	birth := base.AddDate(0, 0, i%18250) // 50 years of birth dates
	// Individual numbers 000–499 give a 1900s birth year; the k-th
	// individual number with valid check digits keeps numbers of the same
	// birth date apart.
	k := i / 18250
	for individual := 0; ; individual++ {
		if id, ok := SyntheticNorwegianID(birth.Day(), int(birth.Month()), birth.Year()%100, individual%500); ok {
			if k == 0 {
				return id
			}
			k--
		}
	}
}

// SamplePatientID returns the CX of the i-th synthetic patient
// ("<F-nr>^^^&2.16.578.1.12.4.1.4.1&ISO").
func SamplePatientID(i int) string {
	return NewPatientCX(SyntheticFnr(i), oid.FNR).String()
}

// SampleOptions shapes SampleSubmission. The zero value builds one
// epikrise for SamplePatientID(0).
type SampleOptions struct {
	// Patient is the patient id (CX); "" → SamplePatientID(0).
	Patient string
	// Documents is the number of DocumentEntries; 0 → 1.
	Documents int
	// Folder adds a Folder holding every DocumentEntry.
	Folder bool
	// Seq keeps uniqueIds apart: two submissions built with different Seq
	// share none. 0 → random.
	Seq uint64
	// Class and Type of every DocumentEntry; zero → A00-1 / A03-2.
	Class, Type Code
	// Confidentiality of every DocumentEntry; nil → Normal (9603 N).
	Confidentiality []Code
	// Time is the creation and submission time; zero → 2024-01-15 10:00 UTC.
	Time time.Time
}

// SampleDocument returns the content of document n of submission seq: a
// small synthetic text epikrise. SampleSubmission's hash and size are
// those of this content.
func SampleDocument(seq uint64, n int, patient string) []byte {
	return fmt.Appendf(nil, "EPIKRISE (syntetisk testdokument, ingen virkelig person)\n"+
		"Pasient: %s\nInnsending %d, dokument %d\n"+
		"Innlagt med brystsmerter. Utredet uten funn. Utskrevet i god form.\n", patient, seq, n+1)
}

// SampleUniqueID returns the uniqueId SampleSubmission gives to document n
// (n ≥ 0) of submission seq; n = -1 is the SubmissionSet, -2 the Folder.
func SampleUniqueID(seq uint64, n int) string {
	switch n {
	case -1:
		return fmt.Sprintf("%s.%d.1", sampleUniqueIDRoot, seq)
	case -2:
		return fmt.Sprintf("%s.%d.3", sampleUniqueIDRoot, seq)
	}
	return fmt.Sprintf("%s.%d.2.%d", sampleUniqueIDRoot, seq, n+1)
}

// SampleAuthor is the author of the samples: a fictitious physician (HPR)
// at a fictitious hospital (org.nr) and department.
func SampleAuthor() Author {
	return Author{
		Person: XCN{ID: SampleHPR, FamilyName: "Testlege", GivenName: "Kari",
			AssigningAuthority: HD{UniversalID: oid.HPR, UniversalIDType: "ISO"}}.String(),
		Institutions: []string{
			XON{OrganizationName: "Syntetisk sykehus HF", AssigningAuthority: HD{UniversalID: oid.OrgNr, UniversalIDType: "ISO"},
				OrganizationIdentifier: SampleOrgnr}.String(),
		},
		Roles:       []string{"Behandlingsansvarlig lege"},
		Specialties: []string{"Indremedisin"},
		Telecoms:    []string{XTN{UseCode: "NET", EquipmentType: "Internet", Email: "kari.testlege@example.no"}.String()},
	}
}

// SampleSubmission builds a valid synthetic Norwegian ITI-42 submission
// with symbolic ids: a SubmissionSet, o.Documents DocumentEntries (with
// hash and size of SampleDocument), optionally a Folder holding them, and
// the HasMember associations. Each call returns new objects.
func SampleSubmission(o SampleOptions) *Submission {
	if o.Patient == "" {
		o.Patient = SamplePatientID(0)
	}
	if o.Documents <= 0 {
		o.Documents = 1
	}
	if o.Seq == 0 {
		var b [8]byte
		_, _ = rand.Read(b[:])
		o.Seq = binary.BigEndian.Uint64(b[:]) >> 1
	}
	if o.Class == (Code{}) {
		o.Class = SampleClassEpikrise
	}
	if o.Type == (Code{}) {
		o.Type = SampleTypeEpikrise
	}
	if o.Confidentiality == nil {
		o.Confidentiality = []Code{SampleConfNormal}
	}
	if o.Time.IsZero() {
		o.Time = time.Date(2024, 1, 15, 10, 0, 0, 0, time.UTC)
	}
	t := FormatDTM(o.Time)
	sub := &Submission{SubmissionSet: &SubmissionSet{
		ID:             "SubmissionSet01",
		UniqueID:       SampleUniqueID(o.Seq, -1),
		SourceID:       SampleSourceID,
		PatientID:      o.Patient,
		SubmissionTime: t,
		Title:          "Syntetisk innsending",
		ContentType:    o.Class,
		Authors:        []Author{SampleAuthor()},
	}}
	for n := 0; n < o.Documents; n++ {
		content := SampleDocument(o.Seq, n, o.Patient)
		sum := sha1.Sum(content)
		size := int64(len(content))
		id := fmt.Sprintf("Document%02d", n+1)
		sub.Documents = append(sub.Documents, &DocumentEntry{
			ID:                 id,
			ObjectType:         ObjectTypeStable,
			UniqueID:           SampleUniqueID(o.Seq, n),
			PatientID:          o.Patient,
			MimeType:           "text/plain",
			Title:              fmt.Sprintf("Epikrise %d", n+1),
			LanguageCode:       "nb-NO",
			CreationTime:       t,
			ServiceStartTime:   FormatDTM(o.Time.Add(-72 * time.Hour)),
			ServiceStopTime:    FormatDTM(o.Time.Add(-2 * time.Hour)),
			Hash:               hex.EncodeToString(sum[:]),
			Size:               &size,
			RepositoryUniqueID: SampleRepositoryUniqueID,
			SourcePatientID:    o.Patient,
			SourcePatientInfo:  []string{"PID-3|" + o.Patient, "PID-5|Testesen^Syntetisk"},
			LegalAuthenticator: SampleAuthor().Person,
			Authors:            []Author{SampleAuthor()},
			Class:              o.Class,
			Type:               o.Type,
			Format:             SampleFormatText,
			FacilityType:       SampleFacilitySykehus,
			PracticeSetting:    SamplePracticeIndremedisin,
			Confidentiality:    append([]Code(nil), o.Confidentiality...),
		})
		sub.Associations = append(sub.Associations, &Association{
			ID: fmt.Sprintf("HasMember%02d", n+1), Type: AssocHasMember,
			Source: "SubmissionSet01", Target: id, SubmissionSetStatus: SubmissionSetStatusOriginal,
		})
	}
	if o.Folder {
		sub.Folders = append(sub.Folders, &Folder{
			ID: "Folder01", UniqueID: SampleUniqueID(o.Seq, -2), PatientID: o.Patient,
			Title: "Syntetisk mappe", Codes: []Code{o.Class},
		})
		sub.Associations = append(sub.Associations, &Association{
			ID: "HasMemberFolder", Type: AssocHasMember, Source: "SubmissionSet01", Target: "Folder01",
			SubmissionSetStatus: SubmissionSetStatusOriginal,
		})
		for n := range sub.Documents {
			fa := fmt.Sprintf("FolderMember%02d", n+1)
			sub.Associations = append(sub.Associations,
				&Association{ID: fa, Type: AssocHasMember, Source: "Folder01", Target: sub.Documents[n].ID},
				&Association{ID: fa + "InSet", Type: AssocHasMember, Source: "SubmissionSet01", Target: fa},
			)
		}
	}
	return sub
}

// SampleUpdate builds a valid ITI-57 request making a new version of the
// registered DocumentEntry prev: a new SubmissionSet (uniqueIds from seq)
// and a copy of prev with symbolic id "Document01v", prev's logicalID as
// lid, changed by mod (nil: the title gets " (oppdatert)"), joined by a
// HasMember with PreviousVersion = prev's version.
func SampleUpdate(seq uint64, prev *DocumentEntry, mod func(d *DocumentEntry)) *Submission {
	sub := SampleSubmission(SampleOptions{Patient: prev.PatientID, Seq: seq, Class: prev.Class})
	d := *prev
	d.ID, d.Status, d.Version, d.HomeCommunityID = "Document01v", "", "", ""
	if d.LogicalID == "" {
		d.LogicalID = prev.ID
	}
	if mod == nil {
		d.Title += " (oppdatert)"
	} else {
		mod(&d)
	}
	version := prev.Version
	if version == "" {
		version = "1"
	}
	sub.Documents = []*DocumentEntry{&d}
	sub.Associations = []*Association{{
		ID: "HasMember01", Type: AssocHasMember, Source: sub.SubmissionSet.ID, Target: d.ID,
		SubmissionSetStatus: SubmissionSetStatusOriginal,
		Extra:               []Slot{{Name: SlotPreviousVersion, Values: []string{version}}},
	}}
	return sub
}

// SampleStatusUpdate builds a valid ITI-57 request changing the
// availabilityStatus of the registered object target (a DocumentEntry,
// Folder or Association of patient) from one status to another.
func SampleStatusUpdate(seq uint64, patient, target, from, to string) *Submission {
	sub := SampleSubmission(SampleOptions{Patient: patient, Seq: seq})
	sub.Documents = nil
	sub.Associations = []*Association{{
		ID: "StatusUpdate01", Type: AssocUpdateAvailabilityStatus, Source: sub.SubmissionSet.ID, Target: target,
		Extra: []Slot{{Name: SlotOriginalStatus, Values: []string{from}}, {Name: SlotNewStatus, Values: []string{to}}},
	}}
	return sub
}

// SyntheticDnr returns the i-th synthetic D-nummer (day + 40, month + 80)
// with valid check digits: distinct for distinct i ≥ 0.
func SyntheticDnr(i int) string {
	if i < 0 {
		i = -i
	}
	birth := time.Date(1960, 1, 1, 0, 0, 0, 0, time.UTC).AddDate(0, 0, i%18250)
	k := i / 18250
	for individual := 0; ; individual++ {
		if id, ok := SyntheticNorwegianID(birth.Day()+40, int(birth.Month()), birth.Year()%100, individual%500); ok {
			if k == 0 {
				return id
			}
			k--
		}
	}
}

// SampleDnrPatientID returns the CX of the i-th synthetic D-nummer
// ("<D-nr>^^^&2.16.578.1.12.4.1.4.2&ISO").
func SampleDnrPatientID(i int) string {
	return NewPatientCX(SyntheticDnr(i), oid.DNR).String()
}
