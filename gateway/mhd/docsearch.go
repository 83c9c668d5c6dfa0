package mhd

import (
	"errors"
	"net/http"
	"net/url"

	"pjd/gateway/fhir"
	"pjd/registry"
)

// DocumentSearch is a validated ITI-67 Find Document References request.
//
// It is used in two steps. Filter gives the registry.DocumentFilter for the
// store: it selects a superset of the result. Match then decides each
// entry exactly, and must be applied to every entry the store returns.
// These are enforced only by Match (the store's filter cannot express
// them):
//   - period (service time overlap with open ends; see below);
//   - date/creation with the ne prefix, and date/creation occurrences with
//     several comma-separated alternatives;
//   - a repeated single-valued code parameter (category=a&category=b:
//     the store gets the first occurrence);
//   - tokens with a system but no code (system|) or with an explicit empty
//     system (|code);
//   - author.given/author.family except :exact (FHIR string search folds
//     case; stores' LIKE does not fold it reliably), and the AND of given
//     and family;
//   - identifier (uniqueId or entryUUID) unless every value is urn:oid:…;
//   - related (referenceIdList identifiers).
//
// Dates: a DocumentEntry's creationTime (rendered as date and
// attachment.creation; both date and the MHD creation parameter search it)
// is taken as the instant its DTM names padded with zeros, the rule the
// stores use. period compares against [serviceStartTime, serviceStopTime]
// (a missing end is taken as equal to the other end; an entry with neither
// does not match). The prefixes follow FHIR search.html#prefix, with ge
// and le read as "reaches into the searched value or beyond" (the overlap
// MHD means for period; for creationTime, a point, exactly FHIR's rule); a
// time without a zone is taken as UTC; ap is not supported. Empty values
// (category=) are rejected rather than ignored.
type DocumentSearch struct {
	Common
	filter registry.DocumentFilter
	conds  conds[*registry.DocumentEntry]
}

// ParseDocumentSearch validates an ITI-67 request: the query (GET) or form
// (POST _search) parameters and the request headers. Every parameter is
// checked; the error is an *Error (400, or 406 for a _format other than
// JSON) with one issue per unknown or malformed parameter, naming it in
// issue.expression.
//
// Repeated parameters AND together, comma-separated values OR. The patient
// comes from patient.identifier (urn:oid:<F-nr, D-nr or H-nr OID>|<number>)
// or the nhn-patient-nin header; both may be given only when they agree.
// status defaults to current. _count is 0–MaxCount (default
// DefaultCount); _page is a token from a next link (see Pager).
func ParseDocumentSearch(q url.Values, h http.Header) (*DocumentSearch, error) {
	p := newParser("DocumentReference", q)
	s := &DocumentSearch{}
	f := &s.filter
	p.readFirstParams(h)

	statuses, _ := p.statuses("status", false)
	f.Statuses = statuses
	s.conds.add(func(d *registry.DocumentEntry) bool { return contains(f.Statuses, d.Status) })

	var names nameConds
	common, err := p.search(func(name, base, mod string) {
		switch base {
		case "category":
			s.singleCode(p, name, mod, &f.Classes, func(d *registry.DocumentEntry) registry.Code { return d.Class })
		case "type":
			s.singleCode(p, name, mod, &f.Types, func(d *registry.DocumentEntry) registry.Code { return d.Type })
		case "setting":
			s.singleCode(p, name, mod, &f.PracticeSettings, func(d *registry.DocumentEntry) registry.Code { return d.PracticeSetting })
		case "facility":
			s.singleCode(p, name, mod, &f.FacilityTypes, func(d *registry.DocumentEntry) registry.Code { return d.FacilityType })
		case "format":
			s.singleCode(p, name, mod, &f.Formats, func(d *registry.DocumentEntry) registry.Code { return d.Format })
		case "event":
			s.multiCode(p, name, mod, &f.Events, func(d *registry.DocumentEntry) []registry.Code { return d.Events })
		case "security-label":
			s.multiCode(p, name, mod, &f.Confidentiality, func(d *registry.DocumentEntry) []registry.Code { return d.Confidentiality })
		case "date", "creation":
			dc := p.plainDates(name, mod)
			if len(dc) == 0 {
				return
			}
			r := dc.dbRange()
			cr := &f.CreationTime
			if r.From != "" && (cr.From == "" || r.From > cr.From) {
				cr.From = r.From
			}
			if r.To != "" && (cr.To == "" || r.To < cr.To) {
				cr.To = r.To
			}
			s.conds.add(func(d *registry.DocumentEntry) bool { return dc.matchPoint(d.CreationTime) })
		case "period":
			dc := p.plainDates(name, mod)
			if len(dc) == 0 {
				return
			}
			s.conds.add(func(d *registry.DocumentEntry) bool {
				start, stop := d.ServiceStartTime, d.ServiceStopTime
				if !validDTM(start) {
					start = ""
				}
				if !validDTM(stop) {
					stop = ""
				}
				if start == "" && stop == "" {
					return false
				}
				if start == "" {
					start = stop
				}
				if stop == "" {
					stop = start
				}
				return dc.matchRange(normDTM(start), normDTM(stop))
			})
		case "author.given":
			names.given = append(names.given, p.strings(base, mod)...)
		case "author.family":
			names.family = append(names.family, p.strings(base, mod)...)
		case "identifier":
			if p.noModifier(name, mod) {
				p.identifiers(name, func(uids []string) { f.UniqueIDs = uids }, func(cc codeCond) {
					s.conds.add(func(d *registry.DocumentEntry) bool { return cc.namesObject(d.ID, d.UniqueID) })
				})
			}
		case "related":
			if mod != "" && mod != "identifier" {
				p.unsupported(name, "parameter related: modifier :%s is not supported (use related or related:identifier)", mod)
				return
			}
			occ := p.codes(name)
			if len(occ) == 0 {
				return
			}
			s.conds.add(func(d *registry.DocumentEntry) bool {
				for _, cc := range occ {
					if !matchReferenceIDs(cc, d.ReferenceIDs) {
						return false
					}
				}
				return true
			})
		default:
			p.unsupported(name, "unknown search parameter %s", name)
		}
	})
	if !names.empty() {
		f.AuthorPersons = names.likePatterns()
		s.conds.add(func(d *registry.DocumentEntry) bool { return names.match(d.Authors) })
	}
	if err != nil {
		return nil, err
	}
	s.Common = common
	f.PatientID = s.Patient.CX()
	return s, nil
}

func contains(list []string, v string) bool {
	for _, x := range list {
		if x == v {
			return true
		}
	}
	return false
}

// singleCode handles a token parameter on a single-valued code: the first
// occurrence becomes the store CodeSet, every occurrence a Match condition.
func (s *DocumentSearch) singleCode(p *parser, name, mod string, set *registry.CodeSet, get func(*registry.DocumentEntry) registry.Code) {
	for i, cc := range p.plainCodes(name, mod) {
		if i == 0 {
			if cs, ok := cc.codeSet(); ok {
				*set = cs
			}
		}
		s.conds.add(func(d *registry.DocumentEntry) bool { return cc.match(get(d)) })
	}
}

// multiCode handles a token parameter on a multi-valued code (AND of OR).
func (s *DocumentSearch) multiCode(p *parser, name, mod string, sets *[]registry.CodeSet, get func(*registry.DocumentEntry) []registry.Code) {
	for _, cc := range p.plainCodes(name, mod) {
		if cs, ok := cc.codeSet(); ok {
			*sets = append(*sets, cs)
		}
		s.conds.add(func(d *registry.DocumentEntry) bool { return cc.match(get(d)...) })
	}
}

// matchReferenceIDs reports whether one of the tokens (system|value, system
// the assigning authority as urn:oid:<OID> or a namespace) names one of
// the entry's referenceIdList CXi values.
func matchReferenceIDs(cc codeCond, refs []string) bool {
	for _, r := range refs {
		x := readCX(r)
		aa := x.AssigningAuthority
		for _, t := range cc {
			if t.Code != "" && t.Code != x.ID {
				continue
			}
			if !t.HasSystem {
				return true
			}
			if aa.UniversalID != "" && fhir.SchemeFor(t.System) == aa.UniversalID {
				return true
			}
			if aa.UniversalID == "" && t.System == aa.NamespaceID {
				return true
			}
		}
	}
	return false
}

// ErrPageNotResumed is returned by Filter when a search with a _page token
// has not been through Pager.Resume: without it the patient is unknown.
var ErrPageNotResumed = errors.New("mhd: search with a _page token used before Pager.Resume")

// Filter is the store filter for the search: one patient, the statuses and
// the constraints a store can apply (see DocumentSearch). It has no Limit:
// paging is done after Match (and after policy), over the whole result of
// the one patient. It fails closed: without a patient (a _page token not
// yet resumed) it returns an error, never a filter that matches every
// patient.
func (s *DocumentSearch) Filter() (registry.DocumentFilter, error) {
	if err := s.ready(); err != nil {
		return registry.DocumentFilter{}, err
	}
	f := s.filter
	f.PatientID = s.Patient.CX()
	return f, nil
}

// Match reports whether a DocumentEntry the store returned meets every
// search condition, including the patient.
func (s *DocumentSearch) Match(d *registry.DocumentEntry) bool {
	return s.conds.match(&s.Common, d.PatientID, d)
}
