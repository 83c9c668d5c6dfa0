package repository

import (
	"context"

	"pjd/registry"
)

// LocalRegistry is the Registry of a process that runs the registry role
// itself: Register goes to reg, and DocumentsByUniqueID reads reg's store
// (every availability status, so deprecated documents stay retrievable
// and are never swept).
func LocalRegistry(reg interface {
	Register(ctx context.Context, sub *registry.Submission) (registry.ErrorList, error)
	Reader() registry.Reader
}) Registry {
	return localRegistry{reg}
}

type localRegistry struct {
	reg interface {
		Register(ctx context.Context, sub *registry.Submission) (registry.ErrorList, error)
		Reader() registry.Reader
	}
}

func (l localRegistry) Register(ctx context.Context, sub *registry.Submission) (registry.ErrorList, error) {
	return l.reg.Register(ctx, sub)
}

func (l localRegistry) DocumentsByUniqueID(ctx context.Context, uniqueIDs []string) ([]*registry.DocumentEntry, error) {
	if len(uniqueIDs) == 0 {
		return nil, nil
	}
	return l.reg.Reader().Documents(ctx, registry.DocumentFilter{UniqueIDs: uniqueIDs})
}
