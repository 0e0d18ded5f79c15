package sqllog

import (
	"context"
	"testing"

	_ "github.com/jackc/pgx/v5/stdlib" // registered as "pgx"
	_ "github.com/lib/pq"              // registered as "postgres"
)

// postgresServer is the PostgreSQL server of TICKETHOOKS_POSTGRES_DSN,
// reached through the database/sql driver named driver: "pgx" or
// "postgres" (lib/pq). Both drivers read the same URL form of DSN.
func postgresServer(name, driver string) server {
	return server{
		name:        name,
		env:         "TICKETHOOKS_POSTGRES_DSN",
		driver:      driver,
		dialect:     Postgres,
		unreachable: "postgres://postgres@127.0.0.1:1/test?sslmode=disable&connect_timeout=5",
	}
}

// postgresBackend returns the PostgreSQL backend of TICKETHOOKS_POSTGRES_DSN
// through pgx, or skips the test when it is not set.
func postgresBackend(t *testing.T) backend {
	t.Helper()
	return postgresServer("PostgreSQL", "pgx").backend(t)
}

func TestPostgres(t *testing.T) {
	t.Parallel()
	runBackend(t, postgresBackend(t))
}

// TestPostgresPQ runs the suite on the same server through lib/pq.
func TestPostgresPQ(t *testing.T) {
	t.Parallel()
	runBackend(t, postgresServer("PostgreSQL through lib/pq", "postgres").backend(t))
}

func TestPostgresTrigramIndex(t *testing.T) {
	t.Parallel()
	tl := newTestLog(t, postgresBackend(t))
	ctx := context.Background()
	var indexed bool
	if err := tl.db.QueryRowContext(ctx, "SELECT to_regclass($1) IS NOT NULL", tl.name("entries_error_idx")).Scan(&indexed); err != nil {
		t.Fatalf("looking up the trigram index: %v", err)
	}
	if !indexed {
		t.Error("Migrate did not create the trigram index of error_text")
	}

	// When the index cannot be created, afterMigrate rolls back to its
	// savepoint and the migration transaction goes on.
	broken := *tl.Log
	broken.entries = Postgres.quote(tl.prefix + "missing")
	broken.prefix = tl.prefix + "x_"
	tx, err := tl.db.BeginTx(ctx, nil)
	if err != nil {
		t.Fatalf("BeginTx: %v", err)
	}
	defer tx.Rollback()
	if err := Postgres.afterMigrate(ctx, &broken, tx); err != nil {
		t.Fatalf("afterMigrate with an index it cannot create: %v, want the fallback", err)
	}
	var one int
	if err := tx.QueryRowContext(ctx, "SELECT 1").Scan(&one); err != nil {
		t.Errorf("transaction after the fallback: %v, want it usable", err)
	}
}
