package main

import (
	"context"
	"fmt"
	"os"
	"strings"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/jackc/pgx/v5/stdlib"

	"pjd/gateway/audit/sqlaudit"
	"pjd/gateway/blocks"
	"pjd/registry"
	"pjd/registry/postgres"
	"pjd/registry/schema"
	"pjd/registry/sqlite"
)

// database is pjd's one SQL database, opened once: the registry, the audit
// log and the blocks share its connection pool (PostgreSQL) or its file
// handle (SQLite), and one migration runner keeps the schema of all three.
type database struct {
	dialect schema.Dialect
	pool    *pgxpool.Pool // PostgreSQL
	lite    *sqlite.DB    // SQLite
}

// databaseAddr names the database: PostgreSQL at postgresURL (a URL or
// key=value DSN) when it is set, else the SQLite file at sqlitePath.
type databaseAddr struct {
	postgresURL, sqlitePath string
}

// parseDatabaseAddr reads the one value that names either (pjd conformance
// --blocks-db): a postgres:// URL, or a SQLite file's path.
func parseDatabaseAddr(s string) databaseAddr {
	if strings.HasPrefix(s, "postgres://") || strings.HasPrefix(s, "postgresql://") {
		return databaseAddr{postgresURL: s}
	}
	return databaseAddr{sqlitePath: s}
}

// openDatabase opens the database at addr (a SQLite file is created when
// missing; its folder must exist). It is the one place pjd chooses the
// database's backend, and every command goes through it. It does not
// migrate (see ensureSchema, and pjd migrate).
func openDatabase(ctx context.Context, addr databaseAddr) (*database, error) {
	if addr.postgresURL != "" {
		pool, err := postgres.Connect(ctx, addr.postgresURL)
		if err != nil {
			return nil, err
		}
		return &database{dialect: schema.Postgres, pool: pool}, nil
	}
	lite, err := sqlite.OpenDB(ctx, addr.sqlitePath)
	if err != nil {
		return nil, err
	}
	return &database{dialect: schema.SQLite, lite: lite}, nil
}

// openExistingDatabase is openDatabase for a command that works on a
// database a server made: a missing SQLite file is an error, not a new
// empty database. The schema is brought up to date as at serve's start.
func openExistingDatabase(ctx context.Context, addr databaseAddr) (*database, error) {
	if addr.postgresURL == "" {
		if _, err := os.Stat(addr.sqlitePath); err != nil {
			return nil, fmt.Errorf("no pjd database at %s: give --data (the data folder of a pjd serve --dev) or --postgres-url", addr.sqlitePath)
		}
	}
	db, err := openDatabase(ctx, addr)
	if err != nil {
		return nil, err
	}
	if err := db.ensureSchema(ctx); err != nil {
		db.close()
		return nil, err
	}
	return db, nil
}

func (d *database) close() {
	if d.pool != nil {
		d.pool.Close()
	}
	if d.lite != nil {
		d.lite.Close()
	}
}

// registry is the registry's store on the database.
func (d *database) registry() registry.Store {
	if d.pool != nil {
		return postgres.New(d.pool)
	}
	return sqlite.New(d.lite)
}

// audit is the audit log's store on the database.
func (d *database) audit() *sqlaudit.Store {
	if d.pool != nil {
		return sqlaudit.NewPostgres(d.pool)
	}
	return sqlaudit.NewSQLite(d.lite)
}

// blocks is the patients' blocks store on the database.
func (d *database) blocks() *blocks.Store {
	if d.pool != nil {
		return blocks.NewPostgres(d.pool)
	}
	return blocks.NewSQLite(d.lite)
}

// migrator is the one schema runner of the database: the registry's
// tables, then the audit log's, then the blocks', in that order.
func (d *database) migrator() *schema.Migrator {
	if d.pool != nil {
		return schema.New(schema.Postgres, stdlib.OpenDBFromPool(d.pool),
			postgres.Schema(), sqlaudit.Schema(schema.Postgres), blocks.Schema(schema.Postgres))
	}
	return schema.New(schema.SQLite, d.lite.Writer(),
		sqlite.Schema(), sqlaudit.Schema(schema.SQLite), blocks.Schema(schema.SQLite))
}

// ensureSchema is what serve does at start: it reads the schema's version
// and migrates only when the schema is behind this pjd, so a service role
// that may not change the schema starts on a current one (README,
// "Database roles"); behind, and unable to migrate, it says to run pjd
// migrate as the owner. A schema newer than this pjd is refused.
func (d *database) ensureSchema(ctx context.Context) error {
	m := d.migrator()
	sts, err := m.Status(ctx)
	if err != nil {
		return fmt.Errorf("database schema: %w", err)
	}
	if !schema.Behind(sts) {
		return nil
	}
	if err := m.Migrate(ctx); err != nil {
		return fmt.Errorf("the database schema is behind this pjd (%s), and this role could not migrate it; "+
			"run `pjd migrate` as the schema owner: %w", schema.Describe(sts), err)
	}
	return nil
}
