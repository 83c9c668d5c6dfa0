package authn

import (
	"context"
	"crypto/x509"
	"encoding/asn1"
	"errors"
	"net"
	"regexp"
	"strings"

	"github.com/beevik/etree"

	"pjd/gateway/soap"
	"pjd/registry/oid"
	"pjd/trust"
)

// SOAP establishes who sends a SOAP request:
//   - a person, by the XUA SAML assertion in the WS-Security header
//     (consumers' ITI-18 / ITI-43), verified by SAML;
//   - a system, by its verified TLS client certificate (mutual TLS): an
//     organisation certificate whose subject names the organisation
//     number; sources and role-to-role calls;
//   - in --dev only, any request from the loopback interface, as a system.
//
// Anything else is refused with a WS-Security fault.
type SOAP struct {
	SAML *trust.SAMLVerifier // nil: XUA is not accepted
	// DevLoopback accepts loopback requests without a credential.
	DevLoopback bool
}

// ErrNoCredential: nothing identified the caller.
var ErrNoCredential = errors.New("no credential: send an XUA assertion, use a client certificate, or call from loopback in --dev")

// Principal returns who sent req.
func (a *SOAP) Principal(ctx context.Context, req *soap.Request) (*trust.Principal, error) {
	if sec := req.Security(); sec != nil && hasAssertion(sec) {
		if a.SAML == nil {
			return nil, &trust.Error{Kind: trust.KindSAMLUntrustedCert, Description: "XUA assertions are not accepted by this endpoint"}
		}
		return a.SAML.Verify(ctx, sec)
	}
	r := req.HTTP
	if r.TLS != nil && len(r.TLS.VerifiedChains) > 0 && len(r.TLS.VerifiedChains[0]) > 0 {
		return systemFromCert(r.TLS.VerifiedChains[0][0]), nil
	}
	if a.DevLoopback && isLoopback(r.RemoteAddr) {
		return &trust.Principal{Kind: trust.System, Credential: trust.CredentialDevLoopback,
			Client: trust.Client{ID: "dev-loopback", Name: "local source (pjd serve --dev)"}}, nil
	}
	return nil, ErrNoCredential
}

// hasAssertion reports whether a wsse:Security header carries a SAML 2.0
// assertion (directly or in a samlp:Response); a header with only a
// timestamp is not a credential.
func hasAssertion(sec *etree.Element) bool {
	for _, c := range sec.ChildElements() {
		if c.Tag == "Assertion" || c.Tag == "Response" || c.Tag == "EncryptedAssertion" {
			return true
		}
	}
	return false
}

func isLoopback(remote string) bool {
	host, _, err := net.SplitHostPort(remote)
	if err != nil {
		host = remote
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

var (
	oidOrganizationIdentifier = asn1.ObjectIdentifier{2, 5, 4, 97}
	orgnrPattern              = regexp.MustCompile(`\b(\d{9})\b`)
)

// systemFromCert builds the system principal of an organisation
// certificate. Norwegian enterprise certificates (Buypass, Commfides) carry
// the organisation number in the subject's serialNumber or, newer ones, in
// organizationIdentifier ("NTRNO-<orgnr>").
func systemFromCert(c *x509.Certificate) *trust.Principal {
	org := ""
	for _, n := range c.Subject.Names {
		if n.Type.Equal(oidOrganizationIdentifier) {
			if s, ok := n.Value.(string); ok {
				if m := orgnrPattern.FindString(s); m != "" {
					org = m
				}
			}
		}
	}
	if org == "" {
		if m := orgnrPattern.FindString(c.Subject.SerialNumber); m != "" {
			org = m
		}
	}
	name := c.Subject.CommonName
	if len(c.Subject.Organization) > 0 {
		name = strings.Join(c.Subject.Organization, ", ")
	}
	return &trust.Principal{
		Kind:        trust.System,
		Credential:  trust.CredentialMTLS,
		Issuer:      c.Issuer.String(),
		LegalEntity: trust.Identifier{ID: org, System: oid.OrgNr, Name: name},
		Client:      trust.Client{ID: c.Subject.CommonName, Name: name, OrgNrParent: org},
	}
}
