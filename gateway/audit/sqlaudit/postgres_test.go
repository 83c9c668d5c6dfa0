package sqlaudit_test

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"

	"pjd/conformance/testenv"
	"pjd/gateway/audit"
	"pjd/gateway/audit/audittest"
	"pjd/gateway/audit/sqlaudit"
	"pjd/registry/postgres"
)

var postgresBackend = backend{
	name:  "postgres",
	fresh: func(t *testing.T) string { return testenv.Postgres(t) },
	connect: func(ctx context.Context, url string) (*sqlaudit.Store, func(), error) {
		pool, err := postgres.Connect(ctx, url)
		if err != nil {
			return nil, nil, err
		}
		s := sqlaudit.NewPostgres(pool)
		closeFn := func() { s.Close(); pool.Close() }
		if err := s.Migrate(ctx); err != nil {
			closeFn()
			return nil, nil, err
		}
		return s, closeFn, nil
	},
}

func TestPostgres(t *testing.T) { runAll(t, postgresBackend) }

var roleSeq atomic.Int64

// appendOnlyRole makes a role named prefix_<n> holding exactly the
// AppendOnlyGrants in the owner's database at ownerURL (dropped when the
// test ends), and opens the audit log as that role, as pjd serve does for
// a role that may not migrate: on its pool, without touching the schema.
func appendOnlyRole(t *testing.T, owner *sqlaudit.Store, ownerURL, prefix string) (role string, app *sqlaudit.Store) {
	t.Helper()
	ctx := context.Background()
	role = fmt.Sprintf("%s_%d", prefix, roleSeq.Add(1))
	exec(t, owner, "CREATE ROLE "+pgx.Identifier{role}.Sanitize()+" LOGIN")
	t.Cleanup(func() {
		c, err := pgx.Connect(ctx, ownerURL)
		if err == nil {
			c.Exec(ctx, "DROP OWNED BY "+pgx.Identifier{role}.Sanitize())
			c.Close(ctx)
		}
	})
	if _, err := owner.DB().ExecContext(ctx, sqlaudit.AppendOnlyGrants(role)); err != nil {
		t.Fatalf("AppendOnlyGrants: %v", err)
	}
	u, err := url.Parse(ownerURL)
	if err != nil {
		t.Fatal(err)
	}
	u.User = url.User(role)
	pool, err := postgres.Connect(ctx, u.String())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(pool.Close)
	return role, sqlaudit.NewPostgres(pool)
}

// TestPostgresAppendOnlyRole runs the audit log as a role holding exactly
// the privileges AppendOnlyGrants documents: appending, searching and
// verifying work; UPDATE, DELETE and TRUNCATE are refused by the
// privilege system itself (before any trigger).
func TestPostgresAppendOnlyRole(t *testing.T) {
	ctx := context.Background()
	ownerURL := testenv.Postgres(t)
	owner := postgresBackend.open(t, ownerURL) // migrates as the owner
	role, app := appendOnlyRole(t, owner, ownerURL, "pjd_audit_app")
	key := audittest.Key(t)
	audittest.Append(t, app, key, audittest.SimpleRecord(1, audittest.PatientA), audittest.SimpleRecord(2, audittest.PatientB))
	l, err := audit.NewLogger(app, key, audit.LoggerOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if err := l.Log(ctx, audittest.FullRecord()); err != nil {
		t.Fatalf("Log as the append-only role: %v", err)
	}
	l.Close(ctx)
	if p, err := app.Search(ctx, audit.Filter{PatientID: audittest.PatientA}); err != nil || len(p.Records) != 2 {
		t.Fatalf("Search as the append-only role: %d records, %v", len(p.Records), err)
	}
	if rep, err := audit.Verify(ctx, app, key); err != nil || !rep.OK() || rep.Records != 3 {
		t.Fatalf("Verify as the append-only role: %v, %v", rep, err)
	}
	for _, q := range []string{
		"UPDATE audit_records SET patient_id = 'x'",
		"DELETE FROM audit_records",
		"TRUNCATE audit_records",
		"UPDATE audit_record_entities SET entity_id = 'x'",
		"DELETE FROM audit_record_entities",
		"UPDATE audit_heads SET seq = 99",
		"DELETE FROM audit_heads",
		"ALTER TABLE audit_records DISABLE TRIGGER USER",
		"INSERT INTO pjd_migrations (component, version, name, checksum) VALUES ('audit', 2, 'x', 'x')",
	} {
		err := execErr(app, q)
		var pgErr *pgconn.PgError
		if !errors.As(err, &pgErr) || (pgErr.Code != "42501" && !strings.Contains(pgErr.Message, "must be owner")) {
			t.Errorf("%s as the append-only role: got %v, want permission denied", q, err)
			continue
		}
		if strings.Contains(pgErr.Message, "append-only") {
			t.Errorf("%s: refused by the trigger, not by the grants: %v", q, err)
		}
	}
	// Migrate with nothing to do needs no DDL rights, only what pjd serve's
	// role holds to read the schema's version (README, "Database roles").
	exec(t, owner, "GRANT SELECT ON pjd_migrations TO "+pgx.Identifier{role}.Sanitize())
	if err := app.Migrate(ctx); err != nil {
		t.Fatalf("Migrate of an up-to-date schema as the append-only role: %v", err)
	}
}

// TestPostgresCanAppendFollowsGrants: the audit log's readiness follows
// the INSERT privilege of the role it runs as: ready with the
// AppendOnlyGrants, unready (ErrUnavailable, naming the table) once
// INSERT on an audit table is revoked, before any append has failed.
func TestPostgresCanAppendFollowsGrants(t *testing.T) {
	ctx := context.Background()
	ownerURL := testenv.Postgres(t)
	owner := postgresBackend.open(t, ownerURL)
	role, app := appendOnlyRole(t, owner, ownerURL, "pjd_audit_ready")
	l, err := audit.NewLogger(app, audittest.Key(t), audit.LoggerOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close(ctx)
	if err := app.CanAppend(ctx); err != nil {
		t.Fatalf("CanAppend with the append-only grants: %v", err)
	}
	if err := l.Ready(ctx); err != nil {
		t.Fatalf("Ready with the append-only grants: %v", err)
	}
	exec(t, owner, "REVOKE INSERT ON audit_records FROM "+pgx.Identifier{role}.Sanitize())
	err = app.CanAppend(ctx)
	if !errors.Is(err, audit.ErrUnavailable) || !strings.Contains(err.Error(), "audit_records") {
		t.Fatalf("CanAppend without INSERT on audit_records: %v, want ErrUnavailable naming the table", err)
	}
	if err := l.Ready(ctx); !errors.Is(err, audit.ErrUnavailable) {
		t.Fatalf("Ready without INSERT on audit_records: %v", err)
	}
	// And it is right: appending fails.
	if err := l.Log(ctx, audittest.SimpleRecord(1, audittest.PatientA)); !errors.Is(err, audit.ErrUnavailable) {
		t.Fatalf("Log without INSERT: %v", err)
	}
}

// exchanges counts what a pool sends PostgreSQL: single statements and
// pipelines (batches).
type exchanges struct{ statements, pipelines atomic.Int64 }

func (x *exchanges) TraceQueryStart(ctx context.Context, _ *pgx.Conn, _ pgx.TraceQueryStartData) context.Context {
	x.statements.Add(1)
	return ctx
}
func (x *exchanges) TraceQueryEnd(context.Context, *pgx.Conn, pgx.TraceQueryEndData) {}
func (x *exchanges) TraceBatchStart(ctx context.Context, _ *pgx.Conn, _ pgx.TraceBatchStartData) context.Context {
	x.pipelines.Add(1)
	return ctx
}
func (x *exchanges) TraceBatchQuery(context.Context, *pgx.Conn, pgx.TraceBatchQueryData) {}
func (x *exchanges) TraceBatchEnd(context.Context, *pgx.Conn, pgx.TraceBatchEndData)     {}

// An append is two exchanges with PostgreSQL (begin + chain lock + head,
// then insert + commit), not one per statement: the group commit's writer
// waits for each, and every search waits for the writer. A failed append
// rolls back, writes nothing, and leaves the pool usable.
func TestPostgresAppendExchanges(t *testing.T) {
	ctx := context.Background()
	url := testenv.Postgres(t)
	owner := postgresBackend.open(t, url)
	cfg, err := pgxpool.ParseConfig(url)
	if err != nil {
		t.Fatal(err)
	}
	x := &exchanges{}
	cfg.ConnConfig.Tracer = x
	cfg.MaxConns = 1 // the failed append's connection is the next one's
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(pool.Close)
	s := sqlaudit.NewPostgres(pool)
	key := audittest.Key(t)
	if err := pool.Ping(ctx); err != nil {
		t.Fatal(err)
	}
	x.statements.Store(0)

	for i := range 3 {
		r := audittest.SimpleRecord(i, audittest.PatientA)
		if err := r.Normalize(audittest.BaseTime, audit.NewID); err != nil {
			t.Fatal(err)
		}
		if err := s.Append(ctx, key, []*audit.Record{&r}); err != nil {
			t.Fatal(err)
		}
		if st, pl := x.statements.Load(), x.pipelines.Load(); st != 0 || pl != int64(2*(i+1)) {
			t.Fatalf("append %d: %d statements and %d pipelines so far, want 0 and %d", i, st, pl, 2*(i+1))
		}
	}
	head, err := s.Head(ctx)
	if err != nil || head.Seq != 3 {
		t.Fatalf("head %v %v, want seq 3", head, err)
	}

	// The records insert fails in the second pipeline: nothing of the
	// batch is written, and the next append on the same (only) connection
	// works.
	exec(t, owner, "ALTER TABLE audit_records ADD CONSTRAINT refuse_poison CHECK (actor_hpr <> '999999999')")
	poison := audittest.SimpleRecord(10, audittest.PatientA)
	poison.Actor.HPR = "999999999"
	good := audittest.SimpleRecord(11, audittest.PatientA)
	for _, r := range []*audit.Record{&poison, &good} {
		if err := r.Normalize(audittest.BaseTime, audit.NewID); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.Append(ctx, key, []*audit.Record{&good, &poison}); !errors.Is(err, audit.ErrUnavailable) {
		t.Fatalf("append refused by the database: %v, want ErrUnavailable", err)
	}
	if h, err := s.Head(ctx); err != nil || h.Seq != 3 {
		t.Fatalf("head after the failed append %v %v, want seq 3", h, err)
	}
	good2 := audittest.SimpleRecord(12, audittest.PatientA)
	if err := good2.Normalize(audittest.BaseTime, audit.NewID); err != nil {
		t.Fatal(err)
	}
	if err := s.Append(ctx, key, []*audit.Record{&good2}); err != nil {
		t.Fatalf("append after a failed one: %v", err)
	}
	rep, err := audit.Verify(ctx, s, key)
	if err != nil || !rep.OK() || rep.Records != 4 {
		t.Fatalf("Verify = %v, %v; want 4 records, intact", rep, err)
	}
}
