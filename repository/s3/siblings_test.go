package s3_test

import (
	"bytes"
	"fmt"
	"sync"
	"testing"
)

// TestPutBesideDelete: Puts and Deletes of different keys under one
// parent, at once. A posix-backed S3 server (versitygw) keeps "a/b" as the
// file b in the directory a, and removes a directory left empty by a
// Delete; a Put that created the directory just before the removal then
// fails with ExistingObjectIsDirectory although no key is a directory of
// another. pjd's layout has this pattern (a failed upload's cleanup in
// docs/<hash>/ beside a new upload of the same document), so Put must not
// fail because of it. This is the cause of the flaky
// TestBlobStore/Concurrent.
func TestPutBesideDelete(t *testing.T) {
	s := open(t)
	ctx := t.Context()
	data := bytes.Repeat([]byte("x"), 100)
	var wg sync.WaitGroup
	errs := make(chan error, 8)
	for w := range 8 {
		wg.Go(func() {
			for i := range 200 {
				key := fmt.Sprintf("sib/%d/%d-%d", i%2, w, i)
				if _, err := s.Put(ctx, key, bytes.NewReader(data)); err != nil {
					errs <- fmt.Errorf("Put(%s): %w", key, err)
					return
				}
				if err := s.Delete(ctx, key); err != nil {
					errs <- fmt.Errorf("Delete(%s): %w", key, err)
					return
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
}
