package sqlstore

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"time"

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
// latest is not among them: its default (true) is right for a new row.
var DocumentColumns = []string{
	"id", "lid", "unique_id", "patient_id", "status", "object_type",
	"class_code", "class_scheme", "type_code", "type_scheme",
	"practice_code", "practice_scheme", "facility_code", "facility_scheme",
	"format_code", "format_scheme",
	"creation_time", "service_start_time", "service_stop_time", "body",
	"version", "offline",
}

// DocumentValues returns d's column values (DocumentColumns order) given its
// JSON body. An invalid Version counts as 1 here; InsertDocument refuses
// it first (VersionNumber).
func DocumentValues(d *registry.DocumentEntry, body []byte) []any {
	v, err := VersionNumber(d.Version)
	if err != nil {
		v = 1
	}
	return []any{
		d.ID, d.LogicalID, d.UniqueID, d.PatientID, d.Status, d.ObjectType,
		d.Class.Code, d.Class.Scheme, d.Type.Code, d.Type.Scheme,
		d.PracticeSetting.Code, d.PracticeSetting.Scheme, d.FacilityType.Code, d.FacilityType.Scheme,
		d.Format.Code, d.Format.Scheme,
		nullDTM(d.CreationTime), nullDTM(d.ServiceStartTime), nullDTM(d.ServiceStopTime), string(body),
		v, d.DocumentAvailability == registry.DocumentAvailabilityOffline,
	}
}

// VersionNumber parses a DocumentEntry or Folder version ("" is 1): a
// decimal integer from 1 to 999999999, else ErrInvalid.
func VersionNumber(v string) (int, error) {
	if v == "" {
		return 1, nil
	}
	n, err := strconv.Atoi(v)
	if err != nil || n < 1 || n > 999_999_999 || strconv.Itoa(n) != v {
		return 0, fmt.Errorf("%w: version %q is not a number from 1 to 999999999", ErrInvalid, v)
	}
	return n, nil
}

// supersede marks every version of lid in table as not the latest, before
// a newer one is inserted.
func (t *tx) supersede(ctx context.Context, what, table, lid string) error {
	if err := t.lockNow(ctx, keys("lid:", lid)); err != nil {
		return err
	}
	b := &builder{d: t.s.d}
	query := "UPDATE " + table + " SET latest = " + b.arg(false) + " WHERE lid = " + b.arg(lid) + " AND latest"
	_, err := t.change(ctx, "supersede "+what, table, query, b.args)
	return err
}

// change runs an UPDATE or DELETE of table and returns how many rows it
// changed; with key locks, it has the rows' keys returned and locks them
// before commit (locks.go).
func (t *tx) change(ctx context.Context, op, table, query string, args []any) (int64, error) {
	if !t.locking() {
		res, err := t.q.ExecContext(ctx, query, args...)
		if err != nil {
			return 0, t.note(ctx, op, err)
		}
		n, err := res.RowsAffected()
		if err != nil {
			return 0, t.note(ctx, op, err)
		}
		return n, nil
	}
	cols := rowKeys[table]
	rows, err := t.q.QueryContext(ctx, query+" RETURNING "+strings.Join(cols, ", "), args...)
	if err != nil {
		return 0, t.note(ctx, op, err)
	}
	defer rows.Close()
	vals := make([]sql.NullString, len(cols))
	ptrs := make([]any, len(cols))
	for i := range vals {
		ptrs[i] = &vals[i]
	}
	var n int64
	var ks []string
	for rows.Next() {
		if err := rows.Scan(ptrs...); err != nil {
			return 0, t.note(ctx, op, err)
		}
		n++
		for i, c := range cols {
			if vals[i].Valid {
				ks = append(ks, keyPrefix[c]+vals[i].String)
			}
		}
	}
	if err := rows.Err(); err != nil {
		return 0, t.note(ctx, op, err)
	}
	t.lockLater(table, ks...)
	return n, nil
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
	if _, err := VersionNumber(d.Version); err != nil {
		return t.record(fmt.Errorf("document entry %s: %w", d.ID, err))
	}
	if d.LogicalID == "" {
		return t.record(fmt.Errorf("%w: DocumentEntry %s without logicalID", ErrInvalid, d.ID))
	}
	if err := t.supersede(ctx, "DocumentEntry", "documents", d.LogicalID); err != nil {
		return err
	}
	seq, err := t.insertRow(ctx, "DocumentEntry", "documents", DocumentColumns, DocumentValues(d, body))
	if err != nil {
		return err
	}
	t.lockLater("documents", "id:"+d.ID, "uid:"+d.UniqueID, "lid:"+d.LogicalID, "pid:"+d.PatientID)
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
	t.lockLater("submission_sets", "id:"+s.ID, "uid:"+s.UniqueID, "pid:"+s.PatientID)
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
	version, err := VersionNumber(f.Version)
	if err != nil {
		return t.record(fmt.Errorf("folder %s: %w", f.ID, err))
	}
	if f.LogicalID == "" {
		return t.record(fmt.Errorf("%w: Folder %s without logicalID", ErrInvalid, f.ID))
	}
	if err := t.supersede(ctx, "Folder", "folders", f.LogicalID); err != nil {
		return err
	}
	seq, err := t.insertRow(ctx, "Folder", "folders",
		[]string{"id", "lid", "unique_id", "patient_id", "status", "last_update_time", "last_update_norm", "body", "version"},
		[]any{f.ID, f.LogicalID, f.UniqueID, f.PatientID, f.Status, f.LastUpdateTime, nullDTM(f.LastUpdateTime), string(body), version})
	if err != nil {
		return err
	}
	t.lockLater("folders", "id:"+f.ID, "uid:"+f.UniqueID, "lid:"+f.LogicalID, "pid:"+f.PatientID)
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
	if _, err = t.insertRow(ctx, "Association", "associations",
		[]string{"id", "type", "source", "target", "status", "body"},
		[]any{a.ID, a.Type, a.Source, a.Target, a.Status, string(body)}); err != nil {
		return err
	}
	t.lockLater("associations", "id:"+a.ID, "ref:"+a.Source, "ref:"+a.Target)
	return nil
}

// SetDocumentStatus implements registry.Tx.
func (t *tx) SetDocumentStatus(ctx context.Context, id, status string) error {
	return t.setStatus(ctx, "DocumentEntry", "documents", id, status)
}

// SetFolderStatus implements registry.Tx.
func (t *tx) SetFolderStatus(ctx context.Context, id, status string) error {
	return t.setStatus(ctx, "Folder", "folders", id, status)
}

// SetAssociationStatus implements registry.Tx.
func (t *tx) SetAssociationStatus(ctx context.Context, id, status string) error {
	return t.setStatus(ctx, "Association", "associations", id, status)
}

func (t *tx) setStatus(ctx context.Context, what, table, id, status string) error {
	if err := CheckStrings("status", []string{id, status}); err != nil {
		return t.record(err)
	}
	if status == "" {
		return t.record(fmt.Errorf("%w: empty status for %s", ErrInvalid, id))
	}
	b := &builder{d: t.s.d}
	query := "UPDATE " + table + " SET status = " + b.arg(status) + " WHERE id = " + b.arg(id)
	return t.update(ctx, what, table, keys("id:", id), id, query, b.args)
}

// DeleteObjects implements registry.Tx.
func (t *tx) DeleteObjects(ctx context.Context, ids []string) error {
	if err := CheckStrings("ids", ids); err != nil {
		return t.record(err)
	}
	if len(ids) == 0 {
		return nil
	}
	if err := ctx.Err(); err != nil {
		return t.note(ctx, "delete", err)
	}
	if err := t.lockNow(ctx, keys("id:", ids...)); err != nil {
		return err
	}
	for _, table := range []string{"documents", "folders"} {
		if err := t.deleteVersions(ctx, table, ids); err != nil {
			return err
		}
	}
	for _, table := range []string{"submission_sets", "associations"} {
		b := &builder{d: t.s.d}
		query := "DELETE FROM " + table + " WHERE " + b.inCond("id", ids)
		if _, err := t.change(ctx, "delete from "+table, table, query, b.args); err != nil {
			return err
		}
	}
	return nil
}

// deleteVersions deletes the rows of a versioned table (documents,
// folders) with these ids, then makes the newest remaining version of each
// lid they belonged to the latest.
func (t *tx) deleteVersions(ctx context.Context, table string, ids []string) error {
	b := &builder{d: t.s.d}
	var lids []string
	err := t.reader.query(ctx, table, "SELECT DISTINCT lid FROM "+table+" WHERE "+b.inCond("id", ids), b.args, func(rows *sql.Rows) error {
		var lid string
		if err := rows.Scan(&lid); err != nil {
			return err
		}
		lids = append(lids, lid)
		return nil
	})
	if err != nil {
		return err
	}
	if len(lids) == 0 {
		return nil
	}
	b = &builder{d: t.s.d}
	if _, err := t.change(ctx, "delete from "+table, table, "DELETE FROM "+table+" WHERE "+b.inCond("id", ids), b.args); err != nil {
		return err
	}
	if err := t.lockNow(ctx, keys("lid:", lids...)); err != nil {
		return err
	}
	b = &builder{d: t.s.d}
	query := "UPDATE " + table + " SET latest = " + b.arg(true) + " WHERE NOT latest AND " + b.inCond("lid", lids) +
		" AND version = (SELECT max(n.version) FROM " + table + " n WHERE n.lid = " + table + ".lid)"
	_, err = t.change(ctx, "update latest in "+table, table, query, b.args)
	return err
}

// linkTime is how patient_links stores times: UTC, fixed width, so text
// order is time order.
const linkTime = "2006-01-02T15:04:05.000000000Z"

// InsertPatientLink implements registry.Tx.
func (t *tx) InsertPatientLink(ctx context.Context, l *registry.PatientLink) error {
	if l == nil || l.From == "" || l.To == "" || l.LinkedAt.IsZero() {
		return t.record(fmt.Errorf("%w: incomplete patient link", ErrInvalid))
	}
	if err := CheckStrings("patient link", l); err != nil {
		return t.record(err)
	}
	if err := ctx.Err(); err != nil {
		return t.note(ctx, "insert patient link", err)
	}
	var unlinkedAt, unlinkedBy, unlinkReason sql.NullString
	if !l.UnlinkedAt.IsZero() {
		unlinkedAt = sql.NullString{String: l.UnlinkedAt.UTC().Format(linkTime), Valid: true}
		unlinkedBy = sql.NullString{String: l.UnlinkedBy, Valid: true}
		unlinkReason = sql.NullString{String: l.UnlinkReason, Valid: true}
	}
	if _, err := t.insertRow(ctx, "patient link", "patient_links",
		[]string{"from_pid", "to_pid", "linked_at", "linked_by", "reason", "unlinked_at", "unlinked_by", "unlink_reason"},
		[]any{l.From, l.To, l.LinkedAt.UTC().Format(linkTime), l.LinkedBy, l.Reason, unlinkedAt, unlinkedBy, unlinkReason}); err != nil {
		return err
	}
	t.lockLater("patient_links", "pid:"+l.From, "pid:"+l.To)
	return nil
}

// EndPatientLink implements registry.Tx.
func (t *tx) EndPatientLink(ctx context.Context, from string, at time.Time, by, reason string) error {
	if err := CheckStrings("patient link", []string{from, by, reason}); err != nil {
		return t.record(err)
	}
	if at.IsZero() {
		return t.record(fmt.Errorf("%w: ending a patient link without a time", ErrInvalid))
	}
	b := &builder{d: t.s.d}
	query := "UPDATE patient_links SET unlinked_at = " + b.arg(at.UTC().Format(linkTime)) + ", unlinked_by = " + b.arg(by) +
		", unlink_reason = " + b.arg(reason) + " WHERE from_pid = " + b.arg(from) + " AND unlinked_at IS NULL"
	return t.update(ctx, "patient link from", "patient_links", keys("pid:", from), from, query, b.args)
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
	return t.update(ctx, "Folder", "folders", keys("id:", id), id, query, b.args)
}

// update runs an UPDATE of table selecting rows by the keys sel (locked
// first); ErrNotFound when it changed none.
func (t *tx) update(ctx context.Context, what, table string, sel []string, id, query string, args []any) error {
	if err := ctx.Err(); err != nil {
		return t.note(ctx, "update "+what, err)
	}
	if err := t.lockNow(ctx, sel); err != nil {
		return err
	}
	n, err := t.change(ctx, "update "+what, table, query, args)
	if err != nil {
		return err
	}
	if n == 0 {
		return fmt.Errorf("%s: %s %s: %w", t.s.d.Name, what, id, registry.ErrNotFound)
	}
	return nil
}
