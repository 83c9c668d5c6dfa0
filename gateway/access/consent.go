package access

import (
	"context"
	"errors"
	"fmt"
	"slices"

	"github.com/google/uuid"

	"pjd/gateway/audit"
	"pjd/trust"
	"pjd/trust/policy"
)

// A patient's own blocks, made and revoked by the citizen as FHIR Consent
// (issue 13; research digest §10). They are stored with the blocks every
// path already applies (Config.Blocks), so a block takes effect on the
// next request on XDS, MHD and the UI alike, and pjd blocks shows them.
//
// Only a citizen, for their own number, may list, make or revoke them;
// any other number answers as a patient without blocks (ErrNotFound for
// one block, Denied with Conceal for a list). Every list, creation and
// revocation is audited (transaction CONSENT).

// BlockAdmin is a blocks store that can also add and lift blocks
// (gateway/blocks.Store).
type BlockAdmin interface {
	policy.BlockStore
	Add(ctx context.Context, b policy.Block) (policy.Block, error)
	Lift(ctx context.Context, id string) error
}

// Rules of the consent decisions.
const (
	// RuleCitizenOwnConsent permits a citizen's consents on their own
	// number.
	RuleCitizenOwnConsent = "citizen-own-consent"
	// RuleConsentCitizenOnly refuses anyone but a citizen.
	RuleConsentCitizenOnly = "consent-citizen-only"
)

// ErrBlocksNotServed: this process has no writable blocks store.
var ErrBlocksNotServed = errors.New("access: patients' blocks are not served here")

func (g *Guard) blockAdmin() (BlockAdmin, error) {
	if a, ok := g.blocks.(BlockAdmin); ok {
		return a, nil
	}
	return nil, ErrBlocksNotServed
}

// consentDecision permits a citizen acting on their own number.
func consentDecision(p *trust.Principal, patient string) policy.Decision {
	switch {
	case p == nil:
		return deniedDecision(policy.RuleNoPrincipal, "the request carries no verified principal.")
	case p.Kind != trust.Citizen || !p.HasScope(trust.ScopeCitizen) && p.MatchedScope != trust.ScopeCitizen:
		return deniedDecision(RuleConsentCitizenOnly, "consents are made by the patient (a citizen token).")
	case p.Subject == "" || p.Subject != patient:
		return deniedDecision(policy.RuleCitizenOtherPatient, "a citizen may only see and make their own consents.")
	}
	return policy.Decision{Effect: policy.Permit, Rule: RuleCitizenOwnConsent, Reason: "Permitted: the citizen's own consents."}
}

// Consents returns the blocks of patient (active and ended), for the
// citizen whose number it is.
func (g *Guard) Consents(ctx context.Context, c Call, patient string) ([]policy.Block, error) {
	admin, err := g.blockAdmin()
	if err != nil {
		return nil, err
	}
	dec := consentDecision(c.Principal, patient)
	if !dec.Permitted() {
		err := g.deny(ctx, c, audit.ActionQuery, patient, dec, nil)
		var d *Denied
		if errors.As(err, &d) && dec.Rule == policy.RuleCitizenOtherPatient {
			d.Conceal = true
		}
		return nil, err
	}
	bs, err := admin.Blocks(ctx, patient)
	if err != nil {
		return nil, err
	}
	r := g.record(c, audit.ActionQuery)
	r.Outcome, r.Rule, r.Reason, r.PatientID = audit.OutcomePermit, dec.Rule, dec.Reason, patient
	if err := g.commit(ctx, r); err != nil {
		return nil, err
	}
	return bs, nil
}

// DocumentForConsent returns the uniqueId of the logical document lid if
// it is patient's (any version), else ErrNotFound: a consent names a
// DocumentReference by its id (the logicalID).
func (g *Guard) DocumentForConsent(ctx context.Context, patient, lid string) (string, error) {
	if g.reg == nil {
		return "", ErrNotFound
	}
	vs, err := g.reg.Versions(ctx, lid)
	if err != nil {
		return "", fmt.Errorf("access: reading the document of a consent: %w", err)
	}
	if len(vs) == 0 {
		return "", ErrNotFound
	}
	ident, err := g.identity(ctx, patient)
	if err != nil {
		return "", err
	}
	nums := append(numbers(ident), patient)
	if !slices.Contains(nums, patientNumber(vs[0].PatientID)) {
		return "", ErrNotFound
	}
	return vs[0].UniqueID, nil
}

// AddConsent stores b, a block of everyone (limited to documents or a
// source organisation, or not at all), for the citizen whose number
// b.PatientID is; audited (create) before it is stored.
func (g *Guard) AddConsent(ctx context.Context, c Call, b policy.Block) (policy.Block, error) {
	admin, err := g.blockAdmin()
	if err != nil {
		return b, err
	}
	dec := consentDecision(c.Principal, b.PatientID)
	if !dec.Permitted() {
		return b, g.deny(ctx, c, audit.ActionCreate, b.PatientID, dec, nil)
	}
	b.Everyone = true
	b.ValidFrom = g.now()
	if b.ID == "" {
		b.ID = uuid.NewString()
	}
	r := g.record(c, audit.ActionCreate)
	r.Outcome, r.Rule, r.PatientID = audit.OutcomePermit, dec.Rule, b.PatientID
	r.Reason = dec.Reason + " Block made: " + describeBlock(b)
	if err := g.commit(ctx, r); err != nil {
		return b, err
	}
	return admin.Add(ctx, b)
}

// RevokeConsent ends the block id of patient, for the citizen whose
// number it is; ErrNotFound when patient has no such block in force.
func (g *Guard) RevokeConsent(ctx context.Context, c Call, patient, id string) error {
	admin, err := g.blockAdmin()
	if err != nil {
		return err
	}
	dec := consentDecision(c.Principal, patient)
	if !dec.Permitted() {
		return g.deny(ctx, c, audit.ActionUpdate, patient, dec, nil)
	}
	bs, err := admin.Blocks(ctx, patient)
	if err != nil {
		return err
	}
	i := slices.IndexFunc(bs, func(b policy.Block) bool { return b.ID == id })
	if i < 0 || (!bs[i].ValidTo.IsZero() && !g.now().Before(bs[i].ValidTo)) {
		return ErrNotFound
	}
	r := g.record(c, audit.ActionUpdate)
	r.Outcome, r.Rule, r.PatientID = audit.OutcomePermit, dec.Rule, patient
	r.Reason = dec.Reason + " Block revoked: " + describeBlock(bs[i])
	if err := g.commit(ctx, r); err != nil {
		return err
	}
	return admin.Lift(ctx, id)
}

// describeBlock says what a block covers, for its audit record.
func describeBlock(b policy.Block) string {
	what := "all documents"
	switch {
	case len(b.DocumentUniqueIDs) > 0:
		what = fmt.Sprintf("document %v", b.DocumentUniqueIDs)
	case b.SourceOrgNr != "":
		what = "documents from organisation " + b.SourceOrgNr
	}
	who := "every health worker"
	switch {
	case b.HPRNumber != "":
		who = "HPR " + b.HPRNumber
	case b.OrgNr != "":
		who = "organisation " + b.OrgNr
	case b.PractitionerID != "":
		who = "a named practitioner"
	}
	return fmt.Sprintf("%s, from %s (block %s)", what, who, b.ID)
}
