package sqlstore

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"strings"

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

// in: col is one of vs. nil: no constraint; empty: nothing matches.
func (b *builder) in(col string, vs []string) {
	switch {
	case vs == nil:
	case len(vs) == 0:
		b.none = true
	default:
		b.where(b.inCond(col, vs))
	}
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
	if f.ReferenceIDs != nil {
		if len(f.ReferenceIDs) == 0 {
			b.none = true
		} else {
			b.where("EXISTS (SELECT 1 FROM document_references r WHERE r.doc_seq = d.seq AND " + b.inCond("r.ref", f.ReferenceIDs) + ")")
		}
	}
	if b.err != nil || b.none {
		return "", nil, false, b.err
	}
	return b.sql("d.status, d.body", "documents d", "d.seq", f.Limit), b.args, true, nil
}

// Documents implements registry.Reader.
func (r *reader) Documents(ctx context.Context, f registry.DocumentFilter) ([]*registry.DocumentEntry, error) {
	if err := r.start(ctx, f, f.Limit); err != nil {
		return nil, err
	}
	query, args, run, err := DocumentQuery(r.s.d, &f)
	if err != nil || !run {
		return []*registry.DocumentEntry{}, err
	}
	out := []*registry.DocumentEntry{}
	err = r.query(ctx, "documents", query, args, func(rows *sql.Rows) error {
		var status string
		var body []byte
		if err := rows.Scan(&status, &body); err != nil {
			return err
		}
		d := new(registry.DocumentEntry)
		if err := json.Unmarshal(body, d); err != nil {
			return fmt.Errorf("decoding stored DocumentEntry: %w", err)
		}
		d.Status = status
		out = append(out, d)
		return nil
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// SubmissionSetQuery builds the SELECT that SubmissionSets runs for f.
func SubmissionSetQuery(d *Dialect, f *registry.SubmissionSetFilter) (query string, args []any, run bool, err error) {
	b := &builder{d: d}
	b.eq("s.patient_id", f.PatientID)
	b.in("s.id", f.IDs)
	b.in("s.unique_id", f.UniqueIDs)
	b.in("s.status", f.Statuses)
	b.in("s.source_id", f.SourceIDs)
	b.timeRange("s.submission_time", f.SubmissionTime)
	b.authors("submission_set_authors", "set_seq", "s.seq", f.AuthorPersons)
	b.codes("s.content_code", "s.content_scheme", f.ContentTypes)
	if b.err != nil || b.none {
		return "", nil, false, b.err
	}
	return b.sql("s.status, s.body", "submission_sets s", "s.seq", f.Limit), b.args, true, nil
}

// SubmissionSets implements registry.Reader.
func (r *reader) SubmissionSets(ctx context.Context, f registry.SubmissionSetFilter) ([]*registry.SubmissionSet, error) {
	if err := r.start(ctx, f, f.Limit); err != nil {
		return nil, err
	}
	query, args, run, err := SubmissionSetQuery(r.s.d, &f)
	if err != nil || !run {
		return []*registry.SubmissionSet{}, err
	}
	out := []*registry.SubmissionSet{}
	err = r.query(ctx, "submission sets", query, args, func(rows *sql.Rows) error {
		var status string
		var body []byte
		if err := rows.Scan(&status, &body); err != nil {
			return err
		}
		v := new(registry.SubmissionSet)
		if err := json.Unmarshal(body, v); err != nil {
			return fmt.Errorf("decoding stored SubmissionSet: %w", err)
		}
		v.Status = status
		out = append(out, v)
		return nil
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// FolderQuery builds the SELECT that Folders runs for f.
func FolderQuery(d *Dialect, f *registry.FolderFilter) (query string, args []any, run bool, err error) {
	b := &builder{d: d}
	b.eq("f.patient_id", f.PatientID)
	b.in("f.id", f.IDs)
	b.in("f.unique_id", f.UniqueIDs)
	b.in("f.lid", f.LogicalIDs)
	b.in("f.status", f.Statuses)
	b.timeRange("f.last_update_norm", f.LastUpdateTime)
	b.childCodes("folder_codes", "folder_seq", "f.seq", f.Codes)
	if b.err != nil || b.none {
		return "", nil, false, b.err
	}
	return b.sql("f.status, f.last_update_time, f.body", "folders f", "f.seq", f.Limit), b.args, true, nil
}

// Folders implements registry.Reader.
func (r *reader) Folders(ctx context.Context, f registry.FolderFilter) ([]*registry.Folder, error) {
	if err := r.start(ctx, f, f.Limit); err != nil {
		return nil, err
	}
	query, args, run, err := FolderQuery(r.s.d, &f)
	if err != nil || !run {
		return []*registry.Folder{}, err
	}
	out := []*registry.Folder{}
	err = r.query(ctx, "folders", query, args, func(rows *sql.Rows) error {
		var status, lut string
		var body []byte
		if err := rows.Scan(&status, &lut, &body); err != nil {
			return err
		}
		v := new(registry.Folder)
		if err := json.Unmarshal(body, v); err != nil {
			return fmt.Errorf("decoding stored Folder: %w", err)
		}
		v.Status, v.LastUpdateTime = status, lut
		out = append(out, v)
		return nil
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// AssociationQuery builds the SELECT that Associations runs for f.
func AssociationQuery(d *Dialect, f *registry.AssociationFilter) (query string, args []any, run bool, err error) {
	b := &builder{d: d}
	b.in("a.id", f.IDs)
	if f.SourceOrTarget != nil {
		if len(f.SourceOrTarget) == 0 {
			b.none = true
		} else {
			b.where("(" + b.inCond("a.source", f.SourceOrTarget) + " OR " + b.inCond("a.target", f.SourceOrTarget) + ")")
		}
	}
	b.in("a.source", f.Sources)
	b.in("a.target", f.Targets)
	b.in("a.type", f.Types)
	b.in("a.status", f.Statuses)
	if b.err != nil || b.none {
		return "", nil, false, b.err
	}
	return b.sql("a.status, a.body", "associations a", "a.seq", f.Limit), b.args, true, nil
}

// Associations implements registry.Reader.
func (r *reader) Associations(ctx context.Context, f registry.AssociationFilter) ([]*registry.Association, error) {
	if err := r.start(ctx, f, f.Limit); err != nil {
		return nil, err
	}
	query, args, run, err := AssociationQuery(r.s.d, &f)
	if err != nil || !run {
		return []*registry.Association{}, err
	}
	out := []*registry.Association{}
	err = r.query(ctx, "associations", query, args, func(rows *sql.Rows) error {
		var status string
		var body []byte
		if err := rows.Scan(&status, &body); err != nil {
			return err
		}
		v := new(registry.Association)
		if err := json.Unmarshal(body, v); err != nil {
			return fmt.Errorf("decoding stored Association: %w", err)
		}
		v.Status = status
		out = append(out, v)
		return nil
	})
	if err != nil {
		return nil, err
	}
	return out, nil
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
