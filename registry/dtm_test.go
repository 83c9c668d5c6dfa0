package registry

import (
	"errors"
	"testing"
	"time"
)

func TestParseDTM(t *testing.T) {
	tests := []struct {
		in   string
		want time.Time
		norm string
	}{
		{"2024", time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC), "20240000000000"},
		{"202402", time.Date(2024, 2, 1, 0, 0, 0, 0, time.UTC), "20240200000000"},
		{"20240229", time.Date(2024, 2, 29, 0, 0, 0, 0, time.UTC), "20240229000000"},
		{"2024022913", time.Date(2024, 2, 29, 13, 0, 0, 0, time.UTC), "20240229130000"},
		{"202402291359", time.Date(2024, 2, 29, 13, 59, 0, 0, time.UTC), "20240229135900"},
		{"20240229135959", time.Date(2024, 2, 29, 13, 59, 59, 0, time.UTC), "20240229135959"},
		{"19000228", time.Date(1900, 2, 28, 0, 0, 0, 0, time.UTC), "19000228000000"},
	}
	for _, tc := range tests {
		got, err := ParseDTM(tc.in)
		if err != nil || !got.Equal(tc.want) {
			t.Errorf("ParseDTM(%q) = %v, %v; want %v", tc.in, got, err, tc.want)
		}
		norm, err := NormalizeDTM(tc.in)
		if err != nil || norm != tc.norm {
			t.Errorf("NormalizeDTM(%q) = %q, %v; want %q", tc.in, norm, err, tc.norm)
		}
	}
	for _, bad := range []string{
		"", "202", "20240", "2024022", "202402291", "2024022913595", "202402291359590", // lengths
		"2024-02-29", "20240229T1200", "2024022913.5", "20240229120000+0100", // not digits
		"20241301", "20240001", "20240230", "20230229", "19000229", "20240100", // dates
		"2024022924", "202402292360", "20240229235960", // times
	} {
		if _, err := ParseDTM(bad); !errors.Is(err, ErrFormat) {
			t.Errorf("ParseDTM(%q) error = %v, want ErrFormat", bad, err)
		}
		if _, err := NormalizeDTM(bad); err == nil {
			t.Errorf("NormalizeDTM(%q) succeeded", bad)
		}
	}
	if s := FormatDTM(time.Date(2024, 2, 29, 14, 5, 6, 999, time.FixedZone("CET", 3600))); s != "20240229130506" {
		t.Errorf("FormatDTM = %q, want UTC 20240229130506", s)
	}
}
