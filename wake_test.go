package tickethooks_test

import (
	"context"
	"database/sql"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"os"
	"path/filepath"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/tickethooks/tickethooks"
	"github.com/tickethooks/tickethooks/executionlog"
	"github.com/tickethooks/tickethooks/executionlog/sqllog"
	"github.com/tickethooks/tickethooks/payload"
	"github.com/tickethooks/tickethooks/trigger"
)

// TestWake: with an hour between polls, the webhooks recorded in a host
// transaction are delivered promptly when the host calls Wake after the
// commit, and not before the next poll when it does not.
func TestWake(t *testing.T) {
	t.Parallel()
	forEachBackend(t, allDurable, testWake)
}

func testWake(t *testing.T, db *durableDB) {
	ctx := context.Background()
	rcv := newReceiver(t)
	pool := db.open(t)
	l := db.log(t, pool)
	counted := &claimCounter{Log: l}
	e, _ := newEngine(t, tickethooks.Config{
		Triggers: durableTriggers(t, rcv.URL), Log: counted, PollInterval: time.Hour,
	})
	// The engine looks in the log once as it starts; wait for that look,
	// so that only a poll or a wake can find the entries.
	waitFor(t, "the engine's first claim", func() bool { return counted.claims.Load() > 0 })
	commit := func(id int) {
		t.Helper()
		tx, err := pool.BeginTx(ctx, nil)
		if err != nil {
			t.Fatalf("BeginTx: %v", err)
		}
		before, after := resolving(id)
		if err := e.OnTicketChangeTx(ctx, tx, before, after); err != nil {
			tx.Rollback()
			t.Fatalf("OnTicketChangeTx: %v", err)
		}
		if err := tx.Commit(); err != nil {
			t.Fatalf("Commit: %v", err)
		}
	}

	// Without Wake, the committed entry waits for the poll, an hour away.
	commit(1)
	time.Sleep(300 * time.Millisecond)
	if n := len(rcv.got()); n != 0 {
		t.Fatalf("receiver got %d requests without Wake, want none before the next poll", n)
	}

	// Wake delivers it, and the next one too.
	e.Wake()
	waitFor(t, "the first delivery after Wake", func() bool { return len(rcv.got()) == 1 })
	commit(2)
	e.Wake()
	entries := waitSettled(t, l, 2)
	got := make(map[int]executionlog.Status)
	for _, en := range entries {
		got[en.TicketID] = en.Status
	}
	want := map[int]executionlog.Status{1: executionlog.StatusSucceeded, 2: executionlog.StatusSucceeded}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("entries after Wake mismatch (-want +got):\n%s", diff)
	}
}

// claimCounter is a SQL log that counts the engine's claims.
type claimCounter struct {
	*sqllog.Log
	claims atomic.Int64
}

func (c *claimCounter) Claim(ctx context.Context, cl executionlog.Claim) ([]executionlog.Entry, error) {
	c.claims.Add(1)
	return c.Log.Claim(ctx, cl)
}

// TestWakeAfterClose: Wake after Close, and many Wakes at once, neither
// block nor panic.
func TestWakeAfterClose(t *testing.T) {
	t.Parallel()
	e, _ := newEngine(t, tickethooks.Config{Triggers: durableTriggers(t, "http://127.0.0.1:1")})
	done := make(chan struct{})
	for range 8 {
		go func() {
			for range 100 {
				e.Wake()
			}
			done <- struct{}{}
		}()
	}
	for range 8 {
		<-done
	}
	if err := e.Close(context.Background()); err != nil {
		t.Fatalf("Close: %v", err)
	}
	for range 3 {
		e.Wake()
	}
}

// A host records its ticket update and the engine's webhooks in one
// transaction, then calls Wake after the commit so that the webhooks are
// delivered at once rather than at the next poll.
func ExampleEngine_Wake() {
	ctx := context.Background()
	receiver := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fmt.Println("receiver got", r.Method)
	}))
	defer receiver.Close()

	dir, err := os.MkdirTemp("", "tickethooks-wake")
	if err != nil {
		fmt.Println(err)
		return
	}
	defer os.RemoveAll(dir)
	db, err := sql.Open("sqlite", "file:"+filepath.Join(dir, "helpdesk.db")+"?_pragma=busy_timeout(5000)&_pragma=journal_mode(WAL)")
	if err != nil {
		fmt.Println(err)
		return
	}
	defer db.Close()
	db.SetMaxOpenConns(1)
	execLog, err := sqllog.New(db, sqllog.Config{Dialect: sqllog.SQLite})
	if err != nil {
		fmt.Println(err)
		return
	}
	if err := execLog.Migrate(ctx); err != nil {
		fmt.Println(err)
		return
	}
	if _, err := db.ExecContext(ctx, "CREATE TABLE tickets (id INTEGER PRIMARY KEY, status TEXT NOT NULL)"); err != nil {
		fmt.Println(err)
		return
	}

	local := []netip.Prefix{netip.MustParsePrefix("127.0.0.0/8")}
	set, err := trigger.Parse([]byte(`[{"id": "resolved",
		"conditions": {"all": [{"field": "Status", "operator": "changed_to", "value": "Resolved"}]},
		"actions": [{"type": "webhook", "url": "`+receiver.URL+`"}]}]`), &trigger.Options{AllowNetworks: local})
	if err != nil {
		fmt.Println(err)
		return
	}
	engine, err := tickethooks.New(tickethooks.Config{
		Triggers:      trigger.NewStore(set),
		Log:           execLog,
		Logger:        slog.New(slog.DiscardHandler),
		AllowNetworks: local,
		PollInterval:  time.Hour, // only Wake starts the delivery promptly
	})
	if err != nil {
		fmt.Println(err)
		return
	}
	defer engine.Close(ctx)

	// The host's transaction: its own row and the engine's entries.
	tx, err := db.BeginTx(ctx, nil)
	if err != nil {
		fmt.Println(err)
		return
	}
	if _, err := tx.ExecContext(ctx, "INSERT INTO tickets (id, status) VALUES (?, ?)", 7, "Resolved"); err != nil {
		tx.Rollback()
		fmt.Println(err)
		return
	}
	before := &payload.Ticket{Id: 7, Status: "InAttendance"}
	after := &payload.Ticket{Id: 7, Status: "Resolved"}
	if err := engine.OnTicketChangeTx(ctx, tx, before, after); err != nil {
		tx.Rollback()
		fmt.Println(err)
		return
	}
	if err := tx.Commit(); err != nil {
		fmt.Println(err)
		return
	}
	engine.Wake()

	for {
		page, err := execLog.Query(ctx, executionlog.Filter{TicketID: 7})
		if err != nil {
			fmt.Println(err)
			return
		}
		if len(page.Entries) == 1 && page.Entries[0].Status != executionlog.StatusPending {
			fmt.Printf("ticket 7: %s\n", page.Entries[0].Status)
			break
		}
		time.Sleep(5 * time.Millisecond)
	}
	// Output:
	// receiver got POST
	// ticket 7: succeeded
}
