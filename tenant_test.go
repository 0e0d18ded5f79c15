package tickethooks_test

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"

	"github.com/tickethooks/tickethooks"
	"github.com/tickethooks/tickethooks/executionlog"
	"github.com/tickethooks/tickethooks/executionlog/sqllog"
	"github.com/tickethooks/tickethooks/payload"
	"github.com/tickethooks/tickethooks/trigger"
)

// tenantTriggers returns a Store holding, for each tenant, a trigger with
// the same id, "notify", that sends every update to that tenant's URL.
func tenantTriggers(t testing.TB, urls map[string]string) *trigger.Store {
	t.Helper()
	st := trigger.NewStore(nil)
	for tenant, url := range urls {
		set, err := trigger.Parse([]byte(fmt.Sprintf(`[{"id": "notify", "name": "Notify %s", "on": ["updated"],
			"actions": [{"type": "webhook", "url": %q, "headers": {"X-Api-Key": "key-of-%s"}}]}]`, tenant, url, tenant)),
			&trigger.Options{Tenant: tenant, AllowNetworks: loopback})
		if err != nil {
			t.Fatalf("loading %s's triggers: %v", tenant, err)
		}
		st.Replace(set)
	}
	return st
}

// TestTenantsIsolated: two tenants with the same trigger id and ticket
// number each reach their own receiver only, and each tenant's log
// operations see, redeliver and delete their own entries only.
func TestTenantsIsolated(t *testing.T) {
	t.Parallel()
	acme, globex := newReceiver(t), newReceiver(t)
	var logs syncBuffer
	var events []tickethooks.DestinationEvent
	var evMu sync.Mutex
	e, log := newEngine(t, tickethooks.Config{
		MultiTenant: true,
		Triggers:    tenantTriggers(t, map[string]string{"acme": acme.URL, "globex": globex.URL}),
		Logger:      slog.New(slog.NewTextHandler(&logs, nil)),
		OnDestination: func(ev tickethooks.DestinationEvent) {
			evMu.Lock()
			events = append(events, ev)
			evMu.Unlock()
		},
	})
	ctx := context.Background()
	before, after := ticket("Open"), ticket("Resolved")

	if err := e.OnTicketChange(ctx, before, after); !errors.Is(err, tickethooks.ErrTenant) {
		t.Errorf("change without a tenant on a multi-tenant engine: %v, want ErrTenant", err)
	}
	for _, bad := range []string{"a\x00b", "line\nbreak", strings.Repeat("x", 256), "\xff"} {
		if err := e.OnTicketChange(ctx, before, after, tickethooks.WithTenant(bad)); !errors.Is(err, tickethooks.ErrTenant) {
			t.Errorf("change with tenant %q: %v, want ErrTenant", bad, err)
		}
	}
	if err := e.OnTicketChange(ctx, before, after, tickethooks.WithTenant("acme")); err != nil {
		t.Fatal(err)
	}
	waitSettledTenant(t, log, "acme", 1)
	if err := e.OnTicketChange(ctx, before, after, tickethooks.WithTenant("globex")); err != nil {
		t.Fatal(err)
	}
	waitSettledTenant(t, log, "globex", 1)
	if err := e.OnTicketChange(ctx, before, after, tickethooks.WithTenant("initech")); err != nil {
		t.Fatalf("change of a tenant without triggers: %v", err)
	}

	for name, r := range map[string]*receiver{"acme": acme, "globex": globex} {
		got := r.got()
		if len(got) != 1 || got[0].header.Get("X-Api-Key") != "key-of-"+name {
			t.Errorf("%s's receiver got %d requests (%v), want 1 with %s's key", name, len(got), got, name)
		}
	}
	page, err := log.Query(ctx, executionlog.Filter{AllTenants: true})
	if err != nil {
		t.Fatal(err)
	}
	byTenant := map[string]executionlog.Entry{}
	for _, en := range page.Entries {
		byTenant[en.Tenant] = en
	}
	if len(page.Entries) != 2 || byTenant["acme"].ID == "" || byTenant["globex"].ID == "" {
		t.Fatalf("log holds %d entries (%v), want one of acme and one of globex", len(page.Entries), byTenant)
	}
	if got := byTenant["acme"].RequestHeaders["X-Api-Key"]; got != "[REDACTED]" {
		t.Errorf("acme's logged X-Api-Key = %q, want it redacted", got)
	}
	acmeID, globexID := byTenant["acme"].ID, byTenant["globex"].ID

	// Scoped reads.
	for _, tc := range []struct {
		f    executionlog.Filter
		want []string
	}{
		{executionlog.Filter{Tenant: "acme"}, []string{acmeID}},
		{executionlog.Filter{Tenant: "globex", TicketID: 42}, []string{globexID}},
		{executionlog.Filter{Tenant: "initech"}, nil},
		{executionlog.Filter{}, nil},
	} {
		page, err := log.Query(ctx, tc.f)
		if err != nil {
			t.Fatal(err)
		}
		var ids []string
		for _, en := range page.Entries {
			ids = append(ids, en.ID)
		}
		if diff := cmp.Diff(tc.want, ids); diff != "" {
			t.Errorf("Query(%+v) mismatch (-want +got):\n%s", tc.f, diff)
		}
	}

	// Redeliver: another tenant's id is not found, like an unknown one.
	if err := e.Redeliver(ctx, executionlog.TenantScope("globex"), acmeID); !errors.Is(err, executionlog.ErrNotFound) {
		t.Errorf("globex redelivering acme's entry: %v, want ErrNotFound", err)
	}
	if err := e.Redeliver(ctx, executionlog.Scope{}, acmeID); !errors.Is(err, executionlog.ErrNotFound) {
		t.Errorf("tenant \"\" redelivering acme's entry: %v, want ErrNotFound", err)
	}
	if err := e.Redeliver(ctx, executionlog.TenantScope("acme"), acmeID); err != nil {
		t.Errorf("acme redelivering its own entry: %v", err)
	}
	waitSettledTenant(t, log, "acme", 1)
	if n := len(acme.got()); n != 2 {
		t.Errorf("acme's receiver got %d requests after the redelivery, want 2", n)
	}
	if n := len(globex.got()); n != 1 {
		t.Errorf("globex's receiver got %d requests, want 1: acme's redelivery reached it", n)
	}

	// TestWebhook records under the tenant that sent it; a multi-tenant
	// engine refuses a test without one.
	action := trigger.Action{Type: trigger.ActionWebhook, URL: globex.URL}
	if _, err := e.TestWebhook(ctx, "", action, tickethooks.WebhookSample{}); !errors.Is(err, tickethooks.ErrTenant) {
		t.Errorf("TestWebhook without a tenant: %v, want ErrTenant", err)
	}
	if _, err := e.TestWebhook(ctx, "globex", action, tickethooks.WebhookSample{}); err != nil {
		t.Fatalf("TestWebhook(globex): %v", err)
	}
	if page, _ := log.Query(ctx, executionlog.Filter{Tenant: "globex"}); len(page.Entries) != 2 || !page.Entries[0].Test {
		t.Errorf("globex's log after a test send: %v, want the test entry and the delivery", page.Entries)
	}

	// Delete, as for an account that leaves: globex's entries go, acme's
	// stay.
	if n, err := e.Delete(ctx, executionlog.Filter{Tenant: "globex"}); err != nil || n != 2 {
		t.Errorf("Delete(globex) = %d, %v; want 2, nil", n, err)
	}
	if _, err := log.Get(ctx, executionlog.AllTenants, globexID); !errors.Is(err, executionlog.ErrNotFound) {
		t.Errorf("globex's entry after Delete: %v, want ErrNotFound", err)
	}
	if _, err := log.Get(ctx, executionlog.TenantScope("acme"), acmeID); err != nil {
		t.Errorf("acme's entry after globex's Delete: %v", err)
	}

	// Every log line of a delivery names its tenant.
	for _, line := range strings.Split(strings.TrimSpace(logs.String()), "\n") {
		if strings.Contains(line, "entry_id=") && !strings.Contains(line, "tenant=acme") && !strings.Contains(line, "tenant=globex") {
			t.Errorf("log line without its tenant: %s", line)
		}
	}
	if strings.Contains(logs.String(), "key-of-") {
		t.Error("a log line holds a header value")
	}
}

// waitSettledTenant waits until tenant has at least want entries and none
// pending.
func waitSettledTenant(t *testing.T, log executionlog.Log, tenant string, want int) {
	t.Helper()
	waitFor(t, fmt.Sprintf("%d settled entries of tenant %q", want, tenant), func() bool {
		page, err := log.Query(context.Background(), executionlog.Filter{Tenant: tenant, Limit: executionlog.MaxLimit})
		if err != nil {
			t.Fatal(err)
		}
		for _, en := range page.Entries {
			if en.Status == executionlog.StatusPending {
				return false
			}
		}
		return len(page.Entries) >= want
	})
}

// mixedSource is a Source that, by mistake, returns acme's triggers for
// every tenant.
type mixedSource struct{ *trigger.Store }

func (s mixedSource) ForTicket(ctx context.Context, _ string, t *payload.Ticket) ([]*trigger.Trigger, error) {
	return s.Store.ForTicket(ctx, "acme", t)
}

// TestTenantsSourceMistake: a trigger of another tenant, returned by a
// faulty Source, never fires: it is skipped, logged and counted.
func TestTenantsSourceMistake(t *testing.T) {
	t.Parallel()
	acme := newReceiver(t)
	reader := sdkmetric.NewManualReader()
	var logs syncBuffer
	e, log := newEngine(t, tickethooks.Config{
		MultiTenant:   true,
		Triggers:      mixedSource{tenantTriggers(t, map[string]string{"acme": acme.URL})},
		Logger:        slog.New(slog.NewTextHandler(&logs, nil)),
		MeterProvider: sdkmetric.NewMeterProvider(sdkmetric.WithReader(reader)),
	})
	if err := e.OnTicketChange(context.Background(), ticket("Open"), ticket("Resolved"), tickethooks.WithTenant("globex")); err != nil {
		t.Fatal(err)
	}
	if page, _ := log.Query(context.Background(), executionlog.Filter{AllTenants: true}); len(page.Entries) != 0 {
		t.Errorf("globex's change recorded %d entries from acme's trigger, want none", len(page.Entries))
	}
	if got := collectMetrics(t, reader)["tickethooks.triggers.failed"]; got != 1 {
		t.Errorf("tickethooks.triggers.failed = %d, want 1", got)
	}
	if !strings.Contains(logs.String(), "another tenant") {
		t.Errorf("no log line about the other tenant's trigger:\n%s", logs.String())
	}
}

// idOnlySource is a Source whose Trigger, by mistake, ignores the tenant
// and returns acme's trigger of that id.
type idOnlySource struct{ *trigger.Store }

func (s idOnlySource) Trigger(ctx context.Context, _, id string) (*trigger.Trigger, error) {
	return s.Store.Trigger(ctx, "acme", id)
}

// TestTenantsSourceMistakeAtDelivery: a delivery whose trigger the
// Source returns from another tenant is not sent with that tenant's URL
// and headers: it fails, naming the mistake.
func TestTenantsSourceMistakeAtDelivery(t *testing.T) {
	t.Parallel()
	acme, globex := newReceiver(t), newReceiver(t)
	e, log := newEngine(t, tickethooks.Config{
		MultiTenant: true,
		Triggers:    idOnlySource{tenantTriggers(t, map[string]string{"acme": acme.URL, "globex": globex.URL})},
	})
	if err := e.OnTicketChange(context.Background(), ticket("Open"), ticket("Resolved"), tickethooks.WithTenant("globex")); err != nil {
		t.Fatal(err)
	}
	waitSettledTenant(t, log, "globex", 1)
	page, err := log.Query(context.Background(), executionlog.Filter{Tenant: "globex"})
	if err != nil {
		t.Fatal(err)
	}
	if len(page.Entries) != 1 || page.Entries[0].Status != executionlog.StatusFailed ||
		len(page.Entries[0].Attempts) != 1 || !strings.Contains(page.Entries[0].Attempts[0].Error, "another tenant") {
		t.Errorf("globex's entry = %+v, want it failed naming another tenant's trigger", page.Entries)
	}
	if n := len(acme.got()); n != 0 {
		t.Errorf("acme's receiver got %d requests for globex's change, want none", n)
	}
}

// TestTenantsMetricAttribute: metrics carry the tenant only when
// TenantPolicy.MetricAttribute is set.
func TestTenantsMetricAttribute(t *testing.T) {
	t.Parallel()
	for _, on := range []bool{false, true} {
		t.Run(fmt.Sprint(on), func(t *testing.T) {
			t.Parallel()
			rcv := newReceiver(t)
			reader := sdkmetric.NewManualReader()
			e, log := newEngine(t, tickethooks.Config{
				MultiTenant:   true,
				Tenants:       tickethooks.TenantPolicy{MetricAttribute: on},
				Triggers:      tenantTriggers(t, map[string]string{"acme": rcv.URL}),
				MeterProvider: sdkmetric.NewMeterProvider(sdkmetric.WithReader(reader)),
			})
			if err := e.OnTicketChange(context.Background(), ticket("Open"), ticket("Resolved"), tickethooks.WithTenant("acme")); err != nil {
				t.Fatal(err)
			}
			waitSettledTenant(t, log, "acme", 1)
			key := "tickethooks.deliveries outcome=succeeded"
			if on {
				key += " tickethooks.tenant=acme"
			}
			waitFor(t, key, func() bool { return collectMetrics(t, reader)[key] == 1 })
			got := collectMetrics(t, reader)
			for name := range got {
				if strings.HasSuffix(name, " count") {
					continue // histograms are counted without their attributes
				}
				if strings.Contains(name, "tenant") != on {
					t.Errorf("metric %q: tenant attribute present = %v, want %v", name, !on, on)
				}
			}
		})
	}
}

// TestTenantsMaxPending: a tenant at its limit of pending entries gets
// ErrQueueFull, and the other tenants are unaffected.
func TestTenantsMaxPending(t *testing.T) {
	t.Parallel()
	url, arrived, release := blockingReceiver(t)
	fine := newReceiver(t)
	e, _ := newEngine(t, tickethooks.Config{
		MultiTenant: true,
		Tenants:     tickethooks.TenantPolicy{MaxPending: 3},
		Triggers:    tenantTriggers(t, map[string]string{"acme": url, "globex": fine.URL}),
	})
	defer close(release)
	ctx := context.Background()
	for i := range 3 {
		if err := e.OnTicketChange(ctx, ticket("Open"), ticket("Resolved"), tickethooks.WithTenant("acme")); err != nil {
			t.Fatalf("acme's change %d: %v", i, err)
		}
	}
	<-arrived // acme's deliveries are stuck: its three entries stay pending
	err := e.OnTicketChange(ctx, ticket("Open"), ticket("Resolved"), tickethooks.WithTenant("acme"))
	if !errors.Is(err, tickethooks.ErrQueueFull) || !strings.Contains(err.Error(), `"acme"`) {
		t.Errorf("acme's fourth change: %v, want ErrQueueFull naming acme", err)
	}
	for i := range 3 {
		if err := e.OnTicketChange(ctx, ticket("Open"), ticket("Resolved"), tickethooks.WithTenant("globex")); err != nil {
			t.Fatalf("globex's change %d while acme is full: %v", i, err)
		}
	}
	waitFor(t, "globex's 3 deliveries", func() bool { return len(fine.got()) == 3 })

	if _, err := tickethooks.New(tickethooks.Config{Triggers: trigger.NewStore(nil), Log: noCountLog{executionlog.NewMemory(executionlog.MemoryOptions{})},
		Tenants: tickethooks.TenantPolicy{MaxPending: 1}}); !errors.Is(err, tickethooks.ErrInvalidConfig) {
		t.Errorf("MaxPending with a log that cannot count: %v, want ErrInvalidConfig", err)
	}
}

// noCountLog hides the memory log's CountPending.
type noCountLog struct{ executionlog.Log }

// TestTenantsFairDelivery: while tenant A has 20,000 pending deliveries
// to a receiver that answers in 200 ms, tenant B's one change is delivered
// at once, not after A's backlog, and A never has more than its share of
// the workers in flight. It runs on every log.
func TestTenantsFairDelivery(t *testing.T) {
	t.Parallel()
	const backlog, workers, share = 20000, 8, 4
	// capA is Tenants.MaxInFlight: 0 for the default share, -1 for none.
	// backlog is how many entries A has pending.
	run := func(t *testing.T, log executionlog.Log, capA, backlog int) {
		var inFlight, most, doneA atomic.Int64
		slow := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			n := inFlight.Add(1)
			for m := most.Load(); n > m && !most.CompareAndSwap(m, n); m = most.Load() {
			}
			time.Sleep(200 * time.Millisecond)
			inFlight.Add(-1)
			doneA.Add(1)
		}))
		t.Cleanup(slow.Close)
		var bAt atomic.Int64 // A's deliveries done when B's arrived, plus one
		fast := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			bAt.CompareAndSwap(0, doneA.Load()+1)
		}))
		t.Cleanup(fast.Close)

		ctx := context.Background()
		now := time.Now().UTC().Truncate(time.Microsecond)
		batch := make([]*executionlog.Entry, 0, 1000)
		for i := range backlog {
			batch = append(batch, &executionlog.Entry{ID: executionlog.NewID(now), Tenant: "a", TriggerID: "notify",
				TicketID: i + 1, Event: "updated", URL: slow.URL, RequestBody: []byte(`{}`),
				Status: executionlog.StatusPending, NextAttemptAt: now, CreatedAt: now, UpdatedAt: now})
			if len(batch) == cap(batch) {
				if err := log.Add(ctx, batch); err != nil {
					t.Fatal(err)
				}
				batch = batch[:0]
			}
		}
		e, _ := newEngine(t, tickethooks.Config{
			MultiTenant: true, Workers: workers, Log: log,
			Triggers:     tenantTriggers(t, map[string]string{"a": slow.URL, "b": fast.URL}),
			Destinations: tickethooks.DestinationPolicy{MaxInFlight: workers},
			Tenants:      tickethooks.TenantPolicy{MaxInFlight: capA},
		})
		waitFor(t, "A's deliveries to start", func() bool { return doneA.Load() >= 1 })
		doneBefore := doneA.Load()
		if err := e.OnTicketChange(ctx, ticket("Open"), ticket("Resolved"), tickethooks.WithTenant("b")); err != nil {
			t.Fatal(err)
		}
		waitFor(t, "B's delivery", func() bool { return bAt.Load() != 0 })
		// A's deliveries in flight when B's change came, and the ones
		// claimed ahead, may finish first; nothing more of A's backlog.
		// Without a limit, A's deliveries hold every worker and the ones
		// claimed ahead (at most share per claim) go first.
		want := int64(2 * share)
		if capA < 0 {
			want = 2 * workers
		}
		if ahead := bAt.Load() - 1 - doneBefore; ahead > want {
			t.Errorf("B's delivery arrived after %d more of A's deliveries, want at most %d", ahead, want)
		}
		if m := most.Load(); capA >= 0 && m > share {
			t.Errorf("A had %d deliveries in flight at once, want at most its share %d", m, share)
		}
	}
	t.Run("memory", func(t *testing.T) {
		t.Parallel()
		run(t, executionlog.NewMemory(executionlog.MemoryOptions{MaxEntries: 2 * backlog}), 0, backlog)
	})
	t.Run("memory-uncapped", func(t *testing.T) {
		t.Parallel()
		run(t, executionlog.NewMemory(executionlog.MemoryOptions{MaxEntries: 2 * backlog}), -1, backlog)
	})
	forEachBackend(t, allDurable, func(t *testing.T, db *durableDB) {
		n := backlog
		if db.b.dialect == sqllog.SQLite {
			// Writing 20,000 rows through modernc.org/sqlite takes half
			// a minute under the race detector; BenchmarkNoisyNeighbour
			// runs SQLite with the full backlog.
			n = 5000
		}
		run(t, db.log(t, db.open(t)), 0, n)
		// A SQL log claims among the oldest due entries only: the
		// dispatcher skips a tenant holding its share even without a
		// limit. A smaller backlog is as long as the run.
		db2 := newDurableDB(t, db.b)
		run(t, db2.log(t, db2.open(t)), -1, 2000)
	})
}

// TestTenantsBreakerApart: one tenant's failing endpoint on a host pauses
// that tenant's deliveries there, not another tenant's to the same host,
// and the destination event names the tenant.
func TestTenantsBreakerApart(t *testing.T) {
	t.Parallel()
	var hits sync.Map // path -> *atomic.Int64
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		n, _ := hits.LoadOrStore(r.URL.Path, new(atomic.Int64))
		n.(*atomic.Int64).Add(1)
		if strings.HasPrefix(r.URL.Path, "/broken") {
			w.WriteHeader(http.StatusServiceUnavailable)
		}
	}))
	t.Cleanup(srv.Close)
	var mu sync.Mutex
	var events []tickethooks.DestinationEvent
	e, log := newEngine(t, tickethooks.Config{
		MultiTenant:  true,
		Triggers:     tenantTriggers(t, map[string]string{"acme": srv.URL + "/broken", "globex": srv.URL + "/fine"}),
		Retry:        fastRetry(1),
		Destinations: tickethooks.DestinationPolicy{FailureThreshold: 2, CoolDown: time.Hour},
		OnDestination: func(ev tickethooks.DestinationEvent) {
			mu.Lock()
			events = append(events, ev)
			mu.Unlock()
		},
	})
	ctx := context.Background()
	for range 3 {
		if err := e.OnTicketChange(ctx, ticket("Open"), ticket("Resolved"), tickethooks.WithTenant("acme")); err != nil {
			t.Fatal(err)
		}
	}
	waitFor(t, "acme's destination to pause", func() bool {
		mu.Lock()
		defer mu.Unlock()
		return len(events) > 0
	})
	for range 3 {
		if err := e.OnTicketChange(ctx, ticket("Open"), ticket("Resolved"), tickethooks.WithTenant("globex")); err != nil {
			t.Fatal(err)
		}
	}
	waitSettledTenant(t, log, "globex", 3)
	mu.Lock()
	defer mu.Unlock()
	if ev := events[0]; ev.Kind != tickethooks.DestinationPaused || ev.Tenant != "acme" || ev.TriggerID != "notify" {
		t.Errorf("first destination event = %+v, want acme's destination paused", ev)
	}
	for _, ev := range events {
		if ev.Tenant != "acme" {
			t.Errorf("destination event of tenant %q: %+v; only acme's endpoint fails", ev.Tenant, ev)
		}
	}
}

// TestTenantsDeletePendingGauge: deleting an account's pending entries,
// one of them in flight, takes them off the pending gauge, and the
// attempt in flight, whose outcome finds no entry, does not count again.
func TestTenantsDeletePendingGauge(t *testing.T) {
	t.Parallel()
	url, arrived, release := blockingReceiver(t)
	reader := sdkmetric.NewManualReader()
	e, _ := newEngine(t, tickethooks.Config{
		MultiTenant: true, Workers: 1,
		Triggers:      tenantTriggers(t, map[string]string{"acme": url}),
		MeterProvider: sdkmetric.NewMeterProvider(sdkmetric.WithReader(reader)),
	})
	ctx := context.Background()
	for id := 1; id <= 3; id++ {
		before, after := resolving(id)
		if err := e.OnTicketChange(ctx, before, after, tickethooks.WithTenant("acme")); err != nil {
			t.Fatal(err)
		}
	}
	<-arrived
	if got := collectMetrics(t, reader)["tickethooks.deliveries.pending"]; got != 3 {
		t.Fatalf("pending gauge before Delete = %d, want 3", got)
	}
	n, err := e.Delete(ctx, executionlog.Filter{Tenant: "acme"})
	if err != nil || n != 3 {
		t.Fatalf("Delete = %d, %v; want 3 entries", n, err)
	}
	close(release)
	if err := e.Close(ctx); err != nil {
		t.Fatal(err)
	}
	if got := collectMetrics(t, reader)["tickethooks.deliveries.pending"]; got != 0 {
		t.Errorf("pending gauge after Delete = %d, want 0", got)
	}
}
