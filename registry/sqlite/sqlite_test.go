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
	})
}
