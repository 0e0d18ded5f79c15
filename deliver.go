package tickethooks

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/tickethooks/tickethooks/executionlog"
	"github.com/tickethooks/tickethooks/trigger"
	"github.com/tickethooks/tickethooks/webhook"
)

// worker delivers the entries the dispatcher starts until the dispatcher
// stops. Workers live as long as the engine, so a delivery
// starts on a goroutine whose stack has already grown.
func (e *Engine) worker() {
	defer e.deliveries.Done()
	for en := range e.disp.work {
		e.deliver(en)
	}
}

// deliver makes one attempt at a claimed entry and records its outcome.
func (e *Engine) deliver(en executionlog.Entry) {
	var pendingAt time.Time // when the entry is due again, if it stays pending
	defer func() {
		e.room.madeRoom()
		e.disp.finish(en, pendingAt)
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
		retryAt, note, ok := e.dests.acquire(en.Tenant, key, started)
		if !ok {
			// The destination is paused or busy: wait, with no attempt
			// counted.
			pendingAt = retryAt
			e.disp.putBack(en, pendingAt, note)
			return
		}
		sctx, span := e.tel.startAttempt(ctx, en, &httpRequestInfo{url: req.URL, attempt: number, header: req.Header})
		resp, err = e.sender.Send(sctx, req)
		if err == nil && resp == nil {
			err = errNoResponse
		}
		e.tel.endAttempt(sctx, en.Tenant, span, resp, err)
		o := webhook.Classify(resp, err)
		if err != nil && ctx.Err() != nil {
			o = webhook.NotSent
		}
		events = e.dests.release(en.Tenant, key, o, gone(resp, err), e.now())
	}
	if err != nil && ctx.Err() != nil {
		// The engine is stopping, gave up waiting, and cut the attempt
		// short: leave the entry pending, with no attempt counted, for the
		// next engine. An attempt that got its answer is recorded.
		pendingAt = e.now()
		e.disp.putBack(en, pendingAt, "")
		return
	}
	u := e.outcome(number, number-en.SeriesStart, started, resp, err)
	if u.Status == executionlog.StatusPending {
		pendingAt = u.NextAttemptAt
	}
	if e.update(en, u, attrs) && u.Status != executionlog.StatusPending {
		e.tel.ended(ctx, en.Tenant, u.Status)
	}
	for _, ev := range events {
		ev.TriggerID, ev.EntryID = en.TriggerID, en.ID
		e.logger.LogAttrs(context.Background(), slog.LevelWarn, "tickethooks: destination "+ev.Kind.String(),
			tenantAttrs(en.Tenant, slog.String("destination", ev.Destination), slog.String("trigger_id", en.TriggerID),
				slog.Int("consecutive_failures", ev.ConsecutiveFailures))...)
		if e.onDestination != nil {
			e.onDestination(ev)
		}
	}
}

// request builds attempt number of en. The webhook action's URL, method,
// headers and secrets are read from the trigger source at each attempt, so
// that secrets never need to be stored in the log; the body and its
// Content-Type are the entry's, so that they always match.
func (e *Engine) request(ctx context.Context, en executionlog.Entry, number int) (*webhook.Request, error) {
	if packetCut(&en) {
		return nil, &permanentError{"the log holds only an excerpt of this oversize ticket packet; not sent"}
	}
	if renderFailed(&en) {
		return nil, &permanentError{"the body template failed when the entry was recorded; there is no body to send"}
	}
	if len(en.RequestBody) > e.maxBody {
		return nil, &permanentError{fmt.Sprintf("ticket packet is %d bytes, over this engine's %d-byte limit (Config.MaxBodySize); not sent", len(en.RequestBody), e.maxBody)}
	}
	t, err := e.triggers.Trigger(ctx, en.Tenant, en.TriggerID)
	if errors.Is(err, trigger.ErrNotFound) {
		return nil, &permanentError{fmt.Sprintf("trigger %q no longer exists; delivery abandoned", en.TriggerID)}
	}
	if err != nil {
		return nil, fmt.Errorf("loading trigger %q: %w", en.TriggerID, err)
	}
	if t.Tenant != en.Tenant {
		// A source's mistake must not send one account's ticket with
		// another account's URL, headers or secrets.
		return nil, &permanentError{fmt.Sprintf("the trigger source returned trigger %q of another tenant; delivery abandoned", en.TriggerID)}
	}
	if en.ActionIndex < 0 || en.ActionIndex >= len(t.Actions) || t.Actions[en.ActionIndex].Type != trigger.ActionWebhook {
		return nil, &permanentError{fmt.Sprintf("trigger %q no longer has a webhook action at position %d; delivery abandoned", en.TriggerID, en.ActionIndex)}
	}
	// The request goes to the action's real URL: the log keeps it with
	// its secrets redacted.
	return webhookRequest(en.ID, t.Actions[en.ActionIndex], en.RequestBody, loggedContentType(&en), number), nil
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
	case errors.Is(err, executionlog.ErrNotFound):
		level, msg = slog.LevelWarn, "tickethooks: entry deleted during the attempt; its outcome is not recorded"
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
// backing off up to outcomeRetryMax between tries, until the entry's lease
// ends: while this engine holds the entry, no engine sends it again, so a
// short outage costs no second request to the receiver. It gives up at
// once on ErrLeaseLost and ErrNotFound, which no retry mends, and when
// Close gives up waiting.
//
// When the lease is gone (the outage outlasted it, and another engine may
// have taken the entry over), the attempt, which may have reached the
// receiver, is still recorded by a log that can (AttemptRecorder), for
// up to one more lease. A write whose outcome was unknown (a commit whose
// answer was lost) may have been applied: the entry is read first, so that
// the attempt is never recorded twice.
func (e *Engine) writeOutcome(en executionlog.Entry, u *executionlog.Update, attrs []slog.Attr) error {
	failed := false
	err := e.retryWrite(en.LeaseUntil, attrs, func(ctx context.Context) error {
		u.Now = e.now()
		err := e.log.Update(ctx, *u)
		failed = failed || (err != nil && !errors.Is(err, executionlog.ErrLeaseLost) && !errors.Is(err, executionlog.ErrNotFound))
		return err
	})
	if err == nil || u.Attempt == nil || errors.Is(err, executionlog.ErrNotFound) {
		return err
	}
	if failed && e.recorded(en.ID, *u.Attempt) {
		return nil // an earlier write was applied after all
	}
	if r, ok := e.log.(executionlog.AttemptRecorder); ok {
		lateFailed := false
		lateErr := e.retryWrite(en.LeaseUntil.Add(e.lease), attrs, func(ctx context.Context) error {
			if lateFailed && e.recorded(en.ID, *u.Attempt) {
				return nil
			}
			err := r.RecordAttempt(ctx, en.ID, *u.Attempt, e.now())
			lateFailed = err != nil
			return err
		})
		if lateErr != nil {
			e.logger.LogAttrs(context.Background(), slog.LevelError, "tickethooks: recording an attempt made under a lost lease failed",
				append(attrs, slog.String("log_error", lateErr.Error()))...)
		}
	}
	return err
}

// recorded reports whether the entry id holds attempt a already, as
// written by a write whose answer was lost.
func (e *Engine) recorded(id string, a executionlog.Attempt) bool {
	ctx, cancel := context.WithTimeout(context.Background(), logWriteTimeout)
	defer cancel()
	en, err := e.log.Get(ctx, executionlog.AllTenants, id)
	if err != nil {
		return false
	}
	for _, got := range en.Attempts {
		if got.StartedAt.Equal(a.StartedAt) && got.StatusCode == a.StatusCode {
			return true
		}
	}
	return false
}

// retryWrite runs write, a log write, until it succeeds or fails with
// ErrLeaseLost or ErrNotFound, trying again after other errors until
// deadline, or until Close gives up waiting. It tries at least once.
func (e *Engine) retryWrite(deadline time.Time, attrs []slog.Attr, write func(context.Context) error) error {
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
		if !e.now().Before(deadline) {
			return err
		}
		timer := time.NewTimer(min(wait, max(deadline.Sub(e.now()), time.Millisecond)))
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
