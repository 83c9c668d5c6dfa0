package postgres

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"slices"
	"strings"
	"testing"
	"testing/fstest"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/stdlib"

	"pjd/conformance/testenv"
	"pjd/registry"
	"pjd/registry/oid"
	"pjd/registry/registrytest"
	"pjd/registry/schema"
)

func TestOpenErrors(t *testing.T) {
	ctx := context.Background()
	if _, err := Open(ctx, "postgres://pjd:s3cret-pw@127.0.0.1:notaport/db"); !errors.Is(err, ErrInvalid) || strings.Contains(err.Error(), "s3cret") {
		t.Errorf("bad URL: %v, want ErrInvalid without the password", err)
	}
	port, err := testenv.FreePort()
	if err != nil {
		t.Fatal(err)
	}
	_, err = Open(ctx, fmt.Sprintf("postgres://pjd:s3cret-pw@127.0.0.1:%d/db?connect_timeout=5", port))
	if !errors.Is(err, registry.ErrUnavailable) {
		t.Errorf("nothing listening: %v, want ErrUnavailable", err)
	}
	cancelled, cancel := context.WithCancel(ctx)
	cancel()
	if _, err := Open(cancelled, testenv.Postgres(t)); !errors.Is(err, context.Canceled) {
		t.Errorf("cancelled: %v, want context.Canceled", err)
	}
}

// TestServerGone: a store whose server went away reports ErrUnavailable
// from every call (the readiness check and the registry rely on it).
func TestServerGone(t *testing.T) {
	ctx := context.Background()
	srv, err := testenv.StartPostgres()
	if err != nil {
		testenv.Unavailable(t, "PostgreSQL", err)
	}
	defer srv.Stop()
	st, err := Open(ctx, srv.URL("postgres"))
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	if err := st.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	if err := st.Ping(ctx); err != nil {
		t.Fatal(err)
	}
	srv.Stop()
	_, err = st.Documents(ctx, registry.DocumentFilter{})
	if !errors.Is(err, registry.ErrUnavailable) {
		t.Errorf("Documents: %v, want ErrUnavailable", err)
	}
	if err := st.Ping(ctx); !errors.Is(err, registry.ErrUnavailable) {
		t.Errorf("Ping: %v, want ErrUnavailable", err)
	}
	err = st.Update(ctx, func(tx registry.Tx) error {
		return tx.InsertDocument(ctx, registrytest.Document(1, registrytest.PatientID(1)))
	})
	if !errors.Is(err, registry.ErrUnavailable) {
		t.Errorf("Update: %v, want ErrUnavailable", err)
	}
}

// TestCancelBlockedRead: a read waiting on a lock stops when its context
// is cancelled (the statement is cancelled on the server, not abandoned).
func TestCancelBlockedRead(t *testing.T) {
	ctx := context.Background()
	st := open(t)
	defer st.Close()
	locker, err := st.Pool().Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer locker.Rollback(ctx) //nolint:errcheck // released at the end either way
	if _, err := locker.Exec(ctx, "LOCK TABLE documents IN ACCESS EXCLUSIVE MODE"); err != nil {
		t.Fatal(err)
	}
	cctx, cancel := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() {
		_, err := st.Documents(cctx, registry.DocumentFilter{PatientID: registrytest.PatientID(1)})
		done <- err
	}()
	// Wait until the read is waiting for the lock, as the server sees it.
	for {
		var waiting bool
		err := st.Pool().QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM pg_stat_activity
			WHERE datname = current_database() AND wait_event_type = 'Lock' AND query LIKE 'SELECT d.status%')`).Scan(&waiting)
		if err != nil {
			t.Fatal(err)
		}
		if waiting {
			break
		}
		select {
		case err := <-done:
			t.Fatalf("read returned while the table was locked: %v", err)
		case <-time.After(10 * time.Millisecond):
		}
	}
	cancel()
	if err := <-done; !errors.Is(err, context.Canceled) {
		t.Errorf("blocked read: %v, want context.Canceled", err)
	}
	// The server no longer runs it.
	var running int
	if err := st.Pool().QueryRow(ctx, `SELECT count(*) FROM pg_stat_activity
		WHERE datname = current_database() AND state = 'active' AND query LIKE 'SELECT d.status%'`).Scan(&running); err != nil {
		t.Fatal(err)
	}
	if running != 0 {
		t.Errorf("%d cancelled reads still active on the server", running)
	}
}

// TestCopyDocuments: the bulk path stores what InsertDocument stores, so
// documents loaded either way read back identically and are found by the
// same filters.
func TestCopyDocuments(t *testing.T) {
	ctx := context.Background()
	st := open(t)
	defer st.Close()
	full := registrytest.FullDocument()
	copied := []*registry.DocumentEntry{full, registrytest.Document(1, registrytest.PatientID(1))}
	inserted := registrytest.Document(2, registrytest.PatientID(1))
	if err := st.CopyDocuments(ctx, copied); err != nil {
		t.Fatal(err)
	}
	if err := st.Update(ctx, func(tx registry.Tx) error { return tx.InsertDocument(ctx, inserted) }); err != nil {
		t.Fatal(err)
	}
	got, err := st.Documents(ctx, registry.DocumentFilter{})
	if err != nil || len(got) != 3 {
		t.Fatalf("got %d documents, %v", len(got), err)
	}
	for i, want := range append(copied, inserted) {
		registrytest.SameJSON(t, fmt.Sprintf("document %d", i), got[i], want)
	}
	// Child rows: found by event, confidentiality, author and reference id.
	f := registry.DocumentFilter{
		Events:          []registry.CodeSet{{full.Events[1]}},
		Confidentiality: []registry.CodeSet{{full.Confidentiality[1]}},
		AuthorPersons:   []string{full.Authors[1].Person},
		ReferenceIDs:    full.ReferenceIDs[1:],
	}
	if got, err := st.Documents(ctx, f); err != nil || len(got) != 1 || got[0].ID != full.ID {
		t.Errorf("child-table filters after COPY: %d, %v", len(got), err)
	}
	if err := st.CopyDocuments(ctx, []*registry.DocumentEntry{nil}); !errors.Is(err, ErrInvalid) {
		t.Errorf("nil document: %v, want ErrInvalid", err)
	}
	bad := registrytest.Document(3, "\x00")
	if err := st.CopyDocuments(ctx, []*registry.DocumentEntry{bad}); !errors.Is(err, ErrInvalid) {
		t.Errorf("NUL in a value: %v, want ErrInvalid", err)
	}
	if n, _ := st.Documents(ctx, registry.DocumentFilter{}); len(n) != 3 {
		t.Errorf("refused loads stored something: %d documents", len(n))
	}
}

func TestLoadSynthetic(t *testing.T) {
	ctx := context.Background()
	st := open(t)
	defer st.Close()
	loaded := 0
	res, err := st.LoadSynthetic(ctx, LoadOptions{Documents: 2_500, Patients: 100, BatchSize: 1_000, Seed: 3, Progress: func(n int) { loaded = n }})
	if err != nil {
		t.Fatal(err)
	}
	if res.Documents != 2_500 || loaded != 2_500 || res.Patients != 100 {
		t.Errorf("result %+v, progress %d", res, loaded)
	}
	for _, p := range []int{0, 57, 99} {
		docs, err := st.Documents(ctx, registry.DocumentFilter{PatientID: SyntheticPatientID(p)})
		if err != nil || len(docs) != 25 {
			t.Errorf("patient %d: %d documents, %v; want 25", p, len(docs), err)
		}
		for _, d := range docs {
			if d.PatientID != SyntheticPatientID(p) || d.Class.Scheme != oid.Volven9602 {
				t.Errorf("unexpected document %+v", d)
			}
		}
	}
	if docs, _ := st.Documents(ctx, registry.DocumentFilter{PatientID: SyntheticPatientID(100)}); len(docs) != 0 {
		t.Errorf("patient 100 (not loaded) has %d documents", len(docs))
	}
	// Inserting after a load continues the registration order.
	d := registrytest.Document(1, SyntheticPatientID(0))
	if err := st.Update(ctx, func(tx registry.Tx) error { return tx.InsertDocument(ctx, d) }); err != nil {
		t.Fatal(err)
	}
	docs, _ := st.Documents(ctx, registry.DocumentFilter{PatientID: SyntheticPatientID(0)})
	if len(docs) != 26 || docs[25].ID != d.ID {
		t.Errorf("document inserted after the load is not last (%d documents)", len(docs))
	}
	if _, err := st.LoadSynthetic(ctx, LoadOptions{Documents: -1}); !errors.Is(err, ErrInvalid) {
		t.Errorf("negative size: %v", err)
	}
}

// TestUpgradeToLifecycleSchema: a database written by the version-1
// schema (before issue 13) migrates to version 2 keeping its data (see
// registrytest.CheckUpgradedFromV1).
func TestUpgradeToLifecycleSchema(t *testing.T) {
	ctx := context.Background()
	st, err := Open(ctx, testenv.Postgres(t))
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	v1, err := fs.ReadFile(migrations, "migrations/0001_init.sql")
	if err != nil {
		t.Fatal(err)
	}
	v1only := schema.Component{Name: "registry", Migrations: fstest.MapFS{"0001_init.sql": {Data: v1}}}
	if err := schema.New(schema.Postgres, stdlib.OpenDBFromPool(st.Pool()), v1only).Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	online, offline := registrytest.Document(1, registrytest.PatientID(1)), registrytest.Document(2, registrytest.PatientID(1))
	offline.DocumentAvailability = registry.DocumentAvailabilityOffline
	folder := registrytest.Folder(3, registrytest.PatientID(1))
	for _, d := range []*registry.DocumentEntry{online, offline} {
		body, _ := json.Marshal(d)
		if _, err := st.Pool().Exec(ctx, `INSERT INTO documents (id, lid, unique_id, patient_id, status, object_type,
			class_code, class_scheme, type_code, type_scheme, practice_code, practice_scheme, facility_code, facility_scheme,
			format_code, format_scheme, body) VALUES ($1, $2, $3, $4, $5, $6, '', '', '', '', '', '', '', '', '', '', $7)`,
			d.ID, d.LogicalID, d.UniqueID, d.PatientID, d.Status, d.ObjectType, string(body)); err != nil {
			t.Fatal(err)
		}
	}
	body, _ := json.Marshal(folder)
	var seq int64
	if err := st.Pool().QueryRow(ctx, `INSERT INTO folders (id, lid, unique_id, patient_id, status, last_update_time, body)
		VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING seq`, folder.ID, folder.LogicalID, folder.UniqueID, folder.PatientID,
		folder.Status, folder.LastUpdateTime, string(body)).Scan(&seq); err != nil {
		t.Fatal(err)
	}
	for _, c := range folder.Codes {
		if _, err := st.Pool().Exec(ctx, "INSERT INTO folder_codes (folder_seq, code, scheme) VALUES ($1, $2, $3)", seq, c.Code, c.Scheme); err != nil {
			t.Fatal(err)
		}
	}
	if err := st.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	if sts, err := schema.New(schema.Postgres, stdlib.OpenDBFromPool(st.Pool()), Schema()).Status(ctx); err != nil || len(sts) != 1 || sts[0].Current != 2 {
		t.Fatalf("registry schema status = %+v, %v; want version 2", sts, err)
	}
	registrytest.CheckUpgradedFromV1(t, st, online, offline, folder)
}

// TestLoadSyntheticSkewed: the skewed load gives every patient at least
// one document and some patients many times the average, and with
// DeferIndexes the tables end with exactly the indexes they had.
func TestLoadSyntheticSkewed(t *testing.T) {
	ctx := context.Background()
	st := open(t)
	defer st.Close()
	indexes := func() []string {
		rows, err := st.Pool().Query(ctx, "SELECT indexdef FROM pg_indexes WHERE schemaname = current_schema() ORDER BY indexname")
		if err != nil {
			t.Fatal(err)
		}
		defs, err := pgx.CollectRows(rows, pgx.RowTo[string])
		if err != nil {
			t.Fatal(err)
		}
		return defs
	}
	before := indexes()
	const docs, patients = 20_000, 2_000
	if _, err := st.LoadSynthetic(ctx, LoadOptions{Documents: docs, Patients: patients, BatchSize: 3_000, Seed: 5, Skewed: true, DeferIndexes: true}); err != nil {
		t.Fatal(err)
	}
	if after := indexes(); !slices.Equal(before, after) {
		t.Errorf("indexes after the load:\n%s\nwant\n%s", strings.Join(after, "\n"), strings.Join(before, "\n"))
	}
	var n, distinct, most int
	err := st.Pool().QueryRow(ctx, `SELECT count(*), count(DISTINCT patient_id), (SELECT max(c) FROM (SELECT count(*) c FROM documents GROUP BY patient_id) x) FROM documents`).Scan(&n, &distinct, &most)
	if err != nil {
		t.Fatal(err)
	}
	if n != docs || distinct != patients || most < 5*docs/patients {
		t.Errorf("%d documents of %d patients, the most for one %d; want %d of %d, some patient ≥ %d", n, distinct, most, docs, patients, 5*docs/patients)
	}
	// The loaded entries read back through the store like any.
	got, err := st.Documents(ctx, registry.DocumentFilter{PatientID: SyntheticPatientID(0)})
	if err != nil || len(got) == 0 || got[0].PatientID != SyntheticPatientID(0) {
		t.Fatalf("patient 0: %d documents, %v", len(got), err)
	}
}
