package authn

import (
	"context"
	"net/http"

	"pjd/trust"
)

// TokenVerifier verifies a HelseID DPoP request (trust.Verifier).
type TokenVerifier interface {
	VerifyRequest(ctx context.Context, r *http.Request, req trust.Requirement) (*trust.Principal, error)
}
