package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net/http"
	"os"
	"time"

	"pjd/cmd/pjd/internal/demo"
	"pjd/gateway/audit"
	"pjd/gateway/xdsclient"
	"pjd/registry"
)

// startBackground starts the periodic work of a serving process: the
// repository's orphan sweep. It stops with ctx.
func (a *app) startBackground(ctx context.Context) {
	c := a.cfg
	for _, ra := range a.regions {
		ra.startBackground(ctx)
	}
	if a.witness != nil {
		// The audit chain's head, outside the database; the last write
		// happens as ctx ends, before the audit store closes.
		done := make(chan struct{})
		go func() {
			defer close(done)
			audit.RunWitness(ctx, a.auditStore, a.witness, c.witness.interval, nil, a.log)
		}()
		a.onClose(func() {
			select {
			case <-done:
			case <-time.After(10 * time.Second):
			}
		})
	}
	if a.repo == nil || c.sweepInterval <= 0 {
		return
	}
	go func() {
		t := time.NewTicker(c.sweepInterval)
		defer t.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case <-t.C:
			}
			st, err := a.repo.Sweep(ctx, c.sweepGrace)
			if err != nil && ctx.Err() == nil {
				a.log.Error("repository sweep failed", "err", err, "deleted", st.Deleted)
				continue
			}
			a.log.Info("repository sweep", "examined", st.Documents, "orphans", st.Orphans, "deleted", st.Deleted,
				"incomplete", st.Incomplete, "dangling", st.Dangling)
		}
	}()
}

// demoRoot is the OID under which demo uniqueIds are made: document i
// (from 1) of demo.Documents is demoRoot.i.2, its SubmissionSet demoRoot.i.1.
const demoRoot = "2.999.578.10"

// seedDemo registers the synthetic demo documents through this server's
// own ITI-41 endpoint (the path every source takes), once per data folder.
func (a *app) seedDemo(ctx context.Context) error {
	c := a.cfg
	a.demoPatient = demo.Patients()[0].ID
	marker := c.dataPath("demo-seeded")
	if _, err := os.Stat(marker); err == nil {
		return nil
	}
	base := "http://" + c.listen
	client := xdsclient.New(base, &http.Client{Timeout: time.Minute})
	docs := demo.Documents(time.Now())
	// Fixed uniqueIds, so the README's examples name real documents; the
	// marker file keeps a data folder from being seeded twice.
	root := demoRoot
	entryUUID := make([]string, len(docs))
	for i, d := range docs {
		replaces := ""
		if d.Replaces >= 0 {
			replaces = entryUUID[d.Replaces]
		}
		sub := d.Submission(fmt.Sprintf("%s.%d", root, i+1), "2.999.578.2", replaces)
		resp, err := client.Provide(ctx, sub, []xdsclient.Document{{ID: "Document01", MimeType: d.MimeType, Body: bytes.NewReader(d.Content)}})
		if err != nil {
			return fmt.Errorf("demo document %d: %w", i+1, err)
		}
		if resp.Errors.Failed() {
			return fmt.Errorf("demo document %d rejected: %w", i+1, resp.Errors)
		}
		entries, err := client.DocumentsByUniqueID(ctx, []string{sub.Documents[0].UniqueID})
		if err != nil {
			return fmt.Errorf("demo document %d: %w", i+1, err)
		}
		for _, e := range entries {
			if e.Status == registry.StatusApproved {
				entryUUID[i] = e.ID
			}
		}
		if entryUUID[i] == "" {
			return errors.New("demo document not found after registration")
		}
	}
	if err := os.WriteFile(marker, []byte(root+"\n"), 0o600); err != nil {
		return err
	}
	a.log.Info("demo data seeded", "documents", len(docs), "patients", len(demo.Patients()))
	return nil
}
