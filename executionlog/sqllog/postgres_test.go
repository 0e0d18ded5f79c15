package sqllog

import (
	"context"
	"testing"

	_ "github.com/jackc/pgx/v5/stdlib"
)

// postgresBackend returns the PostgreSQL backend of TICKETHOOKS_POSTGRES_DSN,
// or skips the test when it is not set.
func postgresBackend(t *testing.T) backend {
	t.Helper()
	return server{
		name:        "PostgreSQL",
		env:         "TICKETHOOKS_POSTGRES_DSN",
		driver:      "pgx",
		dialect:     Postgres,
		unreachable: "postgres://postgres@127.0.0.1:1/test?sslmode=disable&connect_timeout=5",
	}.backend(t)
}

func TestPostgres(t *testing.T) {
	t.Parallel()
	runBackend(t, postgresBackend(t))
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
