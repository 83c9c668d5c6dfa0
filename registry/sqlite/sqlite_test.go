package sqlite_test

import (
	"context"
	"path/filepath"
	"testing"

	"pjd/registry"
	"pjd/registry/registrytest"
	"pjd/registry/sqlite"
)

func TestStore(t *testing.T) {
	registrytest.Run(t, func(t *testing.T) registry.Store {
		st, err := sqlite.Open(context.Background(), filepath.Join(t.TempDir(), "registry.db"))
		if err != nil {
			t.Fatal(err)
		}
		return st
	}, waitingForWriter)
}

// waitingForWriter is how often a caller has had to wait for st's single
// writer connection (a cumulative count: it grows when an Update starts
// waiting).
func waitingForWriter(_ context.Context, st registry.Store) (int, error) {
	return int(st.(*sqlite.Store).SQL().Stats().WaitCount), nil
}
