package mhd

import (
	"net/http"
	"net/url"

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
	ssConds  conds[*registry.SubmissionSet]
	fConds   conds[*registry.Folder]
}

// ParseListSearch validates an ITI-66 request the way ParseDocumentSearch
// does an ITI-67 one.
func ParseListSearch(q url.Values, h http.Header) (*ListSearch, error) {
	p := newParser("List", q)
	s := &ListSearch{SubmissionSets: true, Folders: true}
	p.readFirstParams(h)

	statuses, _ := p.statuses("status", true)
	s.ssFilter.Statuses, s.fFilter.Statuses = statuses, statuses
	s.ssConds.add(func(x *registry.SubmissionSet) bool { return contains(statuses, x.Status) })
	s.fConds.add(func(x *registry.Folder) bool { return contains(statuses, x.Status) })

	var names nameConds
	common, err := p.search(func(name, base, mod string) {
		switch base {
		case "code":
			if p.noModifier(name, mod) {
				s.code(p, name)
			}
		case "date":
			dc := p.plainDates(name, mod)
			if len(dc) == 0 {
				return
			}
			r := dc.dbRange()
			s.ssFilter.SubmissionTime, s.fFilter.LastUpdateTime = r, r
			s.ssConds.add(func(x *registry.SubmissionSet) bool { return dc.matchPoint(x.SubmissionTime) })
			s.fConds.add(func(x *registry.Folder) bool { return dc.matchPoint(x.LastUpdateTime) })
		case "designationType":
			for i, cc := range p.plainCodes(name, mod) {
				if cs, ok := cc.codeSet(); ok {
					if i == 0 {
						s.ssFilter.ContentTypes = cs
					}
					s.fFilter.Codes = append(s.fFilter.Codes, cs)
				}
				s.ssConds.add(func(x *registry.SubmissionSet) bool { return cc.match(x.ContentType) })
				s.fConds.add(func(x *registry.Folder) bool { return cc.match(x.Codes...) })
			}
		case "source.given":
			names.given = append(names.given, p.strings(base, mod)...)
		case "source.family":
			names.family = append(names.family, p.strings(base, mod)...)
		case "sourceId":
			for i, cc := range p.plainCodes(name, mod) {
				var ids []string
				for _, t := range cc {
					ids = append(ids, uniqueIDFromValue(t.Code))
				}
				if i == 0 {
					s.ssFilter.SourceIDs = ids
				}
				s.ssConds.add(func(x *registry.SubmissionSet) bool { return contains(ids, x.SourceID) })
			}
		case "identifier":
			if p.noModifier(name, mod) {
				p.identifiers(name, func(uids []string) { s.ssFilter.UniqueIDs, s.fFilter.UniqueIDs = uids, uids }, func(cc codeCond) {
					s.ssConds.add(func(x *registry.SubmissionSet) bool { return cc.namesObject(x.ID, x.UniqueID) })
					s.fConds.add(func(x *registry.Folder) bool { return cc.namesObject(x.ID, x.UniqueID) })
				})
			}
		default:
			p.unsupported(name, "unknown search parameter %s", name)
		}
	})
	if !names.empty() {
		s.ssFilter.AuthorPersons = names.likePatterns()
		s.ssConds.add(func(x *registry.SubmissionSet) bool { return names.match(x.Authors) })
	}
	if err != nil {
		return nil, err
	}
	s.Common = common
	return s, nil
}

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
	return s.SubmissionSets && s.ssConds.match(&s.Common, x.PatientID, x)
}

// MatchFolder reports whether a Folder meets the search.
func (s *ListSearch) MatchFolder(x *registry.Folder) bool {
	return s.Folders && s.fConds.match(&s.Common, x.PatientID, x)
}
