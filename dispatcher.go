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
// run is its one goroutine; nudge, finish and putBack are safe for
// concurrent use by the workers and the engine's calls.
type dispatcher struct {
	log     executionlog.Log
	owner   string
	lease   time.Duration
	poll    time.Duration
	now     func() time.Time // in the log's precision
	logger  *slog.Logger
	closing <-chan struct{} // closed when the engine stops claiming
	runCtx  context.Context // cancelled when Close gives up waiting

	wake  chan struct{}           // nudges run
	slots chan struct{}           // one token per delivery in flight
	work  chan executionlog.Entry // claimed entries for the workers; closed by run

	mu       sync.Mutex
	retryAt  timeHeap        // due times of retries of this engine's deliveries
	inflight map[string]bool // ids of the entries claimed and not yet done
	renewed  map[string]bool // ids claimed again while in flight

	// Owned by run.
	ready     []claimed // claimed ahead of free workers
	readyNext int       // index in ready of the next entry to start
	claimedAt time.Time // the time of the last claim
}

// claimed is an entry claimed ahead of a free worker.
type claimed struct {
	entry executionlog.Entry
	at    time.Time
}

// newDispatcher returns a dispatcher for workers workers. Its run stops
// when closing is closed, and its log calls end when runCtx ends.
func newDispatcher(log executionlog.Log, owner string, lease, poll time.Duration, workers int,
	now func() time.Time, logger *slog.Logger, closing <-chan struct{}, runCtx context.Context) *dispatcher {
	return &dispatcher{
		log: log, owner: owner, lease: lease, poll: poll, now: now, logger: logger,
		closing: closing, runCtx: runCtx,
		wake:     make(chan struct{}, 1),
		slots:    make(chan struct{}, workers),
		work:     make(chan executionlog.Entry, workers),
		inflight: map[string]bool{},
		renewed:  map[string]bool{},
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
	for {
		d.startReady()
		free := cap(d.slots) - len(d.slots)
		if free <= 0 || d.readyNext < len(d.ready) {
			return
		}
		select {
		case <-d.closing:
			return
		default:
		}
		limit := free + cap(d.slots)
		now := d.now()
		d.claimedAt = now
		entries, err := d.log.Claim(d.runCtx, executionlog.Claim{
			Owner: d.owner, Now: now, Lease: d.lease, Limit: limit,
		})
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

// startReady starts the entries claimed ahead while worker slots are free.
// An entry that waited past half its lease is released instead, so that it
// is never delivered after another engine could have taken it over.
func (d *dispatcher) startReady() {
	for d.readyNext < len(d.ready) && len(d.slots) < cap(d.slots) {
		c := d.ready[d.readyNext]
		d.ready[d.readyNext] = claimed{}
		d.readyNext++
		if d.now().Sub(c.at) > d.lease/2 {
			d.dropReady(c.entry)
			continue
		}
		d.slots <- struct{}{}
		d.work <- c.entry // never blocks: it has room for every slot
	}
	if d.readyNext == len(d.ready) {
		// All started: reuse the array for the next claims.
		d.ready, d.readyNext = d.ready[:0], 0
	}
}

// releaseReady gives the entries claimed ahead back to the log when the
// engine stops.
func (d *dispatcher) releaseReady() {
	for _, c := range d.ready[d.readyNext:] {
		d.dropReady(c.entry)
	}
	d.ready, d.readyNext = nil, 0
}

// dropReady puts an entry claimed ahead back in the log, due now, and
// forgets it.
func (d *dispatcher) dropReady(en executionlog.Entry) {
	d.putBack(en, d.now(), "")
	d.mu.Lock()
	delete(d.inflight, en.ID)
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
	case !errors.Is(err, executionlog.ErrLeaseLost):
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
