package tickethooks_test

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/tickethooks/tickethooks"
	"github.com/tickethooks/tickethooks/executionlog"
	"github.com/tickethooks/tickethooks/payload"
)

// Noisy neighbour: the setup of BENCHMARKS.md. Tenant A has a backlog of
// noisyBacklog pending entries for a receiver answering in noisySlow;
// tenant B fires noisyChanges changes, one every noisyEvery, to a fast
// receiver.
const (
	noisyBacklog = 20000
	noisySlow    = 200 * time.Millisecond
	noisyChanges = 100
	noisyEvery   = 50 * time.Millisecond
	noisyWorkers = 8
	// noisyWait is how long after B's last change the benchmark waits
	// for B's deliveries; one still missing then counts as taking
	// noisyWait longer than its change, so the percentiles of the FIFO
	// run are lower bounds.
	noisyWait = 10 * time.Second
)

// BenchmarkNoisyNeighbour reports B's latency from OnTicketChange to
// receipt (p50, p99, in ms) and A's deliveries per second, on an engine
// configured for tenants (mode=tenants: fair claims and the default cap
// in flight per tenant, half the workers; mode=uncapped: fair claims
// only, Tenants.MaxInFlight -1) and on a single-tenant engine where A's
// and B's triggers share tenant "" and the queue is one FIFO
// (mode=fifo). Each iteration is one whole run of
// several seconds.
func BenchmarkNoisyNeighbour(b *testing.B) {
	for _, kind := range []string{"memory", "sqlite", "postgres"} {
		for _, mode := range []string{"tenants", "uncapped", "fifo"} {
			b.Run("log="+kind+"/mode="+mode, func(b *testing.B) {
				for range b.N {
					var log executionlog.Log = executionlog.NewMemory(executionlog.MemoryOptions{MaxEntries: 2 * noisyBacklog})
					if kind != "memory" {
						log = newBenchDB(b, kind).log
					}
					noisyRun(b, log, mode)
				}
			})
		}
	}
}

// noisyRun makes one run; only the time from the engine's start to B's
// last receipt counts.
func noisyRun(b *testing.B, log executionlog.Log, mode string) {
	b.StopTimer()
	defer b.StartTimer()
	tenants := mode != "fifo"
	var doneA atomic.Int64
	slow := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		time.Sleep(noisySlow)
		doneA.Add(1)
	}))
	defer slow.Close()
	var mu sync.Mutex
	arrived := make(map[int]time.Time, noisyChanges)
	fast := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var p struct{ Id int }
		if err := json.NewDecoder(r.Body).Decode(&p); err != nil {
			b.Errorf("B's receiver: %v", err)
			return
		}
		mu.Lock()
		arrived[p.Id] = time.Now()
		mu.Unlock()
	}))
	defer fast.Close()

	tenantA, tenantB := "", ""
	cfg := tickethooks.Config{
		Log: log, Workers: noisyWorkers,
		Destinations: tickethooks.DestinationPolicy{MaxInFlight: noisyWorkers},
	}
	if tenants {
		tenantA, tenantB = "a", "b"
		cfg.MultiTenant = true
		cfg.Triggers = tenantTriggers(b, map[string]string{"a": slow.URL, "b": fast.URL})
		if mode == "uncapped" {
			cfg.Tenants.MaxInFlight = -1
		}
	} else {
		// One tenant: A's trigger (whose entries are the backlog) and B's
		// trigger share it; B's changes fire B's only.
		cfg.Triggers = benchStore(b, []map[string]any{
			{"id": "notify", "on": []string{"created"}, "actions": []map[string]any{{"type": "webhook", "url": slow.URL}}},
			{"id": "b", "on": []string{"updated"}, "actions": []map[string]any{{"type": "webhook", "url": fast.URL}}},
		})
	}
	ctx := context.Background()
	now := time.Now().UTC().Truncate(time.Microsecond)
	batch := make([]*executionlog.Entry, 0, 1000)
	for i := range noisyBacklog {
		batch = append(batch, &executionlog.Entry{ID: executionlog.NewID(now), Tenant: tenantA, TriggerID: "notify",
			TicketID: 100000 + i, Event: "created", URL: slow.URL, RequestBody: []byte(`{}`),
			Status: executionlog.StatusPending, NextAttemptAt: now, CreatedAt: now, UpdatedAt: now})
		if len(batch) == cap(batch) {
			if err := log.Add(ctx, batch); err != nil {
				b.Fatal(err)
			}
			batch = batch[:0]
		}
	}
	b.StartTimer()
	e := newBenchEngine(b, cfg)
	start := time.Now()
	var opts []tickethooks.ChangeOption
	if tenants {
		opts = append(opts, tickethooks.WithTenant(tenantB))
	}
	fired := make(map[int]time.Time, noisyChanges)
	for i := 1; i <= noisyChanges; i++ {
		time.Sleep(noisyEvery)
		before := &payload.Ticket{Id: i, Subject: "Printer", Status: "Open"}
		after := &payload.Ticket{Id: i, Subject: "Printer", Status: "Resolved"}
		fired[i] = time.Now()
		if err := e.OnTicketChange(ctx, before, after, opts...); err != nil {
			b.Fatal(err)
		}
	}
	deadline := time.Now().Add(noisyWait)
	for time.Now().Before(deadline) {
		mu.Lock()
		n := len(arrived)
		mu.Unlock()
		if n == noisyChanges {
			break
		}
		time.Sleep(10 * time.Millisecond)
	}
	elapsed := time.Since(start)
	drainedA := doneA.Load()
	b.StopTimer()
	closeBenchEngine(b, e)

	mu.Lock()
	lat := make([]float64, 0, noisyChanges)
	for id, at := range fired {
		got, ok := arrived[id]
		if !ok {
			got = deadline
		}
		lat = append(lat, float64(got.Sub(at))/float64(time.Millisecond))
	}
	missing := noisyChanges - len(arrived)
	mu.Unlock()
	slices.Sort(lat)
	b.ReportMetric(lat[len(lat)/2], "B-p50-ms")
	b.ReportMetric(lat[len(lat)*99/100], "B-p99-ms")
	b.ReportMetric(float64(missing), "B-missing")
	b.ReportMetric(float64(drainedA)/elapsed.Seconds(), "A-deliveries/s")
	if tenants && missing > 0 {
		b.Errorf("%d of B's %d deliveries missing after %v", missing, noisyChanges, noisyWait)
	}
}
