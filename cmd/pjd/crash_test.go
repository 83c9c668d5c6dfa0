package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"pjd/cmd/pjd/internal/synth"
	"pjd/gateway/xdsclient"
	"pjd/registry"
)

// Crash safety (issue "Document repository" §6): a pjd process is killed
// with SIGKILL at random points while sources submit concurrently, and
// restarted on the same data. What must hold afterwards:
//
//   - every submission that got a Success response is findable (ITI-18)
//     and retrievable (ITI-43) with the bytes that were sent;
//   - a submission is registered whole or not at all, and a rejected one
//     not at all;
//   - no registry entry points to a missing blob (every entry is
//     retrieved and verified);
//   - pjd repository sweep, run once the grace period has passed, deletes
//     every blob no entry names and every leftover of an interrupted
//     write, and nothing else: afterwards the store holds exactly one
//     complete upload per registry entry.
const (
	crashRounds        = 3
	crashWorkers       = 4
	crashUploadTimeout = 3 * time.Second // also the sweep's grace period
)

type crashOutcome int

const (
	outcomeAcked      crashOutcome = iota // Success
	outcomeRejected                       // Failure with a definite RegistryError
	outcomeUnanswered                     // no answer (in flight at the kill), or XDSRegistryNotAvailable
)

// crashSubmission is one ITI-41 request and what came of it.
type crashSubmission struct {
	round   int
	seq     uint64
	patient string
	docs    []synth.Doc
	uids    []string
	outcome crashOutcome
	detail  string
}

// newCrashSubmission makes a submission of one document (three times in
// four) or two, of sizes that make kills land in every step of an upload:
// mostly small, some of a few MiB, one in ten over S3's 16 MiB part size.
func newCrashSubmission(rng *rand.Rand, seq uint64, patient string) *crashSubmission {
	n := 1
	if rng.IntN(4) == 0 {
		n = 2
	}
	s := &crashSubmission{seq: seq, patient: patient}
	for i := range n {
		var size int64
		switch r := rng.IntN(10); {
		case r < 6:
			size = 1<<10 + rng.Int64N(255<<10)
		case r < 9:
			size = 256<<10 + rng.Int64N(4<<20)
		default:
			size = 16<<20 + rng.Int64N(4<<20)
		}
		s.docs = append(s.docs, synth.Doc{Seed: seq<<1 | uint64(i), Size: size}.WithHash())
	}
	return s
}

// crashSeedFlag replays TestCrashSafety's random choices (the sizes and
// patients of the submissions, the moment of each kill).
var crashSeedFlag = flag.Uint64("seed", 0, "TestCrashSafety: use this random seed, to replay a run (also PJD_CRASH_SEED; 0: a new seed, logged)")

// crashSeed is the seed of a crash run: -seed, else PJD_CRASH_SEED, else
// one from the clock.
func crashSeed(flagValue uint64, env string, now func() time.Time) (uint64, error) {
	if flagValue != 0 {
		return flagValue, nil
	}
	if env != "" {
		seed, err := strconv.ParseUint(env, 10, 64)
		if err != nil || seed == 0 {
			return 0, fmt.Errorf("PJD_CRASH_SEED=%q is not a seed (a positive integer)", env)
		}
		return seed, nil
	}
	return uint64(now().UnixNano()), nil
}

func TestCrashSeed(t *testing.T) {
	clock := func() time.Time { return time.Unix(0, 42) }
	for _, c := range []struct {
		flag uint64
		env  string
		want uint64
		err  bool
	}{
		{0, "", 42, false},
		{7, "", 7, false},
		{0, "9", 9, false},
		{7, "9", 7, false},
		{0, "nine", 0, true},
		{0, "0", 0, true},
	} {
		got, err := crashSeed(c.flag, c.env, clock)
		if got != c.want || (err != nil) != c.err {
			t.Errorf("crashSeed(%d, %q) = %d, %v; want %d, error %v", c.flag, c.env, got, err, c.want, c.err)
		}
	}
}

func TestCrashSafety(t *testing.T) {
	if testing.Short() {
		t.Skip("kills and restarts servers: skipped with -short")
	}
	for _, backend := range []string{backendEmbedded, backendProduction} {
		t.Run(backend, func(t *testing.T) { testCrashSafety(t, backend) })
	}
}

func testCrashSafety(t *testing.T, backend string) {
	ctx, cancel := context.WithTimeout(context.Background(), 8*time.Minute)
	defer cancel()
	d := newDeployment(t, backend)
	flags := d.with("--upload-timeout", crashUploadTimeout.String())
	seed, err := crashSeed(*crashSeedFlag, os.Getenv("PJD_CRASH_SEED"), time.Now)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("random seed %d (replay with -run 'TestCrashSafety/%s' -seed=%d, or PJD_CRASH_SEED=%d)", seed, backend, seed, seed)
	rng := rand.New(rand.NewPCG(seed, 0))
	patients := []string{registry.SamplePatientID(10), registry.SamplePatientID(11), registry.SamplePatientID(12)}

	var (
		mu      sync.Mutex
		subs    []*crashSubmission
		nextSeq atomic.Uint64
	)
	nextSeq.Store(rng.Uint64() >> 20)
	var lastKill time.Time
	for round := 1; round <= crashRounds; round++ {
		p := startPJD(t, fmt.Sprintf("pjd-round%d", round), flags...)
		c := xdsClient(p.URL, p.URL, time.Minute)
		var acked atomic.Int64
		stop := make(chan struct{})
		var wg sync.WaitGroup
		for w := range crashWorkers {
			wrng := rand.New(rand.NewPCG(seed, uint64(round*100+w)))
			wg.Go(func() {
				for {
					select {
					case <-stop:
						return
					default:
					}
					s := newCrashSubmission(wrng, nextSeq.Add(1), patients[wrng.IntN(len(patients))])
					s.round = round
					sub, docs := synth.Submission(s.seq, s.patient, s.docs...)
					for _, e := range sub.Documents {
						s.uids = append(s.uids, e.UniqueID)
					}
					resp, err := c.Provide(ctx, sub, docs)
					switch {
					case err != nil:
						s.outcome, s.detail = outcomeUnanswered, err.Error()
					case resp.Status == registry.ResponseSuccess:
						s.outcome = outcomeAcked
						acked.Add(1)
					case slices.ContainsFunc(resp.Errors, func(e registry.Error) bool { return e.Code == registry.ErrCodeRegistryNotAvailable }):
						s.outcome, s.detail = outcomeUnanswered, resp.Errors.Error()
					default:
						s.outcome, s.detail = outcomeRejected, resp.Errors.Error()
					}
					mu.Lock()
					subs = append(subs, s)
					mu.Unlock()
				}
			})
		}
		// Kill at a random point once the round is under way.
		started := time.Now()
		for acked.Load() < 3 && time.Since(started) < 30*time.Second {
			time.Sleep(10 * time.Millisecond)
		}
		time.Sleep(time.Duration(rng.Int64N(int64(800 * time.Millisecond))))
		close(stop)
		p.kill()
		lastKill = time.Now()
		wg.Wait()
		inFlight := 0
		for _, s := range subs {
			if s.round == round && s.outcome == outcomeUnanswered {
				inFlight++
			}
		}
		t.Logf("round %d: SIGKILL after %v, %d acknowledged, %d in flight", round, lastKill.Sub(started).Round(time.Millisecond), acked.Load(), inFlight)
		if acked.Load() == 0 {
			t.Fatalf("round %d: no submission was acknowledged before the kill", round)
		}
	}
	var ackedN, rejectedN, unanswered int
	for _, s := range subs {
		switch s.outcome {
		case outcomeAcked:
			ackedN++
		case outcomeRejected:
			rejectedN++
			t.Logf("rejected (seq %d, round %d): %s", s.seq, s.round, s.detail)
		case outcomeUnanswered:
			unanswered++
		}
	}

	// Restart on the same data and check what the registry and the store
	// say against what the sources were told.
	p := startPJD(t, "pjd-verify", flags...)
	c := xdsClient(p.URL, p.URL, 2*time.Minute)
	entries, committedUnanswered := verifyAfterCrash(ctx, t, c, patients, subs)
	committed, orphans := classify(t, d.store, entries)
	leftovers := d.store.leftovers(t)
	for _, e := range entries {
		if n := committed[keyOf(e)]; n != 1 {
			t.Errorf("registry entry %s has %d complete stored uploads, want 1", e.UniqueID, n)
		}
	}
	p.stop()
	if t.Failed() {
		return
	}

	// Sweep once every upload is older than the grace period.
	time.Sleep(time.Until(lastKill.Add(crashUploadTimeout + time.Second)))
	out, err := runPJD(t, 2*time.Minute, append([]string{"repository", "sweep"},
		d.with("--upload-timeout", crashUploadTimeout.String(), "--sweep-grace", crashUploadTimeout.String())...)...)
	if err != nil {
		t.Fatal(err)
	}
	var st struct{ examined, young, committed, orphans, deleted, incomplete, dangling, unreadable int }
	if _, err := fmt.Sscanf(strings.TrimSpace(out), "examined %d, young %d, committed %d, orphans %d, deleted %d objects, incomplete uploads %d, dangling %d, unreadable %d",
		&st.examined, &st.young, &st.committed, &st.orphans, &st.deleted, &st.incomplete, &st.dangling, &st.unreadable); err != nil {
		t.Fatalf("sweep output %q: %v", out, err)
	}
	t.Logf("%s: %d submissions acknowledged, %d rejected, %d in flight at the kills (%d of them committed); "+
		"before the sweep %d registered documents (each with its one complete upload), %d orphan uploads, %d leftovers of interrupted writes; pjd repository sweep: %s",
		backend, ackedN, rejectedN, unanswered, committedUnanswered, len(entries), len(orphans), len(leftovers), strings.TrimSpace(out))
	if st.orphans != len(orphans) || st.incomplete != len(leftovers) || st.committed != len(entries) ||
		st.young != 0 || st.dangling != 0 || st.unreadable != 0 {
		t.Errorf("sweep found %d orphans, %d incomplete, %d committed, %d young, %d dangling, %d unreadable; "+
			"want %d orphans, %d incomplete, %d committed and no young, dangling or unreadable",
			st.orphans, st.incomplete, st.committed, st.young, st.dangling, st.unreadable, len(orphans), len(leftovers), len(entries))
	}
	committed, orphans = classify(t, d.store, entries)
	if len(orphans) != 0 {
		t.Errorf("after the sweep the store still holds orphans: %v", orphans)
	}
	if l := d.store.leftovers(t); len(l) != 0 {
		t.Errorf("after the sweep the store still holds leftovers: %v", l)
	}
	if len(committed) != len(entries) {
		t.Errorf("after the sweep the store holds %d committed uploads for %d registry entries", len(committed), len(entries))
	}

	// The sweep took nothing that was committed.
	p = startPJD(t, "pjd-after-sweep", flags...)
	c = xdsClient(p.URL, p.URL, 2*time.Minute)
	after, _ := verifyAfterCrash(ctx, t, c, patients, subs)
	if len(after) != len(entries) {
		t.Errorf("after the sweep the registry has %d entries, before %d", len(after), len(entries))
	}
}

// verifyAfterCrash checks the registry against what the sources were told
// and retrieves every registered document. It returns the registry's
// entries and how many unanswered submissions were committed.
func verifyAfterCrash(ctx context.Context, t *testing.T, c *xdsclient.Client, patients []string, subs []*crashSubmission) ([]*registry.DocumentEntry, int) {
	t.Helper()
	type doc struct {
		s *crashSubmission
		p synth.Doc
	}
	byUID := map[string]doc{}
	for _, s := range subs {
		for i, uid := range s.uids {
			byUID[uid] = doc{s, s.docs[i]}
		}
	}
	var entries []*registry.DocumentEntry
	for _, patient := range patients {
		found, err := findDocuments(ctx, c, patient)
		if err != nil {
			t.Fatalf("ITI-18 for %s: %v", patient, err)
		}
		entries = append(entries, found...)
	}
	registered := map[string]bool{}
	for _, e := range entries {
		registered[e.UniqueID] = true
		d, ok := byUID[e.UniqueID]
		switch {
		case !ok:
			t.Errorf("the registry has %s, which no source sent", e.UniqueID)
			continue
		case e.Hash != d.p.Hash || e.Size == nil || *e.Size != d.p.Size:
			t.Errorf("%s registered with hash %s size %v, sent %s %d", e.UniqueID, e.Hash, e.Size, d.p.Hash, d.p.Size)
		}
		err := retrieveOne(ctx, c, e.RepositoryUniqueID, e.UniqueID, func(r io.Reader) error {
			_, err := d.p.Verify(r)
			return err
		})
		if err != nil {
			t.Errorf("ITI-43 of registered %s (round %d, outcome %d): %v", e.UniqueID, d.s.round, d.s.outcome, err)
		}
	}
	committedUnanswered := 0
	for _, s := range subs {
		n := 0
		for _, uid := range s.uids {
			if registered[uid] {
				n++
			}
		}
		switch {
		case n != 0 && n != len(s.uids):
			t.Errorf("submission %d is registered in part: %d of %d documents", s.seq, n, len(s.uids))
		case s.outcome == outcomeAcked && n == 0:
			t.Errorf("submission %d was acknowledged in round %d but is not in the registry", s.seq, s.round)
		case s.outcome == outcomeRejected && n != 0:
			t.Errorf("submission %d was rejected (%s) but is in the registry", s.seq, s.detail)
		case s.outcome == outcomeUnanswered && n != 0:
			committedUnanswered++
		}
	}
	return entries, committedUnanswered
}
