package trust

import (
	"errors"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/beevik/etree"
)

// FuzzSAMLAssertion drives the part of the SAML path that runs after the
// signature check — conditions, subject and attribute mapping — which a
// fuzzer cannot reach through Verify (any mutation breaks the signature).
func FuzzSAMLAssertion(f *testing.F) {
	paths, _ := filepath.Glob(filepath.Join("..", "testdata", "trust", "fuzz", "saml", "*.xml"))
	if len(paths) == 0 {
		f.Fatal("no SAML seeds")
	}
	for _, p := range paths {
		b, err := os.ReadFile(p)
		if err != nil {
			f.Fatal(err)
		}
		doc := etree.NewDocument()
		if err := doc.ReadFromBytes(b); err != nil {
			f.Fatal(err)
		}
		var a *etree.Element
		walk(doc.Root(), func(el *etree.Element) {
			if el.Tag == "Assertion" && a == nil {
				a = el
			}
		})
		if a == nil {
			continue
		}
		out := etree.NewDocument()
		out.SetRoot(a.Copy())
		s, err := out.WriteToString()
		if err != nil {
			f.Fatal(err)
		}
		f.Add(s)
	}
	now := time.Date(2025, 7, 31, 19, 0, 0, 0, time.UTC)
	v := &SAMLVerifier{cfg: SAMLConfig{
		Issuers:           []string{"https://helseid-xdssaml.test.nhn.no", "sikkerhet.helsenorge.no"},
		Audiences:         []string{"nhn:dokumentdeling-saml", "https://xds-web.test.nhn.no/"},
		Now:               func() time.Time { return now },
		Skew:              DefaultSkew,
		AttestationMaxAge: time.Hour,
	}}
	f.Fuzz(func(t *testing.T, data string) {
		doc := etree.NewDocument()
		if err := doc.ReadFromString(data); err != nil || doc.Root() == nil {
			return
		}
		p, err := v.principal(doc.Root())
		if err != nil {
			var e *Error
			if !errors.As(err, &e) || e.Kind == KindInternal {
				t.Fatalf("untyped or internal error: %v", err)
			}
			return
		}
		if p == nil || p.Subject == "" || p.SecurityLevel != 4 {
			t.Fatalf("accepted an incomplete principal: %+v", p)
		}
	})
}
