package registry_test

import (
	"context"
	"flag"
	"slices"
	"testing"
	"time"

	"pjd/conformance/testenv"
	"pjd/registry"
	"pjd/registry/postgres"
)

var benchBackground = flag.Int("pjd.bench.lifecycle.docs", 20_000,
	"synthetic DocumentEntries of other patients BenchmarkLifecycle loads around the two measured patients")

// BenchmarkLifecycle measures, on PostgreSQL and through the Registry
// (validation, transactions, patient-link resolution, $MetadataLevel 1):
//
//   - Update: ITI-57 new versions per second, serially, each of a
//     different logical document (so none waits for another);
//   - FindDocuments: latency of FindDocuments (LeafClass, Approved) for a
//     patient with 1,000 documents that each have two versions, next to a
//     patient with 1,000 documents and no versions, in the same run (the
//     baseline); "p50-x-plain" is the versioned patient's p50 over the
//     plain one's.
//
// Both patients' documents sit among -pjd.bench.lifecycle.docs synthetic
// entries of other patients, so the index matters.
//
//	go test -run '^$' -bench Lifecycle -benchtime 2000x ./registry/
func BenchmarkLifecycle(b *testing.B) {
	ctx := context.Background()
	st, err := postgres.Open(ctx, testenv.Postgres(b))
	if err != nil {
		b.Fatal(err)
	}
	defer st.Close()
	if err := st.Migrate(ctx); err != nil {
		b.Fatal(err)
	}
	if _, err := st.LoadSynthetic(ctx, postgres.LoadOptions{Documents: *benchBackground, Seed: 3}); err != nil {
		b.Fatal(err)
	}
	reg, err := registry.New(registry.Config{Store: st, Patients: registry.NorwegianPatientIDs{AllowSynthetic: true}})
	if err != nil {
		b.Fatal(err)
	}
	const perPatient = 1000
	versioned, plain := registry.SamplePatientID(1_001), registry.SamplePatientID(1_002)
	for i, pid := range []string{versioned, plain} {
		// One submission of 1,000 documents each (the registry's own
		// limit per query is 10,000 objects).
		if _, err := reg.Register(ctx, registry.SampleSubmission(registry.SampleOptions{Patient: pid, Documents: perPatient, Seq: uint64(900_000 + i)})); err != nil {
			b.Fatalf("registering %d documents: %v", perPatient, err)
		}
	}
	latest := func(pid string) []*registry.DocumentEntry {
		docs, err := reg.Reader().Documents(ctx, registry.DocumentFilter{PatientID: pid, LatestOnly: true})
		if err != nil || len(docs) != perPatient {
			b.Fatalf("%d documents of %s, %v", len(docs), pid, err)
		}
		return docs
	}
	docs := latest(versioned)
	seq := uint64(1_000_000)
	update := func(d *registry.DocumentEntry) *registry.DocumentEntry {
		seq++
		res, err := reg.Update(ctx, registry.SampleUpdate(seq, d, nil))
		if err != nil {
			b.Fatalf("update: %v", err)
		}
		return res.NewVersions[0]
	}

	b.Run("Update", func(b *testing.B) {
		// Each iteration makes the next version of the next document; the
		// first 1,000 give the versioned patient its second versions.
		b.ResetTimer()
		start := time.Now()
		for i := 0; i < b.N; i++ {
			k := i % perPatient
			docs[k] = update(docs[k])
		}
		elapsed := time.Since(start)
		b.ReportMetric(float64(b.N)/elapsed.Seconds(), "updates/s")
	})
	// However many iterations Update ran, every document of the versioned
	// patient has at least two versions before measuring queries.
	for k, d := range docs {
		if d.Version == "1" {
			docs[k] = update(d)
		}
	}
	if n := len(latest(versioned)); n != perPatient {
		b.Fatalf("%d latest versions", n)
	}

	find := func(pid string) func() error {
		q := &registry.Query{ID: registry.QueryFindDocuments, ReturnType: registry.ReturnLeafClass, Params: []registry.Slot{
			{Name: registry.ParamDocumentEntryPatientID, Values: []string{"'" + pid + "'"}},
			{Name: registry.ParamDocumentEntryStatus, Values: []string{"('" + registry.StatusApproved + "')"}},
		}}
		return func() error {
			res, err := reg.Query(ctx, q)
			if err == nil && len(res.Documents) != perPatient {
				b.Fatalf("FindDocuments found %d documents, want %d", len(res.Documents), perPatient)
			}
			return err
		}
	}
	b.Run("FindDocuments", func(b *testing.B) {
		v, p := find(versioned), find(plain)
		for range 20 { // warm both the same way
			if err := v(); err != nil {
				b.Fatal(err)
			}
			if err := p(); err != nil {
				b.Fatal(err)
			}
		}
		latV := make([]time.Duration, 0, b.N)
		latP := make([]time.Duration, 0, b.N)
		b.ResetTimer()
		for i := 0; i < b.N; i++ {
			// Interleaved, so both see the same machine.
			t0 := time.Now()
			if err := v(); err != nil {
				b.Fatal(err)
			}
			t1 := time.Now()
			if err := p(); err != nil {
				b.Fatal(err)
			}
			latV, latP = append(latV, t1.Sub(t0)), append(latP, time.Since(t1))
		}
		b.StopTimer()
		slices.Sort(latV)
		slices.Sort(latP)
		p50 := func(l []time.Duration) time.Duration { return l[len(l)/2] }
		p99 := func(l []time.Duration) time.Duration { return l[min(len(l)-1, len(l)*99/100)] }
		b.ReportMetric(float64(p50(latV).Microseconds()), "versioned-p50-us")
		b.ReportMetric(float64(p99(latV).Microseconds()), "versioned-p99-us")
		b.ReportMetric(float64(p50(latP).Microseconds()), "plain-p50-us")
		b.ReportMetric(float64(p99(latP).Microseconds()), "plain-p99-us")
		b.ReportMetric(float64(p50(latV))/float64(p50(latP)), "p50-x-plain")
	})
}
