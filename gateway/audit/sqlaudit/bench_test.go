package sqlaudit_test

import (
	"context"
	"fmt"
	"net/url"
	"os"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"pjd/conformance/testenv"
	"pjd/gateway/audit"
	"pjd/gateway/audit/audittest"
	"pjd/gateway/audit/sqlaudit"
)

// Benchmarks of the audit write path on PostgreSQL, each next to its
// baselines measured in the same run:
//
//	group-commit     Logger (one writer, batches of whatever is waiting)
//	txn-per-record   each caller runs its own Append transaction
//	                 (chain lock, head read, insert, commit)
//	raw-insert       baseline: a plain single-row INSERT of the same row
//	                 shape in autocommit, no chain, no lock
//
// BenchmarkAuditLogConcurrent drives 32 concurrent callers flat out
// (throughput); BenchmarkAuditLogAt200PerSecond offers 200 records/s open
// loop (the ITI-67 load of issue item 8) and measures each caller's wait.
//
// The test PostgreSQL from testenv runs with fsync=off. To measure with
// durable commits, point PJD_BENCH_POSTGRES_URL at a server with fsync on
// (superuser URL; a scratch database is created and dropped there).

func benchDatabase(b *testing.B) string {
	b.Helper()
	base := os.Getenv("PJD_BENCH_POSTGRES_URL")
	if base == "" {
		return testenv.Postgres(b)
	}
	ctx := context.Background()
	c, err := pgx.Connect(ctx, base)
	if err != nil {
		b.Fatal(err)
	}
	defer c.Close(ctx)
	name := fmt.Sprintf("pjd_audit_bench_%d_%d", os.Getpid(), time.Now().UnixNano())
	if _, err := c.Exec(ctx, "CREATE DATABASE "+name); err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() {
		c, err := pgx.Connect(ctx, base)
		if err == nil {
			c.Exec(ctx, "DROP DATABASE IF EXISTS "+name+" WITH (FORCE)")
			c.Close(ctx)
		}
	})
	u, _ := url.Parse(base)
	u.Path = "/" + name
	return u.String()
}

// writePath is one way of writing a record; it returns when durable.
type writePath struct {
	name string
	open func(b *testing.B, s *sqlaudit.Store, key *audit.Key) (write func(audit.Record) error, done func())
}

var writePaths = []writePath{
	{"group-commit", func(b *testing.B, s *sqlaudit.Store, key *audit.Key) (func(audit.Record) error, func()) {
		l, err := audit.NewLogger(s, key, audit.LoggerOptions{Timeout: time.Minute})
		if err != nil {
			b.Fatal(err)
		}
		return func(r audit.Record) error { return l.Log(context.Background(), r) }, func() { l.Close(context.Background()) }
	}},
	{"txn-per-record", func(b *testing.B, s *sqlaudit.Store, key *audit.Key) (func(audit.Record) error, func()) {
		return func(r audit.Record) error {
			if err := r.Normalize(time.Now(), audit.NewID); err != nil {
				return err
			}
			return s.Append(context.Background(), key, []*audit.Record{&r})
		}, func() {}
	}},
	{"raw-insert", func(b *testing.B, s *sqlaudit.Store, key *audit.Key) (func(audit.Record) error, func()) {
		db := s.DB()
		if _, err := db.Exec(`CREATE TABLE IF NOT EXISTS bench_raw_insert (seq BIGSERIAL PRIMARY KEY, id TEXT NOT NULL UNIQUE,
			recorded_ms BIGINT NOT NULL, transaction_code TEXT NOT NULL, outcome TEXT NOT NULL, patient_id TEXT NOT NULL,
			actor_pid TEXT NOT NULL, actor_hpr TEXT NOT NULL, purpose_code TEXT NOT NULL, flagged BOOLEAN NOT NULL,
			key_id TEXT NOT NULL, prev_hash BYTEA NOT NULL, hash BYTEA NOT NULL, body TEXT NOT NULL)`); err != nil {
			b.Fatal(err)
		}
		if _, err := db.Exec(`CREATE INDEX IF NOT EXISTS bench_raw_insert_patient ON bench_raw_insert (patient_id, seq)`); err != nil {
			b.Fatal(err)
		}
		zero := make([]byte, audit.HashSize)
		return func(r audit.Record) error {
			if err := r.Normalize(time.Now(), audit.NewID); err != nil {
				return err
			}
			body, err := audit.CanonicalBytes(&r)
			if err != nil {
				return err
			}
			_, err = db.Exec(`INSERT INTO bench_raw_insert (id, recorded_ms, transaction_code, outcome, patient_id, actor_pid,
				actor_hpr, purpose_code, flagged, key_id, prev_hash, hash, body) VALUES ($1,$2,$3,$4,$5,$6,$7,$8,$9,$10,$11,$12,$13)`,
				r.ID, r.Time.UnixMilli(), r.Transaction, string(r.Outcome), r.PatientID, r.Actor.PID, r.Actor.HPR,
				r.Attestation.PurposeOfUse.Code, r.Flagged(), key.ID(), zero, zero, string(body))
			return err
		}, func() {}
	}},
}

func benchRecord(i int) audit.Record {
	r := audittest.FullRecord()
	r.ID, r.Time = "", time.Time{}
	r.RequestID = fmt.Sprintf("bench-%d", i)
	return r
}

func reportLatency(b *testing.B, lat []time.Duration, elapsed time.Duration) {
	slices.Sort(lat)
	pct := func(p float64) float64 {
		if len(lat) == 0 {
			return 0
		}
		return float64(lat[min(len(lat)-1, int(p*float64(len(lat))))].Microseconds()) / 1000
	}
	b.ReportMetric(float64(len(lat))/elapsed.Seconds(), "records/s")
	b.ReportMetric(pct(0.50), "p50-ms")
	b.ReportMetric(pct(0.99), "p99-ms")
	b.ReportMetric(0, "ns/op") // not meaningful for these runs
}

// BenchmarkAuditLogConcurrent: 32 callers write b.N records as fast as
// they can.
func BenchmarkAuditLogConcurrent(b *testing.B) {
	const callers = 32
	for _, wp := range writePaths {
		b.Run(wp.name, func(b *testing.B) {
			s := postgresBackend.open(b, benchDatabase(b))
			write, done := wp.open(b, s, audittest.Key(b))
			defer done()
			var next atomic.Int64
			lat := make([][]time.Duration, callers)
			b.ResetTimer()
			start := time.Now()
			var wg sync.WaitGroup
			for c := range callers {
				wg.Add(1)
				go func() {
					defer wg.Done()
					for {
						i := int(next.Add(1))
						if i > b.N {
							return
						}
						t0 := time.Now()
						if err := write(benchRecord(i)); err != nil {
							b.Error(err)
							return
						}
						lat[c] = append(lat[c], time.Since(t0))
					}
				}()
			}
			wg.Wait()
			elapsed := time.Since(start)
			b.StopTimer()
			reportLatency(b, slices.Concat(lat...), elapsed)
		})
	}
}

// BenchmarkAuditLogAt200PerSecond offers one record every 5 ms (200/s,
// open loop: a slow write does not slow the arrivals) and measures each
// caller's wait from its arrival. Run with -benchtime=2000x for 10 s.
func BenchmarkAuditLogAt200PerSecond(b *testing.B) {
	const interval = 5 * time.Millisecond
	for _, wp := range writePaths {
		b.Run(wp.name, func(b *testing.B) {
			s := postgresBackend.open(b, benchDatabase(b))
			write, done := wp.open(b, s, audittest.Key(b))
			defer done()
			lat := make([]time.Duration, b.N)
			b.ResetTimer()
			start := time.Now()
			var wg sync.WaitGroup
			for i := range b.N {
				at := start.Add(time.Duration(i) * interval)
				time.Sleep(time.Until(at))
				wg.Add(1)
				go func() {
					defer wg.Done()
					if err := write(benchRecord(i)); err != nil {
						b.Error(err)
					}
					lat[i] = time.Since(at)
				}()
			}
			wg.Wait()
			elapsed := time.Since(start)
			b.StopTimer()
			reportLatency(b, lat, elapsed)
		})
	}
}
