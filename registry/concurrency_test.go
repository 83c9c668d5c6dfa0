package registry_test

import (
	"context"
	"sync"
	"testing"

	"pjd/registry"
	"pjd/registry/postgres"
)

// TestRegisterConcurrentIndependent: submissions that share nothing —
// other patients, other uniqueIds, no references — never conflict: N
// clients registering at once all succeed, none is answered
// XDSRegistryBusy, and on PostgreSQL no transaction was retried (the
// store's conflict counter stays at zero).
func TestRegisterConcurrentIndependent(t *testing.T) {
	eachBackend(t, func(t *testing.T, open func(t *testing.T) registry.Store) {
		e := newEnvOn(t, open)
		const clients, each = 8, 6
		var wg sync.WaitGroup
		errs := make([]error, clients*each)
		for c := 0; c < clients; c++ {
			wg.Add(1)
			go func(c int) {
				defer wg.Done()
				for i := 0; i < each; i++ {
					n := c*each + i
					sub := sample(uint64(1000+n), registry.SampleOptions{
						Patient: registry.SamplePatientID(100 + n), Documents: 2, Folder: n%2 == 0})
					_, errs[n] = e.reg.Register(context.Background(), sub)
				}
			}(c)
		}
		wg.Wait()
		for n, err := range errs {
			if err != nil {
				t.Errorf("submission %d: %v", n, err)
			}
		}
		if c := e.counts(); c.sets != clients*each || c.docs != 2*clients*each {
			t.Errorf("counts %+v, want %d submission sets with 2 documents each", c, clients*each)
		}
		if pg, ok := e.store.(*postgres.Store); ok {
			if n := pg.Conflicts(); n != 0 {
				t.Errorf("%d transactions retried after a conflict, want 0 for independent submissions", n)
			}
		}
	})
}
