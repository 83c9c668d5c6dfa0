package audit

import (
	"encoding/csv"
	"encoding/json"
	"io"
	"strconv"
	"strings"
)

// CSVColumns are the export columns, in order. They are stable: new
// columns are only ever added at the end.
var CSVColumns = []string{
	"seq", "id", "time", "transaction", "action", "outcome", "rule", "reason", "flags", "credential",
	"actor_kind", "actor_pid", "actor_name", "actor_hpr", "authorization_code", "authorization_text",
	"legal_entity_id", "legal_entity_name", "point_of_care_id", "point_of_care_name",
	"department_id", "department_name", "security_level",
	"purpose_of_use", "purpose_of_use_system", "purpose_of_use_details", "purpose_of_use_details_system",
	"healthcare_service", "healthcare_service_system", "decision_ref_id", "decision_ref_user_selected", "toa",
	"client_id", "client_name", "client_orgnr", "patient_id",
	"documents_returned", "documents_refused", "documents_hidden", "hidden_nors_count",
	"query", "request_id", "nhn_event_id", "source_ip", "user_agent", "hash",
}

// CSVWriter writes records as CSV (RFC 4180: CRLF line ends, quoting as
// needed) with a header row. Cells that a spreadsheet would run as a
// formula (starting with = + - @, tab or CR) are prefixed with a single
// quote.
type CSVWriter struct {
	w      *csv.Writer
	view   View
	header bool
	row    []string
}

// NewCSVWriter returns a CSVWriter on w. For ForCitizen the actor's
// national identity number, source IP and user agent columns stay empty.
func NewCSVWriter(w io.Writer, v View) *CSVWriter {
	cw := csv.NewWriter(w)
	cw.UseCRLF = true
	return &CSVWriter{w: cw, view: v, row: make([]string, 0, len(CSVColumns))}
}

// Write writes one record (and the header before the first).
func (c *CSVWriter) Write(r Record) error {
	if !c.header {
		c.header = true
		if err := c.w.Write(CSVColumns); err != nil {
			return err
		}
	}
	citizen := c.view.Audience == ForCitizen
	hide := func(s string) string {
		if citizen {
			return ""
		}
		return s
	}
	flags := r.Flags.codes()
	docs := map[Disposition][]string{}
	for _, d := range r.Documents {
		docs[d.Disposition] = append(docs[d.Disposition], d.UniqueID)
	}
	a, at := r.Actor, r.Attestation
	toa := ""
	if at.TOA != 0 {
		toa = strconv.FormatInt(at.TOA, 10)
	}
	userSelected := ""
	if at.DecisionRef.ID != "" {
		userSelected = strconv.FormatBool(at.DecisionRef.UserSelected)
	}
	actorPID := a.PID
	if citizen && !(a.Kind == ActorCitizen && a.PID == r.PatientID) {
		actorPID = ""
	}
	row := append(c.row[:0],
		strconv.FormatInt(r.Seq, 10), r.ID, fhirInstant(r.Time), r.Transaction, string(r.Action), string(r.Outcome),
		r.Rule, r.Reason, strings.Join(flags, ";"), r.Credential,
		string(a.Kind), actorPID, a.Name, a.HPR, a.Authorization.Code, a.Authorization.Display,
		a.LegalEntity.ID, a.LegalEntity.Name, a.PointOfCare.ID, a.PointOfCare.Name,
		a.Department.ID, a.Department.Name, a.SecurityLevel,
		at.PurposeOfUse.Code, at.PurposeOfUse.System, at.PurposeOfUseDetails.Code, at.PurposeOfUseDetails.System,
		at.HealthcareService.Code, at.HealthcareService.System, at.DecisionRef.ID, userSelected, toa,
		r.Client.ID, r.Client.Name, r.Client.OrgNr, r.PatientID,
		strings.Join(docs[DocReturned], ";"), strings.Join(docs[DocRefused], ";"), strings.Join(docs[DocHidden], ";"),
		strconv.Itoa(r.HiddenNORS),
		r.Query, r.RequestID, r.EventID, hide(r.SourceIP), hide(r.UserAgent), r.Hash,
	)
	for i, cell := range row {
		row[i] = csvSafe(cell)
	}
	return c.w.Write(row)
}

// Flush writes buffered rows and returns any write error.
func (c *CSVWriter) Flush() error {
	if !c.header {
		c.header = true
		if err := c.w.Write(CSVColumns); err != nil {
			return err
		}
	}
	c.w.Flush()
	return c.w.Error()
}

// csvSafe defuses formula injection: a cell a spreadsheet would evaluate
// gets a leading single quote.
func csvSafe(s string) string {
	if s == "" {
		return s
	}
	switch s[0] {
	case '=', '+', '-', '@', '\t', '\r':
		return "'" + s
	}
	return s
}

// NDJSONWriter writes records as FHIR AuditEvents, one JSON object per
// line (the FHIR bulk-data format).
type NDJSONWriter struct {
	enc  *json.Encoder
	view View
}

// NewNDJSONWriter returns an NDJSONWriter on w.
func NewNDJSONWriter(w io.Writer, v View) *NDJSONWriter {
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(false)
	return &NDJSONWriter{enc: enc, view: v}
}

// Write writes one record as an AuditEvent line.
func (n *NDJSONWriter) Write(r Record) error { return n.enc.Encode(ToAuditEvent(r, n.view)) }
