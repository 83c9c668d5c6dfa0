package registrytest

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"pjd/registry"
)

func testDocumentStatus(t *testing.T, st registry.Store) {
	ctx := context.Background()
	d1, d2 := Document(1, p1), Document(2, p1)
	insert(t, st, d1, d2)
	err := st.Update(ctx, func(tx registry.Tx) error {
		if err := tx.SetDocumentStatus(ctx, d1.ID, registry.StatusDeprecated); err != nil {
			return err
		}
		// Visible inside the transaction …
		got, err := tx.Documents(ctx, registry.DocumentFilter{Statuses: []string{registry.StatusDeprecated}})
		if err != nil {
			return err
		}
		if len(got) != 1 || got[0].ID != d1.ID || got[0].Status != registry.StatusDeprecated {
			return fmt.Errorf("inside the transaction: got %v", ids(got))
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	// … and after commit, through the status column and the object.
	dep := mustDocuments(t, st, registry.DocumentFilter{PatientID: p1, Statuses: []string{registry.StatusDeprecated}})
	checkIDs(t, ids(dep), []string{d1.ID})
	want := Document(1, p1)
	want.Status = registry.StatusDeprecated
	if len(dep) == 1 {
		equalJSON(t, "deprecated DocumentEntry", dep[0], want)
	}
	checkIDs(t, ids(mustDocuments(t, st, registry.DocumentFilter{Statuses: []string{registry.StatusApproved}})), []string{d2.ID})

	// Back again: the column, not the JSON, is what counts.
	err = st.Update(ctx, func(tx registry.Tx) error {
		return tx.SetDocumentStatus(ctx, d1.ID, registry.StatusApproved)
	})
	if err != nil {
		t.Fatal(err)
	}
	checkIDs(t, ids(mustDocuments(t, st, registry.DocumentFilter{Statuses: []string{registry.StatusApproved}})), []string{d1.ID, d2.ID})
	equalJSON(t, "re-approved DocumentEntry", mustDocuments(t, st, registry.DocumentFilter{IDs: []string{d1.ID}})[0], Document(1, p1))
}

func testFolderLastUpdateTime(t *testing.T, st registry.Store) {
	ctx := context.Background()
	f := Folder(1, p1)
	f.LastUpdateTime = "20230101"
	f2 := Folder(2, p1)
	f2.LastUpdateTime = "20230601"
	insert(t, st, f, f2)
	err := st.Update(ctx, func(tx registry.Tx) error {
		if err := tx.SetFolderLastUpdateTime(ctx, f.ID, "20240315120000"); err != nil {
			return err
		}
		got, err := tx.Folders(ctx, registry.FolderFilter{LastUpdateTime: registry.TimeRange{From: "20240315120000"}})
		if err != nil {
			return err
		}
		if len(got) != 1 || got[0].LastUpdateTime != "20240315120000" {
			return fmt.Errorf("inside the transaction: got %v", ids(got))
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	got := mustFolders(t, st, registry.FolderFilter{IDs: []string{f.ID}})
	want := Folder(1, p1)
	want.LastUpdateTime = "20240315120000"
	equalJSON(t, "updated Folder", got[0], want)
	checkIDs(t, ids(mustFolders(t, st, registry.FolderFilter{LastUpdateTime: registry.TimeRange{From: "2024"}})), []string{f.ID})
	checkIDs(t, ids(mustFolders(t, st, registry.FolderFilter{LastUpdateTime: registry.TimeRange{To: "2024"}})), []string{id('f', 2)})
	checkIDs(t, ids(mustFolders(t, st, registry.FolderFilter{LastUpdateTime: registry.TimeRange{To: "20230102"}})), nil)
}

func testNotFound(t *testing.T, st registry.Store) {
	ctx := context.Background()
	d, f := Document(1, p1), Folder(1, p1)
	insert(t, st, d, f)
	cases := []struct {
		name string
		fn   func(tx registry.Tx) error
	}{
		{"status of unknown id", func(tx registry.Tx) error { return tx.SetDocumentStatus(ctx, id('d', 99), registry.StatusDeprecated) }},
		{"status of a folder id", func(tx registry.Tx) error { return tx.SetDocumentStatus(ctx, f.ID, registry.StatusDeprecated) }},
		{"lastUpdateTime of unknown id", func(tx registry.Tx) error { return tx.SetFolderLastUpdateTime(ctx, id('f', 99), "20240101") }},
		{"lastUpdateTime of a document id", func(tx registry.Tx) error { return tx.SetFolderLastUpdateTime(ctx, d.ID, "20240101") }},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			err := st.Update(ctx, c.fn)
			if !errors.Is(err, registry.ErrNotFound) {
				t.Errorf("got %v, want ErrNotFound", err)
			}
		})
	}
	equalJSON(t, "DocumentEntry", mustDocuments(t, st, registry.DocumentFilter{})[0], Document(1, p1))
	equalJSON(t, "Folder", mustFolders(t, st, registry.FolderFilter{})[0], Folder(1, p1))
}

var errBoom = errors.New("registrytest: validation failed")

// testRollback: fn writes every kind of object and change, then fails;
// nothing of it is visible.
func testRollback(t *testing.T, st registry.Store) {
	ctx := context.Background()
	d, f := Document(1, p1), Folder(1, p1)
	insert(t, st, d, f)
	before := counts(t, st)
	err := st.Update(ctx, func(tx registry.Tx) error {
		steps := []error{
			tx.InsertSubmissionSet(ctx, SubmissionSet(2, p1)),
			tx.InsertDocument(ctx, Document(2, p1)),
			tx.InsertFolder(ctx, Folder(2, p1)),
			tx.InsertAssociation(ctx, Association(2, id('s', 2), id('d', 2))),
			tx.SetDocumentStatus(ctx, d.ID, registry.StatusDeprecated),
			tx.SetFolderLastUpdateTime(ctx, f.ID, "20991231"),
		}
		if err := errors.Join(steps...); err != nil {
			return err
		}
		return errBoom
	})
	if err != errBoom {
		t.Fatalf("Update returned %v, want errBoom itself", err)
	}
	if after := counts(t, st); after != before {
		t.Errorf("objects after rollback %v, before %v", after, before)
	}
	equalJSON(t, "DocumentEntry after rollback", mustDocuments(t, st, registry.DocumentFilter{})[0], Document(1, p1))
	equalJSON(t, "Folder after rollback", mustFolders(t, st, registry.FolderFilter{})[0], Folder(1, p1))
}

type fnError struct{ code string }

func (e *fnError) Error() string { return "registrytest: " + e.code }

func testErrorsUnchanged(t *testing.T, st registry.Store) {
	ctx := context.Background()
	insert(t, st, SubmissionSet(1, p1))
	typed := &fnError{code: "XDSDuplicateUniqueIdInRegistry"}
	list := registry.ErrorList{registry.Errorf(registry.ErrCodeDuplicateUniqueIDInRegistry, "SubmissionSet %s", "SU1")}
	cases := []struct {
		name string
		err  error
	}{
		{"sentinel", errBoom},
		{"typed", typed},
		{"wrapped", fmt.Errorf("checking: %w", errBoom)},
		{"registry error list", list},
		{"context error from fn", context.DeadlineExceeded},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			err := st.Update(ctx, func(tx registry.Tx) error {
				// A read first, as the registry core does.
				if _, err := tx.SubmissionSets(ctx, registry.SubmissionSetFilter{UniqueIDs: []string{"SU1"}}); err != nil {
					return err
				}
				if err := tx.InsertDocument(ctx, Document(5, p1)); err != nil {
					return err
				}
				return c.err
			})
			if !sameError(err, c.err) {
				t.Errorf("Update returned %#v, want %#v unchanged", err, c.err)
			}
		})
	}
	var fe *fnError
	err := st.Update(ctx, func(registry.Tx) error { return typed })
	if !errors.As(err, &fe) || fe != typed {
		t.Errorf("errors.As: got %v", err)
	}
	if l, ok := registry.AsErrors(st.Update(ctx, func(registry.Tx) error { return list })); !ok || len(l) != 1 || l[0].Code != registry.ErrCodeDuplicateUniqueIDInRegistry {
		t.Errorf("AsErrors: got %v, %v", l, ok)
	}
	if n := len(mustDocuments(t, st, registry.DocumentFilter{})); n != 0 {
		t.Errorf("%d documents stored by failed updates", n)
	}
}

// sameError reports whether got is want itself: identity, or for the
// ErrorList slice type (not comparable with ==) the same backing array.
func sameError(got, want error) bool {
	if l, ok := want.(registry.ErrorList); ok {
		g, ok := got.(registry.ErrorList)
		return ok && len(g) == len(l) && (len(l) == 0 || &g[0] == &l[0])
	}
	return got == want
}

// testSwallowedWriteError: fn ignores a failed write and returns nil; the
// store must not commit the rest.
func testSwallowedWriteError(t *testing.T, st registry.Store) {
	ctx := context.Background()
	bad := Document(2, p1)
	bad.Title = "NUL \x00 in a title"
	err := st.Update(ctx, func(tx registry.Tx) error {
		if err := tx.InsertDocument(ctx, Document(1, p1)); err != nil {
			return err
		}
		_ = tx.InsertDocument(ctx, bad) // ignored on purpose
		return nil
	})
	if err == nil {
		t.Fatal("Update committed although a write failed")
	}
	if after := counts(t, st); after != [4]int{} {
		t.Errorf("objects stored: %v", after)
	}
}

func testReadOwnWrites(t *testing.T, st registry.Store) {
	ctx := context.Background()
	d, s, f := Document(1, p1), SubmissionSet(1, p1), Folder(1, p1)
	a := Association(1, s.ID, d.ID)
	err := st.Update(ctx, func(tx registry.Tx) error {
		if err := errors.Join(
			tx.InsertDocument(ctx, d), tx.InsertSubmissionSet(ctx, s),
			tx.InsertFolder(ctx, f), tx.InsertAssociation(ctx, a),
		); err != nil {
			return err
		}
		if got := counts(t, tx); got != [4]int{1, 1, 1, 1} {
			return fmt.Errorf("inside the transaction: %v objects, want one of each", got)
		}
		docs, err := tx.Documents(ctx, registry.DocumentFilter{PatientID: p1, Statuses: []string{registry.StatusApproved}, Classes: cs(classEpikrise), AuthorPersons: []string{"%Nordmann%"}, Confidentiality: []registry.CodeSet{cs(confN)}})
		if err != nil || len(docs) != 1 {
			return fmt.Errorf("FindDocuments inside the transaction: %d, %v", len(docs), err)
		}
		as, err := tx.Associations(ctx, registry.AssociationFilter{SourceOrTarget: []string{d.ID}})
		if err != nil || len(as) != 1 {
			return fmt.Errorf("associations inside the transaction: %d, %v", len(as), err)
		}
		// Not visible outside before commit.
		if got := counts(t, st); got != [4]int{} {
			return fmt.Errorf("outside the transaction before commit: %v objects", got)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if got := counts(t, st); got != [4]int{1, 1, 1, 1} {
		t.Errorf("after commit: %v", got)
	}
}

var errDuplicate = errors.New("registrytest: uniqueId already registered")

// raceUpdates runs n Updates at once, each running check then insert
// (what the registry core does for uniqueIds). The first attempt of each
// waits, after its check, until all have checked (or a moment passed, for
// stores that serialise writers), so the checks overlap when the store
// lets them.
func raceUpdates(t *testing.T, st registry.Store, n int, check func(ctx context.Context, tx registry.Tx) (bool, error), ins func(ctx context.Context, tx registry.Tx, i int) error) []error {
	t.Helper()
	ctx := context.Background()
	var checked sync.WaitGroup
	checked.Add(n)
	all := make(chan struct{})
	go func() { checked.Wait(); close(all) }()
	errs := make([]error, n)
	var wg sync.WaitGroup
	for i := 0; i < n; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			first := true
			errs[i] = st.Update(ctx, func(tx registry.Tx) error {
				exists, err := check(ctx, tx)
				if first {
					first = false
					checked.Done()
					select {
					case <-all:
					case <-time.After(200 * time.Millisecond):
					}
				}
				if err != nil {
					return err
				}
				if exists {
					return errDuplicate
				}
				return ins(ctx, tx, i)
			})
		}()
	}
	wg.Wait()
	return errs
}

func checkOneWinner(t *testing.T, errs []error) {
	t.Helper()
	won := 0
	for i, err := range errs {
		switch {
		case err == nil:
			won++
		case errors.Is(err, errDuplicate):
		default:
			t.Errorf("update %d: %v, want nil or errDuplicate", i, err)
		}
	}
	if won != 1 {
		t.Errorf("%d updates succeeded, want exactly 1 (errors: %v)", won, errs)
	}
}

func testConcurrentSubmissionSet(t *testing.T, st registry.Store) {
	const n = 8
	errs := raceUpdates(t, st, n,
		func(ctx context.Context, tx registry.Tx) (bool, error) {
			got, err := tx.SubmissionSets(ctx, registry.SubmissionSetFilter{UniqueIDs: []string{"2.16.578.1.12.4.1.7.4.race"}})
			return len(got) > 0, err
		},
		func(ctx context.Context, tx registry.Tx, i int) error {
			s := SubmissionSet(100+i, p1)
			s.UniqueID = "2.16.578.1.12.4.1.7.4.race"
			d := Document(100+i, p1)
			return errors.Join(tx.InsertSubmissionSet(ctx, s), tx.InsertDocument(ctx, d),
				tx.InsertAssociation(ctx, Association(100+i, s.ID, d.ID)))
		})
	checkOneWinner(t, errs)
	if got := counts(t, st); got != [4]int{1, 1, 0, 1} {
		t.Errorf("stored %v, want exactly one submission", got)
	}
}

// testConcurrentDocument: DocumentEntry uniqueIds have no unique
// constraint (versions share them), so only the transaction isolation can
// make check-then-insert safe.
func testConcurrentDocument(t *testing.T, st registry.Store) {
	const n = 8
	errs := raceUpdates(t, st, n,
		func(ctx context.Context, tx registry.Tx) (bool, error) {
			got, err := tx.Documents(ctx, registry.DocumentFilter{UniqueIDs: []string{"2.16.578.1.12.4.1.7.3.race"}})
			return len(got) > 0, err
		},
		func(ctx context.Context, tx registry.Tx, i int) error {
			d := Document(200+i, PatientID(200+i))
			d.UniqueID = "2.16.578.1.12.4.1.7.3.race"
			return tx.InsertDocument(ctx, d)
		})
	checkOneWinner(t, errs)
	if got := len(mustDocuments(t, st, registry.DocumentFilter{UniqueIDs: []string{"2.16.578.1.12.4.1.7.3.race"}})); got != 1 {
		t.Errorf("%d documents with the raced uniqueId, want 1", got)
	}
}

// testConflictBounded: an fn that inserts a duplicate id without checking
// conflicts on every attempt; Update retries a bounded number of times and
// reports ErrConflict.
func testConflictBounded(t *testing.T, st registry.Store) {
	ctx := context.Background()
	insert(t, st, Document(1, p1))
	var calls atomic.Int32
	err := st.Update(ctx, func(tx registry.Tx) error {
		calls.Add(1)
		dup := Document(1, p2) // same entryUUID
		dup.UniqueID = "2.16.578.1.12.4.1.7.3.other"
		return tx.InsertDocument(ctx, dup)
	})
	if !errors.Is(err, registry.ErrConflict) {
		t.Errorf("got %v, want ErrConflict", err)
	}
	if c := calls.Load(); c < 2 || c > 100 {
		t.Errorf("fn ran %d times, want a bounded number of retries (2 … 100)", c)
	}
	checkIDs(t, ids(mustDocuments(t, st, registry.DocumentFilter{})), []string{id('d', 1)})
	if got := mustDocuments(t, st, registry.DocumentFilter{}); got[0].PatientID != p1 {
		t.Errorf("the original was overwritten: %+v", got[0])
	}
}

func testInvalidInput(t *testing.T, st registry.Store) {
	ctx := context.Background()
	insert(t, st, Document(1, p1), Folder(1, p1))
	before := counts(t, st)
	noID := Document(2, p1)
	noID.ID = ""
	nul := Document(3, p1)
	nul.Title = "a\x00b"
	badUTF8 := Folder(4, p1)
	badUTF8.Codes = []registry.Code{{Code: "F1", Scheme: schemeFolder, Display: "\xff\xfe"}}
	nulAssoc := Association(5, "x\x00", "y")
	cases := []struct {
		name string
		run  func() error
	}{
		{"negative limit", func() error {
			_, err := st.Documents(ctx, registry.DocumentFilter{Limit: -1})
			return err
		}},
		{"negative association limit", func() error {
			_, err := st.Associations(ctx, registry.AssociationFilter{Limit: -5})
			return err
		}},
		{"time bound not a DTM", func() error {
			_, err := st.Documents(ctx, registry.DocumentFilter{CreationTime: registry.TimeRange{From: "abc"}})
			return err
		}},
		{"time bound with dashes", func() error {
			_, err := st.Documents(ctx, registry.DocumentFilter{ServiceStopTime: registry.TimeRange{To: "2024-01-01"}})
			return err
		}},
		{"time bound too short", func() error {
			_, err := st.SubmissionSets(ctx, registry.SubmissionSetFilter{SubmissionTime: registry.TimeRange{From: "123"}})
			return err
		}},
		{"time bound odd length", func() error {
			_, err := st.Folders(ctx, registry.FolderFilter{LastUpdateTime: registry.TimeRange{To: "20240"}})
			return err
		}},
		{"time bound too long", func() error {
			_, err := st.Documents(ctx, registry.DocumentFilter{ServiceStartTime: registry.TimeRange{From: "2024010112000000"}})
			return err
		}},
		{"NUL in patient id", func() error {
			_, err := st.Documents(ctx, registry.DocumentFilter{PatientID: "x\x00"})
			return err
		}},
		{"invalid UTF-8 in an id list", func() error {
			_, err := st.Folders(ctx, registry.FolderFilter{IDs: []string{"\xff"}})
			return err
		}},
		{"invalid UTF-8 in a code", func() error {
			_, err := st.SubmissionSets(ctx, registry.SubmissionSetFilter{ContentTypes: cs(registry.Code{Code: "\xc3"})})
			return err
		}},
		{"nil document", func() error {
			return st.Update(ctx, func(tx registry.Tx) error { return tx.InsertDocument(ctx, nil) })
		}},
		{"nil submission set", func() error {
			return st.Update(ctx, func(tx registry.Tx) error { return tx.InsertSubmissionSet(ctx, nil) })
		}},
		{"nil folder", func() error {
			return st.Update(ctx, func(tx registry.Tx) error { return tx.InsertFolder(ctx, nil) })
		}},
		{"nil association", func() error {
			return st.Update(ctx, func(tx registry.Tx) error { return tx.InsertAssociation(ctx, nil) })
		}},
		{"document without id", func() error {
			return st.Update(ctx, func(tx registry.Tx) error { return tx.InsertDocument(ctx, noID) })
		}},
		{"NUL in a title", func() error {
			return st.Update(ctx, func(tx registry.Tx) error { return tx.InsertDocument(ctx, nul) })
		}},
		{"invalid UTF-8 in a display name", func() error {
			return st.Update(ctx, func(tx registry.Tx) error { return tx.InsertFolder(ctx, badUTF8) })
		}},
		{"NUL in an association source", func() error {
			return st.Update(ctx, func(tx registry.Tx) error { return tx.InsertAssociation(ctx, nulAssoc) })
		}},
		{"empty status", func() error {
			return st.Update(ctx, func(tx registry.Tx) error { return tx.SetDocumentStatus(ctx, id('d', 1), "") })
		}},
		{"lastUpdateTime not a DTM", func() error {
			return st.Update(ctx, func(tx registry.Tx) error { return tx.SetFolderLastUpdateTime(ctx, id('f', 1), "yesterday") })
		}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			err := c.run()
			if err == nil {
				t.Fatal("accepted")
			}
			if errors.Is(err, registry.ErrConflict) || errors.Is(err, registry.ErrUnavailable) || errors.Is(err, registry.ErrNotFound) {
				t.Errorf("got %v, want an invalid-input error", err)
			}
		})
	}
	if after := counts(t, st); after != before {
		t.Errorf("objects %v after invalid input, %v before", after, before)
	}
	equalJSON(t, "DocumentEntry", mustDocuments(t, st, registry.DocumentFilter{})[0], Document(1, p1))
	equalJSON(t, "Folder", mustFolders(t, st, registry.FolderFilter{})[0], Folder(1, p1))
}

func testPing(t *testing.T, st registry.Store) {
	if err := st.Ping(context.Background()); err != nil {
		t.Fatalf("Ping: %v", err)
	}
}

// testCancellation: a cancelled or expired context stops every call, and
// an Update whose context ends midway stores nothing.
func testCancellation(t *testing.T, st registry.Store) {
	insert(t, st, Document(1, p1))
	cancelled, cancel := context.WithCancel(context.Background())
	cancel()
	expired, cancel2 := context.WithDeadline(context.Background(), time.Unix(0, 0))
	defer cancel2()
	for _, c := range []struct {
		name string
		ctx  context.Context
		want error
	}{{"cancelled", cancelled, context.Canceled}, {"deadline", expired, context.DeadlineExceeded}} {
		t.Run(c.name, func(t *testing.T) {
			ctx := c.ctx
			type call struct {
				name string
				err  error
			}
			var calls []call
			add := func(name string, err error) { calls = append(calls, call{name, err}) }
			_, err := st.Documents(ctx, registry.DocumentFilter{PatientID: p1})
			add("Documents", err)
			_, err = st.SubmissionSets(ctx, registry.SubmissionSetFilter{})
			add("SubmissionSets", err)
			_, err = st.Folders(ctx, registry.FolderFilter{})
			add("Folders", err)
			_, err = st.Associations(ctx, registry.AssociationFilter{})
			add("Associations", err)
			add("Ping", st.Ping(ctx))
			add("Update", st.Update(ctx, func(tx registry.Tx) error { return tx.InsertDocument(ctx, Document(2, p1)) }))
			for _, call := range calls {
				if !errors.Is(call.err, c.want) {
					t.Errorf("%s: got %v, want %v", call.name, call.err, c.want)
				}
			}
		})
	}

	// Cancelled inside fn, after a write: the next call fails with the
	// context's error and nothing is stored.
	ctx, cancel3 := context.WithCancel(context.Background())
	defer cancel3()
	err := st.Update(ctx, func(tx registry.Tx) error {
		if err := tx.InsertDocument(ctx, Document(3, p1)); err != nil {
			return err
		}
		cancel3()
		if _, err := tx.Documents(ctx, registry.DocumentFilter{}); err != nil {
			return err
		}
		return tx.InsertDocument(ctx, Document(4, p1))
	})
	if !errors.Is(err, context.Canceled) {
		t.Errorf("Update cancelled midway: got %v, want context.Canceled", err)
	}
	checkIDs(t, ids(mustDocuments(t, st, registry.DocumentFilter{})), []string{id('d', 1)})
}

// testCancelBlockedUpdate: an Update waiting for another transaction (a
// lock or the single writer) returns when its context is cancelled, and
// the other transaction still commits. The cancel comes only once waiting
// shows the second Update blocked, so the test cannot pass by cancelling
// an Update that had not got that far.
func testCancelBlockedUpdate(t *testing.T, st registry.Store, waiting Waiting) {
	ctx := context.Background()
	holding, release := make(chan struct{}), make(chan struct{})
	first := make(chan error, 1)
	go func() {
		first <- st.Update(ctx, func(tx registry.Tx) error {
			s := SubmissionSet(1, p1)
			s.UniqueID = "SU-blocked"
			if err := tx.InsertSubmissionSet(ctx, s); err != nil {
				return err
			}
			select {
			case <-holding:
			default:
				close(holding)
			}
			<-release
			return nil
		})
	}()
	defer func() {
		select {
		case <-release:
		default:
			close(release) // a failed check must not leave the first Update holding on
		}
	}()
	<-holding
	before, err := waiting(ctx, st)
	if err != nil {
		t.Fatalf("waiting: %v", err)
	}

	cctx, cancel := context.WithCancel(ctx)
	defer cancel()
	second := make(chan error, 1)
	go func() {
		second <- st.Update(cctx, func(tx registry.Tx) error {
			s := SubmissionSet(2, p1)
			s.UniqueID = "SU-blocked" // waits for the first transaction's key
			return tx.InsertSubmissionSet(cctx, s)
		})
	}()
	deadline := time.Now().Add(30 * time.Second)
	for {
		n, err := waiting(ctx, st)
		if err != nil {
			t.Fatalf("waiting: %v", err)
		}
		if n > before {
			break
		}
		select {
		case err := <-second:
			t.Fatalf("the second Update returned while the first held its key: %v", err)
		case <-time.After(5 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			t.Fatal("the second Update never waited for the first")
		}
	}
	cancel()
	select {
	case err := <-second:
		if !errors.Is(err, context.Canceled) {
			t.Errorf("blocked Update: got %v, want context.Canceled", err)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("a cancelled Update is still blocked after 30s")
	}
	close(release)
	if err := <-first; err != nil {
		t.Fatalf("first Update: %v", err)
	}
	checkIDs(t, ids(mustSubmissionSets(t, st, registry.SubmissionSetFilter{UniqueIDs: []string{"SU-blocked"}})), []string{id('s', 1)})
}

// testMigrate: a store that can migrate does so idempotently, keeping data.
func testMigrate(t *testing.T, st registry.Store) {
	m, ok := st.(interface{ Migrate(context.Context) error })
	if !ok {
		t.Skipf("%T has no Migrate method", st)
	}
	insert(t, st, Document(1, p1))
	for i := 0; i < 2; i++ {
		if err := m.Migrate(context.Background()); err != nil {
			t.Fatalf("Migrate #%d: %v", i+1, err)
		}
	}
	equalJSON(t, "DocumentEntry after Migrate", mustDocuments(t, st, registry.DocumentFilter{})[0], Document(1, p1))
}
