package sqlstore

// DecodeBody exposes decodeBody to the external tests (decode_test.go),
// which use registrytest's fixtures (registrytest imports this package).
func DecodeBody[T any](kind string, body []byte) (*T, error) { return decodeBody[T](kind, body) }
