package schema

import (
	"errors"
	"testing"
	"testing/fstest"
)

func TestReadMigrations(t *testing.T) {
	ok := fstest.MapFS{
		"0002_more.sql": {Data: []byte("B")},
		"0001_init.sql": {Data: []byte("A")},
	}
	ms, err := Read(ok)
	if err != nil || len(ms) != 2 || ms[0].Name != "0001_init.sql" || ms[1].Version != 2 || ms[0].Checksum == ms[1].Checksum {
		t.Fatalf("Read = %+v, %v", ms, err)
	}
	for name, fsys := range map[string]fstest.MapFS{
		"gap":        {"0001_a.sql": {}, "0003_c.sql": {}},
		"duplicate":  {"0001_a.sql": {}, "0001_b.sql": {}},
		"not first":  {"0002_a.sql": {}},
		"bad name":   {"0001_a.sql": {}, "2_b.sql": {}},
		"upper case": {"0001_Init.sql": {}},
		"other file": {"0001_a.sql": {}, "README": {}},
		"empty":      {},
	} {
		if _, err := Read(fsys); !errors.Is(err, ErrInvalid) {
			t.Errorf("%s: %v, want ErrInvalid", name, err)
		}
	}
}
