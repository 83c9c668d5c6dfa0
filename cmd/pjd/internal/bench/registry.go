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

	"github.com/jackc/pgx/v5"

	"pjd/registry"
	"pjd/registry/postgres"
)

// ---- registry: ITI-18 FindDocuments at scale ----

// RegistryOptions shape the registry benchmark.
type RegistryOptions struct {
	Documents, Patients int
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
	// Loaded is what the registry holds; Reused: an earlier run loaded it.
	Loaded postgres.LoadResult
	Reused bool
}

// LoadRecord is the synthetic load a registry database holds, recorded in
// it (table pjd_bench_load) once the load is complete: a rerun measures
// it again instead of loading when it asks for the same.
type LoadRecord struct{ Documents, Patients int }

// loadRecord returns how many DocumentEntries st holds and the load
// recorded there (zero when none was).
func loadRecord(ctx context.Context, st *postgres.Store) (have int, rec LoadRecord, err error) {
	if err := st.Pool().QueryRow(ctx, "SELECT count(*) FROM documents").Scan(&have); err != nil {
		return 0, rec, err
	}
	var table bool
	if err := st.Pool().QueryRow(ctx, "SELECT to_regclass('pjd_bench_load') IS NOT NULL").Scan(&table); err != nil || !table {
		return have, rec, err
	}
	err = st.Pool().QueryRow(ctx, "SELECT documents, patients FROM pjd_bench_load").Scan(&rec.Documents, &rec.Patients)
	if errors.Is(err, pgx.ErrNoRows) {
		err = nil
	}
	return have, rec, err
}

func recordLoad(ctx context.Context, st *postgres.Store, rec LoadRecord) error {
	_, err := st.Pool().Exec(ctx, "CREATE TABLE pjd_bench_load (documents integer NOT NULL, patients integer NOT NULL)")
	if err == nil {
		_, err = st.Pool().Exec(ctx, "INSERT INTO pjd_bench_load VALUES ($1, $2)", rec.Documents, rec.Patients)
	}
	return err
}

// NewRegistry opens the registry at pgURL, loads it (or, when it holds
// exactly the load o asks for from an earlier run, uses that: see
// loadRecord) and warms it up.
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
	r := &Registry{st: st, patients: cmp.Or(o.Patients, max(1, o.Documents/10))}
	have, loaded, err := loadRecord(ctx, st)
	if err != nil {
		return nil, err
	}
	switch {
	case have > 0 && loaded == (LoadRecord{o.Documents, r.patients}):
		r.Loaded = postgres.LoadResult{Documents: have, Patients: r.patients}
		r.Reused = true
	case have > 0 && loaded.Documents > 0:
		return nil, fmt.Errorf("the database holds the registry of an earlier run, %d DocumentEntries for %d patients: "+
			"rerun with --docs %d --patients %d to measure it, or start from a new --keep directory", loaded.Documents, loaded.Patients, loaded.Documents, loaded.Patients)
	case have > 0:
		return nil, fmt.Errorf("the database already holds %d DocumentEntries no pjd bench loaded: give an empty database", have)
	default:
		var progress func(int)
		if o.NewProgress != nil {
			progress = o.NewProgress(o.Documents)
		}
		r.Loaded, err = st.LoadSynthetic(ctx, postgres.LoadOptions{Documents: o.Documents, Patients: o.Patients, Seed: 1, Progress: progress, Skewed: true, DeferIndexes: true})
		if err != nil {
			return nil, err
		}
		if err := recordLoad(ctx, st, LoadRecord{o.Documents, r.patients}); err != nil {
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
	return registryBenchmark(ctx, svc, "", o)
}

// registryBenchmark is RegistryBenchmark on svc's registry database name
// (Services.RegistryDatabase).
func registryBenchmark(ctx context.Context, svc *Services, name string, o RegistryOptions) ([]Row, error) {
	url, err := svc.RegistryDatabase(ctx, name)
	if err != nil {
		return nil, err
	}
	r, err := NewRegistry(ctx, url, o)
	if err != nil {
		return nil, err
	}
	defer r.Close()
	if o.Notes != nil {
		if r.Reused {
			fmt.Fprintf(o.Notes, "registry: %d synthetic DocumentEntries for %d patients, loaded by an earlier run (no load)\n",
				r.Loaded.Documents, r.Loaded.Patients)
		} else {
			fmt.Fprintf(o.Notes, "registry: %d synthetic DocumentEntries for %d patients (loaded in %v)\n",
				r.Loaded.Documents, r.Loaded.Patients, r.Loaded.Elapsed.Round(time.Millisecond))
		}
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
	so := o
	so.Documents = smallDocs
	if o.Patients > 0 {
		so.Patients = max(1, int(int64(o.Patients)*int64(smallDocs)/int64(o.Documents)))
	}
	// Each registry in a database of its own (other cases of a run
	// register documents in svc's).
	if small, err = registryBenchmark(ctx, svc, "pjd_bench_small", so); err != nil {
		return small, nil, err
	}
	large, err = registryBenchmark(ctx, svc, "pjd_bench_large", o)
	return small, large, err
}
