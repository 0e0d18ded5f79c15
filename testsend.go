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
// the request it sent, body included, and the receiver's response: the
// "send test" button of a webhook form. The request is built as for a
// real delivery (the action's method and headers, the Content-Type,
// User-Agent and webhook-id headers, signed with the action's secrets)
// and sent by the engine's Sender, so its SSRF guard applies; it is not
// retried, takes no worker, and neither waits for nor counts toward the
// destination's circuit breaker. The body is the one PreviewWebhook
// renders for sample: the sample ticket's packet, or what the action's
// body template renders of the ticket and its attributes; the log entry
// keeps it too.
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
// error when the body is larger than Config.MaxBodySize; an error wrapping
// a *trigger.RenderError when the body template fails on sample; an
// error wrapping ErrTenant for a missing or invalid tenant; and ErrClosed
// after Close. When the send is made but cannot be recorded, it
// returns the result with an error that says so; when no response
// arrived, the result without Response and the sender's error.
func (e *Engine) TestWebhook(ctx context.Context, tenant string, action trigger.Action, sample WebhookSample) (*TestResult, error) {
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
	preview, err := e.preview(action, sample)
	if err != nil {
		return nil, fmt.Errorf("tickethooks: test webhook: %w", err)
	}
	ticket, body := sample.ticket(), preview.Body

	started := e.now()
	id := executionlog.NewID(started)
	resp, sendErr := e.sender.Send(ctx, webhookRequest(id, action, body, preview.ContentType, 1))
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
		TicketID:       ticket.Id,
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

	res := &TestResult{Request: preview, EntryID: id}
	if sendErr == nil {
		res.Response = resp
	}
	switch {
	case sendErr != nil && recordErr != nil:
		return res, fmt.Errorf("tickethooks: test webhook: %w (and recording it failed: %w)", sendErr, recordErr)
	case sendErr != nil:
		return res, fmt.Errorf("tickethooks: test webhook: %w", sendErr)
	case recordErr != nil:
		return res, fmt.Errorf("tickethooks: test webhook sent, but recording it failed: %w", recordErr)
	}
	return res, nil
}

// TestResult is what TestWebhook sent and what came back.
type TestResult struct {
	// Request is the request sent, as PreviewWebhook renders it: method,
	// URL and headers as the log shows them (without the webhook-id,
	// webhook-timestamp and webhook-signature of the send), and the body.
	Request *WebhookPreview
	// Response is the receiver's answer; nil when none arrived.
	Response *webhook.Response
	// EntryID is the id of the log entry that records the send.
	EntryID string
}

// WebhookSample is what PreviewWebhook renders a webhook action for.
type WebhookSample struct {
	// Ticket is the ticket, rendered as created. Nil means the small
	// sample ticket TestWebhook sends.
	Ticket *payload.Ticket
	// Attrs are the ticket's host attributes, for a template that reads
	// Attr.<name>. Nil means none.
	Attrs trigger.Attrs
	// Trigger, when set, is the trigger the action belongs to: the packet
	// then carries its WebhookEvents, as a real delivery does, and a
	// template sees its ID and Name. Nil renders as TestWebhook sends:
	// Ticket's WebhookEvents as given, and an empty Trigger.
	Trigger *trigger.Trigger
}

// WebhookPreview is the request a webhook action would send, as
// PreviewWebhook renders it: the "preview" of a webhook form.
type WebhookPreview struct {
	// Method is the request method: POST, PUT or PATCH.
	Method string
	// URL is the action's URL as the log shows it (see
	// executionlog.Entry.URL): query values redacted, and only scheme and
	// host when the whole URL is secret.
	URL string
	// Headers are the request headers as the log keeps them: secret values
	// redacted, with the Content-Type and User-Agent the sender adds. The
	// webhook-id, webhook-timestamp and webhook-signature headers, which
	// each delivery sets, are left out.
	Headers map[string]string
	// ContentType is the body's content type: application/json or
	// application/x-www-form-urlencoded.
	ContentType string
	// Body is the request body: the ticket packet or what the action's
	// body template rendered.
	Body []byte
}

// PreviewWebhook renders the request the webhook action would send for
// sample, without sending or recording anything: the "preview" button of
// a webhook form, which shows an administrator the body their template
// makes. The body is the one TestWebhook would send (and, with
// sample.Trigger set, the one a delivery would send).
//
// It returns an error wrapping ErrInvalidAction for an action TestWebhook
// refuses, an error wrapping a *trigger.RenderError (with the template's
// line and column when known) when the body template fails, and an error
// when the body is larger than Config.MaxBodySize.
func (e *Engine) PreviewWebhook(action trigger.Action, sample WebhookSample) (*WebhookPreview, error) {
	if err := checkTestAction(action); err != nil {
		return nil, err
	}
	p, err := e.preview(action, sample)
	if err != nil {
		return nil, fmt.Errorf("tickethooks: preview webhook: %w", err)
	}
	return p, nil
}

// ticket returns the sample's ticket, or the small sample ticket.
func (s WebhookSample) ticket() *payload.Ticket {
	if s.Ticket == nil {
		return sampleTicket()
	}
	return s.Ticket
}

// preview renders the request of the webhook action for sample.
func (e *Engine) preview(action trigger.Action, sample WebhookSample) (*WebhookPreview, error) {
	if err := e.checkAttrs(nil, sample.Attrs); err != nil {
		return nil, fmt.Errorf("sample: %w", err)
	}
	body, contentType, err := e.render(&action, sample.ticket(), sample.Attrs, sample.Trigger)
	if err != nil {
		return nil, err
	}
	headers := loggedHeaders(action, "")
	delete(headers, "Webhook-Id")
	method := action.Method
	if method == "" {
		method = trigger.MethodPost
	}
	return &WebhookPreview{Method: method, URL: loggedURL(action), Headers: headers, ContentType: contentType, Body: body}, nil
}

// render renders the webhook action a for ticket, as created, with attrs
// and trigger t (nil for none), and checks the body against MaxBodySize.
func (e *Engine) render(a *trigger.Action, ticket *payload.Ticket, attrs trigger.Attrs, t *trigger.Trigger) ([]byte, string, error) {
	ev := trigger.NewEvent(nil, ticket)
	ev.AfterAttrs = attrs
	defer ev.Release()
	body, contentType, err := a.Render(ev, t)
	if err != nil {
		return nil, "", err
	}
	if len(body) > e.maxBody {
		return nil, "", fmt.Errorf("body of %d bytes exceeds the %d-byte MaxBodySize; not sent", len(body), e.maxBody)
	}
	return body, contentType, nil
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
