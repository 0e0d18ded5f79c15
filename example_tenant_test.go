package tickethooks_test

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"time"

	"github.com/tickethooks/tickethooks"
	"github.com/tickethooks/tickethooks/executionlog"
	"github.com/tickethooks/tickethooks/payload"
	"github.com/tickethooks/tickethooks/trigger"
)

// A hosted helpdesk serves many accounts from one engine and one log. Each
// account's triggers are loaded under its tenant, each change names its
// tenant, and each account's admin sees only its own log entries.
func ExampleWithTenant() {
	receiver := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fmt.Println("receiver got a webhook for", r.URL.Path)
	}))
	defer receiver.Close()

	log := executionlog.NewMemory(executionlog.MemoryOptions{})
	cfg := tickethooks.Config{
		MultiTenant:   true, // every change must name its tenant
		Log:           log,
		Logger:        slog.New(slog.DiscardHandler),
		AllowNetworks: []netip.Prefix{netip.MustParsePrefix("127.0.0.0/8")},
	}
	store := trigger.NewStore(nil)
	for _, account := range []string{"acme", "globex"} {
		// The tenant comes from the host, never from the definitions
		// that the account's admin writes: both accounts may use the
		// same trigger id.
		set, err := trigger.Parse([]byte(`[{"id": "resolved",
			"conditions": {"all": [{"field": "Status", "operator": "changed_to", "value": "Resolved"}]},
			"actions": [{"type": "webhook", "url": "`+receiver.URL+`/`+account+`"}]}]`),
			cfg.TriggerOptions(trigger.Options{Tenant: account}))
		if err != nil {
			fmt.Println(err)
			return
		}
		store.Replace(set) // replaces this account's triggers only
	}
	cfg.Triggers = store
	engine, err := tickethooks.New(cfg)
	if err != nil {
		fmt.Println(err)
		return
	}
	defer engine.Close(context.Background())

	before := &payload.Ticket{Id: 7, Status: "InAttendance"}
	after := &payload.Ticket{Id: 7, Status: "Resolved"}
	if err := engine.OnTicketChange(context.Background(), before, after); errors.Is(err, tickethooks.ErrTenant) {
		fmt.Println("a change without a tenant is refused")
	}
	if err := engine.OnTicketChange(context.Background(), before, after, tickethooks.WithTenant("acme")); err != nil {
		fmt.Println(err)
		return
	}

	// Acme's admin sees acme's delivery; globex's admin sees nothing, and
	// cannot read acme's entry even with its id.
	for {
		page, _ := log.Query(context.Background(), executionlog.Filter{Tenant: "acme", TicketID: 7})
		if len(page.Entries) == 1 && page.Entries[0].Status != executionlog.StatusPending {
			e := page.Entries[0]
			fmt.Printf("acme's log: ticket %d, trigger %s, %s\n", e.TicketID, e.TriggerID, e.Status)
			_, err := log.Get(context.Background(), executionlog.TenantScope("globex"), e.ID)
			fmt.Println("globex reading acme's entry: not found =", errors.Is(err, executionlog.ErrNotFound))
			break
		}
		time.Sleep(5 * time.Millisecond)
	}
	page, _ := log.Query(context.Background(), executionlog.Filter{Tenant: "globex"})
	fmt.Println("globex's log:", len(page.Entries), "entries")
	// Output:
	// a change without a tenant is refused
	// receiver got a webhook for /acme
	// acme's log: ticket 7, trigger resolved, succeeded
	// globex reading acme's entry: not found = true
	// globex's log: 0 entries
}
