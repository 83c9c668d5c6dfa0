package main

import (
	"context"
	"net/http"
	"testing"
	"time"

	"pjd/cmd/pjd/internal/demo"
	"pjd/gateway/xdsclient"
	"pjd/registry"
)

// TestDevServerSeedsAndServes starts the server as make run does (demo data
// on) and finds the demo patient's documents over ITI-18.
func TestDevServerSeedsAndServes(t *testing.T) {
	s := startServer(t, backendEmbedded, "--demo-data=true")
	c := xdsclient.New(s.URL, &http.Client{Timeout: time.Minute})
	p := demo.Patients()[0]
	res, rr, err := c.Query(context.Background(), &registry.Query{ID: registry.QueryFindDocuments, ReturnType: registry.ReturnLeafClass,
		Params: []registry.Slot{
			{Name: registry.ParamDocumentEntryPatientID, Values: []string{"'" + p.CX() + "'"}},
			{Name: registry.ParamDocumentEntryStatus, Values: []string{"('" + registry.StatusApproved + "')"}},
		}})
	if err != nil || rr.Errors.Failed() {
		t.Fatalf("query: %v %v", err, rr.Errors)
	}
	want := 0
	for _, d := range demo.Documents(time.Now()) {
		if d.Patient.ID == p.ID {
			want++
		}
	}
	if got := len(res.Documents); got != want-1 { // one was replaced (Deprecated)
		t.Fatalf("demo patient has %d approved documents, want %d", got, want-1)
	}
}
