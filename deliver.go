package tickethooks

import (
	"container/heap"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/tickethooks/tickethooks/executionlog"
	"github.com/tickethooks/tickethooks/trigger"
	"github.com/tickethooks/tickethooks/webhook"
)

// dispatch claims due entries from the log whenever a worker slot is free,
// and hands each claimed entry to a worker. It wakes when nudged
// (new entries, a delivery ended), when a retry it scheduled falls due, and
// every PollInterval for entries other engines left. When it stops it
// closes e.work, which ends the workers once their deliveries are done.
func (e *Engine) dispatch() {
	defer e.deliveries.Done()
	defer close(e.work)
	timer := time.NewTimer(0)
	defer timer.Stop()
	for {
		select {
		case <-e.closing:
			e.releaseReady()
			return
		case <-e.wake:
		case <-timer.C:
		}
		e.claimDue()
		timer.Reset(e.nextWake())
	}
}

// claimed is an entry claimed ahead of a free worker.
type claimed struct {
	entry executionlog.Entry
	at    time.Time
}

// claimDue starts deliveries on every free worker slot: first the entries
// claimed ahead, then new claims. Each claim asks for a worker pool's
// worth of entries beyond the free slots, so that workers freed one at a
// time are fed without a query each (claims of one or two entries were
// most of the SQL logs' cost).
func (e *Engine) claimDue() {
	for {
		e.startReady()
		free := cap(e.slots) - len(e.slots)
		if free <= 0 || e.readyNext < len(e.ready) {
			return
		}
		select {
		case <-e.closing:
			return
		default:
		}
		limit := free + cap(e.slots)
		now := e.now()
		e.claimedAt = now
		entries, err := e.log.Claim(e.runCtx, executionlog.Claim{
			Owner: e.owner, Now: now, Lease: e.lease, Limit: limit,
		})
		if err != nil {
			if e.runCtx.Err() == nil {
				e.logger.LogAttrs(e.runCtx, slog.LevelError, "tickethooks: claiming due deliveries failed",
					slog.String("error", err.Error()))
			}
			return
		}
		for _, en := range entries {
			e.mu.Lock()
			running := e.inflight[en.ID]
			if running {
				e.renewed[en.ID] = true
			} else {
				e.inflight[en.ID] = true
			}
			e.mu.Unlock()
			if running {
				// The lease ran out while this engine's own attempt is
				// still going (or the entry waits in e.ready), or the
				// attempt just recorded its outcome: the claim only
				// renewed the lease. The delivery gives the entry back
				// when it ends.
				continue
			}
			e.ready = append(e.ready, claimed{entry: en, at: now})
		}
		if len(entries) < limit {
			e.startReady()
			return
		}
	}
}

// startReady starts the entries claimed ahead while worker slots are free.
// An entry that waited past half its lease is released instead, so that it
// is never delivered after another engine could have taken it over.
func (e *Engine) startReady() {
	for e.readyNext < len(e.ready) && len(e.slots) < cap(e.slots) {
		c := e.ready[e.readyNext]
		e.ready[e.readyNext] = claimed{}
		e.readyNext++
		if e.now().Sub(c.at) > e.lease/2 {
			e.dropReady(c.entry)
			continue
		}
		e.slots <- struct{}{}
		e.work <- c.entry // never blocks: it has room for every slot
	}
	if e.readyNext == len(e.ready) {
		// All started: reuse the array for the next claims.
		e.ready, e.readyNext = e.ready[:0], 0
	}
}

// releaseReady gives the entries claimed ahead back to the log when the
// engine stops.
func (e *Engine) releaseReady() {
	for _, c := range e.ready[e.readyNext:] {
		e.dropReady(c.entry)
	}
	e.ready, e.readyNext = nil, 0
}

// dropReady puts an entry claimed ahead back in the log, due now, and
// forgets it.
func (e *Engine) dropReady(en executionlog.Entry) {
	e.putBack(en, e.now(), "")
	e.mu.Lock()
	delete(e.inflight, en.ID)
	e.mu.Unlock()
}

// nextWake returns how long the dispatcher may sleep: until the earliest
// retry this engine scheduled, or PollInterval, whichever is sooner. A
// retry that fell due after the last claim asked for due entries wakes
// the dispatcher at once, for another claim.
func (e *Engine) nextWake() time.Duration {
	now := e.now()
	e.mu.Lock()
	defer e.mu.Unlock()
	due := false
	for len(e.retryAt) > 0 && !e.retryAt[0].After(now) {
		due = due || e.retryAt[0].After(e.claimedAt)
		heap.Pop(&e.retryAt)
	}
	if due {
		return 0
	}
	if len(e.retryAt) > 0 {
		if d := e.retryAt[0].Sub(now); d < e.poll {
			return d
		}
	}
	return e.poll
}

// nudge wakes the dispatcher without blocking.
func (e *Engine) nudge() {
	select {
	case e.wake <- struct{}{}:
	default:
	}
}

// worker delivers the entries the dispatcher starts until the dispatcher
// stops. Workers live as long as the engine, so a delivery
// starts on a goroutine whose stack has already grown.
func (e *Engine) worker() {
	defer e.deliveries.Done()
	for en := range e.work {
		e.deliver(en)
	}
}

// deliver makes one attempt at a claimed entry and records its outcome.
func (e *Engine) deliver(en executionlog.Entry) {
	var pendingAt time.Time // when the entry is due again, if it stays pending
	defer func() {
		e.mu.Lock()
		delete(e.inflight, en.ID)
		renewed := e.renewed[en.ID]
		delete(e.renewed, en.ID)
		e.madeRoomLocked()
		if !pendingAt.IsZero() {
			heap.Push(&e.retryAt, pendingAt) // wake the dispatcher when it is due
		}
		e.mu.Unlock()
		if renewed && !pendingAt.IsZero() {
			// The dispatcher claimed the entry again while this attempt
			// was ending: give it back so that it is due on time, not
			// when that lease ends.
			e.putBack(en, pendingAt, "")
		}
		<-e.slots
		e.nudge()
	}()
	ctx := e.runCtx
	number := len(en.Attempts) + 1
	attrs := entryAttrs(&en, slog.Int("attempt", number))

	started := e.now()
	req, err := e.request(ctx, en, number)
	var resp *webhook.Response
	var events []DestinationEvent
	if err == nil {
		key := destinationKey(req.URL)
		retryAt, note, ok := e.dests.acquire(key, started)
		if !ok {
			// The destination is paused or busy: wait, with no attempt
			// counted.
			pendingAt = retryAt
			e.putBack(en, pendingAt, note)
			return
		}
		sctx, span := e.tel.startAttempt(ctx, en, &httpRequestInfo{url: req.URL, attempt: number, header: req.Header})
		resp, err = e.sender.Send(sctx, req)
		if err == nil && resp == nil {
			err = errNoResponse
		}
		e.tel.endAttempt(sctx, span, resp, err)
		o := webhook.Classify(resp, err)
		if err != nil && ctx.Err() != nil {
			o = webhook.NotSent
		}
		events = e.dests.release(key, o, gone(resp, err), e.now())
	}
	if err != nil && ctx.Err() != nil {
		// The engine is stopping, gave up waiting, and cut the attempt
		// short: leave the entry pending, with no attempt counted, for the
		// next engine. An attempt that got its answer is recorded.
		pendingAt = e.now()
		e.putBack(en, pendingAt, "")
		return
	}
	u := e.outcome(number, number-en.SeriesStart, started, resp, err)
	if u.Status == executionlog.StatusPending {
		pendingAt = u.NextAttemptAt
	}
	if e.update(en, u, attrs) && u.Status != executionlog.StatusPending {
		e.tel.ended(ctx, u.Status)
	}
	for _, ev := range events {
		ev.TriggerID, ev.EntryID = en.TriggerID, en.ID
		e.logger.LogAttrs(context.Background(), slog.LevelWarn, "tickethooks: destination "+ev.Kind.String(),
			slog.String("destination", ev.Destination), slog.String("trigger_id", en.TriggerID),
			slog.Int("consecutive_failures", ev.ConsecutiveFailures))
		if e.onDestination != nil {
			e.onDestination(ev)
		}
	}
}

// request builds attempt number of en. The webhook action's URL, headers
// and secrets are read from the trigger source at each attempt, so that
// secrets never need to be stored in the log.
func (e *Engine) request(ctx context.Context, en executionlog.Entry, number int) (*webhook.Request, error) {
	if packetCut(&en) {
		return nil, &permanentError{"the log holds only an excerpt of this oversize ticket packet; not sent"}
	}
	if len(en.RequestBody) > e.maxBody {
		return nil, &permanentError{fmt.Sprintf("ticket packet of %d bytes exceeds the %d-byte limit; not sent", len(en.RequestBody), e.maxBody)}
	}
	t, err := e.triggers.Trigger(ctx, en.TriggerID)
	if errors.Is(err, trigger.ErrNotFound) {
		return nil, &permanentError{fmt.Sprintf("trigger %q no longer exists; delivery abandoned", en.TriggerID)}
	}
	if err != nil {
		return nil, fmt.Errorf("loading trigger %q: %w", en.TriggerID, err)
	}
	if en.ActionIndex < 0 || en.ActionIndex >= len(t.Actions) || t.Actions[en.ActionIndex].Type != trigger.ActionWebhook {
		return nil, &permanentError{fmt.Sprintf("trigger %q no longer has a webhook action at position %d; delivery abandoned", en.TriggerID, en.ActionIndex)}
	}
	// The request goes to the action's real URL: the log keeps it with
	// its secrets redacted.
	return webhookRequest(en.ID, t.Actions[en.ActionIndex], en.RequestBody, number), nil
}

// update writes the outcome of an attempt and reports whether the log took
// it. It uses contexts of its own so that the outcome of an attempt that
// ended as the engine stops is still recorded.
func (e *Engine) update(en executionlog.Entry, u executionlog.Update, attrs []slog.Attr) bool {
	u.ID, u.Owner = en.ID, e.owner
	err := e.writeOutcome(en, &u, attrs)
	level, msg := slog.LevelInfo, "tickethooks: webhook delivered"
	switch {
	case errors.Is(err, executionlog.ErrLeaseLost):
		level, msg = slog.LevelWarn, "tickethooks: lease expired during the attempt; another engine owns the delivery"
	case err != nil:
		level, msg = slog.LevelError, "tickethooks: recording the attempt failed; the delivery will be retried when its lease expires"
		attrs = append(attrs, slog.String("log_error", err.Error()))
	case u.Status == executionlog.StatusPending:
		level, msg = slog.LevelWarn, "tickethooks: webhook attempt failed; will retry"
		attrs = append(attrs, slog.Time("next_attempt_at", u.NextAttemptAt))
	case u.Status == executionlog.StatusFailed:
		level, msg = slog.LevelError, "tickethooks: webhook delivery failed"
	}
	if a := u.Attempt; a != nil {
		attrs = append(attrs, slog.Int("status", a.StatusCode), slog.Duration("duration", a.Duration))
		if a.Error != "" {
			attrs = append(attrs, slog.String("error", a.Error))
		}
	}
	e.logger.LogAttrs(context.Background(), level, msg, attrs...)
	return err == nil
}

// writeOutcome writes u, the outcome of an attempt this engine made. A
// write that fails (the database is down or restarting) is tried again,
// backing off up to outcomeRetryMax between tries, for as long as the
// engine runs or, once Close has begun, until the entry's lease ends:
// while this engine holds the entry, no engine sends it again, so a short
// outage costs no second request to the receiver. It gives up at once on
// ErrLeaseLost and ErrNotFound, which no retry mends, and when Close gives
// up waiting.
//
// When the lease was lost meanwhile (the outage outlasted it and another
// engine took the entry over), the attempt, which may have reached the
// receiver, is still recorded, by a log that can (AttemptRecorder).
func (e *Engine) writeOutcome(en executionlog.Entry, u *executionlog.Update, attrs []slog.Attr) error {
	err := e.retryWrite(en, attrs, func(ctx context.Context) error {
		u.Now = e.now()
		return e.log.Update(ctx, *u)
	})
	if !errors.Is(err, executionlog.ErrLeaseLost) || u.Attempt == nil {
		return err
	}
	if r, ok := e.log.(executionlog.AttemptRecorder); ok {
		lateErr := e.retryWrite(en, attrs, func(ctx context.Context) error {
			return r.RecordAttempt(ctx, en.ID, *u.Attempt, e.now())
		})
		if lateErr != nil {
			e.logger.LogAttrs(context.Background(), slog.LevelError, "tickethooks: recording an attempt made under a lost lease failed",
				append(attrs, slog.String("log_error", lateErr.Error()))...)
		}
	}
	return err
}

// retryWrite runs write, a log write about en, until it succeeds or fails
// with ErrLeaseLost or ErrNotFound, trying again after other errors as
// writeOutcome says.
func (e *Engine) retryWrite(en executionlog.Entry, attrs []slog.Attr, write func(context.Context) error) error {
	wait := outcomeRetryMin
	for failures := 0; ; failures++ {
		ctx, cancel := context.WithTimeout(context.Background(), logWriteTimeout)
		err := write(ctx)
		cancel()
		if err == nil || errors.Is(err, executionlog.ErrLeaseLost) || errors.Is(err, executionlog.ErrNotFound) {
			if failures > 0 && err == nil {
				e.logger.LogAttrs(context.Background(), slog.LevelInfo, "tickethooks: recorded the attempt after the log recovered",
					append(attrs, slog.Int("failed_writes", failures))...)
			}
			return err
		}
		if failures == 0 {
			e.logger.LogAttrs(context.Background(), slog.LevelWarn, "tickethooks: recording the attempt failed; retrying",
				append(attrs, slog.String("log_error", err.Error()))...)
		}
		select {
		case <-e.closing:
			if !e.now().Before(en.LeaseUntil) {
				return err
			}
		default:
		}
		timer := time.NewTimer(wait)
		select {
		case <-e.runCtx.Done():
			timer.Stop()
			return err
		case <-timer.C:
		}
		wait = min(2*wait, outcomeRetryMax)
	}
}

// The waits between tries at writing an attempt's outcome.
const (
	outcomeRetryMin = 50 * time.Millisecond
	outcomeRetryMax = 2 * time.Second
)

// logWriteTimeout bounds the log writes the engine makes on its own
// account (outcomes, put-backs, test sends), which must be made even when
// the context that led to them has ended, and must not hang.
const logWriteTimeout = 10 * time.Second

// entryAttrs returns the log line attributes that name en, then more.
func entryAttrs(en *executionlog.Entry, more ...slog.Attr) []slog.Attr {
	return append([]slog.Attr{slog.String("entry_id", en.ID), slog.String("trigger_id", en.TriggerID),
		slog.Int("ticket_id", en.TicketID)}, more...)
}

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

// errNoResponse stands in for the answer of a Sender that broke its
// contract by returning neither a response nor an error.
var errNoResponse = errors.New("tickethooks: sender returned no response and no error")

// putBack returns an entry this engine holds to the log, pending and due
// at, with no attempt counted; note says why it waits, if not for a retry.
// The lease may already be gone (a renewed claim that the attempt's own
// update released), so a lost lease is not reported.
func (e *Engine) putBack(en executionlog.Entry, at time.Time, note string) {
	ctx, cancel := context.WithTimeout(context.Background(), logWriteTimeout)
	defer cancel()
	err := e.log.Update(ctx, executionlog.Update{ID: en.ID, Owner: e.owner, Status: executionlog.StatusPending,
		NextAttemptAt: at, Note: note, Now: e.now()})
	attrs := entryAttrs(&en, slog.Time("next_attempt_at", at))
	switch {
	case err == nil:
		if note != "" {
			attrs = append(attrs, slog.String("note", note))
		}
		e.logger.LogAttrs(ctx, slog.LevelDebug, "tickethooks: delivery put back", attrs...)
	case !errors.Is(err, executionlog.ErrLeaseLost):
		e.logger.LogAttrs(ctx, slog.LevelError, "tickethooks: putting a delivery back failed; it is due again when its lease ends",
			append(attrs, slog.String("log_error", err.Error()))...)
	}
}
