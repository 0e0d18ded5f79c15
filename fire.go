package tickethooks

import (
	"bytes"
	"context"
	"database/sql"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/tickethooks/tickethooks/executionlog"
	"github.com/tickethooks/tickethooks/internal/textcut"
	"github.com/tickethooks/tickethooks/payload"
	"github.com/tickethooks/tickethooks/trigger"
)

// ChangeOption sets an optional property of one ticket change reported to
// OnTicketChange or OnTicketChangeTx.
type ChangeOption func(*change)

// change holds the options of one reported change.
type change struct {
	key    string
	tenant string
	// beforeAttrs and afterAttrs are the attribute values
	// (WithAttributes); attrsSet says WithAttributes was given.
	beforeAttrs, afterAttrs trigger.Attrs
	attrsSet                bool
}

// WithAttributes gives the values of the host's attributes (declared in
// Config.Attributes) before and after the change, beside the packet:
// before is nil when the ticket was created, and a missing attribute
// reads as its type's zero value. Conditions and expressions read them,
// body templates may send them, and the data packet never holds them.
// A value of an undeclared attribute or of the wrong type is refused with
// an error wrapping trigger.ErrAttribute, with nothing recorded. The
// engine does not keep the maps: the host may reuse them after the call
// returns.
func WithAttributes(before, after trigger.Attrs) ChangeOption {
	return func(c *change) { c.beforeAttrs, c.afterAttrs, c.attrsSet = before, after, true }
}

// WithTenant says which tenant (account) the changed ticket belongs to.
// The engine evaluates that tenant's triggers only (Source.ForTicket takes
// it), and every entry they record carries it, so that the tenant's log
// page, redeliveries and limits see them. An engine configured with
// Config.MultiTenant requires it on every change; without it a change is
// of tenant "".
func WithTenant(tenant string) ChangeOption {
	return func(c *change) { c.tenant = tenant }
}

// WithChangeKey gives a change an idempotency key: the host's own id for
// the change or event, at most executionlog.MaxChangeKeyBytes bytes of
// valid UTF-8 without NUL. The log keeps at most one entry per key,
// trigger and webhook action, so a change reported again with its key
// records no webhook that it already recorded, and receivers see the
// webhook-id of the first report. A host reports a change again when
// OnTicketChange returned an error whose outcome is unknown, such as a
// failed commit. Keys are remembered as long as their entries are kept.
func WithChangeKey(key string) ChangeOption {
	return func(c *change) { c.key = key }
}

// OnTicketChange is called by the host after every ticket change. before is
// the ticket as it was (nil when the ticket was just created) and after the
// ticket as it is now.
//
// It evaluates the enabled triggers in order, records one pending log entry
// per webhook action of the triggers that fired, all in one write, then
// runs their note and custom actions in order, and returns without waiting
// for any receiver. The webhooks are delivered in the background.
//
// It returns ErrNilTicket for a nil after, ErrClosed after Close,
// ErrQueueFull when the log had no room before ctx ended, an error wrapping
// executionlog.ErrInvalidChangeKey for a bad WithChangeKey, and ctx's error
// when ctx ends while the triggers are evaluated; in these cases nothing
// was recorded and no action ran. An error from the trigger source or the
// log is returned wrapped, with nothing recorded, except that a log's
// commit that fails may have been applied all the same: report the change
// again with the same WithChangeKey and nothing is recorded twice. A
// failed note or custom action is returned wrapping ErrAction, after the
// webhooks were recorded.
func (e *Engine) OnTicketChange(ctx context.Context, before, after *payload.Ticket, opts ...ChangeOption) error {
	return e.onTicketChange(ctx, nil, before, after, opts)
}

// OnTicketChangeTx is OnTicketChange inside the host's own transaction: the
// pending entries are written with tx, so they commit or roll back with the
// host's ticket update (the transactional outbox), and are delivered once
// tx commits. The log must store entries in the same database
// (executionlog/sqllog); other logs return ErrTxUnsupported.
//
// Note and custom actions run before OnTicketChangeTx returns, whether or
// not tx later commits.
func (e *Engine) OnTicketChangeTx(ctx context.Context, tx *sql.Tx, before, after *payload.Ticket, opts ...ChangeOption) error {
	if tx == nil {
		return fmt.Errorf("tickethooks: OnTicketChangeTx: tx is nil")
	}
	if _, ok := e.log.(executionlog.TxAdder); !ok {
		return ErrTxUnsupported
	}
	return e.onTicketChange(ctx, tx, before, after, opts)
}

func (e *Engine) onTicketChange(ctx context.Context, tx *sql.Tx, before, after *payload.Ticket, opts []ChangeOption) error {
	if after == nil {
		return ErrNilTicket
	}
	var c change
	for _, o := range opts {
		o(&c)
	}
	if err := executionlog.ValidateChangeKey(c.key); err != nil {
		return fmt.Errorf("tickethooks: ticket %d: %w", after.Id, err)
	}
	if err := e.checkTenant(c.tenant); err != nil {
		return fmt.Errorf("tickethooks: ticket %d: %w", after.Id, err)
	}
	if c.attrsSet {
		if err := e.checkAttrs(c.beforeAttrs, c.afterAttrs); err != nil {
			return fmt.Errorf("tickethooks: ticket %d: %w", after.Id, err)
		}
	}
	ctx, done, err := e.begin(ctx)
	if err != nil {
		return err
	}
	defer done()

	ev := trigger.NewEvent(before, after)
	ev.BeforeAttrs, ev.AfterAttrs = c.beforeAttrs, c.afterAttrs
	fired, err := e.evaluate(ctx, c.tenant, ev)
	ev.Release() // every trigger is evaluated
	if err != nil || len(fired) == 0 {
		return err
	}
	e.tel.fired.Add(ctx, int64(len(fired)), e.tel.tenant(c.tenant)...)
	entries, err := e.entries(fired, ev, c.key)
	if err != nil {
		return err
	}
	if err := e.checkPending(ctx, c.tenant, entries); err != nil {
		return err
	}
	if len(entries) > 0 {
		if err := e.add(ctx, tx, entries); err != nil {
			return err
		}
		queued, added := 0, 0
		for _, en := range entries {
			if en.DuplicateOf != "" {
				e.logger.LogAttrs(ctx, slog.LevelInfo, "tickethooks: webhook already recorded for this change key; not recorded again",
					entryAttrs(en, slog.String("recorded_as", en.DuplicateOf))...)
				continue
			}
			added++
			if en.Status != executionlog.StatusPending {
				e.logger.LogAttrs(ctx, slog.LevelError, "tickethooks: webhook not sent",
					entryAttrs(en, slog.String("event", en.Event), slog.String("error", en.Attempts[0].Error))...)
				continue
			}
			queued++
			e.logger.LogAttrs(ctx, slog.LevelInfo, "tickethooks: webhook queued",
				entryAttrs(en, slog.String("event", en.Event))...)
		}
		if tx == nil {
			// Entries written in a transaction may yet roll back: the
			// counts take only committed ones.
			e.tel.pending.Add(ctx, int64(queued), e.tel.tenant(c.tenant)...)
			if failed := added - queued; failed > 0 {
				e.tel.deliveries.Add(ctx, int64(failed), e.tel.outcome(c.tenant, executionlog.StatusFailed))
			}
			e.disp.nudge()
		}
	}
	return e.runActions(ctx, fired, ev, c.key)
}

// checkAttrs checks the attribute values of a change against
// Config.Attributes.
func (e *Engine) checkAttrs(before, after trigger.Attrs) error {
	if e.attrs == nil && (len(before) > 0 || len(after) > 0) {
		return fmt.Errorf("%w: the change has attribute values, but Config.Attributes declares none", trigger.ErrAttribute)
	}
	if err := e.attrs.Check(before); err != nil {
		return fmt.Errorf("attributes before the change: %w", err)
	}
	if err := e.attrs.Check(after); err != nil {
		return fmt.Errorf("attributes after the change: %w", err)
	}
	return nil
}

// evaluate returns the triggers that fire on the change, in order, skipping
// the ones that already fired earlier in the same chain of calls.
func (e *Engine) evaluate(ctx context.Context, tenant string, ev *trigger.Event) ([]*trigger.Trigger, error) {
	after := ev.After
	triggers, err := e.triggers.ForTicket(ctx, tenant, after)
	if err != nil {
		return nil, fmt.Errorf("tickethooks: loading triggers for ticket %d%s: %w", after.Id, tenantSuffix(tenant), err)
	}
	chain := firedInChain(ctx)
	var fired []*trigger.Trigger
	for _, t := range triggers {
		if err := ctx.Err(); err != nil {
			// A change whose caller gave up records nothing: the triggers
			// evaluated so far are dropped with the rest.
			return nil, fmt.Errorf("tickethooks: evaluating triggers for ticket %d: %w", after.Id, context.Cause(ctx))
		}
		if t.Tenant != tenant {
			// A source's mistake must not send one account's ticket to
			// another account's receiver.
			e.tel.failed.Add(ctx, 1, e.tel.tenant(tenant)...)
			e.logger.LogAttrs(ctx, slog.LevelError, "tickethooks: trigger source returned a trigger of another tenant; trigger skipped",
				slog.String("tenant", tenant), slog.String("trigger_tenant", t.Tenant),
				slog.String("trigger_id", t.ID), slog.Int("ticket_id", after.Id))
			continue
		}
		if chain[chainID{t.Tenant, t.ID}] {
			continue
		}
		ok, err := t.Evaluate(ev)
		if err != nil {
			e.tel.failed.Add(ctx, 1, e.tel.tenant(tenant)...)
			e.logger.LogAttrs(ctx, slog.LevelWarn, "tickethooks: trigger expression failed; trigger skipped",
				tenantAttrs(tenant, slog.String("trigger_id", t.ID), slog.Int("ticket_id", after.Id), slog.String("error", err.Error()))...)
			continue
		}
		if ok {
			fired = append(fired, t)
		}
	}
	return fired, nil
}

// entries builds one pending entry per webhook action of the fired
// triggers. An action's body is what its Render returns: the packet, with
// the trigger's WebhookEvents, is encoded once per trigger for all the
// actions without a body template; a body template is rendered per
// action. A body larger than MaxBodySize is never stored whole: its
// entries are recorded failed, with an attempt that says why and an
// excerpt of the body (see cutPacket). A body template that fails
// records its entry failed, with an attempt that says why and no body
// (see renderFailure).
func (e *Engine) entries(fired []*trigger.Trigger, ev *trigger.Event, key string) ([]*executionlog.Entry, error) {
	now := e.now()
	after := ev.After
	var entries []*executionlog.Entry
	for _, t := range fired {
		var packet []byte                    // the packet, shared by the actions without a template
		var packetFail *executionlog.Attempt // set when the packet is over MaxBodySize
		for i := range t.Actions {
			a := &t.Actions[i]
			if a.Type != trigger.ActionWebhook {
				continue
			}
			var body []byte
			var fail *executionlog.Attempt
			if a.Body == nil && (a.ContentType == "" || a.ContentType == trigger.ContentTypeJSON) {
				if packet == nil {
					var err error
					if packet, _, err = a.Render(ev, t); err != nil {
						return nil, fmt.Errorf("tickethooks: encoding ticket %d for trigger %q: %w", after.Id, t.ID, err)
					}
					if len(packet) > e.maxBody {
						packet, packetFail = e.cutPacket(packet, now)
					}
				}
				body, fail = packet, packetFail
			} else {
				var err error
				body, _, err = a.Render(ev, t)
				switch {
				case err != nil:
					body, fail = nil, renderFailure(err, now)
				case len(body) > e.maxBody:
					body, fail = e.cutPacket(body, now)
				}
			}
			id := executionlog.NewID(now)
			en := &executionlog.Entry{
				ID:             id,
				Tenant:         t.Tenant,
				TriggerID:      t.ID,
				TriggerName:    t.Name,
				ActionIndex:    i,
				TicketID:       after.Id,
				Event:          ev.Kind(),
				URL:            loggedURL(*a),
				RequestHeaders: loggedHeaders(*a, id),
				RequestBody:    body,
				Status:         executionlog.StatusPending,
				NextAttemptAt:  now,
				CreatedAt:      now,
				UpdatedAt:      now,
				ChangeKey:      key,
			}
			if fail != nil {
				en.Status, en.NextAttemptAt = executionlog.StatusFailed, time.Time{}
				en.Attempts = []executionlog.Attempt{*fail}
			}
			entries = append(entries, en)
		}
	}
	return entries, nil
}

// templateError starts the error of the attempt recorded for a body
// template that failed. The engine refuses to send an entry whose first
// attempt says so: it has no body.
const templateError = "body template failed: "

// renderFailure returns the attempt, never sent, that records why a body
// template failed.
func renderFailure(err error, now time.Time) *executionlog.Attempt {
	return &executionlog.Attempt{
		Number:    1,
		StartedAt: now,
		Error:     capError(templateError + strings.TrimPrefix(err.Error(), "body template: ") + "; not sent"),
	}
}

// renderFailed reports whether en records a body template that failed,
// which must never be sent.
func renderFailed(en *executionlog.Entry) bool {
	if len(en.Attempts) == 0 {
		return false
	}
	a := en.Attempts[0]
	return len(en.RequestBody) == 0 && a.StatusCode == 0 && a.Number == 1 && strings.HasPrefix(a.Error, templateError)
}

// packetExcerpt is how many bytes of an oversize packet its entries keep.
const packetExcerpt = 4 << 10

// oversizeError starts the error of the attempt recorded for a packet (or
// a body a template rendered) over MaxBodySize. The engine refuses to send an entry whose first attempt
// says so: its body is only an excerpt.
const oversizeError = "ticket packet of "

// cutPacket returns the excerpt of an oversize packet that the log keeps,
// and the attempt, never sent, that records why it fails.
func (e *Engine) cutPacket(body []byte, now time.Time) ([]byte, *executionlog.Attempt) {
	keep := textcut.Boundary(string(body[:min(len(body), packetExcerpt+utf8.UTFMax)]), packetExcerpt)
	return bytes.Clone(body[:keep]), &executionlog.Attempt{
		Number:    1,
		StartedAt: now,
		Error: fmt.Sprintf("%s%d bytes exceeds the %d-byte limit (Config.MaxBodySize); not sent. The log keeps its first %d bytes",
			oversizeError, len(body), e.maxBody, keep),
	}
}

// packetCut reports whether en holds only an excerpt of an oversize
// packet, which must never be sent.
func packetCut(en *executionlog.Entry) bool {
	if len(en.Attempts) == 0 {
		return false
	}
	a := en.Attempts[0]
	return len(en.RequestBody) <= packetExcerpt && a.StatusCode == 0 && a.Number == 1 && strings.HasPrefix(a.Error, oversizeError)
}

// runActions runs the note and custom actions of the fired triggers in
// order. The context handed to them records the fired triggers, so a
// handler that changes the ticket again does not fire them a second time.
func (e *Engine) runActions(ctx context.Context, fired []*trigger.Trigger, ev *trigger.Event, key string) error {
	before, after := ev.Before, ev.After
	var actx context.Context // made at the first such action: most triggers have none
	var errs []error
	for _, t := range fired {
		for i, a := range t.Actions {
			if a.Type == trigger.ActionWebhook {
				continue
			}
			if actx == nil {
				actx = withFired(ctx, fired)
			}
			call := ActionCall{Trigger: t, Index: i, Action: a, Before: before, After: after,
				BeforeAttrs: ev.BeforeAttrs, AfterAttrs: ev.AfterAttrs, ChangeKey: key}
			if err := e.runAction(actx, call); err != nil {
				err = fmt.Errorf("%w: trigger %q action %d (%s): %w", ErrAction, t.ID, i, a.Type, err)
				e.logger.LogAttrs(ctx, slog.LevelError, "tickethooks: action failed",
					tenantAttrs(t.Tenant, slog.String("trigger_id", t.ID), slog.Int("ticket_id", after.Id),
						slog.Int("action", i), slog.String("type", a.Type), slog.String("error", err.Error()))...)
				errs = append(errs, err)
			}
		}
	}
	return errors.Join(errs...)
}

func (e *Engine) runAction(ctx context.Context, call ActionCall) error {
	if call.Action.Type == trigger.ActionNote {
		if e.notes == nil {
			return fmt.Errorf("%w %q: Config.Notes is not set", ErrNoHandler, call.Action.Type)
		}
		return e.notes.AddNote(ctx, call, call.Action.Text)
	}
	h, ok := e.actions[call.Action.Type]
	if !ok {
		return fmt.Errorf("%w %q: add it to Config.Actions", ErrNoHandler, call.Action.Type)
	}
	return h.RunAction(ctx, call)
}
