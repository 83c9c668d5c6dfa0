package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"os/user"
	"text/tabwriter"
	"time"

	"pjd/gateway/access"
	"pjd/gateway/audit"
	"pjd/registry"
)

// patientsCmd manages patient identity links (a D-nummer replaced by a
// fødselsnummer, or a merge): what ITI-104 Patient Identity Feed FHIR
// does over the network, for an operator with access to the database.
// Every link and unlink is recorded in the audit log (ITI-104, action
// create/update), so it needs the audit key as pjd audit does.
func patientsCmd() *cmd {
	d := &dbFlags{}
	var from, to, reason string
	var allowSynthetic bool
	open := func(ctx context.Context) (*registry.Registry, func(audit.Record) error, func(), error) {
		db, err := openExistingDatabase(ctx, d.addr())
		if err != nil {
			return nil, nil, nil, err
		}
		reg, err := registry.New(registry.Config{Store: db.registry(), Patients: registry.NorwegianPatientIDs{AllowSynthetic: allowSynthetic}})
		if err != nil {
			db.close()
			return nil, nil, nil, err
		}
		key, kerr := d.auditKey()
		if kerr != nil {
			return reg, nil, db.close, nil
		}
		logger, err := audit.NewLogger(db.audit(), key, audit.LoggerOptions{})
		if err != nil {
			db.close()
			return nil, nil, nil, err
		}
		done := func() {
			_ = logger.Close(context.WithoutCancel(ctx))
			db.close()
		}
		return reg, func(r audit.Record) error { return logger.Log(ctx, r) }, done, nil
	}
	operator := func() string {
		if u, err := user.Current(); err == nil {
			return "os-user:" + u.Username
		}
		return "os-user:unknown"
	}
	record := func(ctx context.Context, log func(audit.Record) error, action audit.Action, patient, reason string) error {
		if log == nil {
			return errors.New("the audit key is needed to record the change: give --audit-key-file (or --data of a --dev server)")
		}
		return log(audit.Record{Transaction: audit.TxITI104, Action: action, Outcome: audit.OutcomePermit,
			Rule: "operator-database-access", Reason: reason, Credential: "database-access",
			Actor:  audit.Actor{Kind: audit.ActorSystem, Name: operator()},
			Client: audit.Client{ID: "pjd-cli", Name: "pjd patients"}, PatientID: patient})
	}
	// recordFailure records that a change recorded as permitted was
	// refused by the registry (the record before it said what was tried).
	recordFailure := func(ctx context.Context, log func(audit.Record) error, action audit.Action, patient string, cause error) error {
		err := log(audit.Record{Transaction: audit.TxITI104, Action: action, Outcome: audit.OutcomeError,
			Rule: "error", Reason: "refused: " + cause.Error(), Credential: "database-access",
			Actor:  audit.Actor{Kind: audit.ActorSystem, Name: operator()},
			Client: audit.Client{ID: "pjd-cli", Name: "pjd patients"}, PatientID: patient})
		if err != nil {
			return fmt.Errorf("recording the refusal in the audit log: %w", err)
		}
		return nil
	}
	flags := func(fs *flag.FlagSet) {
		d.define(fs)
		fs.BoolVar(&allowSynthetic, "allow-synthetic-patients", true, "accept synthetic F-nr/D-nr (as pjd serve --dev does)")
	}
	linkErr := func(err error) error {
		switch {
		case errors.Is(err, registry.ErrInvalidPatientID), errors.Is(err, registry.ErrAlreadyLinked), errors.Is(err, registry.ErrLinkCycle):
			return usageErrorf("%v", err)
		case errors.Is(err, registry.ErrNotFound):
			return fmt.Errorf("%v", err)
		}
		return err
	}
	return &cmd{
		name: "patients", summary: "patient identity links: link a D-nummer to a fødselsnummer, unlink, show",
		flags: flags,
		subs: []*cmd{{
			name: "link", summary: "record that --from (e.g. a D-nummer) is replaced by --to (e.g. a fødselsnummer)",
			flags: func(fs *flag.FlagSet) {
				fs.StringVar(&from, "from", "", "the replaced number (11 digits)")
				fs.StringVar(&to, "to", "", "the number that replaces it (11 digits)")
				fs.StringVar(&reason, "reason", "", "why (kept with the link)")
			},
			required: []string{"from", "to"}, ids: []string{"from", "to"},
			run: func(ctx context.Context, inv *invocation) error {
				reg, log, done, err := open(ctx)
				if err != nil {
					return err
				}
				defer done()
				if err := record(ctx, log, audit.ActionCreate, from, fmt.Sprintf("patient identity link: %s is replaced by %s (pjd patients link)", from, to)); err != nil {
					return err
				}
				l, err := reg.LinkPatient(ctx, access.PatientCX(from), access.PatientCX(to), operator(), reason)
				if err != nil {
					return errors.Join(linkErr(err), recordFailure(ctx, log, audit.ActionCreate, from, err))
				}
				fmt.Fprintf(inv.stdout, "%s is replaced by %s (since %s)\n", from, to, l.LinkedAt.Format(time.RFC3339))
				return nil
			},
		}, {
			name: "unlink", summary: "end the link of --from (undo pjd patients link)",
			flags: func(fs *flag.FlagSet) {
				fs.StringVar(&from, "from", "", "the number whose link ends (11 digits)")
				fs.StringVar(&reason, "reason", "", "why (kept with the link)")
			},
			required: []string{"from"}, ids: []string{"from"},
			run: func(ctx context.Context, inv *invocation) error {
				reg, log, done, err := open(ctx)
				if err != nil {
					return err
				}
				defer done()
				if err := record(ctx, log, audit.ActionUpdate, from, fmt.Sprintf("patient identity link of %s ended (pjd patients unlink)", from)); err != nil {
					return err
				}
				l, err := reg.UnlinkPatient(ctx, access.PatientCX(from), operator(), reason)
				if err != nil {
					return errors.Join(linkErr(err), recordFailure(ctx, log, audit.ActionUpdate, from, err))
				}
				fmt.Fprintf(inv.stdout, "%s is no longer replaced by %s\n", from, registryNumber(l.To))
				return nil
			},
		}, {
			name: "show", summary: "show a number's current identity and every link naming it",
			args: "NUMBER", minArgs: 1, maxArgs: 1,
			run: func(ctx context.Context, inv *invocation) error {
				reg, _, done, err := open(ctx)
				if err != nil {
					return err
				}
				defer done()
				number := inv.args[0]
				id, err := reg.ResolvePatient(ctx, access.PatientCX(number))
				if err != nil {
					return linkErr(err)
				}
				links, err := reg.PatientLinks(ctx, access.PatientCX(number))
				if err != nil {
					return err
				}
				fmt.Fprintf(inv.stdout, "current: %s\n", registryNumber(id.Current))
				for _, a := range id.All {
					if a != id.Current {
						fmt.Fprintf(inv.stdout, "also:    %s\n", registryNumber(a))
					}
				}
				tw := tabwriter.NewWriter(inv.stdout, 0, 2, 2, ' ', 0)
				fmt.Fprintln(tw, "FROM\tTO\tLINKED\tBY\tUNLINKED\tREASON")
				for _, l := range links {
					un := ""
					if !l.Active() {
						un = l.UnlinkedAt.Format(time.RFC3339)
					}
					fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\n", registryNumber(l.From), registryNumber(l.To),
						l.LinkedAt.Format(time.RFC3339), l.LinkedBy, un, l.Reason)
				}
				return tw.Flush()
			},
		}},
	}
}

// registryNumber is the number part of a patient CX.
func registryNumber(cx string) string {
	if c, err := registry.ParseCX(cx); err == nil {
		return c.ID
	}
	return cx
}
