package sqlstore_test

import (
	"bytes"
	"encoding/json"
	"math/rand/v2"
	"reflect"
	"slices"
	"strings"
	"testing"

	"pjd/registry"
	"pjd/registry/internal/sqlstore"
	"pjd/registry/registrytest"
)

// bodyForms returns the texts a stored body of v can come back as: what
// json.Marshal writes (the SQLite TEXT column), the same indented, and
// the form of PostgreSQL's jsonb output (members ordered by name length
// then bytes, ", " and ": " separators, no escapes but the required ones).
func bodyForms(t *testing.T, v any) map[string][]byte {
	t.Helper()
	compact, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	var indented bytes.Buffer
	if err := json.Indent(&indented, compact, "", "\t"); err != nil {
		t.Fatal(err)
	}
	dec := json.NewDecoder(bytes.NewReader(compact))
	dec.UseNumber()
	var tree any
	if err := dec.Decode(&tree); err != nil {
		t.Fatal(err)
	}
	var jsonb bytes.Buffer
	writeJSONB(t, &jsonb, tree)
	return map[string][]byte{"marshal": compact, "indented": indented.Bytes(), "jsonb": jsonb.Bytes()}
}

func writeJSONB(t *testing.T, w *bytes.Buffer, v any) {
	switch v := v.(type) {
	case map[string]any:
		names := make([]string, 0, len(v))
		for n := range v {
			names = append(names, n)
		}
		slices.SortFunc(names, func(a, b string) int {
			if len(a) != len(b) {
				return len(a) - len(b)
			}
			return strings.Compare(a, b)
		})
		w.WriteByte('{')
		for i, n := range names {
			if i > 0 {
				w.WriteString(", ")
			}
			writeJSONB(t, w, n)
			w.WriteString(": ")
			writeJSONB(t, w, v[n])
		}
		w.WriteByte('}')
	case []any:
		w.WriteByte('[')
		for i, e := range v {
			if i > 0 {
				w.WriteString(", ")
			}
			writeJSONB(t, w, e)
		}
		w.WriteByte(']')
	case string:
		enc := json.NewEncoder(w)
		enc.SetEscapeHTML(false)
		if err := enc.Encode(v); err != nil {
			t.Fatal(err)
		}
		w.Truncate(w.Len() - 1) // Encode's newline
	case json.Number:
		w.WriteString(string(v))
	default:
		b, err := json.Marshal(v)
		if err != nil {
			t.Fatal(err)
		}
		w.Write(b)
	}
}

// escapes is text that json.Marshal escapes (HTML characters, U+2028/9,
// control characters) and jsonb gives back unescaped, and characters
// outside the BMP.
const escapes = " <b>&amp;</b>\u2028\u2029\t\r\n\x01\x1f \"\\/ 😀 \U0010FFFF æøå"

// checkSame decodes every body form of want with encoding/json (the
// decoder the store used before) and with the store's decodeBody, and
// requires the same value from both, equal to want.
func checkSame[T any](t *testing.T, kind string, want *T) {
	t.Helper()
	for form, body := range bodyForms(t, want) {
		old := new(T)
		if err := json.Unmarshal(body, old); err != nil {
			t.Fatalf("%s %s: encoding/json: %v", kind, form, err)
		}
		got, err := sqlstore.DecodeBody[T](kind, body)
		if err != nil {
			t.Fatalf("%s %s: decodeBody: %v\n%s", kind, form, err, body)
		}
		if !reflect.DeepEqual(got, old) {
			t.Errorf("%s %s: decodeBody gives\n%+v\nencoding/json gives\n%+v", kind, form, got, old)
		}
		if !reflect.DeepEqual(got, want) {
			t.Errorf("%s %s: decodeBody gives\n%+v\nwant\n%+v", kind, form, got, want)
		}
	}
}

// TestDecodeBodySameAsEncodingJSON round-trips the registry's fixtures
// (every field filled, minimal, synthetic, empty, strings needing
// escapes) through encoding/json and through decodeBody.
func TestDecodeBodySameAsEncodingJSON(t *testing.T) {
	p := registrytest.PatientID(3)
	zero := int64(0)

	docs := []*registry.DocumentEntry{registrytest.FullDocument(), registrytest.Document(1, p), {}}
	withZeroSize := registrytest.Document(2, p)
	withZeroSize.Size = &zero
	docs = append(docs, withZeroSize)
	escaped := registrytest.FullDocument()
	escaped.Title += escapes
	escaped.Authors[0].Person += escapes
	escaped.Extra[0].Values = append(escaped.Extra[0].Values, escapes, "")
	escaped.Events[0].Display = escapes
	docs = append(docs, escaped)
	rng := rand.New(rand.NewPCG(1, 2))
	for n := range 50 {
		docs = append(docs, sqlstore.SyntheticDocument(rng, n, sqlstore.SyntheticPatientID(n)))
	}
	for _, d := range docs {
		checkSame(t, "DocumentEntry", d)
	}

	ss := registrytest.FullSubmissionSet()
	ss.Comments += escapes
	for _, s := range []*registry.SubmissionSet{registrytest.FullSubmissionSet(), registrytest.SubmissionSet(1, p), ss, {}} {
		checkSame(t, "SubmissionSet", s)
	}
	f := registrytest.FullFolder()
	f.Codes[0].Display = escapes
	for _, f := range []*registry.Folder{registrytest.FullFolder(), registrytest.Folder(1, p), f, {}} {
		checkSame(t, "Folder", f)
	}
	a := registrytest.FullAssociation()
	a.Documentation = &registry.Code{}
	for _, a := range []*registry.Association{registrytest.FullAssociation(), registrytest.Association(1, "x", "y"), a, {}} {
		checkSame(t, "Association", a)
	}
}

// TestDecodeBodyMalformed: a corrupt body is an error naming the kind of
// object, never a panic and never a value.
func TestDecodeBodyMalformed(t *testing.T) {
	for _, c := range []struct{ name, body string }{
		{"empty", ""},
		{"blank", "  \n"},
		{"unterminated", `{"id":"a"`},
		{"array", `[]`},
		{"null", `null`},
		{"number", `42`},
		{"string", `"urn:uuid:x"`},
		{"true", `true`},
		{"trailing", `{"id":"a"} x`},
		{"two objects", `{"id":"a"}{"id":"b"}`},
		{"id not a string", `{"id":1}`},
		{"size not a number", `{"size":"12"}`},
		{"size fraction", `{"size":1.5}`},
		{"size overflows", `{"size":9223372036854775808}`},
		{"authors not a list", `{"authors":{}}`},
		{"author not an object", `{"authors":["x"]}`},
		{"code not an object", `{"classCode":"A"}`},
		{"list of numbers", `{"sourcePatientInfo":[1]}`},
		{"bad escape", `{"id":"\x"}`},
		{"short unicode escape", `{"id":"\u12"}`},
		{"control character", "{\"id\":\"a\x01b\"}"},
		{"invalid UTF-8", "{\"id\":\"\xff\"}"},
		{"duplicate name", `{"id":"a","id":"b"}`},
		{"missing colon", `{"id" "a"}`},
		{"trailing comma", `{"id":"a",}`},
		{"single quotes", `{'id':'a'}`},
		{"NaN", `{"size":NaN}`},
	} {
		t.Run(c.name, func(t *testing.T) {
			v, err := sqlstore.DecodeBody[registry.DocumentEntry]("DocumentEntry", []byte(c.body))
			if err == nil || v != nil {
				t.Fatalf("decodeBody(%q) = %+v, %v; want an error", c.body, v, err)
			}
			if !strings.Contains(err.Error(), "decoding stored DocumentEntry") {
				t.Errorf("error %q does not name the stored object", err)
			}
		})
	}
}

// TestDecodeBodyDamaged cuts and corrupts a full body at every byte:
// every proper prefix is an error, and no changed byte panics.
func TestDecodeBodyDamaged(t *testing.T) {
	body, err := json.Marshal(registrytest.FullDocument())
	if err != nil {
		t.Fatal(err)
	}
	for n := range len(body) {
		if v, err := sqlstore.DecodeBody[registry.DocumentEntry]("DocumentEntry", body[:n]); err == nil {
			t.Fatalf("prefix of %d bytes decoded: %+v", n, v)
		}
	}
	damaged := make([]byte, len(body))
	for i := range body {
		for _, b := range []byte{0, '"', '\\', '{', ']', ',', 0xff, 'x'} {
			copy(damaged, body)
			damaged[i] = b
			v, err := sqlstore.DecodeBody[registry.DocumentEntry]("DocumentEntry", damaged)
			if (v == nil) == (err == nil) {
				t.Fatalf("byte %d set to %q: %v, %v", i, b, v, err)
			}
		}
	}
}

// BenchmarkDecodeBody decodes the body of a synthetic DocumentEntry (the
// ones BenchmarkFindDocuments loads) in its jsonb form, with encoding/json
// (the baseline: the store's decoder before) and with decodeBody.
func BenchmarkDecodeBody(b *testing.B) {
	t := &testing.T{}
	d := sqlstore.SyntheticDocument(rand.New(rand.NewPCG(1, 2)), 1, sqlstore.SyntheticPatientID(1))
	body := bodyForms(t, d)["jsonb"]
	b.Run("encoding-json", func(b *testing.B) {
		b.ReportAllocs()
		b.SetBytes(int64(len(body)))
		for b.Loop() {
			var v registry.DocumentEntry
			if err := json.Unmarshal(body, &v); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("decodeBody", func(b *testing.B) {
		b.ReportAllocs()
		b.SetBytes(int64(len(body)))
		for b.Loop() {
			if _, err := sqlstore.DecodeBody[registry.DocumentEntry]("DocumentEntry", body); err != nil {
				b.Fatal(err)
			}
		}
	})
}
