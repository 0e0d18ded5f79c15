package tickethooks_test

import (
	"context"
	"database/sql"
	"errors"
	"path/filepath"
	"testing"
	"time"

	"github.com/tickethooks/tickethooks"
	"github.com/tickethooks/tickethooks/executionlog"
	"github.com/tickethooks/tickethooks/trigger"
)

// TestDurableOutbox writes the host's ticket row and the engine's log
// entry in one transaction of the host (OnTicketChangeTx): rolled back,
// neither exists and nothing is sent; committed, both exist and the
// webhook is delivered.
func TestDurableOutbox(t *testing.T) {
	t.Parallel()
	forEachBackend(t, allDurable, testOutbox)
}

func testOutbox(t *testing.T, db *durableDB) {
	ctx := context.Background()
	rcv := newReceiver(t)
	pool := db.open(t)
	tickets := db.hostTable(t, "tickets")
	l := db.log(t, pool)
	poll := 20 * time.Millisecond
	e, _ := newEngine(t, tickethooks.Config{
		Triggers: durableTriggers(t, rcv.URL), Log: l, PollInterval: poll,
	})
	insert := "INSERT INTO " + tickets + " (id, status) VALUES (" + db.placeholder(1) + ", " + db.placeholder(2) + ")"
	rows := func(id int) int {
		t.Helper()
		var n int
		if err := pool.QueryRowContext(ctx, "SELECT COUNT(*) FROM "+tickets+" WHERE id = "+db.placeholder(1), id).Scan(&n); err != nil {
			t.Fatalf("counting host rows: %v", err)
		}
		return n
	}
	// change resolves ticket id inside a host transaction: it writes the
	// host's row, then tells the engine.
	change := func(id int) *sql.Tx {
		t.Helper()
		tx, err := pool.BeginTx(ctx, nil)
		if err != nil {
			t.Fatalf("BeginTx: %v", err)
		}
		if _, err := tx.ExecContext(ctx, insert, id, "Resolved"); err != nil {
			tx.Rollback()
			t.Fatalf("host insert: %v", err)
		}
		before, after := resolving(id)
		if err := e.OnTicketChangeTx(ctx, tx, before, after); err != nil {
			tx.Rollback()
			t.Fatalf("OnTicketChangeTx: %v", err)
		}
		// Until the host commits, nobody else sees the entry.
		if n := len(allEntries(t, l)); n != 0 {
			tx.Rollback()
			t.Fatalf("before the commit the log shows %d entries outside the transaction, want none", n)
		}
		return tx
	}

	// Rolled back: no host row, no entry, and, after several polls, no
	// request.
	if err := change(1).Rollback(); err != nil {
		t.Fatalf("Rollback: %v", err)
	}
	time.Sleep(5 * poll)
	if n := rows(1); n != 0 {
		t.Errorf("host row of the rolled-back ticket: %d rows, want none", n)
	}
	if n := len(allEntries(t, l)); n != 0 {
		t.Errorf("log holds %d entries after the rollback, want none", n)
	}
	if n := len(rcv.got()); n != 0 {
		t.Errorf("receiver got %d requests after the rollback, want none", n)
	}

	// Committed: the host row, the entry and the delivery.
	if err := change(2).Commit(); err != nil {
		t.Fatalf("Commit: %v", err)
	}
	if n := rows(2); n != 1 {
		t.Errorf("host row of the committed ticket: %d rows, want 1", n)
	}
	entries := waitSettled(t, l, 1)
	if len(entries) != 1 {
		t.Fatalf("log holds %d entries, want 1", len(entries))
	}
	en := entries[0]
	if en.TicketID != 2 || en.Status != executionlog.StatusSucceeded {
		t.Errorf("entry of ticket %d is %s, want ticket 2 succeeded", en.TicketID, en.Status)
	}
	reqs := rcv.got()
	if len(reqs) != 1 {
		t.Fatalf("receiver got %d requests, want 1", len(reqs))
	}
	if got := reqs[0].header.Get("Webhook-Id"); got != en.ID {
		t.Errorf("webhook-id = %q, want the entry's %q", got, en.ID)
	}
}

// TestDurableOutboxUnsupported: only a log that can write inside the
// host's transaction accepts OnTicketChangeTx.
func TestDurableOutboxUnsupported(t *testing.T) {
	t.Parallel()
	pool, err := sql.Open("sqlite", "file:"+filepath.Join(t.TempDir(), "host.db")+sqliteOptions)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { pool.Close() })
	tx, err := pool.Begin()
	if err != nil {
		t.Fatal(err)
	}
	defer tx.Rollback()
	e, l := newEngine(t, tickethooks.Config{Triggers: trigger.NewStore(nil)}) // the memory log
	before, after := resolving(1)

	tests := []struct {
		name string
		tx   *sql.Tx
		want error
	}{
		{"memory log", tx, tickethooks.ErrTxUnsupported},
		{"nil transaction", nil, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := e.OnTicketChangeTx(context.Background(), tt.tx, before, after)
			switch {
			case err == nil:
				t.Errorf("OnTicketChangeTx succeeded, want an error")
			case tt.want != nil && !errors.Is(err, tt.want):
				t.Errorf("OnTicketChangeTx = %v, want %v", err, tt.want)
			}
		})
	}
	if n := len(allEntries(t, l)); n != 0 {
		t.Errorf("log holds %d entries, want none", n)
	}
}
