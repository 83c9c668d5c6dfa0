package gateway_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"strings"
	"testing"

	"pjd/gateway"
)

// fnr is a synthetic F-nr (month + 80, valid check digits).
const fnr = "12887040093"

type person struct {
	Name string
	PID  string
}

type pidValuer struct{}

func (pidValuer) LogValue() slog.Value { return slog.StringValue("resolved " + fnr) }

type badStringer struct{}

func (badStringer) String() string { panic("boom") }

// No log record may carry an identity number or a person's name under a
// personal key, whatever the handler's format and wherever the value is.
func TestRedactingHandler(t *testing.T) {
	for _, format := range []string{"json", "text"} {
		t.Run(format, func(t *testing.T) {
			var buf bytes.Buffer
			var inner slog.Handler = slog.NewJSONHandler(&buf, nil)
			if format == "text" {
				inner = slog.NewTextHandler(&buf, nil)
			}
			log := slog.New(gateway.NewRedactingHandler(inner))
			ctx := gateway.WithRequestID(context.Background(), "req-77")
			u, _ := url.Parse("https://pjd.test/fhir/R4/DocumentReference?patient.identifier=urn:oid:2.16.578.1.12.4.1.4.1|" + fnr)
			log.InfoContext(ctx, "search for patient "+fnr+" failed",
				"patient", fnr, "PID", "x", "Name", "Kari Nordmann", "token", "eyJhbGciOi...",
				"query", "patient.identifier="+fnr,
				"cx", fnr+"^^^&2.16.578.1.12.4.1.4.1&ISO",
				"glued", "pid"+fnr, "underscored", "fnr_"+fnr, "suffixed", fnr+"abc",
				"list", fnr+","+fnr,
				"err", fmt.Errorf("lookup of %s: %w", fnr, errors.New("not found")),
				"ids", []string{"a", fnr},
				"who", person{Name: "x", PID: fnr},
				"url", u,
				"raw", json.RawMessage(`{"pid":"`+fnr+`"}`),
				"valuer", pidValuer{},
				"stringer", badStringer{},
				slog.Group("ctx", "patient_id", fnr, "note", "about "+fnr, slog.Group("deeper", "subject", "Kari", "v", fnr)),
				"number", int64(12887040093), "float", 12887040093.0, "unsigned", uint64(12887040093),
				"kept", "2.999.578.1", "hpr", "565500013", "twelve", "123456789012",
			)
			log.With("fnr", fnr, "clientpid", "pid="+fnr).WithGroup("g").Info("with attrs", "x", fnr)
			out := buf.String()
			if strings.Contains(out, fnr) || strings.Contains(out, "40093") {
				t.Fatalf("an identity number reached the log:\n%s", out)
			}
			for _, gone := range []string{"Kari Nordmann", "eyJhbGciOi"} {
				if strings.Contains(out, gone) {
					t.Fatalf("%q reached the log:\n%s", gone, out)
				}
			}
			for _, kept := range []string{"2.999.578.1", "565500013", "123456789012", "req-77", "not found", "search for patient ***********"} {
				if !strings.Contains(out, kept) {
					t.Errorf("%q is missing from the log:\n%s", kept, out)
				}
			}
		})
	}
}

func TestRedactingHandlerEnabled(t *testing.T) {
	h := gateway.NewRedactingHandler(slog.NewJSONHandler(&bytes.Buffer{}, &slog.HandlerOptions{Level: slog.LevelWarn}))
	if h.Enabled(context.Background(), slog.LevelInfo) || !h.Enabled(context.Background(), slog.LevelError) {
		t.Fatal("Enabled does not follow the wrapped handler")
	}
	if gateway.RequestIDFrom(context.Background()) != "" {
		t.Fatal("a request id out of nowhere")
	}
}

// The server's own request log never carries the identity numbers that
// travel in URLs and headers.
func TestServerLogsNoPersonalData(t *testing.T) {
	h := newHarness(t, options{devLoopback: true})
	h.seed()
	tok := h.token("fastlege", patientP)
	h.do(tok, "GET", "/fhir/R4/DocumentReference?patient.identifier=urn:oid:2.16.578.1.12.4.1.4.1|"+patientP, nil, nil)
	h.do(nil, "GET", "/fhir/R4/DocumentReference?patient.identifier=urn:oid:2.16.578.1.12.4.1.4.1|"+patientP, nil, nil)
	h.do(tok, "GET", "/mhd/document?repositoryUniqueId=1.2&uniqueId=x", nil, map[string][]string{"nhn-patient-nin": {patientP}})
	if logs := h.logs.String(); strings.Contains(logs, patientP) || strings.Contains(logs, mustPersona("fastlege").PID) {
		t.Fatalf("personal data in the server log:\n%s", logs)
	}
}
