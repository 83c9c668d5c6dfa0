package fs

import "os"

// SetMkdirAll replaces s's MkdirAll (see TestPutWhileDeleteRemovesDir).
func SetMkdirAll(s *Store, fn func(name string, perm os.FileMode) error) { s.mkdirAll = fn }

// MkdirAll is s's own MkdirAll.
func MkdirAll(s *Store) func(name string, perm os.FileMode) error { return s.root.MkdirAll }
