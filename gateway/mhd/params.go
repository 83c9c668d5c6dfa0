package mhd

import (
	"net/http"
	"net/url"
	"sort"
	"strconv"
	"strings"

	"pjd/gateway/fhir"
	"pjd/registry"
	"pjd/registry/oid"
)

// FHIR search parameter syntax shared by ITI-67 and ITI-66: names with
// modifiers, comma-separated OR lists with FHIR escaping, tokens, dates
// with prefixes, strings; and the patient, which comes from
// patient.identifier or the nhn-patient-nin header.

// Paging bounds.
const (
	DefaultCount = 100
	MaxCount     = 1000
	// maxValues bounds how many values (repeats × OR alternatives) one
	// parameter may carry, so a request cannot make matching expensive.
	maxValues = 100
	// maxValueLen bounds one parameter value.
	maxValueLen = 1024
)

// HeaderPatientNIN carries the patient's national identity number in the
// PJD consumer API (reference/norway.md).
const HeaderPatientNIN = "nhn-patient-nin"

// splitOr splits a parameter value into its comma-separated alternatives
// and undoes the FHIR escapes (\, \| \$ \\). ok is false for a dangling
// escape. The returned alternatives keep "\|" as a marker (0x00) so that
// token splitting can tell an escaped bar from a separator.
func splitOr(v string) (alts []string, ok bool) {
	var b strings.Builder
	for i := 0; i < len(v); i++ {
		c := v[i]
		switch c {
		case '\\':
			if i+1 >= len(v) {
				return nil, false
			}
			i++
			switch v[i] {
			case ',', '$', '\\':
				b.WriteByte(v[i])
			case '|':
				b.WriteByte(0)
			default:
				return nil, false
			}
		case ',':
			alts = append(alts, b.String())
			b.Reset()
		case 0:
			return nil, false
		default:
			b.WriteByte(c)
		}
	}
	return append(alts, b.String()), true
}

// token is a FHIR token value: [system|]code.
type token struct {
	System    string
	HasSystem bool
	Code      string
}

func parseToken(alt string) token {
	sys, code, found := strings.Cut(alt, "|")
	if !found {
		return token{Code: unbar(alt)}
	}
	return token{System: unbar(sys), HasSystem: true, Code: unbar(code)}
}

func unbar(s string) string { return strings.ReplaceAll(s, "\x00", "|") }

// matchCode reports whether the token matches an XDS code.
func (t token) matchCode(c registry.Code) bool {
	switch {
	case !t.HasSystem:
		return c.Code == t.Code
	case t.System == "":
		return c.Scheme == "" && c.Code == t.Code
	case t.Code == "":
		return fhir.SchemeFor(fhir.SystemFor(c.Scheme)) == fhir.SchemeFor(t.System)
	}
	return c.Code == t.Code && fhir.SchemeFor(fhir.SystemFor(c.Scheme)) == fhir.SchemeFor(t.System)
}

// dbCode is the registry.Code a token stands for in a store CodeSet; ok is
// false when a CodeSet cannot express it (system only, or explicitly no
// system).
func (t token) dbCode() (registry.Code, bool) {
	switch {
	case !t.HasSystem:
		return registry.Code{Code: t.Code}, true
	case t.System == "" || t.Code == "":
		return registry.Code{}, false
	}
	return registry.Code{Code: t.Code, Scheme: fhir.SchemeFor(t.System)}, true
}

// codeCond is one parameter occurrence: OR over its tokens.
type codeCond []token

// readFirstParams reads what every search reads first: the patient (from
// the query or header h), _count, _page and _format.
func (p *parser) readFirstParams(h http.Header) {
	p.patient(h)
	p.count()
	p.page()
	p.format()
}

// search runs what every search does after readFirstParams and status:
// it calls param with every other parameter (its name as given, base name
// and modifier) in a stable order, and returns the Common part, or the
// *Error reporting every bad parameter.
func (p *parser) search(param func(name, base, mod string)) (Common, error) {
	for _, name := range p.names() {
		base, mod, _ := strings.Cut(name, ":")
		if !p.readFirst(name, base, mod) {
			param(name, base, mod)
		}
	}
	if err := p.e.err(); err != nil {
		return Common{}, err
	}
	return p.common, nil
}

// conds are the Match conditions of a search on one kind of object: every
// one must hold.
type conds[T any] []func(T) bool

func (c *conds[T]) add(cond func(T) bool) { *c = append(*c, cond) }

// match reports whether x is the search's patient's (patientID is x's)
// and meets every condition.
func (c conds[T]) match(s *Common, patientID string, x T) bool {
	if s.Patient.IsZero() || patientID != s.Patient.CX() {
		return false
	}
	for _, cond := range c {
		if !cond(x) {
			return false
		}
	}
	return true
}

// readFirst reports whether parameter name (base and modifier mod) is one
// that every search reads before the others: the patient (checked by
// patient), status, _count, _page, _format and _pretty; a modifier on one
// of them is reported here.
func (p *parser) readFirst(name, base, mod string) bool {
	switch base {
	case "patient.identifier", "status", "_count", "_page", "_format", "_pretty":
		if mod != "" {
			p.unsupported(name, "parameter %s: modifier :%s is not supported", base, mod)
		}
		return true
	case "patient":
		return true // reported by patient()
	}
	return strings.HasPrefix(base, "patient.")
}

// identifierUIDs reads one occurrence of an identifier parameter (tokens
// of system urn:ietf:rfc:3986 or none, each an entryUUID or a uniqueId):
// uids are the uniqueIds given as urn:oid:<OID>, allOID whether every
// token is one. ok is false, and the parameter reported, when a token has
// another system.
func (cc codeCond) identifierUIDs(p *parser, name string) (uids []string, allOID, ok bool) {
	allOID = true
	for _, t := range cc {
		if t.HasSystem && t.System != SystemURI {
			p.bad(name, "parameter identifier: system must be %s (or none)", SystemURI)
			return nil, false, false
		}
		if u, isOID := strings.CutPrefix(t.Code, "urn:oid:"); isOID {
			uids = append(uids, u)
		} else {
			allOID = false
		}
	}
	return uids, allOID, true
}

// namesObject reports whether a token names the object with entryUUID id
// and uniqueId uid.
func (cc codeCond) namesObject(id, uid string) bool {
	for _, t := range cc {
		if t.Code == id || t.Code == uid || t.Code == uniqueIDValue(uid) {
			return true
		}
	}
	return false
}

func (cc codeCond) match(codes ...registry.Code) bool {
	for _, t := range cc {
		for _, c := range codes {
			if t.matchCode(c) {
				return true
			}
		}
	}
	return false
}

// codeSet is the store CodeSet for the occurrence; ok false when one of its
// alternatives cannot be expressed (then the store is not asked to filter
// on it and only Match applies it).
func (cc codeCond) codeSet() (registry.CodeSet, bool) {
	set := make(registry.CodeSet, 0, len(cc))
	for _, t := range cc {
		c, ok := t.dbCode()
		if !ok {
			if t.HasSystem && t.System == "" {
				continue // matches no registered code (every code has a scheme)
			}
			return nil, false
		}
		set = append(set, c)
	}
	return set, true
}

// Date prefixes (FHIR search.html#prefix). ap is not supported.
var datePrefixes = []string{"eq", "ne", "gt", "lt", "ge", "le", "sa", "eb"}

// dateCond is one date alternative: prefix and the range [lo, hi) the
// value stands for, as 14-digit UTC DTMs ("" for hi beyond year 9999).
type dateCond struct {
	prefix string
	lo, hi string
}

func parseDate(alt string) (dateCond, bool) {
	prefix := "eq"
	if len(alt) >= 2 && alt[0] >= 'a' && alt[0] <= 'z' {
		prefix = alt[:2]
		alt = alt[2:]
		known := false
		for _, p := range datePrefixes {
			known = known || p == prefix
		}
		if !known {
			return dateCond{}, false
		}
	}
	ft, err := parseFHIRTime(alt, true)
	if err != nil {
		return dateCond{}, false
	}
	lo := timeToDTM(ft.t)
	if lo == "" {
		return dateCond{}, false
	}
	return dateCond{prefix: prefix, lo: lo, hi: timeToDTM(ft.end())}, true
}

// before reports a < b for 14-digit DTMs where "" is +infinity.
func before(a, b string) bool {
	if b == "" {
		return a != ""
	}
	if a == "" {
		return false
	}
	return a < b
}

// match applies the FHIR prefix semantics to a target range [s, e] (a
// point when s == e): eq the search range contains the target, ne it does
// not, gt/lt the range above/below the search value overlaps the target,
// sa/eb the target lies wholly above/below. ge/le: the target reaches into
// the search value or beyond it (e ≥ start, s < end) — for a point the
// same as FHIR's "gt/lt or eq", and for a period the overlap MHD means by
// period=ge… (a period that ends within the searched day is found by
// ge<that day>, as common FHIR servers do).
func (d dateCond) match(s, e string) bool {
	eq := !before(s, d.lo) && before(e, d.hi)
	switch d.prefix {
	case "eq":
		return eq
	case "ne":
		return !eq
	case "gt":
		return !before(e, d.hi)
	case "lt":
		return before(s, d.lo)
	case "ge":
		return !before(e, d.lo)
	case "le":
		return before(s, d.hi)
	case "sa":
		return !before(s, d.hi)
	case "eb":
		return before(e, d.lo)
	}
	return false
}

// dbRange is the store TimeRange (From ≤ t < To) equal to the condition
// for point targets; ok false for ne.
func (d dateCond) dbRange() (registry.TimeRange, bool) {
	switch d.prefix {
	case "eq":
		return registry.TimeRange{From: d.lo, To: d.hi}, true
	case "gt", "sa":
		if d.hi == "" { // nothing lies beyond year 9999
			return registry.TimeRange{From: "99999999999999", To: "00000000000000"}, true
		}
		return registry.TimeRange{From: d.hi}, true
	case "ge":
		return registry.TimeRange{From: d.lo}, true
	case "lt", "eb":
		return registry.TimeRange{To: d.lo}, true
	case "le":
		return registry.TimeRange{To: d.hi}, true
	}
	return registry.TimeRange{}, false
}

// dateConds is AND over parameter occurrences of OR over alternatives.
type dateConds [][]dateCond

func (dc dateConds) matchPoint(dtm string) bool {
	if len(dc) == 0 {
		return true
	}
	if !validDTM(dtm) {
		return false
	}
	t := normDTM(dtm)
	return dc.matchRange(t, t)
}

func (dc dateConds) matchRange(s, e string) bool {
	for _, or := range dc {
		ok := false
		for _, d := range or {
			ok = ok || d.match(s, e)
		}
		if !ok {
			return false
		}
	}
	return true
}

// dbRange intersects the occurrences that have a single alternative
// expressible as a TimeRange; the others are left to Match.
func (dc dateConds) dbRange() registry.TimeRange {
	var r registry.TimeRange
	for _, or := range dc {
		if len(or) != 1 {
			continue
		}
		x, ok := or[0].dbRange()
		if !ok {
			continue
		}
		if x.From != "" && (r.From == "" || x.From > r.From) {
			r.From = x.From
		}
		if x.To != "" && (r.To == "" || x.To < r.To) {
			r.To = x.To
		}
	}
	return r
}

// stringCond is one string parameter alternative with its modifier.
type stringCond struct {
	value    string
	modifier string // "", "exact" or "contains"
}

func (s stringCond) match(v string) bool {
	switch s.modifier {
	case "exact":
		return v == s.value
	case "contains":
		return strings.Contains(strings.ToLower(v), strings.ToLower(s.value))
	}
	return strings.HasPrefix(strings.ToLower(v), strings.ToLower(s.value))
}

type stringConds [][]stringCond

func (sc stringConds) match(values ...string) bool {
	for _, or := range sc {
		ok := false
		for _, c := range or {
			for _, v := range values {
				ok = ok || c.match(v)
			}
		}
		if !ok {
			return false
		}
	}
	return true
}

// nameConds are author/source name conditions; each occurrence may be met
// by a different author (FHIR chaining).
type nameConds struct {
	given, family stringConds
}

func (n nameConds) empty() bool { return len(n.given) == 0 && len(n.family) == 0 }

func (n nameConds) match(authors []registry.Author) bool {
	if n.empty() {
		return true
	}
	check := func(sc stringConds, pick func(registry.XCN) []string) bool {
		for _, or := range sc {
			found := false
			for _, a := range authors {
				if a.Person == "" {
					continue
				}
				if (stringConds{or}).match(pick(readXCN(a.Person))...) {
					found = true
					break
				}
			}
			if !found {
				return false
			}
		}
		return true
	}
	return check(n.family, func(x registry.XCN) []string { return []string{x.FamilyName} }) &&
		check(n.given, func(x registry.XCN) []string { return []string{x.GivenName, x.FurtherGivenNames} })
}

// likePatterns are store AuthorPersons LIKE patterns that select a superset
// of what the name conditions match. Stores compare LIKE case-sensitively
// (PostgreSQL) or fold ASCII only (SQLite) while FHIR string search folds
// case, so patterns are made only from :exact values; otherwise nil (Match
// does the work).
func (n nameConds) likePatterns() []string {
	pick := func(sc stringConds) ([]string, bool) {
		if len(sc) == 0 {
			return []string{""}, true
		}
		var out []string
		for _, c := range sc[0] {
			if c.modifier != "exact" {
				return nil, false
			}
			out = append(out, registry.HL7Escape(c.value))
		}
		return out, true
	}
	fam, ok1 := pick(n.family)
	giv, ok2 := pick(n.given)
	if !ok1 || !ok2 || n.empty() || len(fam)*len(giv) > 16 {
		return nil
	}
	var pats []string
	for _, f := range fam {
		for _, g := range giv {
			switch {
			case g == "":
				pats = append(pats, "%^"+f+"^%")
			case f == "":
				pats = append(pats, "%^"+g+"^%")
			default:
				pats = append(pats, "%^"+f+"^"+g+"^%")
			}
		}
	}
	return pats
}

// PatientID is the one patient a search is about.
type PatientID struct {
	ID  string // the national identity number
	OID string // F-nr, D-nr or H-nr assigning authority
}

// CX is the XDS patientId: id^^^&OID&ISO.
func (p PatientID) CX() string {
	if p.ID == "" {
		return ""
	}
	return registry.NewPatientCX(p.ID, p.OID).String()
}

// IsZero reports whether no patient is set.
func (p PatientID) IsZero() bool { return p.ID == "" }

// Common is what every search carries besides its filter: the patient,
// paging and output options.
type Common struct {
	Patient PatientID
	// Count is the page size (_count, default DefaultCount).
	Count int
	// Page is the raw _page token; Offset is where the page starts, set
	// by Resume.
	Page   string
	Offset int
	Pretty bool

	resource string     // "DocumentReference" or "List"
	params   url.Values // the filtering parameters, as given (no patient, paging or format)
	resumed  bool
}

// ready fails closed when the search has no patient: a _page token not
// yet resumed (Pager.Resume). The store filters check it first.
func (c *Common) ready() error {
	if c.Patient.IsZero() || (c.Page != "" && !c.resumed) {
		return ErrPageNotResumed
	}
	return nil
}

// parser validates one search request.
type parser struct {
	e      errs
	q      url.Values
	common Common
	seen   map[string]bool
}

func newParser(resource string, q url.Values) *parser {
	return &parser{q: q, common: Common{Count: DefaultCount, resource: resource, params: url.Values{}}, seen: map[string]bool{}}
}

func (p *parser) bad(expr, format string, args ...any) {
	if !p.e.full() {
		p.e.add(http.StatusBadRequest, fhir.IssueValue, expr, format, args...)
	}
}

// names returns the parameter names in a stable order.
func (p *parser) names() []string {
	names := make([]string, 0, len(p.q))
	for k := range p.q {
		names = append(names, k)
	}
	sort.Strings(names)
	return names
}

// alts splits every occurrence of a parameter into its alternatives,
// checking the bounds; nil after reporting an error.
func (p *parser) alts(name string) [][]string {
	var out [][]string
	n := 0
	for _, v := range p.q[name] {
		if len(v) > maxValueLen {
			p.bad(name, "parameter %s: value longer than %d characters", name, maxValueLen)
			return nil
		}
		a, ok := splitOr(v)
		if !ok {
			p.bad(name, "parameter %s: bad escape sequence", name)
			return nil
		}
		for _, x := range a {
			if x == "" {
				p.bad(name, "parameter %s: empty value", name)
				return nil
			}
		}
		n += len(a)
		if n > maxValues {
			p.bad(name, "parameter %s: more than %d values", name, maxValues)
			return nil
		}
		out = append(out, a)
	}
	p.common.params[name] = p.q[name]
	return out
}

// noModifier rejects a modifier on a parameter that takes none.
func (p *parser) noModifier(name, mod string) bool {
	if mod != "" {
		p.unsupported(name, "parameter %s: modifier :%s is not supported", name, mod)
		return false
	}
	return true
}

func (p *parser) unsupported(expr, format string, args ...any) {
	if !p.e.full() {
		p.e.add(http.StatusBadRequest, fhir.IssueNotSupported, expr, format, args...)
	}
}

// plainCodes is codes for a parameter that takes no modifier; nil (after
// reporting it) when mod is one.
func (p *parser) plainCodes(name, mod string) []codeCond {
	if !p.noModifier(name, mod) {
		return nil
	}
	return p.codes(name)
}

// plainDates is dates for a parameter that takes no modifier.
func (p *parser) plainDates(name, mod string) dateConds {
	if !p.noModifier(name, mod) {
		return nil
	}
	return p.dates(name)
}

// identifiers handles identifier, on the objects' uniqueId or entryUUID
// (system urn:ietf:rfc:3986 or none): the store gets the first
// occurrence's uniqueIds when all of them are OIDs (setUIDs), and every
// occurrence becomes a Match condition (match).
func (p *parser) identifiers(name string, setUIDs func([]string), match func(codeCond)) {
	for i, cc := range p.codes(name) {
		uids, allOID, ok := cc.identifierUIDs(p, name)
		if !ok {
			return
		}
		if i == 0 && allOID {
			setUIDs(uids)
		}
		match(cc)
	}
}

// codes parses a token parameter into its occurrences.
func (p *parser) codes(name string) []codeCond {
	var out []codeCond
	for _, occ := range p.alts(name) {
		var cc codeCond
		for _, a := range occ {
			t := parseToken(a)
			if t.HasSystem && t.System == "" && t.Code == "" {
				p.bad(name, "parameter %s: token %q has neither system nor code", name, a)
				return nil
			}
			cc = append(cc, t)
		}
		out = append(out, cc)
	}
	return out
}

func (p *parser) dates(name string) dateConds {
	var out dateConds
	for _, occ := range p.alts(name) {
		var or []dateCond
		for _, a := range occ {
			if strings.HasPrefix(a, "ap") {
				p.unsupported(name, "parameter %s: prefix ap is not supported", name)
				return nil
			}
			d, ok := parseDate(a)
			if !ok {
				p.bad(name, "parameter %s: %q is not a [prefix]date (prefixes eq ne gt lt ge le sa eb; YYYY[-MM[-DD[Thh:mm[:ss][zone]]]])", name, a)
				return nil
			}
			or = append(or, d)
		}
		out = append(out, or)
	}
	return out
}

func (p *parser) strings(name, mod string) stringConds {
	if mod != "" && mod != "exact" && mod != "contains" {
		p.unsupported(name+":"+mod, "parameter %s: modifier :%s is not supported (use :exact or :contains)", name, mod)
		return nil
	}
	var out stringConds
	for _, occ := range p.alts(name + modSuffix(mod)) {
		var or []stringCond
		for _, a := range occ {
			or = append(or, stringCond{value: unbar(a), modifier: mod})
		}
		out = append(out, or)
	}
	return out
}

func modSuffix(mod string) string {
	if mod == "" {
		return ""
	}
	return ":" + mod
}

// statuses parses status: current → Approved, superseded (and, for List,
// retired) → Deprecated, entered-in-error → nothing pjd keeps. Default
// current.
func (p *parser) statuses(name string, list bool) ([]string, bool) {
	occ := p.codes(name)
	if len(occ) == 0 {
		return []string{registry.StatusApproved}, false
	}
	var result []string
	for i, cc := range occ {
		var set []string
		for _, t := range cc {
			if t.HasSystem && t.System != "" && t.System != "http://hl7.org/fhir/document-reference-status" && t.System != "http://hl7.org/fhir/list-status" {
				p.bad(name, "parameter %s: give the status code without a system", name)
				return nil, true
			}
			switch {
			case t.Code == "current":
				set = append(set, registry.StatusApproved)
			case t.Code == "superseded" || (list && t.Code == "retired"):
				set = append(set, registry.StatusDeprecated)
			case t.Code == "entered-in-error":
			default:
				p.bad(name, "parameter %s: unknown status %q (current, superseded%s, entered-in-error)", name, t.Code, map[bool]string{true: ", retired"}[list])
				return nil, true
			}
		}
		if i == 0 {
			result = set
		} else { // repeated: AND
			result = intersect(result, set)
		}
	}
	if result == nil {
		result = []string{}
	}
	return result, true
}

func intersect(a, b []string) []string {
	out := []string{}
	for _, x := range a {
		for _, y := range b {
			if x == y {
				out = append(out, x)
				break
			}
		}
	}
	return out
}

// count parses _count.
func (p *parser) count() {
	vs := p.q["_count"]
	if len(vs) == 0 {
		return
	}
	if len(vs) > 1 {
		p.bad("_count", "parameter _count: given more than once")
		return
	}
	n, err := strconv.Atoi(vs[0])
	if err != nil || n < 0 || n > MaxCount {
		p.bad("_count", "parameter _count: must be an integer from 0 to %d", MaxCount)
		return
	}
	p.common.Count = n
}

func (p *parser) page() {
	vs := p.q["_page"]
	if len(vs) == 0 {
		return
	}
	if len(vs) > 1 || vs[0] == "" || len(vs[0]) > 4096 {
		p.bad("_page", "parameter _page: one page token expected")
		return
	}
	p.common.Page = vs[0]
}

func (p *parser) format() {
	for _, v := range p.q["_format"] {
		mt, _, _ := strings.Cut(v, ";")
		switch strings.TrimSpace(strings.ToLower(mt)) {
		case "json", "application/json", "application/fhir+json":
		default:
			if !p.e.full() {
				p.e.add(http.StatusNotAcceptable, fhir.IssueNotSupported, "_format", "parameter _format: only JSON (application/fhir+json) is served")
			}
		}
	}
	switch vs := p.q["_pretty"]; {
	case len(vs) == 0:
	case len(vs) == 1 && (vs[0] == "true" || vs[0] == "false"):
		p.common.Pretty = vs[0] == "true"
	default:
		p.bad("_pretty", "parameter _pretty: true or false")
	}
}

// patient takes the patient from patient.identifier and/or the
// nhn-patient-nin header: exactly one patient, the same in both when both
// are given. A missing patient is an error unless a _page token (which
// carries it) is given.
func (p *parser) patient(h http.Header) {
	var fromQuery, fromHeader PatientID
	if vs, ok := p.q["patient.identifier"]; ok {
		switch {
		case len(vs) != 1 || strings.Contains(strings.ReplaceAll(vs[0], `\,`, ""), ","):
			p.bad("patient.identifier", "parameter patient.identifier: exactly one patient per request")
		default:
			alts, ok := splitOr(vs[0])
			if !ok || len(alts) != 1 {
				p.bad("patient.identifier", "parameter patient.identifier: bad escape sequence")
				break
			}
			t := parseToken(alts[0])
			system := strings.TrimPrefix(t.System, "urn:oid:")
			if _, known := personOIDs[system]; !t.HasSystem || !strings.HasPrefix(t.System, "urn:oid:") || !known {
				p.bad("patient.identifier", "parameter patient.identifier: system must be urn:oid:%s (F-nr), urn:oid:%s (D-nr) or urn:oid:%s (H-nr)", oid.FNR, oid.DNR, oid.HNR)
				break
			}
			if !registry.NorwegianIDCheckDigitsValid(t.Code) {
				p.bad("patient.identifier", "parameter patient.identifier: not a valid %s (11 digits with valid check digits)", personOIDs[system])
				break
			}
			fromQuery = PatientID{ID: t.Code, OID: system}
		}
	}
	for name := range p.q {
		if name == "patient" || strings.HasPrefix(name, "patient:") || (strings.HasPrefix(name, "patient.") && name != "patient.identifier") {
			p.unsupported(name, "parameter %s is not supported: give the patient as patient.identifier=urn:oid:%s|<F-nr> or in the %s header", name, oid.FNR, HeaderPatientNIN)
		}
	}
	if h != nil {
		if vs := h.Values(HeaderPatientNIN); len(vs) > 0 {
			v := strings.TrimSpace(vs[0])
			switch {
			case len(vs) != 1:
				p.bad(HeaderPatientNIN, "header %s: exactly one patient per request", HeaderPatientNIN)
			case !registry.NorwegianIDCheckDigitsValid(v):
				p.bad(HeaderPatientNIN, "header %s: not a valid national identity number (11 digits with valid check digits)", HeaderPatientNIN)
			default:
				fromHeader = PatientID{ID: v, OID: oid.NationalID(v)}
			}
		}
	}
	switch {
	case !fromQuery.IsZero() && !fromHeader.IsZero() && fromQuery != fromHeader:
		if !p.e.full() {
			p.e.add(http.StatusBadRequest, fhir.IssueInvalid, "patient.identifier", "patient.identifier and the %s header name different patients: exactly one patient per request", HeaderPatientNIN)
		}
	case !fromQuery.IsZero():
		p.common.Patient = fromQuery
	case !fromHeader.IsZero():
		p.common.Patient = fromHeader
	case p.q.Has("patient.identifier") || (h != nil && len(h.Values(HeaderPatientNIN)) > 0):
		// already reported
	case p.q.Has("_page"):
		// the page token carries the patient
	default:
		if !p.e.full() {
			p.e.add(http.StatusBadRequest, fhir.IssueRequired, "patient.identifier", "a patient is required: patient.identifier=urn:oid:%s|<F-nr> or the %s header", oid.FNR, HeaderPatientNIN)
		}
	}
}
