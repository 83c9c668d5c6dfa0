package devissuer

import (
	"slices"

	"pjd/registry/oid"
	"pjd/trust"
)

// Persona is a synthetic user (or system) the dev issuer mints tokens for.
type Persona struct {
	ID          string              `json:"id"`
	Description string              `json:"description"`
	Kind        trust.PrincipalKind `json:"kind"`

	PID           string       `json:"pid,omitempty"`
	Name          string       `json:"name,omitempty"`
	HPRNumber     string       `json:"hpr_number,omitempty"`
	Authorization trust.Coding `json:"authorization,omitzero"`

	LegalEntity trust.Identifier `json:"legal_entity,omitzero"`
	PointOfCare trust.Identifier `json:"point_of_care,omitzero"`
	Department  trust.Identifier `json:"department,omitzero"`

	HealthcareService   trust.Coding `json:"healthcare_service,omitzero"`
	PurposeOfUse        trust.Coding `json:"purpose_of_use,omitzero"`
	PurposeOfUseDetails trust.Coding `json:"purpose_of_use_details,omitzero"`

	Scopes []string     `json:"scopes"`
	Client trust.Client `json:"client"`
}

func org(id, name string) trust.Identifier {
	return trust.Identifier{ID: id, System: "urn:oid:" + oid.OrgNr, Name: name}
}

func authz(code, text string) trust.Coding {
	return trust.Coding{Code: code, System: "urn:oid:" + oid.Volven9060, Text: text}
}

var (
	treat     = trust.Coding{Code: trust.PurposeTreat, System: "urn:oid:" + oid.PurposeOfUse, Text: "Behandling"}
	coc       = trust.Coding{Code: trust.PurposeCOC, System: "urn:oid:" + oid.PurposeOfUse, Text: "Koordinering av helsehjelp"}
	behandler = trust.Coding{Code: "BEHANDLER", System: trust.SystemCareRelation, Text: "Bruker har behandlingsansvar for pasienten"}
	// legetjenesteSykehjem is the nursing home's healthcare service (kodeverk 8663).
	legetjenesteSykehjem = trust.Coding{Code: "KP01", System: "urn:oid:2.16.578.1.12.4.1.1.8663", Text: "Legetjeneste ved sykehjem"}
	readScopes           = []string{trust.ScopeReadDocumentReferences, trust.ScopeReadDocumentReferencesKJ, trust.ScopeReadDocument, trust.AttestationType}

	// Synthetic organisations (valid modulus-11 organisation numbers that
	// are not registered to anyone real).
	legekontor   = org("910000012", "Testlegekontoret Fagerlia")
	kommune      = org("910000020", "Testvik kommune helse og omsorg")
	sykehjem     = org("910000039", "Testheimen sykehjem")
	helseforetak = org("910000047", "Testsykehuset HF")
	sykehusSted  = org("910000055", "Testsykehuset HF avdeling Sentrum")
	psykpraksis  = org("910000063", "Psykologpraksis Testdal")
	leverandor   = "910000071" // the EPJ supplier
)

// Personas returns the catalogue. Every person in it is synthetic: F-nr
// with month+80 (Test-Norge style) and valid check digits, invented HPR
// numbers and organisations.
func Personas() []Persona {
	client := func(name string, parent, child trust.Identifier) trust.Client {
		return trust.Client{ID: "pjd-dev-" + name, Name: "pjd dev " + name, Tenancy: "multi-tenant",
			OrgNrParent: parent.ID, OrgNrChild: child.ID, OrgNrSupplier: leverandor}
	}
	return []Persona{
		{
			ID: "fastlege", Description: "GP (fastlege) at a GP office", Kind: trust.HealthWorker,
			PID: "12887040093", Name: "Frida Fastlege", HPRNumber: "565500013", Authorization: authz("LE", "Lege"),
			LegalEntity: legekontor, PointOfCare: legekontor,
			HealthcareService:   trust.Coding{Code: "KX17", System: "urn:oid:2.16.578.1.12.4.1.1.8655", Text: "Fastlege, liste uten fast lege"},
			PurposeOfUse:        treat,
			PurposeOfUseDetails: behandler,
			Scopes:              readScopes,
			Client:              client("legekontor-epj", legekontor, legekontor),
		},
		{
			ID: "sykehjemslege", Description: "doctor at a municipal nursing home", Kind: trust.HealthWorker,
			PID: "03916840089", Name: "Sigrid Sykehjemslege", HPRNumber: "565500021", Authorization: authz("LE", "Lege"),
			LegalEntity: kommune, PointOfCare: sykehjem,
			HealthcareService:   legetjenesteSykehjem,
			PurposeOfUse:        coc,
			PurposeOfUseDetails: trust.Coding{Code: "15", System: "urn:oid:" + oid.Volven9151, Text: "Helsetjenester i hjemmet"},
			Scopes:              readScopes,
			Client:              client("kommune-epj", kommune, sykehjem),
		},
		{
			ID: "sykehuslege", Description: "hospital doctor (specialist health service)", Kind: trust.HealthWorker,
			PID: "21857540120", Name: "Sverre Sykehuslege", HPRNumber: "565500039", Authorization: authz("LE", "Lege"),
			LegalEntity: helseforetak, PointOfCare: sykehusSted,
			Department:          trust.Identifier{ID: "4210001", System: "urn:oid:" + oid.RESH, Name: "Medisinsk avdeling"},
			HealthcareService:   trust.Coding{Code: "100", System: "urn:oid:2.16.578.1.12.4.1.1.8451", Text: "Indremedisin"},
			PurposeOfUse:        treat,
			PurposeOfUseDetails: trust.Coding{Code: "POLBESOK", System: trust.SystemCareRelation, Text: "Poliklinisk besøk"},
			Scopes:              readScopes,
			Client:              client("sykehus-epj", helseforetak, sykehusSted),
		},
		{
			ID: "psykolog", Description: "psychologist in private practice", Kind: trust.HealthWorker,
			PID: "09928040183", Name: "Petra Psykolog", HPRNumber: "565500047", Authorization: authz("PS", "Psykolog"),
			LegalEntity: psykpraksis, PointOfCare: psykpraksis,
			PurposeOfUse:        treat,
			PurposeOfUseDetails: behandler,
			Scopes:              readScopes,
			Client:              client("psykolog-epj", psykpraksis, psykpraksis),
		},
		{
			ID: "sykepleier", Description: "nurse at a nursing home (denied by the default policy)", Kind: trust.HealthWorker,
			PID: "17846640096", Name: "Sondre Sykepleier", HPRNumber: "565500055", Authorization: authz("SP", "Sykepleier"),
			LegalEntity: kommune, PointOfCare: sykehjem,
			HealthcareService:   legetjenesteSykehjem,
			PurposeOfUse:        treat,
			PurposeOfUseDetails: behandler,
			Scopes:              readScopes,
			Client:              client("kommune-epj", kommune, sykehjem),
		},
		{
			ID: "compliance", Description: "compliance officer reviewing the access log", Kind: trust.Compliance,
			PID: "28839040085", Name: "Kari Kontroll",
			LegalEntity: helseforetak, PointOfCare: helseforetak,
			Scopes: []string{trust.ScopeAudit},
			Client: client("revisjon", helseforetak, helseforetak),
		},
		{
			ID: "citizen", Description: "a citizen reading their own records and access log", Kind: trust.Citizen,
			PID: "05878240180", Name: "Ina Innbygger",
			Scopes: []string{trust.ScopeCitizen},
			Client: trust.Client{ID: "pjd-dev-innbyggerportal", Name: "pjd dev innbyggerportal"},
		},
		{
			ID: "sykehus-epj", Description: "a hospital EPJ registering documents (client credentials, no user)", Kind: trust.ClientCredentials,
			LegalEntity: helseforetak, PointOfCare: sykehusSted,
			Scopes: []string{trust.ScopeRegister},
			Client: client("sykehus-epj", helseforetak, sykehusSted),
		},
		{
			ID: "identitetsfeed", Description: "a patient administrative system feeding identity changes (ITI-104; client credentials)", Kind: trust.ClientCredentials,
			LegalEntity: helseforetak, PointOfCare: sykehusSted,
			Scopes: []string{trust.ScopePatientIdentityFeed},
			Client: client("identitetsfeed", helseforetak, sykehusSted),
		},
	}
}

// PersonaByID returns the persona with id.
func PersonaByID(id string) (Persona, bool) {
	ps := Personas()
	i := slices.IndexFunc(ps, func(p Persona) bool { return p.ID == id })
	if i < 0 {
		return Persona{}, false
	}
	return ps[i], true
}

// SyntheticPatients are demo patients (synthetic F-nr, month+80 and
// month+65 styles, valid check digits).
func SyntheticPatients() []string {
	return []string{"14865940093", "02819540023", "28827740065", "29698496140"}
}
