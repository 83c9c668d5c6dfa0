package postgres

import (
	"context"
	"os"
	"testing"

	"pjd/conformance/testenv"
	"pjd/registry"
	"pjd/registry/registrytest"
)

func TestMain(m *testing.M) { os.Exit(testenv.Main(m)) }

func TestStore(t *testing.T) {
	registrytest.Run(t, func(t *testing.T) registry.Store {
		return open(t)
	}, waitingForLocks)
}

// waitingForLocks counts the statements of st's database that wait for a
// lock, as the server sees them.
func waitingForLocks(ctx context.Context, st registry.Store) (int, error) {
	var n int
	err := st.(*Store).Pool().QueryRow(ctx, `SELECT count(*) FROM pg_stat_activity
		WHERE datname = current_database() AND state = 'active' AND wait_event_type = 'Lock'`).Scan(&n)
	return n, err
}

// open returns a migrated Store on a fresh database (closed by the caller).
func open(t testing.TB) *Store {
	t.Helper()
	ctx := context.Background()
	st, err := Open(ctx, testenv.Postgres(t))
	if err != nil {
		t.Fatal(err)
	}
	if err := st.Migrate(ctx); err != nil {
		st.Close()
		t.Fatal(err)
	}
	return st
}
