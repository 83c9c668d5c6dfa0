package sqlstore

import (
	"fmt"
	"reflect"
	"regexp"
	"strings"
	"unicode/utf8"
)

// NormDTM returns an HL7 DTM value normalised to 14 digits (missing digits
// are zero, digits beyond seconds are dropped), the form stored in the query
// columns so that string comparison is time comparison. ok is false when v
// does not start with a digit: such a value is stored as NULL and never
// matches a bounded range.
func NormDTM(v string) (norm string, ok bool) {
	n := 0
	for n < len(v) && n < 14 && v[n] >= '0' && v[n] <= '9' {
		n++
	}
	if n == 0 {
		return "", false
	}
	return v[:n] + strings.Repeat("0", 14-n), true
}

// dtmSuffix is what may follow the digits of a DTM: fractional seconds
// (after a full 14 digits) and a time zone offset.
var dtmSuffix = regexp.MustCompile(`^(\.[0-9]{1,4})?([+-][0-9]{4})?$`)

// dtmBound normalises a TimeRange bound. A bound must be a DTM: an even
// number of 4 to 14 digits (YYYY … YYYYMMDDhhmmss), optionally followed by
// fractional seconds or a time zone, which are ignored.
func dtmBound(v string) (string, error) {
	n := 0
	for n < len(v) && v[n] >= '0' && v[n] <= '9' {
		n++
	}
	if n < 4 || n%2 != 0 || n > 14 || !dtmSuffix.MatchString(v[n:]) || (n < 14 && strings.HasPrefix(v[n:], ".")) {
		return "", fmt.Errorf("%w: time bound %q is not a DTM (YYYY[MM[DD[hh[mm[ss[.s]]]]]][+/-zzzz])", ErrInvalid, v)
	}
	norm, _ := NormDTM(v)
	return norm, nil
}

// CheckStrings walks v (structs, pointers, slices, strings) and rejects any
// string that is not valid UTF-8 or holds a NUL byte: PostgreSQL refuses
// both, SQLite would store them, and encoding/json would silently replace
// invalid bytes — so both backends refuse them up front, alike.
func CheckStrings(what string, v any) error {
	bad := func(s string) bool { return !utf8.ValidString(s) || strings.IndexByte(s, 0) >= 0 }
	// A fast pass without paths; the slow one only to name the culprit.
	if walkStrings(reflect.ValueOf(v), func(_ func() string, s string) error {
		if bad(s) {
			return ErrInvalid
		}
		return nil
	}, nil) == nil {
		return nil
	}
	return walkStrings(reflect.ValueOf(v), func(path func() string, s string) error {
		if !utf8.ValidString(s) {
			return fmt.Errorf("%w: %s%s is not valid UTF-8", ErrInvalid, what, path())
		}
		if strings.IndexByte(s, 0) >= 0 {
			return fmt.Errorf("%w: %s%s contains a NUL byte", ErrInvalid, what, path())
		}
		return nil
	}, func() string { return "" })
}

// walkStrings calls fn for every string reachable from v. path, when not
// nil, names the current position (built only when asked for).
func walkStrings(v reflect.Value, fn func(path func() string, s string) error, path func() string) error {
	switch v.Kind() {
	case reflect.String:
		return fn(path, v.String())
	case reflect.Pointer, reflect.Interface:
		if v.IsNil() {
			return nil
		}
		return walkStrings(v.Elem(), fn, path)
	case reflect.Slice, reflect.Array:
		for i := 0; i < v.Len(); i++ {
			var p func() string
			if path != nil {
				p = func() string { return fmt.Sprintf("%s[%d]", path(), i) }
			}
			if err := walkStrings(v.Index(i), fn, p); err != nil {
				return err
			}
		}
	case reflect.Struct:
		t := v.Type()
		for i := 0; i < v.NumField(); i++ {
			if !t.Field(i).IsExported() {
				continue
			}
			var p func() string
			if path != nil {
				p = func() string { return path() + "." + t.Field(i).Name }
			}
			if err := walkStrings(v.Field(i), fn, p); err != nil {
				return err
			}
		}
	}
	return nil
}
