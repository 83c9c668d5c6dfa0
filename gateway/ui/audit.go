package ui

import (
	"encoding/csv"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"pjd/trust"
)

// auditQuery is the compliance search form.
type auditQuery struct {
	Patient, Worker, Organisation, Document string
	FromRaw, ToRaw                          string
	Cursor                                  string
	filter                                  AuditFilter
}

const auditPageSize = 50

func isDigits(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

// parseAuditQuery reads the search form; citizen limits it to the period.
func parseAuditQuery(q url.Values, citizen bool) (auditQuery, []fieldError) {
	aq := auditQuery{
		FromRaw: limitField(q.Get("fra")),
		ToRaw:   limitField(q.Get("til")),
		Cursor:  limitField(q.Get("side")),
	}
	var errs []fieldError
	if !citizen {
		aq.Patient = strings.ReplaceAll(limitField(q.Get("pasient")), " ", "")
		aq.Worker = strings.ReplaceAll(limitField(q.Get("helsepersonell")), " ", "")
		aq.Organisation = strings.ReplaceAll(limitField(q.Get("virksomhet")), " ", "")
		aq.Document = limitField(q.Get("dokument"))
		if aq.Patient != "" && !trust.ValidNIN(aq.Patient) {
			errs = append(errs, fieldError{"pasient", "«Pasient» må være et fødselsnummer eller D-nummer med 11 siffer."})
		}
		if aq.Worker != "" && (!isDigits(aq.Worker) || len(aq.Worker) > 11) {
			errs = append(errs, fieldError{"helsepersonell", "«Helsepersonell» må være et HPR-nummer eller et fødselsnummer (bare siffer)."})
		}
		if aq.Organisation != "" && (!isDigits(aq.Organisation) || len(aq.Organisation) > 12) {
			errs = append(errs, fieldError{"virksomhet", "«Virksomhet» må være et organisasjonsnummer (9 siffer)."})
		}
		for _, c := range aq.Document {
			if c < 0x20 || c == 0x7f {
				errs = append(errs, fieldError{"dokument", "«Dokument» inneholder ugyldige tegn."})
				break
			}
		}
	}
	from, ok := parseDate(aq.FromRaw)
	if !ok {
		errs = append(errs, fieldError{"fra", "«Fra dato» må være en dato, for eksempel 31.12.2024."})
	}
	to, ok := parseDate(aq.ToRaw)
	if !ok {
		errs = append(errs, fieldError{"til", "«Til dato» må være en dato, for eksempel 31.12.2024."})
	}
	if len(errs) == 0 && !from.IsZero() && !to.IsZero() && to.Before(from) {
		errs = append(errs, fieldError{"til", "«Til dato» kan ikke være før «Fra dato»."})
	}
	aq.filter = AuditFilter{
		Patient: aq.Patient, Worker: aq.Worker, Organisation: aq.Organisation, Document: aq.Document,
		From: from, To: endOfDay(to), Cursor: aq.Cursor, Limit: auditPageSize,
	}
	return aq, errs
}

// values encodes the search (without the cursor).
func (aq auditQuery) values() url.Values {
	v := url.Values{}
	for k, val := range map[string]string{
		"pasient": aq.Patient, "helsepersonell": aq.Worker, "virksomhet": aq.Organisation,
		"dokument": aq.Document, "fra": aq.FromRaw, "til": aq.ToRaw,
	} {
		if val != "" {
			v.Set(k, val)
		}
	}
	return v
}

type auditData struct {
	Nav     string
	Query   auditQuery
	Errors  []fieldError
	Failed  bool
	Message string
	Page    *AuditPage
	Next    string // URL of the next page
	Export  string // URL of the CSV export of this search
	Chain   *ChainStatus
	Action  string // the form's action

	// The citizen page's blocks (see citizenBlocks).
	Blocks        []CitizenBlock
	BlocksFailed  bool
	BlocksMessage string
	BlockedAll    bool   // a block of all sharing is in force
	Notice        string // the outcome of the last block form sent
}

func (d auditData) NavItem() string { return d.Nav }

// FieldError returns the message for field, if any.
func (d auditData) FieldError(field string) string {
	for _, e := range d.Errors {
		if e.Field == field {
			return e.Message
		}
	}
	return ""
}

type auditFetch func(r *http.Request, p *trust.Principal, f AuditFilter) (*AuditPage, error)

// auditPage renders a page of the access log. extra, when not nil, adds
// to the page's data and returns a status of its own; the page is sent
// with the worse of the two.
func (u *UI) auditPage(w http.ResponseWriter, r *http.Request, s *reqSession, nav, page, title, action string, citizen bool, fetch auditFetch, extra func(*auditData) int) {
	aq, errs := parseAuditQuery(r.URL.Query(), citizen)
	d := auditData{Nav: nav, Query: aq, Errors: errs, Action: action}
	extraStatus := http.StatusOK
	if extra != nil {
		extraStatus = extra(&d)
	}
	worse := func(status int) int {
		if extraStatus != http.StatusOK && (status == http.StatusOK || extraStatus >= 500) {
			return extraStatus
		}
		return status
	}
	if len(errs) > 0 {
		u.render(w, r, s, worse(http.StatusBadRequest), page, title, d)
		return
	}
	res, err := fetch(r, s.Principal, aq.filter)
	if err != nil {
		status, t, msg := describeError(err)
		if status >= 500 {
			u.log.ErrorContext(r.Context(), "ui: "+nav, "err", err)
		}
		d.Failed, d.Message = true, t+". "+msg
		u.render(w, r, s, worse(status), page, title, d)
		return
	}
	d.Page = res
	base := aq.values()
	if res.Next != "" {
		next := aq.values()
		next.Set("side", res.Next)
		d.Next = action + "?" + next.Encode()
	}
	if nav == "search" {
		d.Export = "/ui/audit/export.csv"
		if enc := base.Encode(); enc != "" {
			d.Export += "?" + enc
		}
	}
	u.render(w, r, s, worse(http.StatusOK), page, title, d)
}

// auditSearch is GET /ui/audit/: search the access log.
func (u *UI) auditSearch(w http.ResponseWriter, r *http.Request, s *reqSession) {
	u.auditPage(w, r, s, "search", "audit.html", "Søk i tilgangsloggen", "/ui/audit/", false,
		func(r *http.Request, p *trust.Principal, f AuditFilter) (*AuditPage, error) {
			return u.backend.SearchAudit(r.Context(), p, f)
		}, nil)
}

// auditFlagged is GET /ui/audit/flagged: the follow-up queue.
func (u *UI) auditFlagged(w http.ResponseWriter, r *http.Request, s *reqSession) {
	u.auditPage(w, r, s, "flagged", "flagged.html", "Tilganger til oppfølging", "/ui/audit/flagged", false,
		func(r *http.Request, p *trust.Principal, f AuditFilter) (*AuditPage, error) {
			return u.backend.FlaggedAccesses(r.Context(), p, f)
		}, nil)
}

// citizen is GET /ui/citizen/: my blocks, and who has looked at my
// documents.
func (u *UI) citizen(w http.ResponseWriter, r *http.Request, s *reqSession) {
	u.auditPage(w, r, s, "citizen", "citizen.html", "Hvem har sett dokumentene mine", "/ui/citizen/", true,
		func(r *http.Request, p *trust.Principal, f AuditFilter) (*AuditPage, error) {
			return u.backend.CitizenAccessLog(r.Context(), p, f)
		},
		func(d *auditData) int { return u.citizenBlocks(r, s, d) })
}

// auditChain is GET /ui/audit/chain: does the hash chain verify?
func (u *UI) auditChain(w http.ResponseWriter, r *http.Request, s *reqSession) {
	st, err := u.backend.VerifyAuditChain(r.Context(), s.Principal)
	d := auditData{Nav: "chain"}
	if err != nil {
		status, t, msg := describeError(err)
		if status >= 500 {
			u.log.ErrorContext(r.Context(), "ui: verifying audit chain", "err", err)
		}
		d.Failed, d.Message = true, t+". "+msg
		u.render(w, r, s, status, "chain.html", "Kontroll av tilgangsloggen", d)
		return
	}
	d.Chain = &st
	u.render(w, r, s, http.StatusOK, "chain.html", "Kontroll av tilgangsloggen", d)
}

// csvHeader names the export's columns.
var csvHeader = []string{
	"Tidspunkt", "Transaksjon", "Handling", "Utfall", "Regel", "Begrunnelse", "Merknader",
	"Helsepersonell", "HPR-nummer", "Fødselsnummer helsepersonell", "Rolle",
	"Virksomhet org.nr", "Virksomhet", "Behandlingssted", "Avdeling",
	"Pasient", "Dokumenter", "Formål", "Formålsdetaljer", "Helsetjeneste",
	"Beslutningsreferanse", "Valgt av bruker", "Attestert", "Pasientens behandlingssted",
	"Klientsystem", "Skjulte NORS-dokumenter", "Forespørsels-ID", "Post-ID",
}

func csvRow(row AuditRow) []string {
	flags := make([]string, len(row.Flags))
	for i, f := range row.Flags {
		flags[i] = string(f)
	}
	docs := make([]string, len(row.Documents))
	for i, d := range row.Documents {
		docs[i] = d.ID
	}
	ts := func(t time.Time) string {
		if t.IsZero() {
			return ""
		}
		return t.In(oslo()).Format(time.RFC3339)
	}
	codeText := func(c Code) string {
		if c.Code == "" {
			return ""
		}
		if c.Display != "" {
			return c.Code + " " + c.Display
		}
		return c.Code
	}
	yes := ""
	if row.Attestation.DecisionRef != "" {
		yes = "nei"
		if row.Attestation.UserSelected {
			yes = "ja"
		}
	}
	return []string{
		ts(row.Time), row.Transaction, row.Action, string(row.Outcome), row.Rule, row.Reason, strings.Join(flags, " "),
		row.Worker.Name, row.Worker.HPR, row.Worker.PID, codeText(row.Worker.Role),
		row.Organisation.ID, row.Organisation.Name, row.PointOfCare.Label(), row.Department.Label(),
		row.Patient, strings.Join(docs, " "), codeText(row.Purpose), codeText(row.Attestation.PurposeOfUseDetails),
		codeText(row.Attestation.HealthcareService), row.Attestation.DecisionRef, yes, ts(row.Attestation.AttestedAt),
		row.Attestation.PatientPointOfCare.Label(), row.Client, strconv.Itoa(row.HiddenNORS), row.RequestID, row.ID,
	}
}

// csvSafe neutralises a cell a spreadsheet would run as a formula
// (OWASP CSV injection): a leading =, +, -, @, tab or carriage return
// gets a leading apostrophe.
func csvSafe(s string) string {
	if s != "" && strings.ContainsRune("=+-@\t\r", rune(s[0])) {
		return "'" + s
	}
	return s
}

// auditExport is GET /ui/audit/export.csv: the current search as CSV,
// streamed.
func (u *UI) auditExport(w http.ResponseWriter, r *http.Request, s *reqSession) {
	aq, errs := parseAuditQuery(r.URL.Query(), false)
	if len(errs) > 0 {
		u.renderError(w, r, s, http.StatusBadRequest, "Ugyldig søk", errs[0].Message)
		return
	}
	f := aq.filter
	f.Cursor, f.Limit = "", 0
	started := false
	var cw *csv.Writer
	start := func() error {
		started = true
		w.Header().Set("Content-Type", "text/csv; charset=utf-8")
		w.Header().Set("Content-Disposition", contentDisposition("attachment", "tilgangslogg-"+u.now().In(oslo()).Format("20060102-1504")+".csv"))
		w.WriteHeader(http.StatusOK)
		cw = csv.NewWriter(w)
		return cw.Write(csvHeader)
	}
	err := u.backend.ExportAudit(r.Context(), s.Principal, f, func(row AuditRow) error {
		if !started {
			if err := start(); err != nil {
				return err
			}
		}
		cells := csvRow(row)
		for i := range cells {
			cells[i] = csvSafe(cells[i])
		}
		return cw.Write(cells)
	})
	if err == nil && !started {
		err = start() // no rows: the header alone
	}
	if err != nil {
		if !started {
			u.backendError(w, r, s, "exporting audit", err)
			return
		}
		u.log.ErrorContext(r.Context(), "ui: exporting audit", "err", err)
		panic(http.ErrAbortHandler) // never a silently truncated export
	}
	cw.Flush()
	if err := cw.Error(); err != nil {
		u.log.WarnContext(r.Context(), "ui: writing audit export", "err", err)
	}
}
