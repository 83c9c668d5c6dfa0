package registry

import (
	"errors"
	"pjd/registry/oid"
	"strings"
	"testing"
)

func TestDefaultValueSets(t *testing.T) {
	vs := DefaultValueSets()
	if vs.Profile() != "no" {
		t.Errorf("Profile() = %q", vs.Profile())
	}
	const (
		v9602 = oid.Volven9602
		v9603 = oid.Volven9603
		hl7   = oid.HL7Confidentiality
	)
	tests := []struct {
		attr string
		code Code
		want error // nil = accepted
	}{
		{AttrClassCode, Code{Code: "A00-1", Scheme: v9602}, nil},
		{AttrClassCode, Code{Code: "E00-1", Scheme: "urn:oid:" + v9602}, nil},
		{AttrClassCode, Code{Code: "Z00-1", Scheme: v9602}, ErrUnknownCode},
		{AttrClassCode, Code{Code: "A03-2", Scheme: v9602}, ErrUnknownCode}, // a type, not a class
		{AttrClassCode, Code{Code: "A00-1", Scheme: "2.16.840.1.113883.6.1"}, ErrUnknownScheme},
		{AttrTypeCode, Code{Code: "A03-2", Scheme: v9602}, nil},
		{AttrTypeCode, Code{Code: "A00-1", Scheme: v9602}, ErrUnknownCode},
		{AttrConfidentialityCode, Code{Code: "N", Scheme: v9603}, nil},
		{AttrConfidentialityCode, Code{Code: "NORS", Scheme: v9603}, nil},
		{AttrConfidentialityCode, Code{Code: "NORN_FFL", Scheme: v9603}, nil},
		{AttrConfidentialityCode, Code{Code: "V", Scheme: hl7}, nil},
		{AttrConfidentialityCode, Code{Code: "R", Scheme: "http://terminology.hl7.org/CodeSystem/v3-Confidentiality"}, nil},
		{AttrConfidentialityCode, Code{Code: "X", Scheme: hl7}, ErrUnknownCode},
		{AttrConfidentialityCode, Code{Code: "V", Scheme: v9603}, ErrUnknownCode},
		{AttrFormatCode, Code{Code: "urn:ihe:iti:xds:2017:mimeTypeSufficient", Scheme: "1.3.6.1.4.1.19376.1.2.3"}, nil},
		{AttrFormatCode, Code{Code: "urn:no:ehelse:document:pdf", Scheme: "1.3.6.1.4.1.19376.1.2.3"}, nil},
		{AttrFormatCode, Code{Code: "urn:no:kith:xmlstds:henvisning", Scheme: "any-scheme"}, nil},
		{AttrFormatCode, Code{Code: "urn:ihe:pcc:xphr:2007", Scheme: "1.3.6.1.4.1.19376.1.2.3"}, ErrUnknownCode},
		{AttrFormatCode, Code{Code: "urn:x:unknown", Scheme: "9.9"}, ErrUnknownScheme},
		{AttrFacilityTypeCode, Code{Code: "86.101", Scheme: "2.16.578.1.12.4.1.1.1303"}, nil},
		{AttrFacilityTypeCode, Code{Code: "99.999", Scheme: "2.16.578.1.12.4.1.1.1303"}, ErrUnknownCode},
		{AttrFacilityTypeCode, Code{Code: "anything", Scheme: "2.16.578.1.12.4.1.1.1305"}, nil}, // open
		{AttrPracticeSettingCode, Code{Code: "S03", Scheme: "2.16.578.1.12.4.1.1.8655"}, nil},
		{AttrPracticeSettingCode, Code{Code: "42", Scheme: "2.16.578.1.12.4.1.1.8653"}, nil}, // open
		{AttrPracticeSettingCode, Code{Code: "S03", Scheme: "2.16.578.1.12.4.1.1.9999"}, ErrUnknownScheme},
		{AttrEventCodeList, Code{Code: "whatever", Scheme: "1.2.3"}, nil},   // not constrained
		{AttrContentTypeCode, Code{Code: "whatever", Scheme: "1.2.3"}, nil}, // not constrained
	}
	for _, tc := range tests {
		err := vs.Check(tc.attr, tc.code)
		if tc.want == nil && err != nil {
			t.Errorf("Check(%s, %+v) = %v, want accepted", tc.attr, tc.code, err)
		}
		if tc.want != nil {
			var ce *CodeError
			if !errors.Is(err, tc.want) || !errors.As(err, &ce) || ce.Attribute != tc.attr || ce.Code != tc.code {
				t.Errorf("Check(%s, %+v) = %v, want %v", tc.attr, tc.code, err, tc.want)
			}
		}
	}

	if err := vs.CheckTypeInClass(Code{Code: "A00-1", Scheme: v9602}, Code{Code: "A03-2", Scheme: v9602}); err != nil {
		t.Errorf("A03-2 in A00-1: %v", err)
	}
	if err := vs.CheckTypeInClass(Code{Code: "A00-1", Scheme: v9602}, Code{Code: "A13-2", Scheme: "urn:oid:" + v9602}); err != nil {
		t.Errorf("A13-2 (urn:oid scheme) in A00-1: %v", err)
	}
	if err := vs.CheckTypeInClass(Code{Code: "E00-1", Scheme: v9602}, Code{Code: "A03-2", Scheme: v9602}); !errors.Is(err, ErrTypeNotInClass) {
		t.Errorf("A03-2 in E00-1: %v, want ErrTypeNotInClass", err)
	}

	for _, tc := range []struct{ attr, scheme, code, want string }{
		{AttrClassCode, v9602, "A00-1", "Epikriser og Sammenfatninger"},
		{AttrTypeCode, v9602, "E01-2", "Bildediagnostiske svar"},
		{AttrConfidentialityCode, v9603, "NORS", "Sperret"},
		{AttrFacilityTypeCode, "2.16.578.1.12.4.1.1.1303", "86.211", "Allmenn legetjeneste"},
		{AttrPracticeSettingCode, "2.16.578.1.12.4.1.1.8655", "KX17", "Fastlege, liste uten fast lege"},
		{AttrClassCode, v9602, "Z00-1", ""},
		{AttrEventCodeList, "1.2", "x", ""},
	} {
		if got := vs.Display(tc.attr, tc.scheme, tc.code); got != tc.want {
			t.Errorf("Display(%s, %s, %s) = %q, want %q", tc.attr, tc.scheme, tc.code, got, tc.want)
		}
	}
	if n := len(vs.Codes(AttrClassCode, v9602)); n != 9 {
		t.Errorf("%d class codes, want 9", n)
	}
	if n := len(vs.Codes(AttrTypeCode, v9602)); n != 55 {
		t.Errorf("%d type codes, want 55", n)
	}
	// Every type code names a class code that exists.
	for _, c := range vs.Codes(AttrTypeCode, v9602) {
		class := Code{Code: c.Code[:1] + "00-1", Scheme: v9602}
		if err := vs.Check(AttrClassCode, class); err != nil {
			t.Errorf("type %s: class %s: %v", c.Code, class.Code, err)
		}
		if err := vs.CheckTypeInClass(class, c); err != nil {
			t.Errorf("type %s: %v", c.Code, err)
		}
	}
}

func TestLoadValueSets(t *testing.T) {
	custom := `{"profile": "test", "attributes": {
		"eventCodeList": {"systems": [{"system": "1.2.3", "codes": [{"code": "E1", "display": "Event one"}]}]}}}`
	vs, err := LoadValueSets(strings.NewReader(custom))
	if err != nil {
		t.Fatal(err)
	}
	if err := vs.Check(AttrEventCodeList, Code{Code: "E1", Scheme: "1.2.3"}); err != nil {
		t.Error(err)
	}
	if err := vs.Check(AttrEventCodeList, Code{Code: "E2", Scheme: "1.2.3"}); !errors.Is(err, ErrUnknownCode) {
		t.Errorf("E2: %v", err)
	}
	if err := vs.Check(AttrClassCode, Code{Code: "anything", Scheme: "x"}); err != nil {
		t.Errorf("unconstrained classCode: %v", err)
	}
	if !vs.Constrains(AttrEventCodeList) || vs.Constrains(AttrClassCode) {
		t.Error("Constrains")
	}

	for name, bad := range map[string]string{
		"not json":          `{`,
		"unknown attribute": `{"attributes": {"colourCode": {"systems": []}}}`,
		"unknown key":       `{"attributes": {"classCode": {"systems": [{"system": "1.2", "closed": true}]}}}`,
		"empty system":      `{"attributes": {"classCode": {"systems": [{"system": ""}]}}}`,
		"empty code":        `{"attributes": {"classCode": {"systems": [{"system": "1.2", "codes": [{"code": ""}]}]}}}`,
		"duplicate code":    `{"attributes": {"classCode": {"systems": [{"system": "1.2", "codes": [{"code": "a"}, {"code": "a"}]}]}}}`,
		"duplicate system":  `{"attributes": {"classCode": {"systems": [{"system": "1.2"}, {"system": "x", "aliases": ["1.2"]}]}}}`,
	} {
		if _, err := LoadValueSets(strings.NewReader(bad)); err == nil {
			t.Errorf("%s: loaded", name)
		}
	}
}
