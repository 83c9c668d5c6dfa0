package main

import (
	"context"

	"pjd/gateway"
)

// wireUI mounts the embeddable UI.
func (a *app) wireUI(ctx context.Context, srv *gateway.Server) error { return nil }
