package sqllog_test

import (
	"context"
	"database/sql"
	"fmt"
	"log"
	"os"
	"path/filepath"
	"time"

	_ "modernc.org/sqlite"

	"github.com/tickethooks/tickethooks/executionlog"
	"github.com/tickethooks/tickethooks/executionlog/sqllog"
)

// The log in a SQLite file: migrate, add an entry, claim it, record a
// failed attempt, search by error, and prune.
func Example() {
	dir, err := os.MkdirTemp("", "sqllog-example")
	if err != nil {
		log.Fatal(err)
	}
	defer os.RemoveAll(dir)
	db, err := sql.Open("sqlite", "file:"+filepath.Join(dir, "tickethooks.db")+
		"?_pragma=busy_timeout(5000)&_pragma=journal_mode(WAL)&_txlock=immediate")
	if err != nil {
		log.Fatal(err)
	}
	defer db.Close()

	ctx := context.Background()
	l, err := sqllog.New(db, sqllog.Config{Dialect: sqllog.SQLite})
	if err != nil {
		log.Fatal(err)
	}
	if err := l.Migrate(ctx); err != nil {
		log.Fatal(err)
	}

	now := time.Date(2026, time.March, 14, 15, 9, 26, 0, time.UTC)
	entry := &executionlog.Entry{
		ID:             executionlog.NewID(now),
		TriggerID:      "trg-notify-erp",
		TriggerName:    "Notify ERP",
		TicketID:       4242,
		Event:          "updated",
		URL:            "https://erp.example.com/hooks/tickets",
		RequestHeaders: map[string]string{"Content-Type": "application/json"},
		RequestBody:    []byte(`{"Id":4242,"Subject":"Printer down"}`),
		Status:         executionlog.StatusPending,
		NextAttemptAt:  now,
		CreatedAt:      now,
		UpdatedAt:      now,
	}
	if err := l.Add(ctx, []*executionlog.Entry{entry}); err != nil {
		log.Fatal(err)
	}

	claimed, err := l.Claim(ctx, executionlog.Claim{Owner: "engine-1", Now: now, Lease: time.Minute, Limit: 10})
	if err != nil {
		log.Fatal(err)
	}
	for _, e := range claimed {
		err := l.Update(ctx, executionlog.Update{
			ID:    e.ID,
			Owner: "engine-1",
			Attempt: &executionlog.Attempt{Number: 1, StartedAt: now, Duration: 120 * time.Millisecond,
				StatusCode: 503, Error: "HTTP 503 Service Unavailable"},
			Status:        executionlog.StatusPending,
			NextAttemptAt: now.Add(5 * time.Second),
			Now:           now,
		})
		if err != nil {
			log.Fatal(err)
		}
	}

	page, err := l.Query(ctx, executionlog.Filter{ErrorText: "service unavailable"})
	if err != nil {
		log.Fatal(err)
	}
	for _, e := range page.Entries {
		last, _ := e.LastAttempt()
		fmt.Printf("ticket %d: %s, %d attempt(s), last: %s\n", e.TicketID, e.Status, len(e.Attempts), last.Error)
	}

	// Prune keeps pending entries, however old.
	pruned, err := l.Prune(ctx, executionlog.AllTenants, now.Add(24*time.Hour))
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println("pruned:", pruned)
	// Output:
	// ticket 4242: pending, 1 attempt(s), last: HTTP 503 Service Unavailable
	// pruned: 0
}

// Entries added with AddTx commit or roll back with the application's own
// writes: a ticket change and the webhooks it fires are stored together
// or not at all.
func ExampleLog_AddTx() {
	dir, err := os.MkdirTemp("", "sqllog-example")
	if err != nil {
		log.Fatal(err)
	}
	defer os.RemoveAll(dir)
	db, err := sql.Open("sqlite", "file:"+filepath.Join(dir, "helpdesk.db")+
		"?_pragma=busy_timeout(5000)&_pragma=journal_mode(WAL)&_txlock=immediate")
	if err != nil {
		log.Fatal(err)
	}
	defer db.Close()

	ctx := context.Background()
	l, err := sqllog.New(db, sqllog.Config{Dialect: sqllog.SQLite})
	if err != nil {
		log.Fatal(err)
	}
	if err := l.Migrate(ctx); err != nil {
		log.Fatal(err)
	}
	if _, err := db.ExecContext(ctx, "CREATE TABLE tickets (id INTEGER PRIMARY KEY, status TEXT)"); err != nil {
		log.Fatal(err)
	}

	now := time.Date(2026, time.March, 14, 15, 9, 26, 0, time.UTC)
	tx, err := db.BeginTx(ctx, nil)
	if err != nil {
		log.Fatal(err)
	}
	defer tx.Rollback()
	if _, err := tx.ExecContext(ctx, "INSERT INTO tickets (id, status) VALUES (4242, 'New')"); err != nil {
		log.Fatal(err)
	}
	entry := &executionlog.Entry{
		ID: executionlog.NewID(now), TriggerID: "trg-notify-erp", TicketID: 4242, Event: "created",
		URL: "https://erp.example.com/hooks/tickets", RequestBody: []byte(`{"Id":4242}`),
		Status: executionlog.StatusPending, NextAttemptAt: now, CreatedAt: now, UpdatedAt: now,
	}
	if err := l.AddTx(ctx, tx, []*executionlog.Entry{entry}); err != nil {
		log.Fatal(err)
	}
	if err := tx.Commit(); err != nil {
		log.Fatal(err)
	}

	page, err := l.Query(ctx, executionlog.Filter{TicketID: 4242})
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println("entries for ticket 4242:", len(page.Entries))
	// Output:
	// entries for ticket 4242: 1
}
