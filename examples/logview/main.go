// Command logview serves the Webhook Execution Log page over an engine
// with a few deliveries, so that a person can look at it.
//
// It starts webhook receivers on 127.0.0.1 (one accepts, one is restarting
// and accepts the retry, one rejects the packet with 400, and one is down),
// keeps the execution log in a SQLite file, reports a few ticket changes
// and a test send, and serves the page and its JSON API, and the operator
// view of every tenant's entries for the host's own staff, behind a
// stand-in for the host's staff login (HTTP basic auth, user "staff" and
// a password printed at start):
//
//	go run ./examples/logview              # http://127.0.0.1:8080/admin/webhooks/
//	                                       # http://127.0.0.1:8080/staff/webhooks/
//	go run ./examples/logview -addr :9090
//
// This engine has a single tenant, "", so the operator view shows every
// entry with no tenant; a host of many accounts gives each account's
// page a logview.Config.Tenant (see the package logview documentation).
//
// After the rejecting receiver is "fixed" (at /fix), the failed entries can
// be redelivered from the page. Stop it with Ctrl-C.
package main

import (
	"context"
	"crypto/rand"
	"crypto/subtle"
	"database/sql"
	"errors"
	"flag"
	"fmt"
	"io"
	"log"
	"log/slog"
	"net"
	"net/http"
	"net/netip"
	"os"
	"os/signal"
	"path/filepath"
	"sync/atomic"
	"syscall"
	"time"

	_ "modernc.org/sqlite" // the SQLite driver, registered as "sqlite"

	"github.com/tickethooks/tickethooks"
	"github.com/tickethooks/tickethooks/executionlog/logview"
	"github.com/tickethooks/tickethooks/executionlog/sqllog"
	"github.com/tickethooks/tickethooks/payload"
	"github.com/tickethooks/tickethooks/trigger"
	"github.com/tickethooks/tickethooks/webhook"
)

// triggersJSON is what a helpdesk admin configures. %[1]s is the
// receivers' address, %[2]s an unused port.
const triggersJSON = `[
  {"id": "new-to-crm", "name": "New tickets to the CRM", "on": ["created"],
   "actions": [{"type": "webhook", "url": "%[1]s/crm", "headers": {"Authorization": "Bearer crm-token", "X-Account": "acme"}}]},
  {"id": "resolved-to-billing", "name": "Resolved tickets to billing",
   "conditions": {"all": [{"field": "Status", "operator": "changed_to", "value": "Resolved"}]},
   "actions": [{"type": "webhook", "url": "%[1]s/billing"}]},
  {"id": "urgent-to-legacy", "name": "Urgent tickets to the legacy pager",
   "conditions": {"all": [{"field": "Urgency", "operator": "changed_to", "value": "Critical"}]},
   "actions": [{"type": "webhook", "url": "%[1]s/legacy"}]},
  {"id": "all-to-warehouse", "name": "Every change to the data warehouse", "on": ["updated"],
   "actions": [{"type": "webhook", "url": "http://%[2]s/warehouse"}]}
]`

func main() {
	addr := flag.String("addr", "127.0.0.1:8080", "address to serve the page on")
	flag.Parse()
	if err := run(*addr); err != nil {
		log.Fatal(err)
	}
}

func run(addr string) error {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()

	var fixed atomic.Bool
	receivers, closeReceivers, err := startReceivers(&fixed)
	if err != nil {
		return err
	}
	defer closeReceivers()
	down, err := unusedAddr()
	if err != nil {
		return err
	}

	dir, err := os.MkdirTemp("", "tickethooks-logview")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	db, err := sql.Open("sqlite", "file:"+filepath.Join(dir, "hooks.db")+
		"?_pragma=busy_timeout(5000)&_pragma=journal_mode(WAL)&_txlock=immediate")
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

	local := []netip.Prefix{netip.MustParsePrefix("127.0.0.0/8")}
	set, err := trigger.Parse(fmt.Appendf(nil, triggersJSON, receivers, down), &trigger.Options{AllowNetworks: local})
	if err != nil {
		return err
	}
	engine, err := tickethooks.New(tickethooks.Config{
		Triggers:      trigger.NewStore(set),
		Log:           execLog,
		Logger:        slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn})),
		AllowNetworks: local,
		// Three attempts, 1 s and 2 s apart, so failures show quickly.
		Retry: webhook.RetryPolicy{MaxAttempts: 3},
	})
	if err != nil {
		return err
	}
	defer func() {
		cctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = engine.Close(cctx)
	}()

	if err := report(ctx, engine, receivers); err != nil {
		return err
	}

	view, err := logview.New(logview.Config{Log: execLog, Redeliverer: engine})
	if err != nil {
		return err
	}
	staffPassword := rand.Text()
	isStaff := func(r *http.Request) bool {
		user, pass, ok := r.BasicAuth()
		return ok && user == "staff" &&
			subtle.ConstantTimeCompare([]byte(pass), []byte(staffPassword)) == 1
	}
	ops, err := logview.NewOperator(logview.Config{Log: execLog, Redeliverer: engine}, isStaff)
	if err != nil {
		return err
	}
	mux := http.NewServeMux()
	// A real host puts its own authentication in front of the page.
	mux.Handle("/admin/webhooks/", http.StripPrefix("/admin/webhooks", view))
	// The operator view, for the host's staff only: the stand-in login
	// asks the browser for the staff password, and the view itself
	// answers 403 to anyone else.
	mux.Handle("/staff/webhooks/", requireStaff(isStaff, http.StripPrefix("/staff/webhooks", ops)))
	mux.Handle("GET /{$}", http.RedirectHandler("/admin/webhooks/", http.StatusFound))
	mux.HandleFunc("GET /fix", func(w http.ResponseWriter, r *http.Request) {
		fixed.Store(true)
		fmt.Fprintln(w, "The legacy pager now accepts the packet: redeliver its failed entries from the log.")
	})
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return err
	}
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}
	fmt.Printf("Webhook Execution Log: http://%s/admin/webhooks/\n", ln.Addr())
	fmt.Printf("Staff operator view:    http://%s/staff/webhooks/ (user staff, password %s)\n", ln.Addr(), staffPassword)
	fmt.Printf("Fix the legacy pager:   http://%s/fix\n", ln.Addr())
	fmt.Println("Press Ctrl-C to stop.")
	go func() {
		<-ctx.Done()
		sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = srv.Shutdown(sctx)
	}()
	if err := srv.Serve(ln); !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return nil
}

// requireStaff stands for the host's staff login: it asks the browser for
// credentials until isStaff accepts them.
func requireStaff(isStaff func(*http.Request) bool, next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !isStaff(r) {
			w.Header().Set("WWW-Authenticate", `Basic realm="staff", charset="UTF-8"`)
			http.Error(w, "staff only", http.StatusUnauthorized)
			return
		}
		next.ServeHTTP(w, r)
	})
}

// report tells the engine about a few ticket changes and makes a test
// send.
func report(ctx context.Context, engine *tickethooks.Engine, receivers string) error {
	printer := &payload.Ticket{Id: 1042, Subject: "Impressora não liga", Status: "New", Urgency: "High",
		ServiceFirstLevel: "IT", SlaSolutionTime: 240}
	vpn := &payload.Ticket{Id: 1043, Subject: "VPN drops every hour <script>alert(1)</script>", Status: "New", Urgency: "Medium"}
	changes := []struct{ before, after *payload.Ticket }{
		{nil, printer}, // created: the CRM answers 503, then accepts the retry
		{nil, vpn},
		{printer, with(printer, func(t *payload.Ticket) { t.Status = "Resolved" })},  // billing accepts; the warehouse is down
		{vpn, with(vpn, func(t *payload.Ticket) { t.Urgency = "Critical" })},         // the legacy pager rejects it
		{printer, with(printer, func(t *payload.Ticket) { t.Urgency = "Critical" })}, // rejected again
	}
	for _, c := range changes {
		if err := engine.OnTicketChange(ctx, c.before, c.after); err != nil {
			return err
		}
	}
	action := trigger.Action{Type: trigger.ActionWebhook, URL: receivers + "/legacy"}
	if _, err := engine.TestWebhook(ctx, "", action, tickethooks.WebhookSample{}); err != nil {
		return err
	}
	return nil
}

func with(t *payload.Ticket, change func(*payload.Ticket)) *payload.Ticket {
	c := t.Clone()
	change(c)
	return c
}

// startReceivers starts the systems that receive the webhooks.
func startReceivers(fixed *atomic.Bool) (url string, stop func(), err error) {
	var crmCalls atomic.Int32
	mux := http.NewServeMux()
	mux.HandleFunc("POST /crm", func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.Copy(io.Discard, r.Body)
		if crmCalls.Add(1) == 1 {
			http.Error(w, "CRM is restarting", http.StatusServiceUnavailable)
			return
		}
		fmt.Fprint(w, `{"ok": true}`)
	})
	mux.HandleFunc("POST /billing", func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.Copy(io.Discard, r.Body)
		fmt.Fprint(w, `{"invoice": "INV-2041"}`)
	})
	mux.HandleFunc("POST /legacy", func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.Copy(io.Discard, r.Body)
		if !fixed.Load() {
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(http.StatusBadRequest)
			fmt.Fprint(w, `{"error": "unknown field \"WebhookEvents\"", "hint": "<b>upgrade the pager</b>"}`)
			return
		}
		fmt.Fprint(w, "paged")
	})
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", nil, err
	}
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 5 * time.Second}
	go func() { _ = srv.Serve(ln) }()
	return "http://" + ln.Addr().String(), func() { _ = srv.Close() }, nil
}

// unusedAddr returns a loopback address where nothing listens.
func unusedAddr() (string, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", err
	}
	addr := ln.Addr().String()
	return addr, ln.Close()
}
