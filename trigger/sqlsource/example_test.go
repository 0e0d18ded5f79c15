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
// through the same Source (tickethooks.Config.Triggers).
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
