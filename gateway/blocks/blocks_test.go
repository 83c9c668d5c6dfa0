package blocks

import (
	"bytes"
	"context"
	"database/sql"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/stdlib"

	"pjd/conformance/testenv"
	"pjd/gateway/access"
	"pjd/gateway/audit"
	"pjd/gateway/audit/sqlaudit"
	"pjd/registry"
	"pjd/registry/oid"
	"pjd/registry/postgres"
	"pjd/registry/schema"
	"pjd/registry/sqlite"
	"pjd/trust"
	"pjd/trust/policy"
)

func TestMain(m *testing.M) { os.Exit(testenv.Main(m)) }

// One suite, both databases: the blocks table lives in the registry's
// database, a SQLite file with --dev and PostgreSQL in production, and
// shares its handle with the registry and the audit log as in pjd.

func TestSQLite(t *testing.T) {
	runSuite(t, backend{name: "sqlite", dsn: func(t *testing.T) string { return filepath.Join(t.TempDir(), "registry.db") },
		connect: func(t *testing.T, path string) *stores {
			db, err := sqlite.OpenDB(context.Background(), path)
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { db.Close() })
			migrate(t, schema.SQLite, db.Writer(), sqlite.Schema())
			return &stores{blocks: NewSQLite(db), registry: sqlite.New(db), audit: sqlaudit.NewSQLite(db)}
		}})
}

func TestPostgres(t *testing.T) {
	runSuite(t, backend{name: "postgres", dsn: func(t *testing.T) string { return testenv.Postgres(t) },
		connect: func(t *testing.T, url string) *stores {
			pool, err := postgres.Connect(context.Background(), url)
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(pool.Close)
			migrate(t, schema.Postgres, stdlib.OpenDBFromPool(pool), postgres.Schema())
			return &stores{blocks: NewPostgres(pool), registry: postgres.New(pool), audit: sqlaudit.NewPostgres(pool)}
		}})
}

// migrate migrates the registry (reg), audit and blocks tables, as pjd
// does.
func migrate(t *testing.T, d schema.Dialect, db *sql.DB, reg schema.Component) {
	t.Helper()
	if err := schema.New(d, db, reg, sqlaudit.Schema(d), Schema(d)).Migrate(context.Background()); err != nil {
		t.Fatal(err)
	}
}

type backend struct {
	name string
	dsn  func(t *testing.T) string
	// connect opens the database at dsn once, migrated, with the stores
	// that share it; closed when the test ends.
	connect func(t *testing.T, dsn string) *stores
}

type stores struct {
	blocks   *Store
	registry registry.Store
	audit    *sqlaudit.Store
}

// clock is a settable clock for the store and the guard.
type clock struct{ t time.Time }

func (c *clock) now() time.Time { return c.t }

// t0 is a whole second, which is where text-encoded times go wrong.
var t0 = time.Date(2026, 3, 1, 8, 0, 0, 0, time.UTC)

func (b backend) open(t *testing.T, dsn string, c *clock) *Store {
	t.Helper()
	s := b.connect(t, dsn).blocks
	t.Cleanup(func() { s.Close() })
	if c != nil {
		s.now = c.now
	}
	return s
}

var (
	patientP = registry.SyntheticFnr(11)
	patientQ = registry.SyntheticFnr(12)
	doctor   = "12887040093" // synthetic F-nr (the dev issuer's fastlege)
)

func runSuite(t *testing.T, b backend) {
	t.Run("AddListLift", func(t *testing.T) { testAddListLift(t, b) })
	t.Run("Validation", func(t *testing.T) { testValidation(t, b) })
	t.Run("LiftAtSubSecondEdges", func(t *testing.T) { testLiftEdges(t, b) })
	t.Run("Reopen", func(t *testing.T) { testReopen(t, b) })
	t.Run("Cancelled", func(t *testing.T) { testCancelled(t, b) })
	t.Run("PolicyHidesThroughTheGuard", func(t *testing.T) { testGuard(t, b) })
}

func sameBlock(t *testing.T, got, want policy.Block) {
	t.Helper()
	eqTime := func(a, b time.Time) bool {
		return a.IsZero() == b.IsZero() && a.Truncate(time.Microsecond).Equal(b.Truncate(time.Microsecond))
	}
	if got.ID != want.ID || got.PatientID != want.PatientID || got.PractitionerID != want.PractitionerID ||
		got.HPRNumber != want.HPRNumber || got.OrgNr != want.OrgNr ||
		!slices.Equal(got.DocumentUniqueIDs, want.DocumentUniqueIDs) && len(got.DocumentUniqueIDs)+len(want.DocumentUniqueIDs) > 0 ||
		!eqTime(got.ValidFrom, want.ValidFrom) || !eqTime(got.ValidTo, want.ValidTo) {
		t.Fatalf("block\n got %+v\nwant %+v", got, want)
	}
}

func testAddListLift(t *testing.T, b backend) {
	ctx := context.Background()
	c := &clock{t: t0}
	s := b.open(t, b.dsn(t), c)

	all, err := s.Add(ctx, policy.Block{PatientID: patientP, HPRNumber: "565500013"})
	if err != nil {
		t.Fatal(err)
	}
	if all.ID == "" {
		t.Fatal("no id assigned")
	}
	c.t = t0.Add(time.Second)
	some, err := s.Add(ctx, policy.Block{PatientID: patientP, OrgNr: "910000012", PractitionerID: doctor,
		DocumentUniqueIDs: []string{"2.999.1.1", "2.999.1.2"}, ValidFrom: t0.Add(123456789 * time.Nanosecond), ValidTo: t0.Add(48 * time.Hour)})
	if err != nil {
		t.Fatal(err)
	}
	other, err := s.Add(ctx, policy.Block{ID: "given-id", PatientID: patientQ, HPRNumber: "565500013"})
	if err != nil || other.ID != "given-id" {
		t.Fatalf("Add with an id = %+v, %v", other, err)
	}
	if _, err := s.Add(ctx, policy.Block{ID: "given-id", PatientID: patientQ, HPRNumber: "1"}); err == nil || errors.Is(err, ErrInvalid) {
		t.Fatalf("a second block with the same id: %v", err)
	}

	got, err := s.Blocks(ctx, patientP)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 2 {
		t.Fatalf("%d blocks of P, want 2", len(got))
	}
	sameBlock(t, got[0], all)
	sameBlock(t, got[1], some)
	if got, err := s.Blocks(ctx, patientQ); err != nil || len(got) != 1 {
		t.Fatalf("blocks of Q: %v, %v", got, err)
	}
	if got, err := s.Blocks(ctx, registry.SyntheticFnr(13)); err != nil || len(got) != 0 {
		t.Fatalf("blocks of a patient without any: %v, %v", got, err)
	}

	// Lifting ends the block now; it is kept, so what applied when can be
	// reconstructed.
	c.t = t0.Add(time.Hour)
	if err := s.Lift(ctx, all.ID); err != nil {
		t.Fatal(err)
	}
	got, _ = s.Blocks(ctx, patientP)
	if len(got) != 2 || !got[0].ValidTo.Equal(c.t) {
		t.Fatalf("after lifting: %+v, want the first ending at %s", got, c.t)
	}
	if err := s.Lift(ctx, all.ID); !errors.Is(err, ErrNotFound) {
		t.Fatalf("lifting twice: %v", err)
	}
	if err := s.Lift(ctx, "no-such-block"); !errors.Is(err, ErrNotFound) {
		t.Fatalf("lifting an unknown block: %v", err)
	}
	// A block that has already ended cannot be lifted.
	c.t = t0.Add(72 * time.Hour)
	if err := s.Lift(ctx, some.ID); !errors.Is(err, ErrNotFound) {
		t.Fatalf("lifting an ended block: %v", err)
	}
}

func testValidation(t *testing.T, b backend) {
	ctx := context.Background()
	s := b.open(t, b.dsn(t), &clock{t: t0})
	ok := policy.Block{PatientID: patientP, HPRNumber: "565500013"}
	with := func(f func(*policy.Block)) policy.Block { x := ok; f(&x); return x }
	for _, c := range []struct {
		name string
		b    policy.Block
	}{
		{"no patient", with(func(x *policy.Block) { x.PatientID = "" })},
		{"patient as a CX", with(func(x *policy.Block) { x.PatientID = registry.NewPatientCX(patientP, oid.FNR).String() })},
		{"patient with a bad check digit", with(func(x *policy.Block) { x.PatientID = patientP[:10] + string('0'+(patientP[10]-'0'+1)%10) })},
		{"nobody blocked", with(func(x *policy.Block) { x.HPRNumber = "" })},
		{"practitioner not an F-nr", with(func(x *policy.Block) { x.PractitionerID = "Frida Fastlege" })},
		{"HPR number not digits", with(func(x *policy.Block) { x.HPRNumber = "HPR-1" })},
		{"organisation number with a bad check digit", with(func(x *policy.Block) { x.OrgNr = "910000013" })},
		{"ends before it starts", with(func(x *policy.Block) { x.ValidFrom, x.ValidTo = t0, t0.Add(-time.Second) })},
		{"ends when it starts", with(func(x *policy.Block) { x.ValidFrom, x.ValidTo = t0, t0 })},
		{"empty document uniqueId", with(func(x *policy.Block) { x.DocumentUniqueIDs = []string{"2.999.1", ""} })},
	} {
		t.Run(c.name, func(t *testing.T) {
			if _, err := s.Add(ctx, c.b); !errors.Is(err, ErrInvalid) {
				t.Fatalf("Add = %v, want ErrInvalid", err)
			}
		})
	}
	if got, _ := s.Blocks(ctx, patientP); len(got) != 0 {
		t.Fatalf("refused blocks were stored: %+v", got)
	}
	if _, err := s.Add(ctx, ok); err != nil {
		t.Fatalf("a valid block: %v", err)
	}
}

// Times stored as text must compare as times: a block ending half a
// second after a whole second is still in force at that second, and one
// that ended at a whole second is not half a second later.
func testLiftEdges(t *testing.T, b backend) {
	ctx := context.Background()
	c := &clock{t: t0.Add(-time.Hour)}
	s := b.open(t, b.dsn(t), c)
	later, err := s.Add(ctx, policy.Block{PatientID: patientP, HPRNumber: "1", ValidTo: t0.Add(500 * time.Millisecond)})
	if err != nil {
		t.Fatal(err)
	}
	ended, err := s.Add(ctx, policy.Block{PatientID: patientP, HPRNumber: "2", ValidTo: t0})
	if err != nil {
		t.Fatal(err)
	}
	c.t = t0
	if err := s.Lift(ctx, later.ID); err != nil {
		t.Fatalf("lifting a block in force for another half second: %v", err)
	}
	c.t = t0.Add(500 * time.Millisecond)
	if err := s.Lift(ctx, ended.ID); !errors.Is(err, ErrNotFound) {
		t.Fatalf("lifting a block that ended half a second ago: %v", err)
	}
	got, err := s.Blocks(ctx, patientP)
	if err != nil {
		t.Fatal(err)
	}
	if !got[0].ValidTo.Equal(t0) || !got[1].ValidTo.Equal(t0) {
		t.Fatalf("after the lifts: %+v, want both ending at %s", got, t0)
	}
}

func testReopen(t *testing.T, b backend) {
	ctx := context.Background()
	dsn := b.dsn(t)
	s := b.open(t, dsn, nil)
	blk, err := s.Add(ctx, policy.Block{PatientID: patientP, OrgNr: "910000012"})
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	// Open again: the table exists, the block is there.
	s2 := b.open(t, dsn, nil)
	got, err := s2.Blocks(ctx, patientP)
	if err != nil || len(got) != 1 || got[0].ID != blk.ID {
		t.Fatalf("after reopening: %+v, %v", got, err)
	}
}

func testCancelled(t *testing.T, b backend) {
	s := b.open(t, b.dsn(t), nil)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := s.Blocks(ctx, patientP); err == nil {
		t.Fatal("Blocks with a cancelled context succeeded")
	}
	if _, err := s.Add(ctx, policy.Block{PatientID: patientP, OrgNr: "910000012"}); err == nil {
		t.Fatal("Add with a cancelled context succeeded")
	}
}

// A block makes policy hide documents through the guard, on the same
// database as the registry and the audit log.
func testGuard(t *testing.T, b backend) {
	ctx := context.Background()
	c := &clock{t: t0}
	db := b.connect(t, b.dsn(t))
	s, st, as := db.blocks, db.registry, db.audit
	s.now = c.now
	reg, err := registry.New(registry.Config{Store: st, Patients: registry.NorwegianPatientIDs{AllowSynthetic: true}})
	if err != nil {
		t.Fatal(err)
	}
	cxP := registry.NewPatientCX(patientP, oid.FNR).String()
	if _, err := reg.Register(ctx, registry.SampleSubmission(registry.SampleOptions{Patient: cxP, Documents: 2, Seq: 501})); err != nil {
		t.Fatal(err)
	}
	key, _ := audit.NewKey(bytes.Repeat([]byte{1}, 32))
	al, err := audit.NewLogger(as, key, audit.LoggerOptions{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = al.Close(context.Background()) })
	g, err := access.New(access.Config{Registry: reg, Policy: policy.Default(), Audit: al, Blocks: s, Now: c.now})
	if err != nil {
		t.Fatal(err)
	}
	org := trust.Identifier{ID: "910000012", System: "urn:oid:" + oid.OrgNr}
	gp := &trust.Principal{Kind: trust.HealthWorker, Credential: trust.CredentialHelseIDDPoP, Subject: doctor, HPRNumber: "565500013",
		Authorization: trust.Coding{Code: "LE", System: "urn:oid:" + oid.Volven9060}, SecurityLevel: 4,
		LegalEntity: org, PointOfCare: org, HasAttestation: true, AttestedAt: t0.Add(-time.Minute),
		PurposeOfUse: trust.Coding{Code: trust.PurposeTreat, System: "urn:oid:" + oid.PurposeOfUse},
		DecisionRef:  trust.DecisionRef{ID: "0b8b8e43-64c5-4d1b-9e2f-2f3a7c1c9a11"}}
	find := func() (*access.FindResult, error) {
		return g.FindDocuments(ctx, access.Call{Principal: gp, Transaction: audit.TxITI67, RequestID: "r1"},
			access.FindRequest{PatientID: patientP, PatientOID: oid.FNR})
	}
	if res, err := find(); err != nil || len(res.Documents) != 2 {
		t.Fatalf("before any block: %+v, %v", res, err)
	}
	doc := registry.SampleUniqueID(501, 1)
	one, err := s.Add(ctx, policy.Block{PatientID: patientP, HPRNumber: gp.HPRNumber, DocumentUniqueIDs: []string{doc}})
	if err != nil {
		t.Fatal(err)
	}
	res, err := find()
	if err != nil || len(res.Documents) != 1 || res.Documents[0].UniqueID == doc || res.Hidden != 1 {
		t.Fatalf("with a block of %s: %+v, %v", doc, res, err)
	}
	// A block of another health worker, and one not yet in force, change
	// nothing; a block of the organisation hides everything.
	if _, err := s.Add(ctx, policy.Block{PatientID: patientP, HPRNumber: "565500039"}); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Add(ctx, policy.Block{PatientID: patientP, OrgNr: org.ID, ValidFrom: t0.Add(time.Hour)}); err != nil {
		t.Fatal(err)
	}
	if res, err := find(); err != nil || len(res.Documents) != 1 {
		t.Fatalf("with others' blocks: %+v, %v", res, err)
	}
	c.t = t0.Add(time.Hour)
	gp.AttestedAt = c.t.Add(-time.Minute)
	// The block hides everything, without announcing itself: an empty
	// answer, recorded as refused by the block.
	if res, err := find(); err != nil || len(res.Documents) != 0 || res.Rule != policy.RulePatientBlock {
		t.Fatalf("with the organisation blocked: %+v, %v", res, err)
	}
	if err := s.Lift(ctx, one.ID); err != nil {
		t.Fatal(err)
	}
	blocks, _ := s.Blocks(ctx, patientP)
	for _, x := range blocks {
		if x.OrgNr == org.ID {
			if err := s.Lift(ctx, x.ID); err != nil {
				t.Fatal(err)
			}
		}
	}
	c.t = c.t.Add(time.Second)
	if res, err := find(); err != nil || len(res.Documents) != 2 {
		t.Fatalf("after lifting: %+v, %v", res, err)
	}
}
