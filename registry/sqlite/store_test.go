package sqlite

import (
	"bytes"
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"flag"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"testing/fstest"

	"pjd/registry"
	"pjd/registry/internal/sqlstore"
	"pjd/registry/registrytest"
	"pjd/registry/schema"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata/store")

func openTemp(t *testing.T) (*Store, string) {
	t.Helper()
	path := filepath.Join(t.TempDir(), "registry.db")
	st, err := Open(context.Background(), path)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	return st, path
}

// TestStoredFormat pins the JSON stored for each object type to the golden
// files in testdata/store: a change to the model's JSON encoding would
// make existing databases unreadable, so it must be deliberate (rerun with
// -update and add a migration that rewrites stored bodies).
func TestStoredFormat(t *testing.T) {
	ctx := context.Background()
	st, _ := openTemp(t)
	doc, ss, fol, assoc := registrytest.FullDocument(), registrytest.FullSubmissionSet(), registrytest.FullFolder(), registrytest.FullAssociation()
	err := st.Update(ctx, func(tx registry.Tx) error {
		return errors.Join(tx.InsertDocument(ctx, doc), tx.InsertSubmissionSet(ctx, ss), tx.InsertFolder(ctx, fol), tx.InsertAssociation(ctx, assoc))
	})
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		file, table, id string
		fixture, fresh  any
	}{
		{"document.json", "documents", doc.ID, doc, new(registry.DocumentEntry)},
		{"submission_set.json", "submission_sets", ss.ID, ss, new(registry.SubmissionSet)},
		{"folder.json", "folders", fol.ID, fol, new(registry.Folder)},
		{"association.json", "associations", assoc.ID, assoc, new(registry.Association)},
	} {
		t.Run(c.file, func(t *testing.T) {
			var body string
			if err := st.SQL().QueryRowContext(ctx, "SELECT body FROM "+c.table+" WHERE id = ?", c.id).Scan(&body); err != nil {
				t.Fatal(err)
			}
			golden := filepath.Join("..", "..", "testdata", "store", c.file)
			if *update {
				var out bytes.Buffer
				if err := json.Indent(&out, []byte(body), "", "  "); err != nil {
					t.Fatal(err)
				}
				out.WriteByte('\n')
				if err := os.WriteFile(golden, out.Bytes(), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			want, err := os.ReadFile(golden)
			if err != nil {
				t.Fatalf("%v (run with -update to create it)", err)
			}
			var compact bytes.Buffer
			if err := json.Compact(&compact, want); err != nil {
				t.Fatal(err)
			}
			if compact.String() != body {
				t.Errorf("stored body differs from %s:\nstored %s\ngolden %s", golden, body, compact.String())
			}
			// And the golden file still decodes into the fixture.
			if err := json.Unmarshal(want, c.fresh); err != nil {
				t.Fatal(err)
			}
			registrytest.SameJSON(t, "golden "+c.file+" decoded", c.fresh, c.fixture)
		})
	}
}

// TestQueryPlans: the stored queries' lookups are index searches.
func TestQueryPlans(t *testing.T) {
	st, _ := openTemp(t)
	p := registrytest.PatientID(1)
	approved := []string{registry.StatusApproved}
	both := []string{registry.StatusApproved, registry.StatusDeprecated}
	for _, c := range []struct {
		name  string
		f     registry.DocumentFilter
		index string
	}{
		{"FindDocuments", registry.DocumentFilter{PatientID: p, Statuses: approved}, "documents_patient_status (patient_id=? AND status=?)"},
		{"FindDocuments, two statuses and codes", registry.DocumentFilter{
			PatientID: p, Statuses: both, Classes: registry.CodeSet{{Code: "A00-1"}},
			Confidentiality: []registry.CodeSet{{{Code: "N"}}}, AuthorPersons: []string{"%Lege%"},
		}, "documents_patient_status (patient_id=? AND status=?)"},
		{"GetDocuments by uniqueId", registry.DocumentFilter{UniqueIDs: []string{"1.2.3"}}, "documents_unique_id (unique_id=?)"},
		{"FindDocuments at $MetadataLevel 1", registry.DocumentFilter{PatientID: p, Statuses: approved, LatestOnly: true, OnlineOnly: true},
			"documents_patient_status (patient_id=? AND status=?)"},
		{"FindDocuments of linked patient ids", registry.DocumentFilter{PatientIDs: []string{p, registrytest.PatientID(2)}, Statuses: approved, LatestOnly: true},
			"documents_patient_status (patient_id=? AND status=?)"},
		{"GetDocuments by logicalId", registry.DocumentFilter{LogicalIDs: []string{"a", "b"}}, "documents_lid_version (lid=?)"},
		{"latest version of a logicalId", registry.DocumentFilter{LogicalIDs: []string{"a"}, LatestOnly: true}, "documents_lid_version (lid=?)"},
		{"GetDocuments by entryUUID", registry.DocumentFilter{IDs: []string{"urn:uuid:a"}}, "(id=?)"},
	} {
		t.Run(c.name, func(t *testing.T) {
			q, args, _, err := sqlstore.DocumentQuery(dialect(), &c.f)
			if err != nil {
				t.Fatal(err)
			}
			checkPlan(t, st, q, args, c.index)
		})
	}
	for _, c := range []struct {
		name  string
		f     registry.AssociationFilter
		index string
	}{
		{"by source", registry.AssociationFilter{Sources: []string{"urn:uuid:a"}}, "associations_source (source=?)"},
		{"by target", registry.AssociationFilter{Targets: []string{"urn:uuid:a", "urn:uuid:b"}}, "associations_target (target=?)"},
		{"source or target", registry.AssociationFilter{SourceOrTarget: []string{"urn:uuid:a"}}, "associations_target (target=?)"},
	} {
		t.Run(c.name, func(t *testing.T) {
			q, args, _, err := sqlstore.AssociationQuery(dialect(), &c.f)
			if err != nil {
				t.Fatal(err)
			}
			checkPlan(t, st, q, args, c.index)
		})
	}
	for _, c := range []struct {
		name  string
		f     registry.PatientLinkFilter
		index string
	}{
		{"links of a patient", registry.PatientLinkFilter{Patients: []string{p}, Active: true}, "patient_links_active_"},
		{"active link from", registry.PatientLinkFilter{From: []string{p}, Active: true}, "patient_links_active_from (from_pid=?)"},
	} {
		t.Run(c.name, func(t *testing.T) {
			q, args, _, err := sqlstore.PatientLinkQuery(dialect(), &c.f)
			if err != nil {
				t.Fatal(err)
			}
			checkPlan(t, st, q, args, c.index)
		})
	}
}

func checkPlan(t *testing.T, st *Store, query string, args []any, index string) {
	t.Helper()
	rows, err := st.SQL().QueryContext(context.Background(), "EXPLAIN QUERY PLAN "+query, args...)
	if err != nil {
		t.Fatalf("EXPLAIN QUERY PLAN %s: %v", query, err)
	}
	defer rows.Close()
	var plan []string
	for rows.Next() {
		var id, parent, notused int
		var detail string
		if err := rows.Scan(&id, &parent, &notused, &detail); err != nil {
			t.Fatal(err)
		}
		plan = append(plan, detail)
	}
	text := strings.Join(plan, "\n")
	t.Logf("%s\n%s", query, text)
	for _, line := range plan {
		if line == "SCAN d" || line == "SCAN a" {
			t.Errorf("full scan of the main table:\n%s", text)
		}
	}
	if !strings.Contains(text, index) {
		t.Errorf("want a search using %s:\n%s", index, text)
	}
}

// TestTwoStoresOneFile: two Stores on one file (as two processes would
// have) serialise their Updates with BEGIN IMMEDIATE, so check-then-insert
// races between them let exactly one through.
func TestTwoStoresOneFile(t *testing.T) {
	ctx := context.Background()
	a, path := openTemp(t)
	b, err := Open(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	errDup := errors.New("duplicate")
	const n = 8
	errs := make([]error, n)
	var wg sync.WaitGroup
	for i := 0; i < n; i++ {
		st := a
		if i%2 == 1 {
			st = b
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			errs[i] = st.Update(ctx, func(tx registry.Tx) error {
				got, err := tx.Documents(ctx, registry.DocumentFilter{UniqueIDs: []string{"race"}})
				if err != nil {
					return err
				}
				if len(got) > 0 {
					return errDup
				}
				d := registrytest.Document(i, registrytest.PatientID(i))
				d.UniqueID = "race"
				return tx.InsertDocument(ctx, d)
			})
		}()
	}
	wg.Wait()
	won := 0
	for _, err := range errs {
		switch {
		case err == nil:
			won++
		case !errors.Is(err, errDup):
			t.Errorf("unexpected error: %v", err)
		}
	}
	if won != 1 {
		t.Errorf("%d winners, want 1: %v", won, errs)
	}
	for _, st := range []*Store{a, b} {
		if got, err := st.Documents(ctx, registry.DocumentFilter{UniqueIDs: []string{"race"}}); err != nil || len(got) != 1 {
			t.Errorf("documents with the raced uniqueId: %d, %v", len(got), err)
		}
	}
}

func TestOpenErrors(t *testing.T) {
	ctx := context.Background()
	for _, c := range []struct {
		path string
		want error
	}{
		{"", ErrInvalid},
		{":memory:", ErrInvalid},
		{"file:x.db?mode=memory", ErrInvalid},
		{filepath.Join(t.TempDir(), "missing", "dir", "x.db"), registry.ErrUnavailable},
	} {
		st, err := Open(ctx, c.path)
		if !errors.Is(err, c.want) {
			t.Errorf("Open(%q) = %v, want %v", c.path, err, c.want)
		}
		if st != nil {
			st.Close()
		}
	}
	// Not a database.
	junk := filepath.Join(t.TempDir(), "junk.db")
	if err := os.WriteFile(junk, bytes.Repeat([]byte("not sqlite "), 1000), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := Open(ctx, junk); !errors.Is(err, registry.ErrUnavailable) {
		t.Errorf("Open(junk) = %v, want ErrUnavailable", err)
	}
	// Special characters in the path are a file name, not URI syntax.
	odd := filepath.Join(t.TempDir(), "a?b#c%20 d.db")
	st, err := Open(ctx, odd)
	if err != nil {
		t.Fatalf("Open(%q): %v", odd, err)
	}
	st.Close()
	if _, err := os.Stat(odd); err != nil {
		t.Errorf("database not created at %q: %v", odd, err)
	}
}

func TestClosedStore(t *testing.T) {
	ctx := context.Background()
	st, err := Open(ctx, filepath.Join(t.TempDir(), "r.db"))
	if err != nil {
		t.Fatal(err)
	}
	if err := st.Close(); err != nil {
		t.Fatal(err)
	}
	if err := st.Ping(ctx); err == nil {
		t.Error("Ping on a closed store succeeded")
	}
	if _, err := st.Documents(ctx, registry.DocumentFilter{}); err == nil {
		t.Error("Documents on a closed store succeeded")
	}
	if err := st.Update(ctx, func(registry.Tx) error { return nil }); err == nil {
		t.Error("Update on a closed store succeeded")
	}
}

// TestMigrations: Open migrates the registry's tables through the one
// runner and keeps data on reopening; a file migrated by a newer pjd is
// refused. (registry/schema tests the runner itself on both backends.)
func TestMigrations(t *testing.T) {
	ctx := context.Background()
	st, path := openTemp(t)
	if err := st.Update(ctx, func(tx registry.Tx) error {
		return tx.InsertDocument(ctx, registrytest.Document(1, registrytest.PatientID(1)))
	}); err != nil {
		t.Fatal(err)
	}
	st2, err := Open(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	if got, err := st2.Documents(ctx, registry.DocumentFilter{}); err != nil || len(got) != 1 {
		t.Errorf("after reopening: %d documents, %v", len(got), err)
	}
	st2.Close()
	var rows int
	if err := st.SQL().QueryRowContext(ctx, "SELECT COUNT(*) FROM pjd_migrations WHERE component = 'registry'").Scan(&rows); err != nil || rows != 2 {
		t.Fatalf("pjd_migrations has %d registry rows (%v), want 2", rows, err)
	}
	if _, err := st.SQL().ExecContext(ctx, "INSERT INTO pjd_migrations (component, version, name, checksum) VALUES ('registry', 3, '0003_future.sql', 'x')"); err != nil {
		t.Fatal(err)
	}
	if _, err := Open(ctx, path); !errors.Is(err, schema.ErrTooNew) {
		t.Errorf("Open on a newer schema: %v, want schema.ErrTooNew", err)
	}
}

func TestLikeToGlob(t *testing.T) {
	for in, want := range map[string]string{
		"%Nordmann%": "*Nordmann*",
		"_144900^%":  "?144900^*",
		"a*b?c[d]e":  "a[*]b[?]c[[]d]e",
		"Ås_":        "Ås?",
		"":           "",
	} {
		if got := LikeToGlob(in); got != want {
			t.Errorf("LikeToGlob(%q) = %q, want %q", in, got, want)
		}
	}
}

// TestUpgradeToLifecycleSchema: a database written by the version-1
// schema (before issue 13) migrates to version 2 keeping its data: every
// document and folder is version 1 and the latest, an Offline entry is
// known as such, folder codes survive the folders table's rebuild (and
// still cascade), and folder versions may share a uniqueId afterwards.
func TestUpgradeToLifecycleSchema(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "registry.db")
	v1, err := fs.ReadFile(migrations, "migrations/0001_init.sql")
	if err != nil {
		t.Fatal(err)
	}
	db, err := sql.Open("sqlite", "file:"+path+"?_pragma=foreign_keys(1)")
	if err != nil {
		t.Fatal(err)
	}
	v1only := schema.Component{Name: "registry", Migrations: fstest.MapFS{"0001_init.sql": {Data: v1}}}
	if err := schema.New(schema.SQLite, db, v1only).Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	online, offline := registrytest.Document(1, registrytest.PatientID(1)), registrytest.Document(2, registrytest.PatientID(1))
	offline.DocumentAvailability = registry.DocumentAvailabilityOffline
	folder := registrytest.Folder(3, registrytest.PatientID(1))
	for _, d := range []*registry.DocumentEntry{online, offline} {
		body, _ := json.Marshal(d)
		if _, err := db.ExecContext(ctx, `INSERT INTO documents (id, lid, unique_id, patient_id, status, object_type,
			class_code, class_scheme, type_code, type_scheme, practice_code, practice_scheme, facility_code, facility_scheme,
			format_code, format_scheme, body) VALUES (?, ?, ?, ?, ?, ?, '', '', '', '', '', '', '', '', '', '', ?)`,
			d.ID, d.LogicalID, d.UniqueID, d.PatientID, d.Status, d.ObjectType, string(body)); err != nil {
			t.Fatal(err)
		}
	}
	body, _ := json.Marshal(folder)
	res, err := db.ExecContext(ctx, `INSERT INTO folders (id, lid, unique_id, patient_id, status, last_update_time, body)
		VALUES (?, ?, ?, ?, ?, ?, ?)`, folder.ID, folder.LogicalID, folder.UniqueID, folder.PatientID, folder.Status, folder.LastUpdateTime, string(body))
	if err != nil {
		t.Fatal(err)
	}
	seq, _ := res.LastInsertId()
	for _, c := range folder.Codes {
		if _, err := db.ExecContext(ctx, "INSERT INTO folder_codes (folder_seq, code, scheme) VALUES (?, ?, ?)", seq, c.Code, c.Scheme); err != nil {
			t.Fatal(err)
		}
	}
	db.Close()

	st, err := Open(ctx, path) // migrates to the newest version
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	if sts, err := schema.New(schema.SQLite, st.DB().Writer(), Schema()).Status(ctx); err != nil || len(sts) != 1 || sts[0].Current != 2 {
		t.Fatalf("registry schema status = %+v, %v; want version 2", sts, err)
	}
	registrytest.CheckUpgradedFromV1(t, st, online, offline, folder)
	// The rebuilt folder_codes still cascades.
	if err := st.Update(ctx, func(tx registry.Tx) error { return tx.DeleteObjects(ctx, []string{folder.ID}) }); err != nil {
		t.Fatal(err)
	}
	var orphans, codes int
	if err := st.SQL().QueryRowContext(ctx, "SELECT count(*) FROM folder_codes WHERE folder_seq NOT IN (SELECT seq FROM folders)").Scan(&orphans); err != nil || orphans != 0 {
		t.Errorf("folder_codes after removing the folder: %d rows left without a folder, %v", orphans, err)
	}
	if err := st.SQL().QueryRowContext(ctx, "SELECT count(*) FROM folder_codes").Scan(&codes); err != nil || codes != len(folder.Codes) {
		t.Errorf("folder_codes after removing the folder: %d rows, %v; want the %d of its version 2", codes, err, len(folder.Codes))
	}
}
