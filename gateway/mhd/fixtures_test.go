package mhd

import (
	"bytes"
	"flag"
	"os"
	"path/filepath"
	"testing"

	"pjd/gateway/fhir"
	"pjd/registry"
	"pjd/registry/oid"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata/mhd")

// testdataDir is /work/main/testdata/mhd (repository testdata).
var testdataDir = filepath.Join("..", "..", "testdata", "mhd")

// Synthetic people only: Test-Norge F-nr (month + 80) and D-nr (day + 40,
// month + 80), and an NHN synthetic F-nr (month + 65), all with valid
// check digits.
const (
	fnrKari  = "13818510017" // 13.01.1985, Test-Norge
	fnrOla   = "02859010000" // 02.05.1990, Test-Norge
	fnrNHN   = "05678510078" // 05.02.1985, NHN synthetic (month + 65)
	dnrPer   = "53818510000" // D-nr of 13.01.1985
	hprLege  = "9144900"
	orgnrOUS = "993467049"
)

var (
	patientKari = fnrKari + "^^^&" + oid.FNR + "&ISO"
	patientOla  = fnrOla + "^^^&" + oid.FNR + "&ISO"
)

func size(n int64) *int64 { return &n }

// fullEntry is a DocumentEntry of a Norwegian epikrise with every field
// filled.
func fullEntry() *registry.DocumentEntry {
	return &registry.DocumentEntry{
		ID:                 "urn:uuid:6f2c4b1e-4a0e-4d7e-9c0a-1b2c3d4e5f60",
		LogicalID:          "urn:uuid:6f2c4b1e-4a0e-4d7e-9c0a-1b2c3d4e5f60",
		Version:            "1",
		Status:             registry.StatusApproved,
		ObjectType:         registry.ObjectTypeStable,
		HomeCommunityID:    "urn:oid:2.16.578.1.12.4.1.7.1.1",
		UniqueID:           "2.16.578.1.12.4.1.7.2.1.4711",
		PatientID:          patientKari,
		MimeType:           "application/pdf",
		Title:              "Epikrise etter innleggelse, kardiologisk avdeling",
		Comments:           "Utskrevet til hjemmet. Kontroll om 6 uker.",
		LanguageCode:       "nb-NO",
		CreationTime:       "20240315143000",
		ServiceStartTime:   "20240310",
		ServiceStopTime:    "202403151200",
		Hash:               "0a4d55a8d778e5022fab701977c5d840bbc486d0",
		Size:               size(34132),
		RepositoryUniqueID: "2.16.578.1.12.4.1.7.3.1",
		SourcePatientID:    "4711^^^&2.16.578.1.12.4.5.100.1&ISO",
		SourcePatientInfo: []string{
			"PID-3|4711^^^&2.16.578.1.12.4.5.100.1&ISO~" + fnrKari + "^^^&" + oid.FNR + "&ISO",
			"PID-5|Nordmann^Kari^Synnøve",
			"PID-7|19850113",
			"PID-8|F",
			"PID-11|Storgata 1^Leilighet 3^Oslo^^0155^NOR",
		},
		LegalAuthenticator: hprLege + "^Lege^Lise^^^Dr.^^^&" + oid.HPR + "&ISO",
		URI:                "",
		ReferenceIDs: []string{
			"E-2024-77^^^&2.16.578.1.12.4.1.4.102&ISO^urn:ihe:iti:xds:2015:encounterId",
			"REF-99\\T\\1^^^&2.16.578.1.12.4.5.100.2&ISO^urn:ihe:iti:xds:2013:order",
		},
		Authors: []registry.Author{
			{
				Person:       hprLege + "^Lege^Lise^^^Dr.^^^&" + oid.HPR + "&ISO",
				Institutions: []string{"Oslo universitetssykehus HF^^^^^&" + oid.OrgNr + "&ISO^^^^" + orgnrOUS, "Kardiologisk avdeling^^^^^&" + oid.RESH + "&ISO^^^^4208723"},
				Roles:        []string{"LE^^^&2.16.578.1.12.4.1.1.9060&ISO"},
				Specialties:  []string{"Kardiologi"},
				Telecoms:     []string{"^WPN^PH^^^^^^^^^+4722000000", "^NET^Internet^lise.lege@example.no"},
			},
			{
				Institutions: []string{"Legevakten i Oslo^^^^^&" + oid.OrgNr + "&ISO^^^^974589095"},
			},
		},
		Class:           registry.Code{Code: "A00-1", Scheme: oid.Volven9602, Display: "Epikriser og sammenfatninger"},
		Type:            registry.Code{Code: "A03-2", Scheme: oid.Volven9602, Display: "Epikrise"},
		Format:          registry.Code{Code: "urn:no:ehelse:document:pdf", Scheme: "2.16.578.1.12.4.1.1.9604"},
		FacilityType:    registry.Code{Code: "86.101", Scheme: "2.16.578.1.12.4.1.1.1303", Display: "Alminnelige somatiske sykehus"},
		PracticeSetting: registry.Code{Code: "1", Scheme: "2.16.578.1.12.4.1.1.8655"},
		Confidentiality: []registry.Code{{Code: "N", Scheme: oid.Volven9603, Display: "Normal"}, {Code: "N", Scheme: oid.HL7Confidentiality}},
		Events:          []registry.Code{{Code: "I21", Scheme: "2.16.578.1.12.4.1.1.7110", Display: "Akutt hjerteinfarkt"}},
	}
}

// displays is a value set lookup as RenderOptions.Display gets it.
func displays(attr, scheme, code string) string {
	switch scheme + "|" + code {
	case "2.16.578.1.12.4.1.1.9604|urn:no:ehelse:document:pdf":
		return "PDF"
	case "2.16.578.1.12.4.1.1.8655|1":
		return "Allmennmedisin"
	case oid.HL7Confidentiality + "|N":
		return "normal"
	case "2.16.578.1.12.4.1.1.9060|LE":
		return "Lege"
	}
	return ""
}

var renderOpts = RenderOptions{BaseURL: "https://pjd.test.nhn.no", Display: displays}

// golden compares got (marshalled as indented JSON) with
// testdata/mhd/golden/<name>, rewriting it with -update.
func golden(t *testing.T, name string, got any) {
	t.Helper()
	var buf bytes.Buffer
	if err := fhir.Encode(&buf, got, true); err != nil {
		t.Fatal(err)
	}
	b := buf.Bytes()
	path := filepath.Join(testdataDir, "golden", name)
	if *update {
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, b, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test -update to create it)", err)
	}
	if !bytes.Equal(b, want) {
		t.Errorf("%s differs from the golden file (run go test -update after checking the change):\n%s", name, b)
	}
}
