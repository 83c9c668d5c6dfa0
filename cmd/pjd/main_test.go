package main

import (
	"context"
	"log/slog"
	"os"
	"strconv"
	"testing"

	"pjd/conformance/testenv"
	"pjd/gateway"
)

func TestMain(m *testing.M) { os.Exit(testenv.Main(m)) }

// Backends a test server can run on.
const (
	backendEmbedded   = "embedded"   // SQLite + local files + in-memory replay cache (what --dev uses)
	backendProduction = "production" // PostgreSQL + S3 (versitygw) + Redis, started by testenv
)

// testServer is a pjd serve --dev process wired in-process (buildApp, the
// same code pjd serve runs) and listening on a loopback port.
type testServer struct {
	URL  string
	Data string
	app  *app
	cfg  *serveConfig
}

// startServer starts pjd on backend with extra serve flags; it stops at
// the end of the test. Demo data and the dev regions are off unless extra
// turns them on.
func startServer(t testing.TB, backend string, extra ...string) *testServer {
	t.Helper()
	port, err := testenv.FreePort()
	if err != nil {
		t.Fatal(err)
	}
	data := t.TempDir()
	args := []string{"--dev", "--listen", "127.0.0.1:" + strconv.Itoa(port), "--data", data,
		"--demo-data=false", "--dev-regions=false", "--sweep-interval=0", "--log-level", "warn"}
	if backend == backendProduction {
		s3 := testenv.S3(t)
		args = append(args,
			"--postgres-url", testenv.Postgres(t),
			"--redis-url", "redis://"+testenv.Redis(t)+"/0",
			"--s3-endpoint", s3.Endpoint, "--s3-bucket", s3.Bucket,
			"--s3-access-key", s3.AccessKey, "--s3-secret-key", s3.SecretKey, "--s3-insecure")
	}
	args = append(args, extra...)
	return startServerArgs(t, args)
}

// startServerArgs starts pjd with exactly these serve flags
// (startInProcess); it stops at the end of the test.
func startServerArgs(t testing.TB, args []string) *testServer {
	t.Helper()
	log := slog.New(gateway.NewRedactingHandler(slog.NewTextHandler(testLogWriter{t}, &slog.HandlerOptions{Level: slog.LevelWarn})))
	p, err := startInProcess(context.Background(), args, nil, log)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := p.close(); err != nil {
			t.Errorf("serve: %v", err)
		}
	})
	return &testServer{URL: p.cfg.publicURL, Data: p.cfg.data, app: p.app, cfg: p.cfg}
}

// testLogWriter sends server logs to the test log.
type testLogWriter struct{ t testing.TB }

func (w testLogWriter) Write(p []byte) (int, error) {
	w.t.Helper()
	w.t.Log(string(p))
	return len(p), nil
}
