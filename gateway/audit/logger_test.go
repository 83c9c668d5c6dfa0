package audit_test

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"runtime"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"pjd/gateway/audit"
	"pjd/gateway/audit/audittest"
	"pjd/gateway/audit/sqlaudit"
)

// openStore opens a real SQLite audit store in a temp dir.
func openStore(t *testing.T) *sqlaudit.Store {
	t.Helper()
	s, err := sqlaudit.OpenSQLite(context.Background(), filepath.Join(t.TempDir(), "pjd.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

// gatedStore wraps a real store: it can hold the first Append until the
// test opens the gate (so records pile up behind it), and can refuse
// chosen batches. It records every batch size.
type gatedStore struct {
	audit.Appender
	gate    chan struct{}
	entered chan struct{}
	once    sync.Once
	refuse  func(recs []*audit.Record) error

	mu      sync.Mutex
	batches []int
}

func newGated(s audit.Appender) *gatedStore {
	return &gatedStore{Appender: s, gate: make(chan struct{}), entered: make(chan struct{})}
}

func (g *gatedStore) Append(ctx context.Context, key *audit.Key, recs []*audit.Record) error {
	g.once.Do(func() {
		close(g.entered)
		<-g.gate
	})
	g.mu.Lock()
	g.batches = append(g.batches, len(recs))
	g.mu.Unlock()
	if g.refuse != nil {
		if err := g.refuse(recs); err != nil {
			return err
		}
	}
	return g.Appender.Append(ctx, key, recs)
}

func (g *gatedStore) sizes() []int {
	g.mu.Lock()
	defer g.mu.Unlock()
	return slices.Clone(g.batches)
}

// waitPending waits until n records are queued behind the writer.
func waitPending(t *testing.T, l *audit.Logger, n int) {
	t.Helper()
	for i := 0; l.Pending() < n; i++ {
		if i > 1_000_000 {
			t.Fatalf("only %d of %d records queued", l.Pending(), n)
		}
		runtime.Gosched()
	}
}

func logAsync(l *audit.Logger, r audit.Record) <-chan error {
	ch := make(chan error, 1)
	go func() { ch <- l.Log(context.Background(), r) }()
	return ch
}

func records(t *testing.T, s audit.Store) []audit.Record {
	t.Helper()
	p, err := s.Search(context.Background(), audit.Filter{Ascending: true, Limit: audit.MaxLimit})
	if err != nil {
		t.Fatal(err)
	}
	return p.Records
}

func TestLoggerGroupsConcurrentRecordsIntoOneTransaction(t *testing.T) {
	s := openStore(t)
	g := newGated(s)
	reg := prometheus.NewRegistry()
	m, err := audit.NewPrometheusMetrics(reg)
	if err != nil {
		t.Fatal(err)
	}
	l, err := audit.NewLogger(g, audittest.Key(t), audit.LoggerOptions{Metrics: m})
	if err != nil {
		t.Fatal(err)
	}
	first := logAsync(l, audittest.SimpleRecord(0, audittest.PatientA))
	<-g.entered // the writer is inside its first transaction
	var rest []<-chan error
	for i := 1; i <= 10; i++ {
		rest = append(rest, logAsync(l, audittest.SimpleRecord(i, audittest.PatientA)))
	}
	waitPending(t, l, 10)
	for _, ch := range rest {
		select {
		case err := <-ch:
			t.Fatalf("Log returned (%v) before its record was committed", err)
		default:
		}
	}
	close(g.gate)
	for _, ch := range append([]<-chan error{first}, rest...) {
		if err := <-ch; err != nil {
			t.Fatal(err)
		}
	}
	if got := g.sizes(); !slices.Equal(got, []int{1, 10}) {
		t.Fatalf("batches %v, want [1 10]: the ten waiting records must share one transaction", got)
	}
	if err := l.Close(context.Background()); err != nil {
		t.Fatal(err)
	}
	if got := counterValue(t, reg, "pjd_audit_records_committed_total"); got != 11 {
		t.Fatalf("records_committed_total = %v, want 11", got)
	}
	rep, err := audit.Verify(context.Background(), s, audittest.Key(t))
	if err != nil || !rep.OK() || rep.Records != 11 {
		t.Fatalf("Verify = %v, %v", rep, err)
	}
}

func TestLoggerMaxBatchOneIsOneTransactionPerRecord(t *testing.T) {
	s := openStore(t)
	g := newGated(s)
	l, _ := audit.NewLogger(g, audittest.Key(t), audit.LoggerOptions{MaxBatch: 1})
	first := logAsync(l, audittest.SimpleRecord(0, audittest.PatientA))
	<-g.entered
	var rest []<-chan error
	for i := 1; i <= 5; i++ {
		rest = append(rest, logAsync(l, audittest.SimpleRecord(i, audittest.PatientA)))
	}
	waitPending(t, l, 5)
	close(g.gate)
	for _, ch := range append([]<-chan error{first}, rest...) {
		if err := <-ch; err != nil {
			t.Fatal(err)
		}
	}
	l.Close(context.Background())
	if got := g.sizes(); !slices.Equal(got, []int{1, 1, 1, 1, 1, 1}) {
		t.Fatalf("batches %v, want six of one", got)
	}
}

func TestLogSurvivesCancelledRequest(t *testing.T) {
	s := openStore(t)
	l, _ := audit.NewLogger(s, audittest.Key(t), audit.LoggerOptions{})
	defer l.Close(context.Background())
	ctx, cancel := context.WithCancel(context.Background())
	cancel() // the client went away before the audit write
	r := audittest.SimpleRecord(1, audittest.PatientA)
	r.RequestID = "cancelled-request"
	got, err := l.LogRecord(ctx, r)
	if err != nil {
		t.Fatalf("Log with a cancelled request context: %v", err)
	}
	stored := records(t, s)
	if len(stored) != 1 || stored[0].RequestID != "cancelled-request" || stored[0].Seq != got.Seq || stored[0].Hash != got.Hash {
		t.Fatalf("stored %+v", stored)
	}
}

func TestLogFailsWhenTheStoreFails(t *testing.T) {
	s := openStore(t)
	l, _ := audit.NewLogger(s, audittest.Key(t), audit.LoggerOptions{})
	defer l.Close(context.Background())
	s.Close() // the database is gone
	err := l.Log(context.Background(), audittest.SimpleRecord(1, audittest.PatientA))
	if !errors.Is(err, audit.ErrUnavailable) {
		t.Fatalf("Log against a closed store = %v, want ErrUnavailable", err)
	}
}

func TestLogTimesOutAndSkipsExpiredRecords(t *testing.T) {
	s := openStore(t)
	g := newGated(s)
	l, _ := audit.NewLogger(g, audittest.Key(t), audit.LoggerOptions{Timeout: 20 * time.Millisecond})
	a := audittest.SimpleRecord(1, audittest.PatientA)
	a.RequestID = "in-flight"
	b := audittest.SimpleRecord(2, audittest.PatientA)
	b.RequestID = "queued"
	errA := logAsync(l, a)
	<-g.entered
	errB := logAsync(l, b)
	for _, ch := range []<-chan error{errA, errB} {
		if err := <-ch; !errors.Is(err, audit.ErrTimeout) {
			t.Fatalf("Log = %v, want ErrTimeout", err)
		}
	}
	close(g.gate)
	l.Close(context.Background())
	var ids []string
	for _, r := range records(t, s) {
		ids = append(ids, r.RequestID)
	}
	// The transaction in flight shares the deadline and is normally
	// abandoned with it (if its commit wins the race, an extra record of
	// a failed request is harmless: the log may over-report, never
	// under-report). The record still queued when its caller gave up is
	// never appended.
	if slices.Contains(ids, "queued") {
		t.Fatalf("stored %v: the expired queued record was written", ids)
	}
	if got := g.sizes(); !slices.Equal(got, []int{1}) {
		t.Fatalf("batches %v: the expired queued record must not be appended", got)
	}
}

func TestLoggerCloseFlushesAndRefusesAfter(t *testing.T) {
	s := openStore(t)
	g := newGated(s)
	l, _ := audit.NewLogger(g, audittest.Key(t), audit.LoggerOptions{})
	var chs []<-chan error
	chs = append(chs, logAsync(l, audittest.SimpleRecord(0, audittest.PatientA)))
	<-g.entered
	for i := 1; i < 6; i++ {
		chs = append(chs, logAsync(l, audittest.SimpleRecord(i, audittest.PatientA)))
	}
	waitPending(t, l, 5)
	closed := make(chan error, 1)
	go func() { closed <- l.Close(context.Background()) }()
	close(g.gate)
	if err := <-closed; err != nil {
		t.Fatal(err)
	}
	for _, ch := range chs {
		if err := <-ch; err != nil {
			t.Fatalf("queued record lost at Close: %v", err)
		}
	}
	if n := len(records(t, s)); n != 6 {
		t.Fatalf("%d records after Close, want 6", n)
	}
	if err := l.Log(context.Background(), audittest.SimpleRecord(9, audittest.PatientA)); !errors.Is(err, audit.ErrClosed) {
		t.Fatalf("Log after Close = %v, want ErrClosed", err)
	}
	if err := l.Close(context.Background()); err != nil {
		t.Fatalf("second Close: %v", err)
	}
}

func TestLoggerRejectsInvalidRecordAndKeepsWorking(t *testing.T) {
	s := openStore(t)
	l, _ := audit.NewLogger(s, audittest.Key(t), audit.LoggerOptions{})
	defer l.Close(context.Background())
	bad := audittest.SimpleRecord(1, audittest.PatientA)
	bad.Transaction = ""
	var re *audit.RecordError
	if err := l.Log(context.Background(), bad); !errors.As(err, &re) || re.Field != "transaction" {
		t.Fatalf("Log of an invalid record = %v", err)
	}
	if err := l.Log(context.Background(), audittest.SimpleRecord(2, audittest.PatientA)); err != nil {
		t.Fatal(err)
	}
	if n := len(records(t, s)); n != 1 {
		t.Fatalf("%d records, want 1", n)
	}
}

func TestLoggerIsolatesARefusedRecordInABatch(t *testing.T) {
	s := openStore(t)
	g := newGated(s)
	g.refuse = func(recs []*audit.Record) error {
		for _, r := range recs {
			if r.RequestID == "poison" {
				return fmt.Errorf("store refused: %w", audit.ErrInvalidRecord)
			}
		}
		return nil
	}
	l, _ := audit.NewLogger(g, audittest.Key(t), audit.LoggerOptions{})
	first := logAsync(l, audittest.SimpleRecord(0, audittest.PatientA))
	<-g.entered
	good1 := logAsync(l, audittest.SimpleRecord(1, audittest.PatientA))
	waitPending(t, l, 1)
	p := audittest.SimpleRecord(2, audittest.PatientA)
	p.RequestID = "poison"
	poison := logAsync(l, p)
	waitPending(t, l, 2)
	good2 := logAsync(l, audittest.SimpleRecord(3, audittest.PatientA))
	waitPending(t, l, 3)
	close(g.gate)
	for name, ch := range map[string]<-chan error{"first": first, "good1": good1, "good2": good2} {
		if err := <-ch; err != nil {
			t.Errorf("%s: %v", name, err)
		}
	}
	if err := <-poison; !errors.Is(err, audit.ErrInvalidRecord) {
		t.Errorf("poison: %v, want ErrInvalidRecord", err)
	}
	l.Close(context.Background())
	if got := g.sizes(); !slices.Equal(got, []int{1, 3, 1, 1, 1}) {
		t.Errorf("batches %v, want [1 3 1 1 1] (the batch of 3 retried one by one)", got)
	}
	if n := len(records(t, s)); n != 3 {
		t.Fatalf("%d records, want 3", n)
	}
	if rep, err := audit.Verify(context.Background(), s, audittest.Key(t)); err != nil || !rep.OK() {
		t.Fatalf("Verify = %v, %v", rep, err)
	}
}

func TestNewLoggerNeedsStoreAndKey(t *testing.T) {
	if _, err := audit.NewLogger(nil, audittest.Key(t), audit.LoggerOptions{}); err == nil {
		t.Error("NewLogger without store succeeded")
	}
	if _, err := audit.NewLogger(openStore(t), nil, audit.LoggerOptions{}); !errors.Is(err, audit.ErrBadKey) {
		t.Errorf("NewLogger without key = %v", err)
	}
}

func counterValue(t *testing.T, reg *prometheus.Registry, name string) float64 {
	t.Helper()
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range mfs {
		if mf.GetName() == name {
			return mf.GetMetric()[0].GetCounter().GetValue()
		}
	}
	t.Fatalf("metric %s not registered", name)
	return 0
}
