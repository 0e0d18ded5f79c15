package sqllog

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/tickethooks/tickethooks/executionlog"
)

func testMigrateTwice(t *testing.T, b backend) {
	tl := newTestLog(t, b)
	ctx := context.Background()
	e := newEntry(at(0), 1)
	if err := tl.Add(ctx, []*executionlog.Entry{e}); err != nil {
		t.Fatalf("Add: %v", err)
	}
	for i := range 2 {
		if err := tl.Migrate(ctx); err != nil {
			t.Fatalf("Migrate again (%d): %v", i+1, err)
		}
	}
	if _, err := tl.Get(ctx, executionlog.Scope{}, e.ID); err != nil {
		t.Errorf("Get after Migrate again: %v", err)
	}
	want := len(b.dialect.schema(tl.Log))
	if got := count(t, tl.Log, "SELECT COUNT(*) FROM "+tl.migrations); got != want {
		t.Errorf("migrations recorded = %d, want %d", got, want)
	}
}

func testMigrateConcurrently(t *testing.T, b backend) {
	const engines = 4
	prefix := newPrefix(t)
	logs := make([]*Log, engines)
	for i := range logs {
		l, err := New(b.open(t, prefix), Config{Dialect: b.dialect, TablePrefix: prefix})
		if err != nil {
			t.Fatalf("New: %v", err)
		}
		logs[i] = l
		// Connect before the race: on SQLite, a connection's first
		// PRAGMA journal_mode=WAL on a new file may fail with
		// SQLITE_BUSY, without waiting, while another connection holds
		// the write lock. Migrate itself is what this test races.
		if err := l.db.PingContext(context.Background()); err != nil {
			t.Fatalf("Ping: %v", err)
		}
	}
	t.Cleanup(func() { dropTables(t, logs[0].db, logs[0]) })

	errs := make([]error, engines)
	var wg sync.WaitGroup
	for i, l := range logs {
		wg.Go(func() { errs[i] = l.Migrate(context.Background()) })
	}
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Errorf("Migrate by %s: %v", label(i), err)
		}
	}
	want := len(b.dialect.schema(logs[0]))
	if got := count(t, logs[0], "SELECT COUNT(*) FROM "+logs[0].migrations); got != want {
		t.Errorf("migrations recorded = %d, want %d", got, want)
	}
	e := newEntry(at(0), 1)
	if err := logs[1].Add(context.Background(), []*executionlog.Entry{e}); err != nil {
		t.Fatalf("Add after concurrent Migrate: %v", err)
	}
	if _, err := logs[2].Get(context.Background(), executionlog.Scope{}, e.ID); err != nil {
		t.Errorf("Get through another engine: %v", err)
	}
}

// testMigrateTenant upgrades tables of the schema before tenants, holding
// entries with and without a change key and their attempts, and shows
// that the entries are kept as tenant "", that the indexes of per-tenant
// queries lead with the tenant, and that change keys are unique per
// tenant from then on. The case "CutShort" also applies the new
// version's statements without recording it, as a MySQL migration cut
// short would leave them.
func testMigrateTenant(t *testing.T, b backend) {
	for _, cutShort := range []bool{false, true} {
		name := "FromPrevious"
		if cutShort {
			name = "CutShort"
		}
		t.Run(name, func(t *testing.T) {
			prefix := newPrefix(t)
			db := b.open(t, prefix)
			l, err := New(db, Config{Dialect: b.dialect, TablePrefix: prefix})
			if err != nil {
				t.Fatalf("New: %v", err)
			}
			t.Cleanup(func() { dropTables(t, db, l) })
			schema := l.d.schema(l)
			m := migrationAdding(t, l, "tenant")
			if cutShort && m.applied == "" {
				t.Skipf("the %s migration runs in a transaction: it cannot be cut short", l.d)
			}
			migrateTo(t, l, m.version-1)

			// Entries as the previous version wrote them: one failed with
			// an attempt and a change key, one pending without a key.
			d, ctx := l.d, context.Background()
			failed, pending := keyedEntry(0, 7, "chg-1"), newEntry(at(time.Second), 7)
			failed.Status, failed.NextAttemptAt, failed.RequestHeaders = executionlog.StatusFailed, time.Time{}, nil
			failed.Attempts = []executionlog.Attempt{{Number: 1, StartedAt: at(time.Second), Duration: time.Second, StatusCode: 503,
				Error: "HTTP 503"}}
			pending.RequestHeaders = nil
			for _, e := range []*executionlog.Entry{failed, pending} {
				var key, next any
				if e.ChangeKey != "" {
					key = e.ChangeKey
				}
				if e.Status == executionlog.StatusPending {
					next = d.timeArg(e.NextAttemptAt)
				}
				errText := ""
				if len(e.Attempts) > 0 {
					errText = "\nhttp 503"
				}
				mustExec(t, l, "INSERT INTO "+l.entries+" (id, trigger_id, trigger_name, action_index, ticket_id, event, url,"+
					" request_body, status, attempt_count, series_start, test, next_attempt_at, note, error_text, created_at, updated_at, change_key)"+
					" VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 0, ?, ?, '', ?, ?, ?, ?)",
					e.ID, e.TriggerID, e.TriggerName, e.ActionIndex, e.TicketID, e.Event, e.URL, e.RequestBody,
					string(e.Status), len(e.Attempts), false, next, errText, d.timeArg(e.CreatedAt), d.timeArg(e.UpdatedAt), key)
			}
			mustExec(t, l, "INSERT INTO "+l.attempts+" ("+attemptCols+") VALUES (?, 1, 1, ?, ?, 503, ?, NULL, ?)",
				failed.ID, d.timeArg(at(time.Second)), int64(time.Second), []byte("HTTP 503"), false)
			if cutShort {
				for _, stmt := range m.stmts {
					mustExec(t, l, stmt)
				}
			}

			if err := l.Migrate(ctx); err != nil {
				t.Fatalf("Migrate: %v", err)
			}
			if got := count(t, l, "SELECT COUNT(*) FROM "+l.migrations); got != len(schema) {
				t.Errorf("migrations recorded = %d, want %d", got, len(schema))
			}
			for _, e := range []*executionlog.Entry{failed, pending} {
				if diff := cmp.Diff(*e, mustGetEntry(t, l, e.ID), entryOpts); diff != "" {
					t.Errorf("entry kept through the migration mismatch (-want +got):\n%s", diff)
				}
			}
			if _, err := l.Get(ctx, executionlog.TenantScope("acme"), failed.ID); !errors.Is(err, executionlog.ErrNotFound) {
				t.Errorf("Get(old entry, scope acme) error = %v, want ErrNotFound", err)
			}
			page, err := l.Query(ctx, executionlog.Filter{TicketID: 7, ErrorText: "503"})
			if err != nil || len(page.Entries) != 1 || page.Entries[0].ID != failed.ID {
				t.Errorf("Query(tenant \"\", ticket 7, error 503) = %v, %v; want the old failed entry", ids(page.Entries), err)
			}
			if n, err := l.CountPending(ctx, "", 0); err != nil || n != 1 {
				t.Errorf("CountPending(\"\") = %d, %v; want 1, nil", n, err)
			}

			for index, lead := range tenantIndexLeads(t, l) {
				if lead != "tenant" {
					t.Errorf("index %s leads with %s, want tenant", index, lead)
				}
			}

			// The old key is known for tenant "", and free for another
			// tenant.
			again, other := keyedEntry(2*time.Second, 7, "chg-1"), keyedEntry(3*time.Second, 7, "chg-1")
			other.Tenant = "acme"
			if err := l.Add(ctx, []*executionlog.Entry{again, other}); err != nil {
				t.Fatalf("Add after the migration: %v", err)
			}
			if again.DuplicateOf != failed.ID || other.DuplicateOf != "" {
				t.Errorf("DuplicateOf after the migration = %q and %q, want %q and \"\"", again.DuplicateOf, other.DuplicateOf, failed.ID)
			}
			if n, err := l.Delete(ctx, executionlog.Filter{}); err != nil || n != 2 {
				t.Errorf("Delete(tenant \"\") = %d, %v; want 2, nil", n, err)
			}
			if got := count(t, l, "SELECT COUNT(*) FROM "+l.attempts); got != 0 {
				t.Errorf("attempts after deleting the old entries = %d, want 0", got)
			}
			if diff := cmp.Diff([]string{}, storedIDs(t, l)); diff != "" {
				t.Errorf("entries of tenant \"\" after Delete mismatch (-want +got):\n%s", diff)
			}
			if _, err := l.Get(ctx, executionlog.TenantScope("acme"), other.ID); err != nil {
				t.Errorf("Get(acme's entry after deleting tenant \"\"): %v", err)
			}
		})
	}
}

// tenantIndexLeads returns the first column of each index of l's entries
// table that serves per-tenant queries (ticket, trigger, status, tenant
// pages, change keys), by name.
func tenantIndexLeads(t *testing.T, l *Log) map[string]string {
	t.Helper()
	names := []string{"entries_ticket_idx", "entries_trigger_idx", "entries_status_idx", "entries_tenant_created_idx", "entries_change_key"}
	switch l.d {
	case SQLite:
		names = append(names, "entries_error_idx")
	case Postgres:
		names = append(names, "entries_tenant_error_idx")
	}
	out := make(map[string]string, len(names))
	ctx := context.Background()
	for _, name := range names {
		full := l.prefix + name
		var lead string
		var err error
		switch l.d {
		case SQLite:
			err = l.db.QueryRowContext(ctx, "SELECT name FROM pragma_index_info(?) WHERE seqno = 0", full).Scan(&lead)
		case Postgres:
			err = l.db.QueryRowContext(ctx, "SELECT a.attname FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid"+
				" JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = i.indkey[0]"+
				" WHERE c.relname = $1 AND pg_table_is_visible(c.oid)", full).Scan(&lead)
		case MySQL:
			err = l.db.QueryRowContext(ctx, "SELECT column_name FROM information_schema.statistics WHERE table_schema = DATABASE()"+
				" AND table_name = ? AND index_name = ? AND seq_in_index = 1", l.prefix+"entries", full).Scan(&lead)
		}
		if err != nil {
			t.Fatalf("reading the first column of index %s: %v", full, err)
		}
		out[name] = lead
	}
	return out
}
