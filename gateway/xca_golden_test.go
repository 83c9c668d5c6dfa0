package gateway_test

import (
	"context"
	"flag"
	"os"
	"path/filepath"
	"regexp"
	"testing"

	"github.com/beevik/etree"

	"pjd/gateway/xca"
	"pjd/registry"
	"pjd/registry/ebrim"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata/xca")

// reDTM matches the HL7 DTM values of the metadata that follow the clock
// (submissionTime).
var reDTM = regexp.MustCompile(`<rim:Value>20\d{12}</rim:Value>`)

// goldenXCA compares the SOAP Body of an answer, with generated ids and
// times normalised, with testdata/xca/name (rewritten with -update).
func goldenXCA(t *testing.T, name string, body *etree.Element) {
	t.Helper()
	doc := etree.NewDocument()
	doc.SetRoot(body.Copy())
	doc.Indent(2)
	s, err := doc.WriteToString()
	if err != nil {
		t.Fatal(err)
	}
	s = normalise(s, xuaPatient)
	s = reDTM.ReplaceAllString(s, "<rim:Value>DTM</rim:Value>")
	path := filepath.Join("..", "testdata", "xca", name)
	if *update {
		if err := os.WriteFile(path, []byte(s), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test ./gateway -run TestXCAGolden -update to create it)", err)
	}
	if s != string(want) {
		t.Errorf("%s differs from the golden file (run with -update after checking):\n--- got\n%s\n--- want\n%s", name, s, want)
	}
}

// TestXCAGolden pins the wire form of the responding gateway's answers:
// an ITI-38 LeafClass and ObjectRef answer with home, the community
// errors of ITI-38 and ITI-39.
func TestXCAGolden(t *testing.T) {
	signer := newXUASigner(t)
	h := newXUAHarness(t, signer)
	c := xcaXUA(h, xuaSecurity(t, signer, nil))
	for _, tc := range []struct {
		name string
		q    *registry.Query
	}{
		{"iti38_finddocuments_leafclass.xml", findDocuments(xuaPatient)},
		{"iti38_getall_objectref.xml", getAll(xuaPatient, registry.ReturnObjectRef)},
		{"iti38_unknown_community.xml", byUniqueID(registry.SampleUniqueID(7001, 0), "urn:oid:9.9.9")},
		{"iti38_missing_home.xml", byUniqueID(registry.SampleUniqueID(7001, 0), "")},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, _, body, err := c.query(t, tc.q)
			if err != nil {
				t.Fatal(err)
			}
			goldenXCA(t, tc.name, body)
		})
	}
	t.Run("iti39_unknown_and_missing_community.xml", func(t *testing.T) {
		resp, err := c.c.CallMTOM(context.Background(), c.url, xca.ActionCrossGatewayRetrieve, ebrim.EncodeRetrieveDocumentSetRequest([]ebrim.DocumentRequest{
			{HomeCommunityID: "urn:oid:9.9.9", RepositoryUniqueID: registry.SampleRepositoryUniqueID, DocumentUniqueID: registry.SampleUniqueID(7001, 0)},
			{RepositoryUniqueID: registry.SampleRepositoryUniqueID, DocumentUniqueID: registry.SampleUniqueID(7001, 1)},
		}), nil)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Close()
		goldenXCA(t, "iti39_unknown_and_missing_community.xml", resp.Body())
	})
}
