package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"time"

	"pjd/gateway"
)

// inProcess is a pjd server wired by buildApp from serve flags, exactly as
// pjd serve wires it, serving in this process: pjd bench's servers, and
// the servers of cmd/pjd's tests.
type inProcess struct {
	cfg      *serveConfig
	app      *app
	srv      *http.Server
	cancel   context.CancelFunc
	done     chan struct{}
	serveErr error // what Serve returned, other than ErrServerClosed
}

// startInProcess starts a server with the serve flags args, which name
// the address to listen on (--listen); ln, when not nil, is already
// listening there. It seeds the demo data when the flags ask for it.
func startInProcess(ctx context.Context, args []string, ln net.Listener, log *slog.Logger) (_ *inProcess, err error) {
	defer func() {
		if err != nil && ln != nil {
			ln.Close()
		}
	}()
	fs := newFlagSet("serve", io.Discard)
	c := defineServeFlags(fs)
	if err := loadConfig(fs, args, func(string) string { return "" }); err != nil {
		return nil, fmt.Errorf("serve flags: %w", err)
	}
	if err := c.validate(); err != nil {
		return nil, fmt.Errorf("serve configuration: %w", err)
	}
	if ln == nil {
		if ln, err = net.Listen("tcp", c.listen); err != nil {
			return nil, err
		}
	}
	sctx, cancel := context.WithCancel(context.WithoutCancel(ctx))
	a, err := buildApp(sctx, c, log)
	if err != nil {
		cancel()
		return nil, fmt.Errorf("building the server: %w", err)
	}
	p := &inProcess{cfg: c, app: a, srv: gateway.HTTPServer(c.listen, a.handler, log), cancel: cancel, done: make(chan struct{})}
	go func() {
		defer close(p.done)
		if err := p.srv.Serve(ln); !errors.Is(err, http.ErrServerClosed) {
			p.serveErr = err
		}
	}()
	a.startBackground(sctx)
	if a.seed != nil {
		if err := a.seed(sctx); err != nil {
			p.close()
			return nil, fmt.Errorf("seeding demo data: %w", err)
		}
	}
	return p, nil
}

// close stops the server and its background work and closes what it
// opened; it returns what Serve failed with, if anything.
func (p *inProcess) close() error {
	p.cancel()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	_ = p.srv.Shutdown(ctx)
	<-p.done
	p.app.close()
	return p.serveErr
}
