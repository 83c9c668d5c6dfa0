package gateway

import (
	"testing"
	"time"
)

// withDefaults fills every unset (zero or negative) limit from
// DefaultLimits and keeps every set one.
func TestLimitsWithDefaults(t *testing.T) {
	if got := (Limits{}).withDefaults(); got != DefaultLimits {
		t.Errorf("zero Limits: %+v, want %+v", got, DefaultLimits)
	}
	if got := (Limits{IdleTimeout: -1, RequestTimeout: -1, MaxSearches: -1, MaxTransfers: -1, QueueWait: -1}).withDefaults(); got != DefaultLimits {
		t.Errorf("negative Limits: %+v, want %+v", got, DefaultLimits)
	}
	set := Limits{IdleTimeout: time.Second, RequestTimeout: 2 * time.Second, MaxSearches: 3, MaxTransfers: 4, QueueWait: 5 * time.Millisecond}
	if got := set.withDefaults(); got != set {
		t.Errorf("set Limits: %+v, want them kept", got)
	}
}
