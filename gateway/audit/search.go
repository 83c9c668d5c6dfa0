package audit

import (
	"net/url"
	"pjd/gateway/fhir"
	"pjd/registry/oid"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"
	_ "time/tzdata" // dates without a zone are Norwegian dates, whatever the host has installed
)

// ViewerKind says who is searching the audit log.
type ViewerKind int

const (
	// ViewerCompliance is compliance staff doing follow-up control: every
	// record, every field.
	ViewerCompliance ViewerKind = iota + 1
	// ViewerCitizen is a patient reading their own access log: only
	// accesses to their own documents, without health workers' national
	// identity numbers.
	ViewerCitizen
)

// Viewer is an authenticated caller of the audit review API, as the
// gateway's trust layer established it.
type Viewer struct {
	Kind ViewerKind
	// PID is the viewer's national identity number; for a citizen it
	// selects whose log they see.
	PID          string
	Name         string
	HPR          string
	Organisation Ident
	Client       Client
	Credential   string
}

// Audience returns the rendering audience for v.
func (v Viewer) Audience() Audience {
	if v.Kind == ViewerCitizen {
		return ForCitizen
	}
	return ForCompliance
}

// SearchParams are the FHIR search parameters the review API accepts.
var SearchParams = []string{"patient", "agent", "entity-id", "event-id", "date", "outcome", "purpose", "flagged", "subtype", "_count", "_cursor", "_sort", "_format"}

var (
	ninPattern   = regexp.MustCompile(`^[0-9]{11}$`)
	hprPattern   = regexp.MustCompile(`^[0-9]{1,10}$`)
	codePattern  = regexp.MustCompile(`^[A-Za-z0-9._-]{1,32}$`)
	osloLocation = sync.OnceValue(func() *time.Location {
		if loc, err := time.LoadLocation("Europe/Oslo"); err == nil {
			return loc
		}
		return time.UTC
	})
)

// ParseSearch turns FHIR search parameters into a Filter for viewer v.
// Every problem is a *ParamError naming the parameter: unknown parameters
// and modifiers are refused (silently ignoring a filter on an audit log
// would show a compliance officer the wrong records), and a citizen may
// not ask for another patient's log or search agents by national
// identity number (ErrForbidden).
//
//	patient    national identity number, bare or system|value
//	agent      HPR number or F-/D-nr of the person who accessed, bare or system|value
//	entity-id  a document unique id
//	event-id   the correlation id (nhn-event-id) of one access, across nodes
//	date       eq (default), ge, gt, le, lt + YYYY[-MM[-DD[Thh:mm[:ss[.sss]]±zz:zz]]]; repeatable (AND)
//	outcome    0, 4, 8, 12 or permit, deny, error; comma = OR
//	purpose    purpose of use (TREAT, ETREAT, COC, BTG), bare or system|code; comma = OR
//	flagged    true: only records flagged for review
//	subtype    transaction (ITI-67, UI-VIEW …), bare or system|code; comma = OR
//	_count     page size (1–1000, default 50)
//	_cursor    continue from a previous page's next link
//	_sort      -date (newest first, default) or date
//	_format    json or application/fhir+json
func ParseSearch(q url.Values, v Viewer) (Filter, error) {
	var f Filter
	if v.Kind != ViewerCompliance && v.Kind != ViewerCitizen {
		return f, &ParamError{Param: "", Problem: "this caller may not search the audit log", Kind: ErrForbidden}
	}
	names := make([]string, 0, len(q))
	for name := range q {
		names = append(names, name)
	}
	sort.Strings(names)
	for _, name := range names {
		vals := q[name]
		if !slices.Contains(SearchParams, name) {
			if base, _, ok := strings.Cut(name, ":"); ok && slices.Contains(SearchParams, base) {
				return f, badParam(name, "modifiers are not supported")
			}
			return f, badParam(name, "unknown search parameter (supported: %s)", strings.Join(SearchParams, ", "))
		}
		if name != "date" && len(vals) > 1 {
			return f, badParam(name, "given %d times; give it once (separate alternatives with commas)", len(vals))
		}
		for _, val := range vals {
			if val == "" {
				return f, badParam(name, "empty value")
			}
			if err := f.apply(name, val, v); err != nil {
				return f, err
			}
		}
	}
	if v.Kind == ViewerCitizen {
		if v.PID == "" {
			return f, &ParamError{Param: "patient", Problem: "the citizen's identity is unknown", Kind: ErrForbidden}
		}
		if f.PatientID != "" && f.PatientID != v.PID {
			return f, forbiddenParam("patient", "a citizen may only read their own access log")
		}
		f.PatientID = v.PID
		if f.Transactions == nil {
			f.Transactions = slices.Clone(DocumentTransactions)
		} else {
			f.Transactions = slices.DeleteFunc(f.Transactions, func(t string) bool { return !slices.Contains(DocumentTransactions, t) })
		}
	}
	return f, nil
}

// splitToken splits "system|value" (system may be empty) or "value".
func splitToken(v string) (system, value string, hasSystem bool) {
	if s, val, ok := strings.Cut(v, "|"); ok {
		return s, val, true
	}
	return "", v, false
}

func (f *Filter) apply(name, val string, v Viewer) error {
	switch name {
	case "patient":
		sys, id, _ := splitToken(val)
		switch oid.Bare(sys) {
		case "", oid.FNR, oid.DNR, oid.HNR:
		default:
			return badParam(name, "system must be the F-nr, D-nr or H-nr OID")
		}
		if !ninPattern.MatchString(id) {
			return badParam(name, "must be an 11-digit national identity number")
		}
		f.PatientID = id
	case "agent":
		sys, id, _ := splitToken(val)
		switch oid.Bare(sys) {
		case oid.HPR:
			if !hprPattern.MatchString(id) {
				return badParam(name, "an HPR number has 1 to 10 digits")
			}
			f.AgentHPR = id
		case oid.FNR, oid.DNR:
			if !ninPattern.MatchString(id) {
				return badParam(name, "must be an 11-digit national identity number")
			}
			f.AgentPID = id
		case "":
			switch {
			case ninPattern.MatchString(id):
				f.AgentPID = id
			case hprPattern.MatchString(id):
				f.AgentHPR = id
			default:
				return badParam(name, "must be an HPR number or an 11-digit national identity number")
			}
		default:
			return badParam(name, "system must be the HPR, F-nr or D-nr OID")
		}
		if f.AgentPID != "" && v.Kind == ViewerCitizen {
			return forbiddenParam(name, "a citizen may search health workers by HPR number only")
		}
	case "entity-id":
		_, id, _ := splitToken(val)
		id = strings.TrimPrefix(id, "urn:oid:")
		if id == "" || len(id) > maxIDLen {
			return badParam(name, "must be a document unique id of 1 to %d characters", maxIDLen)
		}
		f.EntityID = id
	case "event-id":
		if val == "" || len(val) > maxIDLen {
			return badParam(name, "must be an event id of 1 to %d characters", maxIDLen)
		}
		f.EventID = val
	case "date":
		from, to, err := parseDateParam(val)
		if err != nil {
			return badParam(name, "%s", err.Error())
		}
		if !from.IsZero() && (f.From.IsZero() || from.After(f.From)) {
			f.From = from
		}
		if !to.IsZero() && (f.To.IsZero() || to.Before(f.To)) {
			f.To = to
		}
	case "outcome":
		f.Outcomes = []Outcome{}
		for _, o := range strings.Split(val, ",") {
			switch strings.TrimSpace(o) {
			case "0", string(OutcomePermit):
				f.Outcomes = append(f.Outcomes, OutcomePermit)
			case "4", string(OutcomeDeny):
				f.Outcomes = append(f.Outcomes, OutcomeDeny)
			case "8", string(OutcomeError):
				f.Outcomes = append(f.Outcomes, OutcomeError)
			case "12": // major failure: valid, never recorded
			default:
				return badParam(name, "%q is not one of 0, 4, 8, 12, permit, deny, error", o)
			}
		}
	case "purpose":
		f.PurposeCodes = []string{}
		for _, p := range strings.Split(val, ",") {
			sys, code, hasSys := splitToken(strings.TrimSpace(p))
			if hasSys && purposeSystem(sys) != sysActReason {
				return badParam(name, "system must be %s", sysActReason)
			}
			if !codePattern.MatchString(code) {
				return badParam(name, "%q is not a purpose-of-use code", code)
			}
			f.PurposeCodes = append(f.PurposeCodes, code)
		}
	case "flagged":
		b, err := strconv.ParseBool(val)
		if err != nil {
			return badParam(name, "must be true or false")
		}
		f.FlaggedOnly = b
	case "subtype":
		f.Transactions = []string{}
		for _, p := range strings.Split(val, ",") {
			sys, code, hasSys := splitToken(strings.TrimSpace(p))
			if hasSys && sys != sysIHEEventType && sys != SysTransaction {
				return badParam(name, "system must be %s or %s", sysIHEEventType, SysTransaction)
			}
			if !txPattern.MatchString(code) {
				return badParam(name, "%q is not a transaction code", code)
			}
			f.Transactions = append(f.Transactions, code)
		}
	case "_count":
		n, err := strconv.Atoi(val)
		if err != nil || n < 1 || n > MaxLimit {
			return badParam(name, "must be a number from 1 to %d", MaxLimit)
		}
		f.Limit = n
	case "_cursor":
		n, err := strconv.ParseInt(val, 10, 64)
		if err != nil || n < 1 {
			return badParam(name, "not a cursor from a next link")
		}
		f.Cursor = n
	case "_sort":
		switch val {
		case "date":
			f.Ascending = true
		case "-date":
			f.Ascending = false
		default:
			return badParam(name, "only date and -date are supported")
		}
	case "_format":
		switch val {
		case "json", "application/json", "application/fhir+json":
		default:
			return badParam(name, "only JSON is supported")
		}
	}
	return nil
}

// parseDateParam reads one FHIR date search value into [from, to) (a zero
// bound is open).
func parseDateParam(v string) (from, to time.Time, err error) {
	prefix := "eq"
	if len(v) >= 2 && v[0] >= 'a' && v[0] <= 'z' {
		prefix, v = v[:2], v[2:]
	}
	start, end, err := parseFHIRDateTime(v)
	if err != nil {
		return from, to, err
	}
	switch prefix {
	case "eq":
		return start, end, nil
	case "ge":
		return start, time.Time{}, nil
	case "gt":
		return end, time.Time{}, nil
	case "le":
		return time.Time{}, end, nil
	case "lt":
		return time.Time{}, start, nil
	}
	return from, to, errorString("prefix " + strconv.Quote(prefix) + " is not supported (use eq, ge, gt, le, lt)")
}

type errorString string

func (e errorString) Error() string { return string(e) }

// parseFHIRDateTime returns the interval a FHIR date or dateTime value
// covers at its precision. Values without a time are Norwegian calendar
// dates; values with a time must carry a zone.
func parseFHIRDateTime(v string) (start, end time.Time, err error) {
	oslo := osloLocation()
	for _, l := range []struct {
		layout string
		next   func(time.Time) time.Time
	}{
		{"2006", func(t time.Time) time.Time { return t.AddDate(1, 0, 0) }},
		{"2006-01", func(t time.Time) time.Time { return t.AddDate(0, 1, 0) }},
		{"2006-01-02", func(t time.Time) time.Time { return t.AddDate(0, 0, 1) }},
	} {
		if len(v) == len(l.layout) {
			t, err := time.ParseInLocation(l.layout, v, oslo)
			if err != nil {
				return start, end, errorString(strconv.Quote(v) + " is not a valid date")
			}
			return t, l.next(t), nil
		}
	}
	if len(v) > 10 && v[10] == 'T' {
		if !strings.HasSuffix(v, "Z") && !strings.ContainsAny(v[11:], "+-") {
			if strings.Contains(v, " ") {
				return start, end, errorString(strconv.Quote(v) + " has no time zone (send a '+' as %2B)")
			}
			return start, end, errorString(strconv.Quote(v) + " has a time but no time zone")
		}
		if t, err := time.Parse("2006-01-02T15:04Z07:00", v); err == nil {
			return t, t.Add(time.Minute), nil
		}
		if t, err := time.Parse(time.RFC3339Nano, v); err == nil {
			precision := time.Second
			if i := strings.IndexByte(v, '.'); i > 0 {
				digits := 0
				for _, c := range v[i+1:] {
					if c < '0' || c > '9' {
						break
					}
					digits++
				}
				precision = time.Second
				for range min(digits, 9) {
					precision /= 10
				}
			}
			return t, t.Add(max(precision, time.Millisecond)), nil
		}
	}
	return start, end, errorString(strconv.Quote(v) + " is not a FHIR date or dateTime")
}

// Bundle renders one page of search results as a FHIR searchset Bundle.
// base is the external FHIR base URL ("https://host/fhir/R4"); q the
// search parameters as received (the self link repeats them, the next
// link adds _cursor).
func Bundle(base string, q url.Values, page Page, v View) *fhir.Bundle {
	base = strings.TrimRight(base, "/")
	link := func(q url.Values) string {
		s := base + "/AuditEvent"
		if enc := q.Encode(); enc != "" {
			s += "?" + enc
		}
		return s
	}
	b := &fhir.Bundle{Base: fhir.Base{ResourceType: "Bundle"}, Type: "searchset", Link: []fhir.BundleLink{{Relation: "self", URL: link(q)}}}
	if page.Next != 0 {
		next := cloneValues(q)
		next.Set("_cursor", strconv.FormatInt(page.Next, 10))
		b.Link = append(b.Link, fhir.BundleLink{Relation: "next", URL: link(next)})
	}
	for _, r := range page.Records {
		res := fhir.R(ToAuditEvent(r, v))
		b.Entry = append(b.Entry, fhir.BundleEntry{FullURL: base + "/AuditEvent/" + r.ID, Resource: &res,
			Search: &fhir.BundleSearch{Mode: "match"}})
	}
	return b
}

func cloneValues(q url.Values) url.Values {
	out := make(url.Values, len(q))
	for k, v := range q {
		out[k] = slices.Clone(v)
	}
	return out
}
