package sqlstore

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"strings"

	"pjd/registry"
)

// nullDTM is the normalised query column for a DTM attribute: NULL when the
// attribute is absent (or not a DTM), so that it never matches a range.
func nullDTM(v string) sql.NullString {
	n, ok := NormDTM(v)
	return sql.NullString{String: n, Valid: ok}
}

func (t *tx) begin(ctx context.Context, what string, obj any, id string) ([]byte, error) {
	if err := ctx.Err(); err != nil {
		return nil, t.note(ctx, "insert "+what, err)
	}
	if id == "" {
		return nil, t.record(fmt.Errorf("%w: %s without id", ErrInvalid, what))
	}
	if err := CheckStrings(what, obj); err != nil {
		return nil, t.record(err)
	}
	body, err := json.Marshal(obj)
	if err != nil {
		return nil, t.record(fmt.Errorf("%w: encoding %s %s: %v", ErrInvalid, what, id, err))
	}
	return body, nil
}

// insertRow runs an INSERT … RETURNING seq.
func (t *tx) insertRow(ctx context.Context, what, table string, cols []string, vals []any) (int64, error) {
	b := &builder{d: t.s.d}
	marks := make([]string, len(vals))
	for i, v := range vals {
		marks[i] = b.arg(v)
	}
	query := "INSERT INTO " + table + " (" + strings.Join(cols, ", ") + ") VALUES (" + strings.Join(marks, ", ") + ") RETURNING seq"
	var seq int64
	if err := t.q.QueryRowContext(ctx, query, b.args...).Scan(&seq); err != nil {
		return 0, t.note(ctx, "insert "+what, err)
	}
	return seq, nil
}

// insertChildren inserts rows (seq, values…) into a child table in one
// statement.
func (t *tx) insertChildren(ctx context.Context, table string, cols []string, seq int64, rows [][]any) error {
	if len(rows) == 0 {
		return nil
	}
	b := &builder{d: t.s.d}
	tuples := make([]string, len(rows))
	for i, row := range rows {
		marks := []string{b.arg(seq)}
		for _, v := range row {
			marks = append(marks, b.arg(v))
		}
		tuples[i] = "(" + strings.Join(marks, ", ") + ")"
	}
	query := "INSERT INTO " + table + " (" + strings.Join(cols, ", ") + ") VALUES " + strings.Join(tuples, ", ")
	if _, err := t.q.ExecContext(ctx, query, b.args...); err != nil {
		return t.note(ctx, "insert into "+table, err)
	}
	return nil
}

func codeRows(cs []registry.Code) [][]any {
	rows := make([][]any, len(cs))
	for i, c := range cs {
		rows[i] = []any{c.Code, c.Scheme}
	}
	return rows
}

func authorRows(as []registry.Author) [][]any {
	var rows [][]any
	for _, a := range as {
		if a.Person != "" {
			rows = append(rows, []any{a.Person})
		}
	}
	return rows
}

func stringRows(vs []string) [][]any {
	rows := make([][]any, len(vs))
	for i, v := range vs {
		rows[i] = []any{v}
	}
	return rows
}

// DocumentColumns are the documents columns besides seq, in the order
// DocumentValues returns them (shared with the PostgreSQL bulk loader).
var DocumentColumns = []string{
	"id", "lid", "unique_id", "patient_id", "status", "object_type",
	"class_code", "class_scheme", "type_code", "type_scheme",
	"practice_code", "practice_scheme", "facility_code", "facility_scheme",
	"format_code", "format_scheme",
	"creation_time", "service_start_time", "service_stop_time", "body",
}

// DocumentValues returns d's column values (DocumentColumns order) given its
// JSON body.
func DocumentValues(d *registry.DocumentEntry, body []byte) []any {
	return []any{
		d.ID, d.LogicalID, d.UniqueID, d.PatientID, d.Status, d.ObjectType,
		d.Class.Code, d.Class.Scheme, d.Type.Code, d.Type.Scheme,
		d.PracticeSetting.Code, d.PracticeSetting.Scheme, d.FacilityType.Code, d.FacilityType.Scheme,
		d.Format.Code, d.Format.Scheme,
		nullDTM(d.CreationTime), nullDTM(d.ServiceStartTime), nullDTM(d.ServiceStopTime), string(body),
	}
}

// DocumentChildren returns the child-table rows of d: table name → rows
// of values after doc_seq (columns in DocumentChildColumns).
func DocumentChildren(d *registry.DocumentEntry) map[string][][]any {
	return map[string][][]any{
		"document_confidentiality": codeRows(d.Confidentiality),
		"document_events":          codeRows(d.Events),
		"document_authors":         authorRows(d.Authors),
		"document_references":      stringRows(d.ReferenceIDs),
	}
}

// DocumentChildColumns are the columns of each document child table.
var DocumentChildColumns = map[string][]string{
	"document_confidentiality": {"doc_seq", "code", "scheme"},
	"document_events":          {"doc_seq", "code", "scheme"},
	"document_authors":         {"doc_seq", "person"},
	"document_references":      {"doc_seq", "ref"},
}

// DocumentChildTables lists the child tables in insertion order.
var DocumentChildTables = []string{"document_confidentiality", "document_events", "document_authors", "document_references"}

// InsertDocument implements registry.Tx.
func (t *tx) InsertDocument(ctx context.Context, d *registry.DocumentEntry) error {
	if d == nil {
		return t.record(fmt.Errorf("%w: nil DocumentEntry", ErrInvalid))
	}
	body, err := t.begin(ctx, "DocumentEntry", d, d.ID)
	if err != nil {
		return err
	}
	seq, err := t.insertRow(ctx, "DocumentEntry", "documents", DocumentColumns, DocumentValues(d, body))
	if err != nil {
		return err
	}
	children := DocumentChildren(d)
	for _, table := range DocumentChildTables {
		if err := t.insertChildren(ctx, table, DocumentChildColumns[table], seq, children[table]); err != nil {
			return err
		}
	}
	return nil
}

// InsertSubmissionSet implements registry.Tx.
func (t *tx) InsertSubmissionSet(ctx context.Context, s *registry.SubmissionSet) error {
	if s == nil {
		return t.record(fmt.Errorf("%w: nil SubmissionSet", ErrInvalid))
	}
	body, err := t.begin(ctx, "SubmissionSet", s, s.ID)
	if err != nil {
		return err
	}
	seq, err := t.insertRow(ctx, "SubmissionSet", "submission_sets",
		[]string{"id", "unique_id", "patient_id", "status", "source_id", "submission_time", "content_code", "content_scheme", "body"},
		[]any{s.ID, s.UniqueID, s.PatientID, s.Status, s.SourceID, nullDTM(s.SubmissionTime), s.ContentType.Code, s.ContentType.Scheme, string(body)})
	if err != nil {
		return err
	}
	return t.insertChildren(ctx, "submission_set_authors", []string{"set_seq", "person"}, seq, authorRows(s.Authors))
}

// InsertFolder implements registry.Tx.
func (t *tx) InsertFolder(ctx context.Context, f *registry.Folder) error {
	if f == nil {
		return t.record(fmt.Errorf("%w: nil Folder", ErrInvalid))
	}
	body, err := t.begin(ctx, "Folder", f, f.ID)
	if err != nil {
		return err
	}
	seq, err := t.insertRow(ctx, "Folder", "folders",
		[]string{"id", "lid", "unique_id", "patient_id", "status", "last_update_time", "last_update_norm", "body"},
		[]any{f.ID, f.LogicalID, f.UniqueID, f.PatientID, f.Status, f.LastUpdateTime, nullDTM(f.LastUpdateTime), string(body)})
	if err != nil {
		return err
	}
	return t.insertChildren(ctx, "folder_codes", []string{"folder_seq", "code", "scheme"}, seq, codeRows(f.Codes))
}

// InsertAssociation implements registry.Tx.
func (t *tx) InsertAssociation(ctx context.Context, a *registry.Association) error {
	if a == nil {
		return t.record(fmt.Errorf("%w: nil Association", ErrInvalid))
	}
	body, err := t.begin(ctx, "Association", a, a.ID)
	if err != nil {
		return err
	}
	_, err = t.insertRow(ctx, "Association", "associations",
		[]string{"id", "type", "source", "target", "status", "body"},
		[]any{a.ID, a.Type, a.Source, a.Target, a.Status, string(body)})
	return err
}

// SetDocumentStatus implements registry.Tx.
func (t *tx) SetDocumentStatus(ctx context.Context, id, status string) error {
	if err := CheckStrings("status", []string{id, status}); err != nil {
		return t.record(err)
	}
	if status == "" {
		return t.record(fmt.Errorf("%w: empty status for %s", ErrInvalid, id))
	}
	b := &builder{d: t.s.d}
	query := "UPDATE documents SET status = " + b.arg(status) + " WHERE id = " + b.arg(id)
	return t.update(ctx, "DocumentEntry", id, query, b.args)
}

// SetFolderLastUpdateTime implements registry.Tx.
func (t *tx) SetFolderLastUpdateTime(ctx context.Context, id, dtm string) error {
	if err := CheckStrings("lastUpdateTime", []string{id, dtm}); err != nil {
		return t.record(err)
	}
	norm := nullDTM(dtm)
	if !norm.Valid {
		return t.record(fmt.Errorf("%w: lastUpdateTime %q of %s is not a DTM", ErrInvalid, dtm, id))
	}
	b := &builder{d: t.s.d}
	query := "UPDATE folders SET last_update_time = " + b.arg(dtm) + ", last_update_norm = " + b.arg(norm) + " WHERE id = " + b.arg(id)
	return t.update(ctx, "Folder", id, query, b.args)
}

func (t *tx) update(ctx context.Context, what, id, query string, args []any) error {
	if err := ctx.Err(); err != nil {
		return t.note(ctx, "update "+what, err)
	}
	res, err := t.q.ExecContext(ctx, query, args...)
	if err != nil {
		return t.note(ctx, "update "+what, err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return t.note(ctx, "update "+what, err)
	}
	if n == 0 {
		return fmt.Errorf("%s: %s %s: %w", t.s.d.Name, what, id, registry.ErrNotFound)
	}
	return nil
}
