package access_test

import (
	"context"
	"errors"
	"testing"

	"pjd/gateway/access"
	"pjd/gateway/audit"
	"pjd/registry"
	"pjd/registry/oid"
	"pjd/trust"
	"pjd/trust/policy"
)

// A System principal is served without a person's policy only when its
// credential can make one (mTLS, the --dev loopback). Everything else
// that says System — a token or an assertion, whatever the verifier
// made of it — is refused on every data path, audited with the rule; and
// a client-credentials token goes through policy, which lets it read
// nothing.
func TestSystemOnlyFromItsCredential(t *testing.T) {
	e := newEnv(t, envOpts{})
	e.seed()
	ctx := context.Background()
	forged := func(cred trust.Credential) *trust.Principal {
		p := source()
		p.Credential = cred
		return p
	}
	clientCreds := source()
	clientCreds.Kind, clientCreds.Credential = trust.ClientCredentials, trust.CredentialHelseIDDPoP
	principals := []struct {
		name string
		p    *trust.Principal
		rule string
	}{
		{"System from a HelseID token", forged(trust.CredentialHelseIDDPoP), access.RuleSystemCredentialOrigin},
		{"System from a SAML assertion", forged(trust.CredentialXUASAML), access.RuleSystemCredentialOrigin},
		{"System without a credential", forged(""), access.RuleSystemCredentialOrigin},
		{"client-credentials token", clientCreds, policy.RulePatientDataNotPermitted},
	}
	paths := []struct {
		name string
		tx   string
		run  func(c access.Call) error
	}{
		{"find documents", audit.TxITI67, func(c access.Call) error {
			_, err := e.guard.FindDocuments(ctx, c, access.FindRequest{PatientID: patientP, PatientOID: oid.FNR})
			return err
		}},
		{"find lists", audit.TxITI66, func(c access.Call) error {
			_, err := e.guard.FindLists(ctx, c, access.ListsRequest{PatientID: patientP, PatientOID: oid.FNR,
				SubmissionSets: &registry.SubmissionSetFilter{}})
			return err
		}},
		{"open document", audit.TxITI68, func(c access.Call) error {
			_, err := e.guard.OpenDocument(ctx, c, registry.SampleRepositoryUniqueID, uidNORS, "")
			return err
		}},
		{"stored query", audit.TxITI18, func(c access.Call) error {
			_, err := e.guard.Query(ctx, c, getAll(patientP, registry.ReturnLeafClass))
			return err
		}},
		{"retrieve", audit.TxITI43, func(c access.Call) error {
			res, err := e.guard.Retrieve(ctx, c, []repositoryRequest{{RepositoryUniqueID: registry.SampleRepositoryUniqueID, DocumentUniqueID: uidNORS}})
			if err == nil && len(res.Documents) > 0 {
				return errors.New("documents delivered")
			}
			return err
		}},
	}
	for _, pr := range principals {
		for _, path := range paths {
			t.Run(pr.name+"/"+path.name, func(t *testing.T) {
				var err error
				rec := e.oneRecord(t, func() { err = path.run(call(pr.p, path.tx)) })
				var d *access.Denied
				if !errors.As(err, &d) || d.Rule != pr.rule {
					t.Fatalf("err %v, want a denial by %s", err, pr.rule)
				}
				if rec.Outcome != audit.OutcomeDeny || rec.Rule != pr.rule || rec.Actor.Kind != audit.ActorSystem {
					t.Fatalf("record %+v, want a denial by %s", rec, pr.rule)
				}
			})
		}
	}
	t.Run("registration by a forged System", func(t *testing.T) {
		sub := registry.SampleSubmission(registry.SampleOptions{Patient: cx(patientP), Seq: 1099})
		err := e.guard.CheckSource(ctx, forged(trust.CredentialHelseIDDPoP), sub)
		var d *access.Denied
		if !errors.As(err, &d) || d.Rule != access.RuleSystemCredentialOrigin {
			t.Fatalf("err %v", err)
		}
	})
	t.Run("registration by a client-credentials token for its own organisation", func(t *testing.T) {
		sub := registry.SampleSubmission(registry.SampleOptions{Patient: cx(patientP), Seq: 1099})
		if err := e.guard.CheckSource(ctx, clientCreds, sub); err != nil {
			t.Fatal(err)
		}
	})
	t.Run("the real thing still passes", func(t *testing.T) {
		if _, err := e.guard.FindDocuments(ctx, call(source(), audit.TxITI67), access.FindRequest{PatientID: patientP, PatientOID: oid.FNR}); err != nil {
			t.Fatal(err)
		}
	})
}
