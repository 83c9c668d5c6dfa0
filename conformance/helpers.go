package conformance

import (
	"context"
	"crypto/rand"
	"crypto/sha1"
	"encoding/binary"
	"encoding/hex"
	"fmt"
	"math/big"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/google/uuid"

	"pjd/registry"
	"pjd/registry/oid"
)

const sampleOrgnr = registry.SampleOrgnr

// randUint returns a random number below n.
func randUint(n uint64) uint64 {
	var b [8]byte
	_, _ = rand.Read(b[:])
	return binary.BigEndian.Uint64(b[:]) % n
}

// NewPatient returns a fresh synthetic F-nr (Test-Norge style, month +
// 80, valid check digits), random over about twenty million numbers, so
// a scenario's patient has no documents but its own even on a server
// full of earlier runs.
func (t *T) NewPatient() string { return newPatient() }

func newPatient() string {
	for {
		birth := time.Date(1920, 1, 1, 0, 0, 0, 0, time.UTC).AddDate(0, 0, int(randUint(365*99)))
		// 000–499 are the 1900s individual numbers for every birth year.
		id, ok := registry.SyntheticNorwegianID(birth.Day(), int(birth.Month()), birth.Year()%100, int(randUint(500)))
		if !ok {
			continue
		}
		if _, err := registry.ValidNorwegianID(id); err == nil && registry.IsSyntheticNorwegianID(id) {
			return id
		}
	}
}

// CX is the XDS patient id of an F-nr.
func CX(fnr string) string { return registry.NewPatientCX(fnr, oid.FNR).String() }

// NewOID returns a fresh unique OID under 2.25 (a random UUID as an
// integer, ITU-T X.667).
func NewOID() string {
	u := uuid.New()
	return "2.25." + new(big.Int).SetBytes(u[:]).String()
}

// NewUUID returns a fresh urn:uuid: id.
func NewUUID() string { return "urn:uuid:" + uuid.NewString() }

func newSeq() uint64 { return randUint(1<<62) + 1 }

// Submission builds a valid synthetic submission for patient (an F-nr):
// a SubmissionSet and docs DocumentEntries (symbolic ids SubmissionSet01,
// Document01 …, associations HasMember01 …), optionally a Folder holding
// every document, authored by the target's source organisation. Its
// seq is returned for SampleDocument.
func (t *T) Submission(patient string, docs int, folder bool) (*registry.Submission, uint64) {
	seq := newSeq()
	sub := registry.SampleSubmission(registry.SampleOptions{Patient: CX(patient), Documents: docs, Folder: folder, Seq: seq})
	org := t.env.target.SourceOrgNr
	if org != sampleOrgnr {
		fix := func(as []registry.Author) {
			for i := range as {
				for j, inst := range as[i].Institutions {
					as[i].Institutions[j] = strings.Replace(inst, sampleOrgnr, org, 1)
				}
			}
		}
		fix(sub.SubmissionSet.Authors)
		for _, d := range sub.Documents {
			fix(d.Authors)
		}
	}
	return sub, seq
}

// Document returns the content SampleSubmission's entry n was built for.
func Document(sub *registry.Submission, seq uint64, n int) []byte {
	return registry.SampleDocument(seq, n, sub.SubmissionSet.PatientID)
}

// setContent gives entry d new content: hash and size follow.
func setContent(d *registry.DocumentEntry, content []byte) {
	sum := sha1.Sum(content)
	size := int64(len(content))
	d.Hash, d.Size = hex.EncodeToString(sum[:]), &size
}

// addDocument appends a new DocumentEntry (a copy of the first one with
// fresh ids) and its HasMember from the SubmissionSet; returns it.
func addDocument(sub *registry.Submission, id string) *registry.DocumentEntry {
	c := *sub.Documents[0]
	c.ID = id
	c.UniqueID = NewOID()
	c.Confidentiality = slices.Clone(c.Confidentiality)
	sub.Documents = append(sub.Documents, &c)
	sub.Associations = append(sub.Associations, hasMember("HasMember"+id, sub.SubmissionSet.ID, id, registry.SubmissionSetStatusOriginal))
	return &c
}

func hasMember(id, source, target, status string) *registry.Association {
	return &registry.Association{ID: id, Type: registry.AssocHasMember, Source: source, Target: target, SubmissionSetStatus: status}
}

func relation(id, typ, source, target string) *registry.Association {
	return &registry.Association{ID: id, Type: typ, Source: source, Target: target}
}

// Register sends sub with ITI-42 and fails unless it succeeded.
func (t *T) Register(ctx context.Context, sub *registry.Submission) error {
	errs, err := t.XDS.Register(ctx, sub)
	if err != nil {
		return fmt.Errorf("ITI-42: %w", err)
	}
	if errs.Failed() {
		return fmt.Errorf("ITI-42 of a valid submission was rejected: %v", errs)
	}
	return nil
}

// RegisterErr sends sub with ITI-42 and returns the registry's answer.
func (t *T) RegisterErr(ctx context.Context, sub *registry.Submission) (registry.ErrorList, error) {
	errs, err := t.XDS.Register(ctx, sub)
	if err != nil {
		return nil, fmt.Errorf("ITI-42: %w", err)
	}
	return errs, nil
}

// wantErrors checks that errs fails with exactly the error codes codes
// (each present at least once; no other Error-severity code), and that
// each named fragment appears in some codeContext.
func wantErrors(what string, errs registry.ErrorList, codes []string, contexts ...string) error {
	if !errs.Failed() {
		return fmt.Errorf("%s: accepted, want %s", what, strings.Join(codes, ", "))
	}
	var got []string
	for _, e := range errs {
		if e.IsWarning() {
			continue
		}
		if !slices.Contains(codes, e.Code) {
			return fmt.Errorf("%s: got error %s (%s), want only %s", what, e.Code, e.Context, strings.Join(codes, ", "))
		}
		got = append(got, e.Code)
	}
	for _, c := range codes {
		if !slices.Contains(got, c) {
			return fmt.Errorf("%s: got %v, want %s among them", what, errs, c)
		}
	}
	for _, frag := range contexts {
		found := false
		for _, e := range errs {
			if strings.Contains(e.Context, frag) {
				found = true
			}
		}
		if !found {
			return fmt.Errorf("%s: no codeContext names %q: %v", what, frag, errs)
		}
	}
	return nil
}

// --- stored queries ---

// Q is a stored query under construction.
type Q struct {
	q registry.Query
}

// NewQuery starts stored query id with returnType.
func NewQuery(id, returnType string) *Q {
	return &Q{q: registry.Query{ID: id, ReturnType: returnType}}
}

// Str adds a single-valued string parameter ('value').
func (q *Q) Str(name, value string) *Q {
	q.q.Params = append(q.q.Params, registry.Slot{Name: name, Values: []string{quote(value)}})
	return q
}

// List adds a list parameter (('a','b')).
func (q *Q) List(name string, values ...string) *Q {
	qs := make([]string, len(values))
	for i, v := range values {
		qs[i] = quote(v)
	}
	q.q.Params = append(q.q.Params, registry.Slot{Name: name, Values: []string{"(" + strings.Join(qs, ",") + ")"}})
	return q
}

// Raw adds a parameter with raw slot values.
func (q *Q) Raw(name string, values ...string) *Q {
	q.q.Params = append(q.q.Params, registry.Slot{Name: name, Values: values})
	return q
}

// Query returns the built query.
func (q *Q) Query() *registry.Query { c := q.q; return &c }

func quote(s string) string { return "'" + strings.ReplaceAll(s, "'", "''") + "'" }

// Query runs q and returns its result; an error when it was not answered
// or failed.
func (t *T) Query(ctx context.Context, q *Q) (*registry.QueryResult, error) {
	res, rr, err := t.query(ctx, q.Query())
	if err != nil {
		return nil, fmt.Errorf("%s: %w", t.queryTx(), err)
	}
	if rr.Errors.Failed() || rr.Status != registry.ResponseSuccess {
		return nil, fmt.Errorf("%s %s failed: %s %v", t.queryTx(), registry.StoredQueryName(q.q.ID), rr.Status, rr.Errors)
	}
	return res, nil
}

// query runs q over ITI-18, or over what viaITI38 set.
func (t *T) query(ctx context.Context, q *registry.Query) (*registry.QueryResult, registry.Response, error) {
	if t.queryVia != nil {
		return t.queryVia(ctx, q)
	}
	return t.XDS.Query(ctx, q)
}

func (t *T) queryTx() string {
	if t.queryVia != nil {
		return tx38
	}
	return tx18
}

// QueryErr runs q and returns the response status and errors.
func (t *T) QueryErr(ctx context.Context, q *Q) (*registry.QueryResult, registry.Response, error) {
	res, rr, err := t.query(ctx, q.Query())
	if err != nil {
		return nil, rr, fmt.Errorf("%s: %w", t.queryTx(), err)
	}
	return res, rr, nil
}

// FindDocuments returns the patient's DocumentEntries with the statuses.
func (t *T) FindDocuments(ctx context.Context, patient string, statuses ...string) ([]*registry.DocumentEntry, error) {
	if len(statuses) == 0 {
		statuses = []string{registry.StatusApproved}
	}
	res, err := t.Query(ctx, NewQuery(registry.QueryFindDocuments, registry.ReturnLeafClass).
		Str(registry.ParamDocumentEntryPatientID, CX(patient)).List(registry.ParamDocumentEntryStatus, statuses...))
	if err != nil {
		return nil, err
	}
	return res.Documents, nil
}

// EntryByUniqueID returns the registered DocumentEntry with uniqueId uid
// (any status).
func (t *T) EntryByUniqueID(ctx context.Context, uid string) (*registry.DocumentEntry, error) {
	res, err := t.Query(ctx, NewQuery(registry.QueryGetDocuments, registry.ReturnLeafClass).List(registry.ParamDocumentEntryUniqueID, uid))
	if err != nil {
		return nil, err
	}
	if len(res.Documents) != 1 {
		return nil, fmt.Errorf("GetDocuments %s found %d entries, want 1", uid, len(res.Documents))
	}
	return res.Documents[0], nil
}

// counts describes a LeafClass result by kind.
type counts struct{ docs, sets, folders, assocs int }

func (c counts) String() string {
	return fmt.Sprintf("%d DocumentEntries, %d SubmissionSets, %d Folders, %d Associations", c.docs, c.sets, c.folders, c.assocs)
}

func countsOf(r *registry.QueryResult) counts {
	return counts{len(r.Documents), len(r.SubmissionSets), len(r.Folders), len(r.Associations)}
}

func wantCounts(what string, r *registry.QueryResult, want counts) error {
	if r.ReturnType != registry.ReturnLeafClass && r.ReturnType != "" {
		return fmt.Errorf("%s: returnType %s, want LeafClass", what, r.ReturnType)
	}
	if got := countsOf(r); got != want {
		return fmt.Errorf("%s: got %s, want %s", what, got, want)
	}
	return nil
}

func wantRefs(what string, r *registry.QueryResult, want []string) error {
	if len(r.Documents)+len(r.SubmissionSets)+len(r.Folders)+len(r.Associations) != 0 {
		return fmt.Errorf("%s: ObjectRef result carries full objects", what)
	}
	got := slices.Clone(r.Refs)
	w := slices.Clone(want)
	sort.Strings(got)
	sort.Strings(w)
	if !slices.Equal(got, w) {
		return fmt.Errorf("%s: got ObjectRefs %v, want %v", what, got, w)
	}
	return nil
}

func uniqueIDs(docs []*registry.DocumentEntry) []string {
	out := make([]string, len(docs))
	for i, d := range docs {
		out[i] = d.UniqueID
	}
	sort.Strings(out)
	return out
}

func wantUniqueIDs(what string, docs []*registry.DocumentEntry, want ...string) error {
	w := slices.Clone(want)
	sort.Strings(w)
	if got := uniqueIDs(docs); !slices.Equal(got, w) {
		return fmt.Errorf("%s: got documents %v, want %v", what, got, w)
	}
	return nil
}

func docByUniqueID(docs []*registry.DocumentEntry, uid string) *registry.DocumentEntry {
	for _, d := range docs {
		if d.UniqueID == uid {
			return d
		}
	}
	return nil
}

func sha1Sum(b []byte) []byte {
	s := sha1.Sum(b)
	return s[:]
}
