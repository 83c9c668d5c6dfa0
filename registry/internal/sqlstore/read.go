package sqlstore

import (
	"bytes"
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"time"

	jsonv2 "github.com/go-json-experiment/json"

	"pjd/registry"
)

// reader runs the four read methods against a pool or a transaction.
type reader struct {
	s *Store
	q queryer
	t *tx // nil outside Update
}

func (r *reader) fail(ctx context.Context, op string, err error) error {
	if r.t != nil {
		return r.t.note(ctx, op, err)
	}
	return r.s.wrap(ctx, op, err)
}

func (s *Store) reader() *reader { return &reader{s: s, q: s.rdb} }

// Documents implements registry.Reader.
func (s *Store) Documents(ctx context.Context, f registry.DocumentFilter) ([]*registry.DocumentEntry, error) {
	return s.reader().Documents(ctx, f)
}

// SubmissionSets implements registry.Reader.
func (s *Store) SubmissionSets(ctx context.Context, f registry.SubmissionSetFilter) ([]*registry.SubmissionSet, error) {
	return s.reader().SubmissionSets(ctx, f)
}

// Folders implements registry.Reader.
func (s *Store) Folders(ctx context.Context, f registry.FolderFilter) ([]*registry.Folder, error) {
	return s.reader().Folders(ctx, f)
}

// Associations implements registry.Reader.
func (s *Store) Associations(ctx context.Context, f registry.AssociationFilter) ([]*registry.Association, error) {
	return s.reader().Associations(ctx, f)
}

// builder collects the WHERE conditions and arguments of one SELECT. Values
// only ever enter as arguments; the SQL text is made of fixed column names
// and the dialect's markers.
type builder struct {
	d     *Dialect
	conds []string
	args  []any
	// none is set when a condition can match nothing (a non-nil empty
	// list): the query is not run at all.
	none bool
	err  error
}

func (b *builder) arg(v any) string {
	b.args = append(b.args, v)
	return b.d.Placeholder(len(b.args))
}

func (b *builder) where(c string) { b.conds = append(b.conds, c) }

// eq: col = v, unless v is "" (zero value: no constraint).
func (b *builder) eq(col, v string) {
	if v != "" {
		b.where(col + " = " + b.arg(v))
	}
}

// list adds the condition cond makes for the list vs: nil, no
// constraint; empty, nothing matches.
func (b *builder) list(vs []string, cond func() string) {
	switch {
	case vs == nil:
	case len(vs) == 0:
		b.none = true
	default:
		b.where(cond())
	}
}

// in: col is one of vs (see list).
func (b *builder) in(col string, vs []string) {
	b.list(vs, func() string { return b.inCond(col, vs) })
}

// inCond returns the condition "col is one of vs" (vs not empty).
func (b *builder) inCond(col string, vs []string) string {
	if len(vs) == 1 {
		return col + " = " + b.arg(vs[0])
	}
	return b.d.In(col, b.arg(b.d.ListArg(vs)))
}

// codeCond returns "(code matches any of cs)" over the given columns; a Code
// without a scheme matches that code in any scheme. ok is false for an empty
// set, which matches nothing.
func (b *builder) codeCond(codeCol, schemeCol string, cs registry.CodeSet) (cond string, ok bool) {
	if len(cs) == 0 {
		return "", false
	}
	parts := make([]string, 0, len(cs))
	for _, c := range cs {
		if c.Scheme == "" {
			parts = append(parts, codeCol+" = "+b.arg(c.Code))
		} else {
			parts = append(parts, "("+codeCol+" = "+b.arg(c.Code)+" AND "+schemeCol+" = "+b.arg(c.Scheme)+")")
		}
	}
	return "(" + strings.Join(parts, " OR ") + ")", true
}

// codes: the object's single code (in codeCol/schemeCol) is one of cs.
func (b *builder) codes(codeCol, schemeCol string, cs registry.CodeSet) {
	if cs == nil {
		return
	}
	cond, ok := b.codeCond(codeCol, schemeCol, cs)
	if !ok {
		b.none = true
		return
	}
	b.where(cond)
}

// childCodes: AND over sets, each set an OR matched by some row of the
// child table (seq-keyed) carrying code/scheme.
func (b *builder) childCodes(table, fk, seqCol string, sets []registry.CodeSet) {
	if sets == nil {
		return
	}
	if len(sets) == 0 {
		b.none = true
		return
	}
	for _, cs := range sets {
		cond, ok := b.codeCond("c.code", "c.scheme", cs)
		if !ok {
			b.none = true
			return
		}
		b.where("EXISTS (SELECT 1 FROM " + table + " c WHERE c." + fk + " = " + seqCol + " AND " + cond + ")")
	}
}

// authors: some author row of the child table matches one of the LIKE
// patterns.
func (b *builder) authors(table, fk, seqCol string, patterns []string) {
	if patterns == nil {
		return
	}
	if len(patterns) == 0 {
		b.none = true
		return
	}
	parts := make([]string, len(patterns))
	for i, p := range patterns {
		parts[i] = b.d.Like("a.person", b.arg(b.d.LikeArg(p)))
	}
	b.where("EXISTS (SELECT 1 FROM " + table + " a WHERE a." + fk + " = " + seqCol + " AND (" + strings.Join(parts, " OR ") + "))")
}

// timeRange: From ≤ col < To on the normalised column; NULL (attribute
// absent) never satisfies a comparison, so never matches a bounded range.
func (b *builder) timeRange(col string, r registry.TimeRange) {
	if r.From != "" {
		v, err := dtmBound(r.From)
		if err != nil {
			b.setErr(err)
			return
		}
		b.where(col + " >= " + b.arg(v))
	}
	if r.To != "" {
		v, err := dtmBound(r.To)
		if err != nil {
			b.setErr(err)
			return
		}
		b.where(col + " < " + b.arg(v))
	}
}

func (b *builder) setErr(err error) {
	if b.err == nil {
		b.err = err
	}
}

// sql returns the full SELECT: cols FROM from WHERE … ORDER BY seq LIMIT.
func (b *builder) sql(cols, from, seqCol string, limit int) string {
	var sb strings.Builder
	sb.WriteString("SELECT " + cols + " FROM " + from)
	if len(b.conds) > 0 {
		sb.WriteString(" WHERE " + strings.Join(b.conds, " AND "))
	}
	sb.WriteString(" ORDER BY " + seqCol)
	if limit > 0 {
		sb.WriteString(" LIMIT " + b.arg(limit))
	}
	return sb.String()
}

// query returns what the *Query functions return: the SELECT and its
// arguments, or run false when a condition matches nothing, or the error
// of a condition.
func (b *builder) query(cols, from, seqCol string, limit int) (query string, args []any, run bool, err error) {
	if b.err != nil || b.none {
		return "", nil, false, b.err
	}
	query = b.sql(cols, from, seqCol, limit)
	return query, b.args, true, nil
}

// start checks what every read checks first: the context, the limit, the
// strings of the filter.
func (r *reader) start(ctx context.Context, filter any, limit int) error {
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("%s: %w", r.s.d.Name, err)
	}
	if limit < 0 {
		return fmt.Errorf("%w: negative Limit %d", ErrInvalid, limit)
	}
	return CheckStrings("filter", filter)
}

// DocumentQuery builds the SELECT that Documents runs for f (exported for
// the backends' query-plan tests). run is false when f matches nothing.
func DocumentQuery(d *Dialect, f *registry.DocumentFilter) (query string, args []any, run bool, err error) {
	b := &builder{d: d}
	b.eq("d.patient_id", f.PatientID)
	b.in("d.patient_id", f.PatientIDs)
	b.in("d.id", f.IDs)
	b.in("d.unique_id", f.UniqueIDs)
	b.in("d.lid", f.LogicalIDs)
	b.in("d.status", f.Statuses)
	b.in("d.object_type", f.ObjectTypes)
	b.codes("d.class_code", "d.class_scheme", f.Classes)
	b.codes("d.type_code", "d.type_scheme", f.Types)
	b.codes("d.practice_code", "d.practice_scheme", f.PracticeSettings)
	b.codes("d.facility_code", "d.facility_scheme", f.FacilityTypes)
	b.codes("d.format_code", "d.format_scheme", f.Formats)
	b.childCodes("document_events", "doc_seq", "d.seq", f.Events)
	b.childCodes("document_confidentiality", "doc_seq", "d.seq", f.Confidentiality)
	b.timeRange("d.creation_time", f.CreationTime)
	b.timeRange("d.service_start_time", f.ServiceStartTime)
	b.timeRange("d.service_stop_time", f.ServiceStopTime)
	b.authors("document_authors", "doc_seq", "d.seq", f.AuthorPersons)
	b.list(f.ReferenceIDs, func() string {
		return "EXISTS (SELECT 1 FROM document_references r WHERE r.doc_seq = d.seq AND " + b.inCond("r.ref", f.ReferenceIDs) + ")"
	})
	if f.LatestOnly {
		b.where("d.latest")
	}
	if f.OnlineOnly {
		b.where("NOT d.offline")
	}
	return b.query("d.status, d.body", "documents d", "d.seq", f.Limit)
}

// Documents implements registry.Reader.
func (r *reader) Documents(ctx context.Context, f registry.DocumentFilter) ([]*registry.DocumentEntry, error) {
	return readObjects(ctx, r, f, f.Limit, "documents", func() (string, []any, bool, error) { return DocumentQuery(r.s.d, &f) },
		func() ([]string, bool) { return documentReadKeys(&f) },
		scanStatusBody("DocumentEntry", func(d *registry.DocumentEntry, status string) { d.Status = status }))
}

// SubmissionSetQuery builds the SELECT that SubmissionSets runs for f.
func SubmissionSetQuery(d *Dialect, f *registry.SubmissionSetFilter) (query string, args []any, run bool, err error) {
	b := &builder{d: d}
	b.eq("s.patient_id", f.PatientID)
	b.in("s.patient_id", f.PatientIDs)
	b.in("s.id", f.IDs)
	b.in("s.unique_id", f.UniqueIDs)
	b.in("s.status", f.Statuses)
	b.in("s.source_id", f.SourceIDs)
	b.timeRange("s.submission_time", f.SubmissionTime)
	b.authors("submission_set_authors", "set_seq", "s.seq", f.AuthorPersons)
	b.codes("s.content_code", "s.content_scheme", f.ContentTypes)
	return b.query("s.status, s.body", "submission_sets s", "s.seq", f.Limit)
}

// SubmissionSets implements registry.Reader.
func (r *reader) SubmissionSets(ctx context.Context, f registry.SubmissionSetFilter) ([]*registry.SubmissionSet, error) {
	return readObjects(ctx, r, f, f.Limit, "submission sets", func() (string, []any, bool, error) { return SubmissionSetQuery(r.s.d, &f) },
		func() ([]string, bool) { return submissionSetReadKeys(&f) },
		scanStatusBody("SubmissionSet", func(v *registry.SubmissionSet, status string) { v.Status = status }))
}

// FolderQuery builds the SELECT that Folders runs for f.
func FolderQuery(d *Dialect, f *registry.FolderFilter) (query string, args []any, run bool, err error) {
	b := &builder{d: d}
	b.eq("f.patient_id", f.PatientID)
	b.in("f.patient_id", f.PatientIDs)
	b.in("f.id", f.IDs)
	b.in("f.unique_id", f.UniqueIDs)
	b.in("f.lid", f.LogicalIDs)
	b.in("f.status", f.Statuses)
	b.timeRange("f.last_update_norm", f.LastUpdateTime)
	b.childCodes("folder_codes", "folder_seq", "f.seq", f.Codes)
	if f.LatestOnly {
		b.where("f.latest")
	}
	return b.query("f.status, f.last_update_time, f.body", "folders f", "f.seq", f.Limit)
}

// Folders implements registry.Reader.
func (r *reader) Folders(ctx context.Context, f registry.FolderFilter) ([]*registry.Folder, error) {
	return readObjects(ctx, r, f, f.Limit, "folders", func() (string, []any, bool, error) { return FolderQuery(r.s.d, &f) },
		func() ([]string, bool) { return folderReadKeys(&f) },
		func(rows *sql.Rows) (*registry.Folder, error) {
			var status, lut string
			var body sql.RawBytes // decoded before the next row: no copy
			if err := rows.Scan(&status, &lut, &body); err != nil {
				return nil, err
			}
			v, err := decodeBody[registry.Folder]("Folder", body)
			if err != nil {
				return nil, err
			}
			v.Status, v.LastUpdateTime = status, lut
			return v, nil
		})
}

// AssociationQuery builds the SELECT that Associations runs for f.
func AssociationQuery(d *Dialect, f *registry.AssociationFilter) (query string, args []any, run bool, err error) {
	b := &builder{d: d}
	b.in("a.id", f.IDs)
	b.list(f.SourceOrTarget, func() string {
		return "(" + b.inCond("a.source", f.SourceOrTarget) + " OR " + b.inCond("a.target", f.SourceOrTarget) + ")"
	})
	b.in("a.source", f.Sources)
	b.in("a.target", f.Targets)
	b.in("a.type", f.Types)
	b.in("a.status", f.Statuses)
	return b.query("a.status, a.body", "associations a", "a.seq", f.Limit)
}

// Associations implements registry.Reader.
func (r *reader) Associations(ctx context.Context, f registry.AssociationFilter) ([]*registry.Association, error) {
	return readObjects(ctx, r, f, f.Limit, "associations", func() (string, []any, bool, error) { return AssociationQuery(r.s.d, &f) },
		func() ([]string, bool) { return associationReadKeys(&f) },
		scanStatusBody("Association", func(v *registry.Association, status string) { v.Status = status }))
}

// PatientLinks implements registry.Reader.
func (s *Store) PatientLinks(ctx context.Context, f registry.PatientLinkFilter) ([]*registry.PatientLink, error) {
	return s.reader().PatientLinks(ctx, f)
}

// PatientLinkQuery builds the SELECT that PatientLinks runs for f.
func PatientLinkQuery(d *Dialect, f *registry.PatientLinkFilter) (query string, args []any, run bool, err error) {
	b := &builder{d: d}
	b.list(f.Patients, func() string {
		return "(" + b.inCond("l.from_pid", f.Patients) + " OR " + b.inCond("l.to_pid", f.Patients) + ")"
	})
	b.in("l.from_pid", f.From)
	if f.Active {
		b.where("l.unlinked_at IS NULL")
	}
	return b.query("l.from_pid, l.to_pid, l.linked_at, l.linked_by, l.reason, l.unlinked_at, l.unlinked_by, l.unlink_reason",
		"patient_links l", "l.seq", f.Limit)
}

// PatientLinks implements registry.Reader.
func (r *reader) PatientLinks(ctx context.Context, f registry.PatientLinkFilter) ([]*registry.PatientLink, error) {
	return readObjects(ctx, r, f, f.Limit, "patient links", func() (string, []any, bool, error) { return PatientLinkQuery(r.s.d, &f) },
		func() ([]string, bool) { return patientLinkReadKeys(&f) },
		func(rows *sql.Rows) (*registry.PatientLink, error) {
			var l registry.PatientLink
			var linkedAt string
			var unlinkedAt, unlinkedBy, unlinkReason sql.NullString
			if err := rows.Scan(&l.From, &l.To, &linkedAt, &l.LinkedBy, &l.Reason, &unlinkedAt, &unlinkedBy, &unlinkReason); err != nil {
				return nil, err
			}
			var err error
			if l.LinkedAt, err = time.Parse(linkTime, linkedAt); err != nil {
				return nil, fmt.Errorf("decoding stored patient link: %w", err)
			}
			if unlinkedAt.Valid {
				if l.UnlinkedAt, err = time.Parse(linkTime, unlinkedAt.String); err != nil {
					return nil, fmt.Errorf("decoding stored patient link: %w", err)
				}
				l.UnlinkedBy, l.UnlinkReason = unlinkedBy.String, unlinkReason.String
			}
			return &l, nil
		})
}

// readObjects is what the four reads share: the checks of start, the
// SELECT that build makes (none when it matches nothing: an empty, non-nil
// result), and one object per row from scan.
func readObjects[T any](ctx context.Context, r *reader, filter any, limit int, what string,
	build func() (query string, args []any, run bool, err error), lockKeys func() ([]string, bool),
	scan func(*sql.Rows) (*T, error)) ([]*T, error) {
	if err := r.start(ctx, filter, limit); err != nil {
		return nil, err
	}
	query, args, run, err := build()
	if err != nil || !run {
		return []*T{}, err
	}
	if r.t != nil && r.t.locking() {
		// Inside Update: lock what the read depends on first (locks.go).
		ks, none := lockKeys()
		if !none {
			if err := r.t.lockNow(ctx, ks); err != nil {
				return nil, err
			}
		}
	}
	out := []*T{}
	err = r.query(ctx, what, query, args, func(rows *sql.Rows) error {
		v, err := scan(rows)
		if err != nil {
			return err
		}
		out = append(out, v)
		return nil
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// scanStatusBody reads a row of (status, JSON body) into a new T (a kind
// of object) and sets its status.
func scanStatusBody[T any](kind string, setStatus func(*T, string)) func(*sql.Rows) (*T, error) {
	return func(rows *sql.Rows) (*T, error) {
		var status string
		// The driver's bytes, valid until the next row: decodeBody copies
		// what it keeps, so the body itself need not be copied first.
		var body sql.RawBytes
		if err := rows.Scan(&status, &body); err != nil {
			return nil, err
		}
		v, err := decodeBody[T](kind, body)
		if err != nil {
			return nil, err
		}
		setStatus(v, status)
		return v, nil
	}
}

// errNotObject: a stored body is always a JSON object.
var errNotObject = errors.New("body is not a JSON object")

// decodeBody decodes the stored JSON body of an object of kind.
//
// It uses the JSON v2 decoder (github.com/go-json-experiment/json), which
// reads the body in one pass where encoding/json first validates it in a
// separate one: decoding the bodies was two thirds of a read's CPU. The
// values are the same as encoding/json's for every body the store writes
// (json.Marshal of the registry types, which have no JSON methods of their
// own; PostgreSQL's jsonb gives them back reordered and re-spaced, with
// fewer escapes): names are matched exactly as they are written, and
// unknown names are ignored as before. Where the two differ, the body is
// not one the store wrote (CheckStrings keeps invalid UTF-8 out; jsonb
// and encoding/json write no duplicate names), and v2 is the stricter:
// invalid UTF-8, a duplicate name or a name in other case are an error
// here, not a value (TestDecodeBody*). A body that is not an object (JSON
// null would decode as an empty object) is an error too.
func decodeBody[T any](kind string, body []byte) (*T, error) {
	if t := bytes.TrimLeft(body, " \t\r\n"); len(t) == 0 || t[0] != '{' {
		return nil, fmt.Errorf("decoding stored %s: %w", kind, errNotObject)
	}
	v := new(T)
	if err := jsonv2.Unmarshal(body, v); err != nil {
		return nil, fmt.Errorf("decoding stored %s: %w", kind, err)
	}
	return v, nil
}

// query runs a SELECT and calls scan for every row.
func (r *reader) query(ctx context.Context, what, query string, args []any, scan func(*sql.Rows) error) error {
	rows, err := r.q.QueryContext(ctx, query, args...)
	if err != nil {
		return r.fail(ctx, "query "+what, err)
	}
	defer rows.Close()
	for rows.Next() {
		if err := scan(rows); err != nil {
			return r.fail(ctx, "read "+what, err)
		}
	}
	if err := rows.Err(); err != nil {
		return r.fail(ctx, "read "+what, err)
	}
	return nil
}
