package tickethooks

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/url"

	"github.com/tickethooks/tickethooks/executionlog"
	"github.com/tickethooks/tickethooks/internal/textcut"
	"github.com/tickethooks/tickethooks/payload"
	"github.com/tickethooks/tickethooks/trigger"
	"github.com/tickethooks/tickethooks/webhook"
)

// TestEvent is the Event of log entries recorded by TestWebhook.
const TestEvent = "test"

// TestWebhook sends sample to the webhook action once, now, and returns
// the receiver's response: the "send test" button of a webhook form. The
// request is built as for a real delivery (the action's headers, the
// Content-Type, User-Agent and webhook-id headers, signed with the
// action's secrets) and sent by the engine's Sender, so its SSRF guard
// applies; it is not retried, takes no worker, and neither waits for nor
// counts toward the destination's circuit breaker. sample is sent as
// given, WebhookEvents included; a nil sample sends a small sample ticket
// numbered 0.
//
// The send is recorded in the log as a finished entry of tenant (the
// tenant whose admin sends the test: "" for a single-tenant host; an
// engine with Config.MultiTenant requires one) with Test set,
// TriggerID "", Event TestEvent and its one attempt: succeeded on a 2xx
// answer, failed otherwise. A non-2xx answer is a response, not an error.
//
// TestWebhook returns an error wrapping ErrInvalidAction, with nothing
// sent or recorded, for an action that is not a webhook action with an
// absolute http or https URL or whose request cannot be built; the
// sender's error when no response arrived (the attempt is recorded); an
// error when the sample's packet is larger than Config.MaxBodySize; an
// error wrapping ErrTenant for a missing or invalid tenant; and ErrClosed
// after Close. When the send is made but cannot be recorded, it
// returns the response with an error that says so.
func (e *Engine) TestWebhook(ctx context.Context, tenant string, action trigger.Action, sample *payload.Ticket) (*webhook.Response, error) {
	if err := checkTestAction(action); err != nil {
		return nil, err
	}
	if err := e.checkTenant(tenant); err != nil {
		return nil, fmt.Errorf("tickethooks: test webhook: %w", err)
	}
	ctx, done, err := e.begin(ctx)
	if err != nil {
		return nil, err
	}
	defer done()
	if sample == nil {
		sample = sampleTicket()
	}
	body, err := payload.Encode(sample)
	if err != nil {
		return nil, fmt.Errorf("tickethooks: test webhook: encoding the sample ticket: %w", err)
	}
	if len(body) > e.maxBody {
		return nil, fmt.Errorf("tickethooks: test webhook: sample packet of %d bytes exceeds the %d-byte MaxBodySize; not sent", len(body), e.maxBody)
	}

	started := e.now()
	id := executionlog.NewID(started)
	resp, sendErr := e.sender.Send(ctx, webhookRequest(id, action, body, 1))
	if sendErr == nil && resp == nil {
		sendErr = errNoResponse
	}
	if errors.Is(sendErr, webhook.ErrInvalidRequest) {
		return nil, fmt.Errorf("%w: %w", ErrInvalidAction, sendErr)
	}
	att := newAttempt(1, started, resp, sendErr, e.now())
	status := executionlog.StatusFailed
	if sendErr == nil && resp.Success() {
		status = executionlog.StatusSucceeded
	}
	en := &executionlog.Entry{
		ID:             id,
		Tenant:         tenant,
		TicketID:       sample.Id,
		Event:          TestEvent,
		URL:            loggedURL(action),
		RequestHeaders: loggedHeaders(action, id),
		RequestBody:    body,
		Status:         status,
		Attempts:       []executionlog.Attempt{att},
		Test:           true,
		CreatedAt:      started,
		UpdatedAt:      e.now(),
	}
	// Record the send even when ctx ended during it.
	rctx, rcancel := context.WithTimeout(context.WithoutCancel(ctx), logWriteTimeout)
	defer rcancel()
	recordErr := e.add(rctx, nil, []*executionlog.Entry{en})

	attrs := tenantAttrs(tenant, slog.String("entry_id", id), slog.String("status", string(status)),
		slog.Int("http_status", att.StatusCode), slog.Duration("duration", att.Duration))
	if att.Error != "" {
		attrs = append(attrs, slog.String("error", att.Error))
	}
	if recordErr != nil {
		attrs = append(attrs, slog.String("log_error", recordErr.Error()))
	}
	e.logger.LogAttrs(ctx, slog.LevelInfo, "tickethooks: test webhook sent", attrs...)

	switch {
	case sendErr != nil && recordErr != nil:
		return nil, fmt.Errorf("tickethooks: test webhook: %w (and recording it failed: %w)", sendErr, recordErr)
	case sendErr != nil:
		return nil, fmt.Errorf("tickethooks: test webhook: %w", sendErr)
	case recordErr != nil:
		return resp, fmt.Errorf("tickethooks: test webhook sent, but recording it failed: %w", recordErr)
	}
	return resp, nil
}

// checkTestAction checks that a is a webhook action with an absolute http
// or https URL without credentials, whose URL and headers every log can
// store. Errors wrap ErrInvalidAction.
func checkTestAction(a trigger.Action) error {
	if a.Type != trigger.ActionWebhook {
		return fmt.Errorf("%w: action type is %q, want %q", ErrInvalidAction, textcut.Cut(a.Type, maxQuoted), trigger.ActionWebhook)
	}
	if a.URL == "" {
		return fmt.Errorf("%w: url is required", ErrInvalidAction)
	}
	u, err := url.Parse(a.URL)
	if err != nil || !u.IsAbs() || (u.Scheme != "http" && u.Scheme != "https") || u.Hostname() == "" || u.Opaque != "" {
		return fmt.Errorf("%w: url must be an absolute http or https URL", ErrInvalidAction)
	}
	if u.User != nil {
		return fmt.Errorf("%w: url %q must not contain credentials: send them in a secret header", ErrInvalidAction, textcut.Cut(webhook.RedactURL(a.URL, a.SecretURL), maxQuoted))
	}
	if err := trigger.CheckLogged(a); err != nil {
		return fmt.Errorf("%w: %w", ErrInvalidAction, err)
	}
	return nil
}

// sampleTicket is the packet TestWebhook sends when the caller gives none.
func sampleTicket() *payload.Ticket {
	return &payload.Ticket{
		Id:                0,
		Subject:           "Test webhook from tickethooks",
		Status:            "New",
		Urgency:           "Medium",
		ServiceFirstLevel: "Support",
		Actions: []payload.Action{{Id: 1, Description: "This is a test delivery.",
			HtmlDescription: "<p>This is a test delivery.</p>"}},
		WebhookEvents: []payload.WebhookEvent{{Criteria: payload.CriteriaStatus, Operator: payload.OperatorChangedTo}},
	}
}
