package sqlstore

import (
	"context"
	"hash/fnv"
	"slices"

	"pjd/registry"
)

// Key locks. On PostgreSQL, Update runs at READ COMMITTED and isolates its
// transactions with two-phase locking on keys instead of SERIALIZABLE:
// SSI's predicate locks are page- or relation-granular (an empty or small
// index, a sequential scan, or new uniqueIds of one issuer that sort onto
// the same leaf page all lock what every concurrent submission writes), so
// submissions that share nothing still aborted each other with
// serialization failures and ran out of retries (XDSRegistryBusy).
//
// A key names a value of an attribute the reads of an Update select by:
// "id:" an entryUUID (of any object type), "uid:" a uniqueId, "lid:" a
// logicalID, "pid:" a patient id (objects and patient links), "ref:" an
// association end. The rules, all locks held until commit or rollback:
//   - a read inside Update first locks (exclusively) the keys of one of its
//     filter's key attributes — every row it can return carries one of
//     them — or, when the filter has none, the table key ("t:" table);
//   - a write that selects rows (supersede by lid, a status change by id,
//     a delete) locks its selecting keys first, the same way;
//   - every row a transaction inserts, changes or deletes has all its keys
//     locked exclusively, and its table key shared, before commit (rows
//     changed by UPDATE/DELETE report their keys with RETURNING).
//
// So two transactions that read or write a common key run one after the
// other (the second's READ COMMITTED statements see the first's commit),
// a write can never slip under a read that depends on it, and
// transactions with disjoint keys — independent submissions — never wait
// for or abort each other. Lock order deadlocks between genuinely
// conflicting transactions are reported by PostgreSQL (40P01) and retried
// like serialization failures. SQLite serialises writers itself (BEGIN
// IMMEDIATE) and takes no key locks (Dialect.LockSQL empty).

// lockMode is how a transaction holds a key.
type lockMode uint8

const (
	lockShared lockMode = iota + 1
	lockExclusive
)

// locking reports whether Update transactions take key locks.
func (t *tx) locking() bool { return t.s.d.LockSQL != "" }

func keyHash(key string) int64 {
	h := fnv.New64a()
	h.Write([]byte(key))
	return int64(h.Sum64())
}

// keys returns prefix+v for every v.
func keys(prefix string, vs ...string) []string {
	out := make([]string, len(vs))
	for i, v := range vs {
		out[i] = prefix + v
	}
	return out
}

// lockNow takes exclusive locks on keys the transaction does not hold
// exclusively yet, in one statement, before the read or write that
// depends on them.
func (t *tx) lockNow(ctx context.Context, ks []string) error {
	if !t.locking() || len(ks) == 0 {
		return nil
	}
	var hs []int64
	t.mu.Lock()
	for _, k := range ks {
		h := keyHash(k)
		if t.held[h] != lockExclusive {
			hs = append(hs, h)
		}
	}
	t.mu.Unlock()
	return t.lock(ctx, hs, nil)
}

// lockLater records keys of rows the transaction writes (exclusive) and
// the table key (shared); commit locks them (see lockPending).
func (t *tx) lockLater(table string, ks ...string) {
	if !t.locking() {
		return
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.pending == nil {
		t.pending = map[int64]lockMode{}
	}
	for _, k := range ks {
		t.pending[keyHash(k)] = lockExclusive
	}
	if h := keyHash("t:" + table); t.pending[h] == 0 {
		t.pending[h] = lockShared
	}
}

// lockPending takes the locks lockLater recorded and the transaction does
// not hold yet, before commit.
func (t *tx) lockPending(ctx context.Context) error {
	if !t.locking() {
		return nil
	}
	var hs []int64
	var shared []bool
	t.mu.Lock()
	for h, m := range t.pending {
		if t.held[h] < m {
			hs = append(hs, h)
			shared = append(shared, m == lockShared)
		}
	}
	t.mu.Unlock()
	return t.lock(ctx, hs, shared)
}

// lock takes the locks on hs (shared[i] or exclusive when shared is nil),
// in ascending order so that transactions locking common keys in one
// statement queue rather than deadlock.
func (t *tx) lock(ctx context.Context, hs []int64, shared []bool) error {
	if len(hs) == 0 {
		return nil
	}
	idx := make([]int, len(hs))
	for i := range idx {
		idx[i] = i
	}
	slices.SortFunc(idx, func(a, b int) int {
		switch {
		case hs[a] < hs[b]:
			return -1
		case hs[a] > hs[b]:
			return 1
		}
		return 0
	})
	sh := make([]int64, len(hs))
	sb := make([]bool, len(hs))
	for i, j := range idx {
		sh[i] = hs[j]
		sb[i] = shared != nil && shared[j]
	}
	if _, err := t.q.ExecContext(ctx, t.s.d.LockSQL, sh, sb); err != nil {
		return t.note(ctx, "lock", err)
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.held == nil {
		t.held = map[int64]lockMode{}
	}
	for i, h := range sh {
		m := lockExclusive
		if sb[i] {
			m = lockShared
		}
		if t.held[h] < m {
			t.held[h] = m
		}
	}
	return nil
}

// readKeys returns the keys a read of table with these key lists locks:
// those of the first list that is not nil (any row the filter returns
// carries one of them), or the table key when all are nil. none is true
// when the first non-nil list is empty: the read matches nothing.
func readKeys(table string, lists ...[]string) (ks []string, none bool) {
	for i := 0; i+1 < len(lists); i += 2 {
		// lists come in pairs: a prefix (one element) and the values.
		prefix, vs := lists[i][0], lists[i+1]
		if vs == nil {
			continue
		}
		return keys(prefix, vs...), len(vs) == 0
	}
	return []string{"t:" + table}, false
}

func pre(prefix string) []string { return []string{prefix} }

// patients merges a filter's PatientID and PatientIDs into one list (nil
// when neither constrains): a row matches only with a patient of
// PatientIDs when it is set.
func patients(one string, many []string) []string {
	if many != nil {
		return many
	}
	if one != "" {
		return []string{one}
	}
	return nil
}

func documentReadKeys(f *registry.DocumentFilter) ([]string, bool) {
	return readKeys("documents", pre("id:"), f.IDs, pre("uid:"), f.UniqueIDs, pre("lid:"), f.LogicalIDs,
		pre("pid:"), patients(f.PatientID, f.PatientIDs))
}

func submissionSetReadKeys(f *registry.SubmissionSetFilter) ([]string, bool) {
	return readKeys("submission_sets", pre("id:"), f.IDs, pre("uid:"), f.UniqueIDs, pre("pid:"), patients(f.PatientID, f.PatientIDs))
}

func folderReadKeys(f *registry.FolderFilter) ([]string, bool) {
	return readKeys("folders", pre("id:"), f.IDs, pre("uid:"), f.UniqueIDs, pre("lid:"), f.LogicalIDs,
		pre("pid:"), patients(f.PatientID, f.PatientIDs))
}

func associationReadKeys(f *registry.AssociationFilter) ([]string, bool) {
	return readKeys("associations", pre("id:"), f.IDs, pre("ref:"), f.SourceOrTarget, pre("ref:"), f.Sources, pre("ref:"), f.Targets)
}

func patientLinkReadKeys(f *registry.PatientLinkFilter) ([]string, bool) {
	return readKeys("patient_links", pre("pid:"), f.Patients, pre("pid:"), f.From)
}

// rowKeys are the key columns of each table's rows and the prefix of each
// column's keys: what a write locks for the rows it changes.
var rowKeys = map[string][]string{
	"documents":       {"id", "unique_id", "lid", "patient_id"},
	"folders":         {"id", "unique_id", "lid", "patient_id"},
	"submission_sets": {"id", "unique_id", "patient_id"},
	"associations":    {"id", "source", "target"},
	"patient_links":   {"from_pid", "to_pid"},
}

var keyPrefix = map[string]string{
	"id": "id:", "unique_id": "uid:", "lid": "lid:", "patient_id": "pid:",
	"source": "ref:", "target": "ref:", "from_pid": "pid:", "to_pid": "pid:",
}
