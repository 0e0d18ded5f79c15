package sqlsource_test

import (
	"context"
	"io"
	"log/slog"
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

// settled waits until no entry of ticket id is pending, and returns them.
func settled(t *testing.T, log executionlog.Log, id int) []executionlog.Entry {
	t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	for {
		page, err := log.Query(context.Background(), executionlog.Filter{TicketID: id})
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
