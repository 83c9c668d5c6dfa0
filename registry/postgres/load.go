package postgres

import (
	"context"
	"encoding/json"
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/jackc/pgx/v5"

	"pjd/registry"
	"pjd/registry/internal/sqlstore"
)

// CopyDocuments bulk-loads DocumentEntries with COPY, in one transaction:
// the same rows InsertDocument writes (columns, child tables, JSON body),
// at a fraction of the cost. It is meant for loading test and benchmark
// data into a database no one is writing to; it does none of the
// registry's checks.
func (s *Store) CopyDocuments(ctx context.Context, docs []*registry.DocumentEntry) error {
	if len(docs) == 0 {
		return nil
	}
	type row struct {
		d    *registry.DocumentEntry
		body []byte
	}
	rows := make([]row, len(docs))
	for i, d := range docs {
		if d == nil || d.ID == "" {
			return fmt.Errorf("postgres: copy documents: %w: nil or id-less DocumentEntry at %d", ErrInvalid, i)
		}
		if err := sqlstore.CheckStrings("DocumentEntry", d); err != nil {
			return err
		}
		body, err := json.Marshal(d)
		if err != nil {
			return fmt.Errorf("postgres: copy documents: %w: %v", ErrInvalid, err)
		}
		rows[i] = row{d, body}
	}

	tx, err := s.pool.Begin(ctx)
	if err != nil {
		return s.wrap(ctx, "copy documents: begin", err)
	}
	defer tx.Rollback(context.Background()) //nolint:errcheck // no-op after Commit; the load's error is what matters

	// Reserve one seq per document from the identity sequence, so the
	// child rows can reference them and later inserts continue after.
	seqRows, err := tx.Query(ctx, "SELECT nextval(pg_get_serial_sequence('documents', 'seq')) FROM generate_series(1, $1)", len(docs))
	if err != nil {
		return s.wrap(ctx, "copy documents: reserve seq", err)
	}
	seqs, err := pgx.CollectRows(seqRows, pgx.RowTo[int64])
	if err != nil {
		return s.wrap(ctx, "copy documents: reserve seq", err)
	}
	slices.Sort(seqs)

	cols := append([]string{"seq"}, sqlstore.DocumentColumns...)
	_, err = tx.CopyFrom(ctx, pgx.Identifier{"documents"}, cols, pgx.CopyFromSlice(len(rows), func(i int) ([]any, error) {
		vals := sqlstore.DocumentValues(rows[i].d, rows[i].body)
		return append([]any{seqs[i]}, vals...), nil
	}))
	if err != nil {
		return s.wrap(ctx, "copy documents", err)
	}
	for _, table := range sqlstore.DocumentChildTables {
		var child [][]any
		for i, r := range rows {
			for _, vals := range sqlstore.DocumentChildren(r.d)[table] {
				child = append(child, append([]any{seqs[i]}, vals...))
			}
		}
		if len(child) == 0 {
			continue
		}
		if _, err := tx.CopyFrom(ctx, pgx.Identifier{table}, sqlstore.DocumentChildColumns[table], pgx.CopyFromRows(child)); err != nil {
			return s.wrap(ctx, "copy "+table, err)
		}
	}
	if err := tx.Commit(ctx); err != nil {
		return s.wrap(ctx, "copy documents: commit", err)
	}
	return nil
}

func (s *Store) wrap(ctx context.Context, op string, err error) error {
	if ctx.Err() != nil {
		return fmt.Errorf("postgres: %s: %w (%v)", op, ctx.Err(), err)
	}
	switch classify(err) {
	case sqlstore.KindUnavailable:
		return fmt.Errorf("postgres: %s: %w: %w", op, registry.ErrUnavailable, err)
	case sqlstore.KindInvalid:
		return fmt.Errorf("postgres: %s: %w: %w", op, ErrInvalid, err)
	}
	return fmt.Errorf("postgres: %s: %w", op, err)
}

// LoadOptions sizes a synthetic load.
type LoadOptions struct {
	Documents int    // DocumentEntries to load
	Patients  int    // distinct synthetic patients (SyntheticPatientID(0 … Patients-1)); 0: Documents/10
	Seed      uint64 // for the random attributes; the same seed loads the same data
	BatchSize int    // documents per COPY transaction; 0: 20,000
	Workers   int    // concurrent COPY transactions; 0: 2
	// Progress, when set, is called after each batch with the number of
	// documents loaded so far (from the loading goroutines, serialised).
	Progress func(loaded int)
	// Skewed spreads the documents over the patients as a national
	// registry holds them: per-patient counts drawn from a lognormal
	// distribution (most patients a few documents, some hundreds; every
	// patient at least one), their documents interleaved in registration
	// order. Without it document i belongs to patient i mod Patients.
	Skewed bool
	// DeferIndexes drops the secondary indexes of the documents tables
	// (not those behind a constraint) before loading and builds them again
	// afterwards, from their own definitions: much faster for a large load
	// into an empty database.
	DeferIndexes bool
}

// skewSigma is the lognormal sigma of the per-patient document counts:
// with 10 documents per patient on average, the median patient has 6 and
// the largest of a million some 800.
const skewSigma = 1.0

// skewedPatients returns, for each document in registration order, its
// patient: counts per patient from a lognormal distribution scaled to sum
// to docs (each at least 1), the documents shuffled.
func skewedPatients(seed uint64, docs, patients int) []int32 {
	rng := rand.New(rand.NewPCG(seed, 0x5eed))
	w := make([]float64, patients)
	var sum float64
	for i := range w {
		w[i] = math.Exp(skewSigma * rng.NormFloat64())
		sum += w[i]
	}
	out := make([]int32, 0, docs)
	spare := docs - patients // beyond the one each patient has
	for p := range w {
		n := 1 + int(float64(spare)*w[p]/sum)
		for range n {
			if len(out) == docs {
				break
			}
			out = append(out, int32(p))
		}
	}
	for len(out) < docs { // rounding: the rest to random patients
		out = append(out, int32(rng.IntN(patients)))
	}
	rng.Shuffle(len(out), func(i, j int) { out[i], out[j] = out[j], out[i] })
	return out
}

// secondaryIndexes returns the definitions of the indexes of tables that
// no constraint owns.
func (s *Store) secondaryIndexes(ctx context.Context, tables []string) (names, defs []string, err error) {
	rows, err := s.pool.Query(ctx, `SELECT i.indexname, i.indexdef FROM pg_indexes i
		WHERE i.schemaname = current_schema() AND i.tablename = ANY($1)
		AND NOT EXISTS (SELECT 1 FROM pg_constraint c WHERE c.conindid = to_regclass(quote_ident(i.schemaname) || '.' || quote_ident(i.indexname)))
		ORDER BY i.indexname`, tables)
	if err != nil {
		return nil, nil, s.wrap(ctx, "list indexes", err)
	}
	defer rows.Close()
	for rows.Next() {
		var n, d string
		if err := rows.Scan(&n, &d); err != nil {
			return nil, nil, s.wrap(ctx, "list indexes", err)
		}
		names, defs = append(names, n), append(defs, d)
	}
	if err := rows.Err(); err != nil {
		return nil, nil, s.wrap(ctx, "list indexes", err)
	}
	return names, defs, nil
}

// LoadResult describes a finished load.
type LoadResult struct {
	Documents, Patients int
	Elapsed             time.Duration // including ANALYZE
}

// SyntheticPatientID returns the CX patient id of synthetic patient n, as
// LoadSynthetic assigns them (document i belongs to patient i mod Patients).
func SyntheticPatientID(n int) string { return sqlstore.SyntheticPatientID(n) }

// LoadSynthetic fills the documents tables with synthetic Norwegian
// DocumentEntries (Volven 9602 classes, synthetic F-nr patients, HPR
// authors) through CopyDocuments, then ANALYZEs them so the planner knows
// the data. It is what `pjd bench registry` and the benchmarks load; never
// point it at a database holding real data.
func (s *Store) LoadSynthetic(ctx context.Context, opt LoadOptions) (LoadResult, error) {
	if opt.Documents < 0 || opt.Patients < 0 || opt.BatchSize < 0 || opt.Workers < 0 {
		return LoadResult{}, fmt.Errorf("postgres: load: %w: negative size", ErrInvalid)
	}
	if opt.Patients == 0 {
		opt.Patients = max(1, opt.Documents/10)
	}
	if opt.BatchSize == 0 {
		opt.BatchSize = 20_000
	}
	if opt.Workers == 0 {
		opt.Workers = 2
	}
	if opt.Patients > opt.Documents && opt.Skewed {
		return LoadResult{}, fmt.Errorf("postgres: load: %w: more patients than documents", ErrInvalid)
	}
	start := time.Now()
	var patientOf func(doc int) int
	if opt.Skewed {
		ps := skewedPatients(opt.Seed, opt.Documents, opt.Patients)
		patientOf = func(doc int) int { return int(ps[doc]) }
	} else {
		patientOf = func(doc int) int { return doc % opt.Patients }
	}
	tables := append([]string{"documents"}, sqlstore.DocumentChildTables...)
	var indexDefs []string
	if opt.DeferIndexes {
		var names []string
		var err error
		if names, indexDefs, err = s.secondaryIndexes(ctx, tables); err != nil {
			return LoadResult{}, err
		}
		for _, n := range names {
			if _, err := s.pool.Exec(ctx, "DROP INDEX "+pgx.Identifier{n}.Sanitize()); err != nil {
				return LoadResult{}, s.wrap(ctx, "drop index "+n, err)
			}
		}
		// Build them again whatever happens to the load.
		defer func() {
			for _, d := range indexDefs {
				_, _ = s.pool.Exec(context.WithoutCancel(ctx), strings.Replace(d, "CREATE INDEX", "CREATE INDEX IF NOT EXISTS", 1))
			}
		}()
	}
	gctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	batches := make(chan []*registry.DocumentEntry, opt.Workers)
	go func() {
		defer close(batches)
		for first := 0; first < opt.Documents; first += opt.BatchSize {
			n := min(opt.BatchSize, opt.Documents-first)
			// One generator per batch, seeded by its position, so the data
			// does not depend on how batches interleave.
			rng := rand.New(rand.NewPCG(opt.Seed, uint64(first)))
			batch := make([]*registry.DocumentEntry, n)
			for i := range batch {
				doc := first + i
				batch[i] = sqlstore.SyntheticDocument(rng, doc, sqlstore.SyntheticPatientID(patientOf(doc)))
			}
			select {
			case batches <- batch:
			case <-gctx.Done():
				return
			}
		}
	}()
	var (
		wg    sync.WaitGroup
		mu    sync.Mutex
		total int
	)
	for w := 0; w < opt.Workers; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for batch := range batches {
				if err := s.CopyDocuments(gctx, batch); err != nil {
					cancel(err)
					return
				}
				mu.Lock()
				total += len(batch)
				if opt.Progress != nil {
					opt.Progress(total)
				}
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	if err := context.Cause(gctx); err != nil {
		return LoadResult{}, err
	}
	for _, d := range indexDefs {
		err := pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
			if _, err := tx.Exec(ctx, "SET LOCAL maintenance_work_mem = '256MB'"); err != nil {
				return err
			}
			_, err := tx.Exec(ctx, d)
			return err
		})
		if err != nil {
			return LoadResult{}, s.wrap(ctx, "create index", err)
		}
	}
	for _, table := range tables {
		if _, err := s.pool.Exec(ctx, "ANALYZE "+pgx.Identifier{table}.Sanitize()); err != nil {
			return LoadResult{}, s.wrap(ctx, "analyze "+table, err)
		}
	}
	return LoadResult{Documents: total, Patients: opt.Patients, Elapsed: time.Since(start)}, nil
}
