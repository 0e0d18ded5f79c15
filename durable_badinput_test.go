package tickethooks_test

import (
	"context"
	"database/sql"
	"errors"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/tickethooks/tickethooks"
	"github.com/tickethooks/tickethooks/executionlog/sqllog"
)

// TestDurableClosedDB: OnTicketChange on an engine whose *sql.DB was
// closed returns an error naming the failure, and writes nothing.
func TestDurableClosedDB(t *testing.T) {
	t.Parallel()
	forEachBackend(t, allDurable, func(t *testing.T, db *durableDB) {
		rcv := newReceiver(t)
		pool := db.rawOpen(t)
		e, _ := newEngine(t, tickethooks.Config{
			Triggers: durableTriggers(t, rcv.URL), Log: db.log(t, pool),
		})
		if err := pool.Close(); err != nil {
			t.Fatalf("closing the pool: %v", err)
		}
		before, after := resolving(1)
		err := e.OnTicketChange(context.Background(), before, after)
		// database/sql does not export its "database is closed" error, so
		// the message is all there is to match.
		if err == nil || !strings.Contains(err.Error(), "tickethooks: recording 1 deliveries") ||
			!strings.Contains(err.Error(), "sql: database is closed") {
			t.Errorf("OnTicketChange on a closed database = %v, want an error recording 1 deliveries: sql: database is closed", err)
		}
		// Nothing was written, and nothing is sent.
		if n := len(allEntries(t, db.log(t, db.admin))); n != 0 {
			t.Errorf("log holds %d entries, want none", n)
		}
		if n := len(rcv.got()); n != 0 {
			t.Errorf("receiver got %d requests, want none", n)
		}
	})
}

// TestDurableUnreachableDB: with a database that cannot be reached,
// OnTicketChange fails with an error naming the log's write and the
// driver's cause. No server is needed: nothing listens on port 1.
func TestDurableUnreachableDB(t *testing.T) {
	t.Parallel()
	tests := []struct {
		b      durableBackend
		want   string // in the driver's message
		wantIs error  // the cause the driver wraps, if any
	}{
		{sqliteDurable, "unable to open database file", nil},
		{postgresDurable, "connection refused", syscall.ECONNREFUSED},
		{postgresPQDurable, "connection refused", syscall.ECONNREFUSED},
		{mysqlDurable, "connection refused", syscall.ECONNREFUSED},
	}
	for _, tt := range tests {
		t.Run(tt.b.name, func(t *testing.T) {
			t.Parallel()
			pool, err := sql.Open(tt.b.driver, tt.b.unreachableDSN)
			if err != nil {
				t.Fatalf("sql.Open: %v", err)
			}
			t.Cleanup(func() { pool.Close() })
			l, err := sqllog.New(pool, sqllog.Config{Dialect: tt.b.dialect})
			if err != nil {
				t.Fatalf("sqllog.New: %v", err)
			}
			e, _ := newEngine(t, tickethooks.Config{Triggers: durableTriggers(t, "http://127.0.0.1:1/hook"), Log: l})
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			before, after := resolving(1)
			err = e.OnTicketChange(ctx, before, after)
			if err == nil || !strings.Contains(err.Error(), "tickethooks: recording 1 deliveries: sqllog: add 1 entries") ||
				!strings.Contains(err.Error(), tt.want) {
				t.Errorf("OnTicketChange = %v, want an error recording 1 deliveries: ... %s", err, tt.want)
			}
			if tt.wantIs != nil && !errors.Is(err, tt.wantIs) {
				t.Errorf("OnTicketChange = %v, want an error wrapping %v", err, tt.wantIs)
			}
			t.Logf("%s: %v", tt.b.name, err)
			if err := l.Migrate(ctx); err == nil {
				t.Error("Migrate on an unreachable database succeeded, want an error")
			}
		})
	}
}

// TestDurableNotMigrated: a log whose tables were never created fails the
// change, naming the missing table.
func TestDurableNotMigrated(t *testing.T) {
	t.Parallel()
	forEachBackend(t, allDurable, func(t *testing.T, db *durableDB) {
		pool := db.open(t)
		l, err := sqllog.New(pool, sqllog.Config{Dialect: db.b.dialect, TablePrefix: db.prefix + "never_"})
		if err != nil {
			t.Fatalf("sqllog.New: %v", err)
		}
		e, _ := newEngine(t, tickethooks.Config{Triggers: durableTriggers(t, "http://127.0.0.1:1/hook"), Log: l})
		before, after := resolving(1)
		err = e.OnTicketChange(context.Background(), before, after)
		if err == nil || !strings.Contains(err.Error(), "tickethooks: recording 1 deliveries") ||
			!strings.Contains(err.Error(), db.prefix+"never_entries") {
			t.Errorf("OnTicketChange = %v, want an error naming the table %sentries", err, db.prefix+"never_")
		}
	})
}

// TestDurableForeignTx: a transaction of another database than the log's
// fails OnTicketChangeTx, and the log's own database gets nothing.
func TestDurableForeignTx(t *testing.T) {
	t.Parallel()
	db := newDurableDB(t, sqliteDurable)
	e, _ := newEngine(t, tickethooks.Config{
		Triggers: durableTriggers(t, "http://127.0.0.1:1/hook"), Log: db.log(t, db.open(t)),
	})
	other, err := sql.Open("sqlite", "file:"+filepath.Join(t.TempDir(), "other.db")+sqliteOptions)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { other.Close() })
	tx, err := other.Begin()
	if err != nil {
		t.Fatal(err)
	}
	defer tx.Rollback()
	before, after := resolving(1)
	err = e.OnTicketChangeTx(context.Background(), tx, before, after)
	if err == nil || !strings.Contains(err.Error(), "no such table: "+db.prefix+"entries") {
		t.Errorf("OnTicketChangeTx with another database's transaction = %v, want no such table %sentries", err, db.prefix)
	}
	if n := len(allEntries(t, db.log(t, db.admin))); n != 0 {
		t.Errorf("log holds %d entries, want none", n)
	}
}
