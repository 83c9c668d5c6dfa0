package bench

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"runtime"
	"sync/atomic"
	"time"

	"pjd/registry"
	"pjd/registry/postgres"
)

// ---- registry: ITI-18 FindDocuments at scale ----

// RegistryOptions shape the registry benchmark.
type RegistryOptions struct {
	Documents, Patients int
	Reuse               bool
	Count               int           // serial queries per case
	Duration            time.Duration // of each parallel run
	// NewProgress, if set, gives the function told how many entries are
	// loaded so far, for a load of total.
	NewProgress func(total int) func(loaded int)
	Notes       io.Writer // where the load is described; nil: nowhere
}

// Registry queries a PostgreSQL registry loaded with synthetic
// DocumentEntries: FindDocuments through registry.Registry.Query (the
// stored-query path ITI-18 takes: parameter parsing and checks, the store
// query, the result), next to the same index lookup as a hand-written pgx
// query, with and without decoding the rows.
type Registry struct {
	st       *postgres.Store
	reg      *registry.Registry
	patients int
	found    atomic.Int64 // entries the queries returned, for a sanity check
	// Loaded is what the registry holds.
	Loaded postgres.LoadResult
}

// NewRegistry opens the registry at pgURL, loads it (or, with o.Reuse,
// uses what a previous run loaded) and warms it up.
func NewRegistry(ctx context.Context, pgURL string, o RegistryOptions) (_ *Registry, err error) {
	st, err := postgres.Open(ctx, pgURL)
	if err != nil {
		return nil, err
	}
	defer func() {
		if err != nil {
			st.Close()
		}
	}()
	if err := st.Migrate(ctx); err != nil {
		return nil, err
	}
	var have int
	if err := st.Pool().QueryRow(ctx, "SELECT count(*) FROM documents").Scan(&have); err != nil {
		return nil, err
	}
	r := &Registry{st: st, patients: cmp.Or(o.Patients, max(1, o.Documents/10))}
	switch {
	case o.Reuse && have >= o.Documents:
		r.Loaded = postgres.LoadResult{Documents: have, Patients: r.patients}
	case have > 0:
		return nil, fmt.Errorf("the database already holds %d DocumentEntries: give an empty database, or --reuse one a previous pjd bench registry loaded with at least --docs", have)
	default:
		var progress func(int)
		if o.NewProgress != nil {
			progress = o.NewProgress(o.Documents)
		}
		r.Loaded, err = st.LoadSynthetic(ctx, postgres.LoadOptions{Documents: o.Documents, Patients: o.Patients, Seed: 1, Progress: progress, Skewed: true, DeferIndexes: true})
		if err != nil {
			return nil, err
		}
	}
	r.reg, err = registry.New(registry.Config{Store: st, Patients: registry.NorwegianPatientIDs{AllowSynthetic: true}})
	if err != nil {
		return nil, err
	}
	// Warm caches and connections alike for every variant. A patient may
	// have only deprecated entries (and FindDocuments for Approved finds
	// nothing), but most have some: both ways must find the same.
	var byQuery int64
	for i := range min(2000, r.patients) {
		for k, op := range []Op{r.query, r.pgx(false)} {
			before := r.found.Load()
			if err := op(ctx, uint64(i)*7919); err != nil {
				return nil, fmt.Errorf("warm-up: %w", err)
			}
			if k == 0 {
				byQuery = r.found.Load() - before
			} else if got := r.found.Load() - before; got != byQuery {
				return nil, fmt.Errorf("warm-up: FindDocuments found %d entries for %s, the pgx query %d", byQuery, r.patientOf(uint64(i)*7919), got)
			}
		}
	}
	if r.found.Load() == 0 {
		return nil, errors.New("warm-up: no query found anything")
	}
	return r, nil
}

// Close closes the registry.
func (r *Registry) Close() { r.st.Close() }

// patientOf spreads operation numbers over the patients.
func (r *Registry) patientOf(i uint64) string {
	return postgres.SyntheticPatientID(int((i * 2654435761) % uint64(r.patients)))
}

// query is FindDocuments (Approved, LeafClass) through Registry.Query.
func (r *Registry) query(ctx context.Context, i uint64) error {
	res, err := r.reg.Query(ctx, &registry.Query{ID: registry.QueryFindDocuments, ReturnType: registry.ReturnLeafClass,
		Params: []registry.Slot{
			{Name: registry.ParamDocumentEntryPatientID, Values: []string{"'" + r.patientOf(i) + "'"}},
			{Name: registry.ParamDocumentEntryStatus, Values: []string{"('" + registry.StatusApproved + "')"}},
		}})
	if err != nil {
		return err
	}
	r.found.Add(int64(len(res.Documents)))
	return nil
}

// pgx is the same index lookup written by hand: the rows (status and the
// JSON body) of one patient's Approved documents, decoded or not.
func (r *Registry) pgx(decode bool) Op {
	const sql = "SELECT d.status, d.body FROM documents d WHERE d.patient_id = $1 AND d.status = $2 ORDER BY d.seq"
	return func(ctx context.Context, i uint64) error {
		rows, err := r.st.Pool().Query(ctx, sql, r.patientOf(i), registry.StatusApproved)
		if err != nil {
			return err
		}
		defer rows.Close()
		n := 0
		for rows.Next() {
			var status string
			var body []byte
			if err := rows.Scan(&status, &body); err != nil {
				return err
			}
			if decode {
				var d registry.DocumentEntry
				if err := json.Unmarshal(body, &d); err != nil {
					return err
				}
			}
			n++
		}
		if err := rows.Err(); err != nil {
			return err
		}
		r.found.Add(int64(n))
		return nil
	}
}

// RegistryCase is a case of the registry benchmark.
type RegistryCase struct {
	Case
	Parallel bool
}

// Cases are the registry cases, serial and parallel, each with its
// baseline.
func (r *Registry) Cases() []RegistryCase {
	var out []RegistryCase
	for _, par := range []bool{false, true} {
		suffix := "/serial"
		if par {
			suffix = "/parallel"
		}
		out = append(out,
			RegistryCase{Case{Name: "pgx" + suffix, Unit: "queries", Op: r.pgx(false)}, par},
			RegistryCase{Case{Name: "pgx+json" + suffix, Unit: "queries", Op: r.pgx(true), Baseline: "pgx" + suffix}, par},
			RegistryCase{Case{Name: "registry-query" + suffix, Unit: "queries", Op: r.query, Baseline: "pgx" + suffix}, par},
		)
	}
	return out
}

// RegistryWorkers is the number of clients of the parallel runs.
func RegistryWorkers() int { return 4 * runtime.GOMAXPROCS(0) }

// RegistryBenchmark runs every registry case as o says.
func RegistryBenchmark(ctx context.Context, svc *Services, o RegistryOptions) ([]Row, error) {
	r, err := NewRegistry(ctx, svc.PostgresURL, o)
	if err != nil {
		return nil, err
	}
	defer r.Close()
	if o.Notes != nil {
		fmt.Fprintf(o.Notes, "registry: %d synthetic DocumentEntries for %d patients (loaded in %v)\n",
			r.Loaded.Documents, r.Loaded.Patients, r.Loaded.Elapsed.Round(time.Millisecond))
	}
	var rows []Row
	for _, c := range r.Cases() {
		var l Latencies
		if c.Parallel {
			l = RunClosedLoop(ctx, RegistryWorkers(), o.Duration, c.Op)
		} else {
			l = RunSerial(ctx, o.Count, c.Op)
		}
		rows = append(rows, c.Row(l))
	}
	return rows, rowsErr(rows)
}

// GrowthBenchmark is RegistryBenchmark twice: on a registry of smallDocs
// entries (in a database of its own) and on one of o.Documents, with the
// same documents per patient, so the difference is what the size costs.
func GrowthBenchmark(ctx context.Context, svc *Services, o RegistryOptions, smallDocs int) (small, large []Row, err error) {
	smallURL, err := svc.ExtraDatabase(ctx, "pjd_bench_small")
	if err != nil {
		return nil, nil, err
	}
	so := o
	so.Documents, so.Reuse = smallDocs, false
	if o.Patients > 0 {
		so.Patients = max(1, int(int64(o.Patients)*int64(smallDocs)/int64(o.Documents)))
	}
	if small, err = RegistryBenchmark(ctx, &Services{PostgresURL: smallURL}, so); err != nil {
		return small, nil, err
	}
	// The large registry in a database of its own too (other cases of a
	// run register documents in svc's), unless a loaded one is reused.
	largeSvc := svc
	if !o.Reuse {
		largeURL, err := svc.ExtraDatabase(ctx, "pjd_bench_large")
		if err != nil {
			return small, nil, err
		}
		largeSvc = &Services{PostgresURL: largeURL}
	}
	large, err = RegistryBenchmark(ctx, largeSvc, o)
	return small, large, err
}
