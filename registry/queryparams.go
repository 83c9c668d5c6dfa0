package registry

import (
	"errors"
	"fmt"
	"sort"
	"strings"
	"unicode/utf8"
)

// ITI-18 stored-query parameter names (reference/stored_queries.md).
const (
	ParamDocumentEntryPatientID            = "$XDSDocumentEntryPatientId"
	ParamDocumentEntryClassCode            = "$XDSDocumentEntryClassCode"
	ParamDocumentEntryTypeCode             = "$XDSDocumentEntryTypeCode"
	ParamDocumentEntryPracticeSettingCode  = "$XDSDocumentEntryPracticeSettingCode"
	ParamDocumentEntryCreationTimeFrom     = "$XDSDocumentEntryCreationTimeFrom"
	ParamDocumentEntryCreationTimeTo       = "$XDSDocumentEntryCreationTimeTo"
	ParamDocumentEntryServiceStartTimeFrom = "$XDSDocumentEntryServiceStartTimeFrom"
	ParamDocumentEntryServiceStartTimeTo   = "$XDSDocumentEntryServiceStartTimeTo"
	ParamDocumentEntryServiceStopTimeFrom  = "$XDSDocumentEntryServiceStopTimeFrom"
	ParamDocumentEntryServiceStopTimeTo    = "$XDSDocumentEntryServiceStopTimeTo"
	ParamDocumentEntryFacilityTypeCode     = "$XDSDocumentEntryHealthcareFacilityTypeCode"
	ParamDocumentEntryEventCodeList        = "$XDSDocumentEntryEventCodeList"
	ParamDocumentEntryConfidentialityCode  = "$XDSDocumentEntryConfidentialityCode"
	ParamDocumentEntryAuthorPerson         = "$XDSDocumentEntryAuthorPerson"
	ParamDocumentEntryFormatCode           = "$XDSDocumentEntryFormatCode"
	ParamDocumentEntryStatus               = "$XDSDocumentEntryStatus"
	ParamDocumentEntryType                 = "$XDSDocumentEntryType"
	ParamDocumentEntryReferenceIDList      = "$XDSDocumentEntryReferenceIdList"
	ParamDocumentEntryEntryUUID            = "$XDSDocumentEntryEntryUUID"
	ParamDocumentEntryUniqueID             = "$XDSDocumentEntryUniqueId"
	ParamDocumentEntryLogicalID            = "$XDSDocumentEntryLogicalID"

	ParamSubmissionSetPatientID          = "$XDSSubmissionSetPatientId"
	ParamSubmissionSetSourceID           = "$XDSSubmissionSetSourceId"
	ParamSubmissionSetSubmissionTimeFrom = "$XDSSubmissionSetSubmissionTimeFrom"
	ParamSubmissionSetSubmissionTimeTo   = "$XDSSubmissionSetSubmissionTimeTo"
	ParamSubmissionSetAuthorPerson       = "$XDSSubmissionSetAuthorPerson"
	ParamSubmissionSetContentType        = "$XDSSubmissionSetContentType"
	ParamSubmissionSetStatus             = "$XDSSubmissionSetStatus"
	ParamSubmissionSetEntryUUID          = "$XDSSubmissionSetEntryUUID"
	ParamSubmissionSetUniqueID           = "$XDSSubmissionSetUniqueId"

	ParamFolderPatientID          = "$XDSFolderPatientId"
	ParamFolderLastUpdateTimeFrom = "$XDSFolderLastUpdateTimeFrom"
	ParamFolderLastUpdateTimeTo   = "$XDSFolderLastUpdateTimeTo"
	ParamFolderCodeList           = "$XDSFolderCodeList"
	ParamFolderStatus             = "$XDSFolderStatus"
	ParamFolderEntryUUID          = "$XDSFolderEntryUUID"
	ParamFolderUniqueID           = "$XDSFolderUniqueId"
	ParamFolderLogicalID          = "$XDSFolderLogicalID"

	ParamPatientID        = "$patientId"
	ParamUUID             = "$uuid"
	ParamAssociationTypes = "$AssociationTypes"
	ParamMetadataLevel    = "$MetadataLevel"
)

// MaxParamValues bounds the values of one query parameter (all its slots
// together). IHE sets no limit; this one keeps every filter far below the
// bound-parameter limits of the databases (SQLite 32766, PostgreSQL 65535)
// and a request's cost bounded. More values → XDSRegistryError.
const MaxParamValues = 1000

// statusPrefix: status values are full URNs (NIST checks the prefix; IPF
// also decodes the bare words, which we do not accept).
const statusPrefix = "urn:oasis:names:tc:ebxml-regrep:StatusType:"

// responseStatusPrefix is what the ITI-51 sample writes by mistake for
// statusPrefix.
const responseStatusPrefix = "urn:oasis:names:tc:ebxml-regrep:ResponseStatusType:"

// errParamNumber marks a single-valued parameter given a list of several
// values (XDSStoredQueryParamNumber rather than a syntax error).
var errParamNumber = errors.New("several values for a single-valued parameter")

// Value syntax (ITI TF-2 3.18.4.1.2.3.5, ebRS 3.0 6.3.2.1):
//   - a string is in single quotes, a quote inside it doubled ('O''Brien');
//   - a multi-valued parameter is a list in parentheses, ('a','b'), that
//     may span lines and hold any whitespace between items, and may be
//     split over several Value elements of one Slot (all OR-ed);
//   - times and numbers may be unquoted (20221016161616) or quoted
//     (CP-ITI-1260).
// Leniencies, each as IPF's QuerySlotHelper: an unquoted item is taken
// as written; a single quoted value without parentheses is accepted for a
// multi-valued parameter (a one-item list); a one-item list is accepted
// for a single-valued parameter. A single value that is not a well-formed
// quoted string is taken literally, with '' read as ' (IPF decodeString):
// so the injection-like value of IPF's iti18request.xml yields exactly one
// value, which then fails as a patient id instead of being split or
// executed — values only ever reach the store as bound parameters.

// splitList splits one raw slot value into its items: a parenthesised list
// or a bare sequence of comma-separated (quoted or unquoted) items.
func splitList(raw string) ([]string, error) {
	s := strings.TrimSpace(raw)
	if strings.HasPrefix(s, "(") {
		if !strings.HasSuffix(s, ")") {
			return nil, errors.New("list opened with ( is not closed with )")
		}
		s = s[1 : len(s)-1]
	} else if strings.HasSuffix(s, ")") && !strings.HasPrefix(s, "'") {
		return nil, errors.New("list closed with ) is not opened with (")
	}
	var items []string
	i := 0
	skipSpace := func() {
		for i < len(s) && isSpace(s[i]) {
			i++
		}
	}
	for {
		skipSpace()
		if i == len(s) {
			if len(items) == 0 {
				return nil, errors.New("no value")
			}
			return nil, errors.New("empty item after a comma")
		}
		if s[i] == '\'' {
			var b strings.Builder
			i++
			closed := false
			for i < len(s) {
				if s[i] == '\'' {
					if i+1 < len(s) && s[i+1] == '\'' {
						b.WriteByte('\'')
						i += 2
						continue
					}
					i++
					closed = true
					break
				}
				b.WriteByte(s[i])
				i++
			}
			if !closed {
				return nil, errors.New("quoted string is not closed")
			}
			items = append(items, b.String())
		} else {
			start := i
			for i < len(s) && s[i] != ',' {
				if s[i] == '\'' || s[i] == '(' || s[i] == ')' {
					return nil, fmt.Errorf("unexpected %q in an unquoted value", s[i])
				}
				i++
			}
			item := strings.TrimSpace(s[start:i])
			if item == "" {
				return nil, errors.New("empty item")
			}
			items = append(items, item)
		}
		skipSpace()
		if i == len(s) {
			return items, nil
		}
		if s[i] != ',' {
			return nil, fmt.Errorf("expected , between values, found %q", s[i])
		}
		i++
	}
}

func isSpace(c byte) bool { return c == ' ' || c == '\t' || c == '\n' || c == '\r' }

// parseSingle decodes the value of a single-valued parameter.
func parseSingle(raw string) (string, error) {
	s := strings.TrimSpace(raw)
	if s == "" {
		return "", errors.New("no value")
	}
	items, err := splitList(s)
	if err == nil {
		if len(items) > 1 {
			return "", errParamNumber
		}
		return items[0], nil
	}
	if strings.HasPrefix(s, "(") {
		return "", err
	}
	// Not a well-formed quoted string: taken literally (IPF decodeString).
	if len(s) >= 2 && s[0] == '\'' && s[len(s)-1] == '\'' {
		s = s[1 : len(s)-1]
	}
	return strings.ReplaceAll(s, "''", "'"), nil
}

// parseQueryCode decodes a coded value "code^^^scheme". The CE form
// "code^display^scheme" (CE.3, which many consumers send) is accepted
// too. A code without a scheme is rejected, as IPF does: the scheme is
// part of the code's identity.
func parseQueryCode(item string) (Code, error) {
	parts := strings.Split(item, "^")
	var c Code
	switch {
	case len(parts) == 4 && parts[2] == "":
		c = Code{Code: hl7Unescape(parts[0]), Scheme: hl7Unescape(parts[3])}
	case len(parts) == 3:
		c = Code{Code: hl7Unescape(parts[0]), Scheme: hl7Unescape(parts[2])}
	default:
		return Code{}, fmt.Errorf("coded value %q is not code^^^codingScheme", item)
	}
	if c.Code == "" || c.Scheme == "" {
		return Code{}, fmt.Errorf("coded value %q needs both a code and a codingScheme (code^^^codingScheme)", item)
	}
	return c, nil
}

// paramKind tells how a parameter's values are written and checked.
type paramKind int

const (
	kindSingleString  paramKind = iota // one quoted string
	kindPatientID                      // one CX patient id
	kindTime                           // one DTM, quoted or not
	kindNumber                         // one number ($MetadataLevel)
	kindStringList                     // list of strings
	kindStatusList                     // list of StatusType URNs
	kindCodeList                       // list of codes (OR)
	kindCodeAndOr                      // codes; repeated slots AND-ed
	kindStringAndOr                    // strings; repeated slots AND-ed
	kindEntryTypeList                  // list of DocumentEntry objectTypes
	kindPatientIDList                  // list of CX patient ids (ITI-51)
)

func (k paramKind) single() bool { return k <= kindNumber }
func (k paramKind) andOr() bool  { return k == kindCodeAndOr || k == kindStringAndOr }

type paramSpec struct {
	kind     paramKind
	required bool
}

// queryParams is the parsed parameter list of one query, and what the
// query learns while it runs.
type queryParams struct {
	values map[string][][]string // name → one list per slot → items
	codes  map[string][]CodeSet  // coded parameters, one set per slot
	// warnings: parameters the stored query does not define, ignored.
	warnings ErrorList
	// current maps each patient id the query met to the identifier it is
	// known by now (patient links), for presenting results.
	current map[string]string
}

// level1 reports whether the query runs at $MetadataLevel 1 (the
// default): only the latest version of each DocumentEntry and Folder, no
// Offline DocumentEntry, no Deprecated Folder or Association.
func (p *queryParams) level1() bool { return p.single(ParamMetadataLevel) != "2" }

// docs applies $MetadataLevel to a DocumentEntry read.
func (p *queryParams) docs(f DocumentFilter) DocumentFilter {
	if p.level1() {
		f.LatestOnly, f.OnlineOnly = true, true
	}
	return f
}

// folders applies $MetadataLevel to a Folder read.
func (p *queryParams) folders(f FolderFilter) FolderFilter {
	if p.level1() {
		f.LatestOnly = true
		f.Statuses = approvedOnly(f.Statuses)
	}
	return f
}

// assocs applies $MetadataLevel to an Association read.
func (p *queryParams) assocs(f AssociationFilter) AssociationFilter {
	if p.level1() {
		f.Statuses = approvedOnly(f.Statuses)
	}
	return f
}

// approvedOnly narrows a status list to Approved: nil (any status)
// becomes Approved; a list without Approved matches nothing.
func approvedOnly(statuses []string) []string {
	if statuses == nil {
		return []string{StatusApproved}
	}
	for _, s := range statuses {
		if s == StatusApproved {
			return []string{StatusApproved}
		}
	}
	return []string{}
}

func (p *queryParams) has(name string) bool { return len(p.values[name]) > 0 }

func (p *queryParams) single(name string) string {
	if v := p.values[name]; len(v) > 0 && len(v[0]) > 0 {
		return v[0][0]
	}
	return ""
}

// list returns the items of a parameter, OR-ed (nil when absent).
func (p *queryParams) list(name string) []string {
	var out []string
	for _, slot := range p.values[name] {
		out = append(out, slot...)
	}
	return out
}

// codeSet returns a coded OR-parameter (nil when absent).
func (p *queryParams) codeSet(name string) CodeSet {
	if c := p.codes[name]; len(c) > 0 {
		return c[0]
	}
	return nil
}

// codeAndOr returns a coded AND/OR parameter (nil when absent).
func (p *queryParams) codeAndOr(name string) []CodeSet { return p.codes[name] }

func (p *queryParams) timeRange(from, to string) TimeRange {
	return TimeRange{From: p.single(from), To: p.single(to)}
}

// parseParams checks q's parameters against the query's specification and
// decodes them. Problems are returned as one ErrorList:
// XDSStoredQueryMissingParam, XDSStoredQueryParamNumber, and
// XDSRegistryError for a malformed value.
//
// A parameter the stored query does not define is ignored, as ebRS 3.0
// §6.3.2.1 requires ("A registry MUST ignore any parameters … that do not
// match"; NIST testkit 11897/old_scheme expects
// $XDSDocumentEntryPracticeSettingCodeScheme not to cause the error).
// Because a consumer whose filter was dropped would otherwise take the
// result for filtered, the answer says so: one RegistryError per ignored
// parameter with code XDSRegistryError (IHE defines no code for it, and
// TF-3 Table 4.2.4.1-2 reserves XDSRegistryError for exactly the case
// where no more detailed code exists) and severity Warning, which keeps
// the status Success (TF-3 Table 4.2.4.2-3). NIST and IPF ignore silently.
func parseParams(qs *querySpec, q *Query) (*queryParams, ErrorList) {
	var errs ErrorList
	add := func(code, format string, args ...any) { errs = append(errs, Errorf(code, format, args...)) }
	p := &queryParams{values: map[string][][]string{}, codes: map[string][]CodeSet{}, current: map[string]string{}}

	var order []string
	slots := map[string][]Slot{}
	for _, s := range q.Params {
		if _, seen := slots[s.Name]; !seen {
			order = append(order, s.Name)
		}
		slots[s.Name] = append(slots[s.Name], s)
	}
	for _, s := range q.Params {
		for _, val := range append([]string{s.Name}, s.Values...) {
			if !utf8.ValidString(val) || strings.IndexByte(val, 0) >= 0 {
				add(ErrCodeRegistryError, "parameter %q holds invalid UTF-8 or a NUL character", strings.ToValidUTF8(s.Name, "?"))
				return nil, errs
			}
		}
	}
	for _, name := range order {
		spec, ok := qs.params[name]
		if !ok {
			p.warnings = append(p.warnings, Warningf(ErrCodeRegistryError,
				"parameter %s is not defined for stored query %s and was ignored", clip(name), qs.name))
			continue
		}
		ss := slots[name]
		if len(ss) > 1 && !spec.kind.andOr() {
			add(ErrCodeStoredQueryParamNumber, "parameter %s is given %d times; it may appear once", name, len(ss))
			continue
		}
		for _, s := range ss {
			items, code, msg := decodeSlot(spec.kind, s)
			if msg != "" {
				add(code, "parameter %s: %s", name, msg)
				continue
			}
			p.values[name] = append(p.values[name], items)
		}
		if n := len(p.list(name)); n > MaxParamValues {
			add(ErrCodeRegistryError, "parameter %s has %d values; at most %d are accepted", name, n, MaxParamValues)
		}
	}
	for name, spec := range qs.params {
		if spec.required && len(slots[name]) == 0 {
			add(ErrCodeStoredQueryMissingParam, "stored query %s requires parameter %s", qs.name, name)
		}
	}
	for _, group := range qs.atLeastOne {
		found := false
		for _, name := range group {
			found = found || len(slots[name]) > 0
		}
		if !found {
			add(ErrCodeStoredQueryMissingParam, "stored query %s requires at least one of %s", qs.name, strings.Join(group, ", "))
		}
	}
	for _, group := range qs.oneOf {
		var present []string
		for _, name := range group {
			if len(slots[name]) > 0 {
				present = append(present, name)
			}
		}
		switch len(present) {
		case 0:
			add(ErrCodeStoredQueryMissingParam, "stored query %s requires one of %s", qs.name, strings.Join(group, ", "))
		case 1:
		default:
			add(ErrCodeStoredQueryParamNumber, "stored query %s takes only one of %s (got %s)", qs.name,
				strings.Join(group, ", "), strings.Join(present, ", "))
		}
	}
	if len(errs) > 0 {
		return nil, sortedErrors(errs)
	}
	// Typed checks on the decoded values.
	for name, lists := range p.values {
		spec := qs.params[name]
		for _, items := range lists {
			var set CodeSet
			for i, it := range items {
				switch spec.kind {
				case kindPatientID, kindPatientIDList:
					if err := CheckPatientIDFormat(it); err != nil {
						add(ErrCodeRegistryError, "parameter %s: %v", name, err)
					}
				case kindTime:
					if _, err := ParseDTM(it); err != nil {
						add(ErrCodeRegistryError, "parameter %s: %v", name, err)
					}
				case kindNumber:
					if it != "1" && it != "2" {
						add(ErrCodeRegistryError, "parameter %s: value %q is not 1 or 2", name, it)
					}
				case kindStatusList:
					if rest, typo := strings.CutPrefix(it, responseStatusPrefix); typo && qs.multi && rest != "" {
						// ITI TF-2 3.51's own sample says ResponseStatusType:
						// Approved; ITI-51 callers copy it.
						it = statusPrefix + rest
						items[i] = it
					}
					if !strings.HasPrefix(it, statusPrefix) || len(it) == len(statusPrefix) {
						add(ErrCodeRegistryError, "parameter %s: status %q is not a %s… URN", name, it, statusPrefix)
					}
				case kindEntryTypeList:
					if it != ObjectTypeStable && it != ObjectTypeOnDemand {
						add(ErrCodeRegistryError, "parameter %s: %q is neither the Stable (%s) nor the On-Demand (%s) objectType",
							name, it, ObjectTypeStable, ObjectTypeOnDemand)
					}
				case kindCodeList, kindCodeAndOr:
					c, err := parseQueryCode(it)
					if err != nil {
						add(ErrCodeRegistryError, "parameter %s: %v", name, err)
						continue
					}
					set = append(set, c)
				}
			}
			if spec.kind == kindCodeList || spec.kind == kindCodeAndOr {
				p.codes[name] = append(p.codes[name], set)
			}
		}
	}
	if len(errs) > 0 {
		return nil, sortedErrors(errs)
	}
	return p, nil
}

// decodeSlot decodes the values of one slot; on failure it returns the
// error code and message.
func decodeSlot(kind paramKind, s Slot) (items []string, code, msg string) {
	if len(s.Values) == 0 {
		return nil, ErrCodeRegistryError, "has no value"
	}
	if kind.single() {
		if len(s.Values) > 1 {
			return nil, ErrCodeStoredQueryParamNumber, fmt.Sprintf("takes one value, got %d", len(s.Values))
		}
		v, err := parseSingle(s.Values[0])
		if errors.Is(err, errParamNumber) {
			return nil, ErrCodeStoredQueryParamNumber, "takes one value, got a list of several"
		}
		if err != nil {
			return nil, ErrCodeRegistryError, fmt.Sprintf("value %q: %v", s.Values[0], err)
		}
		return []string{v}, "", ""
	}
	for _, raw := range s.Values {
		list, err := splitList(raw)
		if err != nil {
			return nil, ErrCodeRegistryError, fmt.Sprintf("value %q: %v", raw, err)
		}
		items = append(items, list...)
	}
	return items, "", ""
}

// clip shortens a client-supplied name for a codeContext.
func clip(s string) string {
	const max = 80
	if len(s) <= max {
		return s
	}
	cut := max
	for cut > 0 && !utf8.RuneStart(s[cut]) {
		cut--
	}
	return s[:cut] + "…"
}

// sortedErrors orders errors by codeContext, so the result does not
// depend on map iteration order.
func sortedErrors(l ErrorList) ErrorList {
	out := append(ErrorList(nil), l...)
	sort.SliceStable(out, func(i, j int) bool { return out[i].Context < out[j].Context })
	return out
}
