package tickethooks_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/tickethooks/tickethooks"
	"github.com/tickethooks/tickethooks/executionlog"
)

// TestTenantsFleet: three engines configured for tenants share one
// PostgreSQL or MariaDB log, and one of them, a child process firing
// tenant A's flood, is killed mid-run. Every delivery of both tenants is
// made, and tenant B's changes, fired while A's backlog drains through a
// slow receiver, reach B's receiver within a bounded time.
func TestTenantsFleet(t *testing.T) {
	t.Parallel()
	forEachBackend(t, []durableBackend{postgresDurable, mysqlDurable}, testTenantsFleet)
}

func testTenantsFleet(t *testing.T, db *durableDB) {
	const (
		perEngine = 80 // A's tickets fired by each engine
		nA        = 3 * perEngine
		nB        = 30
		workers   = 4
		killAt    = 6
		victim    = "fleet-child"
		lease     = 3 * time.Second
		// boundB is the most any of B's deliveries may take, from its
		// OnTicketChange to its receipt; the claims and the workers of the
		// survivors are its only waits.
		boundB = 2 * time.Second
	)
	rcvA := newHookReceiver(t, 100*time.Millisecond, true)
	var mu sync.Mutex
	arrivedB := map[int]time.Time{}
	rcvB := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var p struct{ Id int }
		_ = json.NewDecoder(r.Body).Decode(&p)
		mu.Lock()
		if _, ok := arrivedB[p.Id]; !ok {
			arrivedB[p.Id] = time.Now()
		}
		mu.Unlock()
	}))
	t.Cleanup(rcvB.Close)

	c := startChild(t, childConfig{
		Backend: db.b.name, DSN: db.dsn, Prefix: db.prefix, URL: rcvA.URL, Tenant: "a",
		FirstTicket: 1, Count: perEngine, Workers: workers, Lease: lease, Owner: victim,
	})
	rcvA.setOnArrive(func(engine string, k int) {
		if engine == victim && k == killAt {
			c.kill()
		}
	})
	triggers := tenantTriggers(t, map[string]string{"a": rcvA.URL, "b": rcvB.URL})
	var survivors []*tickethooks.Engine
	for i := range 2 {
		owner := fmt.Sprintf("fleet-%d", i)
		e, _ := newEngine(t, tickethooks.Config{
			MultiTenant: true, Triggers: triggers,
			Log:     db.log(t, db.open(t)),
			Sender:  taggedSender{tag: owner, next: loopbackSender()},
			Workers: workers, Lease: 30 * time.Second, Owner: owner,
		})
		survivors = append(survivors, e)
	}
	c.waitFired(t)
	rcvA.openGate()
	ctx := context.Background()
	for k, e := range survivors {
		for id := range perEngine {
			before, after := resolving(perEngine*(k+1) + id + 1)
			if err := e.OnTicketChange(ctx, before, after, tickethooks.WithTenant("a")); err != nil {
				t.Fatal(err)
			}
		}
	}
	c.waitKilled(t)

	// B fires while A's backlog drains: about 4 s at 100 ms a delivery
	// and 2 in flight per survivor.
	firedB := map[int]time.Time{}
	for id := 1; id <= nB; id++ {
		time.Sleep(50 * time.Millisecond)
		before, after := resolving(id)
		firedB[id] = time.Now()
		if err := survivors[id%2].OnTicketChange(ctx, before, after, tickethooks.WithTenant("b")); err != nil {
			t.Fatal(err)
		}
	}
	l := db.log(t, db.admin)
	entries := waitSettled(t, l, nA+nB)
	var lat []time.Duration
	mu.Lock()
	for id, at := range firedB {
		got, ok := arrivedB[id]
		if !ok {
			t.Errorf("B's ticket %d never reached B's receiver", id)
			continue
		}
		lat = append(lat, got.Sub(at))
	}
	mu.Unlock()
	slices.Sort(lat)
	if len(lat) > 0 && lat[len(lat)-1] > boundB {
		t.Errorf("B's slowest delivery took %v, want at most %v (all: %v)", lat[len(lat)-1], boundB, lat)
	}
	for _, en := range entries {
		if en.Status != executionlog.StatusSucceeded {
			t.Errorf("entry %s of tenant %q (ticket %d) is %s", en.ID, en.Tenant, en.TicketID, en.Status)
		}
	}
	// The killed engine can have sent at most its workers' deliveries
	// twice.
	total, distinct, duplicates, byEngine := checkAfterKill(t, rcvA, nA, workers, workers, "the killed engine had in flight")
	if len(lat) > 0 {
		t.Logf("%s: A: %d firings, %d requests for %d webhook-ids (%d duplicates), per engine %v; B: p50 %v, p99 %v, max %v",
			db.b.name, nA, total, distinct, duplicates, byEngine, lat[len(lat)/2], lat[len(lat)*99/100], lat[len(lat)-1])
	}
}
