package postgres

import (
	"context"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"slices"
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
	start := time.Now()
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
				batch[i] = sqlstore.SyntheticDocument(rng, doc, sqlstore.SyntheticPatientID(doc%opt.Patients))
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
	for _, table := range append([]string{"documents"}, sqlstore.DocumentChildTables...) {
		if _, err := s.pool.Exec(ctx, "ANALYZE "+pgx.Identifier{table}.Sanitize()); err != nil {
			return LoadResult{}, s.wrap(ctx, "analyze "+table, err)
		}
	}
	return LoadResult{Documents: total, Patients: opt.Patients, Elapsed: time.Since(start)}, nil
}
