// Command accounts shows many accounts on one engine and one database, as
// a hosted helpdesk runs tickethooks, on the embedded default: one SQLite
// file in a temporary directory, no server needed.
//
// Two accounts, acme and globex, keep their triggers in the database
// (trigger/sqlsource), each under its own tenant and with the same trigger
// id. Acme's receiver is dead: it holds every request for a second, then
// answers 503. Acme floods the engine with changes; globex's changes are
// delivered at once all the same, because the engine gives each account
// at most half of its workers and claims the other accounts' deliveries
// first. Each account's admin then opens the Webhook Execution Log behind
// a stand-in for the host's login, and sees only their own account's
// entries: the other account's entry id answers 404 like a missing one.
// The host's staff see every account in the operator's view.
//
//	go run ./examples/accounts
package main

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"os"
	"path/filepath"
	"sync/atomic"
	"time"

	_ "modernc.org/sqlite" // the SQLite driver, registered as "sqlite"

	"github.com/tickethooks/tickethooks"

	"github.com/tickethooks/tickethooks/executionlog/logview"
	"github.com/tickethooks/tickethooks/executionlog/sqllog"
	"github.com/tickethooks/tickethooks/payload"
	"github.com/tickethooks/tickethooks/trigger"
	"github.com/tickethooks/tickethooks/trigger/sqlsource"
)

// local is where the example's receivers run; the SSRF guard refuses
// loopback addresses unless they are allowed.
var local = []netip.Prefix{netip.MustParsePrefix("127.0.0.0/8")}

// notify is the trigger each account's admin writes; %s is the account's
// receiver. Both accounts use the id "notify".
const notify = `{"id": "notify", "name": "Every update to our CRM",
  "on": ["updated"], "actions": [{"type": "webhook", "url": "%s"}]}`

// The load of the example: acme's flood and globex's changes.
const (
	acmeChanges   = 200
	globexChanges = 5
	workers       = 4
)

func main() {
	if err := run(); err != nil {
		log.Fatal(err)
	}
}

func run() error {
	ctx := context.Background()

	// Acme's receiver is dead: it holds each request, then fails.
	var acmeHits atomic.Int64
	dead := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		acmeHits.Add(1)
		select {
		case <-time.After(time.Second):
		case <-r.Context().Done():
		}
		w.WriteHeader(http.StatusServiceUnavailable)
	}))
	defer dead.Close()
	arrived := make(chan time.Time, globexChanges)
	live := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.Copy(io.Discard, r.Body)
		arrived <- time.Now()
	}))
	defer live.Close()

	dir, err := os.MkdirTemp("", "tickethooks-accounts")
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

	src, err := sqlsource.New(db, sqlsource.Config{Dialect: sqlsource.SQLite, Options: &trigger.Options{AllowNetworks: local}})
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

	// Each account's admin saves their trigger from the host's admin
	// screen; the host passes the account it signed them in to.
	for account, url := range map[string]string{"acme": dead.URL + "/crm", "globex": live.URL + "/crm"} {
		if err := src.Put(ctx, account, fmt.Appendf(nil, notify, url), 1); err != nil {
			return err
		}
		fmt.Printf("%s's admin saved the trigger \"notify\" for %s\n", account, url)
	}

	engine, err := tickethooks.New(tickethooks.Config{
		MultiTenant:   true, // every change names its account
		Triggers:      src,
		Log:           execLog,
		Workers:       workers, // each account gets at most half of them
		Logger:        slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelError})),
		AllowNetworks: local,
	})
	if err != nil {
		return err
	}
	defer func() {
		// Acme's deliveries hang; stop without waiting for them: they
		// stay pending in the log.
		stop, cancel := context.WithTimeout(ctx, 100*time.Millisecond)
		defer cancel()
		engine.Close(stop)
	}()

	change := func(account string, id int) error {
		before := &payload.Ticket{Id: id, Subject: "Printer on fire", Status: "New"}
		after := &payload.Ticket{Id: id, Subject: "Printer on fire", Status: "InAttendance"}
		return engine.OnTicketChange(ctx, before, after, tickethooks.WithTenant(account))
	}
	for i := range acmeChanges {
		if err := change("acme", 1000+i); err != nil {
			return err
		}
	}
	fmt.Printf("\nacme changed %d tickets; its receiver is dead.\n", acmeChanges)
	time.Sleep(200 * time.Millisecond) // acme's deliveries are under way

	start := time.Now()
	for i := range globexChanges {
		if err := change("globex", 101+i); err != nil {
			return err
		}
	}
	for range globexChanges {
		select {
		case <-arrived:
		case <-time.After(30 * time.Second):
			return errors.New("globex's deliveries did not arrive")
		}
	}
	fmt.Printf("globex changed %d tickets: all %d delivered within %s, while acme's receiver had taken %d requests of %d.\n",
		globexChanges, globexChanges, roundUp(time.Since(start)), acmeHits.Load(), acmeChanges)

	// The log pages, behind the host's login. The stand-in signs a user
	// in by a session cookie and knows their account; the staff have a
	// view of their own.
	sessions := map[string]string{"s-acme": "acme", "s-globex": "globex"}
	account := func(r *http.Request) (string, bool) {
		c, err := r.Cookie("session")
		if err != nil {
			return "", false
		}
		a, ok := sessions[c.Value]
		return a, ok
	}
	isStaff := func(r *http.Request) bool {
		c, err := r.Cookie("session")
		return err == nil && c.Value == "s-staff"
	}
	tenants, err := logview.New(logview.Config{Log: execLog, Redeliverer: engine, Tenant: account})
	if err != nil {
		return err
	}
	staff, err := logview.NewOperator(logview.Config{Log: execLog, Redeliverer: engine}, isStaff)
	if err != nil {
		return err
	}
	mux := http.NewServeMux()
	mux.Handle("/admin/webhooks/", http.StripPrefix("/admin/webhooks", tenants))
	mux.Handle("/staff/webhooks/", http.StripPrefix("/staff/webhooks", staff))
	site := httptest.NewServer(mux)
	defer site.Close()

	type page struct {
		Entries []struct {
			ID       string `json:"id"`
			Tenant   string `json:"tenant"`
			TicketID int    `json:"ticket_id"`
			Status   string `json:"status"`
		} `json:"entries"`
	}
	get := func(session, path string, into any) (int, error) {
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, site.URL+path, nil)
		if err != nil {
			return 0, err
		}
		req.AddCookie(&http.Cookie{Name: "session", Value: session})
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			return 0, err
		}
		defer resp.Body.Close()
		if into != nil {
			if resp.StatusCode != http.StatusOK {
				return resp.StatusCode, fmt.Errorf("GET %s: %s", path, resp.Status)
			}
			return resp.StatusCode, json.NewDecoder(resp.Body).Decode(into)
		}
		return resp.StatusCode, nil
	}

	fmt.Println()
	var globexPage, acmePage page
	if _, err := get("s-globex", "/admin/webhooks/api/entries?limit=200", &globexPage); err != nil {
		return err
	}
	if _, err := get("s-acme", "/admin/webhooks/api/entries?limit=200", &acmePage); err != nil {
		return err
	}
	for name, p := range map[string]page{"acme": acmePage, "globex": globexPage} {
		statuses := map[string]int{}
		others := 0
		for _, e := range p.Entries {
			statuses[e.Status]++
			if e.TicketID < 1000 != (name == "globex") {
				others++
			}
		}
		fmt.Printf("%s's admin sees %d entries %v, %d of the other account.\n", name, len(p.Entries), statuses, others)
	}
	if len(acmePage.Entries) > 0 {
		id := acmePage.Entries[0].ID
		code, err := get("s-globex", "/admin/webhooks/api/entries/"+id, nil)
		if err != nil {
			return err
		}
		fmt.Printf("globex's admin opens acme's entry %s: %d %s\n", id, code, http.StatusText(code))
	}
	code, err := get("", "/admin/webhooks/api/entries", nil)
	if err != nil {
		return err
	}
	fmt.Printf("Without signing in: %d %s\n", code, http.StatusText(code))
	var all page
	if _, err := get("s-staff", "/staff/webhooks/api/entries?limit=200", &all); err != nil {
		return err
	}
	byTenant := map[string]int{}
	for _, e := range all.Entries {
		byTenant[e.Tenant]++
	}
	fmt.Printf("The host's staff see every account on one page (newest 200): %v\n", byTenant)
	for _, account := range []string{"acme", "globex"} {
		var one page
		if _, err := get("s-staff", "/staff/webhooks/api/entries?limit=200&tenant="+account, &one); err != nil {
			return err
		}
		fmt.Printf("  filtered by tenant %s: %d entries\n", account, len(one.Entries))
	}
	code, err = get("s-acme", "/staff/webhooks/api/entries", nil)
	if err != nil {
		return err
	}
	fmt.Printf("acme's admin at the staff view: %d %s\n", code, http.StatusText(code))
	return nil
}

// roundUp rounds d up to the millisecond, for printing.
func roundUp(d time.Duration) time.Duration {
	return (d + time.Millisecond - 1).Truncate(time.Millisecond)
}
