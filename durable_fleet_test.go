package tickethooks_test

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/tickethooks/tickethooks"
	"github.com/tickethooks/tickethooks/executionlog"
)

// fleetBackends are the databases several engines share: SQLite is meant
// for one engine.
var fleetBackends = []durableBackend{postgresDurable, postgresPQDurable, mysqlDurable}

// TestDurableFleet runs three engines, each with its own pool and Owner,
// on one database.
func TestDurableFleet(t *testing.T) {
	t.Parallel()
	t.Run("ExactlyOnce", func(t *testing.T) {
		t.Parallel()
		forEachBackend(t, fleetBackends, testFleetExactlyOnce)
	})
	t.Run("EngineKilled", func(t *testing.T) {
		t.Parallel()
		forEachBackend(t, fleetBackends, testFleetEngineKilled)
	})
}

// fleetEngine starts an engine of the fleet on its own pool, tagging its
// requests with its owner name.
func fleetEngine(t *testing.T, db *durableDB, url, owner string, lease time.Duration) *tickethooks.Engine {
	t.Helper()
	e, _ := newEngine(t, tickethooks.Config{
		Triggers: durableTriggers(t, url),
		Log:      db.log(t, db.open(t)),
		Sender:   taggedSender{tag: owner, next: loopbackSender()},
		Workers:  4,
		Lease:    lease,
		Owner:    owner,
	})
	return e
}

// fireRoundRobin fires the tickets first..last, ticket i through
// engines[i%len(engines)], each engine from its own goroutine.
func fireRoundRobin(t *testing.T, engines []*tickethooks.Engine, first, last int) {
	t.Helper()
	var wg sync.WaitGroup
	for k, e := range engines {
		wg.Go(func() {
			for id := first; id <= last; id++ {
				if id%len(engines) != k {
					continue
				}
				before, after := resolving(id)
				if err := e.OnTicketChange(context.Background(), before, after); err != nil {
					t.Errorf("%s: OnTicketChange(ticket %d): %v", e.Owner(), id, err)
				}
			}
		})
	}
	wg.Wait()
}

// testFleetExactlyOnce: with no faults, each firing reaches the receiver
// exactly once, whichever engine claims it.
func testFleetExactlyOnce(t *testing.T, db *durableDB) {
	const n = 90
	rcv := newHookReceiver(t, 2*time.Millisecond, false)
	var fleet []*tickethooks.Engine
	for i := range 3 {
		fleet = append(fleet, fleetEngine(t, db, rcv.URL, fmt.Sprintf("fleet-%d", i), 30*time.Second))
	}
	fireRoundRobin(t, fleet, 1, n)
	entries := waitSettled(t, db.log(t, db.admin), n)
	ids := rcv.ids()
	checkAllSucceeded(t, entries, n, ids)
	for _, en := range entries {
		if ids[en.ID] != 1 || len(en.Attempts) != 1 {
			t.Errorf("entry %s (ticket %d): %d requests, %d attempts; want exactly one of each", en.ID, en.TicketID, ids[en.ID], len(en.Attempts))
		}
	}
	total, distinct, _, byEngine := rcv.counts()
	if total != n || distinct != n {
		t.Errorf("receiver got %d requests for %d webhook-ids, want %d of each", total, distinct, n)
	}
	t.Logf("%s: %d firings, %d requests; delivered per engine: %v", db.b.name, n, total, byEngine)
}

// testFleetEngineKilled: one engine of three, a child process, is killed
// with SIGKILL mid-run; the two others deliver every firing, its own
// included, and the only duplicates are the deliveries it had in flight.
func testFleetEngineKilled(t *testing.T, db *durableDB) {
	const (
		n       = 90
		workers = 4
		killAt  = 6 // the child dies as its sixth request arrives
		victim  = "fleet-child"
		// lease must outlast the child's first requests, held until it
		// has fired, and is what the survivors wait for.
		lease = 3 * time.Second
	)
	rcv := newHookReceiver(t, 30*time.Millisecond, true)
	c := startChild(t, childConfig{
		Backend: db.b.name, DSN: db.dsn, Prefix: db.prefix, URL: rcv.URL,
		FirstTicket: 1, Count: n / 3, Workers: workers, Lease: lease, Owner: victim,
	})
	// At most `workers` of the child's requests arrive before the gate
	// opens, so the hook is in place before its killAt-th. The gate opens
	// once the child has fired, well within its lease: the only entries
	// the others take over are the ones the kill left.
	rcv.setOnArrive(func(engine string, k int) {
		if engine == victim && k == killAt {
			c.kill()
		}
	})
	survivors := []*tickethooks.Engine{
		fleetEngine(t, db, rcv.URL, "fleet-0", 30*time.Second),
		fleetEngine(t, db, rcv.URL, "fleet-1", 30*time.Second),
	}
	c.waitFired(t)
	rcv.openGate()
	fireRoundRobin(t, survivors, n/3+1, n)
	c.waitKilled(t)

	l := db.log(t, db.admin)
	leased := 0
	for _, en := range allEntries(t, l) {
		if en.Status == executionlog.StatusPending && en.LeaseOwner == victim {
			leased++
		}
	}
	entries := waitSettled(t, l, n)
	ids := rcv.ids()
	checkAllSucceeded(t, entries, n, ids)
	total, distinct, duplicates, byEngine := checkAfterKill(t, rcv, n, workers, leased, "the killed engine had in flight")
	t.Logf("%s: %d firings; %d leased to the killed engine after its death; %d requests for %d webhook-ids: %d duplicates; requests per engine: %v",
		db.b.name, n, leased, total, distinct, duplicates, byEngine)
}
