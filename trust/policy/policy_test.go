package policy_test

import (
	"slices"
	"strings"
	"testing"
	"time"

	"pjd/trust"
	"pjd/trust/policy"
)

var now = time.Date(2026, 1, 15, 12, 0, 0, 0, time.UTC)

const (
	patient = "14865940093"
	other   = "02819540023"
	pid     = "12887040093"
	citizen = "05878240180"
)

func healthWorker() *trust.Principal {
	return &trust.Principal{
		Credential:     trust.CredentialHelseIDDPoP,
		Kind:           trust.HealthWorker,
		Subject:        pid,
		HPRNumber:      "565500013",
		Authorization:  trust.Coding{Code: "LE", System: "urn:oid:2.16.578.1.12.4.1.1.9060", Text: "Lege"},
		SecurityLevel:  4,
		LegalEntity:    trust.Identifier{ID: "100100673", System: "urn:oid:2.16.578.1.12.4.1.4.101"},
		PointOfCare:    trust.Identifier{ID: "100100673", System: "urn:oid:2.16.578.1.12.4.1.4.101"},
		PurposeOfUse:   trust.Coding{Code: "TREAT", System: "urn:oid:2.16.840.1.113883.1.11.20448"},
		DecisionRef:    trust.DecisionRef{ID: "aa2c8878-8978-45c1-a114-5b5215cbf91a"},
		AttestedAt:     now.Add(-10 * time.Minute),
		HasAttestation: true,
		Patients:       []trust.AttestedPatient{{Identifier: trust.Identifier{ID: patient, System: "urn:oid:2.16.578.1.12.4.1.4.1"}}},
		MatchedScope:   trust.ScopeReadDocumentReferences,
	}
}

func citizenPrincipal() *trust.Principal {
	return &trust.Principal{Kind: trust.Citizen, Subject: citizen, SecurityLevel: 4, MatchedScope: trust.ScopeCitizen}
}

func system() *trust.Principal {
	return &trust.Principal{Kind: trust.System, Client: trust.Client{ID: "epj", OrgNrParent: "993467049", OrgNrChild: "874716782"}}
}

// clientCredentials is a HelseID token without a person.
func clientCredentials() *trust.Principal {
	p := system()
	p.Kind, p.Credential = trust.ClientCredentials, trust.CredentialHelseIDDPoP
	return p
}

func doc(id, class string, age time.Duration, conf ...string) policy.Document {
	d := policy.Document{
		UniqueID:           id,
		ClassCode:          policy.Code{Code: class, System: "2.16.578.1.12.4.1.1.9602"},
		CreationTime:       now.Add(-age),
		PatientID:          patient,
		AuthorInstitutions: []string{"993467049"},
	}
	for _, c := range conf {
		d.Confidentiality = append(d.Confidentiality, policy.Code{Code: c, System: "2.16.578.1.12.4.1.1.9603"})
	}
	return d
}

const day = 24 * time.Hour

// docs is a patient's record: one of each interesting kind.
func docs() []policy.Document {
	return []policy.Document{
		doc("epikrise-old", "A00-1", 20*365*day, "N"),
		doc("lab-recent", "C00-1", 100*day),
		doc("lab-old", "C00-1", 400*day),
		doc("xray-4y", "E00-1", 4*365*day),
		doc("xray-6y", "E00-1", 6*365*day),
		doc("journal", "B00-1", 10*day),
		doc("nors", "A00-1", 10*day, "NORS"),
		doc("norn", "A00-1", 10*day, "NORN_FORSIKRING"),
	}
}

type row struct {
	name    string
	cfg     policy.Config
	req     func() policy.Request
	effect  policy.Effect
	rule    string
	visible []string
	nors    int
	blocked int
	window  int
	citizen int
	flags   []policy.Flag
}

func find(p *trust.Principal, mut ...func(*policy.Request)) func() policy.Request {
	return func() policy.Request {
		r := policy.Request{Principal: p, Action: policy.ActionFind, Scope: p.MatchedScope, PatientIDs: []string{patient}, Documents: docs(), Now: now}
		if p.Kind == trust.Citizen {
			r.PatientIDs = []string{citizen}
			for i := range r.Documents {
				r.Documents[i].PatientID = citizen
			}
		}
		for _, m := range mut {
			m(&r)
		}
		return r
	}
}

func read(p *trust.Principal, id string, mut ...func(*policy.Request)) func() policy.Request {
	return func() policy.Request {
		r := find(p, mut...)()
		r.Action = policy.ActionRead
		var keep []policy.Document
		for _, d := range r.Documents {
			if d.UniqueID == id {
				keep = append(keep, d)
			}
		}
		r.Documents = keep
		return r
	}
}

func hw(mut func(p *trust.Principal)) *trust.Principal {
	p := healthWorker()
	mut(p)
	return p
}

var allButNORSAndNORN = []string{"epikrise-old", "lab-recent", "lab-old", "xray-4y", "xray-6y", "journal"}

func rows() []row {
	kj := func(r *policy.Request) { r.Scope = trust.ScopeReadDocumentReferencesKJ }
	block := func(b policy.Block) func(*policy.Request) {
		return func(r *policy.Request) { b.PatientID = patient; r.Blocks = append(r.Blocks, b) }
	}
	return []row{
		{name: "no principal", req: func() policy.Request { return policy.Request{Action: policy.ActionFind, Now: now} },
			effect: policy.Deny, rule: policy.RuleNoPrincipal},
		{name: "unknown action", req: find(healthWorker(), func(r *policy.Request) { r.Action = "delete" }),
			effect: policy.Deny, rule: policy.RuleUnknownAction},
		{name: "unknown principal kind", req: find(hw(func(p *trust.Principal) { p.Kind = "robot" })),
			effect: policy.Deny, rule: policy.RuleUnknownPrincipalKind},
		{name: "security level 3", req: find(hw(func(p *trust.Principal) { p.SecurityLevel = 3 })),
			effect: policy.Deny, rule: policy.RuleSecurityLevel},
		{name: "no attestation", req: find(hw(func(p *trust.Principal) { p.HasAttestation = false })),
			effect: policy.Deny, rule: policy.RuleAttestationMissing},
		{name: "attestation 61 minutes old", req: find(hw(func(p *trust.Principal) { p.AttestedAt = now.Add(-61 * time.Minute) })),
			effect: policy.Deny, rule: policy.RuleAttestationExpired},
		{name: "sykepleier (SP) denied by default", req: find(hw(func(p *trust.Principal) { p.Authorization.Code = "SP" })),
			effect: policy.Deny, rule: policy.RuleAuthorizationNotAllowed},
		{name: "no authorization", req: find(hw(func(p *trust.Principal) { p.Authorization = trust.Coding{} })),
			effect: policy.Deny, rule: policy.RuleAuthorizationNotAllowed},
		{name: "authorization from another system", req: find(hw(func(p *trust.Principal) { p.Authorization.System = "urn:oid:1.2.3" })),
			effect: policy.Deny, rule: policy.RuleAuthorizationNotAllowed},
		{name: "sykepleier allowed by configuration", cfg: policy.Config{AllowedAuthorizations: []string{"LE", "PS", "SP"}},
			req:    find(hw(func(p *trust.Principal) { p.Authorization.Code = "SP" })),
			effect: policy.Permit, rule: policy.RuleHealthWorkerCare, visible: append(slices.Clone(allButNORSAndNORN), "norn"), nors: 1},
		{name: "unknown purpose of use", req: find(hw(func(p *trust.Principal) { p.PurposeOfUse.Code = "HMARKT" })),
			effect: policy.Deny, rule: policy.RulePurposeNotAllowed},
		{name: "purpose of use from ISO 14265", req: find(hw(func(p *trust.Principal) { p.PurposeOfUse = trust.Coding{Code: "1", System: "1.0.14265.1"} })),
			effect: policy.Deny, rule: policy.RulePurposeNotAllowed},
		{name: "no patient", req: find(healthWorker(), func(r *policy.Request) { r.PatientIDs = nil }),
			effect: policy.Deny, rule: policy.RuleOnePatientPerRequest},
		{name: "two patients", req: find(healthWorker(), func(r *policy.Request) { r.PatientIDs = []string{patient, other} }),
			effect: policy.Deny, rule: policy.RuleOnePatientPerRequest},
		{name: "attestation made for another patient", req: find(healthWorker(), func(r *policy.Request) {
			r.PatientIDs = []string{other}
			for i := range r.Documents {
				r.Documents[i].PatientID = other
			}
		}), effect: policy.Deny, rule: policy.RuleAttestationPatientBinding},
		{name: "attestation without patient identifiers, binding required", cfg: policy.Config{RequireAttestedPatient: true},
			req:    find(hw(func(p *trust.Principal) { p.Patients = nil })),
			effect: policy.Deny, rule: policy.RuleAttestationPatientBinding},
		{name: "attestation without patient identifiers, default", req: find(hw(func(p *trust.Principal) { p.Patients = nil })),
			effect: policy.Permit, rule: policy.RuleHealthWorkerCare, visible: append(slices.Clone(allButNORSAndNORN), "norn"), nors: 1},
		{name: "a document of another patient", req: find(healthWorker(), func(r *policy.Request) { r.Documents[2].PatientID = other }),
			effect: policy.Deny, rule: policy.RuleDocumentPatientMismatch},
		{name: "fastlege, TREAT: all but NORS (NORN is for citizens)", req: find(healthWorker()),
			effect: policy.Permit, rule: policy.RuleHealthWorkerCare, visible: append(slices.Clone(allButNORSAndNORN), "norn"), nors: 1},
		{name: "psykolog, COC", req: find(hw(func(p *trust.Principal) {
			p.Authorization.Code = "PS"
			p.PurposeOfUse.Code = "COC"
		})), effect: policy.Permit, rule: policy.RuleHealthWorkerCare, visible: append(slices.Clone(allButNORSAndNORN), "norn"), nors: 1},
		{name: "ETREAT flagged for review", req: find(hw(func(p *trust.Principal) { p.PurposeOfUse.Code = "ETREAT" })),
			effect: policy.Permit, rule: policy.RuleHealthWorkerEmergency, visible: append(slices.Clone(allButNORSAndNORN), "norn"), nors: 1, flags: []policy.Flag{policy.FlagETREAT}},
		{name: "BTG flagged for review", req: find(hw(func(p *trust.Principal) { p.PurposeOfUse.Code = "BTG" })),
			effect: policy.Permit, rule: policy.RuleHealthWorkerEmergency, visible: append(slices.Clone(allButNORSAndNORN), "norn"), nors: 1, flags: []policy.Flag{policy.FlagBTG}},
		{name: "kjernejournal windows", req: find(healthWorker(), kj),
			effect: policy.Permit, rule: policy.RuleHealthWorkerCare, visible: []string{"epikrise-old", "lab-recent", "xray-4y", "norn"}, nors: 1, window: 3},
		{name: "kjernejournal window on read", req: read(healthWorker(), "lab-old", kj),
			effect: policy.Deny, rule: policy.RuleDocumentOutsideWindow, window: 1},
		{name: "kjernejournal: class outside the regulation", req: read(healthWorker(), "journal", kj),
			effect: policy.Deny, rule: policy.RuleDocumentOutsideWindow, window: 1},
		{name: "NORS on read", req: read(healthWorker(), "nors"),
			effect: policy.Deny, rule: policy.RuleDocumentNORS, nors: 1},
		{name: "read a visible document", req: read(healthWorker(), "lab-old"),
			effect: policy.Permit, rule: policy.RuleHealthWorkerCare, visible: []string{"lab-old"}},
		{name: "patient block on the health worker", req: find(healthWorker(), block(policy.Block{ID: "b1", HPRNumber: "565500013"})),
			effect: policy.Deny, rule: policy.RulePatientBlock},
		{name: "patient block on the organisation, BTG does not lift it", req: find(hw(func(p *trust.Principal) { p.PurposeOfUse.Code = "BTG" }), block(policy.Block{ID: "b2", OrgNr: "100100673"})),
			effect: policy.Deny, rule: policy.RulePatientBlock},
		{name: "block on another health worker", req: find(healthWorker(), block(policy.Block{ID: "b3", PractitionerID: "03916840089"})),
			effect: policy.Permit, rule: policy.RuleHealthWorkerCare, visible: append(slices.Clone(allButNORSAndNORN), "norn"), nors: 1},
		{name: "lifted block", req: find(healthWorker(), block(policy.Block{ID: "b4", OrgNr: "100100673", ValidTo: now.Add(-time.Hour)})),
			effect: policy.Permit, rule: policy.RuleHealthWorkerCare, visible: append(slices.Clone(allButNORSAndNORN), "norn"), nors: 1},
		{name: "future block", req: find(healthWorker(), block(policy.Block{ID: "b5", OrgNr: "100100673", ValidFrom: now.Add(time.Hour)})),
			effect: policy.Permit, rule: policy.RuleHealthWorkerCare, visible: append(slices.Clone(allButNORSAndNORN), "norn"), nors: 1},
		{name: "block naming nobody", req: find(healthWorker(), block(policy.Block{ID: "b6"})),
			effect: policy.Permit, rule: policy.RuleHealthWorkerCare, visible: append(slices.Clone(allButNORSAndNORN), "norn"), nors: 1},
		{name: "document block hides the document", req: find(healthWorker(), block(policy.Block{ID: "b7", HPRNumber: "565500013", DocumentUniqueIDs: []string{"lab-old"}})),
			effect: policy.Permit, rule: policy.RuleHealthWorkerCare, visible: []string{"epikrise-old", "lab-recent", "xray-4y", "xray-6y", "journal", "norn"}, nors: 1, blocked: 1},
		{name: "document block on read", req: read(healthWorker(), "lab-old", block(policy.Block{ID: "b8", OrgNr: "100100673", DocumentUniqueIDs: []string{"lab-old"}})),
			effect: policy.Deny, rule: policy.RuleDocumentBlocked, blocked: 1},
		{name: "citizen, own records", req: find(citizenPrincipal()),
			effect: policy.Permit, rule: policy.RuleCitizenOwnRecords, visible: []string{"epikrise-old", "lab-recent", "lab-old", "xray-4y", "xray-6y", "journal", "nors"}, citizen: 1},
		{name: "citizen, NORN document on read", req: read(citizenPrincipal(), "norn"),
			effect: policy.Deny, rule: policy.RuleDocumentHiddenFromCitizen, citizen: 1},
		{name: "citizen, another patient", req: find(citizenPrincipal(), func(r *policy.Request) {
			r.PatientIDs = []string{patient}
			for i := range r.Documents {
				r.Documents[i].PatientID = patient
			}
		}), effect: policy.Deny, rule: policy.RuleCitizenOtherPatient},
		{name: "citizen, security level 3", req: find(func() *trust.Principal { p := citizenPrincipal(); p.SecurityLevel = 3; return p }()),
			effect: policy.Deny, rule: policy.RuleSecurityLevel},
		{name: "system reading documents", req: find(system()),
			effect: policy.Deny, rule: policy.RulePatientDataNotPermitted},
		{name: "client-credentials token reading documents", req: find(clientCredentials()),
			effect: policy.Deny, rule: policy.RulePatientDataNotPermitted},
		{name: "client-credentials token reading a document", req: read(clientCredentials(), "journal"),
			effect: policy.Deny, rule: policy.RulePatientDataNotPermitted},
		{name: "client-credentials token reading the access log", req: func() policy.Request {
			return policy.Request{Principal: clientCredentials(), Action: policy.ActionAudit, PatientIDs: []string{patient}, Now: now}
		}, effect: policy.Deny, rule: policy.RuleAuditNotPermitted},
		{name: "client-credentials source registers for its own organisation", req: func() policy.Request {
			return policy.Request{Principal: clientCredentials(), Action: policy.ActionRegister, PatientIDs: []string{patient}, Documents: []policy.Document{doc("new", "A00-1", 0)}, Now: now}
		}, effect: policy.Permit, rule: policy.RuleSourceOwnOrganisation, visible: []string{"new"}},
		{name: "compliance officer reading documents", req: find(&trust.Principal{Kind: trust.Compliance, Subject: "28839040085", SecurityLevel: 4}),
			effect: policy.Deny, rule: policy.RulePatientDataNotPermitted},
		{name: "compliance officer reviewing the log", req: func() policy.Request {
			return policy.Request{Principal: &trust.Principal{Kind: trust.Compliance, Subject: "28839040085", SecurityLevel: 4}, Action: policy.ActionAudit, Now: now}
		}, effect: policy.Permit, rule: policy.RuleComplianceAuditReview},
		{name: "citizen reading own access log", req: func() policy.Request {
			return policy.Request{Principal: citizenPrincipal(), Action: policy.ActionAudit, PatientIDs: []string{citizen}, Now: now}
		}, effect: policy.Permit, rule: policy.RuleCitizenOwnAuditLog},
		{name: "citizen reading another's access log", req: func() policy.Request {
			return policy.Request{Principal: citizenPrincipal(), Action: policy.ActionAudit, PatientIDs: []string{patient}, Now: now}
		}, effect: policy.Deny, rule: policy.RuleCitizenOtherPatient},
		{name: "health worker reading the access log", req: func() policy.Request {
			return policy.Request{Principal: healthWorker(), Action: policy.ActionAudit, PatientIDs: []string{patient}, Now: now}
		}, effect: policy.Deny, rule: policy.RuleAuditNotPermitted},
		{name: "source registers for its own organisation", req: func() policy.Request {
			return policy.Request{Principal: system(), Action: policy.ActionRegister, PatientIDs: []string{patient}, Documents: []policy.Document{doc("new", "A00-1", 0)}, Now: now}
		}, effect: policy.Permit, rule: policy.RuleSourceOwnOrganisation, visible: []string{"new"}},
		{name: "source registers for another organisation", req: func() policy.Request {
			d := doc("new", "A00-1", 0)
			d.AuthorInstitutions = []string{"993467049", "974589095"}
			return policy.Request{Principal: system(), Action: policy.ActionRegister, PatientIDs: []string{patient}, Documents: []policy.Document{d}, Now: now}
		}, effect: policy.Deny, rule: policy.RuleSourceForeignOrganisation},
		{name: "document without author institution", req: func() policy.Request {
			d := doc("new", "A00-1", 0)
			d.AuthorInstitutions = nil
			return policy.Request{Principal: system(), Action: policy.ActionRegister, PatientIDs: []string{patient}, Documents: []policy.Document{d}, Now: now}
		}, effect: policy.Deny, rule: policy.RuleSourceForeignOrganisation},
		{name: "source without organisation", req: func() policy.Request {
			return policy.Request{Principal: &trust.Principal{Kind: trust.System}, Action: policy.ActionRegister, PatientIDs: []string{patient}, Documents: []policy.Document{doc("new", "A00-1", 0)}, Now: now}
		}, effect: policy.Deny, rule: policy.RuleSourceForeignOrganisation},
		{name: "empty submission", req: func() policy.Request {
			return policy.Request{Principal: system(), Action: policy.ActionRegister, PatientIDs: []string{patient}, Now: now}
		}, effect: policy.Deny, rule: policy.RuleRegisterNotPermitted},
		{name: "citizen registering", req: func() policy.Request {
			return policy.Request{Principal: citizenPrincipal(), Action: policy.ActionRegister, PatientIDs: []string{citizen}, Documents: []policy.Document{doc("new", "A00-1", 0)}, Now: now}
		}, effect: policy.Deny, rule: policy.RuleRegisterNotPermitted},
		{name: "registration for two patients", req: func() policy.Request {
			return policy.Request{Principal: system(), Action: policy.ActionRegister, PatientIDs: []string{patient, other}, Documents: []policy.Document{doc("new", "A00-1", 0)}, Now: now}
		}, effect: policy.Deny, rule: policy.RuleOnePatientPerRequest},
	}
}

func TestDecide(t *testing.T) {
	for _, r := range rows() {
		t.Run(r.name, func(t *testing.T) {
			p, err := policy.New(r.cfg)
			if err != nil {
				t.Fatal(err)
			}
			req := r.req()
			d := p.Decide(req)
			if d.Effect != r.effect || d.Rule != r.rule {
				t.Fatalf("got %s by %q (%s); want %s by %q", d.Effect, d.Rule, d.Reason, r.effect, r.rule)
			}
			if d.Reason == "" || (d.Effect == policy.Deny) != strings.HasPrefix(d.Reason, "Denied:") {
				t.Errorf("reason %q", d.Reason)
			}
			for _, id := range []string{pid, patient, citizen} {
				if strings.Contains(d.Reason, id) {
					t.Errorf("reason names a person: %q", d.Reason)
				}
			}
			var visible []string
			for _, v := range d.Visible {
				visible = append(visible, v.UniqueID)
			}
			if d.Effect == policy.Deny && len(visible) > 0 {
				t.Errorf("deny with visible documents %v", visible)
			}
			if !slices.Equal(visible, r.visible) {
				t.Errorf("visible %v, want %v", visible, r.visible)
			}
			if d.HiddenNORS != r.nors || d.HiddenBlocked != r.blocked || d.HiddenOutsideWindow != r.window || d.HiddenFromCitizen != r.citizen {
				t.Errorf("hidden nors=%d blocked=%d window=%d citizen=%d, want %d %d %d %d",
					d.HiddenNORS, d.HiddenBlocked, d.HiddenOutsideWindow, d.HiddenFromCitizen, r.nors, r.blocked, r.window, r.citizen)
			}
			if !slices.Equal(d.Flags, r.flags) {
				t.Errorf("flags %v, want %v", d.Flags, r.flags)
			}
			// Pure: the same request decides the same way.
			if d2 := p.Decide(r.req()); d2.Rule != d.Rule || d2.Effect != d.Effect || d2.Reason != d.Reason {
				t.Errorf("not deterministic: %+v vs %+v", d, d2)
			}
		})
	}
}

// Every rule id the package declares is reached by some row.
func TestEveryRuleIsCovered(t *testing.T) {
	covered := map[string]bool{}
	for _, r := range rows() {
		covered[r.rule] = true
	}
	for _, rule := range []string{
		policy.RuleNoPrincipal, policy.RuleUnknownAction, policy.RuleUnknownPrincipalKind, policy.RuleSecurityLevel,
		policy.RuleAttestationMissing, policy.RuleAttestationExpired, policy.RuleAuthorizationNotAllowed,
		policy.RulePurposeNotAllowed, policy.RuleOnePatientPerRequest, policy.RuleAttestationPatientBinding,
		policy.RuleDocumentPatientMismatch, policy.RulePatientBlock, policy.RuleDocumentBlocked, policy.RuleDocumentNORS,
		policy.RuleDocumentOutsideWindow, policy.RuleDocumentHiddenFromCitizen, policy.RuleHealthWorkerCare,
		policy.RuleHealthWorkerEmergency, policy.RuleCitizenOwnRecords, policy.RuleCitizenOtherPatient,
		policy.RuleCitizenOwnAuditLog, policy.RuleComplianceAuditReview, policy.RuleAuditNotPermitted,
		policy.RulePatientDataNotPermitted, policy.RuleRegisterNotPermitted, policy.RuleSourceOwnOrganisation,
		policy.RuleSourceForeignOrganisation,
	} {
		if !covered[rule] {
			t.Errorf("rule %q has no row", rule)
		}
	}
}

func TestNewRefusesBadConfig(t *testing.T) {
	if _, err := policy.New(policy.Config{KJWindowYears: map[string]int{"A00-1": -1}}); err == nil {
		t.Error("negative window accepted")
	}
}
