package trust_test

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/beevik/etree"

	"pjd/trust"
)

// Seed corpora live in testdata/trust/fuzz/<target>/ (one seed per file;
// for two-argument targets, one argument per line).

func seedFiles(f *testing.F, dir string) [][]byte {
	f.Helper()
	paths, err := filepath.Glob(filepath.Join(testdataDir, "fuzz", dir, "*"))
	if err != nil || len(paths) == 0 {
		f.Fatalf("no seeds in testdata/trust/fuzz/%s: %v", dir, err)
	}
	var out [][]byte
	for _, p := range paths {
		b, err := os.ReadFile(p)
		if err != nil {
			f.Fatal(err)
		}
		out = append(out, b)
	}
	return out
}

// wantTyped fails unless err is nil or a non-internal *trust.Error.
func wantTyped(t *testing.T, err error) {
	t.Helper()
	if err == nil {
		return
	}
	var e *trust.Error
	if !errors.As(err, &e) {
		t.Fatalf("untyped error %T: %v", err, err)
	}
	if e.Kind == trust.KindInternal {
		t.Fatalf("internal error on input: %v", err)
	}
	if trust.Description(err) == "" {
		t.Fatalf("no description: %v", err)
	}
}

func FuzzParseAttestation(f *testing.F) {
	for _, s := range seedFiles(f, "attestation") {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		a, err := trust.ParseAttestation(data)
		wantTyped(t, err)
		if err != nil {
			return
		}
		wantTyped(t, a.Validate(testNow, trust.AttestationPolicy{}))
		wantTyped(t, a.CheckPractitioner("12887040093", "565500013"))
	})
}

func FuzzVerifyRequest(f *testing.F) {
	e := newEnv(f)
	tok := e.token(e.healthWorkerClaims())
	f.Add("DPoP "+tok, e.proof(http.MethodPost, testHTU, tok))
	for _, s := range seedFiles(f, "request") {
		sc := bufio.NewScanner(bytes.NewReader(s))
		sc.Buffer(nil, 1<<20)
		var lines []string
		for sc.Scan() {
			lines = append(lines, sc.Text())
		}
		for len(lines) < 2 {
			lines = append(lines, "")
		}
		f.Add(lines[0], lines[1])
	}
	f.Fuzz(func(t *testing.T, authz, dpop string) {
		r, _ := http.NewRequest(http.MethodPost, testHTU, nil)
		if authz != "" {
			r.Header.Set("Authorization", authz)
		}
		if dpop != "" {
			r.Header.Set("DPoP", dpop)
		}
		p, err := e.v.VerifyRequest(context.Background(), r, readReq)
		wantTyped(t, err)
		if err == nil && (p == nil || p.Kind != trust.HealthWorker) {
			t.Fatalf("accepted without a health-worker principal: %+v", p)
		}
	})
}

func FuzzDPoPProof(f *testing.F) {
	e := newEnv(f)
	f.Add(e.proof(http.MethodPost, testHTU, ""))
	for _, s := range seedFiles(f, "proof") {
		f.Add(string(s))
	}
	pv, err := trust.NewProofVerifier(trust.ProofConfig{Now: e.clock.Now, Replay: trust.NewMemoryReplayCache(e.clock.Now, 0)})
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, proof string) {
		_, err := pv.Verify(context.Background(), proof, trust.ProofCheck{Method: http.MethodPost, HTU: testHTU})
		wantTyped(t, err)
	})
}

func FuzzNormalizeHTU(f *testing.F) {
	for _, s := range seedFiles(f, "htu") {
		for _, line := range strings.Split(string(s), "\n") {
			f.Add(line)
		}
	}
	f.Fuzz(func(t *testing.T, s string) {
		n, err := trust.NormalizeHTU(s)
		if err != nil {
			return
		}
		n2, err := trust.NormalizeHTU(n)
		if err != nil || n2 != n {
			t.Fatalf("not idempotent: %q -> %q -> %q (%v)", s, n, n2, err)
		}
	})
}

// FuzzSAMLVerify parses arbitrary XML and verifies the Security header in
// it (or its root element).
func FuzzSAMLVerify(f *testing.F) {
	for _, s := range seedFiles(f, "saml") {
		f.Add(s)
	}
	doc := parseDoc(f, readFixture(f, sampleKJ))
	sign(f, assertionOf(f, doc), testSigners()[0], signOpts{}, nil)
	signed, err := doc.WriteToBytes()
	if err != nil {
		f.Fatal(err)
	}
	f.Add(signed)
	// A minted assertion (XUAMinter) in a WS-Security header.
	m := minter(kjNow)
	m.Issuer = "https://helseid-xdssaml.test.nhn.no"
	hw := healthWorker()
	hw.AttestedAt, hw.ExpiresAt = kjNow, kjNow.Add(time.Hour)
	for _, p := range []*trust.Principal{hw, citizen()} {
		a, err := m.Mint(p, "nhn:dokumentdeling-saml")
		if err != nil {
			f.Fatal(err)
		}
		md := etree.NewDocument()
		md.SetRoot(trust.SecurityHeader(a, kjNow))
		b, err := md.WriteToBytes()
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	v := samlVerifier(f, kjNow)
	f.Fuzz(func(t *testing.T, data []byte) {
		if len(data) > 1<<20 {
			return
		}
		d := etree.NewDocument()
		if err := d.ReadFromBytes(data); err != nil || d.Root() == nil {
			return
		}
		sec := d.Root()
		walkEl(d.Root(), func(el *etree.Element) {
			if el.Tag == "Security" && sec == d.Root() {
				sec = el
			}
		})
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		p, err := v.Verify(ctx, sec)
		wantTyped(t, err)
		if err == nil && p == nil {
			t.Fatal("nil principal without error")
		}
	})
}
