package logview_test

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"

	_ "github.com/go-sql-driver/mysql"
	_ "github.com/jackc/pgx/v5/stdlib"
	_ "modernc.org/sqlite"

	"github.com/tickethooks/tickethooks/executionlog"
	"github.com/tickethooks/tickethooks/executionlog/sqllog"
)

// logKind is a kind of log the handler tests run against.
type logKind struct {
	name string
	// env holds the DSN of a database server; "" for the logs that need
	// none.
	env     string
	driver  string         // "" for the memory log
	dialect sqllog.Dialect // nil for the memory log
}

// The kinds of log. The PostgreSQL and MySQL logs need the DSN of a server
// in their variable.
var (
	memoryKind   = logKind{name: "Memory"}
	sqliteKind   = logKind{name: "SQLite", driver: "sqlite", dialect: sqllog.SQLite}
	postgresKind = logKind{name: "PostgreSQL", env: "TICKETHOOKS_POSTGRES_DSN", driver: "pgx", dialect: sqllog.Postgres}
	mysqlKind    = logKind{name: "MySQL", env: "TICKETHOOKS_MYSQL_DSN", driver: "mysql", dialect: sqllog.MySQL}
	everyKind    = []logKind{memoryKind, sqliteKind, postgresKind, mysqlKind}
)

// newLog returns an empty log of kind k holding the entries of
// fixtureEntries, or skips tb when k needs a server whose variable is
// not set. SQL logs get tables of their own, dropped when tb ends.
func newLog(tb testing.TB, k logKind) executionlog.Log {
	tb.Helper()
	var log executionlog.Log
	switch {
	case k.dialect == nil:
		log = executionlog.NewMemory(executionlog.MemoryOptions{})
	default:
		dsn := "file:" + filepath.Join(tb.TempDir(), "log.db") + "?_pragma=busy_timeout(10000)"
		if k.env != "" {
			if dsn = os.Getenv(k.env); dsn == "" {
				tb.Skipf("set %s to run the handler against a %s log", k.env, k.name)
			}
		}
		db, err := sql.Open(k.driver, dsn)
		if err != nil {
			tb.Fatalf("sql.Open(%s): %v", k.driver, err)
		}
		tb.Cleanup(func() { db.Close() })
		b := make([]byte, 5)
		_, _ = rand.Read(b)
		prefix := "lv" + hex.EncodeToString(b) + "_"
		l, err := sqllog.New(db, sqllog.Config{Dialect: k.dialect, TablePrefix: prefix})
		if err != nil {
			tb.Fatalf("sqllog.New: %v", err)
		}
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		if err := l.Migrate(ctx); err != nil {
			tb.Fatalf("Migrate: %v", err)
		}
		if k.env != "" {
			tb.Cleanup(func() {
				for _, table := range []string{"attempts", "entries", "migrations"} {
					if _, err := db.Exec("DROP TABLE IF EXISTS " + prefix + table); err != nil {
						tb.Errorf("dropping %s%s: %v", prefix, table, err)
					}
				}
			})
		}
		log = l
	}
	if err := log.Add(context.Background(), fixtureEntries()); err != nil {
		tb.Fatalf("Add: %v", err)
	}
	return log
}

// fixtureEntries returns an entry of each state for newLog, with the same
// ids on every call.
func fixtureEntries() []*executionlog.Entry {
	entries := []*executionlog.Entry{
		entry(0, 1001, "crm", executionlog.StatusSucceeded, attempt(1, 0, 200, "", "ok")),
		entry(time.Hour, 1002, "erp", executionlog.StatusFailed, attempt(1, time.Hour, 503, "receiver answered 503", "busy")),
		entry(2*time.Hour, 1003, "crm", executionlog.StatusPending),
	}
	entries[2].NextAttemptAt = now()
	for i, e := range entries {
		e.ID = e.ID[:10] + fmt.Sprintf("%016d", i) // the timestamp of NewID, a fixed rest
	}
	return entries
}
