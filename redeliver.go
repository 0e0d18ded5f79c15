package tickethooks

import (
	"context"
	"errors"
	"fmt"
	"log/slog"

	"github.com/tickethooks/tickethooks/executionlog"
)

// MaxRedeliverMatching is the most entries one RedeliverMatching call
// redelivers; a larger limit is lowered to it.
const MaxRedeliverMatching = 1000

// Redeliver sends a finished delivery again: the log entry with the given
// id, succeeded or failed, goes back to pending, due now, and the engine
// delivers it like a new one. The delivery keeps its id, so receivers see
// the same webhook-id header, and its earlier attempts stay in the log;
// the attempts of the new series are numbered after them, and the retry
// policy counts them from the start of the series (Entry.SeriesStart). The
// request is built from the trigger's current webhook action, as at every
// attempt.
//
// Only an entry of scope s is redelivered: a tenant's admin passes the
// tenant's scope (executionlog.TenantScope), so that another tenant's
// entry id is not found, exactly like an unknown one; a single-tenant host
// passes the zero Scope.
//
// Redeliver returns an error wrapping executionlog.ErrNotFound for an
// unknown id or an entry outside s, executionlog.ErrNotFinished for an
// entry still pending, ErrNotRedeliverable for an entry recorded by
// TestWebhook, and ErrClosed after Close.
func (e *Engine) Redeliver(ctx context.Context, s executionlog.Scope, id string) error {
	ctx, done, err := e.begin(ctx)
	if err != nil {
		return err
	}
	defer done()
	en, err := e.log.Get(ctx, s, id)
	if err != nil {
		return fmt.Errorf("tickethooks: redeliver: %w", err)
	}
	if en.Test {
		return fmt.Errorf("%w: entry %q records a test send; send a new test instead", ErrNotRedeliverable, id)
	}
	if packetCut(&en) {
		return fmt.Errorf("%w: entry %q holds only an excerpt of a ticket packet over MaxBodySize", ErrNotRedeliverable, id)
	}
	if renderFailed(&en) {
		return fmt.Errorf("%w: entry %q records a body template that failed; it has no body", ErrNotRedeliverable, id)
	}
	if err := e.log.Redeliver(ctx, s, id, e.now()); err != nil {
		return fmt.Errorf("tickethooks: redeliver: %w", err)
	}
	e.tel.pending.Add(ctx, 1, e.tel.tenant(en.Tenant)...)
	e.logger.LogAttrs(ctx, slog.LevelInfo, "tickethooks: redelivery queued", entryAttrs(&en)...)
	e.disp.nudge()
	return nil
}

// RedeliverMatching redelivers, as Redeliver does, the failed entries that
// match f, newest first, at most limit of them, and returns how many it
// redelivered. Like Query, it sees the entries of f.Tenant only, unless
// f.AllTenants is set. f.Status is ignored (only failed entries are redelivered),
// and so is f.Limit; f.Cursor, when set, starts the search where a Query
// page ended. Entries recorded by TestWebhook are skipped, and so are
// entries that stop being failed while the call runs (redelivered by
// another call, or pruned).
//
// limit must be positive; a limit above MaxRedeliverMatching is lowered to
// it. RedeliverMatching returns an error wrapping
// executionlog.ErrInvalidFilter for a malformed filter and ErrClosed after
// Close. When the log fails part way, it returns how many entries were
// redelivered before, with the error.
func (e *Engine) RedeliverMatching(ctx context.Context, f executionlog.Filter, limit int) (int, error) {
	if limit <= 0 {
		return 0, fmt.Errorf("tickethooks: redeliver matching: limit %d must be positive", limit)
	}
	limit = min(limit, MaxRedeliverMatching)
	ctx, done, err := e.begin(ctx)
	if err != nil {
		return 0, err
	}
	defer done()

	f.Status = executionlog.StatusFailed
	f.Limit = min(limit, 100)
	if f, err = f.Normalize(); err != nil {
		return 0, fmt.Errorf("tickethooks: redeliver matching: %w", err)
	}
	now := e.now()
	n := 0
	defer func() {
		if n > 0 {
			e.logger.LogAttrs(ctx, slog.LevelInfo, "tickethooks: redeliveries queued", tenantAttrs(f.Tenant, slog.Int("count", n))...)
		}
	}()
	for {
		page, err := e.log.Query(ctx, f)
		if err != nil {
			return n, fmt.Errorf("tickethooks: redeliver matching: %w", err)
		}
		for _, en := range page.Entries {
			if en.Test || en.Status != executionlog.StatusFailed || packetCut(&en) || renderFailed(&en) {
				continue
			}
			err := e.log.Redeliver(ctx, f.Scope(), en.ID, now)
			switch {
			case err == nil:
				n++
				e.tel.pending.Add(ctx, 1, e.tel.tenant(en.Tenant)...)
			case errors.Is(err, executionlog.ErrNotFinished), errors.Is(err, executionlog.ErrNotFound):
				continue
			default:
				e.disp.nudge()
				return n, fmt.Errorf("tickethooks: redeliver matching: after %d redelivered: %w", n, err)
			}
			if n == limit {
				e.disp.nudge()
				return n, nil
			}
		}
		if n > 0 {
			e.disp.nudge()
		}
		if page.Next == "" {
			return n, nil
		}
		f.Cursor = page.Next
	}
}

// Delete deletes the log entries that match f, pending ones included,
// with their attempts, and returns how many it deleted: for an account
// that leaves (executionlog.Filter{Tenant: t}), or a request to erase one
// ticket's data (with TicketID). Like Query, it sees the entries of
// f.Tenant only, unless f.AllTenants is set; f.Limit and f.Cursor are
// ignored. A pending entry that an engine had already claimed when it
// was deleted, to deliver now or as soon as a worker is free (at most
// about twice Config.Workers entries per engine), may still get that one
// attempt, but nothing more: its outcome finds no entry to record, and it
// is not retried.
//
// Delete returns an error wrapping executionlog.ErrInvalidFilter for a
// malformed filter, and ErrClosed after Close.
func (e *Engine) Delete(ctx context.Context, f executionlog.Filter) (int64, error) {
	ctx, done, err := e.begin(ctx)
	if err != nil {
		return 0, err
	}
	defer done()
	pending, err := e.pendingMatching(ctx, f)
	if err != nil {
		return 0, fmt.Errorf("tickethooks: delete: %w", err)
	}
	n, err := e.log.Delete(ctx, f)
	if err != nil {
		return n, fmt.Errorf("tickethooks: delete: %w", err)
	}
	// The pending gauge counts deliveries until they end; deleted ones
	// never will.
	for tenant, k := range pending {
		e.tel.pending.Add(ctx, -k, e.tel.tenant(tenant)...)
	}
	attrs := []slog.Attr{slog.Int64("count", n)}
	if f.AllTenants {
		attrs = append(attrs, slog.Bool("all_tenants", true))
	}
	if f.TicketID != 0 {
		attrs = append(attrs, slog.Int("ticket_id", f.TicketID))
	}
	e.logger.LogAttrs(ctx, slog.LevelInfo, "tickethooks: log entries deleted", tenantAttrs(f.Tenant, attrs...)...)
	return n, nil
}

// pendingMatching counts, per tenant, the pending entries that match f.
func (e *Engine) pendingMatching(ctx context.Context, f executionlog.Filter) (map[string]int64, error) {
	counts := map[string]int64{}
	if f.Status != "" && f.Status != executionlog.StatusPending {
		return counts, nil
	}
	f.Status, f.Limit, f.Cursor = executionlog.StatusPending, executionlog.MaxLimit, ""
	for {
		page, err := e.log.Query(ctx, f)
		if err != nil {
			return nil, err
		}
		for _, en := range page.Entries {
			counts[en.Tenant]++
		}
		if page.Next == "" {
			return counts, nil
		}
		f.Cursor = page.Next
	}
}
