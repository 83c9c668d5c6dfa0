package trust

// TokenCacheStats reports the entries in v's access-token cache and its
// hits so far (tests only).
func TokenCacheStats(v *Verifier) (entries int, hits int64) { return v.tokens.stats() }
