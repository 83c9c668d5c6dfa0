package audittest

import (
	"fmt"
	"time"

	"pjd/gateway/audit"
	"pjd/registry"
)

// SyntheticFNR returns a synthetic Norwegian national identity number in
// the Test-Norge series (month + 80) with valid check digits, for birth
// date day.month.(1900+yy) and the first individual number ≥ ind that
// yields valid check digits.
func SyntheticFNR(day, month, yy, ind int) string {
	for ; ind < 1000; ind++ {
		if id, ok := registry.SyntheticNorwegianID(day, month, yy, ind); ok {
			return id
		}
	}
	panic("audittest: no valid synthetic F-nr")
}

// Synthetic people and organisations used across the audit tests.
var (
	PatientA     = SyntheticFNR(5, 7, 66, 3)   // the patient most records are about
	PatientB     = SyntheticFNR(12, 3, 81, 40) // another patient
	DoctorPID    = SyntheticFNR(20, 8, 66, 1)
	NursePID     = SyntheticFNR(3, 11, 70, 20)
	OfficerPID   = SyntheticFNR(14, 2, 75, 100)
	DoctorHPR    = "9144897"
	NurseHPR     = "9144900"
	FastlegeOrg  = audit.Ident{ID: "100100673", System: "urn:oid:2.16.578.1.12.4.1.4.101", Name: "Fagersta Testlegekontor"}
	HospitalOrg  = audit.Ident{ID: "993467049", System: "urn:oid:2.16.578.1.12.4.1.4.101", Name: "Testsykehuset HF"}
	HospitalPoC  = audit.Ident{ID: "874716782", System: "urn:oid:2.16.578.1.12.4.1.4.101", Name: "Testsykehuset HF Rikshospitalet somatikk"}
	HospitalDept = audit.Ident{ID: "705592", System: "urn:oid:2.16.578.1.12.4.1.4.102", Name: "Anestesiologi seksjon"}
)

// BaseTime is the fixed time fixtures start from.
var BaseTime = time.Date(2024, 3, 19, 6, 45, 0, 0, time.UTC)

// FullRecord returns a record with every field filled: an ITI-67 search by
// a hospital doctor, permitted with a BTG flag, with returned, refused and
// hidden documents.
func FullRecord() audit.Record {
	return audit.Record{
		ID:          "7f6c2f0e-4c1e-4d59-9c43-3f1a2b9d0a01",
		Time:        BaseTime.Add(123 * time.Millisecond),
		Transaction: audit.TxITI67,
		Action:      audit.ActionQuery,
		Outcome:     audit.OutcomePermit,
		Rule:        "btg-permitted",
		Reason:      "break-the-glass access permitted; flagged for review",
		Flags:       audit.Flags{BTG: true, Review: true},
		Credential:  "helseid-dpop",
		Actor: audit.Actor{
			Kind:          audit.ActorHealthWorker,
			PID:           DoctorPID,
			Name:          "August September",
			HPR:           DoctorHPR,
			Authorization: audit.Code{System: "urn:oid:2.16.578.1.12.4.1.1.9060", Code: "LE", Display: "Lege"},
			LegalEntity:   HospitalOrg,
			PointOfCare:   HospitalPoC,
			Department:    HospitalDept,
			SecurityLevel: "4",
		},
		Attestation: audit.Attestation{
			PurposeOfUse:        audit.Code{System: "urn:oid:2.16.840.1.113883.1.11.20448", Code: "BTG", Display: "Break the glass"},
			PurposeOfUseDetails: audit.Code{System: "https://terminology.dips.com/decisiontemplate", Code: "POLBESOK", Display: "Poliklinisk besøk"},
			HealthcareService:   audit.Code{System: "urn:oid:2.16.578.1.12.4.1.1.8655", Code: "S03", Display: "Indremedisin"},
			DecisionRef:         audit.DecisionRef{ID: "0e6b0d52-53a4-4b38-9b4a-1c2d3e4f5a6b", UserSelected: true, Description: "Innlagt pasient"},
			TOA:                 BaseTime.Add(-5 * time.Minute).Unix(),
			PatientPointOfCare:  audit.Ident{ID: "974589095", System: "urn:oid:2.16.578.1.12.4.1.4.101", Name: "Testsykehuset HF Ullevål somatikk"},
			PatientDepartment:   audit.Ident{ID: "109765", System: "urn:oid:2.16.578.1.12.4.1.4.102", Name: "Øye dagkir/pol 1. etasje"},
		},
		Client:    audit.Client{ID: "8f6f2d55-7c59-4f1b-9d55-0b1f0c1f2e3d", Name: "Test-EPJ", OrgNr: "993467049"},
		PatientID: PatientA,
		Documents: []audit.Document{
			{UniqueID: "2.16.578.1.12.4.1.7.1.1.1001", Class: audit.Code{System: "urn:oid:2.16.578.1.12.4.1.1.9602", Code: "A00-1", Display: "Epikriser og sammenfatninger"},
				Type: audit.Code{System: "urn:oid:2.16.578.1.12.4.1.1.9602", Code: "A03-2", Display: "Epikrise"}, SourceOrg: HospitalOrg, Disposition: audit.DocReturned,
				Home: "urn:oid:2.16.578.1.12.4.5.100.1"},
			{UniqueID: "2.16.578.1.12.4.1.7.1.1.1002", Class: audit.Code{System: "urn:oid:2.16.578.1.12.4.1.1.9602", Code: "C00-1", Display: "Prøvesvar, vev og væsker"},
				SourceOrg: FastlegeOrg, Disposition: audit.DocRefused},
			{UniqueID: "2.16.578.1.12.4.1.7.1.1.1003", Disposition: audit.DocHidden},
		},
		HiddenNORS: 1,
		Communities: []audit.Community{{ID: "urn:oid:2.16.578.1.12.4.5.100.1", Name: "Helse Vest", Outcome: "timeout",
			Reason: "Helse Vest did not answer within 3s", Documents: 2}},
		Query:     "patient.identifier=urn:oid:2.16.578.1.12.4.1.4.1|" + PatientA + "&status=current",
		RequestID: "req-0001",
		EventID:   "b1f5e0c2-9d5e-4a7c-8f3e-2a1b0c9d8e7f",
		Gateway:   "community urn:oid:2.16.578.1.12.4.1.7.1.1; client ea1b0c25-154d-483c-abeb-cdf2e09d0a45",
		SourceIP:  "192.0.2.10",
		UserAgent: "Test-EPJ/1.0",
	}
}

// SimpleRecord returns a small valid record: health worker doctor reading
// a document of patient, at BaseTime + i seconds. ID is left empty so
// Normalize assigns one.
func SimpleRecord(i int, patient string) audit.Record {
	return audit.Record{
		Time:        BaseTime.Add(time.Duration(i) * time.Second),
		Transaction: audit.TxITI68,
		Action:      audit.ActionRead,
		Outcome:     audit.OutcomePermit,
		Rule:        "permit-treat",
		Actor:       audit.Actor{Kind: audit.ActorHealthWorker, PID: DoctorPID, HPR: DoctorHPR, Name: "August September"},
		Attestation: audit.Attestation{PurposeOfUse: audit.Code{Code: "TREAT"}},
		PatientID:   patient,
		Documents:   []audit.Document{{UniqueID: fmt.Sprintf("2.16.578.1.12.4.1.7.1.1.%d", 5000+i), Disposition: audit.DocReturned}},
		RequestID:   fmt.Sprintf("req-%04d", i),
	}
}
