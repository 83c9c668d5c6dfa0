// Package fs is the repository.BlobStore of embedded mode: each blob is a
// file below one directory, written to a temporary file in the same
// directory, fsynced, renamed into place and made durable with an fsync of
// the directory, so a reader sees a whole object or none and a crash never
// leaves a torn one.
//
// It must never touch a path outside its directory: keys are validated by
// repository.ValidateKey and every access goes through an os.Root, which
// also refuses symbolic links that lead out. It must never expose a
// temporary file as a blob (their names are not valid keys).
package fs
