package demo

import (
	"fmt"
	"strings"
	"time"

	"pjd/conformance/pdf"
	"pjd/registry"
	"pjd/registry/oid"
)

// Patient is a synthetic demo patient.
type Patient struct {
	ID     string // F-nr or D-nr (synthetic: month + 80)
	OID    string // assigning authority
	Given  string
	Family string
	Birth  string // YYYYMMDD
	Gender string // F / M
}

// CX returns the patient's XDS patient id.
func (p Patient) CX() string { return registry.NewPatientCX(p.ID, p.OID).String() }

// Organisation is a fictitious health organisation (valid mod-11 org.nr).
type Organisation struct {
	Name       string
	OrgNr      string
	Department string
	RESH       string
	Facility   registry.Code
	Practice   registry.Code
}

// Author is a fictitious health worker.
type Author struct {
	HPR    string
	Given  string
	Family string
	Role   string
}

// Document is one demo document with its metadata.
type Document struct {
	Patient         Patient
	Title           string
	Comments        string
	Class, Type     registry.Code
	Format          registry.Code
	MimeType        string
	Created         time.Time
	Confidentiality []registry.Code
	Org             Organisation
	Author          Author
	Content         []byte
	// Replaces, when set, is the index in Documents() of the document this
	// one replaces (RPLC).
	Replaces int
}

var (
	classEpikrise = registry.Code{Code: "A00-1", Scheme: oid.Volven9602, Display: "Epikriser og sammenfatninger"}
	typeEpikrise  = registry.Code{Code: "A03-2", Scheme: oid.Volven9602, Display: "Epikrise"}
	typePolEpi    = registry.Code{Code: "A13-2", Scheme: oid.Volven9602, Display: "Poliklinisk epikrise"}
	classBilde    = registry.Code{Code: "E00-1", Scheme: oid.Volven9602, Display: "Bildediagnostikk"}
	typeBildesvar = registry.Code{Code: "E01-2", Scheme: oid.Volven9602, Display: "Bildediagnostiske svar"}
	typeFoto      = registry.Code{Code: "E02-2", Scheme: oid.Volven9602, Display: "Foto og film"}
	classProve    = registry.Code{Code: "C00-1", Scheme: oid.Volven9602, Display: "Prøvesvar, vev og væsker"}
	typeBiokjemi  = registry.Code{Code: "C01-2", Scheme: oid.Volven9602, Display: "Medisinsk biokjemi"}
	classKorr     = registry.Code{Code: "I00-1", Scheme: oid.Volven9602, Display: "Korrespondanse"}
	typeHenvis    = registry.Code{Code: "I01-2", Scheme: oid.Volven9602, Display: "Henvisninger"}

	confNormal  = registry.Code{Code: "N", Scheme: oid.Volven9603, Display: "Normal"}
	confSperret = registry.Code{Code: "NORS", Scheme: oid.Volven9603, Display: "Sperret"}

	formatPDF   = registry.Code{Code: "urn:no:ehelse:document:pdf", Scheme: FormatScheme, Display: "PDF"}
	formatText  = registry.Code{Code: "urn:no:ehelse:document:text", Scheme: FormatScheme, Display: "Tekst"}
	formatImage = registry.Code{Code: "urn:no:ehelse:document:image", Scheme: FormatScheme, Display: "Bilde"}

	facilitySykehus   = registry.Code{Code: "86.101", Scheme: "2.16.578.1.12.4.1.1.1303", Display: "Alminnelige somatiske sykehus"}
	practiceIndremed  = registry.Code{Code: "S03", Scheme: "2.16.578.1.12.4.1.1.8655", Display: "Indremedisin"}
	practiceRadiologi = registry.Code{Code: "S25", Scheme: "2.16.578.1.12.4.1.1.8655", Display: "Radiologi"}
	practicePsyk      = registry.Code{Code: "S20", Scheme: "2.16.578.1.12.4.1.1.8655", Display: "Psykiatri"}
	practiceLab       = registry.Code{Code: "S01", Scheme: "2.16.578.1.12.4.1.1.8655", Display: "Medisinsk biokjemi"}
)

// FormatScheme is the codingScheme used for the Norwegian format codes
// (urn:no:ehelse:document:*); NHN's reference implementation names this
// code system "formatCodes".
const FormatScheme = "formatCodes"

// Patients returns the demo patients. Their numbers are synthetic (month +
// 80) with valid check digits; nobody real has them.
func Patients() []Patient {
	return []Patient{
		{ID: syntheticID(13, 11, 1958, 0, false), OID: oid.FNR, Given: "Solrik", Family: "Fjellvann", Birth: "19581113", Gender: "F"},
		{ID: syntheticID(2, 3, 1947, 0, false), OID: oid.FNR, Given: "Tålmodig", Family: "Bjørkeskog", Birth: "19470302", Gender: "M"},
		{ID: syntheticID(24, 7, 1989, 0, false), OID: oid.FNR, Given: "Lun", Family: "Sjøsprøyt", Birth: "19890724", Gender: "F"},
		{ID: syntheticID(5, 1, 1976, 0, true), OID: oid.DNR, Given: "Gjest", Family: "Vandrer", Birth: "19760105", Gender: "M"},
	}
}

// Organisations returns the fictitious organisations that author the demo
// documents.
func Organisations() []Organisation {
	return []Organisation{
		{Name: "Syntetisk universitetssykehus HF", OrgNr: "991919198", Department: "Medisinsk klinikk", RESH: "4001031",
			Facility: facilitySykehus, Practice: practiceIndremed},
		{Name: "Syntetisk universitetssykehus HF", OrgNr: "991919198", Department: "Radiologisk avdeling", RESH: "4001044",
			Facility: facilitySykehus, Practice: practiceRadiologi},
		{Name: "Fjordbyen sykehus HF", OrgNr: "992929278", Department: "Klinikk psykisk helse", RESH: "4002077",
			Facility: facilitySykehus, Practice: practicePsyk},
		{Name: "Fjordbyen sykehus HF", OrgNr: "992929278", Department: "Laboratoriemedisin", RESH: "4002011",
			Facility: facilitySykehus, Practice: practiceLab},
	}
}

var authors = []Author{
	{HPR: "100000001", Given: "Kari", Family: "Testlege", Role: "Overlege"},
	{HPR: "100000002", Given: "Ola", Family: "Røntgensen", Role: "Overlege radiologi"},
	{HPR: "100000003", Given: "Ingrid", Family: "Prøvesvar", Role: "Lege i spesialisering"},
}

// Documents returns the demo documents, oldest first, relative to now.
// Every patient has something to find; patient 0 has the full range:
// epikriser as PDF, a radiology report as text and as PDF, an imaging
// report with a JPEG, a laboratory result older than a year, a replaced
// (RPLC) epikrise and a NORS-labelled document that health personnel see
// only as a count.
func Documents(now time.Time) []Document {
	p := Patients()
	o := Organisations()
	day := func(n int) time.Time { return now.UTC().Truncate(time.Hour).AddDate(0, 0, -n) }
	var docs []Document
	add := func(d Document) int {
		if len(d.Confidentiality) == 0 {
			d.Confidentiality = []registry.Code{confNormal}
		}
		d.Replaces = -1
		docs = append(docs, d)
		return len(docs) - 1
	}
	name := func(pt Patient) string { return pt.Given + " " + pt.Family }

	// Patient 0: Solrik Fjellvann.
	first := add(Document{Patient: p[0], Title: "Epikrise – innleggelse for brystsmerter", Class: classEpikrise, Type: typeEpikrise,
		Format: formatPDF, MimeType: "application/pdf", Created: day(420), Org: o[0], Author: authors[0],
		Content: PDF("Epikrise – Medisinsk klinikk", epikriseText(name(p[0]), "brystsmerter", day(420)))})
	add(Document{Patient: p[0], Title: "Laboratoriesvar – lipidprofil", Class: classProve, Type: typeBiokjemi,
		Format: formatText, MimeType: "text/plain", Created: day(400), Org: o[3], Author: authors[2],
		Content: []byte(labText(name(p[0]), day(400)))})
	add(Document{Patient: p[0], Title: "CT thorax – beskrivelse", Class: classBilde, Type: typeBildesvar,
		Format: formatText, MimeType: "text/plain", Created: day(60), Org: o[1], Author: authors[1],
		Content: []byte(radiologyText(name(p[0]), "CT thorax med kontrast", day(60)))})
	add(Document{Patient: p[0], Title: "Røntgen thorax – bilde", Comments: "Frontalbilde, syntetisk", Class: classBilde, Type: typeFoto,
		Format: formatImage, MimeType: "image/jpeg", Created: day(58), Org: o[1], Author: authors[1],
		Content: JPEG(1, 480, 600)})
	add(Document{Patient: p[0], Title: "Røntgen thorax – beskrivelse", Class: classBilde, Type: typeBildesvar,
		Format: formatPDF, MimeType: "application/pdf", Created: day(58), Org: o[1], Author: authors[1],
		Content: PDF("Røntgen thorax – Radiologisk avdeling", []string{radiologyText(name(p[0]), "Røntgen thorax to plan", day(58))})})
	add(Document{Patient: p[0], Title: "Epikrise – psykisk helsevern", Class: classEpikrise, Type: typeEpikrise,
		Format: formatPDF, MimeType: "application/pdf", Created: day(30), Org: o[2], Author: authors[0],
		Confidentiality: []registry.Code{confSperret},
		Content:         PDF("Epikrise – Klinikk psykisk helse", epikriseText(name(p[0]), "angst og søvnvansker", day(30)))})
	add(Document{Patient: p[0], Title: "Poliklinisk epikrise – hjertepoliklinikk", Class: classEpikrise, Type: typePolEpi,
		Format: formatPDF, MimeType: "application/pdf", Created: day(12), Org: o[0], Author: authors[0],
		Content: PDF("Poliklinisk epikrise – Hjertepoliklinikken", epikriseText(name(p[0]), "kontroll etter brystsmerter", day(12)))})
	corr := add(Document{Patient: p[0], Title: "Epikrise – innleggelse for brystsmerter (korrigert)", Class: classEpikrise, Type: typeEpikrise,
		Format: formatPDF, MimeType: "application/pdf", Created: day(5), Org: o[0], Author: authors[0],
		Content: PDF("Epikrise – Medisinsk klinikk (korrigert versjon)", epikriseText(name(p[0]), "brystsmerter (korrigert medikamentliste)", day(420)))})
	docs[corr].Replaces = first

	// Patient 1: Tålmodig Bjørkeskog.
	add(Document{Patient: p[1], Title: "Epikrise – hjertesvikt", Class: classEpikrise, Type: typeEpikrise,
		Format: formatPDF, MimeType: "application/pdf", Created: day(90), Org: o[0], Author: authors[0],
		Content: PDF("Epikrise – Medisinsk klinikk", epikriseText(name(p[1]), "forverring av hjertesvikt", day(90)))})
	add(Document{Patient: p[1], Title: "Ekkokardiografi og røntgen – beskrivelse", Class: classBilde, Type: typeBildesvar,
		Format: formatPDF, MimeType: "application/pdf", Created: day(88), Org: o[1], Author: authors[1],
		Content: PDF("Bildediagnostisk svar", []string{radiologyText(name(p[1]), "Røntgen thorax", day(88))})})
	add(Document{Patient: p[1], Title: "Henvisning til hjerterehabilitering", Class: classKorr, Type: typeHenvis,
		Format: formatText, MimeType: "text/plain", Created: day(80), Org: o[0], Author: authors[0],
		Content: []byte("HENVISNING (syntetisk testdokument)\n\nPasient: " + name(p[1]) + "\nHenvises til hjerterehabilitering etter innleggelse for hjertesvikt.\nØnsker vurdering av fysisk kapasitet og opptrapping av aktivitet.\n")})

	// Patient 2: Lun Sjøsprøyt.
	add(Document{Patient: p[2], Title: "Poliklinisk epikrise – astma", Class: classEpikrise, Type: typePolEpi,
		Format: formatPDF, MimeType: "application/pdf", Created: day(200), Org: o[0], Author: authors[0],
		Content: PDF("Poliklinisk epikrise – Lungepoliklinikken", epikriseText(name(p[2]), "astmakontroll", day(200)))})
	add(Document{Patient: p[2], Title: "MR kne – beskrivelse", Class: classBilde, Type: typeBildesvar,
		Format: formatText, MimeType: "text/plain", Created: day(15), Org: o[1], Author: authors[1],
		Content: []byte(radiologyText(name(p[2]), "MR venstre kne", day(15)))})

	// Patient 3: Gjest Vandrer (D-nummer).
	add(Document{Patient: p[3], Title: "Epikrise – akutt blindtarmbetennelse", Class: classEpikrise, Type: typeEpikrise,
		Format: formatText, MimeType: "text/plain", Created: day(20), Org: o[0], Author: authors[0],
		Content: []byte(strings.Join(epikriseText(name(p[3]), "akutt appendisitt", day(20)), "\n\n") + "\n")})
	return docs
}

func epikriseText(patient, reason string, when time.Time) []string {
	return []string{
		"SYNTETISK TESTDOKUMENT – gjelder ingen virkelig person.",
		fmt.Sprintf("Pasient: %s. Innlagt %s med %s.", patient, when.Format("02.01.2006"), reason),
		"Funn: Stabil sirkulasjon og respirasjon. EKG uten akutte iskemiforandringer. Troponin under referanseområdet ved to målinger.",
		"Vurdering: Tilstanden vurderes som ufarlig. Pasienten er informert og utskrives i god allmenntilstand.",
		"Medikamenter ved utreise: Ingen endringer i fast medisinering.",
		"Videre oppfølging: Kontroll hos fastlege om fire uker. Ny henvendelse ved forverring.",
	}
}

func radiologyText(patient, exam string, when time.Time) string {
	return fmt.Sprintf("BILDEDIAGNOSTISK SVAR (syntetisk testdokument)\n\nPasient: %s\nUndersøkelse: %s, %s\n\n"+
		"Beskrivelse: Normale forhold. Ingen fortetninger eller væske. Normal hjertestørrelse.\n"+
		"Konklusjon: Ingen patologiske funn.\n", patient, exam, when.Format("02.01.2006"))
}

func labText(patient string, when time.Time) string {
	return fmt.Sprintf("LABORATORIESVAR (syntetisk testdokument)\n\nPasient: %s\nPrøvetatt: %s\n\n"+
		"Totalkolesterol   5,9 mmol/L   (ref. 3,9–7,8)\nLDL-kolesterol    3,8 mmol/L   (ref. 2,0–5,3)\n"+
		"HDL-kolesterol    1,4 mmol/L   (ref. 1,0–2,7)\nTriglyserider     1,2 mmol/L   (ref. 0,5–2,6)\n", patient, when.Format("02.01.2006"))
}

// syntheticID builds a synthetic F-nr (or D-nr) with month + 80 and valid
// check digits, trying individual numbers from 100 upwards.
func syntheticID(day, month, year, start int, dnr bool) string {
	if dnr {
		day += 40
	}
	for ind := 100 + start; ind < 500; ind++ {
		if id, ok := registry.SyntheticNorwegianID(day, month, year%100, ind); ok {
			return id
		}
	}
	panic("no synthetic id for that date") // cannot happen: many individual numbers are valid
}

// Submission builds the ITI-41 metadata of d: a SubmissionSet and one
// DocumentEntry (id "Document01") with uniqueIds under root, and — when
// replacesEntryUUID is set — the RPLC association to the entry it
// replaces. hash, size and repositoryUniqueId are left to the repository.
func (d Document) Submission(root string, sourceID string, replacesEntryUUID string) *registry.Submission {
	created := registry.FormatDTM(d.Created)
	author := registry.Author{
		Person: registry.XCN{ID: d.Author.HPR, FamilyName: d.Author.Family, GivenName: d.Author.Given,
			AssigningAuthority: registry.HD{UniversalID: oid.HPR, UniversalIDType: "ISO"}}.String(),
		Institutions: []string{
			registry.XON{OrganizationName: d.Org.Name, AssigningAuthority: registry.HD{UniversalID: oid.OrgNr, UniversalIDType: "ISO"},
				OrganizationIdentifier: d.Org.OrgNr}.String(),
			registry.XON{OrganizationName: d.Org.Department, AssigningAuthority: registry.HD{UniversalID: oid.RESH, UniversalIDType: "ISO"},
				OrganizationIdentifier: d.Org.RESH}.String(),
		},
		Roles: []string{d.Author.Role},
	}
	pid := d.Patient.CX()
	sub := &registry.Submission{
		SubmissionSet: &registry.SubmissionSet{
			ID: "SubmissionSet01", UniqueID: root + ".1", SourceID: sourceID, PatientID: pid,
			SubmissionTime: created, Title: d.Title, ContentType: d.Class, Authors: []registry.Author{author},
		},
		Documents: []*registry.DocumentEntry{{
			ID: "Document01", ObjectType: registry.ObjectTypeStable, UniqueID: root + ".2", PatientID: pid,
			MimeType: d.MimeType, Title: d.Title, Comments: d.Comments, LanguageCode: "nb-NO",
			CreationTime: created, ServiceStartTime: registry.FormatDTM(d.Created.Add(-48 * time.Hour)),
			ServiceStopTime: created, SourcePatientID: pid,
			SourcePatientInfo: []string{"PID-3|" + pid, "PID-5|" + d.Patient.Family + "^" + d.Patient.Given,
				"PID-7|" + d.Patient.Birth, "PID-8|" + d.Patient.Gender},
			LegalAuthenticator: author.Person,
			Authors:            []registry.Author{author},
			Class:              d.Class, Type: d.Type, Format: d.Format,
			FacilityType: d.Org.Facility, PracticeSetting: d.Org.Practice,
			Confidentiality: append([]registry.Code(nil), d.Confidentiality...),
		}},
		Associations: []*registry.Association{{
			ID: "HasMember01", Type: registry.AssocHasMember, Source: "SubmissionSet01", Target: "Document01",
			SubmissionSetStatus: registry.SubmissionSetStatusOriginal,
		}},
	}
	if replacesEntryUUID != "" {
		sub.Associations = append(sub.Associations, &registry.Association{
			ID: "Replace01", Type: registry.AssocReplace, Source: "Document01", Target: replacesEntryUUID,
		})
	}
	return sub
}

// PDF renders a synthetic report: the title and paragraphs laid out on A4
// pages (pdf.Text), in Norwegian, marked as pjd's demo data.
func PDF(title string, paragraphs []string) []byte {
	d := pdf.Text(title, paragraphs)
	d.Lang, d.Producer = "nb-NO", "pjd demo data"
	return d.Bytes()
}
