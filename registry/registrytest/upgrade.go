package registrytest

import (
	"context"
	"errors"
	"testing"

	"pjd/registry"
)

// CheckUpgradedFromV1 asserts what a database written by the version-1
// schema holds after migrating to the lifecycle schema: online and
// offline (documentAvailability Offline) were its DocumentEntries, folder
// its Folder with codes. It inserts new versions of the online document
// and of the folder. The backends' upgrade tests call it.
func CheckUpgradedFromV1(t *testing.T, st registry.Store, online, offline *registry.DocumentEntry, folder *registry.Folder) {
	t.Helper()
	ctx := context.Background()
	latest, err := st.Documents(ctx, registry.DocumentFilter{LatestOnly: true, OnlineOnly: true})
	if err != nil || len(latest) != 1 || latest[0].ID != online.ID {
		t.Errorf("latest online documents after upgrade: %v, %v", latest, err)
	}
	all, err := st.Documents(ctx, registry.DocumentFilter{LatestOnly: true})
	if err != nil || len(all) != 2 {
		t.Errorf("latest documents after upgrade: %d, %v", len(all), err)
	}
	got, err := st.Folders(ctx, registry.FolderFilter{LatestOnly: true, Codes: []registry.CodeSet{{folder.Codes[0]}}})
	if err != nil || len(got) != 1 || got[0].ID != folder.ID {
		t.Errorf("folder by code after upgrade: %v, %v", got, err)
	}
	// Versions of the folder share its uniqueId; version 2 of the
	// documents' lid is a new row.
	f2 := *folder
	f2.ID, f2.Version = "urn:uuid:f0000000-0000-4000-8000-000000000002", "2"
	d2 := *online
	d2.ID, d2.Version = "urn:uuid:d0000000-0000-4000-8000-000000000002", "2"
	if err := st.Update(ctx, func(tx registry.Tx) error {
		return errors.Join(tx.InsertFolder(ctx, &f2), tx.InsertDocument(ctx, &d2))
	}); err != nil {
		t.Fatalf("new versions after upgrade: %v", err)
	}
	if got, err := st.Folders(ctx, registry.FolderFilter{UniqueIDs: []string{folder.UniqueID}, LatestOnly: true}); err != nil || len(got) != 1 || got[0].ID != f2.ID {
		t.Errorf("latest folder version after upgrade: %v, %v", got, err)
	}
	if ds, err := st.Documents(ctx, registry.DocumentFilter{LogicalIDs: []string{online.LogicalID}, LatestOnly: true}); err != nil || len(ds) != 1 || ds[0].ID != d2.ID {
		t.Errorf("latest document version after upgrade: %v, %v", ds, err)
	}
}
