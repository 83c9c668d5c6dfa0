package audit_test

import (
	"context"
	"errors"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"pjd/gateway/audit"
	"pjd/gateway/audit/audittest"
	"pjd/gateway/audit/sqlaudit"
	"pjd/repository/fs"
)

func fileWitness(t *testing.T) *audit.BlobWitness {
	t.Helper()
	dir := filepath.Join(t.TempDir(), "audit-witness")
	st, err := fs.Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	return &audit.BlobWitness{Store: st, Prefix: "heads/", Where: dir}
}

// The witness keeps every head it is given as its own object and hands
// back the newest (highest seq), however the heads were written.
func TestBlobWitness(t *testing.T) {
	ctx := context.Background()
	w := fileWitness(t)
	if _, ok, err := w.Latest(ctx); ok || err != nil {
		t.Fatalf("empty witness: %v, %v", ok, err)
	}
	h := func(seq int64, b byte) audit.Head {
		hash := make([]byte, audit.HashSize)
		hash[0] = b
		return audit.Head{Seq: seq, Hash: hash}
	}
	t0 := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	for i, hd := range []audit.Head{h(9, 1), h(120, 2), h(10, 3), h(120, 2)} {
		if err := w.Write(ctx, hd, t0.Add(time.Duration(i)*time.Minute)); err != nil {
			t.Fatal(err)
		}
	}
	got, ok, err := w.Latest(ctx)
	if err != nil || !ok || got.Head.Seq != 120 || got.Head.Hash[0] != 2 || !got.WrittenAt.Equal(t0.Add(3*time.Minute)) {
		t.Fatalf("Latest = %+v, %v, %v", got, ok, err)
	}
	if err := w.Write(ctx, audit.Head{}, t0); err == nil {
		t.Fatal("wrote an empty head")
	}
}

// RunWitness writes the head when it changed, and once more when it
// stops.
func TestRunWitness(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	s, err := sqlaudit.OpenSQLite(ctx, filepath.Join(t.TempDir(), "pjd.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	key := audittest.Key(t)
	audittest.Append(t, s, key, audittest.SimpleRecord(1, audittest.PatientA), audittest.SimpleRecord(2, audittest.PatientA))
	w := fileWitness(t)
	done := make(chan struct{})
	go func() { audit.RunWitness(ctx, s, w, time.Hour, nil, nil); close(done) }()
	waitFor(t, func() bool { wh, ok, _ := w.Latest(context.Background()); return ok && wh.Head.Seq == 2 })
	audittest.Append(t, s, key, audittest.SimpleRecord(3, audittest.PatientB))
	cancel()
	<-done
	if wh, ok, err := w.Latest(context.Background()); err != nil || !ok || wh.Head.Seq != 3 {
		t.Fatalf("after stopping: %+v, %v, %v; want head 3", wh, ok, err)
	}
}

func waitFor(t *testing.T, cond func() bool) {
	t.Helper()
	for deadline := time.Now().Add(30 * time.Second); !cond(); {
		if time.Now().After(deadline) {
			t.Fatal("condition not reached")
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// Deleting the newest records together with their checkpoints leaves a
// shorter chain that verifies on its own; `pjd audit verify` checks it
// against the witness by default and fails naming it.
func TestCLIVerifyAgainstWitness(t *testing.T) {
	ctx := context.Background()
	c := newCLI(t, false)
	w := fileWitness(t)
	c.env.Witness = func(context.Context) (audit.Witness, error) { return w, nil }
	if err := c.run("verify"); err != nil || !strings.Contains(c.stdout.String(), "holds no head yet") {
		t.Fatalf("verify with an empty witness: %v\n%s", err, c.stdout.String())
	}
	s, err := sqlaudit.OpenSQLite(ctx, c.path)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	head, err := s.Head(ctx)
	if err != nil {
		t.Fatal(err)
	}
	written := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	if err := w.Write(ctx, head, written); err != nil {
		t.Fatal(err)
	}
	if err := c.run("verify"); err != nil || !strings.Contains(c.stdout.String(), "witness: head 6 matches the witness written at 2026-03-01T12:00:00Z") {
		t.Fatalf("verify against the witness: %v\n%s", err, c.stdout.String())
	}

	// The database's owner deletes the newest record and its checkpoint,
	// and leaves a checkpoint that fits what is left.
	for _, q := range []string{
		"DROP TRIGGER audit_records_no_delete", "DROP TRIGGER audit_heads_no_delete",
		"DELETE FROM audit_records WHERE seq = 6", "DELETE FROM audit_heads WHERE seq = 6",
		"INSERT INTO audit_heads (seq, hash, key_id, recorded_ms) SELECT seq, hash, key_id, recorded_ms FROM audit_records WHERE seq = 5",
	} {
		if _, err := s.DB().Exec(q); err != nil {
			t.Fatal(err)
		}
	}
	if err := c.run("verify", "--no-witness"); err != nil {
		t.Fatalf("without the witness the truncation is invisible, as documented: %v", err)
	}
	err = c.run("verify")
	out := c.stdout.String()
	if !errors.Is(err, audit.ErrVerifyFailed) || !strings.Contains(out, "first bad record 6: truncated: the witness head (written 2026-03-01T12:00:00Z to "+w.Where+")") ||
		!strings.Contains(out, "records after 5 up to the witness head 6") {
		t.Fatalf("verify after deleting the newest record: %v\n%s", err, out)
	}
}
