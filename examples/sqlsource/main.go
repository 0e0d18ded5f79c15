// Command sqlsource shows triggers stored in the host's database
// (trigger/sqlsource) on the embedded default: one SQLite file in a
// temporary directory holds the host's tickets, the triggers and the
// Webhook Execution Log, no server needed.
//
// An admin screen saves triggers through the Source, which refuses one
// that does not load. The host resolves a ticket in its own transaction
// (OnTicketChangeTx) and calls Engine.Wake after the commit, so the
// webhook leaves at once although the engine polls once a minute. The
// admin then moves the trigger to another URL; a row broken by hand is
// reported by Reload while the engine goes on with the triggers it had;
// the admin saves the trigger again and disables it. The program prints
// what each ticket change delivered.
//
//	go run ./examples/sqlsource
package main

import (
	"context"
	"database/sql"
	"fmt"
	"io"
	"log"
	"log/slog"
	"net"
	"net/http"
	"net/netip"
	"os"
	"path/filepath"
	"sync"
	"time"

	_ "modernc.org/sqlite" // the SQLite driver, registered as "sqlite"

	"github.com/tickethooks/tickethooks"
	"github.com/tickethooks/tickethooks/executionlog"
	"github.com/tickethooks/tickethooks/executionlog/sqllog"
	"github.com/tickethooks/tickethooks/payload"
	"github.com/tickethooks/tickethooks/trigger"
	"github.com/tickethooks/tickethooks/trigger/sqlsource"
)

// local is where the example's receiver runs. The SSRF guard refuses
// loopback addresses unless they are allowed, both when triggers are
// loaded (the Source's Options) and when the engine connects.
var local = []netip.Prefix{netip.MustParsePrefix("127.0.0.0/8")}

// resolved is the admin's trigger; %s is the receiver's URL.
const resolved = `{"id": "resolved", "name": "Resolved tickets to billing",
  "conditions": {"all": [{"field": "Status", "operator": "changed_to", "value": "Resolved"}]},
  "actions": [{"type": "webhook", "url": "%s"}]}`

func main() {
	if err := run(); err != nil {
		log.Fatal(err)
	}
}

func run() error {
	ctx := context.Background()
	rcv, err := startReceiver()
	if err != nil {
		return err
	}
	defer rcv.stop()

	dir, err := os.MkdirTemp("", "tickethooks-sqlsource")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	dsn := "file:" + filepath.Join(dir, "helpdesk.db") + "?_pragma=busy_timeout(5000)&_pragma=journal_mode(WAL)&_txlock=immediate"
	db, err := sql.Open("sqlite", dsn)
	if err != nil {
		return err
	}
	defer db.Close()
	db.SetMaxOpenConns(1) // SQLite has one writer
	if _, err := db.ExecContext(ctx, "CREATE TABLE tickets (id INTEGER PRIMARY KEY, status TEXT NOT NULL)"); err != nil {
		return err
	}

	// The triggers and the log live in the host's database. The Source
	// reads through a pool of its own: it may check for changes while the
	// host's transaction holds the one connection of db.
	srcDB, err := sql.Open("sqlite", dsn)
	if err != nil {
		return err
	}
	defer srcDB.Close()
	src, err := sqlsource.New(srcDB, sqlsource.Config{Dialect: sqlsource.SQLite, Options: &trigger.Options{AllowNetworks: local}})
	if err != nil {
		return err
	}
	execLog, err := sqllog.New(db, sqllog.Config{Dialect: sqllog.SQLite})
	if err != nil {
		return err
	}
	for _, m := range []func(context.Context) error{src.Migrate, execLog.Migrate} {
		if err := m(ctx); err != nil {
			return err
		}
	}

	// The admin screen saves two triggers; the second does not load.
	fmt.Println("Admin saves the trigger \"resolved\":", result(src.Put(ctx, fmt.Appendf(nil, resolved, rcv.url+"/billing"), 1)))
	fmt.Println("Admin saves the trigger \"metadata\":", result(src.Put(ctx,
		[]byte(`{"id": "metadata", "actions": [{"type": "webhook", "url": "http://169.254.169.254/latest"}]}`), 2)))

	engine, err := tickethooks.New(tickethooks.Config{
		Triggers:      src,
		Log:           execLog,
		Logger:        slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn})),
		AllowNetworks: local,
		PollInterval:  time.Minute, // Wake, not the poll, starts each delivery
	})
	if err != nil {
		return err
	}
	defer engine.Close(ctx)

	resolve := func(id int, what string) error {
		n, err := resolveTicket(ctx, db, engine, execLog, rcv, id)
		if err != nil {
			return err
		}
		fmt.Printf("Ticket %d resolved %s: %s\n", id, what, n)
		return nil
	}
	fmt.Println()
	if err := resolve(1, "with the trigger as saved"); err != nil {
		return err
	}
	fmt.Println("Admin moves \"resolved\" to /billing-v2:", result(src.Put(ctx, fmt.Appendf(nil, resolved, rcv.url+"/billing-v2"), 1)))
	if err := resolve(2, "after the move"); err != nil {
		return err
	}

	// Someone edits the row by hand and breaks it. Reload reports it; the
	// engine goes on with the triggers it had.
	if _, err := db.ExecContext(ctx, `UPDATE tickethooks_triggers SET definition = '{"id": "resolved", "actions": []}' WHERE id = 'resolved'`); err != nil {
		return err
	}
	fmt.Println("Reload after a broken hand edit:", result(src.Reload(ctx)))
	if err := resolve(3, "after the broken edit"); err != nil {
		return err
	}
	fmt.Println("Admin saves \"resolved\" again:", result(src.Put(ctx, fmt.Appendf(nil, resolved, rcv.url+"/billing-v2"), 1)))
	fmt.Println("Admin disables \"resolved\":", result(src.SetEnabled(ctx, "resolved", false)))
	return resolve(4, "while it is disabled")
}

// result describes the outcome of an admin's change.
func result(err error) string {
	if err != nil {
		return "refused: " + err.Error()
	}
	return "ok"
}

// resolveTicket resolves ticket id in one transaction of the host that
// also records the webhooks, wakes the engine after the commit, and
// describes what the receiver got.
func resolveTicket(ctx context.Context, db *sql.DB, engine *tickethooks.Engine, l executionlog.Log, rcv *receiver, id int) (string, error) {
	tx, err := db.BeginTx(ctx, nil)
	if err != nil {
		return "", err
	}
	defer tx.Rollback() // after Commit, a no-op
	if _, err := tx.ExecContext(ctx, "INSERT INTO tickets (id, status) VALUES (?, 'Resolved')", id); err != nil {
		return "", err
	}
	before := &payload.Ticket{Id: id, Subject: "Printer on fire", Status: "InAttendance"}
	after := &payload.Ticket{Id: id, Subject: "Printer on fire", Status: "Resolved"}
	if err := engine.OnTicketChangeTx(ctx, tx, before, after); err != nil {
		return "", err
	}
	if err := tx.Commit(); err != nil {
		return "", err
	}
	engine.Wake()

	start := time.Now()
	for {
		page, err := l.Query(ctx, executionlog.Filter{TicketID: id})
		if err != nil {
			return "", err
		}
		if len(page.Entries) == 0 {
			return "no trigger fired", nil
		}
		if e := page.Entries[0]; e.Status != executionlog.StatusPending {
			return fmt.Sprintf("%s, POST %s %s", e.TriggerID, rcv.last(), e.Status), nil
		}
		if time.Since(start) > 30*time.Second {
			return "", fmt.Errorf("ticket %d: delivery still pending after 30s", id)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// receiver is the system that receives the webhooks.
type receiver struct {
	url  string
	stop func()

	mu   sync.Mutex
	path string
}

// last returns the path of the last request received.
func (r *receiver) last() string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.path
}

func startReceiver() (*receiver, error) {
	r := &receiver{}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	srv := &http.Server{ReadHeaderTimeout: 5 * time.Second, Handler: http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		io.Copy(io.Discard, req.Body)
		r.mu.Lock()
		r.path = req.URL.Path
		r.mu.Unlock()
	})}
	go srv.Serve(ln)
	r.url, r.stop = "http://"+ln.Addr().String(), func() { srv.Close() }
	return r, nil
}
