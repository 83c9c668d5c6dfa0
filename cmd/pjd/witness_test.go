package main

import (
	"bytes"
	"context"
	"database/sql"
	"errors"
	"fmt"
	"net/http"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	_ "github.com/jackc/pgx/v5/stdlib" // the PostgreSQL driver, to tamper as the owner
	_ "modernc.org/sqlite"

	"pjd/gateway/audit"
)

// The audit witness end to end: pjd serve writes the chain's head outside
// the database — a folder in the data folder with --dev, the document
// bucket in production — and `pjd audit verify` checks against it by
// default. When the database's owner deletes the newest records together
// with their checkpoints (leaving a chain that is intact on its own),
// verify fails and names the witness.
func TestAuditWitness(t *testing.T) {
	for _, backend := range []string{backendEmbedded, backendProduction} {
		t.Run(backend, func(t *testing.T) {
			s := startServer(t, backend, "--audit-witness-interval=50ms")
			ctx := context.Background()
			// Audited requests: refusals are recorded too.
			for range 3 {
				resp, err := http.Get(s.URL + "/fhir/R4/DocumentReference?patient.identifier=x")
				if err != nil {
					t.Fatal(err)
				}
				resp.Body.Close()
			}
			head, err := s.app.auditStore.Head(ctx)
			if err != nil || head.Seq < 3 {
				t.Fatalf("head %v, %v", head, err)
			}
			waitUntil(t, func() bool {
				wh, ok, err := s.app.witness.Latest(ctx)
				return err == nil && ok && wh.Head.Seq == head.Seq
			})

			verify := func(extra ...string) (string, error) {
				args := []string{"--data", s.Data}
				if backend == backendProduction {
					c := s.cfg
					args = append(args, "--postgres-url", c.postgresURL, "--s3-endpoint", c.s3Endpoint, "--s3-bucket", c.s3Bucket,
						"--s3-access-key", c.s3AccessKey, "--s3-secret-key", c.s3SecretKey, "--s3-insecure")
				}
				var out bytes.Buffer
				code := run(ctx, append(append([]string{"audit"}, args...), append([]string{"verify"}, extra...)...), &out, &out)
				switch code {
				case 0:
					return out.String(), nil
				case 1:
					return out.String(), audit.ErrVerifyFailed
				}
				return out.String(), fmt.Errorf("pjd audit verify: exit status %d", code)
			}
			out, err := verify()
			if err != nil || !strings.Contains(out, "matches the witness written at") {
				t.Fatalf("verify: %v\n%s", err, out)
			}

			// As the owner: delete the newest record and its checkpoint,
			// and leave a checkpoint that fits what is left.
			tamper(t, s, head.Seq)
			if out, err := verify("--no-witness"); err != nil {
				t.Fatalf("without the witness the truncation is invisible, as documented: %v\n%s", err, out)
			}
			out, err = verify()
			if !errors.Is(err, audit.ErrVerifyFailed) || !strings.Contains(out, "truncated: the witness head") ||
				!strings.Contains(out, s.app.witness.String()) {
				t.Fatalf("verify after deleting the newest record: %v\n%s", err, out)
			}
		})
	}
}

func tamper(t *testing.T, s *testServer, last int64) {
	t.Helper()
	var db *sql.DB
	var err error
	var disable []string
	ph := func(n int) string { return "$" + strconv.Itoa(n) }
	if s.cfg.postgresURL != "" {
		db, err = sql.Open("pgx", s.cfg.postgresURL)
		disable = []string{"ALTER TABLE audit_records DISABLE TRIGGER USER", "ALTER TABLE audit_record_entities DISABLE TRIGGER USER",
			"ALTER TABLE audit_heads DISABLE TRIGGER USER"}
	} else {
		db, err = sql.Open("sqlite", "file:"+filepath.Join(s.Data, "registry.db")+"?_pragma=busy_timeout(10000)")
		disable = []string{"DROP TRIGGER audit_records_no_delete", "DROP TRIGGER audit_record_entities_no_delete",
			"DROP TRIGGER audit_heads_no_delete", "DROP TRIGGER audit_heads_no_replace"}
		ph = func(n int) string { return "?" + strconv.Itoa(n) }
	}
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	for _, q := range disable {
		if _, err := db.Exec(q); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
	}
	for _, st := range []struct {
		q    string
		args []any
	}{
		{"DELETE FROM audit_record_entities WHERE seq = " + ph(1), []any{last}},
		{"DELETE FROM audit_records WHERE seq = " + ph(1), []any{last}},
		{"DELETE FROM audit_heads WHERE seq = " + ph(1), []any{last}},
		{"INSERT INTO audit_heads (seq, hash, key_id, recorded_ms) SELECT seq, hash, key_id, recorded_ms FROM audit_records r WHERE seq = " + ph(1) +
			" AND NOT EXISTS (SELECT 1 FROM audit_heads h WHERE h.seq = r.seq)", []any{last - 1}},
	} {
		if _, err := db.Exec(st.q, st.args...); err != nil {
			t.Fatalf("%s: %v", st.q, err)
		}
	}
}

func waitUntil(t *testing.T, cond func() bool) {
	t.Helper()
	for deadline := time.Now().Add(30 * time.Second); !cond(); {
		if time.Now().After(deadline) {
			t.Fatal("condition not reached")
		}
		time.Sleep(20 * time.Millisecond)
	}
}
