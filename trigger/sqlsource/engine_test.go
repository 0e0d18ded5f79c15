package sqlsource_test

import (
	"context"
	"io"
	"log/slog"
	"maps"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/tickethooks/tickethooks"
	"github.com/tickethooks/tickethooks/executionlog"
	"github.com/tickethooks/tickethooks/payload"
	"github.com/tickethooks/tickethooks/trigger/sqlsource"
)

// TestEngine: an engine whose triggers come from a Source fires the
// stored triggers, delivers to the URL stored at the time, and follows
// Put, SetEnabled and Delete from its next ticket change on.
func TestEngine(t *testing.T) {
	t.Parallel()
	forEachBackend(t, func(t *testing.T, db *testDB) {
		ctx := context.Background()
		var mu sync.Mutex
		var paths []string
		rcv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			io.Copy(io.Discard, r.Body)
			mu.Lock()
			paths = append(paths, r.URL.Path)
			mu.Unlock()
		}))
		t.Cleanup(rcv.Close)
		resolved := func(path string) []byte {
			return []byte(`{"id": "resolved",
				"conditions": {"all": [{"field": "Status", "operator": "changed_to", "value": "Resolved"}]},
				"actions": [{"type": "webhook", "url": "` + rcv.URL + path + `"}]}`)
		}

		src := db.source(t, sqlsource.Config{})
		put(t, src, resolved("/first"), 1)
		log := executionlog.NewMemory(executionlog.MemoryOptions{})
		engine, err := tickethooks.New(tickethooks.Config{
			Triggers: src, Log: log, AllowNetworks: local,
			Logger: slog.New(slog.DiscardHandler), PollInterval: 20 * time.Millisecond,
		})
		if err != nil {
			t.Fatalf("tickethooks.New: %v", err)
		}
		t.Cleanup(func() { engine.Close(context.Background()) })

		steps := []struct {
			name   string
			change func() error
			want   int // entries recorded for the ticket: 1 fired, 0 not
			path   string
		}{
			{"stored", func() error { return nil }, 1, "/first"},
			{"Put", func() error { return src.Put(ctx, "", resolved("/second"), 1) }, 1, "/second"},
			{"disabled", func() error { return src.SetEnabled(ctx, "", "resolved", false) }, 0, ""},
			{"enabled", func() error { return src.SetEnabled(ctx, "", "resolved", true) }, 1, "/second"},
			{"Deleted", func() error { return src.Delete(ctx, "", "resolved") }, 0, ""},
		}
		for i, s := range steps {
			if err := s.change(); err != nil {
				t.Fatalf("%s: %v", s.name, err)
			}
			id := i + 1
			before := &payload.Ticket{Id: id, Status: "InAttendance"}
			after := &payload.Ticket{Id: id, Status: "Resolved"}
			if err := engine.OnTicketChange(ctx, before, after); err != nil {
				t.Fatalf("%s: OnTicketChange: %v", s.name, err)
			}
			// OnTicketChange records the entries before it returns.
			entries := settled(t, log, id)
			if len(entries) != s.want {
				t.Fatalf("%s: %d entries recorded, want %d", s.name, len(entries), s.want)
			}
			if s.want == 0 {
				continue
			}
			mu.Lock()
			got := []any{entries[0].Status, paths[len(paths)-1]}
			mu.Unlock()
			if diff := cmp.Diff([]any{executionlog.StatusSucceeded, s.path}, got); diff != "" {
				t.Errorf("%s: delivery mismatch (-want +got):\n%s", s.name, diff)
			}
		}
	})
}

// TestEngineTenants: an engine configured for tenants, whose triggers come
// from a Source, delivers each tenant's change to that tenant's trigger,
// although both tenants' triggers have the same id, records the entries
// under the tenant, and follows one tenant's Put and DeleteTenant without
// touching the other.
func TestEngineTenants(t *testing.T) {
	t.Parallel()
	forEachBackend(t, func(t *testing.T, db *testDB) {
		ctx := context.Background()
		var mu sync.Mutex
		got := map[string][]string{} // API key header → paths
		rcv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			io.Copy(io.Discard, r.Body)
			mu.Lock()
			got[r.Header.Get("X-Api-Key")] = append(got[r.Header.Get("X-Api-Key")], r.URL.Path)
			mu.Unlock()
		}))
		t.Cleanup(rcv.Close)
		resolved := func(tenant, path string) []byte {
			return []byte(`{"id": "resolved",
				"conditions": {"all": [{"field": "Status", "operator": "changed_to", "value": "Resolved"}]},
				"actions": [{"type": "webhook", "url": "` + rcv.URL + path + `", "headers": {"X-Api-Key": "key-of-` + tenant + `"}}]}`)
		}

		src := db.source(t, sqlsource.Config{})
		putIn(t, src, "acme", resolved("acme", "/acme"), 1)
		putIn(t, src, "globex", resolved("globex", "/globex"), 1)
		log := executionlog.NewMemory(executionlog.MemoryOptions{})
		engine, err := tickethooks.New(tickethooks.Config{
			MultiTenant: true,
			Triggers:    src, Log: log, AllowNetworks: local,
			Logger: slog.New(slog.DiscardHandler), PollInterval: 20 * time.Millisecond,
		})
		if err != nil {
			t.Fatalf("tickethooks.New: %v", err)
		}
		t.Cleanup(func() { engine.Close(context.Background()) })

		type delivery struct {
			Tenant, Trigger string
			Status          executionlog.Status
		}
		steps := []struct {
			name   string
			change func() error
			want   map[string][]delivery // by tenant
			paths  map[string][]string   // all requests so far, by API key
		}{
			{"stored", func() error { return nil },
				map[string][]delivery{"acme": {{"acme", "resolved", executionlog.StatusSucceeded}}, "globex": {{"globex", "resolved", executionlog.StatusSucceeded}}},
				map[string][]string{"key-of-acme": {"/acme"}, "key-of-globex": {"/globex"}}},
			{"acme's Put", func() error { return src.Put(ctx, "acme", resolved("acme", "/acme-v2"), 1) },
				map[string][]delivery{"acme": {{"acme", "resolved", executionlog.StatusSucceeded}}, "globex": {{"globex", "resolved", executionlog.StatusSucceeded}}},
				map[string][]string{"key-of-acme": {"/acme", "/acme-v2"}, "key-of-globex": {"/globex", "/globex"}}},
			{"globex leaves", func() error { return src.DeleteTenant(ctx, "globex") },
				map[string][]delivery{"acme": {{"acme", "resolved", executionlog.StatusSucceeded}}}, // none for globex
				map[string][]string{"key-of-acme": {"/acme", "/acme-v2", "/acme-v2"}, "key-of-globex": {"/globex", "/globex"}}},
		}
		for i, s := range steps {
			if err := s.change(); err != nil {
				t.Fatalf("%s: %v", s.name, err)
			}
			id := i + 1 // both tenants have a ticket with this number
			gotEntries := map[string][]delivery{}
			for _, tenant := range []string{"acme", "globex"} {
				before := &payload.Ticket{Id: id, Status: "InAttendance"}
				after := &payload.Ticket{Id: id, Status: "Resolved"}
				if err := engine.OnTicketChange(ctx, before, after, tickethooks.WithTenant(tenant)); err != nil {
					t.Fatalf("%s: OnTicketChange(%s): %v", s.name, tenant, err)
				}
				for _, en := range settledIn(t, log, tenant, id) {
					gotEntries[tenant] = append(gotEntries[tenant], delivery{en.Tenant, en.TriggerID, en.Status})
				}
			}
			if diff := cmp.Diff(s.want, gotEntries); diff != "" {
				t.Errorf("%s: entries mismatch (-want +got):\n%s", s.name, diff)
			}
			mu.Lock()
			paths := maps.Clone(got)
			mu.Unlock()
			if diff := cmp.Diff(s.paths, paths); diff != "" {
				t.Errorf("%s: requests mismatch (-want +got):\n%s", s.name, diff)
			}
		}
	})
}

// settled waits until no entry of ticket id of tenant "" is pending, and
// returns them.
func settled(t *testing.T, log executionlog.Log, id int) []executionlog.Entry {
	t.Helper()
	return settledIn(t, log, "", id)
}

// settledIn waits until no entry of tenant's ticket id is pending, and
// returns them.
func settledIn(t *testing.T, log executionlog.Log, tenant string, id int) []executionlog.Entry {
	t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	for {
		page, err := log.Query(context.Background(), executionlog.Filter{Tenant: tenant, TicketID: id})
		if err != nil {
			t.Fatalf("Query: %v", err)
		}
		pending := 0
		for _, en := range page.Entries {
			if en.Status == executionlog.StatusPending {
				pending++
			}
		}
		if pending == 0 {
			return page.Entries
		}
		if time.Now().After(deadline) {
			t.Fatalf("ticket %d: %d deliveries still pending", id, pending)
		}
		time.Sleep(5 * time.Millisecond)
	}
}
