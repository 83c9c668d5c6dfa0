package soap

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"strconv"
	"strings"
	"testing"
)

// The fixtures in testdata/soap are modelled on what other IHE stacks put on
// the wire (see testdata/soap/README.md). Each positive fixture has a
// .parts file listing the attachments it carries: Content-ID, Content-Type,
// size and SHA-256, computed when the fixture was written.

func readParts(t *testing.T, name string) []string {
	t.Helper()
	b, err := os.ReadFile(testdataDir + strings.TrimSuffix(name, ".http") + ".parts")
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, l := range strings.Split(strings.TrimSpace(string(b)), "\n") {
		if l != "" {
			out = append(out, l)
		}
	}
	return out
}

// postFixture posts the request fixture name to a captureServer and
// returns the HTTP response and what the server read.
func postFixture(t *testing.T, name string) (*http.Response, result) {
	t.Helper()
	ct, body := loadRequest(t, name)
	url, results := captureServer(t, Limits{})
	resp := post(t, url, ct, bytes.NewReader(body))
	return resp, <-results
}

func loadRequest(t *testing.T, name string) (contentType string, body []byte) {
	t.Helper()
	f, err := os.Open(testdataDir + name)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	req, err := http.ReadRequest(bufio.NewReader(f))
	if err != nil {
		t.Fatalf("fixture %s is not an HTTP request: %v", name, err)
	}
	body, err = io.ReadAll(req.Body)
	if err != nil {
		t.Fatal(err)
	}
	return req.Header.Get("Content-Type"), body
}

func TestForeignMTOMRequests(t *testing.T) {
	tests := []struct {
		file   string
		action string
		docIDs []string // parent id of each xop:Include, in order
	}{
		{"cxf_iti41_request.http", testAction41, []string{"Document01", "Document02"}},
		{"wcf_iti41_request.http", testAction41, []string{"Document01"}},
		{"nist_iti43_request.http", testAction43, nil},
		{"lf_base64_iti41_request.http", testAction41, []string{"Document01"}},
	}
	for _, tc := range tests {
		t.Run(tc.file, func(t *testing.T) {
			resp, res := postFixture(t, tc.file)
			if res.err != nil {
				t.Fatalf("ReadRequest: %v", res.err)
			}
			if resp.StatusCode != 200 {
				t.Fatalf("status %d", resp.StatusCode)
			}
			if res.addr.Action != tc.action || res.addr.MessageID == "" {
				t.Errorf("addressing %+v", res.addr)
			}
			if !res.req.MTOM() {
				t.Error("not seen as MTOM")
			}
			var got []string
			for _, p := range res.parts {
				got = append(got, p.String())
			}
			if want := readParts(t, tc.file); strings.Join(got, "\n") != strings.Join(want, "\n") {
				t.Errorf("parts\n got %q\nwant %q", got, want)
			}
			if len(res.incs) != len(tc.docIDs) {
				t.Fatalf("%d includes, want %d", len(res.incs), len(tc.docIDs))
			}
			for i, inc := range res.incs {
				if id := inc.Element.Parent().SelectAttrValue("id", ""); id != tc.docIDs[i] {
					t.Errorf("include %d in %q, want %q", i, id, tc.docIDs[i])
				}
				if inc.ContentID != res.parts[i].ContentID {
					t.Errorf("include %d names %q, part %d is %q", i, inc.ContentID, i, res.parts[i].ContentID)
				}
			}
		})
	}
}

func TestForeignMTOMRequestsRejected(t *testing.T) {
	tests := []struct {
		file   string
		kind   error
		status int
	}{
		{"bad_start_not_first.http", ErrMalformed, 400},
		{"bad_truncated.http", ErrMalformed, 400},
		{"bad_include_file.http", ErrXOP, 400},
		{"bad_missing_part.http", ErrXOP, 400},
		{"bad_unreferenced_part.http", ErrXOP, 400},
		{"bad_duplicate_part.http", ErrXOP, 400},
		{"bad_soap11_root.http", ErrVersion, 500},
		{"bad_action_mismatch.http", ErrAddressing, 400},
	}
	for _, tc := range tests {
		t.Run(tc.file, func(t *testing.T) {
			resp, res := postFixture(t, tc.file)
			if !errors.Is(res.err, tc.kind) {
				t.Fatalf("error %v, want kind %v", res.err, tc.kind)
			}
			if resp.StatusCode != tc.status {
				t.Errorf("status %d, want %d", resp.StatusCode, tc.status)
			}
		})
	}
}

// fixtureServer answers every request with a response fixture, putting the
// request's MessageID where the fixture has its RelatesTo placeholder.
func fixtureServer(t *testing.T, name string) string {
	t.Helper()
	const placeholder = "urn:uuid:00000000-0000-4000-8000-RELATESTO000"
	raw, err := os.ReadFile(testdataDir + name)
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		req, err := ReadRequest(r, Limits{})
		if err != nil {
			t.Errorf("client request rejected: %v", err)
			return
		}
		fr, err := http.ReadResponse(bufio.NewReader(bytes.NewReader(raw)), nil)
		if err != nil {
			t.Errorf("fixture: %v", err)
			return
		}
		body, _ := io.ReadAll(fr.Body)
		body = bytes.ReplaceAll(body, []byte(placeholder), []byte(req.Addressing.MessageID))
		for k, v := range fr.Header {
			w.Header()[k] = v
		}
		w.Header().Set("Content-Length", strconv.Itoa(len(body)))
		w.WriteHeader(fr.StatusCode)
		_, _ = w.Write(body)
	}))
	t.Cleanup(srv.Close)
	return srv.URL
}

func TestForeignMTOMResponses(t *testing.T) {
	for _, name := range []string{"cxf_iti43_response.http", "wcf_iti39_response.http"} {
		t.Run(name, func(t *testing.T) {
			url := fixtureServer(t, name)
			c := &Client{}
			body := mustElement(t, `<xdsb:RetrieveDocumentSetRequest xmlns:xdsb="urn:ihe:iti:xds-b:2007"/>`)
			resp, err := c.CallMTOM(context.Background(), url, testAction43, body, nil)
			if err != nil {
				t.Fatalf("CallMTOM: %v", err)
			}
			defer resp.Close()
			if !resp.MTOM() || resp.Body().Tag != "RetrieveDocumentSetResponse" {
				t.Fatalf("response body %s", resp.Body().Tag)
			}
			var got []string
			for {
				p, err := resp.NextPart()
				if err == io.EOF {
					break
				}
				if err != nil {
					t.Fatal(err)
				}
				s, err := summarize(p)
				if err != nil {
					t.Fatal(err)
				}
				got = append(got, s.String())
			}
			if want := readParts(t, name); strings.Join(got, "\n") != strings.Join(want, "\n") {
				t.Errorf("parts\n got %q\nwant %q", got, want)
			}
			incs := resp.Includes()
			if len(incs) != 1 || incs[0].Element.Parent().Tag != "Document" {
				t.Errorf("includes %+v", incs)
			}
		})
	}
}

func TestForeignFaultResponse(t *testing.T) {
	url := fixtureServer(t, "cxf_fault_response.http")
	c := &Client{}
	_, err := c.Call(context.Background(), url, testAction, mustElement(t, queryBody))
	var f *Fault
	if !errors.As(err, &f) {
		t.Fatalf("error %v is not a *Fault", err)
	}
	if !errors.Is(err, ErrActionNotSupported) {
		t.Errorf("fault kind: %v", err)
	}
	if f.Code != CodeSender || len(f.Subcodes) != 1 || f.Subcodes[0] != SubcodeActionNotSupported {
		t.Errorf("code %s subcodes %v", f.Code, f.Subcodes)
	}
	if f.Reason != "A SOAP 1.2 message is not valid for this operation" {
		t.Errorf("reason %q", f.Reason)
	}
	if len(f.Detail) != 1 || f.Detail[0].FindElement("./Action").Text() != "urn:ihe:iti:2007:Unknown" {
		t.Errorf("detail %v", f.Detail)
	}
	if f.RelatesTo == "" {
		t.Error("fault RelatesTo not read")
	}
}
