package registry_test

import (
	"context"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"pjd/conformance/testenv"
	"pjd/registry"
	"pjd/registry/postgres"
	"pjd/registry/sqlite"
)

func TestMain(m *testing.M) { os.Exit(testenv.Main(m)) }

// backends open a fresh, migrated Store of each kind; tests that exercise
// transactions (concurrency, relationships, queries) run on both.
var backends = []struct {
	name string
	open func(t *testing.T) registry.Store
}{
	{"sqlite", openSQLite},
	{"postgres", func(t *testing.T) registry.Store {
		ctx := context.Background()
		st, err := postgres.Open(ctx, testenv.Postgres(t))
		if err != nil {
			t.Fatalf("postgres.Open: %v", err)
		}
		t.Cleanup(func() { st.Close() })
		if err := st.Migrate(ctx); err != nil {
			t.Fatalf("postgres Migrate: %v", err)
		}
		return st
	}},
}

func openSQLite(t *testing.T) registry.Store {
	st, err := sqlite.Open(context.Background(), filepath.Join(t.TempDir(), "registry.db"))
	if err != nil {
		t.Fatalf("sqlite.Open: %v", err)
	}
	t.Cleanup(func() { st.Close() })
	return st
}

// eachBackend runs fn as a subtest per backend.
func eachBackend(t *testing.T, fn func(t *testing.T, open func(t *testing.T) registry.Store)) {
	for _, b := range backends {
		t.Run(b.name, func(t *testing.T) { fn(t, b.open) })
	}
}

// env is a Registry over a real SQLite store in a temporary directory,
// with a clock the test moves.
type env struct {
	t     *testing.T
	store registry.Store
	reg   *registry.Registry

	mu  sync.Mutex
	now time.Time
}

var (
	patient1 = registry.SamplePatientID(1)
	patient2 = registry.SamplePatientID(2)
	t0       = time.Date(2024, 7, 1, 12, 0, 0, 0, time.UTC)
)

type envOption func(*registry.Config)

func withMaxResults(n int) envOption { return func(c *registry.Config) { c.MaxResults = n } }
func withPatients(p registry.PatientIDChecker) envOption {
	return func(c *registry.Config) { c.Patients = p }
}
func withHome(h string) envOption { return func(c *registry.Config) { c.HomeCommunityID = h } }

func newEnv(t *testing.T, opts ...envOption) *env {
	return newEnvOn(t, openSQLite, opts...)
}

// newEnvOn is newEnv on the store open returns.
func newEnvOn(t *testing.T, open func(t *testing.T) registry.Store, opts ...envOption) *env {
	t.Helper()
	st := open(t)
	e := &env{t: t, store: st, now: t0}
	cfg := registry.Config{
		Store:    st,
		Patients: registry.NorwegianPatientIDs{AllowSynthetic: true},
		Now:      e.clock,
	}
	for _, o := range opts {
		o(&cfg)
	}
	var err error
	e.reg, err = registry.New(cfg)
	if err != nil {
		t.Fatalf("registry.New: %v", err)
	}
	return e
}

func (e *env) clock() time.Time {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.now
}

func (e *env) advance(d time.Duration) {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.now = e.now.Add(d)
}

// register registers sub and fails the test unless it succeeds.
func (e *env) register(sub *registry.Submission) {
	e.t.Helper()
	warnings, err := e.reg.Register(context.Background(), sub)
	if err != nil {
		e.t.Fatalf("Register: %v", err)
	}
	if len(warnings) > 0 {
		e.t.Fatalf("Register warnings: %v", warnings)
	}
}

// counts is the number of stored objects of each type.
type counts struct{ docs, sets, folders, assocs int }

func (e *env) counts() counts {
	e.t.Helper()
	ctx := context.Background()
	r := e.reg.Reader()
	d, err1 := r.Documents(ctx, registry.DocumentFilter{})
	s, err2 := r.SubmissionSets(ctx, registry.SubmissionSetFilter{})
	f, err3 := r.Folders(ctx, registry.FolderFilter{})
	a, err4 := r.Associations(ctx, registry.AssociationFilter{})
	for _, err := range []error{err1, err2, err3, err4} {
		if err != nil {
			e.t.Fatal(err)
		}
	}
	return counts{len(d), len(s), len(f), len(a)}
}

// doc returns the stored DocumentEntry with the uniqueId (the newest when
// several share it).
func (e *env) doc(uid string) *registry.DocumentEntry {
	e.t.Helper()
	docs, err := e.reg.Reader().Documents(context.Background(), registry.DocumentFilter{UniqueIDs: []string{uid}})
	if err != nil || len(docs) == 0 {
		e.t.Fatalf("document %s: %v (%d found)", uid, err, len(docs))
	}
	return docs[len(docs)-1]
}

func (e *env) folder(uid string) *registry.Folder {
	e.t.Helper()
	fs, err := e.reg.Reader().Folders(context.Background(), registry.FolderFilter{UniqueIDs: []string{uid}})
	if err != nil || len(fs) != 1 {
		e.t.Fatalf("folder %s: %v (%d found)", uid, err, len(fs))
	}
	return fs[0]
}

func (e *env) submissionSet(uid string) *registry.SubmissionSet {
	e.t.Helper()
	ss, err := e.reg.Reader().SubmissionSets(context.Background(), registry.SubmissionSetFilter{UniqueIDs: []string{uid}})
	if err != nil || len(ss) != 1 {
		e.t.Fatalf("submission set %s: %v (%d found)", uid, err, len(ss))
	}
	return ss[0]
}

func (e *env) assocs(f registry.AssociationFilter) []*registry.Association {
	e.t.Helper()
	as, err := e.reg.Reader().Associations(context.Background(), f)
	if err != nil {
		e.t.Fatal(err)
	}
	return as
}

// codesOf returns the distinct error codes of err (sorted), failing the
// test when err is not an ErrorList.
func codesOf(t *testing.T, err error) []string {
	t.Helper()
	l, ok := registry.AsErrors(err)
	if !ok {
		t.Fatalf("error %v (%T) is not a registry.ErrorList", err, err)
	}
	seen := map[string]bool{}
	var out []string
	for _, e := range l {
		if e.Severity != registry.SeverityError {
			t.Errorf("severity %q in %+v", e.Severity, e)
		}
		if e.Context == "" {
			t.Errorf("empty codeContext in %+v", e)
		}
		if !seen[e.Code] {
			seen[e.Code] = true
			out = append(out, e.Code)
		}
	}
	sort.Strings(out)
	return out
}

func sorted(s ...string) []string {
	out := append([]string(nil), s...)
	sort.Strings(out)
	return out
}

// contextMentions reports whether some codeContext of err contains every
// one of the words.
func contextMentions(err error, words ...string) bool {
	l, _ := registry.AsErrors(err)
	for _, e := range l {
		ok := true
		for _, w := range words {
			if !strings.Contains(e.Context, w) {
				ok = false
			}
		}
		if ok {
			return true
		}
	}
	return false
}

// sample builds a SampleSubmission with a given sequence number.
func sample(seq uint64, o registry.SampleOptions) *registry.Submission {
	o.Seq = seq
	return registry.SampleSubmission(o)
}

// assoc finds an association of the submission by id.
func assoc(sub *registry.Submission, id string) *registry.Association {
	for _, a := range sub.Associations {
		if a.ID == id {
			return a
		}
	}
	return nil
}

// withoutAssoc removes an association from the submission.
func withoutAssoc(sub *registry.Submission, id string) {
	var keep []*registry.Association
	for _, a := range sub.Associations {
		if a.ID != id {
			keep = append(keep, a)
		}
	}
	sub.Associations = keep
}

// relation appends a document relationship from the submission's first
// DocumentEntry to target.
func relation(sub *registry.Submission, typ, target string) {
	sub.Associations = append(sub.Associations, &registry.Association{
		ID: "Rel01", Type: typ, Source: sub.Documents[0].ID, Target: target,
	})
}
