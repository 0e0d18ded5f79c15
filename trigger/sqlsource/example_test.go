package sqlsource_test

import (
	"context"
	"database/sql"
	"fmt"
	"os"
	"path/filepath"

	"github.com/tickethooks/tickethooks/trigger"
	"github.com/tickethooks/tickethooks/trigger/sqlsource"
)

// An admin screen saves triggers through the Source, which refuses a
// definition that does not load; the engine reads the stored triggers
// through the same Source (tickethooks.Config.Triggers). A single-tenant
// host uses the tenant "".
func Example() {
	ctx := context.Background()
	dir, err := os.MkdirTemp("", "sqlsource-example")
	if err != nil {
		fmt.Println(err)
		return
	}
	defer os.RemoveAll(dir)
	db, err := sql.Open("sqlite", "file:"+filepath.Join(dir, "helpdesk.db"))
	if err != nil {
		fmt.Println(err)
		return
	}
	defer db.Close()

	src, err := sqlsource.New(db, sqlsource.Config{
		Dialect: sqlsource.SQLite,
		Options: &trigger.Options{RequireHTTPS: true}, // as the host loads triggers
	})
	if err != nil {
		fmt.Println(err)
		return
	}
	if err := src.Migrate(ctx); err != nil {
		fmt.Println(err)
		return
	}

	saves := []struct {
		definition string
		position   int
	}{
		{`{"id": "resolved", "name": "Resolved tickets to billing",
		   "conditions": {"all": [{"field": "Status", "operator": "changed_to", "value": "Resolved"}]},
		   "actions": [{"type": "webhook", "url": "https://billing.example.com/hooks"}]}`, 2},
		{`{"id": "created", "on": ["created"], "enabled": false,
		   "actions": [{"type": "webhook", "url": "https://crm.example.com/hooks"}]}`, 1},
		{`{"id": "legacy", "actions": [{"type": "webhook", "url": "http://legacy.example.com/hooks"}]}`, 3},
	}
	for _, s := range saves {
		if err := src.Put(ctx, "", []byte(s.definition), s.position); err != nil {
			fmt.Println("refused:", err)
		}
	}

	triggers, err := src.ForTicket(ctx, "", nil)
	if err != nil {
		fmt.Println(err)
		return
	}
	for _, t := range triggers {
		fmt.Printf("%s enabled=%v %s\n", t.ID, t.Enabled, t.Actions[0].URL)
	}
	// Output:
	// refused: sqlsource: trigger "legacy": actions[0]: url "http://legacy.example.com/hooks" must use https
	// created enabled=false https://crm.example.com/hooks
	// resolved enabled=true https://billing.example.com/hooks
}

// A hosted helpdesk stores the triggers of many accounts in one table.
// Each account's admin screen saves under the account's tenant, which the
// host takes from its login: two accounts may use the same trigger id, and
// each is served its own. An account that leaves is removed with
// DeleteTenant.
func Example_tenants() {
	ctx := context.Background()
	dir, err := os.MkdirTemp("", "sqlsource-example")
	if err != nil {
		fmt.Println(err)
		return
	}
	defer os.RemoveAll(dir)
	db, err := sql.Open("sqlite", "file:"+filepath.Join(dir, "helpdesk.db"))
	if err != nil {
		fmt.Println(err)
		return
	}
	defer db.Close()
	src, err := sqlsource.New(db, sqlsource.Config{Dialect: sqlsource.SQLite, Options: &trigger.Options{RequireHTTPS: true}})
	if err != nil {
		fmt.Println(err)
		return
	}
	if err := src.Migrate(ctx); err != nil {
		fmt.Println(err)
		return
	}

	notify := func(url string) []byte {
		return []byte(`{"id": "notify", "actions": [{"type": "webhook", "url": "` + url + `"}]}`)
	}
	for _, save := range []struct{ tenant, url string }{
		{"acme", "https://crm.acme.example/hooks"},
		{"globex", "https://globex.example/tickets"},
		{"acme\x00", "https://evil.example/"}, // not a tenant the host would make
	} {
		if err := src.Put(ctx, save.tenant, notify(save.url), 1); err != nil {
			fmt.Println("refused:", err)
		}
	}
	show := func() {
		for _, tenant := range []string{"acme", "globex"} {
			t, err := src.Trigger(ctx, tenant, "notify")
			if err != nil {
				fmt.Printf("%s: %v\n", tenant, err)
				continue
			}
			fmt.Printf("%s: %s of tenant %s posts to %s\n", tenant, t.ID, t.Tenant, t.Actions[0].URL)
		}
		// Tenants reports what the last lookup loaded.
		fmt.Println("tenants served:", src.Tenants())
	}
	show()
	if err := src.DeleteTenant(ctx, "globex"); err != nil {
		fmt.Println(err)
		return
	}
	show()
	// Output:
	// refused: sqlsource: validating a trigger in "tickethooks_triggers": executionlog: invalid tenant: tenant "acme\x00" holds a control character
	// acme: notify of tenant acme posts to https://crm.acme.example/hooks
	// globex: notify of tenant globex posts to https://globex.example/tickets
	// tenants served: [acme globex]
	// acme: notify of tenant acme posts to https://crm.acme.example/hooks
	// globex: sqlsource: trigger "notify" of tenant "globex": trigger: not found
	// tenants served: [acme]
}
