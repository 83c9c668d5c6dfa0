package audit_test

import (
	"bytes"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"pjd/gateway/audit"
	"pjd/gateway/audit/audittest"
	"pjd/registry"
)

var update = flag.Bool("update", false, "rewrite golden files under testdata/audit")

// golden compares got with testdata/audit/name, or rewrites it with -update.
func golden(t *testing.T, name string, got []byte) {
	t.Helper()
	path := filepath.Join("..", "..", "testdata", "audit", name)
	if *update {
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test ./gateway/audit -run %s -update to create it)", err, t.Name())
	}
	if !bytes.Equal(got, want) {
		t.Fatalf("%s differs from the golden file (go test -update rewrites it after review):\n got: %s\nwant: %s", name, got, want)
	}
}

func fixedID() string { return "00000000-0000-4000-8000-000000000001" }

func TestNormalizeFillsAndCleans(t *testing.T) {
	now := time.Date(2024, 3, 19, 7, 45, 1, 987654321, time.FixedZone("CET", 3600))
	r := audittest.SimpleRecord(0, audittest.PatientA)
	r.Time = time.Time{}
	r.Reason = strings.Repeat("é", 5000) // 10 000 bytes of free text
	r.UserAgent = "bad\xffagent\x00with NUL"
	r.Seq, r.Hash = 99, "stale"
	if err := r.Normalize(now, fixedID); err != nil {
		t.Fatal(err)
	}
	if r.ID != fixedID() {
		t.Errorf("ID = %q", r.ID)
	}
	if want := time.Date(2024, 3, 19, 6, 45, 1, 987000000, time.UTC); !r.Time.Equal(want) || r.Time.Location() != time.UTC {
		t.Errorf("Time = %v, want %v in UTC truncated to ms", r.Time, want)
	}
	if len(r.Reason) > 2048 || !strings.HasPrefix(r.Reason, "éé") || !utf8Valid(r.Reason) {
		t.Errorf("Reason not cut on a rune boundary to 2048 bytes: %d bytes", len(r.Reason))
	}
	if r.UserAgent != "bad\uFFFDagentwith NUL" {
		t.Errorf("UserAgent = %q", r.UserAgent)
	}
	if r.Seq != 0 || r.Hash != "" {
		t.Errorf("Seq/Hash not reset: %d %q", r.Seq, r.Hash)
	}
	// A given id and time are kept (time still normalised).
	r2 := audittest.FullRecord()
	if err := r2.Normalize(now, fixedID); err != nil {
		t.Fatal(err)
	}
	if r2.ID != audittest.FullRecord().ID || !r2.Time.Equal(audittest.FullRecord().Time) {
		t.Errorf("given id/time replaced: %q %v", r2.ID, r2.Time)
	}
}

func utf8Valid(s string) bool { return strings.ToValidUTF8(s, "") == s }

// TestValidateRejects has one row per way a record can be unusable; each
// asserts the field the RecordError names.
func TestValidateRejects(t *testing.T) {
	cases := []struct {
		name  string
		mod   func(r *audit.Record)
		field string
	}{
		{"id not a uuid", func(r *audit.Record) { r.ID = "not-a-uuid" }, "id"},
		{"id uppercase braces", func(r *audit.Record) { r.ID = "{7F6C2F0E-4C1E-4D59-9C43-3F1A2B9D0A01}" }, "id"},
		{"transaction empty", func(r *audit.Record) { r.Transaction = "" }, "transaction"},
		{"transaction lowercase", func(r *audit.Record) { r.Transaction = "iti-67" }, "transaction"},
		{"transaction too long", func(r *audit.Record) { r.Transaction = strings.Repeat("A", 33) }, "transaction"},
		{"action unknown", func(r *audit.Record) { r.Action = "write" }, "action"},
		{"outcome unknown", func(r *audit.Record) { r.Outcome = "maybe" }, "outcome"},
		{"permit without rule", func(r *audit.Record) { r.Rule = "" }, "rule"},
		{"rule too long", func(r *audit.Record) { r.Rule = strings.Repeat("r", 129) }, "rule"},
		{"actor kind unknown", func(r *audit.Record) { r.Actor.Kind = "robot" }, "actor.kind"},
		{"actor kind empty", func(r *audit.Record) { r.Actor.Kind = "" }, "actor.kind"},
		{"negative NORS count", func(r *audit.Record) { r.HiddenNORS = -1 }, "hidden_nors_count"},
		{"document without id", func(r *audit.Record) { r.Documents[1].UniqueID = "" }, "documents[1].unique_id"},
		{"document disposition unknown", func(r *audit.Record) { r.Documents[0].Disposition = "lost" }, "documents[0].disposition"},
		{"too many documents", func(r *audit.Record) {
			r.Documents = make([]audit.Document, audit.MaxDocuments+1)
			for i := range r.Documents {
				r.Documents[i] = audit.Document{UniqueID: "x", Disposition: audit.DocReturned}
			}
		}, "documents"},
		{"identifier too long", func(r *audit.Record) { r.PatientID = strings.Repeat("1", 300) }, "identifier"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			r := audittest.FullRecord()
			c.mod(&r)
			err := r.Normalize(audittest.BaseTime, fixedID)
			var re *audit.RecordError
			if !errors.Is(err, audit.ErrInvalidRecord) || !errors.As(err, &re) {
				t.Fatalf("got %v, want a RecordError", err)
			}
			if re.Field != c.field {
				t.Fatalf("RecordError names %q, want %q (%v)", re.Field, c.field, err)
			}
		})
	}
	t.Run("deny and error need no rule", func(t *testing.T) {
		for _, o := range []audit.Outcome{audit.OutcomeDeny, audit.OutcomeError} {
			r := audittest.SimpleRecord(1, audittest.PatientA)
			r.Outcome, r.Rule = o, ""
			if err := r.Normalize(audittest.BaseTime, fixedID); err != nil {
				t.Errorf("%s without rule: %v", o, err)
			}
		}
	})
}

// TestCanonicalBytesAreStable pins the sealed form of a record: a change
// to a JSON field name or to the encoding would make every existing chain
// unverifiable, so it must be a deliberate, reviewed golden-file update.
func TestCanonicalBytesAreStable(t *testing.T) {
	r := audittest.FullRecord()
	if err := r.Normalize(audittest.BaseTime, fixedID); err != nil {
		t.Fatal(err)
	}
	r.Seq = 42
	r.Hash = "ignored"
	body, err := audit.CanonicalBytes(&r)
	if err != nil {
		t.Fatal(err)
	}
	if bytes.Contains(body, []byte("ignored")) {
		t.Fatal("the hash is part of the sealed bytes")
	}
	golden(t, "canonical_full_record.json", append(body, '\n'))
	back, err := audit.DecodeBody(body)
	if err != nil {
		t.Fatal(err)
	}
	r.Hash = ""
	again, _ := audit.CanonicalBytes(&back)
	if !bytes.Equal(again, body) {
		t.Fatal("decode + encode does not reproduce the sealed bytes")
	}
}

func TestDecodeBodyRejects(t *testing.T) {
	for _, body := range []string{
		``, `{`, `[]`, `{"v":2,"id":"x"}`, `{"v":1,"seq":"one"}`, `{"v":1} {"v":1}`, `null`,
	} {
		if _, err := audit.DecodeBody([]byte(body)); !errors.Is(err, audit.ErrCorrupt) {
			t.Errorf("DecodeBody(%q) = %v, want ErrCorrupt", body, err)
		}
	}
}

// TestSealBatchKnownAnswer recomputes the chain independently:
// hash_n = HMAC-SHA256(key, hash_{n-1} ‖ body_n), hash_0 = 32 zero bytes.
func TestSealBatchKnownAnswer(t *testing.T) {
	secret := bytes.Repeat([]byte{0x42}, 32)
	key, err := audit.NewKey(secret)
	if err != nil {
		t.Fatal(err)
	}
	var recs []*audit.Record
	for i := range 3 {
		r := audittest.SimpleRecord(i, audittest.PatientA)
		if err := r.Normalize(audittest.BaseTime, fixedID); err != nil {
			t.Fatal(err)
		}
		recs = append(recs, &r)
	}
	sealed, head, err := audit.SealBatch(key, audit.Head{}, recs)
	if err != nil {
		t.Fatal(err)
	}
	prev := make([]byte, 32)
	for i, s := range sealed {
		if s.Seq != int64(i+1) || recs[i].Seq != s.Seq {
			t.Fatalf("seq %d/%d, want %d", s.Seq, recs[i].Seq, i+1)
		}
		m := hmac.New(sha256.New, secret)
		m.Write(prev)
		m.Write(s.Body)
		want := m.Sum(nil)
		if !bytes.Equal(s.Hash, want) || recs[i].Hash != hex.EncodeToString(want) || !bytes.Equal(s.Prev, prev) {
			t.Fatalf("record %d: hash does not match HMAC-SHA256(key, prev ‖ body)", i+1)
		}
		if !bytes.Contains(s.Body, []byte(`"seq":`+string(rune('1'+i)))) {
			t.Fatalf("record %d: seq not inside the sealed body: %s", i+1, s.Body)
		}
		prev = want
	}
	if head.Seq != 3 || !bytes.Equal(head.Hash, prev) {
		t.Fatalf("head %v", head)
	}
	// Continuing from a head chains onto it.
	r := audittest.SimpleRecord(9, audittest.PatientA)
	r.Normalize(audittest.BaseTime, fixedID)
	more, _, _ := audit.SealBatch(key, head, []*audit.Record{&r})
	if more[0].Seq != 4 || !bytes.Equal(more[0].Prev, head.Hash) {
		t.Fatalf("continuation: seq %d, prev linked %v", more[0].Seq, bytes.Equal(more[0].Prev, head.Hash))
	}
	if _, _, err := audit.SealBatch(nil, audit.Head{}, recs); !errors.Is(err, audit.ErrBadKey) {
		t.Fatalf("SealBatch without key = %v", err)
	}
}

func TestKeys(t *testing.T) {
	dir := t.TempDir()
	write := func(name, content string, mode os.FileMode) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(content), mode); err != nil {
			t.Fatal(err)
		}
		os.Chmod(p, mode)
		return p
	}
	good := strings.Repeat("ab", 32)
	cases := []struct {
		name    string
		path    string
		wantErr bool
	}{
		{"hex with newline", write("good", good+"\n", 0o600), false},
		{"longer key", write("long", strings.Repeat("cd", 64), 0o400), false},
		{"group readable is fine", write("groupread", good, 0o640), false},
		{"too short", write("short", strings.Repeat("ab", 31), 0o600), true},
		{"not hex", write("nothex", strings.Repeat("zz", 32), 0o600), true},
		{"empty", write("empty", "", 0o600), true},
		{"world writable", write("ww", good, 0o666), true},
		{"group writable", write("gw", good, 0o620), true},
		{"missing", filepath.Join(dir, "missing"), true},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			k, err := audit.LoadKey(c.path)
			if c.wantErr {
				if !errors.Is(err, audit.ErrBadKey) {
					t.Fatalf("LoadKey = %v, want ErrBadKey", err)
				}
				return
			}
			if err != nil || k.ID() == "" {
				t.Fatalf("LoadKey = %v", err)
			}
		})
	}
	a, _ := audit.LoadKey(filepath.Join(dir, "good"))
	b, _ := audit.LoadKey(filepath.Join(dir, "groupread"))
	if a.ID() != b.ID() {
		t.Error("same key material, different key ids")
	}
	if strings.Contains(a.ID(), "abab") {
		t.Error("key id reveals key material")
	}

	dev := t.TempDir()
	k1, err := audit.LoadOrCreateDevKey(dev)
	if err != nil {
		t.Fatal(err)
	}
	st, err := os.Stat(filepath.Join(dev, audit.DevKeyFile))
	if err != nil || st.Mode().Perm() != 0o600 {
		t.Fatalf("dev key file mode %v, %v; want 0600", st.Mode().Perm(), err)
	}
	k2, err := audit.LoadOrCreateDevKey(dev)
	if err != nil || k2.ID() != k1.ID() {
		t.Fatalf("dev key not stable across restarts: %v", err)
	}
	if k3, _ := audit.LoadOrCreateDevKey(t.TempDir()); k3.ID() == k1.ID() {
		t.Fatal("two data dirs got the same dev key")
	}
}

func TestParseHead(t *testing.T) {
	h := audit.Head{Seq: 12, Hash: bytes.Repeat([]byte{7}, 32)}
	back, err := audit.ParseHead(h.String())
	if err != nil || back.Seq != 12 || !bytes.Equal(back.Hash, h.Hash) {
		t.Fatalf("round trip: %v %v", back, err)
	}
	for _, s := range []string{"", "12", "x:00", "0:" + hex.EncodeToString(h.Hash), "-1:" + hex.EncodeToString(h.Hash), "12:abcd", "12:" + strings.Repeat("zz", 32)} {
		if _, err := audit.ParseHead(s); err == nil {
			t.Errorf("ParseHead(%q) succeeded", s)
		}
	}
}

func TestSyntheticFixtures(t *testing.T) {
	for _, n := range []string{audittest.PatientA, audittest.PatientB, audittest.DoctorPID, audittest.NursePID, audittest.OfficerPID} {
		if id, ok := registry.NorwegianIDWithCheckDigits(n[:9]); !ok || id != n {
			t.Errorf("%s: invalid check digits", n)
		}
		if m := int(n[2]-'0')*10 + int(n[3]-'0'); m < 81 || m > 92 {
			t.Errorf("%s: month %d is not a synthetic (month + 80) month", n, m)
		}
	}
}
