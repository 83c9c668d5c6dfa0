package sqlstore

import (
	"fmt"
	"math/rand/v2"
	"strconv"

	"pjd/registry"
	"pjd/registry/oid"
)

// Synthetic Norwegian test data, shared by the store suite's fixtures
// (registry/registrytest) and the PostgreSQL benchmark loader. Only
// synthetic people: every number is a Test-Norge style fødselsnummer
// (birth month + 80) with valid check digits, which no real person has.

// SyntheticFnr returns the n-th (n ≥ 0, < 1,344,000) synthetic F-nr:
// distinct n give distinct numbers, all with valid check digits.
func SyntheticFnr(n int) string {
	if n < 0 {
		n = -n
	}
	day := 1 + n%28
	month := 1 + (n/28)%12
	yy := (n / 336) % 100
	block := n / 33600 // 25 individual numbers per block, ≤ 40 blocks
	for ind := (block % 40) * 25; ind < (block%40)*25+25; ind++ {
		if id, ok := registry.SyntheticNorwegianID(day, month, yy, ind); ok {
			return id
		}
	}
	// 25 consecutive individual numbers without valid check digits do
	// not occur for these dates; keep the function total anyway.
	return fmt.Sprintf("%02d%02d%02d%03d00", day, month+80, yy, block)
}

// SyntheticPatientID returns the CX patient id of SyntheticFnr(n).
func SyntheticPatientID(n int) string {
	return SyntheticFnr(n) + "^^^&" + oid.FNR + "&ISO"
}

// Volven 9602 class/type pairs used by synthetic documents, with rough
// real-world weights (epikriser dominate).
var syntheticKinds = []struct {
	class, classDisplay, typ, typeDisplay string
	weight                                int
}{
	{"A00-1", "Epikriser og sammenfatninger", "A03-2", "Epikrise", 40},
	{"A00-1", "Epikriser og sammenfatninger", "A13-2", "Poliklinisk epikrise", 20},
	{"E00-1", "Bildediagnostikk", "E01-2", "Bildediagnostiske svar", 15},
	{"C00-1", "Prøvesvar, vev og væsker", "C01-2", "Laboratoriesvar", 10},
	{"I00-1", "Korrespondanse", "I01-2", "Henvisninger", 10},
	{"D00-1", "Organfunksjon", "D01-2", "EKG", 5},
}

// SyntheticDocument returns the n-th synthetic DocumentEntry of a patient
// (CX), drawn from rng: a Volven 9602 class and type, Norwegian formats and
// confidentiality, an author with an HPR number and RESH institution, DTM
// times in 2015–2025. Ids are derived from n, so they are unique per n.
func SyntheticDocument(rng *rand.Rand, n int, patient string) *registry.DocumentEntry {
	total := 0
	for _, k := range syntheticKinds {
		total += k.weight
	}
	pick := rng.IntN(total)
	kind := syntheticKinds[0]
	for _, k := range syntheticKinds {
		if pick < k.weight {
			kind = k
			break
		}
		pick -= k.weight
	}
	id := fmt.Sprintf("urn:uuid:%08x-%04x-4%03x-8%03x-%012x", uint32(n), rng.IntN(1<<16), rng.IntN(1<<12), rng.IntN(1<<12), rng.Int64N(1<<48))
	year := 2015 + rng.IntN(11)
	month := 1 + rng.IntN(12)
	day := 1 + rng.IntN(28)
	hh, mm := rng.IntN(24), rng.IntN(60)
	created := fmt.Sprintf("%04d%02d%02d%02d%02d00", year, month, day, hh, mm)
	size := int64(20_000 + rng.IntN(2_000_000))
	conf := registry.Code{Code: "N", Scheme: oid.Volven9603, Display: "Normal"}
	if rng.IntN(50) == 0 {
		conf = registry.Code{Code: "NORS", Scheme: oid.Volven9603, Display: "Sperret"}
	}
	status := registry.StatusApproved
	if rng.IntN(20) == 0 {
		status = registry.StatusDeprecated
	}
	hpr := 1_000_000 + rng.IntN(8_999_999)
	resh := 100_000 + rng.IntN(900_000)
	d := &registry.DocumentEntry{
		ID:                 id,
		LogicalID:          id,
		Version:            "1",
		Status:             status,
		ObjectType:         registry.ObjectTypeStable,
		UniqueID:           fmt.Sprintf("2.16.578.1.12.4.1.7.99.%d.%d", n, rng.IntN(1_000_000)),
		PatientID:          patient,
		MimeType:           "application/pdf",
		Title:              kind.typeDisplay,
		LanguageCode:       "nb-NO",
		CreationTime:       created,
		ServiceStartTime:   created[:8],
		ServiceStopTime:    created[:8],
		Hash:               fmt.Sprintf("%040x", rng.Uint64()),
		Size:               &size,
		RepositoryUniqueID: "2.16.578.1.12.4.1.7.1.1",
		SourcePatientID:    patient,
		Authors: []registry.Author{{
			Person:       fmt.Sprintf("%d^Lege^Syntetisk^^^^^^&%s&ISO", hpr, oid.HPR),
			Institutions: []string{fmt.Sprintf("Syntetisk sykehus^^^^^&%s&ISO^^^^%d", oid.RESH, resh)},
			Roles:        []string{"LE^Lege^2.16.578.1.12.4.1.1.9060"},
		}},
		Class:           registry.Code{Code: kind.class, Scheme: oid.Volven9602, Display: kind.classDisplay},
		Type:            registry.Code{Code: kind.typ, Scheme: oid.Volven9602, Display: kind.typeDisplay},
		Format:          registry.Code{Code: "urn:no:ehelse:document:pdf", Scheme: "2.16.578.1.12.4.1.1.9610"},
		FacilityType:    registry.Code{Code: "86.101", Scheme: "2.16.578.1.12.4.1.1.1303", Display: "Alminnelige somatiske sykehus"},
		PracticeSetting: registry.Code{Code: "1", Scheme: "2.16.578.1.12.4.1.1.8655", Display: "Allmennmedisin"},
		Confidentiality: []registry.Code{conf},
	}
	if rng.IntN(4) == 0 {
		d.Events = []registry.Code{{Code: "T" + strconv.Itoa(rng.IntN(10)), Scheme: "2.16.578.1.12.4.1.1.7210"}}
	}
	return d
}
