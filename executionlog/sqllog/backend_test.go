package sqllog

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"fmt"
	"os"
	"testing"

	"github.com/tickethooks/tickethooks/executionlog"
	"github.com/tickethooks/tickethooks/executionlog/executionlogtest"
)

// backend is a database the tests run against.
type backend struct {
	dialect Dialect
	// open returns a new connection pool to the database that holds the
	// log tables. Calls with the same key reach the same database; the
	// SQLite backend makes a new database file for each new key.
	open func(t *testing.T, key string) *sql.DB
	// unreachable opens a pool to a database that cannot be reached.
	unreachable func() (*sql.DB, error)
}

// server describes a database server that the tests reach through a DSN
// in the environment, such as PostgreSQL or MySQL.
type server struct {
	name        string  // for the skip message, such as "PostgreSQL"
	env         string  // the environment variable holding the DSN
	driver      string  // the database/sql driver name
	dialect     Dialect // the log's dialect
	unreachable string  // a DSN of a server that cannot be reached
}

// backend returns the backend of the server, or skips the test when the
// server's environment variable is not set. Every log uses its own table
// prefix in the same database.
func (s server) backend(t *testing.T) backend {
	t.Helper()
	dsn := os.Getenv(s.env)
	if dsn == "" {
		t.Skipf("set %s to run the %s suite", s.env, s.name)
	}
	return backend{
		dialect: s.dialect,
		open: func(t *testing.T, _ string) *sql.DB {
			t.Helper()
			db, err := sql.Open(s.driver, dsn)
			if err != nil {
				t.Fatalf("sql.Open: %v", err)
			}
			db.SetMaxOpenConns(8)
			t.Cleanup(func() { db.Close() })
			return db
		},
		unreachable: func() (*sql.DB, error) {
			return sql.Open(s.driver, s.unreachable)
		},
	}
}

// newPrefix returns a fresh table prefix, unique across test runs that
// share a database server.
func newPrefix(t *testing.T) string {
	t.Helper()
	b := make([]byte, 5)
	_, _ = rand.Read(b)
	return "t" + hex.EncodeToString(b) + "_"
}

// testLog is a migrated log with its own tables in a database of the
// backend, dropped when the test ends.
type testLog struct {
	*Log
	b      backend
	key    string
	prefix string
}

// newTestLog returns an empty migrated log with fresh tables.
func newTestLog(t *testing.T, b backend) *testLog {
	t.Helper()
	prefix := newPrefix(t)
	db := b.open(t, prefix)
	l, err := New(db, Config{Dialect: b.dialect, TablePrefix: prefix})
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	if err := l.Migrate(context.Background()); err != nil {
		t.Fatalf("Migrate: %v", err)
	}
	t.Cleanup(func() { dropTables(t, db, l) })
	return &testLog{Log: l, b: b, key: prefix, prefix: prefix}
}

// another returns a log over the same tables through a new pool: another
// engine.
func (tl *testLog) another(t *testing.T) *Log {
	t.Helper()
	l, err := New(tl.b.open(t, tl.key), Config{Dialect: tl.b.dialect, TablePrefix: tl.prefix})
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	return l
}

// dropTables drops the tables of l.
func dropTables(t *testing.T, db *sql.DB, l *Log) {
	t.Helper()
	for _, table := range []string{l.attempts, l.entries, l.migrations} {
		if _, err := db.Exec("DROP TABLE IF EXISTS " + table); err != nil {
			t.Errorf("dropping %s: %v", table, err)
		}
	}
}

// runBackend runs the conformance suite and the package's own tests
// against b.
func runBackend(t *testing.T, b backend) {
	t.Run("Conformance", func(t *testing.T) {
		executionlogtest.Run(t, func(t *testing.T) executionlog.Log {
			return newTestLog(t, b).Log
		})
	})
	tests := []struct {
		name string
		run  func(t *testing.T, b backend)
	}{
		{"MigrateTwice", testMigrateTwice},
		{"MigrateConcurrently", testMigrateConcurrently},
		{"Prune", testPrune},
		{"DeleteBatches", testDeleteBatches},
		{"AddTx", testAddTx},
		{"AddFinalEntries", testAddFinalEntries},
		{"ClosedDB", testClosedDB},
		{"UnreachableDB", testUnreachableDB},
		{"ErrorSearch", testErrorSearch},
		{"ExactRoundTrip", testExactRoundTrip},
		{"BadInput", testBadInput},
		{"ClaimsAcrossEngines", testClaimsAcrossEngines},
		{"ClaimsAcrossEnginesPerTenant", testClaimsAcrossEnginesPerTenant},
		{"GroupUpdates", testGroupUpdates},
		{"GroupUpdatesAppend", testGroupUpdatesAppend},
		{"GroupUpdateFallback", testGroupUpdateFallback},
		{"GroupAdds", testGroupAdds},
		{"GroupMixed", testGroupMixed},
		{"GroupCancelQueued", testGroupCancelQueued},
		{"GroupCancelTaken", testGroupCancelTaken},
		{"AddTxDuplicateKey", testAddTxDuplicateKey},
		{"AddTxKeyRace", testAddTxKeyRace},
		{"GroupAddsChangeKeys", testGroupAddsChangeKeys},
		{"MigrateChangeKey", testMigrateChangeKey},
		{"MigrateTenant", testMigrateTenant},
		{"RecordAttemptErrors", testRecordAttemptErrors},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			tc.run(t, b)
		})
	}
}

// count returns the result of a SELECT COUNT(*) query on l's database.
func count(t *testing.T, l *Log, query string, args ...any) int {
	t.Helper()
	var n int
	if err := l.queryRow(context.Background(), l.db, query, args...).Scan(&n); err != nil {
		t.Fatalf("%s: %v", query, err)
	}
	return n
}

// mustExec runs a statement on l's database.
func mustExec(t *testing.T, l *Log, query string, args ...any) {
	t.Helper()
	if _, err := l.exec(context.Background(), l.db, query, args...); err != nil {
		t.Fatalf("%s: %v", query, err)
	}
}

// label names a pool for messages.
func label(i int) string { return fmt.Sprintf("engine-%d", i) }
