// Command postgres shows the transactional outbox with a PostgreSQL
// execution log: the helpdesk updates its own ticket row and records the
// webhook in one transaction, so the webhook is sent if and only if the
// update commits.
//
// It creates the log's tables and a tickets table of its own under a fresh
// prefix, resolves a ticket inside a transaction that also calls
// OnTicketChangeTx, commits, waits for the delivery to a receiver on
// 127.0.0.1 (a pglisten listener wakes the engine at the commit), prints the Webhook Execution Log, prunes old entries, and
// drops every table it created.
//
//	TICKETHOOKS_POSTGRES_DSN='postgres://user@localhost:5432/db?sslmode=disable' go run ./examples/postgres
package main

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"log"
	"log/slog"
	"net"
	"net/http"
	"net/netip"
	"os"
	"time"

	_ "github.com/jackc/pgx/v5/stdlib" // the PostgreSQL driver, registered as "pgx"

	"github.com/tickethooks/tickethooks"
	"github.com/tickethooks/tickethooks/executionlog"
	"github.com/tickethooks/tickethooks/executionlog/sqllog"
	"github.com/tickethooks/tickethooks/executionlog/sqllog/pglisten"
	"github.com/tickethooks/tickethooks/payload"
	"github.com/tickethooks/tickethooks/trigger"
)

// dsnEnv names the variable holding the database to use.
const dsnEnv = "TICKETHOOKS_POSTGRES_DSN"

// triggerJSON sends resolved tickets to the receiver, %s.
const triggerJSON = `[{"id": "resolved", "name": "Resolved tickets to the ERP",
  "conditions": {"all": [{"field": "Status", "operator": "changed_to", "value": "Resolved"}]},
  "actions": [{"type": "webhook", "url": "%s/erp"}]}]`

// loopback lets the engine reach the receiver on this machine: webhooks to
// internal addresses are refused unless allowed.
var loopback = []netip.Prefix{netip.MustParsePrefix("127.0.0.0/8")}

func main() {
	dsn := os.Getenv(dsnEnv)
	if dsn == "" {
		fmt.Fprintf(os.Stderr, "%s is not set: set it to a PostgreSQL database this example may create tables in, for example\n"+
			"  %s='postgres://postgres@127.0.0.1:5432/test?sslmode=disable' go run ./examples/postgres\n", dsnEnv, dsnEnv)
		os.Exit(2)
	}
	if err := run(dsn); err != nil {
		log.Fatal(err)
	}
}

func run(dsn string) (err error) {
	ctx := context.Background()
	db, err := sql.Open("pgx", dsn)
	if err != nil {
		return err
	}
	defer db.Close()
	// The log commits concurrent writes together and releases their
	// callers together: keep as many idle connections as open ones.
	db.SetMaxOpenConns(16)
	db.SetMaxIdleConns(16)
	pingCtx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	if err := db.PingContext(pingCtx); err != nil {
		return fmt.Errorf("connecting to the database in %s: %w", dsnEnv, err)
	}

	// A prefix of our own, so the example never touches existing tables.
	prefix := "thexample_" + randomHex(4) + "_"
	tickets := prefix + "tickets"
	defer func() {
		dropErr := drop(db, tickets, prefix+"attempts", prefix+"entries", prefix+"migrations")
		if dropErr == nil {
			fmt.Printf("Dropped the tables %s*.\n", prefix)
		} else if err == nil {
			err = dropErr
		}
	}()

	execLog, err := sqllog.New(db, sqllog.Config{Dialect: sqllog.Postgres, TablePrefix: prefix})
	if err != nil {
		return err
	}
	// Run at every start: it creates or upgrades the tables, and is cheap
	// when they are up to date. Several processes may run it at once.
	if err := execLog.Migrate(ctx); err != nil {
		return err
	}
	fmt.Printf("Migrated the log's tables %sentries, %sattempts and %smigrations.\n", prefix, prefix, prefix)

	// The helpdesk's own table, with one open ticket.
	if _, err := db.ExecContext(ctx, "CREATE TABLE "+tickets+" (id integer PRIMARY KEY, subject text NOT NULL, status text NOT NULL)"); err != nil {
		return err
	}
	before := &payload.Ticket{Id: 3107, Subject: "Cannot export the March report", Status: "InAttendance", Urgency: "Medium"}
	if _, err := db.ExecContext(ctx, "INSERT INTO "+tickets+" (id, subject, status) VALUES ($1, $2, $3)",
		before.Id, before.Subject, before.Status); err != nil {
		return err
	}

	rcv, err := startReceiver()
	if err != nil {
		return err
	}
	defer rcv.srv.Close()
	set, err := trigger.Parse(fmt.Appendf(nil, triggerJSON, rcv.url), &trigger.Options{AllowNetworks: loopback})
	if err != nil {
		return err
	}
	engine, err := tickethooks.New(tickethooks.Config{
		Triggers:      trigger.NewStore(set),
		Log:           execLog,
		AllowNetworks: loopback,
		Logger:        slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelError})),
	})
	if err != nil {
		return err
	}
	defer engine.Close(ctx)

	// Entries written in the host's transaction are announced on the
	// log's channel when it commits: the listener wakes the engine then,
	// rather than at its next poll (1 s by default).
	lctx, stopListening := context.WithCancel(ctx)
	listening := make(chan error, 1)
	tell := func(err error) {
		select {
		case listening <- err:
		default: // told already
		}
	}
	go func() {
		tell(pglisten.Listen(lctx, pglisten.Config{ConnString: dsn, Channel: execLog.Channel(), Wake: engine.Wake,
			Listening: func() { tell(nil) }}))
	}()
	defer stopListening()
	if err := <-listening; err != nil {
		return err
	}

	// The ticket is resolved: the helpdesk's update and the webhook's log
	// entry are written in one transaction.
	after := before.Clone()
	after.Status = "Resolved"
	if err := resolve(ctx, db, engine, tickets, before, after); err != nil {
		return err
	}
	var status string
	if err := db.QueryRowContext(ctx, "SELECT status FROM "+tickets+" WHERE id = $1", after.Id).Scan(&status); err != nil {
		return err
	}
	fmt.Printf("Committed: ticket %d is %s in %s, and its webhook is in the log.\n", after.Id, status, tickets)

	entries, err := waitForDeliveries(ctx, execLog, 30*time.Second)
	if err != nil {
		return err
	}
	fmt.Printf("The receiver got %d request(s).\n\n", rcv.count())
	printLog(entries)

	// Retention: Prune deletes finished entries created before a cutoff,
	// never pending ones. Run it daily with a cutoff such as 30 days ago.
	// executionlog.AllTenants prunes every tenant's entries.
	n, err := execLog.Prune(ctx, executionlog.AllTenants, time.Now().AddDate(0, 0, -30))
	if err != nil {
		return err
	}
	fmt.Printf("\nPrune(30 days ago) deleted %d entries: ours is newer.\n", n)
	if n, err = execLog.Prune(ctx, executionlog.AllTenants, time.Now()); err != nil {
		return err
	}
	fmt.Printf("Prune(now) deleted %d entries: every finished entry created before now.\n", n)

	return engine.Close(ctx)
}

// resolve is the helpdesk's ticket update: the host's own write and
// OnTicketChangeTx share tx, so both commit or neither does.
func resolve(ctx context.Context, db *sql.DB, engine *tickethooks.Engine, tickets string, before, after *payload.Ticket) error {
	tx, err := db.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	defer tx.Rollback() // a no-op after Commit
	if _, err := tx.ExecContext(ctx, "UPDATE "+tickets+" SET status = $1 WHERE id = $2", after.Status, after.Id); err != nil {
		return err
	}
	if err := engine.OnTicketChangeTx(ctx, tx, before, after); err != nil {
		return err
	}
	return tx.Commit()
}

// drop removes the tables the example created.
func drop(db *sql.DB, tables ...string) error {
	var errs []error
	for _, t := range tables {
		if _, err := db.Exec("DROP TABLE IF EXISTS " + t); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

// waitForDeliveries polls the log until it holds an entry and none is
// pending.
func waitForDeliveries(ctx context.Context, l executionlog.Log, limit time.Duration) ([]executionlog.Entry, error) {
	deadline := time.Now().Add(limit)
	for {
		page, err := l.Query(ctx, executionlog.Filter{})
		if err != nil {
			return nil, err
		}
		pending := 0
		for _, e := range page.Entries {
			if e.Status == executionlog.StatusPending {
				pending++
			}
		}
		if len(page.Entries) > 0 && pending == 0 {
			return page.Entries, nil
		}
		if time.Now().After(deadline) {
			return nil, fmt.Errorf("%d deliveries still pending after %v", pending, limit)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// printLog prints the entries and their attempts.
func printLog(entries []executionlog.Entry) {
	fmt.Println("Webhook Execution Log:")
	for _, e := range entries {
		fmt.Printf("  %s  ticket %d  %s  %s  %s\n", e.ID, e.TicketID, e.TriggerID, e.Event, e.Status)
		for _, a := range e.Attempts {
			fmt.Printf("    attempt %d: HTTP %d, response %q", a.Number, a.StatusCode, a.ResponseBody)
			if a.Error != "" {
				fmt.Printf(", error %q", a.Error)
			}
			fmt.Println()
		}
	}
}

// receiver stands for the ERP.
type receiver struct {
	url      string
	srv      *http.Server
	requests chan struct{}
}

func startReceiver() (*receiver, error) {
	r := &receiver{requests: make(chan struct{}, 100)}
	mux := http.NewServeMux()
	mux.HandleFunc("POST /erp", func(w http.ResponseWriter, req *http.Request) {
		io.Copy(io.Discard, req.Body)
		select {
		case r.requests <- struct{}{}:
		default:
		}
		fmt.Fprint(w, "imported")
	})
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	r.url = "http://" + ln.Addr().String()
	r.srv = &http.Server{Handler: mux, ReadHeaderTimeout: 5 * time.Second}
	go r.srv.Serve(ln)
	return r, nil
}

func (r *receiver) count() int { return len(r.requests) }

// randomHex returns n random bytes in hex.
func randomHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}
