package main

import (
	"os/exec"
	"path"
	"strings"
	"testing"
)

// testCode reports whether the package at importPath is test code: the
// standard library's testing packages, or a helper package of pjd's tests
// (conformance/testenv, registry/registrytest, gateway/audit/audittest,
// …) or anyone's (net/http/httptest). The runtime's own internal packages
// (internal/synctest, which package sync links) are not.
func testCode(importPath string) bool {
	if strings.HasPrefix(importPath, "internal/") {
		return false
	}
	last := path.Base(importPath)
	return importPath == "testing" || strings.HasPrefix(importPath, "testing/") ||
		strings.HasSuffix(last, "test") || strings.HasSuffix(last, "testenv")
}

// TestBinaryLinksNoTestCode: the pjd binary links no test code — not
// package testing, not testenv and no other test helper (issue 11): what
// starts throwaway services for pjd bench is conformance/services, the
// demo data is cmd/pjd/internal/demo. `go list -deps ./cmd/pjd | grep -x
// testing` prints nothing.
func TestBinaryLinksNoTestCode(t *testing.T) {
	out, err := exec.Command("go", "list", "-deps", ".").Output()
	if err != nil {
		if ee, ok := err.(*exec.ExitError); ok {
			t.Fatalf("go list -deps: %v\n%s", err, ee.Stderr)
		}
		t.Fatalf("go list -deps: %v", err)
	}
	deps := strings.Fields(string(out))
	if len(deps) < 50 || deps[len(deps)-1] != "pjd/cmd/pjd" {
		t.Fatalf("go list -deps listed %d packages, ending %q: not the binary's dependencies", len(deps), deps[len(deps)-1])
	}
	for _, d := range deps {
		if testCode(d) {
			t.Errorf("the pjd binary links %s", d)
		}
	}
}

func TestTestCode(t *testing.T) {
	for p, want := range map[string]bool{
		"testing": true, "testing/fstest": true, "net/http/httptest": true,
		"pjd/conformance/testenv": true, "pjd/registry/registrytest": true, "pjd/gateway/ui/uitest": true,
		"pjd/conformance/services": false, "pjd/conformance": false, "pjd/cmd/pjd/internal/demo": false,
		"pjd/gateway/audit": false, "net/http": false, "pjd/gateway/access": false, "internal/synctest": false,
	} {
		if got := testCode(p); got != want {
			t.Errorf("testCode(%q) = %v, want %v", p, got, want)
		}
	}
}
