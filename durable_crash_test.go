package tickethooks_test

import (
	"fmt"
	"testing"
	"time"

	"github.com/tickethooks/tickethooks"
	"github.com/tickethooks/tickethooks/executionlog"
)

// TestDurableCrash kills an engine process with SIGKILL while deliveries
// are in flight, starts a new engine on the same database, and checks that
// every firing is delivered, every entry ends succeeded, and the only
// duplicates are the deliveries the dead engine had in flight.
func TestDurableCrash(t *testing.T) {
	t.Parallel()
	forEachBackend(t, allDurable, testCrash)
}

func testCrash(t *testing.T, db *durableDB) {
	const (
		n       = 60 // firings, one webhook each
		workers = 4  // the child's deliveries in flight at once
		killAt  = 12 // the child dies as this request arrives
		owner   = "crashing-engine"
		// lease must outlast the child's first requests, held until it
		// has fired everything, and is what the new engine waits for.
		lease = 3 * time.Second
	)
	// Every answer takes 30 ms, and the receiver holds the first requests
	// until all firings are recorded, so the child is killed mid-run with
	// deliveries in flight.
	rcv := newHookReceiver(t, 30*time.Millisecond, true)
	c := startChild(t, childConfig{
		Backend: db.b.name, DSN: db.dsn, Prefix: db.prefix, URL: rcv.URL,
		FirstTicket: 1, Count: n, Workers: workers, Lease: lease, Owner: owner,
	})
	started := time.Now()
	// At most `workers` requests arrive before the gate opens, so the hook
	// is in place before the killAt-th.
	rcv.setOnArrive(func(_ string, k int) {
		if k == killAt {
			c.kill()
		}
	})
	c.waitFired(t)
	firing := time.Since(started)
	rcv.openGate()
	c.waitKilled(t)

	// What the dead engine left: every firing recorded, some delivered,
	// the ones it had in flight still leased to it.
	l := db.log(t, db.open(t))
	left := allEntries(t, l)
	if len(left) != n {
		t.Fatalf("after the kill the log holds %d entries, want all %d firings", len(left), n)
	}
	leased, succeeded := 0, 0
	for _, en := range left {
		switch {
		case en.Status == executionlog.StatusSucceeded:
			succeeded++
		case en.LeaseOwner == owner:
			leased++
		}
	}
	arrivedAtKill, _, _, _ := rcv.counts()

	// A new engine on the same database takes over once the leases end.
	newEngine(t, tickethooks.Config{
		Triggers: durableTriggers(t, rcv.URL),
		Log:      l,
		Sender:   taggedSender{tag: "restarted-engine", next: loopbackSender()},
		Workers:  workers,
		Lease:    30 * time.Second,
		Owner:    "restarted-engine",
	})
	entries := waitSettled(t, l, n)
	checkAllSucceeded(t, entries, n, rcv.ids())
	for _, en := range entries {
		// An attempt cut short by the kill was never recorded: every
		// entry shows the one attempt that succeeded.
		if len(en.Attempts) != 1 {
			t.Errorf("entry %s (ticket %d) has %d attempts, want 1", en.ID, en.TicketID, len(en.Attempts))
		}
	}
	total, distinct, duplicates, _ := checkAfterKill(t, rcv, n, workers, leased,
		fmt.Sprintf("in flight at the kill at %s (the child fired in %v, its lease is %v)", c.killedAt.Format("15:04:05.000"), firing, lease))
	if distinct != n {
		t.Errorf("receiver saw %d webhook-ids, want %d", distinct, n)
	}
	t.Logf("%s: %d firings (child started and fired in %v); at the kill %d requests had arrived, %d entries succeeded, %d leased (in flight or claimed ahead); "+
		"after the restart %d requests for %d webhook-ids: %d duplicates",
		db.b.name, n, firing.Round(time.Millisecond), arrivedAtKill, succeeded, leased, total, distinct, duplicates)

}
