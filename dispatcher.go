package tickethooks

import (
	"container/heap"
	"context"
	"errors"
	"log/slog"
	"sync"
	"time"

	"github.com/tickethooks/tickethooks/executionlog"
)

// dispatcher claims due entries from the log and hands them to the
// engine's workers, one worker slot per delivery in flight. It wakes when
// nudged (new entries, a delivery ended), when a retry it was told of
// falls due, and every poll interval for entries other engines left.
//
// On a tenant engine it serves tenants fairly: its claims take at most
// window entries of any one tenant, so that one tenant's backlog is never
// claimed ahead of another tenant's due entry. With a per-tenant limit
// (TenantPolicy.MaxInFlight) it also holds at most that many entries of
// one tenant at once, claimed ahead or in flight, and its claims skip the
// tenants at the limit, so that one tenant never takes every worker.
//
// run is its one goroutine; nudge, finish and putBack are safe for
// concurrent use by the workers and the engine's calls.
type dispatcher struct {
	log       executionlog.Log
	owner     string
	lease     time.Duration
	poll      time.Duration
	now       func() time.Time // in the log's precision
	logger    *slog.Logger
	perTenant int             // most entries held per tenant; 0: no limit
	window    int             // most entries of one tenant per claim, perTenant if set; 0: no limit
	closing   <-chan struct{} // closed when the engine stops claiming
	runCtx    context.Context // cancelled when Close gives up waiting

	wake  chan struct{}           // nudges run
	slots chan struct{}           // one token per delivery in flight
	work  chan executionlog.Entry // claimed entries for the workers; closed by run

	mu       sync.Mutex
	retryAt  timeHeap        // due times of retries of this engine's deliveries
	inflight map[string]bool // ids of the entries claimed and not yet done
	renewed  map[string]bool // ids claimed again while in flight
	held     map[string]int  // with window: entries held per tenant, claimed ahead or running
	running  map[string]int  // with perTenant: deliveries running per tenant

	// Owned by run.
	ready     []claimed // claimed ahead of free workers, in claim order
	claimedAt time.Time // the time of the last claim
}

// claimed is an entry claimed ahead of a free worker.
type claimed struct {
	entry executionlog.Entry
	at    time.Time
}

// newDispatcher returns a dispatcher for workers workers. Its run stops
// when closing is closed, and its log calls end when runCtx ends.
func newDispatcher(log executionlog.Log, owner string, lease, poll time.Duration, workers, perTenant, window int,
	now func() time.Time, logger *slog.Logger, closing <-chan struct{}, runCtx context.Context) *dispatcher {
	return &dispatcher{
		log: log, owner: owner, lease: lease, poll: poll, now: now, logger: logger,
		perTenant: perTenant, window: window, closing: closing, runCtx: runCtx,
		wake:     make(chan struct{}, 1),
		slots:    make(chan struct{}, workers),
		work:     make(chan executionlog.Entry, workers),
		inflight: map[string]bool{},
		renewed:  map[string]bool{},
		held:     map[string]int{},
		running:  map[string]int{},
	}
}

// run claims due entries whenever a worker slot is free until closing is
// closed, then gives back the entries claimed ahead and closes d.work,
// which ends the workers once their deliveries are done.
func (d *dispatcher) run() {
	defer close(d.work)
	timer := time.NewTimer(0)
	defer timer.Stop()
	for {
		select {
		case <-d.closing:
			d.releaseReady()
			return
		case <-d.wake:
		case <-timer.C:
		}
		d.claimDue()
		timer.Reset(d.nextWake())
	}
}

// claimDue starts deliveries on every free worker slot: first the entries
// claimed ahead, then new claims. Each claim asks for a worker pool's
// worth of entries beyond the free slots, so that workers freed one at a
// time are fed without a query each (claims of one or two entries were
// most of the SQL logs' cost: with claims limited to the free slots, the
// SQLite log with 8 workers delivered about 30% less; see BENCHMARKS.md).
func (d *dispatcher) claimDue() {
	for again := false; ; again = true {
		before := cap(d.slots) - len(d.slots)
		d.startReady()
		// Entries left in d.ready wait for a free slot, or for their
		// tenant to have fewer than perTenant running.
		free := cap(d.slots) - len(d.slots)
		if free <= 0 || again && free == before {
			// No slot, or the last claim's entries all wait for their
			// tenants' turns (more tenants at their limit than a claim
			// skips): claim again when a delivery ends.
			return
		}
		select {
		case <-d.closing:
			return
		default:
		}
		limit := max(free, free+cap(d.slots)-len(d.ready))
		now := d.now()
		d.claimedAt = now
		c := executionlog.Claim{Owner: d.owner, Now: now, Lease: d.lease, Limit: limit, SkipTenants: d.fullTenants()}
		if d.window > 0 && (d.perTenant == 0 || len(c.SkipTenants) > 0) {
			// A share per tenant costs a SQL log's claim about twice
			// as much: with a limit in flight it is asked for only
			// once a tenant holds its limit, a sign of a backlog. The
			// first claim of a backlog may take more than the share:
			// those entries wait for their tenant's turn, and the
			// tenant is skipped from then on.
			c.PerTenant = d.window
		}
		entries, err := d.log.Claim(d.runCtx, c)
		if err == nil && len(entries) == 0 && len(c.SkipTenants) > 0 && d.perTenant == 0 {
			// Without a limit in flight, the tenants skipped for
			// fairness get the free workers when no one else is due.
			c.SkipTenants = nil
			entries, err = d.log.Claim(d.runCtx, c)
		}
		if err != nil {
			if d.runCtx.Err() == nil {
				d.logger.LogAttrs(d.runCtx, slog.LevelError, "tickethooks: claiming due deliveries failed",
					slog.String("error", err.Error()))
			}
			return
		}
		for _, en := range entries {
			d.mu.Lock()
			running := d.inflight[en.ID]
			if running {
				d.renewed[en.ID] = true
			} else {
				d.inflight[en.ID] = true
				if d.window > 0 {
					d.held[en.Tenant]++
				}
			}
			d.mu.Unlock()
			if running {
				// The lease ran out while this engine's own attempt is
				// still going (or the entry waits in d.ready), or the
				// attempt just recorded its outcome: the claim only
				// renewed the lease. The delivery gives the entry back
				// when it ends.
				continue
			}
			d.ready = append(d.ready, claimed{entry: en, at: now})
		}
		if len(entries) < limit {
			d.startReady()
			return
		}
	}
}

// startReady starts the entries claimed ahead, in claim order, while
// worker slots are free, passing over the entries of tenants with
// perTenant deliveries running. An entry that waited past half its lease
// is released instead, so that it is never delivered after another engine
// could have taken it over.
func (d *dispatcher) startReady() {
	kept := d.ready[:0] // the entries that wait, in order; shares d.ready's array
	for i, c := range d.ready {
		if len(d.slots) == cap(d.slots) {
			kept = append(kept, d.ready[i:]...)
			break
		}
		if d.now().Sub(c.at) > d.lease/2 {
			d.dropReady(c.entry)
			continue
		}
		if d.perTenant > 0 && !d.startTenant(c.entry.Tenant) {
			kept = append(kept, c)
			continue
		}
		d.slots <- struct{}{}
		d.work <- c.entry // never blocks: it has room for every slot
	}
	clear(d.ready[len(kept):])
	d.ready = kept
}

// startTenant counts a delivery of tenant as running and reports true,
// or reports false when tenant has perTenant deliveries running.
func (d *dispatcher) startTenant(tenant string) bool {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.running[tenant] >= d.perTenant {
		return false
	}
	d.running[tenant]++
	return true
}

// fullTenants returns the tenants for the claim to skip (at most
// executionlog.MaxSkipTenants of them): the tenants holding window
// entries or more, claimed ahead or running (window is perTenant when
// there is a limit in flight). A SQL log's claim with a share per tenant
// looks only at the oldest due entries, so without the skip they could
// all be one backlog's, claimed share by share, and another tenant's due
// entry would wait behind it.
func (d *dispatcher) fullTenants() []string {
	if d.window == 0 {
		return nil
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	var full []string
	for t, n := range d.held {
		if len(full) == executionlog.MaxSkipTenants {
			break
		}
		if n >= d.window {
			full = append(full, t)
		}
	}
	return full
}

// forgetTenant uncounts an entry of tenant that this engine no longer
// holds, and a delivery of it that ended when running is set. The caller
// holds d.mu.
func (d *dispatcher) forgetTenant(tenant string, running bool) {
	if d.window == 0 {
		return
	}
	if d.held[tenant]--; d.held[tenant] <= 0 {
		delete(d.held, tenant)
	}
	if running && d.perTenant > 0 {
		if d.running[tenant]--; d.running[tenant] <= 0 {
			delete(d.running, tenant)
		}
	}
}

// releaseReady gives the entries claimed ahead back to the log when the
// engine stops.
func (d *dispatcher) releaseReady() {
	for _, c := range d.ready {
		d.dropReady(c.entry)
	}
	d.ready = nil
}

// dropReady puts an entry claimed ahead back in the log, due now, and
// forgets it.
func (d *dispatcher) dropReady(en executionlog.Entry) {
	d.putBack(en, d.now(), "")
	d.mu.Lock()
	delete(d.inflight, en.ID)
	d.forgetTenant(en.Tenant, false)
	d.mu.Unlock()
}

// nextWake returns how long run may sleep: until the earliest retry it was
// told of, or the poll interval, whichever is sooner. A retry that fell
// due after the last claim asked for due entries wakes run at once, for
// another claim.
func (d *dispatcher) nextWake() time.Duration {
	now := d.now()
	d.mu.Lock()
	defer d.mu.Unlock()
	due := false
	for len(d.retryAt) > 0 && !d.retryAt[0].After(now) {
		due = due || d.retryAt[0].After(d.claimedAt)
		heap.Pop(&d.retryAt)
	}
	if due {
		return 0
	}
	if len(d.retryAt) > 0 {
		if w := d.retryAt[0].Sub(now); w < d.poll {
			return w
		}
	}
	return d.poll
}

// nudge wakes run without blocking.
func (d *dispatcher) nudge() {
	select {
	case d.wake <- struct{}{}:
	default:
	}
}

// finish ends the delivery of en, which a worker received from d.work:
// it forgets the entry, notes when the entry is due again (pendingAt,
// zero if it is not pending) so that run wakes then, frees the worker
// slot and nudges run. When the log renewed the claim while the delivery
// was ending, the entry is given back, due at pendingAt, so that it is
// not held until that lease ends.
func (d *dispatcher) finish(en executionlog.Entry, pendingAt time.Time) {
	d.mu.Lock()
	delete(d.inflight, en.ID)
	d.forgetTenant(en.Tenant, true)
	renewed := d.renewed[en.ID]
	delete(d.renewed, en.ID)
	if !pendingAt.IsZero() {
		heap.Push(&d.retryAt, pendingAt)
	}
	d.mu.Unlock()
	if renewed && !pendingAt.IsZero() {
		d.putBack(en, pendingAt, "")
	}
	<-d.slots
	d.nudge()
}

// putBack returns an entry this engine holds to the log, pending and due
// at, with no attempt counted; note says why it waits, if not for a retry.
// The lease may already be gone (a renewed claim that the attempt's own
// update released), so a lost lease is not reported.
func (d *dispatcher) putBack(en executionlog.Entry, at time.Time, note string) {
	ctx, cancel := context.WithTimeout(context.Background(), logWriteTimeout)
	defer cancel()
	err := d.log.Update(ctx, executionlog.Update{ID: en.ID, Owner: d.owner, Status: executionlog.StatusPending,
		NextAttemptAt: at, Note: note, Now: d.now()})
	attrs := entryAttrs(&en, slog.Time("next_attempt_at", at))
	switch {
	case err == nil:
		if note != "" {
			attrs = append(attrs, slog.String("note", note))
		}
		d.logger.LogAttrs(ctx, slog.LevelDebug, "tickethooks: delivery put back", attrs...)
	case !errors.Is(err, executionlog.ErrLeaseLost) && !errors.Is(err, executionlog.ErrNotFound):
		// Lost leases belong to others now; entries not found were
		// deleted (Engine.Delete): neither is a failure.
		d.logger.LogAttrs(ctx, slog.LevelError, "tickethooks: putting a delivery back failed; it is due again when its lease ends",
			append(attrs, slog.String("log_error", err.Error()))...)
	}
}

// logWriteTimeout bounds the log writes the engine makes on its own
// account (outcomes, put-backs, test sends), which must be made even when
// the context that led to them has ended, and must not hang.
const logWriteTimeout = 10 * time.Second

// timeHeap is a min-heap of times.
type timeHeap []time.Time

func (h timeHeap) Len() int           { return len(h) }
func (h timeHeap) Less(i, j int) bool { return h[i].Before(h[j]) }
func (h timeHeap) Swap(i, j int)      { h[i], h[j] = h[j], h[i] }
func (h *timeHeap) Push(x any)        { *h = append(*h, x.(time.Time)) }
func (h *timeHeap) Pop() any {
	old := *h
	t := old[len(old)-1]
	*h = old[:len(old)-1]
	return t
}
