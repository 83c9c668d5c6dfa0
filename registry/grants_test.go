package registry_test

import (
	"context"
	"net/url"
	"os"
	"regexp"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5"

	"pjd/conformance/testenv"
	"pjd/registry"
	"pjd/registry/postgres"
)

// TestLifecycleUnderServiceGrants: the document lifecycle runs on
// PostgreSQL as a role holding exactly the service-role grants of the
// README (the block cmd/pjd TestLeastPrivilegeServe runs): a new version,
// status changes, a submitted association, a removal, a patient link and
// its end. A grant missing there fails here, not in production.
func TestLifecycleUnderServiceGrants(t *testing.T) {
	ctx := context.Background()
	superURL := testenv.Postgres(t)
	owner, err := postgres.Open(ctx, superURL)
	if err != nil {
		t.Fatal(err)
	}
	defer owner.Close()
	if err := owner.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	u, err := url.Parse(superURL)
	if err != nil {
		t.Fatal(err)
	}
	db := strings.TrimPrefix(u.Path, "/")
	role := db + "_app"
	stmts := []string{"CREATE ROLE " + pgx.Identifier{role}.Sanitize() + " LOGIN"}
	for _, s := range strings.Split(serviceGrants(t, role, db), ";") {
		if strings.TrimSpace(s) != "" && !strings.Contains(s, "audit_") && !strings.Contains(s, "patient_blocks") {
			stmts = append(stmts, s) // the audit and blocks tables are other packages' schemas
		}
	}
	for _, s := range stmts {
		if _, err := owner.Pool().Exec(ctx, s); err != nil {
			t.Fatalf("%s: %v", s, err)
		}
	}
	u.User = url.User(role)
	app, err := postgres.Open(ctx, u.String())
	if err != nil {
		t.Fatal(err)
	}
	defer app.Close()

	l := newLifecycle(t, func(*testing.T) registry.Store { return app })
	l.update(l.newVersion(l.d1, nil))
	l.update(l.submit(patient1, &registry.Association{Type: registry.AssocHasMember, Source: l.f1.ID, Target: l.d2.ID}))
	fd := l.e.assocs(registry.AssociationFilter{Sources: []string{l.f1.ID}, Targets: []string{l.d2.ID}})
	l.update(l.status(patient1, fd[0].ID, registry.StatusApproved, registry.StatusDeprecated))
	l.update(l.status(patient1, l.d2.ID, registry.StatusApproved, registry.StatusDeprecated))
	l.update(l.newFolderVersion(l.latestFolder(l.f1.UniqueID), nil))
	ss, hms, docs := submissionObjects(t, l.e, 3)
	if _, err := l.e.reg.Remove(ctx, append(append([]string{ss}, hms...), docs[0].ID)); err != nil {
		t.Fatalf("Remove: %v", err)
	}
	dnr := registry.SampleDnrPatientID(4)
	if _, err := l.e.reg.LinkPatient(ctx, dnr, patient1, "adm", ""); err != nil {
		t.Fatalf("LinkPatient: %v", err)
	}
	if _, err := l.e.reg.UnlinkPatient(ctx, dnr, "adm", ""); err != nil {
		t.Fatalf("UnlinkPatient: %v", err)
	}
}

// serviceGrants returns the README's least-privilege-grants block for
// role and database db.
func serviceGrants(t *testing.T, role, db string) string {
	t.Helper()
	b, err := os.ReadFile("../README.md")
	if err != nil {
		t.Fatal(err)
	}
	_, rest, ok := strings.Cut(string(b), "<!-- least-privilege-grants")
	_, rest, ok2 := strings.Cut(rest, "```sql\n")
	sql, _, ok3 := strings.Cut(rest, "```")
	if !ok || !ok2 || !ok3 {
		t.Fatal("README.md has no least-privilege-grants sql block")
	}
	sql = regexp.MustCompile(`(?m)^--.*$`).ReplaceAllString(sql, "")
	sql = regexp.MustCompile(`\bpjd_app\b`).ReplaceAllString(sql, pgx.Identifier{role}.Sanitize())
	return strings.ReplaceAll(sql, "ON DATABASE pjd ", "ON DATABASE "+pgx.Identifier{db}.Sanitize()+" ")
}
