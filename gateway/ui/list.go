package ui

import (
	"cmp"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"
)

// listQuery is the document list's filter and sort, read from the GET
// form (so it works without JavaScript).
type listQuery struct {
	Class  string // kategori: class code
	Type   string // type: type code
	Source string // kilde: source organisation id
	From   time.Time
	To     time.Time // inclusive date; the filter uses To+1 day
	Sort   string    // dato, tittel, type, kilde
	Desc   bool

	FromRaw, ToRaw string // as typed, for redisplay
}

// Sort columns and their Norwegian names.
var sortColumns = []struct{ Key, Label string }{
	{"dato", "Dato"}, {"tittel", "Tittel"}, {"type", "Dokumenttype"}, {"kilde", "Kilde"},
}

// fieldError is a bad form field, shown next to it.
type fieldError struct {
	Field   string // the input's id
	Message string
}

func parseListQuery(q url.Values) (listQuery, []fieldError) {
	lq := listQuery{
		Class:  limitField(q.Get("kategori")),
		Type:   limitField(q.Get("type")),
		Source: limitField(q.Get("kilde")),
		Sort:   q.Get("sorter"),
		Desc:   q.Get("retning") != "stigende",
	}
	var errs []fieldError
	if lq.Sort == "" {
		lq.Sort = "dato"
	}
	if !slices.ContainsFunc(sortColumns, func(c struct{ Key, Label string }) bool { return c.Key == lq.Sort }) {
		lq.Sort, lq.Desc = "dato", true
	}
	var ok bool
	lq.FromRaw = limitField(q.Get("fra"))
	if lq.From, ok = parseDate(lq.FromRaw); !ok {
		errs = append(errs, fieldError{"fra", "«Fra dato» må være en dato, for eksempel 31.12.2024."})
	}
	lq.ToRaw = limitField(q.Get("til"))
	if lq.To, ok = parseDate(lq.ToRaw); !ok {
		errs = append(errs, fieldError{"til", "«Til dato» må være en dato, for eksempel 31.12.2024."})
	}
	if len(errs) == 0 && !lq.From.IsZero() && !lq.To.IsZero() && lq.To.Before(lq.From) {
		errs = append(errs, fieldError{"til", "«Til dato» kan ikke være før «Fra dato»."})
	}
	return lq, errs
}

// limitField bounds a free-text query value.
func limitField(s string) string {
	s = strings.TrimSpace(s)
	if len(s) > 256 {
		return s[:256]
	}
	return s
}

// parseDate reads YYYY-MM-DD (what <input type=date> sends) or
// DD.MM.YYYY as the start of that day in Norway; "" is the zero time.
func parseDate(s string) (time.Time, bool) {
	if s == "" {
		return time.Time{}, true
	}
	for _, layout := range []string{"2006-01-02", "02.01.2006", "2.1.2006"} {
		if t, err := time.ParseInLocation(layout, s, oslo()); err == nil && t.Year() >= 1900 && t.Year() <= 2200 {
			return t, true
		}
	}
	return time.Time{}, false
}

// endOfDay is the exclusive end of t's day.
func endOfDay(t time.Time) time.Time {
	if t.IsZero() {
		return t
	}
	return t.AddDate(0, 0, 1)
}

// values encodes lq back into a query, minus what is at its default.
func (lq listQuery) values() url.Values {
	v := url.Values{}
	set := func(k, val string) {
		if val != "" {
			v.Set(k, val)
		}
	}
	set("kategori", lq.Class)
	set("type", lq.Type)
	set("kilde", lq.Source)
	set("fra", lq.FromRaw)
	set("til", lq.ToRaw)
	if lq.Sort != "dato" || !lq.Desc {
		v.Set("sorter", lq.Sort)
		if !lq.Desc {
			v.Set("retning", "stigende")
		}
	}
	return v
}

// Filtered reports whether any filter is set.
func (lq listQuery) Filtered() bool {
	return lq.Class != "" || lq.Type != "" || lq.Source != "" || !lq.From.IsZero() || !lq.To.IsZero()
}

type option struct {
	Value, Label string
	Selected     bool
}

type sortHeader struct {
	Key   string
	Label string
	URL   string
	Aria  string // aria-sort: ascending, descending or ""
	Arrow string
}

type listData struct {
	Patient     string
	PatientName string
	Query       listQuery
	Errors      []fieldError
	Failed      bool // the Backend refused or failed; Message says why
	Message     string
	Docs        []Document
	Total       int
	HiddenNORS  int
	Emergency   string
	Unavailable []string // regions whose documents could not be fetched now
	Classes     []option
	Types       []option
	Sources     []option
	Headers     []sortHeader
	Back        string // this list's query, for the viewer's back link
	Caption     string
}

func (listData) NavItem() string { return "list" }

// FieldError returns the message for field, if any.
func (d listData) FieldError(field string) string {
	for _, e := range d.Errors {
		if e.Field == field {
			return e.Message
		}
	}
	return ""
}

// list is GET /ui/ for a health worker: the session patient's documents.
func (u *UI) list(w http.ResponseWriter, r *http.Request, s *reqSession) {
	lq, errs := parseListQuery(r.URL.Query())
	d := listData{Patient: s.Patient, Query: lq, Errors: errs, Back: lq.values().Encode()}
	d.Headers = sortHeaders(lq)
	if len(errs) > 0 {
		u.render(w, r, s, http.StatusBadRequest, "list.html", "Journaldokumenter", d)
		return
	}
	res, err := u.backend.ListDocuments(r.Context(), s.Principal, s.Patient, ListFilter{From: lq.From, To: endOfDay(lq.To)})
	if err != nil {
		status, title, msg := describeError(err)
		if status >= 500 {
			u.log.ErrorContext(r.Context(), "ui: listing documents", "err", err)
		} else {
			u.log.InfoContext(r.Context(), "ui: listing documents refused", "err", err)
		}
		d.Failed, d.Message = true, title+". "+msg
		u.render(w, r, s, status, "list.html", "Journaldokumenter", d)
		return
	}
	d.PatientName = res.PatientName
	d.HiddenNORS = res.HiddenNORS
	d.Emergency = res.EmergencyAccess
	d.Unavailable = res.Unavailable
	d.Total = len(res.Documents)
	d.Classes, d.Types, d.Sources = facets(res.Documents, lq)
	d.Docs = applyListQuery(res.Documents, lq)
	d.Caption = caption(lq)
	u.render(w, r, s, http.StatusOK, "list.html", "Journaldokumenter", d)
}

// facets are the filter choices: the categories, types and sources that
// occur in the (unfiltered) list, by name.
func facets(docs []Document, lq listQuery) (classes, types, sources []option) {
	seen := map[string]bool{}
	add := func(list *[]option, kind, value, label, selected string) {
		if value == "" || seen[kind+"\x00"+value] {
			return
		}
		seen[kind+"\x00"+value] = true
		*list = append(*list, option{Value: value, Label: label, Selected: value == selected})
	}
	for _, d := range docs {
		add(&classes, "c", d.Class.Code, d.Class.Label(), lq.Class)
		add(&types, "t", d.Type.Code, d.Type.Label(), lq.Type)
		add(&sources, "s", d.SourceOrg.ID, d.SourceOrg.Label(), lq.Source)
	}
	byLabel := func(a, b option) int { return cmp.Compare(strings.ToLower(a.Label), strings.ToLower(b.Label)) }
	slices.SortFunc(classes, byLabel)
	slices.SortFunc(types, byLabel)
	slices.SortFunc(sources, byLabel)
	return
}

// applyListQuery filters and sorts a copy of docs.
func applyListQuery(docs []Document, lq listQuery) []Document {
	to := endOfDay(lq.To)
	out := make([]Document, 0, len(docs))
	for _, d := range docs {
		switch {
		case lq.Class != "" && d.Class.Code != lq.Class,
			lq.Type != "" && d.Type.Code != lq.Type,
			lq.Source != "" && d.SourceOrg.ID != lq.Source,
			!lq.From.IsZero() && d.Date.Before(lq.From),
			!to.IsZero() && !d.Date.Before(to):
			continue
		}
		out = append(out, d)
	}
	key := func(d Document) string {
		switch lq.Sort {
		case "tittel":
			return strings.ToLower(d.Title)
		case "type":
			return strings.ToLower(d.Type.Label())
		case "kilde":
			return strings.ToLower(d.SourceOrg.Label() + "\x00" + d.SourceDepartment.Label())
		}
		return ""
	}
	slices.SortStableFunc(out, func(a, b Document) int {
		c := 0
		if lq.Sort != "dato" {
			c = cmp.Compare(key(a), key(b))
		} else {
			c = a.Date.Compare(b.Date)
		}
		if lq.Desc {
			c = -c
		}
		if c == 0 && lq.Sort != "dato" {
			c = b.Date.Compare(a.Date) // then newest first
		}
		return c
	})
	return out
}

func sortHeaders(lq listQuery) []sortHeader {
	var hs []sortHeader
	for _, c := range sortColumns {
		q := lq
		h := sortHeader{Key: c.Key, Label: c.Label}
		if lq.Sort == c.Key {
			q.Desc = !lq.Desc
			if lq.Desc {
				h.Aria, h.Arrow = "descending", "▼"
			} else {
				h.Aria, h.Arrow = "ascending", "▲"
			}
		} else {
			q.Sort = c.Key
			q.Desc = c.Key == "dato" // dates newest first, text A–Å
		}
		h.URL = "/ui/?" + q.values().Encode()
		hs = append(hs, h)
	}
	return hs
}

func caption(lq listQuery) string {
	order := map[string][2]string{
		"dato":   {"eldste først", "nyeste først"},
		"tittel": {"sortert på tittel A–Å", "sortert på tittel Å–A"},
		"type":   {"sortert på dokumenttype A–Å", "sortert på dokumenttype Å–A"},
		"kilde":  {"sortert på kilde A–Å", "sortert på kilde Å–A"},
	}[lq.Sort]
	i := 0
	if lq.Desc {
		i = 1
	}
	return "Pasientens journaldokumenter, " + order[i]
}
