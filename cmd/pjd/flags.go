package main

import (
	"flag"
	"fmt"
	"strconv"
	"strings"
)

// byteSize is a flag holding a size in bytes: "512MiB", "1GiB", "2048".
type byteSize int64

func (b *byteSize) String() string { return formatBytes(int64(*b)) }

func (b *byteSize) Set(s string) error {
	n, err := parseBytes(s)
	if err != nil {
		return err
	}
	*b = byteSize(n)
	return nil
}

func parseBytes(s string) (int64, error) {
	s = strings.TrimSpace(s)
	units := []struct {
		suffix string
		mult   int64
	}{{"KiB", 1 << 10}, {"MiB", 1 << 20}, {"GiB", 1 << 30}, {"KB", 1000}, {"MB", 1000 * 1000}, {"GB", 1000 * 1000 * 1000}, {"B", 1}}
	mult := int64(1)
	for _, u := range units {
		if strings.HasSuffix(s, u.suffix) {
			mult = u.mult
			s = strings.TrimSpace(strings.TrimSuffix(s, u.suffix))
			break
		}
	}
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil || n < 0 || n > (1<<62)/mult {
		return 0, fmt.Errorf("not a size: use a number of bytes with an optional KiB, MiB or GiB")
	}
	return n * mult, nil
}

func formatBytes(n int64) string {
	switch {
	case n >= 1<<30 && n%(1<<30) == 0:
		return fmt.Sprintf("%dGiB", n>>30)
	case n >= 1<<20 && n%(1<<20) == 0:
		return fmt.Sprintf("%dMiB", n>>20)
	case n >= 1<<10 && n%(1<<10) == 0:
		return fmt.Sprintf("%dKiB", n>>10)
	}
	return strconv.FormatInt(n, 10)
}

// listFlag is a comma-separated list; repeating the flag appends.
type listFlag []string

func (l *listFlag) String() string { return strings.Join(*l, ",") }

func (l *listFlag) Set(s string) error {
	*l = append(*l, splitList(s)...)
	return nil
}

// triBool is a bool flag that remembers whether it was set ("auto").
type triBool struct {
	set, val bool
}

func (t *triBool) String() string {
	if !t.set {
		return "auto"
	}
	return strconv.FormatBool(t.val)
}

func (t *triBool) Set(s string) error {
	if s == "auto" {
		t.set = false
		return nil
	}
	v, err := strconv.ParseBool(s)
	if err != nil {
		return err
	}
	t.set, t.val = true, v
	return nil
}

func (t *triBool) IsBoolFlag() bool { return true }

// or returns the value when set, else def.
func (t triBool) or(def bool) bool {
	if t.set {
		return t.val
	}
	return def
}

var _ flag.Value = (*byteSize)(nil)
