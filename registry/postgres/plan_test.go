package postgres

import (
	"context"
	"fmt"
	"strings"
	"testing"

	"pjd/registry"
	"pjd/registry/internal/sqlstore"
)

// TestQueryPlans checks that the queries the stored queries depend on are
// index lookups in PostgreSQL's own plan, on enough analysed data that the
// planner would rather scan if it had no usable index.
func TestQueryPlans(t *testing.T) {
	ctx := context.Background()
	st := open(t)
	defer st.Close()
	const docs, patients = 20_000, 2_000
	res, err := st.LoadSynthetic(ctx, LoadOptions{Documents: docs, Patients: patients, Seed: 7})
	t.Logf("loaded %+v", res)
	if err != nil {
		t.Fatal(err)
	}
	sample, err := st.Documents(ctx, registry.DocumentFilter{PatientID: SyntheticPatientID(42)})
	if err != nil || len(sample) == 0 {
		t.Fatalf("sample patient: %d documents, %v", len(sample), err)
	}
	d := sample[0]
	var assocs []*registry.Association
	for i := 0; i < 2_000; i++ {
		assocs = append(assocs, &registry.Association{
			ID: fmt.Sprintf("urn:uuid:00000000-0000-4000-8000-%012d", i), Type: registry.AssocHasMember,
			Source: fmt.Sprintf("urn:uuid:5e700000-0000-4000-8000-%012d", i/10), Target: fmt.Sprintf("urn:uuid:d0c00000-0000-4000-8000-%012d", i),
			Status: registry.StatusApproved,
		})
	}
	err = st.Update(ctx, func(tx registry.Tx) error {
		for _, a := range assocs {
			if err := tx.InsertAssociation(ctx, a); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := st.Pool().Exec(ctx, "ANALYZE associations"); err != nil {
		t.Fatal(err)
	}

	approved := []string{registry.StatusApproved}
	both := []string{registry.StatusApproved, registry.StatusDeprecated}
	docCases := []struct {
		name  string
		f     registry.DocumentFilter
		index string
	}{
		{"FindDocuments", registry.DocumentFilter{PatientID: d.PatientID, Statuses: approved}, "documents_patient_status"},
		{"FindDocuments, two statuses, class, time, author", registry.DocumentFilter{
			PatientID: d.PatientID, Statuses: both, Classes: registry.CodeSet{d.Class},
			CreationTime: registry.TimeRange{From: "2016"}, AuthorPersons: []string{"%Lege%"},
			Confidentiality: []registry.CodeSet{{{Code: "N"}}},
		}, "documents_patient_status"},
		{"GetAll", registry.DocumentFilter{PatientID: d.PatientID, Statuses: both, ObjectTypes: []string{registry.ObjectTypeStable}}, "documents_patient_status"},
		{"GetDocuments by entryUUID", registry.DocumentFilter{IDs: []string{d.ID, "urn:uuid:x"}}, "documents_id_key"},
		{"GetDocuments by uniqueId", registry.DocumentFilter{UniqueIDs: []string{d.UniqueID}}, "documents_unique_id"},
		{"GetDocuments by logicalId", registry.DocumentFilter{LogicalIDs: []string{d.LogicalID}}, "documents_lid_version"},
		{"latest version of a logicalId", registry.DocumentFilter{LogicalIDs: []string{d.LogicalID}, LatestOnly: true}, "documents_lid_version"},
		{"FindDocuments at $MetadataLevel 1", registry.DocumentFilter{
			PatientID: d.PatientID, Statuses: approved, ObjectTypes: []string{registry.ObjectTypeStable}, LatestOnly: true, OnlineOnly: true,
		}, "documents_patient_status"},
		{"FindDocuments of linked patient ids", registry.DocumentFilter{
			PatientIDs: []string{d.PatientID, SyntheticPatientID(43)}, Statuses: approved, LatestOnly: true, OnlineOnly: true,
		}, "documents_patient_status"},
	}
	for _, c := range docCases {
		t.Run(c.name, func(t *testing.T) {
			q, args, _, err := sqlstore.DocumentQuery(dialect(), &c.f)
			if err != nil {
				t.Fatal(err)
			}
			checkPlan(t, st, q, args, "documents", c.index)
		})
	}
	assocCases := []struct {
		name  string
		f     registry.AssociationFilter
		index string
	}{
		{"by source", registry.AssociationFilter{Sources: []string{assocs[5].Source}}, "associations_source"},
		{"by target", registry.AssociationFilter{Targets: []string{assocs[5].Target}, Types: []string{registry.AssocHasMember}}, "associations_target"},
		{"source or target", registry.AssociationFilter{SourceOrTarget: []string{assocs[5].Source, assocs[7].Target}}, "associations_target"},
	}
	for _, c := range assocCases {
		t.Run(c.name, func(t *testing.T) {
			q, args, _, err := sqlstore.AssociationQuery(dialect(), &c.f)
			if err != nil {
				t.Fatal(err)
			}
			checkPlan(t, st, q, args, "associations", c.index)
		})
	}

	// Patient links: every query resolves its patient through them, so
	// the lookup must stay an index search as links accumulate (each
	// year's D-nummer → fødselsnummer transitions).
	if _, err := st.Pool().Exec(ctx, `INSERT INTO patient_links (from_pid, to_pid, linked_at, linked_by, reason, unlinked_at)
		SELECT 'd' || g, 'f' || g, '2025-01-01T00:00:00.000000000Z', 'bench', '', CASE WHEN g % 10 = 0 THEN '2025-02-01T00:00:00.000000000Z' END
		FROM generate_series(1, 20000) g`); err != nil {
		t.Fatal(err)
	}
	if _, err := st.Pool().Exec(ctx, "ANALYZE patient_links"); err != nil {
		t.Fatal(err)
	}
	linkCases := []struct {
		name  string
		f     registry.PatientLinkFilter
		index string
	}{
		{"links of a patient", registry.PatientLinkFilter{Patients: []string{d.PatientID}, Active: true}, "patient_links_active_"},
		{"links of several patients", registry.PatientLinkFilter{Patients: []string{"d17", "f18", d.PatientID}, Active: true}, "patient_links_active_"},
		{"active link from", registry.PatientLinkFilter{From: []string{"d42"}, Active: true}, "patient_links_"},
		{"history of a patient", registry.PatientLinkFilter{Patients: []string{"d42"}}, "patient_links_"},
	}
	for _, c := range linkCases {
		t.Run(c.name, func(t *testing.T) {
			q, args, _, err := sqlstore.PatientLinkQuery(dialect(), &c.f)
			if err != nil {
				t.Fatal(err)
			}
			checkPlan(t, st, q, args, "patient_links", c.index)
		})
	}
}

func checkPlan(t *testing.T, st *Store, query string, args []any, table, index string) {
	t.Helper()
	rows, err := st.SQL().QueryContext(context.Background(), "EXPLAIN "+query, args...)
	if err != nil {
		t.Fatalf("EXPLAIN %s: %v", query, err)
	}
	defer rows.Close()
	var plan []string
	for rows.Next() {
		var line string
		if err := rows.Scan(&line); err != nil {
			t.Fatal(err)
		}
		plan = append(plan, line)
	}
	text := strings.Join(plan, "\n")
	t.Logf("%s\n%s", query, text)
	if strings.Contains(text, "Seq Scan on "+table) || !strings.Contains(text, index) {
		t.Errorf("want an index lookup on %s via %s:\n%s\n%s", table, index, query, text)
	}
}
