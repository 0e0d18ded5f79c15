// Command sqlite shows that a pending retry survives the engine that
// scheduled it, with the embedded default: a SQLite execution log in a
// temporary directory, no server needed.
//
// A receiver on 127.0.0.1 answers the first request with 503 and the next
// with 200. The first engine records the change, makes the first attempt,
// schedules the retry two seconds later, and stops. A second engine, on
// the same database file, finds the retry in the log when it falls due and
// delivers it, with the same webhook-id. The program then prints the
// Webhook Execution Log.
//
//	go run ./examples/sqlite
package main

import (
	"context"
	"database/sql"
	"errors"
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

	"github.com/cenkalti/backoff/v4"
	_ "modernc.org/sqlite" // the SQLite driver, registered as "sqlite"

	"github.com/tickethooks/tickethooks"
	"github.com/tickethooks/tickethooks/executionlog"
	"github.com/tickethooks/tickethooks/executionlog/sqllog"
	"github.com/tickethooks/tickethooks/payload"
	"github.com/tickethooks/tickethooks/trigger"
	"github.com/tickethooks/tickethooks/webhook"
)

// triggerJSON sends resolved tickets to the receiver, %s.
const triggerJSON = `[{"id": "resolved", "name": "Resolved tickets to billing",
  "conditions": {"all": [{"field": "Status", "operator": "changed_to", "value": "Resolved"}]},
  "actions": [{"type": "webhook", "url": "%s/billing"}]}]`

// retryDelay is how long the retry waits in the log.
const retryDelay = 2 * time.Second

// loopback lets the engine reach the receiver on this machine: webhooks to
// internal addresses are refused unless allowed.
var loopback = []netip.Prefix{netip.MustParsePrefix("127.0.0.0/8")}

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

	// The log lives in one SQLite file. busy_timeout makes a writer wait
	// for another instead of failing; WAL lets readers read meanwhile.
	dir, err := os.MkdirTemp("", "tickethooks-sqlite")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	dsn := "file:" + filepath.Join(dir, "hooks.db") + "?_pragma=busy_timeout(5000)&_pragma=journal_mode(WAL)"

	set, err := trigger.Parse(fmt.Appendf(nil, triggerJSON, rcv.url), &trigger.Options{AllowNetworks: loopback})
	if err != nil {
		return err
	}
	triggers := trigger.NewStore(set)
	retry := webhook.RetryPolicy{
		NewBackOff: func() backoff.BackOff { return backoff.NewConstantBackOff(retryDelay) },
	}

	// The first engine, as in a process that is about to be restarted.
	db1, log1, err := openLog(ctx, dsn)
	if err != nil {
		return err
	}
	defer db1.Close()
	first, err := newEngine(triggers, log1, retry, "engine-1")
	if err != nil {
		return err
	}
	before := &payload.Ticket{Id: 2041, Subject: "Invoice shows the wrong VAT", Status: "InAttendance", Urgency: "High"}
	after := before.Clone()
	after.Status = "Resolved"
	if err := first.OnTicketChange(ctx, before, after); err != nil {
		return err
	}
	en, err := waitForAttempts(ctx, log1, 1)
	if err != nil {
		return err
	}
	if err := first.Close(ctx); err != nil {
		return err
	}
	if en, err = log1.Get(ctx, executionlog.Scope{}, en.ID); err != nil {
		return err
	}
	last, _ := en.LastAttempt()
	lease := "no lease"
	if en.LeaseOwner != "" {
		lease = "leased to " + en.LeaseOwner
	}
	fmt.Printf("engine-1 stopped. Entry %s is %s after %d attempt (HTTP %d), next attempt in about %s, %s.\n",
		en.ID, en.Status, len(en.Attempts), last.StatusCode, time.Until(en.NextAttemptAt).Round(time.Second), lease)

	// The second engine: a new process on the same file.
	db2, log2, err := openLog(ctx, dsn)
	if err != nil {
		return err
	}
	defer db2.Close()
	second, err := newEngine(triggers, log2, retry, "engine-2")
	if err != nil {
		return err
	}
	defer second.Close(ctx)
	fmt.Println("engine-2 started on the same database file; waiting for the retry to fall due...")
	if en, err = waitForAttempts(ctx, log2, 2); err != nil {
		return err
	}

	fmt.Println()
	fmt.Println("Requests the receiver got:")
	for _, line := range rcv.lines() {
		fmt.Println("  " + line)
	}
	fmt.Println()
	fmt.Println("Webhook Execution Log:")
	page, err := log2.Query(ctx, executionlog.Filter{})
	if err != nil {
		return err
	}
	for _, e := range page.Entries {
		fmt.Printf("  %s  ticket %d  %s  %s  %s\n", e.ID, e.TicketID, e.TriggerID, e.Event, e.Status)
		for _, a := range e.Attempts {
			fmt.Printf("    attempt %d: HTTP %d, response %q", a.Number, a.StatusCode, a.ResponseBody)
			if a.Error != "" {
				fmt.Printf(", error %q", a.Error)
			}
			fmt.Println()
		}
	}
	if en.Status != executionlog.StatusSucceeded {
		return fmt.Errorf("entry %s is %s, want succeeded", en.ID, en.Status)
	}
	return nil
}

// openLog opens a connection pool to the SQLite file and the log in it,
// creating the log's tables the first time.
func openLog(ctx context.Context, dsn string) (*sql.DB, *sqllog.Log, error) {
	db, err := sql.Open("sqlite", dsn)
	if err != nil {
		return nil, nil, err
	}
	// SQLite has one writer: one connection queues the engine's writes in
	// database/sql instead of SQLite's sleeping busy handler.
	db.SetMaxOpenConns(1)
	l, err := sqllog.New(db, sqllog.Config{Dialect: sqllog.SQLite})
	if err == nil {
		// Cheap when the tables are up to date: run it at every start.
		err = l.Migrate(ctx)
	}
	if err != nil {
		db.Close()
		return nil, nil, err
	}
	return db, l, nil
}

// newEngine starts an engine on l named owner.
func newEngine(triggers trigger.Source, l executionlog.Log, retry webhook.RetryPolicy, owner string) (*tickethooks.Engine, error) {
	return tickethooks.New(tickethooks.Config{
		Triggers:      triggers,
		Log:           l,
		AllowNetworks: loopback,
		Retry:         retry,
		// How often an engine looks for entries it did not schedule
		// itself, such as the retry the first engine left.
		PollInterval: 200 * time.Millisecond,
		Owner:        owner,
		Logger:       slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelError})),
	})
}

// waitForAttempts polls the log until its only entry has n attempts.
func waitForAttempts(ctx context.Context, l executionlog.Log, n int) (executionlog.Entry, error) {
	deadline := time.Now().Add(30 * time.Second)
	for {
		page, err := l.Query(ctx, executionlog.Filter{})
		if err != nil {
			return executionlog.Entry{}, err
		}
		if len(page.Entries) == 1 && len(page.Entries[0].Attempts) >= n {
			return page.Entries[0], nil
		}
		if time.Now().After(deadline) {
			return executionlog.Entry{}, errors.New("timed out waiting for the delivery")
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// receiver stands for the billing system: it answers 503 once, then 200.
type receiver struct {
	url  string
	srv  *http.Server
	mu   sync.Mutex
	seen []string
}

func startReceiver() (*receiver, error) {
	r := &receiver{}
	mux := http.NewServeMux()
	mux.HandleFunc("POST /billing", func(w http.ResponseWriter, req *http.Request) {
		io.Copy(io.Discard, req.Body)
		r.mu.Lock()
		n := len(r.seen) + 1
		status := http.StatusOK
		if n == 1 {
			status = http.StatusServiceUnavailable
		}
		r.seen = append(r.seen, fmt.Sprintf("request %d: webhook-id %s -> %d", n, req.Header.Get("Webhook-Id"), status))
		r.mu.Unlock()
		if status != http.StatusOK {
			http.Error(w, "billing is restarting", status)
			return
		}
		fmt.Fprint(w, "booked")
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

func (r *receiver) lines() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]string(nil), r.seen...)
}

func (r *receiver) stop() { r.srv.Close() }
