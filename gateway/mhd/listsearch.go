package mhd

import (
	"net/http"
	"net/url"
	"strings"

	"pjd/registry"
)

// ListSearch is a validated ITI-66 Find Document Lists request: it finds
// SubmissionSets (code=submissionset), Folders (code=folder) or both (no
// code). Like DocumentSearch it gives store filters that select a
// superset, and Match functions that must be applied to what the stores
// return.
//
// Mapping (MHD Tables 2:3.66.4.1.3.1-1/-2): date → submissionTime /
// lastUpdateTime; designationType → contentTypeCode / codeList;
// source.given/family and sourceId → the SubmissionSet's author person and
// sourceId (ignored for folders, as MHD says); identifier → uniqueId or
// entryUUID; status current → Approved, superseded or retired →
// Deprecated (default current). Enforced only by Match: date ne and
// multi-alternative dates, system-only tokens, names except :exact,
// identifier unless every value is urn:oid:, repeated designationType on
// SubmissionSets (the store gets the first).
type ListSearch struct {
	Common
	// SubmissionSets and Folders say which kinds the search asks for.
	SubmissionSets, Folders bool

	ssFilter registry.SubmissionSetFilter
	fFilter  registry.FolderFilter
	ssConds  []func(*registry.SubmissionSet) bool
	fConds   []func(*registry.Folder) bool
}

// ParseListSearch validates an ITI-66 request the way ParseDocumentSearch
// does an ITI-67 one.
func ParseListSearch(q url.Values, h http.Header) (*ListSearch, error) {
	p := newParser("List", q)
	s := &ListSearch{SubmissionSets: true, Folders: true}
	p.readFirstParams(h)

	statuses, _ := p.statuses("status", true)
	s.ssFilter.Statuses, s.fFilter.Statuses = statuses, statuses
	s.ss(func(x *registry.SubmissionSet) bool { return contains(statuses, x.Status) })
	s.folder(func(x *registry.Folder) bool { return contains(statuses, x.Status) })

	var names nameConds
	for _, name := range p.names() {
		base, mod, _ := strings.Cut(name, ":")
		if p.readFirst(name, base, mod) {
			continue
		}
		switch base {
		case "code":
			if !p.noModifier(name, mod) {
				continue
			}
			s.code(p, name)
		case "date":
			if !p.noModifier(name, mod) {
				continue
			}
			dc := p.dates(name)
			if len(dc) == 0 {
				continue
			}
			r := dc.dbRange()
			s.ssFilter.SubmissionTime, s.fFilter.LastUpdateTime = r, r
			s.ss(func(x *registry.SubmissionSet) bool { return dc.matchPoint(x.SubmissionTime) })
			s.folder(func(x *registry.Folder) bool { return dc.matchPoint(x.LastUpdateTime) })
		case "designationType":
			if !p.noModifier(name, mod) {
				continue
			}
			for i, cc := range p.codes(name) {
				if cs, ok := cc.codeSet(); ok {
					if i == 0 {
						s.ssFilter.ContentTypes = cs
					}
					s.fFilter.Codes = append(s.fFilter.Codes, cs)
				}
				s.ss(func(x *registry.SubmissionSet) bool { return cc.match(x.ContentType) })
				s.folder(func(x *registry.Folder) bool { return cc.match(x.Codes...) })
			}
		case "source.given":
			names.given = append(names.given, p.strings(base, mod)...)
		case "source.family":
			names.family = append(names.family, p.strings(base, mod)...)
		case "sourceId":
			if !p.noModifier(name, mod) {
				continue
			}
			for i, cc := range p.codes(name) {
				var ids []string
				for _, t := range cc {
					ids = append(ids, uniqueIDFromValue(t.Code))
				}
				if i == 0 {
					s.ssFilter.SourceIDs = ids
				}
				s.ss(func(x *registry.SubmissionSet) bool { return contains(ids, x.SourceID) })
			}
		case "identifier":
			if !p.noModifier(name, mod) {
				continue
			}
			s.identifier(p, name)
		default:
			p.unsupported(name, "unknown search parameter %s", name)
		}
	}
	if !names.empty() {
		s.ssFilter.AuthorPersons = names.likePatterns()
		s.ss(func(x *registry.SubmissionSet) bool { return names.match(x.Authors) })
	}
	if err := p.e.err(); err != nil {
		return nil, err
	}
	s.Common = p.common
	return s, nil
}

func (s *ListSearch) ss(c func(*registry.SubmissionSet) bool) { s.ssConds = append(s.ssConds, c) }
func (s *ListSearch) folder(c func(*registry.Folder) bool)    { s.fConds = append(s.fConds, c) }

// code handles code=submissionset|folder (system MHDlistTypes or none).
func (s *ListSearch) code(p *parser, name string) {
	for _, cc := range p.codes(name) {
		var ss, folder bool
		for _, t := range cc {
			if t.HasSystem && t.System != SystemListTypes {
				p.bad(name, "parameter code: system must be %s (or none)", SystemListTypes)
				return
			}
			switch t.Code {
			case "submissionset":
				ss = true
			case "folder":
				folder = true
			default:
				p.bad(name, "parameter code: %q is neither submissionset nor folder", t.Code)
				return
			}
		}
		s.SubmissionSets = s.SubmissionSets && ss
		s.Folders = s.Folders && folder
	}
}

func (s *ListSearch) identifier(p *parser, name string) {
	for i, cc := range p.codes(name) {
		uids, allOID, ok := cc.identifierUIDs(p, name)
		if !ok {
			return
		}
		if i == 0 && allOID {
			s.ssFilter.UniqueIDs, s.fFilter.UniqueIDs = uids, uids
		}
		s.ss(func(x *registry.SubmissionSet) bool { return cc.namesObject(x.ID, x.UniqueID) })
		s.folder(func(x *registry.Folder) bool { return cc.namesObject(x.ID, x.UniqueID) })
	}
}

func (s *ListSearch) ready() error {
	if s.Patient.IsZero() || (s.Page != "" && !s.resumed) {
		return ErrPageNotResumed
	}
	return nil
}

// SubmissionSetFilter is the store filter for SubmissionSets; ok is false
// when the search does not ask for them. It fails closed like
// DocumentSearch.Filter.
func (s *ListSearch) SubmissionSetFilter() (f registry.SubmissionSetFilter, ok bool, err error) {
	if err := s.ready(); err != nil {
		return f, false, err
	}
	if !s.SubmissionSets {
		return f, false, nil
	}
	f = s.ssFilter
	f.PatientID = s.Patient.CX()
	return f, true, nil
}

// FolderFilter is the store filter for Folders; ok is false when the
// search does not ask for them.
func (s *ListSearch) FolderFilter() (f registry.FolderFilter, ok bool, err error) {
	if err := s.ready(); err != nil {
		return f, false, err
	}
	if !s.Folders {
		return f, false, nil
	}
	f = s.fFilter
	f.PatientID = s.Patient.CX()
	return f, true, nil
}

// MatchSubmissionSet reports whether a SubmissionSet meets the search.
func (s *ListSearch) MatchSubmissionSet(x *registry.SubmissionSet) bool {
	if !s.SubmissionSets || s.Patient.IsZero() || x.PatientID != s.Patient.CX() {
		return false
	}
	for _, c := range s.ssConds {
		if !c(x) {
			return false
		}
	}
	return true
}

// MatchFolder reports whether a Folder meets the search.
func (s *ListSearch) MatchFolder(x *registry.Folder) bool {
	if !s.Folders || s.Patient.IsZero() || x.PatientID != s.Patient.CX() {
		return false
	}
	for _, c := range s.fConds {
		if !c(x) {
			return false
		}
	}
	return true
}
