package tickethooks

import "errors"

// Errors returned by the Engine. Match them with errors.Is.
var (
	// ErrClosed is returned by calls made after Close began.
	ErrClosed = errors.New("tickethooks: engine is closed")
	// ErrNilTicket is returned by OnTicketChange when the ticket after the
	// change is nil.
	ErrNilTicket = errors.New("tickethooks: ticket after the change is nil")
	// ErrQueueFull is returned by OnTicketChange when the log had no room
	// for new deliveries before ctx ended. It wraps
	// executionlog.ErrFull and ctx's error; nothing was recorded.
	ErrQueueFull = errors.New("tickethooks: delivery queue is full")
	// ErrTenant is returned by OnTicketChange for a change without a
	// tenant on an engine configured for tenants (Config.MultiTenant), or
	// with a tenant that executionlog.ValidateTenant refuses.
	ErrTenant = errors.New("tickethooks: missing or invalid tenant")
	// ErrAction is returned by OnTicketChange when a note or custom action
	// failed. The webhook deliveries of the change were recorded all the
	// same; the error names the trigger and action.
	ErrAction = errors.New("tickethooks: action failed")
	// ErrNoHandler means a trigger has an action whose type has no handler
	// in Config (a note action without Config.Notes, or a custom type
	// missing from Config.Actions).
	ErrNoHandler = errors.New("tickethooks: no handler for action type")
	// ErrTxUnsupported is returned by OnTicketChangeTx when the log cannot
	// add entries inside a caller's transaction (it does not implement
	// executionlog.TxAdder).
	ErrTxUnsupported = errors.New("tickethooks: log does not support transactions")
	// ErrInvalidConfig is wrapped by every error New returns for a bad
	// Config.
	ErrInvalidConfig = errors.New("tickethooks: invalid config")
	// ErrInvalidAction is returned by TestWebhook when the action is not
	// a webhook action with an absolute http or https URL, or when its
	// request cannot be built (a malformed header or signing secret).
	// Nothing was sent or recorded.
	ErrInvalidAction = errors.New("tickethooks: invalid webhook action")
	// ErrNotRedeliverable is returned by Redeliver for an entry recorded
	// by TestWebhook: the headers and secrets of a tested action are not
	// kept, so it cannot be sent again (send a new test instead); and for
	// an entry whose ticket packet was over Config.MaxBodySize, of which
	// the log keeps only an excerpt.
	ErrNotRedeliverable = errors.New("tickethooks: entry cannot be redelivered")
)

// maxQuoted is the most bytes of a value that an error message quotes.
const maxQuoted = 200
