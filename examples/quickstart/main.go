// Command quickstart shows tickethooks end to end on the embedded default:
// a SQLite execution log in a temporary directory, no server needed.
//
// It starts a webhook receiver on 127.0.0.1, loads three triggers from
// JSON, reports four ticket changes to the engine (one delivered at once,
// one matching no trigger, one whose receiver answers 503 and then accepts,
// one the receiver rejects with 400), waits for the deliveries and prints
// the Webhook Execution Log.
//
//	go run ./examples/quickstart
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
	"strconv"
	"strings"
	"sync/atomic"
	"text/tabwriter"
	"time"

	_ "modernc.org/sqlite" // the SQLite driver, registered as "sqlite"

	"github.com/tickethooks/tickethooks"
	"github.com/tickethooks/tickethooks/executionlog"
	"github.com/tickethooks/tickethooks/executionlog/sqllog"
	"github.com/tickethooks/tickethooks/payload"
	"github.com/tickethooks/tickethooks/trigger"
	"github.com/tickethooks/tickethooks/webhook"
)

// local is where the example's receivers run. The SSRF guard refuses
// loopback and private addresses unless they are allowed, both when
// triggers are loaded and when the engine connects.
var local = []netip.Prefix{netip.MustParsePrefix("127.0.0.0/8")}

// billingSecret signs the requests to the billing system (Standard
// Webhooks); the receiver verifies them. Make one with webhook.NewSecret.
const billingSecret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"

// triggersJSON is what a helpdesk admin configures. %[1]s is the receiver,
// %[2]s the billing system's signing secret.
const triggersJSON = `[
  {"id": "resolved-urgent", "name": "Resolved urgent tickets to billing",
   "conditions": {"all": [{"field": "Status", "operator": "changed_to", "value": "Resolved"}],
                  "any": [{"field": "Urgency", "operator": "is", "value": "High"},
                          {"field": "Urgency", "operator": "is", "value": "Critical"}]},
   "actions": [{"type": "webhook", "url": "%[1]s/billing", "headers": {"Authorization": "Bearer billing-token"}, "secrets": ["%[2]s"]}]},
  {"id": "new-to-crm", "name": "New tickets to the CRM", "on": ["created"],
   "actions": [{"type": "webhook", "url": "%[1]s/crm"}]},
  {"id": "critical-to-legacy", "name": "Critical tickets to the legacy pager",
   "conditions": {"all": [{"field": "Urgency", "operator": "changed_to", "value": "Critical"}]},
   "expression": "Ticket.SlaSolutionTime > 60",
   "actions": [{"type": "webhook", "url": "%[1]s/legacy"}]}
]`

func main() {
	if err := run(); err != nil {
		log.Fatal(err)
	}
}

func run() error {
	ctx := context.Background()
	receiverURL, stop, err := startReceiver()
	if err != nil {
		return err
	}
	defer stop()

	// The embedded default: a SQLite file. Deliveries survive restarts.
	dir, err := os.MkdirTemp("", "tickethooks-quickstart")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	// WAL and a busy timeout let the engine's writers and readers share the
	// file; immediate transactions avoid lock upgrades.
	dsn := "file:" + filepath.Join(dir, "hooks.db") + "?_pragma=busy_timeout(5000)&_pragma=journal_mode(WAL)&_txlock=immediate"
	db, err := sql.Open("sqlite", dsn)
	if err != nil {
		return err
	}
	defer db.Close()
	// SQLite has one writer: one connection queues the engine's writes in
	// database/sql instead of SQLite's sleeping busy handler.
	db.SetMaxOpenConns(1)
	execLog, err := sqllog.New(db, sqllog.Config{Dialect: sqllog.SQLite})
	if err != nil {
		return err
	}
	if err := execLog.Migrate(ctx); err != nil {
		return err
	}

	// The receivers run on 127.0.0.1, which the SSRF guard refuses unless
	// allowed: once, in the Config, for loading and for sending.
	cfg := tickethooks.Config{
		Log:           execLog,
		Logger:        slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn})),
		AllowNetworks: local,
	}
	set, err := trigger.Parse(fmt.Appendf(nil, triggersJSON, receiverURL, billingSecret), cfg.TriggerOptions(trigger.Options{}))
	if err != nil {
		return err
	}
	cfg.Triggers = trigger.NewStore(set)
	engine, err := tickethooks.New(cfg)
	if err != nil {
		return err
	}
	defer engine.Close(ctx)

	open := &payload.Ticket{Id: 101, Subject: "VPN drops every hour", Status: "New", Urgency: "High", SlaSolutionTime: 240}
	changes := []struct{ before, after *payload.Ticket }{
		{nil, open}, // created: the CRM answers 503, then accepts the retry
		{with(open, func(t *payload.Ticket) { t.Id = 102; t.Status = "InAttendance" }),
			with(open, func(t *payload.Ticket) { t.Id = 102; t.Status = "Resolved" })}, // delivered to billing
		{with(open, func(t *payload.Ticket) { t.Id = 103 }),
			with(open, func(t *payload.Ticket) { t.Id = 103; t.Subject = "VPN drops" })}, // matches nothing
		{with(open, func(t *payload.Ticket) { t.Id = 104; t.Status = "InAttendance" }),
			with(open, func(t *payload.Ticket) { t.Id = 104; t.Status = "InAttendance"; t.Urgency = "Critical" })}, // rejected with 400
	}
	for _, c := range changes {
		if err := engine.OnTicketChange(ctx, c.before, c.after); err != nil {
			return err
		}
	}
	fmt.Printf("Reported %d ticket changes; waiting for the deliveries...\n\n", len(changes))

	entries, err := waitForDeliveries(ctx, execLog, 30*time.Second)
	if err != nil {
		return err
	}
	printLog(os.Stdout, entries)
	return nil
}

func with(t *payload.Ticket, change func(*payload.Ticket)) *payload.Ticket {
	c := t.Clone()
	change(c)
	return c
}

// startReceiver starts the systems that receive the webhooks.
func startReceiver() (url string, stop func(), err error) {
	var crmCalls atomic.Int32
	mux := http.NewServeMux()
	mux.HandleFunc("POST /billing", func(w http.ResponseWriter, r *http.Request) {
		// Billing accepts only requests signed with the shared secret.
		if _, err := webhook.VerifyRequest(r, []string{billingSecret}, nil); err != nil {
			http.Error(w, err.Error(), http.StatusUnauthorized)
			return
		}
		fmt.Fprint(w, `{"invoice": "INV-2041", "signature": "verified"}`)
	})
	mux.HandleFunc("POST /crm", func(w http.ResponseWriter, r *http.Request) {
		io.Copy(io.Discard, r.Body)
		if crmCalls.Add(1) == 1 {
			http.Error(w, "CRM is restarting", http.StatusServiceUnavailable)
			return
		}
		fmt.Fprint(w, "ok")
	})
	mux.HandleFunc("POST /legacy", func(w http.ResponseWriter, r *http.Request) {
		io.Copy(io.Discard, r.Body)
		http.Error(w, `unknown field "WebhookEvents"`, http.StatusBadRequest)
	})
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", nil, err
	}
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 5 * time.Second}
	go srv.Serve(ln)
	return "http://" + ln.Addr().String(), func() { srv.Close() }, nil
}

// waitForDeliveries polls the log until no entry is pending.
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
		if pending == 0 {
			return page.Entries, nil
		}
		if time.Now().After(deadline) {
			return nil, fmt.Errorf("%d deliveries still pending after %v", pending, limit)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// printLog prints the execution log, oldest first: one line per firing,
// with the HTTP status of each attempt and the last error and response.
func printLog(w io.Writer, entries []executionlog.Entry) {
	fmt.Fprintln(w, "Webhook Execution Log")
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "TICKET\tTRIGGER\tURL PATH\tSTATUS\tATTEMPTS (HTTP)\tLAST ERROR\tLAST RESPONSE")
	for i := len(entries) - 1; i >= 0; i-- {
		e := entries[i]
		var codes []string
		lastErr := ""
		for _, a := range e.Attempts {
			codes = append(codes, strconv.Itoa(a.StatusCode))
			if a.Error != "" {
				lastErr = a.Error
			}
		}
		last, _ := e.LastAttempt()
		fmt.Fprintf(tw, "%d\t%s\t%s\t%s\t%s\t%s\t%s\n",
			e.TicketID, e.TriggerID, urlPath(e.URL), e.Status, strings.Join(codes, " -> "), dash(lastErr), dash(trim(last.ResponseBody)))
	}
	tw.Flush()
}
