package ebrim

import (
	"bytes"
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"reflect"
	"strconv"
	"strings"
	"testing"

	"github.com/beevik/etree"

	"pjd/registry"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata/ebrim/golden")

// testdata is this package's fixture folder in the repository.
const testdata = "../../testdata/ebrim"

func readSettings() etree.ReadSettings { return etree.ReadSettings{} }

// writeSettings keep CR, tab and newline in attribute values and CR in text
// exactly (plain etree output would let an XML parser normalise them).
func writeSettings() etree.WriteSettings {
	return etree.WriteSettings{CanonicalText: true, CanonicalAttrVal: true}
}

func loadElement(t testing.TB, path string) *etree.Element {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return parseElement(t, b)
}

func parseElement(t testing.TB, b []byte) *etree.Element {
	t.Helper()
	doc := etree.NewDocument()
	doc.ReadSettings = readSettings()
	if err := doc.ReadFromBytes(b); err != nil {
		t.Fatalf("reading XML: %v", err)
	}
	if doc.Root() == nil {
		t.Fatal("no root element")
	}
	return doc.Root()
}

// serialize writes el as an indented document. It works on a copy, so el
// stays detached and usable.
func serialize(t testing.TB, el *etree.Element) []byte {
	t.Helper()
	doc := etree.NewDocument()
	doc.WriteSettings = writeSettings()
	doc.CreateProcInst("xml", `version="1.0" encoding="UTF-8"`)
	doc.SetRoot(el.Copy())
	doc.IndentWithSettings(&etree.IndentSettings{Spaces: 2, PreserveLeafWhitespace: true})
	b, err := doc.WriteToBytes()
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// checkGolden compares got with testdata/ebrim/golden/name, or rewrites the
// file under -update.
func checkGolden(t *testing.T, name string, got []byte) {
	t.Helper()
	path := filepath.Join(testdata, "golden", name)
	if *update {
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test ./registry/ebrim -update to create it)", err)
	}
	if !bytes.Equal(want, got) {
		t.Errorf("%s differs from the golden file:\n%s", name, firstDiff(string(want), string(got)))
	}
}

func firstDiff(want, got string) string {
	wl, gl := strings.Split(want, "\n"), strings.Split(got, "\n")
	for i := 0; i < len(wl) || i < len(gl); i++ {
		var w, g string
		if i < len(wl) {
			w = wl[i]
		}
		if i < len(gl) {
			g = gl[i]
		}
		if w != g {
			return "line " + strconv.Itoa(i+1) + ":\n  want: " + w + "\n  got:  " + g
		}
	}
	return "(no line differs)"
}

func jsonString(v any) string {
	b, _ := json.MarshalIndent(v, "", "  ")
	return string(b)
}

// sameModel fails the test with both values as JSON when they differ.
// goldenRoundTrip checks the encoding el against its golden file, parses
// it back with parse and compares the result with want.
func goldenRoundTrip[T any](t *testing.T, golden string, el *etree.Element, parse func(*etree.Element) (T, error), what string, want T) {
	t.Helper()
	b := serialize(t, el)
	checkGolden(t, golden, b)
	got, err := parse(parseElement(t, b))
	if err != nil {
		t.Fatal(err)
	}
	sameModel(t, what, want, got)
}

func sameModel(t testing.TB, what string, want, got any) {
	t.Helper()
	if !reflect.DeepEqual(want, got) {
		t.Errorf("%s differs:\nwant %s\ngot  %s", what, jsonString(want), jsonString(got))
	}
}

// registryErrors asserts that err is a registry.ErrorList and returns it.
func registryErrors(t testing.TB, err error) registry.ErrorList {
	t.Helper()
	if err == nil {
		t.Fatal("expected an error, got nil")
	}
	l, ok := registry.AsErrors(err)
	if !ok {
		t.Fatalf("error %T (%v) is not a registry.ErrorList", err, err)
	}
	return l
}

func ptr[T any](v T) *T { return &v }
