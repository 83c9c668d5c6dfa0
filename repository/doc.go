// Package repository is the XDS document repository: documents stream
// through it to a BlobStore (S3-compatible object storage or local files)
// while their size, SHA-1 and SHA-256 are computed, are registered with the
// registry, and stream back out for retrieval with constant memory.
//
// The gateway parses ITI-41 and ITI-43 messages and calls in with the
// parsed metadata and the document streams:
//
//   - ITI-41: NewUpload checks that documents and DocumentEntries pair up,
//     Upload.Put streams each document to its blob and checks it against
//     the metadata's hash and size, Upload.Commit sets repositoryUniqueId,
//     size and hash and registers through the Registry interface; any
//     failure deletes the upload's blobs, and XDS-level rejections come
//     back as registry.ErrorList (the registry's own, unchanged).
//   - ITI-43: Retrieve answers a Retrieve Document Set request with its
//     status, errors and, per found document, an Open function that
//     streams the bytes and verifies them against their record.
//   - ITI-68 (MHD): Open streams the document of a DocumentEntry.
//   - Sweep deletes blobs no registry entry refers to, once they are older
//     than the upload timeout (sweep.go explains why that is safe at every
//     crash point).
//
// The object store is the repository's only state; the registry is the
// source of truth for what is committed. Each document of an upload is
// docs/<hex SHA-256 of its uniqueId>/<upload id>.bin and, once the bytes
// are stored, .meta (JSON: uniqueId, repositoryUniqueId, sha1, sha256,
// size, mimeType, created); upload ids are server-generated, so uploads
// never overwrite each other.
//
// It must never buffer a whole document in memory, derive a storage key
// from a client-supplied string without hashing it, register metadata
// before its bytes are durably stored, delete a blob the registry may
// refer to, or put server detail (keys, paths, store errors) into a
// RegistryError's codeContext. It knows nothing of SOAP, MTOM or FHIR.
package repository
