package soap

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/beevik/etree"
)

var errSecret = errors.New(`pq: duplicate key "documents_pkey" in /var/lib/pjd/blobs/12838549045`)

func TestWriteFaultWire(t *testing.T) {
	custom := SenderFault("Custom rejection", errSecret)
	custom.Subcodes = []QName{{Space: "urn:pjd:test", Local: "Custom"}}
	custom.Detail = []*etree.Element{newElement("urn:pjd:test", "t", "Why")}
	custom.RelatesTo = testMsgID

	mu := faultf(CodeMustUnderstand, ErrNotUnderstood, nil, "One or more mandatory SOAP header blocks not understood")
	mu.NotUnderstood = []QName{{Space: "urn:vendor", Local: "Tracking"}}

	tests := []struct {
		name      string
		fault     *Fault
		status    int
		ctPrefix  string
		code      string
		subcodes  []string
		action    string
		relatesTo string
		header    string // a header block the fault must carry
	}{
		{"sender", SenderFault("The request is not valid", errSecret), 400, MediaSOAP12, env12("Sender"), nil, ActionSOAPFault, "", ""},
		{"receiver", ReceiverFault("The registry is not available", errSecret), 500, MediaSOAP12, env12("Receiver"), nil, ActionSOAPFault, "", ""},
		{"action not supported", ActionNotSupportedFault("urn:x"), 400, MediaSOAP12, env12("Sender"), []string{wsa("ActionNotSupported")}, ActionAddressingFault, "", ""},
		{"addressing header required", headerRequired("Action"), 400, MediaSOAP12, env12("Sender"), []string{wsa("MessageAddressingHeaderRequired")}, ActionAddressingFault, "", ""},
		{"invalid cardinality", invalidHeader("To", SubcodeInvalidCardinality, errSecret), 400, MediaSOAP12, env12("Sender"),
			[]string{wsa("InvalidAddressingHeader"), wsa("InvalidCardinality")}, ActionAddressingFault, "", ""},
		{"custom subcode", custom, 400, MediaSOAP12, env12("Sender"), []string{"{urn:pjd:test}Custom"}, ActionSOAPFault, testMsgID, ""},
		{"must understand", mu, 500, MediaSOAP12, env12("MustUnderstand"), nil, ActionSOAPFault, "", "NotUnderstood"},
		{"version mismatch 1.2", versionMismatch(false, errSecret), 500, MediaSOAP12, env12("VersionMismatch"), nil, ActionSOAPFault, "", "Upgrade"},
		{"version mismatch to 1.1 sender", versionMismatch(true, errSecret), 500, "text/xml", "{" + NSEnvelope11 + "}VersionMismatch", nil, "", "", "Upgrade"},
		{"unsupported media", unsupportedMedia(errSecret), 415, MediaSOAP12, env12("Sender"), nil, ActionSOAPFault, "", ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			rec := httptest.NewRecorder()
			if err := WriteFault(rec, tc.fault); err != nil {
				t.Fatal(err)
			}
			resp := rec.Result()
			wf := readWireFault(t, resp)
			if wf.Status != tc.status || !strings.HasPrefix(wf.ContentType, tc.ctPrefix) {
				t.Errorf("status %d content type %q", wf.Status, wf.ContentType)
			}
			if wf.Code != tc.code || strings.Join(wf.Subcodes, " ") != strings.Join(tc.subcodes, " ") {
				t.Errorf("code %s subcodes %v", wf.Code, wf.Subcodes)
			}
			if wf.Reason != tc.fault.Reason {
				t.Errorf("reason %q", wf.Reason)
			}
			if wf.Action != tc.action || wf.RelatesTo != tc.relatesTo {
				t.Errorf("action %q relatesTo %q", wf.Action, wf.RelatesTo)
			}
			if tc.action != "" && !strings.Contains(wf.ContentType, `action="`+tc.action+`"`) {
				t.Errorf("content type %q lacks the action parameter", wf.ContentType)
			}
			if tc.header != "" && (wf.Header == nil || wf.Header.FindElement("./"+tc.header) == nil) {
				t.Errorf("no %s header:\n%s", tc.header, wf.Raw)
			}
			if strings.Contains(wf.Raw, "pq:") || strings.Contains(wf.Raw, "/var/lib") || strings.Contains(wf.Raw, "12838549045") {
				t.Errorf("internal detail leaked:\n%s", wf.Raw)
			}
		})
	}
}

func TestFaultErrorsAndKinds(t *testing.T) {
	f := SenderFault("The request is not valid", errSecret)
	if !errors.Is(f, errSecret) || !strings.Contains(f.Error(), "pq:") {
		t.Errorf("cause not kept for logs: %v", f)
	}
	var target *Fault
	if !errors.As(error(ActionNotSupportedFault("x")), &target) || !errors.Is(target, ErrActionNotSupported) {
		t.Error("ActionNotSupportedFault kind")
	}
	if !errors.Is(ReceiverFault("x", nil), ErrReceiver) {
		t.Error("ReceiverFault kind")
	}
	if got := (&Fault{Code: CodeSender, soap11: true}).HTTPStatus(); got != 500 {
		t.Errorf("SOAP 1.1 faults use 500, got %d", got)
	}
}

// TestFaultThroughClient: a fault written by WriteFault comes back from the
// Client as an equal *Fault.
func TestFaultThroughClient(t *testing.T) {
	want := SenderFault("Custom rejection", errSecret)
	want.Subcodes = []QName{SubcodeInvalidAddressingHeader, {Space: "urn:pjd:test", Local: "Deeper"}}
	d := newElement("urn:pjd:test", "t", "Why")
	d.SetText("because")
	want.Detail = []*etree.Element{d}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		req, err := ReadRequest(r, Limits{})
		if err != nil {
			t.Error(err)
			return
		}
		f := *want
		f.RelatesTo = req.Addressing.MessageID
		_ = WriteFault(w, &f)
	}))
	defer srv.Close()

	_, err := (&Client{}).Call(context.Background(), srv.URL, testAction, mustElement(t, queryBody))
	var got *Fault
	if !errors.As(err, &got) {
		t.Fatalf("err %v", err)
	}
	if got.Code != want.Code || got.Reason != want.Reason || len(got.Subcodes) != 2 ||
		got.Subcodes[0] != want.Subcodes[0] || got.Subcodes[1] != want.Subcodes[1] || !strings.HasPrefix(got.RelatesTo, "urn:uuid:") {
		t.Errorf("got %+v", got)
	}
	if len(got.Detail) != 1 || got.Detail[0].Tag != "Why" || got.Detail[0].Text() != "because" || got.Detail[0].NamespaceURI() != "urn:pjd:test" {
		t.Errorf("detail %v", got.Detail)
	}
	if !errors.Is(err, ErrAddressing) || errors.Is(err, errSecret) {
		t.Errorf("kinds: %v", err)
	}
}
