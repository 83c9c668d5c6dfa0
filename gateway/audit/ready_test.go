package audit_test

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"pjd/gateway/audit"
	"pjd/gateway/audit/audittest"
)

// TestLoggerReady: the audit log is unready while its latest append
// failed (within FailureWindow) and none succeeded since; ready again
// after a successful append, or once the window has passed without
// traffic; and unready while the store itself does not answer.
func TestLoggerReady(t *testing.T) {
	ctx := context.Background()
	s := openStore(t)
	g := newGated(s)
	close(g.gate)
	var mu sync.Mutex
	now := time.Date(2025, 3, 1, 12, 0, 0, 0, time.UTC)
	clock := func() time.Time { mu.Lock(); defer mu.Unlock(); return now }
	advance := func(d time.Duration) { mu.Lock(); now = now.Add(d); mu.Unlock() }
	refused := errors.New("permission denied for table audit_records")
	var refuse bool
	g.refuse = func([]*audit.Record) error {
		mu.Lock()
		defer mu.Unlock()
		if refuse {
			return refused
		}
		return nil
	}
	setRefuse := func(v bool) { mu.Lock(); refuse = v; mu.Unlock() }
	l, err := audit.NewLogger(g, audittest.Key(t), audit.LoggerOptions{Now: clock})
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close(ctx)

	if err := l.Ready(ctx); err != nil {
		t.Fatalf("a fresh logger: %v", err)
	}
	setRefuse(true)
	if err := l.Log(ctx, audittest.SimpleRecord(1, audittest.PatientA)); !errors.Is(err, refused) {
		t.Fatalf("Log: %v", err)
	}
	if err := l.Ready(ctx); !errors.Is(err, audit.ErrUnavailable) {
		t.Fatalf("after a failed append: %v, want ErrUnavailable", err)
	}
	if at, err := l.LastAppend(); !errors.Is(err, refused) || !at.Equal(clock()) {
		t.Fatalf("LastAppend: %v %v", at, err)
	}
	setRefuse(false)
	if err := l.Log(ctx, audittest.SimpleRecord(2, audittest.PatientA)); err != nil {
		t.Fatal(err)
	}
	if err := l.Ready(ctx); err != nil {
		t.Fatalf("after a successful append: %v", err)
	}
	setRefuse(true)
	_ = l.Log(ctx, audittest.SimpleRecord(3, audittest.PatientA))
	advance(audit.FailureWindow - time.Second)
	if err := l.Ready(ctx); err == nil {
		t.Fatal("ready within the failure window")
	}
	advance(2 * time.Second)
	if err := l.Ready(ctx); err != nil {
		t.Fatalf("past the failure window without traffic: %v", err)
	}

	// A store that offers Ping is pinged.
	l2, err := audit.NewLogger(s, audittest.Key(t), audit.LoggerOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer l2.Close(ctx)
	if err := l2.Ready(ctx); err != nil {
		t.Fatal(err)
	}
	s.Close()
	if err := l2.Ready(ctx); !errors.Is(err, audit.ErrUnavailable) {
		t.Fatalf("with the store closed: %v, want ErrUnavailable", err)
	}
}
