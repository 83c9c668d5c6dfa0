package registry

import (
	_ "embed"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"sort"
	"strings"
	"sync"
)

// Coded-value attributes a value-set file may constrain (the keys of its
// "attributes" object). An attribute the file does not name is not
// checked.
const (
	AttrClassCode           = "classCode"
	AttrTypeCode            = "typeCode"
	AttrConfidentialityCode = "confidentialityCode"
	AttrFormatCode          = "formatCode"
	AttrFacilityTypeCode    = "healthcareFacilityTypeCode"
	AttrPracticeSettingCode = "practiceSettingCode"
	AttrEventCodeList       = "eventCodeList"
	AttrContentTypeCode     = "contentTypeCode" // SubmissionSet
	AttrFolderCodeList      = "codeList"        // Folder
)

var knownAttributes = map[string]bool{
	AttrClassCode: true, AttrTypeCode: true, AttrConfidentialityCode: true, AttrFormatCode: true,
	AttrFacilityTypeCode: true, AttrPracticeSettingCode: true, AttrEventCodeList: true,
	AttrContentTypeCode: true, AttrFolderCodeList: true,
}

// AnySystem as a system name lists codes that are valid under any
// codingScheme.
const AnySystem = "*"

//go:embed valuesets/norway.json
var norwayValueSets []byte

var (
	// ErrUnknownCode: the code is not in the value set of its system.
	ErrUnknownCode = errors.New("code not in value set")
	// ErrUnknownScheme: no value set of the attribute has that system.
	ErrUnknownScheme = errors.New("coding scheme not allowed")
	// ErrTypeNotInClass: the typeCode belongs to another classCode.
	ErrTypeNotInClass = errors.New("typeCode does not belong to classCode")
)

// CodeError is a coded value that a ValueSets rejects.
type CodeError struct {
	Attribute string
	Code      Code
	Err       error // ErrUnknownCode, ErrUnknownScheme or ErrTypeNotInClass
	Detail    string
}

func (e *CodeError) Error() string {
	s := fmt.Sprintf("%s %q (scheme %q): %v", e.Attribute, e.Code.Code, e.Code.Scheme, e.Err)
	if e.Detail != "" {
		s += ": " + e.Detail
	}
	return s
}

func (e *CodeError) Unwrap() error { return e.Err }

// ValueSets holds the code lists coded metadata is checked against, per
// attribute and coding system. It is immutable once loaded and safe for
// concurrent use. The file format is documented in
// registry/valuesets/README.md.
type ValueSets struct {
	profile string
	attrs   map[string]*attrValueSet
}

type attrValueSet struct {
	systems map[string]*systemValueSet // by system name and every alias
	any     *systemValueSet            // the "*" system, or nil
	names   []string                   // primary system names, for messages
}

type systemValueSet struct {
	name  string
	open  bool
	codes map[string]codeEntry
}

type codeEntry struct {
	display string
	class   string
}

// valueSetFile is the JSON file format.
type valueSetFile struct {
	Profile     string `json:"profile"`
	Description string `json:"description"`
	Attributes  map[string]struct {
		Systems []struct {
			System  string   `json:"system"`
			Name    string   `json:"name"`
			Aliases []string `json:"aliases"`
			Open    bool     `json:"open"`
			Codes   []struct {
				Code    string `json:"code"`
				Display string `json:"display"`
				Class   string `json:"class"`
			} `json:"codes"`
		} `json:"systems"`
	} `json:"attributes"`
}

// LoadValueSets reads a value-set file (JSON, see
// registry/valuesets/README.md). Unknown attribute names, duplicate
// systems or codes, and empty names are errors.
func LoadValueSets(r io.Reader) (*ValueSets, error) {
	dec := json.NewDecoder(r)
	dec.DisallowUnknownFields()
	var f valueSetFile
	if err := dec.Decode(&f); err != nil {
		return nil, fmt.Errorf("value sets: %w", err)
	}
	vs := &ValueSets{profile: f.Profile, attrs: map[string]*attrValueSet{}}
	for attr, a := range f.Attributes {
		if !knownAttributes[attr] {
			return nil, fmt.Errorf("value sets: unknown attribute %q", attr)
		}
		av := &attrValueSet{systems: map[string]*systemValueSet{}}
		for _, s := range a.Systems {
			if s.System == "" {
				return nil, fmt.Errorf("value sets: %s: system without name", attr)
			}
			sv := &systemValueSet{name: s.System, open: s.Open, codes: map[string]codeEntry{}}
			for _, c := range s.Codes {
				if c.Code == "" {
					return nil, fmt.Errorf("value sets: %s/%s: empty code", attr, s.System)
				}
				if _, dup := sv.codes[c.Code]; dup {
					return nil, fmt.Errorf("value sets: %s/%s: code %q listed twice", attr, s.System, c.Code)
				}
				sv.codes[c.Code] = codeEntry{display: c.Display, class: c.Class}
			}
			if s.System == AnySystem {
				if av.any != nil {
					return nil, fmt.Errorf("value sets: %s: system %q listed twice", attr, AnySystem)
				}
				av.any = sv
				continue
			}
			names := append([]string{s.System}, s.Aliases...)
			if ValidOID(s.System) {
				// An OID scheme is also accepted in its URN form.
				names = append(names, "urn:oid:"+s.System)
			}
			for _, n := range names {
				if _, dup := av.systems[n]; dup {
					return nil, fmt.Errorf("value sets: %s: system %q listed twice", attr, n)
				}
				av.systems[n] = sv
			}
			av.names = append(av.names, s.System)
		}
		vs.attrs[attr] = av
	}
	return vs, nil
}

var defaultValueSets = sync.OnceValue(func() *ValueSets {
	vs, err := LoadValueSets(strings.NewReader(string(norwayValueSets)))
	if err != nil {
		// The file is embedded at build time and TestDefaultValueSets
		// loads it, so this is a build defect, not bad input.
		panic("registry: embedded valuesets/norway.json: " + err.Error())
	}
	return vs
})

// DefaultValueSets returns the embedded Norwegian profile
// (registry/valuesets/norway.json).
func DefaultValueSets() *ValueSets { return defaultValueSets() }

// Profile is the profile name the file declares.
func (v *ValueSets) Profile() string { return v.profile }

// Constrains reports whether the value sets check attribute at all.
func (v *ValueSets) Constrains(attribute string) bool {
	_, ok := v.attrs[attribute]
	return ok
}

func (v *ValueSets) lookup(attribute string, c Code) (*systemValueSet, codeEntry, bool) {
	a := v.attrs[attribute]
	if a == nil {
		return nil, codeEntry{}, false
	}
	if s := a.systems[c.Scheme]; s != nil {
		if e, ok := s.codes[c.Code]; ok {
			return s, e, true
		}
		if s.open {
			return s, codeEntry{}, true
		}
	}
	if a.any != nil {
		if e, ok := a.any.codes[c.Code]; ok {
			return a.any, e, true
		}
	}
	return nil, codeEntry{}, false
}

// Check reports whether c is allowed for attribute: nil when the value
// sets do not constrain the attribute, or the scheme is listed and the
// code is in it (or the scheme is open), or the code is listed under the
// any-scheme system; otherwise a *CodeError.
func (v *ValueSets) Check(attribute string, c Code) error {
	a := v.attrs[attribute]
	if a == nil {
		return nil
	}
	if _, _, ok := v.lookup(attribute, c); ok {
		return nil
	}
	if a.systems[c.Scheme] == nil {
		return &CodeError{Attribute: attribute, Code: c, Err: ErrUnknownScheme,
			Detail: "allowed schemes: " + strings.Join(a.names, ", ")}
	}
	return &CodeError{Attribute: attribute, Code: c, Err: ErrUnknownCode}
}

// CheckTypeInClass checks that typeCode belongs to classCode when the value
// sets say which class a type code belongs to (the "class" of a typeCode
// entry; Volven 9602 Xnn-2 belongs to X00-1). Unknown codes are Check's
// business, so they pass here.
func (v *ValueSets) CheckTypeInClass(class, typ Code) error {
	_, e, ok := v.lookup(AttrTypeCode, typ)
	if !ok || e.class == "" {
		return nil
	}
	norm := func(s string) string { return strings.TrimPrefix(s, "urn:oid:") }
	if class.Code != e.class || norm(class.Scheme) != norm(typ.Scheme) {
		return &CodeError{Attribute: AttrTypeCode, Code: typ, Err: ErrTypeNotInClass,
			Detail: fmt.Sprintf("belongs to classCode %s, not %s", e.class, class.Code)}
	}
	return nil
}

// Display returns the display name the value sets give a code, or "" when
// they have none. For UIs; the registry itself keeps the display name a
// source sent.
func (v *ValueSets) Display(attribute, scheme, code string) string {
	_, e, _ := v.lookup(attribute, Code{Code: code, Scheme: scheme})
	return e.display
}

// Codes lists the codes known for attribute in one system (sorted), for
// UIs and tests.
func (v *ValueSets) Codes(attribute, system string) []Code {
	a := v.attrs[attribute]
	if a == nil {
		return nil
	}
	s := a.systems[system]
	if system == AnySystem {
		s = a.any
	}
	if s == nil {
		return nil
	}
	out := make([]Code, 0, len(s.codes))
	for c, e := range s.codes {
		out = append(out, Code{Code: c, Scheme: system, Display: e.display})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Code < out[j].Code })
	return out
}
