package blocks_test

import (
	"context"
	"errors"
	"testing"

	"pjd/conformance/testenv"
	"pjd/gateway/blocks"
	"pjd/registry"
	"pjd/registry/postgres"
	"pjd/trust/policy"
)

// With the database gone, reading a patient's blocks fails with an error
// that says so (policy.ErrBlocksUnavailable): the caller answers "try
// again", never "no blocks" and never "internal error".
func TestBlocksUnavailable(t *testing.T) {
	srv, url := testenv.StartPostgresDB(t)
	ctx := context.Background()
	pool, err := postgres.Connect(ctx, url)
	if err != nil {
		t.Fatal(err)
	}
	defer pool.Close()
	s := blocks.NewPostgres(pool)
	if err := s.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	patient := registry.SyntheticFnr(303)
	if _, err := s.Add(ctx, policy.Block{PatientID: patient, OrgNr: "910000012"}); err != nil {
		t.Fatal(err)
	}
	if bs, err := s.Blocks(ctx, patient); err != nil || len(bs) != 1 {
		t.Fatalf("blocks: %v, %v", bs, err)
	}
	srv.Stop()
	bs, err := s.Blocks(ctx, patient)
	if !errors.Is(err, policy.ErrBlocksUnavailable) || bs != nil {
		t.Fatalf("with the database stopped: %v, %v; want policy.ErrBlocksUnavailable", bs, err)
	}
}
