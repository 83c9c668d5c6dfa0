// Package audittest holds the suite every audit.Store must pass, and the
// synthetic fixtures the audit tests share. sqlaudit runs it against
// SQLite and PostgreSQL.
package audittest

import (
	"bytes"
	"context"
	"encoding/hex"
	"errors"
	"fmt"
	"reflect"
	"sync"
	"testing"
	"time"

	"pjd/gateway/audit"
)

// Backend opens stores for the suite.
type Backend struct {
	// Open returns an empty, migrated store that t cleans up.
	Open func(t *testing.T) audit.Store
	// Reopen returns a second, independent handle on s's database, as
	// another gateway process would have.
	Reopen func(t *testing.T, s audit.Store) audit.Store
}

// Key returns the fixed chain key the suite seals with.
func Key(t testing.TB) *audit.Key {
	t.Helper()
	return newKey(t, "pjd-audit-test-key-")
}

// OtherKey returns a second key, for wrong-key checks.
func OtherKey(t testing.TB) *audit.Key {
	t.Helper()
	return newKey(t, "another-test-key-0123456789")
}

// newKey makes a chain key of seed, twice.
func newKey(t testing.TB, seed string) *audit.Key {
	t.Helper()
	k, err := audit.NewKey(bytes.Repeat([]byte(seed), 2))
	if err != nil {
		t.Fatal(err)
	}
	return k
}

// Append normalizes recs (ids from a counter so runs are reproducible)
// and appends them in one batch; it returns the stored records.
func Append(t testing.TB, s audit.Store, key *audit.Key, recs ...audit.Record) []audit.Record {
	t.Helper()
	ptrs := make([]*audit.Record, len(recs))
	for i := range recs {
		r := recs[i].Clone()
		if err := r.Normalize(BaseTime, audit.NewID); err != nil {
			t.Fatalf("normalize record %d: %v", i, err)
		}
		ptrs[i] = &r
	}
	if err := s.Append(context.Background(), key, ptrs); err != nil {
		t.Fatalf("Append: %v", err)
	}
	out := make([]audit.Record, len(ptrs))
	for i, p := range ptrs {
		out[i] = *p
	}
	return out
}

// Run runs the suite.
func Run(t *testing.T, b Backend) {
	t.Run("Empty", func(t *testing.T) { testEmpty(t, b) })
	t.Run("AppendSealsInOrder", func(t *testing.T) { testAppend(t, b) })
	t.Run("RoundTripEveryField", func(t *testing.T) { testRoundTrip(t, b) })
	t.Run("Filters", func(t *testing.T) { testFilters(t, b) })
	t.Run("Paging", func(t *testing.T) { testPaging(t, b) })
	t.Run("IterateStreamsAll", func(t *testing.T) { testIterate(t, b) })
	t.Run("InvalidRecordStoresNothing", func(t *testing.T) { testInvalid(t, b) })
	t.Run("Cancelled", func(t *testing.T) { testCancelled(t, b) })
	t.Run("ConcurrentAppendersShareOneChain", func(t *testing.T) { testConcurrent(t, b) })
	t.Run("VerifyWrongKey", func(t *testing.T) { testWrongKey(t, b) })
	t.Run("LoggerGroupCommit", func(t *testing.T) { testLogger(t, b) })
}

func testEmpty(t *testing.T, b Backend) {
	s := b.Open(t)
	ctx := context.Background()
	h, err := s.Head(ctx)
	if err != nil || h.Seq != 0 || len(h.Hash) != 0 {
		t.Fatalf("Head of empty store = %v, %v; want zero", h, err)
	}
	p, err := s.Search(ctx, audit.Filter{})
	if err != nil || len(p.Records) != 0 || p.Next != 0 {
		t.Fatalf("Search of empty store = %+v, %v", p, err)
	}
	rep, err := audit.Verify(ctx, s, Key(t))
	if err != nil || !rep.OK() || rep.Records != 0 {
		t.Fatalf("Verify of empty store = %v, %v", rep, err)
	}
	if err := s.Append(ctx, Key(t), nil); err != nil {
		t.Fatalf("Append of nothing: %v", err)
	}
	if h, _ := s.Head(ctx); h.Seq != 0 {
		t.Fatalf("Append of nothing moved the head to %v", h)
	}
}

func testAppend(t *testing.T, b Backend) {
	s := b.Open(t)
	ctx := context.Background()
	key := Key(t)
	first := Append(t, s, key, SimpleRecord(1, PatientA), SimpleRecord(2, PatientA), SimpleRecord(3, PatientB))
	second := Append(t, s, key, SimpleRecord(4, PatientA))
	all := append(first, second...)
	for i, r := range all {
		if r.Seq != int64(i+1) {
			t.Errorf("record %d: seq %d, want %d", i, r.Seq, i+1)
		}
		if h, err := hex.DecodeString(r.Hash); err != nil || len(h) != audit.HashSize {
			t.Errorf("record %d: hash %q is not %d hex bytes", i, r.Hash, audit.HashSize)
		}
	}
	h, err := s.Head(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if h.Seq != 4 || hex.EncodeToString(h.Hash) != all[3].Hash {
		t.Fatalf("Head = %v, want 4:%s", h, all[3].Hash)
	}
	var rows []audit.Sealed
	if err := s.Iterate(ctx, 0, func(r *audit.Sealed) error { rows = append(rows, *r); return nil }); err != nil {
		t.Fatal(err)
	}
	if len(rows) != 4 {
		t.Fatalf("Iterate returned %d rows, want 4", len(rows))
	}
	prev := make([]byte, audit.HashSize)
	for i, row := range rows {
		if !bytes.Equal(row.Prev, prev) {
			t.Errorf("row %d: prev hash does not link to row %d", i+1, i)
		}
		if row.KeyID != key.ID() {
			t.Errorf("row %d: key id %q, want %q", i+1, row.KeyID, key.ID())
		}
		rec, err := audit.DecodeBody(row.Body)
		if err != nil {
			t.Fatalf("row %d: %v", i+1, err)
		}
		want := all[i]
		want.Hash = ""
		if !reflect.DeepEqual(rec, want) {
			t.Errorf("row %d body:\n got %+v\nwant %+v", i+1, rec, want)
		}
		if !row.Index.Equal(audit.IndexOf(&rec)) {
			t.Errorf("row %d: index %+v, want %+v", i+1, row.Index, audit.IndexOf(&rec))
		}
		prev = row.Hash
	}
	rep, err := audit.Verify(ctx, s, key)
	if err != nil || !rep.OK() || rep.Records != 4 || rep.Last.Seq != 4 {
		t.Fatalf("Verify = %v, %v", rep, err)
	}
}

func testRoundTrip(t *testing.T, b Backend) {
	s := b.Open(t)
	full := FullRecord()
	stored := Append(t, s, Key(t), full)[0]
	p, err := s.Search(context.Background(), audit.Filter{})
	if err != nil || len(p.Records) != 1 {
		t.Fatalf("Search = %+v, %v", p, err)
	}
	got := p.Records[0]
	if !reflect.DeepEqual(got, stored) {
		t.Fatalf("round trip changed the record:\n got %+v\nwant %+v", got, stored)
	}
	// Every field of the fixture is set, so a field the store dropped
	// would show up as a zero value here.
	assertAllFieldsSet(t, reflect.ValueOf(got), "Record")
}

// assertAllFieldsSet fails for any zero-valued field (bools excepted:
// false is a legitimate value).
func assertAllFieldsSet(t *testing.T, v reflect.Value, path string) {
	t.Helper()
	switch v.Kind() {
	case reflect.Struct:
		if v.Type() == reflect.TypeOf(time.Time{}) {
			if v.Interface().(time.Time).IsZero() {
				t.Errorf("%s is zero", path)
			}
			return
		}
		for i := 0; i < v.NumField(); i++ {
			assertAllFieldsSet(t, v.Field(i), path+"."+v.Type().Field(i).Name)
		}
	case reflect.Slice:
		if v.Len() == 0 {
			t.Errorf("%s is empty", path)
		}
		for i := 0; i < v.Len(); i++ {
			assertAllFieldsSet(t, v.Index(i), fmt.Sprintf("%s[%d]", path, i))
		}
	case reflect.Bool:
	default:
		if v.IsZero() && !allowedZero(path) {
			t.Errorf("%s is zero", path)
		}
	}
}

// allowedZero lists fields of FullRecord that are legitimately empty in
// some documents (the hidden document carries only its id).
func allowedZero(path string) bool {
	for _, p := range []string{"Record.Documents[1].Type", "Record.Documents[1].Home", "Record.Documents[2]."} {
		if len(path) >= len(p) && path[:len(p)] == p {
			return true
		}
	}
	return false
}

// filterCase is one row of the filter table.
type filterCase struct {
	name string
	f    audit.Filter
	want []int // indexes into the fixture set, in result order (newest first)
}

func testFilters(t *testing.T, b Backend) {
	s := b.Open(t)
	key := Key(t)
	ctx := context.Background()

	mk := func(i int, mod func(r *audit.Record)) audit.Record {
		r := SimpleRecord(i, PatientA)
		mod(&r)
		return r
	}
	recs := []audit.Record{
		0: mk(0, func(r *audit.Record) {}),
		1: mk(1, func(r *audit.Record) { r.PatientID = PatientB }),
		2: mk(2, func(r *audit.Record) {
			r.Actor = audit.Actor{Kind: audit.ActorHealthWorker, PID: NursePID, HPR: NurseHPR}
			r.Outcome, r.Rule = audit.OutcomeDeny, "authorization-not-allowed"
			r.EventID = "evt-across-nodes"
		}),
		3: mk(3, func(r *audit.Record) {
			r.Attestation.PurposeOfUse.Code = "ETREAT"
			r.Flags.ETREAT = true
			r.Transaction, r.Action = audit.TxITI67, audit.ActionQuery
			r.Documents = append(r.Documents, audit.Document{UniqueID: "shared-doc", Disposition: audit.DocReturned})
		}),
		4: mk(4, func(r *audit.Record) {
			r.Outcome, r.Rule = audit.OutcomeError, ""
			r.Documents = []audit.Document{{UniqueID: "shared-doc", Disposition: audit.DocRefused}}
		}),
		5: mk(5, func(r *audit.Record) {
			r.Attestation.PurposeOfUse.Code = "BTG"
			r.Flags.BTG = true
			r.PatientID = PatientB
			r.Actor = audit.Actor{Kind: audit.ActorHealthWorker, PID: NursePID, HPR: NurseHPR}
			r.EventID = "evt-across-nodes"
		}),
		6: mk(6, func(r *audit.Record) {
			r.Actor = audit.Actor{Kind: audit.ActorCitizen, PID: PatientA}
			r.Attestation = audit.Attestation{}
			r.Transaction, r.Action = audit.TxUIList, audit.ActionQuery
			r.Documents = nil
		}),
	}
	// Two batches, to cover filters across transactions.
	Append(t, s, key, recs[:4]...)
	Append(t, s, key, recs[4:]...)
	at := func(i int) time.Time { return BaseTime.Add(time.Duration(i) * time.Second) }

	cases := []filterCase{
		{"none", audit.Filter{}, []int{6, 5, 4, 3, 2, 1, 0}},
		{"patient", audit.Filter{PatientID: PatientB}, []int{5, 1}},
		{"patient unknown", audit.Filter{PatientID: "00000000000"}, nil},
		{"event id", audit.Filter{EventID: "evt-across-nodes"}, []int{5, 2}},
		{"event id unknown", audit.Filter{EventID: "evt-other"}, nil},
		{"agent pid", audit.Filter{AgentPID: NursePID}, []int{5, 2}},
		{"agent hpr", audit.Filter{AgentHPR: DoctorHPR}, []int{4, 3, 1, 0}},
		{"agent hpr is not a pid", audit.Filter{AgentPID: DoctorHPR}, nil},
		{"entity", audit.Filter{EntityID: "shared-doc"}, []int{4, 3}},
		{"entity single", audit.Filter{EntityID: "2.16.578.1.12.4.1.7.1.1.5002"}, []int{2}},
		{"from inclusive", audit.Filter{From: at(4)}, []int{6, 5, 4}},
		{"to exclusive", audit.Filter{To: at(2)}, []int{1, 0}},
		{"from-to", audit.Filter{From: at(2), To: at(4)}, []int{3, 2}},
		{"from-to millisecond edge", audit.Filter{From: at(3).Add(-time.Millisecond), To: at(3).Add(time.Millisecond)}, []int{3}},
		{"outcome deny", audit.Filter{Outcomes: []audit.Outcome{audit.OutcomeDeny}}, []int{2}},
		{"outcome deny or error", audit.Filter{Outcomes: []audit.Outcome{audit.OutcomeDeny, audit.OutcomeError}}, []int{4, 2}},
		{"outcome empty list", audit.Filter{Outcomes: []audit.Outcome{}}, nil},
		{"purpose", audit.Filter{PurposeCodes: []string{"ETREAT", "BTG"}}, []int{5, 3}},
		{"purpose empty list", audit.Filter{PurposeCodes: []string{}}, nil},
		{"transaction", audit.Filter{Transactions: []string{audit.TxITI67, audit.TxUIList}}, []int{6, 3}},
		{"transaction empty list", audit.Filter{Transactions: []string{}}, nil},
		{"flagged", audit.Filter{FlaggedOnly: true}, []int{5, 3}},
		{"combined patient+flagged", audit.Filter{PatientID: PatientB, FlaggedOnly: true}, []int{5}},
		{"combined agent+entity+outcome", audit.Filter{AgentHPR: DoctorHPR, EntityID: "shared-doc", Outcomes: []audit.Outcome{audit.OutcomePermit}}, []int{3}},
		{"combined patient+time+purpose", audit.Filter{PatientID: PatientA, From: at(1), PurposeCodes: []string{"TREAT"}}, []int{4, 2}},
		{"ascending", audit.Filter{Ascending: true, PatientID: PatientB}, []int{1, 5}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			p, err := s.Search(ctx, c.f)
			if err != nil {
				t.Fatal(err)
			}
			var got []int
			for _, r := range p.Records {
				got = append(got, int(r.Seq-1))
			}
			if !reflect.DeepEqual(got, c.want) {
				t.Fatalf("got records %v, want %v", got, c.want)
			}
			if p.Next != 0 {
				t.Fatalf("Next = %d on a single page", p.Next)
			}
		})
	}
}

func testPaging(t *testing.T, b Backend) {
	s := b.Open(t)
	key := Key(t)
	ctx := context.Background()
	var recs []audit.Record
	for i := range 23 {
		recs = append(recs, SimpleRecord(i, PatientA))
	}
	Append(t, s, key, recs...)
	for _, asc := range []bool{false, true} {
		var seqs []int64
		f := audit.Filter{Limit: 5, Ascending: asc, PatientID: PatientA}
		pages := 0
		for {
			p, err := s.Search(ctx, f)
			if err != nil {
				t.Fatal(err)
			}
			pages++
			if len(p.Records) > 5 {
				t.Fatalf("page of %d records, limit 5", len(p.Records))
			}
			for _, r := range p.Records {
				seqs = append(seqs, r.Seq)
			}
			if p.Next == 0 {
				break
			}
			f.Cursor = p.Next
		}
		if pages != 5 || len(seqs) != 23 {
			t.Fatalf("asc=%v: %d pages, %d records; want 5 pages, 23 records", asc, pages, len(seqs))
		}
		for i := 1; i < len(seqs); i++ {
			if (asc && seqs[i] != seqs[i-1]+1) || (!asc && seqs[i] != seqs[i-1]-1) {
				t.Fatalf("asc=%v: seqs out of order or missing: %v", asc, seqs)
			}
		}
	}
	// A page size equal to the rest ends without a Next.
	p, err := s.Search(ctx, audit.Filter{Limit: 23})
	if err != nil || len(p.Records) != 23 || p.Next != 0 {
		t.Fatalf("Limit 23: %d records, next %d, %v", len(p.Records), p.Next, err)
	}
	// Limits above MaxLimit are capped, not refused.
	if (audit.Filter{Limit: audit.MaxLimit + 1}).PageSize() != audit.MaxLimit {
		t.Fatal("PageSize not capped")
	}
}

func testIterate(t *testing.T, b Backend) {
	s := b.Open(t)
	key := Key(t)
	ctx := context.Background()
	// More rows than one internal page, with entities, in several batches.
	n := 1234
	var batch []audit.Record
	for i := range n {
		r := SimpleRecord(i, PatientA)
		r.Documents = append(r.Documents, audit.Document{UniqueID: fmt.Sprintf("extra-%d", i%7), Disposition: audit.DocReturned})
		batch = append(batch, r)
		if len(batch) == 300 || i == n-1 {
			Append(t, s, key, batch...)
			batch = nil
		}
	}
	var count int64
	err := s.Iterate(ctx, 0, func(row *audit.Sealed) error {
		count++
		if row.Seq != count {
			return fmt.Errorf("row %d has seq %d", count, row.Seq)
		}
		if len(row.Index.EntityIDs) != 2 {
			return fmt.Errorf("row %d has %d entity ids, want 2", row.Seq, len(row.Index.EntityIDs))
		}
		return nil
	})
	if err != nil || count != int64(n) {
		t.Fatalf("Iterate: %d rows, %v", count, err)
	}
	count = 0
	if err := s.Iterate(ctx, 1000, func(row *audit.Sealed) error { count++; return nil }); err != nil || count != int64(n-1000) {
		t.Fatalf("Iterate after 1000: %d rows, %v", count, err)
	}
	stop := errors.New("stop")
	count = 0
	err = s.Iterate(ctx, 0, func(row *audit.Sealed) error {
		count++
		if count == 3 {
			return stop
		}
		return nil
	})
	if !errors.Is(err, stop) || count != 3 {
		t.Fatalf("Iterate did not stop on fn's error: %d rows, %v", count, err)
	}
	rep, err := audit.Verify(ctx, s, key)
	if err != nil || !rep.OK() || rep.Records != int64(n) {
		t.Fatalf("Verify = %v, %v", rep, err)
	}
}

func testInvalid(t *testing.T, b Backend) {
	s := b.Open(t)
	key := Key(t)
	ctx := context.Background()
	Append(t, s, key, SimpleRecord(1, PatientA))
	good := SimpleRecord(2, PatientA)
	if err := good.Normalize(BaseTime, audit.NewID); err != nil {
		t.Fatal(err)
	}
	bad := good.Clone()
	bad.ID = audit.NewID()
	bad.Outcome = "maybe"
	err := s.Append(ctx, key, []*audit.Record{&good, &bad})
	var re *audit.RecordError
	if !errors.Is(err, audit.ErrInvalidRecord) || !errors.As(err, &re) || re.Field != "outcome" {
		t.Fatalf("Append with an invalid record = %v, want RecordError on outcome", err)
	}
	// Nothing of the batch is stored, the head has not moved.
	if h, _ := s.Head(ctx); h.Seq != 1 {
		t.Fatalf("head moved to %d", h.Seq)
	}
	p, _ := s.Search(ctx, audit.Filter{})
	if len(p.Records) != 1 {
		t.Fatalf("%d records stored, want 1", len(p.Records))
	}
	// A duplicate id is refused by the store and stores nothing either.
	dup := SimpleRecord(3, PatientA)
	dup.ID = p.Records[0].ID
	if err := dup.Normalize(BaseTime, audit.NewID); err != nil {
		t.Fatal(err)
	}
	if err := s.Append(ctx, key, []*audit.Record{&dup}); err == nil {
		t.Fatal("Append of a duplicate id succeeded")
	}
	if h, _ := s.Head(ctx); h.Seq != 1 {
		t.Fatalf("head moved to %d after a failed append", h.Seq)
	}
	if p, _ := s.Search(ctx, audit.Filter{}); len(p.Records) != 1 {
		t.Fatalf("%d records after a failed append, want 1", len(p.Records))
	}
	if rep, err := audit.Verify(ctx, s, key); err != nil || !rep.OK() {
		t.Fatalf("Verify = %v, %v", rep, err)
	}
}

func testCancelled(t *testing.T, b Backend) {
	s := b.Open(t)
	key := Key(t)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	r := SimpleRecord(1, PatientA)
	if err := r.Normalize(BaseTime, audit.NewID); err != nil {
		t.Fatal(err)
	}
	if err := s.Append(ctx, key, []*audit.Record{&r}); err == nil {
		t.Fatal("Append with a cancelled context succeeded")
	}
	if _, err := s.Search(ctx, audit.Filter{}); err == nil {
		t.Fatal("Search with a cancelled context succeeded")
	}
	if h, err := s.Head(context.Background()); err != nil || h.Seq != 0 {
		t.Fatalf("head after cancelled append: %v, %v", h, err)
	}
}

func testConcurrent(t *testing.T, b Backend) {
	s1 := b.Open(t)
	stores := []audit.Store{s1}
	if b.Reopen != nil {
		stores = append(stores, b.Reopen(t, s1))
	}
	key := Key(t)
	const workers, each = 8, 15
	var wg sync.WaitGroup
	errs := make(chan error, workers*each)
	for w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			s := stores[w%len(stores)]
			for i := range each {
				r := SimpleRecord(w*100+i, PatientA)
				if err := r.Normalize(BaseTime, audit.NewID); err != nil {
					errs <- err
					return
				}
				if err := s.Append(context.Background(), key, []*audit.Record{&r}); err != nil {
					errs <- err
					return
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	rep, err := audit.Verify(context.Background(), s1, key)
	if err != nil || !rep.OK() || rep.Records != workers*each {
		t.Fatalf("Verify after concurrent appends = %v, %v", rep, err)
	}
}

func testWrongKey(t *testing.T, b Backend) {
	s := b.Open(t)
	Append(t, s, Key(t), SimpleRecord(1, PatientA), SimpleRecord(2, PatientA))
	rep, err := audit.Verify(context.Background(), s, OtherKey(t))
	if err != nil {
		t.Fatal(err)
	}
	if rep.OK() || rep.Problem.Kind != audit.ProblemKeyMismatch || rep.Problem.Seq != 1 {
		t.Fatalf("Verify with another key = %v, want key-mismatch at 1", rep)
	}
}

func testLogger(t *testing.T, b Backend) {
	s := b.Open(t)
	key := Key(t)
	var mu sync.Mutex
	var committed []audit.Record
	l, err := audit.NewLogger(s, key, audit.LoggerOptions{
		Now: func() time.Time { return BaseTime },
		OnCommit: func(rs []audit.Record) {
			mu.Lock()
			committed = append(committed, rs...)
			mu.Unlock()
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	const n = 64
	var wg sync.WaitGroup
	got := make([]audit.Record, n)
	errs := make([]error, n)
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			got[i], errs[i] = l.LogRecord(context.Background(), SimpleRecord(i, PatientA))
		}()
	}
	wg.Wait()
	seen := map[int64]bool{}
	for i := range n {
		if errs[i] != nil {
			t.Fatalf("Log %d: %v", i, errs[i])
		}
		if got[i].Seq < 1 || got[i].Seq > n || seen[got[i].Seq] || got[i].Hash == "" {
			t.Fatalf("Log %d returned seq %d hash %q", i, got[i].Seq, got[i].Hash)
		}
		seen[got[i].Seq] = true
	}
	if err := l.Close(context.Background()); err != nil {
		t.Fatal(err)
	}
	mu.Lock()
	if len(committed) != n {
		t.Fatalf("OnCommit saw %d records, want %d", len(committed), n)
	}
	for i := 1; i < n; i++ {
		if committed[i].Seq != committed[i-1].Seq+1 {
			t.Fatalf("OnCommit out of seq order at %d", i)
		}
	}
	mu.Unlock()
	rep, err := audit.Verify(context.Background(), s, key)
	if err != nil || !rep.OK() || rep.Records != n {
		t.Fatalf("Verify = %v, %v", rep, err)
	}
}
