package repository_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"pjd/registry"
	"pjd/registry/oid"
	"pjd/repository"
)

var errCrashed = errors.New("process died")

// crashStore stands in for the process dying: once crash says so, every
// write and delete of this process fails (nothing it would still have done
// happens), while the store itself keeps what was written before.
type crashStore struct {
	repository.BlobStore
	mu      sync.Mutex
	dead    bool
	crashAt func(op, key string) bool
}

func (c *crashStore) alive(op, key string) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if !c.dead && c.crashAt != nil && c.crashAt(op, key) {
		c.dead = true
	}
	if c.dead {
		return errCrashed
	}
	return nil
}

func (c *crashStore) kill() { c.mu.Lock(); c.dead = true; c.mu.Unlock() }

func (c *crashStore) Put(ctx context.Context, key string, r io.Reader) (int64, error) {
	if err := c.alive("put", key); err != nil {
		return 0, err
	}
	return c.BlobStore.Put(ctx, key, r)
}

func (c *crashStore) Delete(ctx context.Context, key string) error {
	if err := c.alive("delete", key); err != nil {
		return err
	}
	return c.BlobStore.Delete(ctx, key)
}

// TestSweepCrashPoints drives uploads into a crash at each point of the
// protocol (sweep.go lists them), then runs the sweeper of a fresh process
// and checks that it deletes exactly the orphans and keeps what the
// registry committed, which stays retrievable.
func TestSweepCrashPoints(t *testing.T) {
	for _, b := range backends {
		t.Run(b.name, func(t *testing.T) {
			blobs, leaveIncomplete := b.open(t)
			e := newEnv(t, blobs)
			ctx := t.Context()

			type scenario struct {
				name       string
				crashAt    func(op, key string) bool
				registry   func(c *countingRegistry, cs *crashStore)
				badPatient bool
				kept       bool // its documents must survive the sweep
				commitErr  error
			}
			metas := 0
			scenarios := []scenario{
				{name: "after the first .bin, before its .meta",
					crashAt: func(op, key string) bool { return op == "put" && strings.HasSuffix(key, ".meta") }},
				{name: "during the second document's bytes",
					crashAt: func(op, key string) bool {
						if op == "put" && strings.HasSuffix(key, ".meta") {
							metas++
						}
						return op == "put" && strings.HasSuffix(key, ".bin") && metas == 1
					}},
				{name: "after every .meta, before Register",
					registry: func(c *countingRegistry, cs *crashStore) {
						c.unreachable = true
						c.beforeRegister = cs.kill
					}, commitErr: repository.ErrRegistry},
				{name: "Register committed, answer lost",
					registry: func(c *countingRegistry, cs *crashStore) {
						c.loseAnswer = true
						c.beforeRegister = cs.kill
					}, kept: true, commitErr: repository.ErrRegistry},
				{name: "Register not committed, no answer",
					registry:  func(c *countingRegistry, cs *crashStore) { c.unreachable = true },
					commitErr: repository.ErrRegistry},
				{name: "rejected, died while deleting",
					crashAt:    func(op, key string) bool { return op == "delete" },
					badPatient: true},
				{name: "committed", kept: true},
			}
			var keptUIDs, lostUIDs []string
			for _, sc := range scenarios {
				cs := &crashStore{BlobStore: blobs, crashAt: sc.crashAt}
				reg := &countingRegistry{Registry: e.reg.Registry}
				if sc.registry != nil {
					sc.registry(reg, cs)
				}
				r, err := repository.New(repository.Config{UniqueID: repoID, Blobs: cs, Registry: reg, Now: e.clock.Now})
				if err != nil {
					t.Fatal(err)
				}
				sub, ids := submission(2)
				if sc.badPatient {
					sub.SubmissionSet.PatientID = "12345678901^^^&" + oid.FNR + "&ISO"
				}
				_, err = provide(t, r, sub, ids, map[string][]byte{ids[0]: body(0), ids[1]: body(1)})
				switch {
				case sc.commitErr != nil && !errors.Is(err, sc.commitErr):
					t.Fatalf("%s: provide: %v, want %v", sc.name, err, sc.commitErr)
				case sc.kept && sc.commitErr == nil && err != nil:
					t.Fatalf("%s: provide: %v", sc.name, err)
				case !sc.kept && err == nil:
					t.Fatalf("%s: provide succeeded", sc.name)
				}
				for _, d := range sub.Documents {
					if sc.kept {
						keptUIDs = append(keptUIDs, d.UniqueID)
					} else {
						lostUIDs = append(lostUIDs, d.UniqueID)
					}
				}
			}
			leaveIncomplete(t)
			foreign := "docs/README"
			if _, err := blobs.Put(ctx, foreign, strings.NewReader("not ours")); err != nil {
				t.Fatal(err)
			}
			all := objects(t, blobs)

			// A fresh process. Nothing is old enough yet: nothing goes.
			r := e.repo
			st, err := r.Sweep(ctx, time.Hour)
			if err != nil {
				t.Fatal(err)
			}
			if got := objects(t, blobs); !slices.Equal(got, all) || st.Young != st.Documents || st.Deleted != 0 || st.Incomplete != 0 {
				t.Fatalf("early sweep %+v changed %d objects to %d", st, len(all), len(got))
			}

			e.clock.Advance(2 * time.Hour)
			st, err = r.Sweep(ctx, time.Hour)
			if err != nil {
				t.Fatal(err)
			}
			want := repository.SweepStats{Documents: 12, Committed: 4, Orphans: 8, Deleted: 1 + 2 + 4 + 4 + 4, Incomplete: 1}
			if st != want {
				t.Errorf("sweep = %+v, want %+v", st, want)
			}
			left := objects(t, blobs)
			if len(left) != 4*2+1 || !slices.Contains(left, foreign) {
				t.Errorf("after sweep: %q", left)
			}

			// Every committed document is retrievable; every lost one is
			// unknown to the registry.
			reqs := func(uids []string) []repository.DocumentRequest {
				var q []repository.DocumentRequest
				for _, u := range uids {
					q = append(q, repository.DocumentRequest{RepositoryUniqueID: repoID, DocumentUniqueID: u})
				}
				return q
			}
			res, err := r.Retrieve(ctx, reqs(keptUIDs))
			if err != nil || res.Response.Status != registry.ResponseSuccess {
				t.Fatalf("committed documents: %+v, %v", res.Response, err)
			}
			for _, d := range res.Documents {
				readAll(t, d.Open)
			}
			res, err = r.Retrieve(ctx, reqs(lostUIDs))
			if err != nil || res.Response.Status != registry.ResponseFailure || len(res.Response.Errors) != len(lostUIDs) {
				t.Fatalf("lost documents: %+v, %v", res.Response, err)
			}
			assertEveryEntryRetrievable(t, e)

			// A second sweep finds nothing more to do.
			st, err = r.Sweep(ctx, time.Hour)
			if err != nil || st.Deleted != 0 || st.Incomplete != 0 || st.Committed != 4 {
				t.Fatalf("second sweep = %+v, %v", st, err)
			}
		})
	}
}

// assertEveryEntryRetrievable checks the invariant that no registry entry
// of this repository points to a missing blob.
func assertEveryEntryRetrievable(t *testing.T, e *env) {
	t.Helper()
	entries, err := e.store.Documents(t.Context(), registry.DocumentFilter{})
	if err != nil {
		t.Fatal(err)
	}
	for _, en := range entries {
		rc, _, err := e.repo.Open(t.Context(), en)
		if err != nil {
			t.Errorf("registry entry %s has no retrievable blob: %v", en.UniqueID, err)
			continue
		}
		rc.Close()
	}
}

func TestSweepGrace(t *testing.T) {
	blobs, _ := backends[0].open(t)
	e := newEnv(t, blobs, func(c *repository.Config) { c.UploadTimeout = 2 * time.Hour })
	if _, err := e.repo.Sweep(t.Context(), time.Hour); !errors.Is(err, repository.ErrGraceTooShort) {
		t.Fatalf("Sweep with grace < upload timeout: %v", err)
	}
}

// TestSweepKeeps covers what the sweeper must not delete: deprecated
// (replaced) documents, records it cannot read, objects not of its layout,
// and many committed documents mixed with orphans across batches.
func TestSweepKeeps(t *testing.T) {
	forEachEnv(t, func(t *testing.T, e *env) {
		ctx := t.Context()

		// A document and its replacement: the original is Deprecated.
		sub, _, _ := provided(t, e.repo, 1)
		orig, err := e.reg.DocumentsByUniqueID(ctx, []string{sub.Documents[0].UniqueID})
		if err != nil || len(orig) != 1 {
			t.Fatalf("original: %v, %v", orig, err)
		}
		rplc, rids := submission(1)
		rplc.SubmissionSet.PatientID = sub.SubmissionSet.PatientID
		rplc.Documents[0].PatientID, rplc.Documents[0].SourcePatientID = sub.SubmissionSet.PatientID, sub.SubmissionSet.PatientID
		rplc.Associations = append(rplc.Associations, &registry.Association{ID: "Replace01", Type: registry.AssocReplace, Source: rids[0], Target: orig[0].ID})
		if _, err := provide(t, e.repo, rplc, rids, map[string][]byte{rids[0]: body(1)}); err != nil {
			t.Fatalf("replacement: %v", err)
		}
		dep, err := e.reg.DocumentsByUniqueID(ctx, []string{sub.Documents[0].UniqueID})
		if err != nil || len(dep) != 1 || dep[0].Status != registry.StatusDeprecated {
			t.Fatalf("original after RPLC: %+v, %v", dep, err)
		}

		// 120 committed documents in one submission, and 110 orphans of an
		// upload whose registration never happened: more than one batch.
		many, mids := submission(120)
		bodies := map[string][]byte{}
		for i, id := range mids {
			bodies[id] = []byte(fmt.Sprintf("dokument %d", i))
		}
		if _, err := provide(t, e.repo, many, mids, bodies); err != nil {
			t.Fatal(err)
		}
		e.reg.set(func(c *countingRegistry) { c.unreachable = true })
		orphans, oids := submission(110)
		for i, id := range oids {
			bodies[id] = []byte(fmt.Sprintf("foreldreløs %d", i))
		}
		if _, err := provide(t, e.repo, orphans, oids, bodies); !errors.Is(err, repository.ErrRegistry) {
			t.Fatalf("unanswered registration: %v", err)
		}
		e.reg.set(func(c *countingRegistry) { c.unreachable = false })

		// An unreadable record, in the layout, with bytes.
		h := strings.Repeat("cd", 32)
		bad := "docs/" + h + "/20200101T000000.000000000Z-" + strings.Repeat("1", 32)
		for k, v := range map[string]string{bad + ".bin": "bytes", bad + ".meta": "{not json", "docs/" + h + "/notes.txt": "foreign"} {
			if _, err := e.blobs.Put(ctx, k, strings.NewReader(v)); err != nil {
				t.Fatal(err)
			}
		}

		e.clock.Advance(48 * time.Hour)
		st, err := e.repo.Sweep(ctx, 24*time.Hour)
		if err != nil {
			t.Fatal(err)
		}
		want := repository.SweepStats{Documents: 2 + 120 + 110 + 1, Committed: 122, Unreadable: 1, Orphans: 110, Deleted: 220}
		if st != want {
			t.Errorf("sweep = %+v, want %+v", st, want)
		}
		if n := len(objects(t, e.blobs)); n != 2*122+3 {
			t.Errorf("%d objects left, want %d", n, 2*122+3)
		}
		res, err := e.repo.Retrieve(ctx, []repository.DocumentRequest{{RepositoryUniqueID: repoID, DocumentUniqueID: sub.Documents[0].UniqueID}})
		if err != nil || res.Response.Status != registry.ResponseSuccess {
			t.Fatalf("deprecated document after sweep: %+v, %v", res.Response, err)
		}
		if got := readAll(t, res.Documents[0].Open); !bytes.Equal(got, body(0)) {
			t.Fatal("deprecated document changed")
		}
		assertEveryEntryRetrievable(t, e)
	})
}

// TestUnansweredRegistration: when the registry's answer is lost, Commit
// reports ErrRegistry and leaves the blobs, whatever the registry did, and
// Abort does not delete them either.
func TestUnansweredRegistration(t *testing.T) {
	forEachBackend(t, func(t *testing.T, open func(*testing.T) repository.BlobStore) {
		for _, tc := range []struct {
			name      string
			committed bool
		}{{"committed", true}, {"not committed", false}} {
			t.Run(tc.name, func(t *testing.T) {
				e := newEnv(t, open(t))
				ctx := t.Context()
				e.reg.set(func(c *countingRegistry) { c.loseAnswer, c.unreachable = tc.committed, !tc.committed })
				sub, ids := submission(1)
				u, err := e.repo.NewUpload(ctx, sub, ids)
				if err != nil {
					t.Fatal(err)
				}
				if err := u.Put(ctx, ids[0], bytes.NewReader(body(0))); err != nil {
					t.Fatal(err)
				}
				_, err = u.Commit(ctx)
				if !errors.Is(err, repository.ErrRegistry) || !errors.Is(err, errLost) {
					t.Fatalf("Commit: %v", err)
				}
				if _, ok := registry.AsErrors(err); ok {
					t.Fatal("an unanswered registration was reported as a RegistryErrorList")
				}
				u.Abort(ctx)
				if n := len(objects(t, e.blobs)); n != 2 {
					t.Fatalf("%d objects after an unanswered Commit and Abort, want 2", n)
				}
				res, err := e.repo.Retrieve(ctx, []repository.DocumentRequest{{RepositoryUniqueID: repoID, DocumentUniqueID: sub.Documents[0].UniqueID}})
				if err != nil {
					t.Fatal(err)
				}
				if found := len(res.Documents) == 1; found != tc.committed {
					t.Fatalf("retrievable: %v, want %v", found, tc.committed)
				}
			})
		}
	})
}

// TestSameUniqueID: uploads of one uniqueId never overwrite each other.
// Concurrent submissions with different bytes: the registry lets one win,
// the others' blobs are deleted, and the winner's bytes are served.
// A repeated identical submission leaves the first intact.
func TestSameUniqueID(t *testing.T) {
	forEachEnv(t, func(t *testing.T, e *env) {
		ctx := t.Context()
		shared := uid(3)
		const n = 4
		var wg sync.WaitGroup
		results := make([]error, n)
		contents := make([][]byte, n)
		for i := range n {
			sub, ids := submission(1)
			sub.Documents[0].UniqueID = shared
			contents[i] = bytes.Clone(body(0))
			contents[i][0] = byte('0' + i) // same size, different bytes
			wg.Go(func() {
				_, results[i] = provide(t, e.repo, sub, ids, map[string][]byte{ids[0]: contents[i]})
			})
		}
		wg.Wait()
		winner := -1
		for i, err := range results {
			if err == nil {
				if winner >= 0 {
					t.Fatalf("two submissions of %s with different bytes both succeeded", shared)
				}
				winner = i
				continue
			}
			codes := errCodes(err)
			if len(codes) == 0 || (codes[0] != registry.ErrCodeNonIdenticalHash && codes[0] != registry.ErrCodeRegistryBusy) {
				t.Errorf("loser %d: %v", i, err)
			}
		}
		if winner < 0 {
			t.Fatalf("no submission won: %v", results)
		}
		if got := objects(t, e.blobs); len(got) != 2 {
			t.Fatalf("objects after the race: %q, want the winner's two", got)
		}
		fetch := func() []byte {
			res, err := e.repo.Retrieve(ctx, []repository.DocumentRequest{{RepositoryUniqueID: repoID, DocumentUniqueID: shared}})
			if err != nil || res.Response.Status != registry.ResponseSuccess {
				t.Fatalf("Retrieve: %+v, %v", res, err)
			}
			return readAll(t, res.Documents[0].Open)
		}
		if got := fetch(); !bytes.Equal(got, contents[winner]) {
			t.Fatal("served bytes are not the winner's")
		}
		before := objects(t, e.blobs)

		// The identical document again, as a source retrying would.
		sub, ids := submission(1)
		sub.Documents[0].UniqueID = shared
		_, err := provide(t, e.repo, sub, ids, map[string][]byte{ids[0]: contents[winner]})
		t.Logf("identical resubmission: %v", err)
		after := objects(t, e.blobs)
		for _, k := range before {
			if !slices.Contains(after, k) {
				t.Fatalf("resubmission removed %s", k)
			}
		}
		if err != nil && len(after) != len(before) {
			t.Fatalf("rejected resubmission left %q", after)
		}
		if got := fetch(); !bytes.Equal(got, contents[winner]) {
			t.Fatal("served bytes changed after resubmission")
		}
	})
}

// TestConcurrentUploads runs independent uploads at once (for -race).
func TestConcurrentUploads(t *testing.T) {
	forEachEnv(t, func(t *testing.T, e *env) {
		ctx := t.Context()
		var wg sync.WaitGroup
		uids := make([][]string, 6)
		errs := make([]error, 6)
		for w := range 6 {
			wg.Go(func() {
				sub, ids := submission(2)
				_, errs[w] = provide(t, e.repo, sub, ids, map[string][]byte{ids[0]: body(w), ids[1]: body(w + 10)})
				uids[w] = []string{sub.Documents[0].UniqueID, sub.Documents[1].UniqueID}
			})
		}
		wg.Wait()
		var reqs []repository.DocumentRequest
		for w, err := range errs {
			if err != nil {
				t.Fatalf("upload %d: %v", w, err)
			}
			for _, u := range uids[w] {
				reqs = append(reqs, repository.DocumentRequest{RepositoryUniqueID: repoID, DocumentUniqueID: u})
			}
		}
		res, err := e.repo.Retrieve(ctx, reqs)
		if err != nil || res.Response.Status != registry.ResponseSuccess || len(res.Documents) != 12 {
			t.Fatalf("Retrieve: %+v, %v", res.Response, err)
		}
	})
}
