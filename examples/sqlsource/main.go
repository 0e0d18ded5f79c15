// Command sqlsource shows triggers stored in the host's database
// (trigger/sqlsource) for two accounts of a hosted helpdesk, on the
// embedded default: one SQLite file in a temporary directory holds the
// host's tickets and the triggers, no server needed.
//
// Each account's admin screen saves triggers through the Source under the
// account's tenant, which the host takes from its login; the Source
// refuses a trigger that does not load. Both accounts name their trigger
// "resolved", and each is served its own. The engine is configured for
// tenants: each ticket change names its account, and its webhook goes to
// that account's receiver only. Acme's admin then moves its trigger to
// another URL, which Globex does not notice; a row of Acme's broken by
// hand is reported by Reload while the engine goes on with the triggers
// it had, for both accounts; Acme saves its trigger again and disables
// it; Globex leaves, and DeleteTenant removes its triggers. The program
// prints what each ticket change delivered.
//
// The Webhook Execution Log is kept in memory here; a host that keeps it
// in the same database uses executionlog/sqllog and OnTicketChangeTx.
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
	"github.com/tickethooks/tickethooks/payload"
	"github.com/tickethooks/tickethooks/trigger"
	"github.com/tickethooks/tickethooks/trigger/sqlsource"
)

// local is where the example's receiver runs. The SSRF guard refuses
// loopback addresses unless they are allowed, both when triggers are
// loaded (the Source's Options) and when the engine connects.
var local = []netip.Prefix{netip.MustParsePrefix("127.0.0.0/8")}

// resolved is an admin's trigger; %s is the receiver's URL.
const resolved = `{"id": "resolved", "name": "Resolved tickets to billing",
  "conditions": {"all": [{"field": "Status", "operator": "changed_to", "value": "Resolved"}]},
  "actions": [{"type": "webhook", "url": "%s"}]}`

// The accounts' tenants, as the host's login names them.
const (
	acme   = "acme"
	globex = "globex"
)

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
	if _, err := db.ExecContext(ctx, `CREATE TABLE tickets (
		tenant TEXT NOT NULL, id INTEGER NOT NULL, status TEXT NOT NULL, PRIMARY KEY (tenant, id))`); err != nil {
		return err
	}

	// The triggers live in the host's database. The Source reads through
	// a pool of its own, so that it may check for changes while the
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
	if err := src.Migrate(ctx); err != nil {
		return err
	}

	// Each account's admin saves a trigger with the same id; Acme's
	// second trigger does not load.
	for _, tenant := range []string{acme, globex} {
		fmt.Printf("%s saves the trigger \"resolved\": %s\n", tenant,
			result(src.Put(ctx, tenant, fmt.Appendf(nil, resolved, rcv.url+"/"+tenant+"/billing"), 1)))
	}
	fmt.Printf("%s saves the trigger \"metadata\": %s\n", acme, result(src.Put(ctx, acme,
		[]byte(`{"id": "metadata", "actions": [{"type": "webhook", "url": "http://169.254.169.254/latest"}]}`), 2)))

	execLog := executionlog.NewMemory(executionlog.MemoryOptions{})
	engine, err := tickethooks.New(tickethooks.Config{
		MultiTenant:   true, // every change names its account
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

	// resolve resolves ticket id of each tenant; both accounts have a
	// ticket with each number.
	resolve := func(id int, what string, tenants ...string) error {
		for _, tenant := range tenants {
			n, err := resolveTicket(ctx, db, engine, execLog, rcv, tenant, id)
			if err != nil {
				return err
			}
			fmt.Printf("%s's ticket %d resolved %s: %s\n", tenant, id, what, n)
		}
		return nil
	}
	fmt.Println()
	if err := resolve(1, "with the triggers as saved", acme, globex); err != nil {
		return err
	}
	fmt.Printf("%s moves \"resolved\" to /billing-v2: %s\n", acme,
		result(src.Put(ctx, acme, fmt.Appendf(nil, resolved, rcv.url+"/acme/billing-v2"), 1)))
	if err := resolve(2, "after Acme's move", acme, globex); err != nil {
		return err
	}

	// Someone edits Acme's row by hand and breaks it. Reload reports it,
	// naming the account; the engine goes on with the triggers it had.
	if _, err := srcDB.ExecContext(ctx, `UPDATE tickethooks_triggers SET definition = '{"id": "resolved", "actions": []}'
		WHERE tenant = 'acme' AND id = 'resolved'`); err != nil {
		return err
	}
	fmt.Println("Reload after a broken hand edit:", result(src.Reload(ctx)))
	if err := resolve(3, "after the broken edit", acme, globex); err != nil {
		return err
	}
	fmt.Printf("%s saves \"resolved\" again: %s\n", acme, result(src.Put(ctx, acme, fmt.Appendf(nil, resolved, rcv.url+"/acme/billing-v2"), 1)))
	fmt.Printf("%s disables \"resolved\": %s\n", acme, result(src.SetEnabled(ctx, acme, "resolved", false)))
	fmt.Printf("%s leaves: %s\n", globex, result(src.DeleteTenant(ctx, globex)))
	return resolve(4, "after both changes", acme, globex)
}

// result describes the outcome of an admin's change.
func result(err error) string {
	if err != nil {
		return "refused: " + err.Error()
	}
	return "ok"
}

// resolveTicket resolves tenant's ticket id in a transaction of the host,
// tells the engine after the commit, wakes it, and describes what the
// receiver got.
func resolveTicket(ctx context.Context, db *sql.DB, engine *tickethooks.Engine, l executionlog.Log, rcv *receiver, tenant string, id int) (string, error) {
	tx, err := db.BeginTx(ctx, nil)
	if err != nil {
		return "", err
	}
	defer tx.Rollback() // after Commit, a no-op
	if _, err := tx.ExecContext(ctx, "INSERT INTO tickets (tenant, id, status) VALUES (?, ?, 'Resolved')", tenant, id); err != nil {
		return "", err
	}
	if err := tx.Commit(); err != nil {
		return "", err
	}
	before := &payload.Ticket{Id: id, Subject: "Printer on fire", Status: "InAttendance"}
	after := &payload.Ticket{Id: id, Subject: "Printer on fire", Status: "Resolved"}
	if err := engine.OnTicketChange(ctx, before, after, tickethooks.WithTenant(tenant)); err != nil {
		return "", err
	}
	engine.Wake()

	start := time.Now()
	for {
		page, err := l.Query(ctx, executionlog.Filter{Tenant: tenant, TicketID: id})
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
			return "", fmt.Errorf("%s's ticket %d: delivery still pending after 30s", tenant, id)
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
