package access

import (
	"strconv"
	"strings"

	"pjd/gateway/audit"
	"pjd/registry"
	"pjd/registry/oid"
	"pjd/trust"
	"pjd/trust/policy"
)

// policyDocument is the metadata policy decides on.
func policyDocument(d *registry.DocumentEntry) policy.Document {
	pd := policy.Document{
		UniqueID:  d.UniqueID,
		ClassCode: policy.Code{Code: d.Class.Code, System: d.Class.Scheme},
		TypeCode:  policy.Code{Code: d.Type.Code, System: d.Type.Scheme},
		PatientID: patientNumber(d.PatientID),
	}
	for _, c := range d.Confidentiality {
		pd.Confidentiality = append(pd.Confidentiality, policy.Code{Code: c.Code, System: c.Scheme})
	}
	if t, err := registry.ParseDTM(d.CreationTime); err == nil {
		pd.CreationTime = t
	}
	for _, a := range d.Authors {
		for _, inst := range a.Institutions {
			if org, _ := orgOf(inst); org.ID != "" && org.System == oid.OrgNr {
				pd.AuthorInstitutions = append(pd.AuthorInstitutions, org.ID)
			}
		}
	}
	return pd
}

// orgOf returns the organisation an XON names: its identifier (XON.10)
// with the assigning authority OID, and its name.
func orgOf(xon string) (audit.Ident, bool) {
	x, err := registry.ParseXON(xon)
	if err != nil {
		return audit.Ident{}, false
	}
	id := audit.Ident{ID: x.OrganizationIdentifier, System: x.AssigningAuthority.UniversalID, Name: x.OrganizationName}
	if id.ID == "" && registry.ValidOID(x.OrganizationIdentifier) {
		id.System = ""
	}
	return id, true
}

// patientNumber returns the id part of a CX ("12345678901^^^&OID&ISO").
func patientNumber(cx string) string {
	if i := strings.IndexByte(cx, '^'); i >= 0 {
		return cx[:i]
	}
	return cx
}

func urnOID(scheme string) string {
	if scheme == "" || strings.Contains(scheme, ":") {
		return scheme
	}
	if registry.ValidOID(scheme) {
		return "urn:oid:" + scheme
	}
	return scheme
}

// auditDocument is one document of an audit record.
func auditDocument(d *registry.DocumentEntry, disp audit.Disposition) audit.Document {
	ad := audit.Document{
		UniqueID:    d.UniqueID,
		Class:       audit.Code{System: urnOID(d.Class.Scheme), Code: d.Class.Code, Display: d.Class.Display},
		Type:        audit.Code{System: urnOID(d.Type.Scheme), Code: d.Type.Code, Display: d.Type.Display},
		Disposition: disp,
	}
	if d.HomeCommunityID != "" {
		ad.Home = d.HomeCommunityID
	}
	for _, a := range d.Authors {
		for _, inst := range a.Institutions {
			if org, ok := orgOf(inst); ok {
				org.System = urnOID(org.System)
				ad.SourceOrg = org
				return ad
			}
		}
	}
	return ad
}

func auditCode(c trust.Coding) audit.Code {
	return audit.Code{System: urnOID(c.System), Code: c.Code, Display: c.Text}
}

func auditIdent(i trust.Identifier) audit.Ident {
	return audit.Ident{ID: i.ID, System: urnOID(i.System), Name: i.Name}
}

// fillPrincipal copies who asked into r.
func fillPrincipal(r *audit.Record, p *trust.Principal) {
	if p == nil {
		r.Actor.Kind = audit.ActorUnknown
		return
	}
	switch p.Kind {
	case trust.HealthWorker, trust.Compliance:
		r.Actor.Kind = audit.ActorHealthWorker
	case trust.Citizen:
		r.Actor.Kind = audit.ActorCitizen
	case trust.System, trust.ClientCredentials:
		r.Actor.Kind = audit.ActorSystem
	default:
		r.Actor.Kind = audit.ActorUnknown
	}
	r.Credential = string(p.Credential)
	r.Actor.PID = p.Subject
	r.Actor.Name = p.Name
	if r.Actor.Name == "" && (p.Kind == trust.System || p.Kind == trust.ClientCredentials) {
		r.Actor.Name = p.Client.Name
	}
	r.Actor.HPR = p.HPRNumber
	r.Actor.Authorization = auditCode(p.Authorization)
	r.Actor.LegalEntity = auditIdent(p.LegalEntity)
	r.Actor.PointOfCare = auditIdent(p.PointOfCare)
	r.Actor.Department = auditIdent(p.Department)
	if p.SecurityLevel > 0 {
		r.Actor.SecurityLevel = strconv.Itoa(p.SecurityLevel)
	}
	if p.HasAttestation {
		r.Attestation = audit.Attestation{
			PurposeOfUse:        auditCode(p.PurposeOfUse),
			PurposeOfUseDetails: auditCode(p.PurposeOfUseDetails),
			HealthcareService:   auditCode(p.HealthcareService),
			DecisionRef:         audit.DecisionRef{ID: p.DecisionRef.ID, UserSelected: p.DecisionRef.UserSelected},
		}
		if !p.AttestedAt.IsZero() {
			r.Attestation.TOA = p.AttestedAt.Unix()
		}
		for _, ap := range p.Patients {
			if !ap.PointOfCare.IsZero() || !ap.Department.IsZero() {
				r.Attestation.PatientPointOfCare = auditIdent(ap.PointOfCare)
				r.Attestation.PatientDepartment = auditIdent(ap.Department)
				break
			}
		}
	}
	org := p.Client.OrgNrChild
	if org == "" {
		org = p.Client.OrgNrParent
	}
	r.Client = audit.Client{ID: p.Client.ID, Name: p.Client.Name, OrgNr: org}
}
