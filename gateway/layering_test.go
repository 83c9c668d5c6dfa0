package gateway_test

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os/exec"
	"slices"
	"strings"
	"testing"
)

// The layering of pjd's packages (README, "Architecture"), checked on the
// import graph `go list -json ./...` reports, so that a package importing
// against it fails `make test`:
//
//   - registry depends on nothing of ours but its own packages (and
//     registry/oid, a leaf that imports nothing at all); repository only on
//     registry; trust only on registry/oid (DESIGN.md, with the one
//     departure the README records);
//   - registry, repository and trust never import gateway, nor does
//     anything import cmd — in tests neither;
//   - inside gateway: codecs (soap, fhir) import nothing else of gateway;
//     the pieces the adapters use (the HTTP server plumbing in the root
//     package, authn, audit, blocks, xdsclient) import neither the Guard
//     nor an adapter; the Guard (access) imports no adapter; the adapter
//     kits (internal/xdsadapt, what the XDS-over-SOAP adapters share) use
//     the Guard and import no adapter, and neither the pieces nor the
//     Guard import them; an adapter (xds, mhd, ui, auditapi, xca, and
//     those to come) imports no other adapter; every gateway package is in
//     one of these layers.

// gatewayLayers places each gateway package (with its subpackages, e.g.
// gateway/ui/uitest with gateway/ui); the root package "gateway" is only
// itself. A new package under gateway/ must be added here.
var gatewayLayers = map[string]layer{
	"gateway/soap": codec,
	"gateway/fhir": codec,

	"gateway":           piece, // HTTP server plumbing: Server, Limits, middleware, logging, metrics
	"gateway/authn":     piece,
	"gateway/audit":     piece,
	"gateway/blocks":    piece,
	"gateway/xdsclient": piece,
	"gateway/xcaclient": piece,
	"gateway/tracing":   piece,

	"gateway/access": guard,

	"gateway/internal/xdsadapt": kit,

	"gateway/xds":      adapter,
	"gateway/mhd":      adapter,
	"gateway/ui":       adapter,
	"gateway/auditapi": adapter,
	"gateway/xca":      adapter,
}

type layer int

const (
	unplaced layer = iota
	codec
	piece
	guard
	kit
	adapter
)

// pkg is a package of the module and what it imports, by paths relative
// to the module ("registry/oid"); imports from outside the module are
// kept with their full path.
type pkg struct {
	Path        string
	Imports     []string // of the package's own files
	TestImports []string // of its _test.go files (both packages)
}

func within(p, dir string) bool { return p == dir || strings.HasPrefix(p, dir+"/") }

// ours reports whether p is a package of the module (a relative path with
// a top-level folder of pjd's).
func ours(p string) bool {
	for _, top := range []string{"cmd", "registry", "repository", "trust", "gateway", "conformance"} {
		if within(p, top) {
			return true
		}
	}
	return false
}

// family is the gateway package that places p (p itself, or the nearest
// ancestor in gatewayLayers; "gateway" only for itself), or "".
func family(p string) string {
	if !within(p, "gateway") {
		return ""
	}
	if p == "gateway" {
		return p
	}
	for q := p; q != "gateway"; q = q[:strings.LastIndex(q, "/")] {
		if _, ok := gatewayLayers[q]; ok {
			return q
		}
	}
	return ""
}

func layerOf(p string) layer { return gatewayLayers[family(p)] }

// A rule says whether an import from → to breaks it; tests says whether it
// holds for test files too.
type rule struct {
	name   string
	tests  bool
	broken func(from, to string) bool
}

var rules = []rule{
	{"registry imports nothing of ours but registry", false, func(from, to string) bool {
		return within(from, "registry") && ours(to) && !within(to, "registry")
	}},
	{"registry/oid imports nothing at all", false, func(from, to string) bool {
		return from == "registry/oid" && to != "registry/oid"
	}},
	{"repository imports nothing of ours but repository and registry", false, func(from, to string) bool {
		return within(from, "repository") && ours(to) && !within(to, "repository") && !within(to, "registry")
	}},
	{"trust imports nothing of ours but trust and registry/oid", false, func(from, to string) bool {
		return within(from, "trust") && ours(to) && !within(to, "trust") && to != "registry/oid"
	}},
	{"registry, repository and trust never import gateway", true, func(from, to string) bool {
		return (within(from, "registry") || within(from, "repository") || within(from, "trust")) && within(to, "gateway")
	}},
	{"nothing imports cmd", true, func(from, to string) bool {
		return within(to, "cmd") && !within(from, "cmd")
	}},
	{"codecs import nothing else of gateway", false, func(from, to string) bool {
		return layerOf(from) == codec && within(to, "gateway") && family(to) != family(from)
	}},
	{"the pieces import neither the Guard nor an adapter or its kit", false, func(from, to string) bool {
		return layerOf(from) == piece && (layerOf(to) == guard || layerOf(to) == kit || layerOf(to) == adapter)
	}},
	{"the Guard imports no adapter nor its kit", false, func(from, to string) bool {
		return layerOf(from) == guard && (layerOf(to) == kit || layerOf(to) == adapter)
	}},
	{"an adapter kit imports no adapter", false, func(from, to string) bool {
		return layerOf(from) == kit && layerOf(to) == adapter
	}},
	{"adapters do not import each other", false, func(from, to string) bool {
		return layerOf(from) == adapter && layerOf(to) == adapter && family(to) != family(from)
	}},
}

// unplacedRule is broken by a gateway package missing from gatewayLayers,
// whatever it imports.
const unplacedRule = "every gateway package has a layer"

// violations lists every import in pkgs that breaks a rule, as
// "rule: from → to".
func violations(pkgs []pkg) []string {
	var out []string
	for _, p := range pkgs {
		if within(p.Path, "gateway") && layerOf(p.Path) == unplaced {
			out = append(out, fmt.Sprintf("%s: %s", unplacedRule, p.Path))
		}
		for _, r := range rules {
			check := func(imports []string, kind string) {
				for _, to := range imports {
					if r.broken(p.Path, to) {
						out = append(out, fmt.Sprintf("%s: %s%s → %s", r.name, p.Path, kind, to))
					}
				}
			}
			check(p.Imports, "")
			if r.tests {
				check(p.TestImports, " (tests)")
			}
		}
	}
	return out
}

// modulePackages runs go list over the module.
func modulePackages(t *testing.T) []pkg {
	t.Helper()
	cmd := exec.Command("go", "list", "-json=ImportPath,Module,Imports,TestImports,XTestImports", "./...")
	cmd.Dir = ".."
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("go list: %v\n%s", err, stderr.String())
	}
	var pkgs []pkg
	dec := json.NewDecoder(bytes.NewReader(out))
	for {
		var p struct {
			ImportPath                         string
			Module                             struct{ Path string }
			Imports, TestImports, XTestImports []string
		}
		if err := dec.Decode(&p); errors.Is(err, io.EOF) {
			break
		} else if err != nil {
			t.Fatal(err)
		}
		rel := func(paths []string) []string {
			var out []string
			for _, s := range paths {
				if r, ok := strings.CutPrefix(s, p.Module.Path+"/"); ok {
					s = r
				}
				if s != "" && s != "C" {
					out = append(out, s)
				}
			}
			return out
		}
		pkgs = append(pkgs, pkg{Path: rel([]string{p.ImportPath})[0], Imports: rel(p.Imports),
			TestImports: rel(append(p.TestImports, p.XTestImports...))})
	}
	if len(pkgs) < 20 {
		t.Fatalf("go list found %d packages; is this the module?", len(pkgs))
	}
	return pkgs
}

func TestLayering(t *testing.T) {
	pkgs := modulePackages(t)
	for _, v := range violations(pkgs) {
		t.Error(v)
	}
	// The rules are about packages that exist: each layer has one.
	seen := map[layer]bool{}
	for _, p := range pkgs {
		seen[layerOf(p.Path)] = true
	}
	for _, l := range []layer{codec, piece, guard, kit, adapter} {
		if !seen[l] {
			t.Errorf("no package in layer %d: gatewayLayers is out of date", l)
		}
	}
}

// TestLayeringRules shows that each rule fails on an import graph that
// breaks it, and passes the one that keeps it.
func TestLayeringRules(t *testing.T) {
	p := func(path string, imports ...string) pkg { return pkg{Path: path, Imports: imports} }
	for _, c := range []struct {
		name string
		pkgs []pkg
		want string // the rule broken, or "" for none
	}{
		{"the layout as it is meant", []pkg{
			p("registry", "registry/oid", "fmt"), p("registry/oid"), p("registry/postgres", "registry", "github.com/jackc/pgx/v5"),
			p("repository", "registry"), p("trust", "registry/oid"), p("trust/policy", "trust"),
			p("gateway", "gateway/soap", "gateway/fhir"), p("gateway/fhir", "registry/oid"), p("gateway/soap"),
			p("gateway/audit", "gateway/fhir"), p("gateway/audit/sqlaudit", "gateway/audit"), p("gateway/authn", "gateway/soap", "trust"),
			p("gateway/access", "gateway/audit", "registry", "repository", "trust"),
			p("gateway/mhd", "gateway", "gateway/access", "gateway/fhir", "gateway/authn"),
			p("gateway/internal/xdsadapt", "gateway", "gateway/access", "gateway/soap", "gateway/authn"),
			p("gateway/xds", "gateway/internal/xdsadapt"), p("gateway/xca", "gateway/internal/xdsadapt"),
			p("gateway/ui", "gateway", "gateway/access"), p("gateway/ui/uitest", "gateway/ui", "conformance/testenv"),
			p("cmd/pjd", "gateway/mhd", "gateway/xds", "gateway/ui"), p("conformance", "gateway/xdsclient"),
		}, ""},
		{"registry imports trust", []pkg{p("registry", "trust")}, "registry imports nothing of ours but registry"},
		{"registry imports the gateway", []pkg{p("registry/ebrim", "gateway/soap")}, "registry imports nothing of ours but registry"},
		{"the leaf gains an import", []pkg{p("registry/oid", "strings")}, "registry/oid imports nothing at all"},
		{"repository imports trust", []pkg{p("repository/s3", "trust")}, "repository imports nothing of ours but repository and registry"},
		{"trust imports the registry", []pkg{p("trust", "registry")}, "trust imports nothing of ours but trust and registry/oid"},
		{"trust tests import the gateway", []pkg{{Path: "trust", TestImports: []string{"gateway/soap"}}}, "registry, repository and trust never import gateway"},
		{"a package imports cmd", []pkg{p("conformance", "cmd/pjd")}, "nothing imports cmd"},
		{"a test imports cmd", []pkg{{Path: "gateway", TestImports: []string{"cmd/pjd"}}}, "nothing imports cmd"},
		{"an unplaced gateway package", []pkg{p("gateway/xyz", "gateway/soap")}, unplacedRule},
		{"a codec imports a piece", []pkg{p("gateway/fhir", "gateway/audit")}, "codecs import nothing else of gateway"},
		{"a codec imports the server", []pkg{p("gateway/soap", "gateway")}, "codecs import nothing else of gateway"},
		{"the server imports an adapter", []pkg{p("gateway", "gateway/mhd")}, "the pieces import neither the Guard nor an adapter or its kit"},
		{"the audit log imports the Guard", []pkg{p("gateway/audit", "gateway/access")}, "the pieces import neither the Guard nor an adapter or its kit"},
		{"the Guard imports an adapter", []pkg{p("gateway/access", "gateway/ui")}, "the Guard imports no adapter nor its kit"},
		{"the Guard imports an adapter kit", []pkg{p("gateway/access", "gateway/internal/xdsadapt")}, "the Guard imports no adapter nor its kit"},
		{"a piece imports an adapter kit", []pkg{p("gateway/authn", "gateway/internal/xdsadapt")}, "the pieces import neither the Guard nor an adapter or its kit"},
		{"an adapter kit imports an adapter", []pkg{p("gateway/internal/xdsadapt", "gateway/xds")}, "an adapter kit imports no adapter"},
		{"an adapter imports another", []pkg{p("gateway/mhd", "gateway/xds")}, "adapters do not import each other"},
		{"an adapter's subpackage imports another adapter", []pkg{p("gateway/ui/uitest", "gateway/auditapi")}, "adapters do not import each other"},
	} {
		t.Run(c.name, func(t *testing.T) {
			got := violations(c.pkgs)
			if c.want == "" {
				if len(got) != 0 {
					t.Fatalf("violations in a good graph: %q", got)
				}
				return
			}
			if !slices.ContainsFunc(got, func(v string) bool { return strings.HasPrefix(v, c.want+": ") }) {
				t.Fatalf("violations %q, want one of %q", got, c.want)
			}
		})
	}
}
