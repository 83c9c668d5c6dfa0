package sqlaudit_test

import (
	"context"
	"errors"
	"os"
	"strconv"
	"strings"
	"sync"
	"testing"

	"pjd/conformance/testenv"
	"pjd/gateway/audit"
	"pjd/gateway/audit/audittest"
	"pjd/gateway/audit/sqlaudit"
	"pjd/registry/schema"
)

func TestMain(m *testing.M) { os.Exit(testenv.Main(m)) }

// backend is one database engine under test.
type backend struct {
	name string
	// fresh returns the address (path or URL) of a new, empty database.
	fresh func(t *testing.T) string
	// connect opens the audit log, migrated, in the database at addr, as
	// pjd does; close releases what it opened.
	connect func(ctx context.Context, addr string) (s *sqlaudit.Store, close func(), err error)
}

func (b backend) open(t testing.TB, dsn string) *sqlaudit.Store {
	t.Helper()
	s, closeFn, err := b.connect(context.Background(), dsn)
	if err != nil {
		t.Fatalf("open %s: %v", b.name, err)
	}
	t.Cleanup(closeFn)
	return s
}

// runAll runs every store test against b: the shared audit.Store suite,
// then the SQL-level tests (tampering, triggers, migrations).
func runAll(t *testing.T, b backend) {
	dsns := map[audit.Store]string{}
	var mu sync.Mutex
	t.Run("Suite", func(t *testing.T) {
		audittest.Run(t, audittest.Backend{
			Open: func(t *testing.T) audit.Store {
				dsn := b.fresh(t)
				s := b.open(t, dsn)
				mu.Lock()
				dsns[s] = dsn
				mu.Unlock()
				return s
			},
			Reopen: func(t *testing.T, s audit.Store) audit.Store {
				mu.Lock()
				dsn := dsns[s]
				mu.Unlock()
				return b.open(t, dsn)
			},
		})
	})
	t.Run("Tamper", func(t *testing.T) { runTamper(t, b) })
	t.Run("AppendOnlyTriggers", func(t *testing.T) { runTriggers(t, b) })
	t.Run("Migrations", func(t *testing.T) { runMigrations(t, b) })
}

// exec runs raw SQL written with ? placeholders, as someone with direct
// database access would.
func exec(t *testing.T, s *sqlaudit.Store, query string, args ...any) {
	t.Helper()
	if _, err := s.DB().ExecContext(context.Background(), placeholders(s, query), args...); err != nil {
		t.Fatalf("%s: %v", query, err)
	}
}

func execErr(s *sqlaudit.Store, query string, args ...any) error {
	_, err := s.DB().ExecContext(context.Background(), placeholders(s, query), args...)
	return err
}

func placeholders(s *sqlaudit.Store, query string) string {
	if s.Dialect() != "postgres" {
		return query
	}
	var b strings.Builder
	n := 0
	for _, c := range query {
		if c == '?' {
			n++
			b.WriteString("$" + strconv.Itoa(n))
			continue
		}
		b.WriteRune(c)
	}
	return b.String()
}

// disableTriggers removes the append-only defence, as an attacker who owns
// the database (or the file) can.
func disableTriggers(t *testing.T, s *sqlaudit.Store) {
	t.Helper()
	if s.Dialect() == "postgres" {
		for _, tbl := range sqlaudit.AuditTables {
			exec(t, s, "ALTER TABLE "+tbl+" DISABLE TRIGGER USER")
		}
		return
	}
	for _, tbl := range sqlaudit.AuditTables {
		for _, op := range []string{"update", "delete", "replace"} {
			exec(t, s, "DROP TRIGGER "+tbl+"_no_"+op)
		}
	}
}

// tamperFixture appends ten records in three batches (checkpoints at 3,
// 7 and 10) and returns the head.
func tamperFixture(t *testing.T, s *sqlaudit.Store, key *audit.Key) audit.Head {
	t.Helper()
	var recs []audit.Record
	for i := 1; i <= 10; i++ {
		r := audittest.SimpleRecord(i, audittest.PatientA)
		if i == 3 {
			r.Documents = append(r.Documents, audit.Document{UniqueID: "second-doc", Disposition: audit.DocRefused})
		}
		recs = append(recs, r)
	}
	audittest.Append(t, s, key, recs[0:3]...)
	audittest.Append(t, s, key, recs[3:7]...)
	audittest.Append(t, s, key, recs[7:10]...)
	h, err := s.Head(context.Background())
	if err != nil || h.Seq != 10 {
		t.Fatalf("fixture head %v, %v", h, err)
	}
	return h
}

const recordCols = `seq, id, recorded_ms, transaction_code, outcome, patient_id, actor_pid, actor_hpr,
	purpose_code, flagged, key_id, prev_hash, hash, body`

// shiftUp moves records with seq ≥ from one place up (making room for an
// insertion), in two steps so no unique check trips midway.
func shiftUp(t *testing.T, s *sqlaudit.Store, from int) {
	exec(t, s, "UPDATE audit_records SET seq = seq + 1000 WHERE seq >= ?", from)
	exec(t, s, "UPDATE audit_records SET seq = seq - 999 WHERE seq >= 1000")
}

func runTamper(t *testing.T, b backend) {
	type tamperCase struct {
		name   string
		tamper func(t *testing.T, s *sqlaudit.Store)
		// useWant verifies against the head recorded before tampering (as
		// from a previous verify run or the syslog repository).
		useWant bool
		seq     int64
		kind    audit.ProblemKind
	}
	cases := []tamperCase{
		{"update body", func(t *testing.T, s *sqlaudit.Store) {
			exec(t, s, "UPDATE audit_records SET body = REPLACE(body, ?, ?) WHERE seq = 5", audittest.PatientA, audittest.PatientB)
		}, false, 5, audit.ProblemChanged},
		{"update body and index column together", func(t *testing.T, s *sqlaudit.Store) {
			exec(t, s, "UPDATE audit_records SET body = REPLACE(body, ?, ?), patient_id = ? WHERE seq = 5",
				audittest.PatientA, audittest.PatientB, audittest.PatientB)
		}, false, 5, audit.ProblemChanged},
		{"update index column patient_id", func(t *testing.T, s *sqlaudit.Store) {
			exec(t, s, "UPDATE audit_records SET patient_id = ? WHERE seq = 5", audittest.PatientB)
		}, false, 5, audit.ProblemChanged},
		{"update index column outcome", func(t *testing.T, s *sqlaudit.Store) {
			exec(t, s, "UPDATE audit_records SET outcome = 'deny' WHERE seq = 7")
		}, false, 7, audit.ProblemChanged},
		{"update index column recorded time", func(t *testing.T, s *sqlaudit.Store) {
			exec(t, s, "UPDATE audit_records SET recorded_ms = recorded_ms + 1 WHERE seq = 2")
		}, false, 2, audit.ProblemChanged},
		{"update hash", func(t *testing.T, s *sqlaudit.Store) {
			exec(t, s, "UPDATE audit_records SET hash = (SELECT hash FROM audit_records WHERE seq = 4) WHERE seq = 5")
		}, false, 5, audit.ProblemChanged},
		{"update key id column", func(t *testing.T, s *sqlaudit.Store) {
			exec(t, s, "UPDATE audit_records SET key_id = 'deadbeefdeadbeef' WHERE seq = 8")
		}, false, 8, audit.ProblemChanged},
		{"delete an entity row", func(t *testing.T, s *sqlaudit.Store) {
			exec(t, s, "DELETE FROM audit_record_entities WHERE seq = 3 AND entity_id = 'second-doc'")
		}, false, 3, audit.ProblemChanged},
		{"insert an entity row", func(t *testing.T, s *sqlaudit.Store) {
			exec(t, s, "INSERT INTO audit_record_entities (seq, entity_id) VALUES (6, 'planted-doc')")
		}, false, 6, audit.ProblemChanged},
		{"delete a middle record", func(t *testing.T, s *sqlaudit.Store) {
			exec(t, s, "DELETE FROM audit_records WHERE seq = 5")
		}, false, 5, audit.ProblemRemoved},
		{"delete two middle records", func(t *testing.T, s *sqlaudit.Store) {
			exec(t, s, "DELETE FROM audit_records WHERE seq IN (5, 6)")
		}, false, 5, audit.ProblemRemoved},
		{"delete the first record", func(t *testing.T, s *sqlaudit.Store) {
			exec(t, s, "DELETE FROM audit_records WHERE seq = 1")
		}, false, 1, audit.ProblemRemoved},
		{"delete a record and renumber the rest", func(t *testing.T, s *sqlaudit.Store) {
			exec(t, s, "DELETE FROM audit_records WHERE seq = 5")
			exec(t, s, "UPDATE audit_records SET seq = seq + 1000 WHERE seq > 5")
			exec(t, s, "UPDATE audit_records SET seq = seq - 1001 WHERE seq > 1000")
		}, false, 5, audit.ProblemRemoved},
		{"delete the tail", func(t *testing.T, s *sqlaudit.Store) {
			exec(t, s, "DELETE FROM audit_records WHERE seq >= 9")
		}, false, 9, audit.ProblemTruncated},
		{"delete the tail and its checkpoint (caught by the external head)", func(t *testing.T, s *sqlaudit.Store) {
			exec(t, s, "DELETE FROM audit_records WHERE seq = 10")
			exec(t, s, "DELETE FROM audit_heads WHERE seq = 10")
		}, true, 10, audit.ProblemTruncated},
		{"swap two seqs", func(t *testing.T, s *sqlaudit.Store) {
			exec(t, s, "UPDATE audit_records SET seq = -4 WHERE seq = 4")
			exec(t, s, "UPDATE audit_records SET seq = 4 WHERE seq = 5")
			exec(t, s, "UPDATE audit_records SET seq = 5 WHERE seq = -4")
		}, false, 4, audit.ProblemReordered},
		{"swap two rows' contents", func(t *testing.T, s *sqlaudit.Store) {
			exec(t, s, "UPDATE audit_records SET seq = -8 WHERE seq = 8")
			exec(t, s, "UPDATE audit_records SET seq = 8 WHERE seq = 9")
			exec(t, s, "UPDATE audit_records SET seq = 9 WHERE seq = -8")
			exec(t, s, "UPDATE audit_record_entities SET seq = -8 WHERE seq = 8")
			exec(t, s, "UPDATE audit_record_entities SET seq = 8 WHERE seq = 9")
			exec(t, s, "UPDATE audit_record_entities SET seq = 9 WHERE seq = -8")
		}, false, 8, audit.ProblemReordered},
		{"insert a forged record in the middle", func(t *testing.T, s *sqlaudit.Store) {
			shiftUp(t, s, 6)
			exec(t, s, `INSERT INTO audit_records (`+recordCols+`)
				SELECT 6, 'forged-id', recorded_ms, transaction_code, outcome, patient_id, actor_pid, actor_hpr,
				purpose_code, flagged, key_id, hash, hash, REPLACE(body, '"seq":5', '"seq":6')
				FROM audit_records WHERE seq = 5`)
		}, false, 6, audit.ProblemInserted},
		{"insert a copy of an earlier record", func(t *testing.T, s *sqlaudit.Store) {
			shiftUp(t, s, 6)
			exec(t, s, `INSERT INTO audit_records (`+recordCols+`)
				SELECT 6, 'copy-id', recorded_ms, transaction_code, outcome, patient_id, actor_pid, actor_hpr,
				purpose_code, flagged, key_id, prev_hash, hash, body
				FROM audit_records WHERE seq = 2`)
		}, false, 6, audit.ProblemInserted},
		{"append a forged record", func(t *testing.T, s *sqlaudit.Store) {
			exec(t, s, `INSERT INTO audit_records (`+recordCols+`)
				SELECT 11, 'forged-end', recorded_ms, transaction_code, outcome, patient_id, actor_pid, actor_hpr,
				purpose_code, flagged, key_id, hash, hash, REPLACE(body, '"seq":10', '"seq":11')
				FROM audit_records WHERE seq = 10`)
		}, false, 11, audit.ProblemInserted},
		{"update the head checkpoint", func(t *testing.T, s *sqlaudit.Store) {
			exec(t, s, "UPDATE audit_heads SET hash = (SELECT hash FROM audit_records WHERE seq = 9) WHERE seq = 10")
		}, false, 10, audit.ProblemHeadMismatch},
		{"delete every checkpoint", func(t *testing.T, s *sqlaudit.Store) {
			exec(t, s, "DELETE FROM audit_heads")
		}, false, 1, audit.ProblemHeadMismatch},
	}
	key := audittest.Key(t)
	t.Run("untampered", func(t *testing.T) {
		s := b.open(t, b.fresh(t))
		want := tamperFixture(t, s, key)
		rep, err := audit.VerifyWith(context.Background(), s, key, audit.VerifyOptions{Want: &want})
		if err != nil || !rep.OK() || rep.Records != 10 {
			t.Fatalf("Verify = %v, %v", rep, err)
		}
	})
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			s := b.open(t, b.fresh(t))
			want := tamperFixture(t, s, key)
			disableTriggers(t, s)
			c.tamper(t, s)
			opts := audit.VerifyOptions{}
			if c.useWant {
				opts.Want = &want
			}
			rep, err := audit.VerifyWith(context.Background(), s, key, opts)
			if err != nil {
				t.Fatal(err)
			}
			if rep.OK() {
				t.Fatalf("tampering not detected: %v", rep)
			}
			if rep.Problem.Seq != c.seq || rep.Problem.Kind != c.kind {
				t.Fatalf("got %v; want %s at record %d", rep.Problem, c.kind, c.seq)
			}
			t.Logf("%s: %v", b.name, rep)
		})
	}
	t.Run("appending after a truncated tail leaves the gap visible", func(t *testing.T) {
		s := b.open(t, b.fresh(t))
		tamperFixture(t, s, key)
		disableTriggers(t, s)
		exec(t, s, "DELETE FROM audit_records WHERE seq >= 9")
		audittest.Append(t, s, key, audittest.SimpleRecord(11, audittest.PatientA))
		rep, err := audit.Verify(context.Background(), s, key)
		if err != nil {
			t.Fatal(err)
		}
		if rep.OK() || rep.Problem.Kind != audit.ProblemRemoved || rep.Problem.Seq != 9 {
			t.Fatalf("got %v; want removed at 9", rep)
		}
	})
}

// runTriggers checks the defence in depth: without first disabling the
// triggers, nobody can change or remove audit rows.
func runTriggers(t *testing.T, b backend) {
	s := b.open(t, b.fresh(t))
	key := audittest.Key(t)
	tamperFixture(t, s, key)
	stmts := []string{
		"UPDATE audit_records SET patient_id = 'x' WHERE seq = 1",
		"DELETE FROM audit_records WHERE seq = 10",
		"UPDATE audit_record_entities SET entity_id = 'x' WHERE seq = 1",
		"DELETE FROM audit_record_entities",
		"UPDATE audit_heads SET seq = 99 WHERE seq = 10",
		"DELETE FROM audit_heads WHERE seq = 10",
	}
	if s.Dialect() == "postgres" {
		stmts = append(stmts, "TRUNCATE audit_records", "TRUNCATE audit_record_entities", "TRUNCATE audit_heads")
	} else {
		// A replacing insert deletes the row in its way without firing
		// the DELETE trigger: refused before it gets that far.
		stmts = append(stmts,
			"INSERT OR REPLACE INTO audit_records ("+recordCols+") SELECT "+recordCols+" FROM audit_records WHERE seq = 5",
			"REPLACE INTO audit_records ("+recordCols+") SELECT "+recordCols+" FROM audit_records WHERE seq = 10",
			"INSERT OR REPLACE INTO audit_records ("+recordCols+") SELECT 99, id, recorded_ms, transaction_code, outcome, patient_id, actor_pid, actor_hpr, purpose_code, flagged, key_id, prev_hash, hash, body FROM audit_records WHERE seq = 4",
			"INSERT OR REPLACE INTO audit_record_entities (seq, entity_id) SELECT seq, entity_id FROM audit_record_entities WHERE seq = 3",
			"INSERT OR REPLACE INTO audit_heads (seq, hash, key_id, recorded_ms) SELECT seq, hash, key_id, recorded_ms + 1 FROM audit_heads WHERE seq = 10")
	}
	if s.Dialect() == "postgres" {
		// An upsert's update fires the UPDATE trigger.
		stmts = append(stmts, "INSERT INTO audit_heads (seq, hash, key_id, recorded_ms) SELECT seq, hash, key_id, recorded_ms FROM audit_heads WHERE seq = 10 ON CONFLICT (seq) DO UPDATE SET recorded_ms = 1")
	}
	for _, q := range stmts {
		err := execErr(s, q)
		if err == nil || !strings.Contains(err.Error(), "append-only") {
			t.Errorf("%s: got %v, want the append-only trigger to refuse it", q, err)
		}
	}
	rep, err := audit.Verify(context.Background(), s, key)
	if err != nil || !rep.OK() || rep.Records != 10 {
		t.Fatalf("Verify after refused changes = %v, %v", rep, err)
	}
}

func runMigrations(t *testing.T, b backend) {
	ctx := context.Background()
	dsn := b.fresh(t)
	// Several processes starting at once against an empty database.
	var wg sync.WaitGroup
	errs := make([]error, 4)
	for i := range errs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			s, closeFn, err := b.connect(ctx, dsn)
			if err == nil {
				err = s.Migrate(ctx)
				closeFn()
			}
			errs[i] = err
		}()
	}
	wg.Wait()
	for _, err := range errs {
		if err != nil {
			t.Fatalf("concurrent open: %v", err)
		}
	}
	s := b.open(t, dsn)
	want := map[string]int{"postgres": 1, "sqlite": 2}[s.Dialect()] // the migration files of each dialect
	var n int
	if err := s.DB().QueryRowContext(ctx, "SELECT COUNT(*) FROM pjd_migrations WHERE component = 'audit'").Scan(&n); err != nil || n != want {
		t.Fatalf("%d audit migration rows, %v; want %d", n, err, want)
	}
	// A database from a newer pjd is refused, not silently used.
	exec(t, s, "INSERT INTO pjd_migrations (component, version, name, checksum) VALUES ('audit', 999, '0999_future.sql', 'x')")
	if _, _, err := b.connect(ctx, dsn); !errors.Is(err, schema.ErrTooNew) {
		t.Fatalf("opening a newer schema = %v, want schema.ErrTooNew", err)
	}
	if err := s.Migrate(ctx); !errors.Is(err, schema.ErrTooNew) {
		t.Fatalf("Migrate of a newer schema = %v, want schema.ErrTooNew", err)
	}
}
