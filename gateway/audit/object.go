package audit

import (
	"bytes"
	"encoding/json"
)

// Object is a JSON object that keeps its members in the order they were
// added, so rendered FHIR resources read like the published examples
// (resourceType first). It marshals with encoding/json.
type Object []Member

// Member is one name/value pair of an Object.
type Member struct {
	Name  string
	Value any
}

// Get returns the value of the first member called name, or nil.
func (o Object) Get(name string) any {
	for _, m := range o {
		if m.Name == name {
			return m.Value
		}
	}
	return nil
}

// MarshalJSON implements json.Marshaler.
func (o Object) MarshalJSON() ([]byte, error) {
	var b bytes.Buffer
	b.WriteByte('{')
	for i, m := range o {
		if i > 0 {
			b.WriteByte(',')
		}
		k, err := json.Marshal(m.Name)
		if err != nil {
			return nil, err
		}
		b.Write(k)
		b.WriteByte(':')
		v, err := json.Marshal(m.Value)
		if err != nil {
			return nil, err
		}
		b.Write(v)
	}
	b.WriteByte('}')
	return b.Bytes(), nil
}

// obj builds an Object from name, value pairs, leaving out members whose
// value is empty (nil, "", empty Object or slice) — FHIR forbids empty
// elements.
func obj(pairs ...any) Object {
	o := make(Object, 0, len(pairs)/2)
	for i := 0; i+1 < len(pairs); i += 2 {
		name := pairs[i].(string)
		v := pairs[i+1]
		if isEmpty(v) {
			continue
		}
		o = append(o, Member{Name: name, Value: v})
	}
	return o
}

func isEmpty(v any) bool {
	switch x := v.(type) {
	case nil:
		return true
	case string:
		return x == ""
	case Object:
		return len(x) == 0
	case []Object:
		return len(x) == 0
	case []any:
		return len(x) == 0
	case []string:
		return len(x) == 0
	}
	return false
}
