package main

import (
	"context"
	"errors"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/beevik/etree"

	"pjd/cmd/pjd/internal/demo"
	"pjd/gateway/soap"
	"pjd/gateway/xca"
	"pjd/registry"
	"pjd/registry/ebrim"
	"pjd/trust"
	"pjd/trust/devissuer"
)

// TestXUAAcrossDevServers: a dev server's XUA certificate, written to
// <data>/dev-issuer/xua-cert.pem, makes another dev server (given it
// through --saml-cert) trust the assertions the first mints — here the one
// pjd token --format saml prints — on its responding gateway; an
// assertion for another audience is refused.
func TestXUAAcrossDevServers(t *testing.T) {
	a := startServer(t, backendEmbedded)
	certFile := filepath.Join(a.Data, "dev-issuer", devissuer.FileDevXUACert)
	if _, err := os.Stat(certFile); err != nil {
		t.Fatalf("the dev XUA certificate was not written: %v", err)
	}
	const homeB = "urn:oid:2.999.578.3.2"
	b := startServer(t, backendEmbedded, "--demo-data=true", "--home-community-id", homeB,
		"--saml-cert", certFile, "--saml-issuer", a.URL+devXUAPath, "--saml-audience", homeB)
	patient := demo.Patients()[0]

	mint := func(audience string) *etree.Element {
		t.Helper()
		code, out, errOut := pjdRun(t, "token", "--url", a.URL, "--format", "saml", "--audience", audience, "--patient", patient.ID)
		if code != 0 {
			t.Fatalf("pjd token --format saml: %d %s", code, errOut)
		}
		doc := etree.NewDocument()
		if err := doc.ReadFromString(out); err != nil || doc.Root() == nil || doc.Root().Tag != "Assertion" {
			t.Fatalf("not an assertion: %v\n%s", err, out)
		}
		return doc.Root()
	}
	query := func(assertion *etree.Element) (*registry.QueryResult, registry.Response, *etree.Element, error) {
		c := &soap.Client{HTTP: &http.Client{Timeout: time.Minute}, Headers: func(context.Context, string) ([]*etree.Element, error) {
			return []*etree.Element{trust.SecurityHeader(assertion.Copy(), time.Now())}, nil
		}}
		q := &registry.Query{ID: registry.QueryFindDocuments, ReturnType: registry.ReturnLeafClass, Params: []registry.Slot{
			{Name: registry.ParamDocumentEntryPatientID, Values: []string{"'" + patient.CX() + "'"}},
			{Name: registry.ParamDocumentEntryStatus, Values: []string{"('" + registry.StatusApproved + "')"}}}}
		resp, err := c.Call(context.Background(), b.URL+xca.RespondingPath, xca.ActionCrossGatewayQuery, ebrim.EncodeAdhocQueryRequest(q))
		if err != nil {
			return nil, registry.Response{}, nil, err
		}
		defer resp.Close()
		res, rr, err := ebrim.ParseAdhocQueryResponse(resp.Body())
		return res, rr, resp.Body(), err
	}

	// /dev/xua mints only for a valid dev token.
	if resp, err := http.Get(a.URL + devXUAPath); err != nil || resp.StatusCode != http.StatusUnauthorized {
		t.Fatalf("GET /dev/xua without a token: %v %v, want 401", resp, err)
	} else {
		resp.Body.Close()
	}

	res, rr, body, err := query(mint(homeB))
	if err != nil || rr.Status != registry.ResponseSuccess || len(res.Documents) == 0 {
		t.Fatalf("B did not answer A's assertion: %v %+v", err, rr)
	}
	for _, eo := range body.FindElements("./RegistryObjectList/ExtrinsicObject") {
		if eo.SelectAttrValue("home", "") != homeB {
			t.Fatalf("ExtrinsicObject without B's home: %v", eo.Attr)
		}
	}

	_, _, _, err = query(mint("urn:oid:9.9.9"))
	var f *soap.Fault
	if !errors.As(err, &f) || len(f.Subcodes) == 0 || f.Subcodes[0].Space != soap.NSSecurity || !strings.Contains(f.Reason, "not meant for this service") {
		t.Fatalf("an assertion for another audience: err = %v, want a WS-Security fault", err)
	}
}
