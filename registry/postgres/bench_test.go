package postgres

import (
	"context"
	"encoding/json"
	"flag"
	"math/rand/v2"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"pjd/registry"
	"pjd/registry/oid"
)

var (
	benchDocs = flag.Int("pjd.bench.docs", 20_000,
		"DocumentEntries BenchmarkFindDocuments loads (1000000 for the reference figure)")
	benchPatients = flag.Int("pjd.bench.patients", 0,
		"synthetic patients the documents are spread over (0: docs/10)")
)

// BenchmarkFindDocuments loads synthetic DocumentEntries for many patients
// and measures FindDocuments-shaped reads (Documents with PatientID and
// Statuses, with and without a class code) for random patients, next to a
// baseline measured in the same run: the same index lookup as a
// hand-written pgx query fetching the same rows (status and JSON body),
// once without and once with decoding the bodies (the store must decode
// them). Each reports p50/p99 latency and queries/s, and its p50 as a
// multiple of the raw baseline's; serial runs one query at a time,
// parallel 4×GOMAXPROCS clients.
//
//	go test -run '^$' -bench FindDocuments -benchtime 3000x -timeout 60m \
//	    ./registry/postgres/ -pjd.bench.docs 1000000
func BenchmarkFindDocuments(b *testing.B) {
	ctx := context.Background()
	st := open(b)
	defer st.Close()
	res, err := st.LoadSynthetic(ctx, LoadOptions{Documents: *benchDocs, Patients: *benchPatients, Seed: 1})
	if err != nil {
		b.Fatal(err)
	}
	b.Logf("loaded %d DocumentEntries for %d patients in %v (%.0f documents/s, including ANALYZE)",
		res.Documents, res.Patients, res.Elapsed.Round(time.Millisecond), float64(res.Documents)/res.Elapsed.Seconds())

	approved := []string{registry.StatusApproved}
	class := registry.Code{Code: "A00-1", Scheme: oid.Volven9602}
	store := func(withClass bool) query {
		return func(ctx context.Context, patient string) (int, error) {
			f := registry.DocumentFilter{PatientID: patient, Statuses: approved}
			if withClass {
				f.Classes = registry.CodeSet{class}
			}
			docs, err := st.Documents(ctx, f)
			return len(docs), err
		}
	}
	// The SQL the store runs for these filters, written by hand; decode
	// also unmarshals each body into a DocumentEntry, as the store must.
	baseline := func(withClass, decode bool) query {
		sql := "SELECT d.status, d.body FROM documents d WHERE d.patient_id = $1 AND d.status = $2 ORDER BY d.seq"
		if withClass {
			sql = "SELECT d.status, d.body FROM documents d WHERE d.patient_id = $1 AND d.status = $2" +
				" AND ((d.class_code = $3 AND d.class_scheme = $4)) ORDER BY d.seq"
		}
		return func(ctx context.Context, patient string) (int, error) {
			args := []any{patient, registry.StatusApproved}
			if withClass {
				args = append(args, class.Code, class.Scheme)
			}
			rows, err := st.Pool().Query(ctx, sql, args...)
			if err != nil {
				return 0, err
			}
			defer rows.Close()
			n := 0
			for rows.Next() {
				var status string
				var body []byte
				if err := rows.Scan(&status, &body); err != nil {
					return n, err
				}
				if decode {
					var d registry.DocumentEntry
					if err := json.Unmarshal(body, &d); err != nil {
						return n, err
					}
				}
				n++
			}
			return n, rows.Err()
		}
	}

	// Warm up caches and connections the same way for every variant, so
	// the one that happens to run first is not the one paying for it.
	warm := rand.New(rand.NewPCG(9, 9))
	for i := 0; i < min(2_000, res.Patients); i++ {
		p := SyntheticPatientID(warm.IntN(res.Patients))
		if _, err := baseline(true, false)(ctx, p); err != nil {
			b.Fatal(err)
		}
		if _, err := store(false)(ctx, p); err != nil {
			b.Fatal(err)
		}
	}

	for _, shape := range []struct {
		name      string
		withClass bool
	}{{"patient+status", false}, {"patient+status+class", true}} {
		for _, par := range []struct {
			name     string
			parallel bool
		}{{"serial", false}, {"parallel", true}} {
			var baseP50 time.Duration
			b.Run(shape.name+"/"+par.name+"/baseline-pgx", func(b *testing.B) {
				baseP50 = measure(b, res.Patients, par.parallel, baseline(shape.withClass, false))
			})
			b.Run(shape.name+"/"+par.name+"/baseline-pgx+json", func(b *testing.B) {
				p50 := measure(b, res.Patients, par.parallel, baseline(shape.withClass, true))
				if baseP50 > 0 {
					b.ReportMetric(float64(p50)/float64(baseP50), "p50-x-baseline")
				}
			})
			b.Run(shape.name+"/"+par.name+"/store", func(b *testing.B) {
				p50 := measure(b, res.Patients, par.parallel, store(shape.withClass))
				if baseP50 > 0 {
					b.ReportMetric(float64(p50)/float64(baseP50), "p50-x-baseline")
				}
			})
		}
	}
}

type query func(ctx context.Context, patient string) (rows int, err error)

// measure runs b.N queries for random patients, one at a time or from
// 4×GOMAXPROCS goroutines, and reports latency percentiles, queries/s and
// rows per query. It returns the p50.
func measure(b *testing.B, patients int, parallel bool, q query) time.Duration {
	ctx := context.Background()
	var (
		mu   sync.Mutex
		lat  = make([]time.Duration, 0, b.N)
		rows int
		seed atomic.Uint64 // a distinct random stream per goroutine
	)
	run := func(next func() bool) {
		rng := rand.New(rand.NewPCG(seed.Add(1), 42))
		local := make([]time.Duration, 0, 1024)
		n := 0
		for next() {
			patient := SyntheticPatientID(rng.IntN(patients))
			t0 := time.Now()
			got, err := q(ctx, patient)
			local = append(local, time.Since(t0))
			if err != nil {
				b.Error(err)
				return
			}
			n += got
		}
		mu.Lock()
		lat = append(lat, local...)
		rows += n
		mu.Unlock()
	}
	b.ResetTimer()
	start := time.Now()
	if parallel {
		b.SetParallelism(4)
		b.RunParallel(func(pb *testing.PB) { run(pb.Next) })
	} else {
		i := 0
		run(func() bool { i++; return i <= b.N })
	}
	elapsed := time.Since(start)
	b.StopTimer()
	if len(lat) == 0 {
		return 0
	}
	slices.Sort(lat)
	p50, p99 := lat[len(lat)/2], lat[min(len(lat)-1, len(lat)*99/100)]
	b.ReportMetric(float64(p50.Nanoseconds())/1e3, "p50-us")
	b.ReportMetric(float64(p99.Nanoseconds())/1e3, "p99-us")
	b.ReportMetric(float64(len(lat))/elapsed.Seconds(), "queries/s")
	b.ReportMetric(float64(rows)/float64(len(lat)), "docs/query")
	return p50
}
