package trust_test

import (
	"errors"
	"fmt"
	"net/http"
	"strings"
	"testing"

	"pjd/trust"
)

func TestErrorEdgeMapping(t *testing.T) {
	for _, c := range []struct {
		kind   trust.Kind
		status int
		header string // prefix of WWW-Authenticate; "" for none
		fault  string
	}{
		{trust.KindTokenMissing, 401, `DPoP algs="`, "InvalidSecurityToken"},
		{trust.KindTokenExpired, 401, `DPoP error="invalid_token", error_description="`, "InvalidSecurityToken"},
		{trust.KindTokenScheme, 401, `DPoP error="invalid_token"`, "InvalidSecurityToken"},
		{trust.KindDPoPReplay, 401, `DPoP error="invalid_dpop_proof"`, "InvalidSecurityToken"},
		{trust.KindDPoPMissing, 401, `DPoP error="invalid_dpop_proof"`, "InvalidSecurityToken"},
		{trust.KindAttestationExpired, 401, `DPoP error="invalid_token", error_description="attestation_has_expired`, "InvalidSecurityToken"},
		{trust.KindInsufficientScope, 403, `DPoP error="insufficient_scope"`, "InvalidSecurityToken"},
		{trust.KindSecurityLevel, 401, `DPoP error="insufficient_user_authentication"`, "InvalidSecurityToken"},
		{trust.KindPersonRequired, 403, `DPoP error="insufficient_user_authentication"`, "InvalidSecurityToken"},
		{trust.KindRequestURL, 400, "", "InvalidSecurityToken"},
		{trust.KindReplayUnavailable, 503, "", "FailedCheck"},
		{trust.KindIssuerUnavailable, 503, "", "FailedCheck"},
		{trust.KindInternal, 500, "", "FailedCheck"},
		{trust.KindSAMLSignature, 401, `DPoP error="invalid_token"`, "FailedAuthentication"},
		{trust.KindSAMLMissing, 401, `DPoP error="invalid_token"`, "SecurityTokenUnavailable"},
	} {
		t.Run(c.kind.String(), func(t *testing.T) {
			err := fmt.Errorf("wrapped: %w", &trust.Error{Kind: c.kind, Description: descFor(c.kind), Detail: "secret detail 12887040093"})
			if got := trust.HTTPStatus(err); got != c.status {
				t.Errorf("status %d, want %d", got, c.status)
			}
			h := trust.WWWAuthenticate(err, trust.ScopeReadDocumentReferences)
			if c.header == "" && h != "" || !strings.HasPrefix(h, c.header) {
				t.Errorf("WWW-Authenticate %q, want prefix %q", h, c.header)
			}
			if strings.Contains(h, "secret") || strings.Contains(trust.Description(err), "secret") {
				t.Errorf("server-only detail leaked: %q", h)
			}
			if c.kind == trust.KindInsufficientScope && !strings.Contains(h, `scope="`+trust.ScopeReadDocumentReferences+`"`) {
				t.Errorf("insufficient_scope without scope: %q", h)
			}
			if got := trust.WSSecurityFault(err); got != c.fault {
				t.Errorf("fault %q, want %q", got, c.fault)
			}
		})
	}
	if trust.HTTPStatus(errors.New("plain")) != http.StatusInternalServerError {
		t.Error("unknown errors must map to 500")
	}
	if d := trust.Description(errors.New("pq: password authentication failed")); strings.Contains(d, "pq") {
		t.Errorf("unknown error text reached the description: %q", d)
	}
}

func descFor(k trust.Kind) string {
	if k == trust.KindAttestationExpired {
		return "attestation_has_expired: too old"
	}
	return "client text \"quoted\"\n"
}

func TestKindsHaveNamesAndSentinels(t *testing.T) {
	seen := map[string]bool{}
	for k := trust.KindInternal; k <= trust.KindReplayUnavailable; k++ {
		name := k.String()
		if name == "unknown" || seen[name] {
			t.Errorf("kind %d has name %q", int(k), name)
		}
		seen[name] = true
		e := &trust.Error{Kind: k}
		if !errors.Is(fmt.Errorf("x: %w", e), &trust.Error{Kind: k}) {
			t.Errorf("errors.Is fails for %v", k)
		}
		if errors.Is(e, &trust.Error{Kind: k + 1}) {
			t.Errorf("errors.Is matches another kind for %v", k)
		}
	}
	if !errors.Is(&trust.Error{Kind: trust.KindTokenExpired, Description: "x"}, trust.ErrTokenExpired) ||
		!errors.Is(&trust.Error{Kind: trust.KindReplayUnavailable}, trust.ErrReplayUnavailable) ||
		!errors.Is(&trust.Error{Kind: trust.KindSAMLWrapping}, trust.ErrSAMLWrapping) {
		t.Error("sentinels do not match their kinds")
	}
}
