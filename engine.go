package tickethooks

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"log/slog"
	"net/netip"
	"os"
	"slices"
	"sync"
	"time"

	"go.opentelemetry.io/otel/metric"
	"go.opentelemetry.io/otel/propagation"
	"go.opentelemetry.io/otel/trace"

	"github.com/tickethooks/tickethooks/executionlog"
	"github.com/tickethooks/tickethooks/trigger"
	"github.com/tickethooks/tickethooks/webhook"
)

// The defaults New applies to the zero fields of Config.
const (
	// DefaultQueueSize is the default Config.QueueSize: entries the
	// default in-memory log keeps.
	DefaultQueueSize = 10000
	// DefaultWorkers is the default Config.Workers: deliveries in flight
	// at once.
	DefaultWorkers = 8
	// DefaultPollInterval is the default Config.PollInterval.
	DefaultPollInterval = time.Second
	// DefaultLease is the default Config.Lease.
	DefaultLease = time.Minute
	// DefaultMaxBodySize is the default Config.MaxBodySize, in bytes.
	DefaultMaxBodySize = 256 << 10
)

// Config configures an Engine. Only Triggers is required.
type Config struct {
	// Triggers supplies the triggers evaluated on each ticket change and
	// read again at each delivery attempt for the webhook action's current
	// headers. Required. trigger.Store is the in-memory implementation.
	Triggers trigger.Source

	// Log is the Webhook Execution Log, which is also the delivery queue.
	// Defaults to an in-memory log (executionlog.NewMemory) holding
	// QueueSize entries; deliveries pending in it are lost when the process
	// ends. Use a SQL log (executionlog/sqllog) for deliveries that survive
	// restarts and for several engines sharing one queue.
	Log executionlog.Log

	// QueueSize is the capacity of the default in-memory log: how many
	// entries it keeps, pending ones included. When every entry is pending,
	// OnTicketChange waits for room. Ignored when Log is set. Defaults to
	// DefaultQueueSize (10,000).
	QueueSize int

	// Sender delivers each attempt. Defaults to
	// webhook.NewHTTPSender(webhook.HTTPSenderConfig{AllowNetworks:
	// AllowNetworks}): webhook.DefaultTimeout (10 s) per attempt,
	// webhook.DefaultMaxResponseBody (64 KiB) of response body kept, and
	// connections to loopback, private, link-local and other internal
	// addresses refused (an SSRF guard). A Sender of the host's own
	// enforces its own network rules: setting both Sender and
	// AllowNetworks is an error.
	Sender webhook.Sender

	// AllowNetworks lists internal networks that triggers may name and
	// the default Sender may reach despite its SSRF guard, for
	// self-hosted receivers on a private network (for example
	// 10.20.0.0/16). Give the list here only, and load triggers with the
	// options TriggerOptions returns, which carry it: loading and sending
	// then allow the same networks. Must be empty when Sender is set.
	AllowNetworks []netip.Prefix

	// Retry decides whether and when a failed attempt is retried. The zero
	// value means the defaults: 8 attempts in all, waiting 1 s, 2 s, 4 s ...
	// (+-20% jitter) up to 5 minutes between attempts, retrying transport
	// errors, 408, 429 and 5xx, and honouring Retry-After.
	Retry webhook.RetryPolicy

	// Workers is the number of deliveries in flight at once. Defaults to
	// DefaultWorkers (8).
	Workers int

	// Notes writes the text of note actions on tickets. Required only if a
	// trigger has a note action; without it such an action fails with
	// ErrNoHandler.
	Notes NoteWriter

	// Actions maps custom action type names to their handlers.
	Actions map[string]ActionHandler

	// Logger receives a line for each state change of a delivery. It never
	// receives header values or secrets. Defaults to slog.Default().
	Logger *slog.Logger

	// Now returns the current time, for timestamps in the log and the due
	// time of retries. Defaults to time.Now.
	Now func() time.Time

	// PollInterval is how often the engine looks in the log for due
	// entries it did not schedule itself (left by a stopped engine, or by
	// other engines sharing a SQL log). Retries this engine schedules wake
	// it on time regardless. Defaults to DefaultPollInterval (1 second).
	PollInterval time.Duration

	// Lease is how long a claimed entry stays reserved for this engine.
	// If the engine dies mid-attempt, another engine may retry the entry
	// after the lease ends. An entry claimed ahead of a free worker may
	// wait up to half the lease before its attempt starts, so the lease
	// must be more than twice as long as one attempt can take. Defaults to
	// DefaultLease (1 minute).
	Lease time.Duration

	// Destinations configures the circuit breaker and the concurrency
	// limit per destination. Its zero fields mean the defaults
	// (DefaultFailureThreshold and the like): pause a destination for 1
	// minute after 10 consecutive failures, at most 4 deliveries in flight
	// to one destination.
	Destinations DestinationPolicy

	// OnDestination, when set, is told when a destination is paused,
	// recovers, keeps failing past Destinations.FailingThreshold, or
	// answers 410 Gone, so the host can disable the trigger and tell the
	// admin. It is called from delivery goroutines, possibly at once from
	// several, and should return quickly.
	OnDestination func(DestinationEvent)

	// MaxBodySize is the largest ticket packet (or body a webhook
	// action's template renders) sent, in bytes. A webhook whose body is
	// larger is never sent nor stored whole: its entry is
	// recorded failed, with an attempt that says why and the first 4 KiB
	// of the packet, and cannot be redelivered. Defaults to
	// DefaultMaxBodySize (256 KiB).
	MaxBodySize int

	// MeterProvider and TracerProvider receive the engine's metrics and
	// spans. They default to the global providers (otel.GetMeterProvider,
	// otel.GetTracerProvider), which do nothing unless the host installs an
	// OpenTelemetry SDK. See the README for each metric's meaning.
	MeterProvider  metric.MeterProvider
	TracerProvider trace.TracerProvider

	// Propagator writes the trace context of each attempt's span into the
	// request headers. Defaults to W3C Trace Context (traceparent).
	Propagator propagation.TextMapPropagator

	// Owner names this engine in the log's leases. It must be unique among
	// engines sharing a log. Defaults to the host name, process id and a
	// random suffix.
	Owner string

	// MultiTenant configures the engine for many tenants (accounts) on
	// one engine and one log, as in a hosted helpdesk: every change must
	// name its tenant (WithTenant), and Tenants.MaxInFlight defaults to a
	// share of the workers. Without it, changes may still name a tenant.
	// See the README's "Many accounts".
	MultiTenant bool

	// Tenants limits what one tenant may take of the engine: deliveries
	// in flight and pending entries. See TenantPolicy for the defaults.
	Tenants TenantPolicy

	// Attributes declares the attributes the host's tickets have beyond
	// the packet's fields (assignee, team, tags, the host's own ids...),
	// which conditions and expressions can read and body templates can
	// send. The host passes their values with each change
	// (WithAttributes); the engine checks them against this list. Load
	// triggers with the options TriggerOptions returns, which carry it.
	// Attributes never enter the data packet. See trigger.Attribute.
	Attributes []trigger.Attribute
}

// TriggerOptions returns o with its AllowNetworks and Attributes replaced
// by c's: the options to load the triggers of c.Triggers with
// (trigger.Parse, trigger.Compile), so that the networks webhook URLs may
// name are the ones the default Sender may reach, and the attributes
// conditions may read are the ones changes carry, both given once in
// Config.
func (c Config) TriggerOptions(o trigger.Options) *trigger.Options {
	o.AllowNetworks = slices.Clone(c.AllowNetworks)
	o.Attributes = slices.Clone(c.Attributes)
	return &o
}

// Engine evaluates triggers on ticket changes, records a log entry per
// fired webhook, and delivers the webhooks in the background with retries.
// Its methods are safe for concurrent use.
type Engine struct {
	triggers trigger.Source
	log      executionlog.Log
	sender   webhook.Sender
	retry    webhook.RetryPolicy
	notes    NoteWriter
	actions  map[string]ActionHandler
	logger   *slog.Logger
	nowFunc  func() time.Time
	poll     time.Duration
	lease    time.Duration
	owner    string
	maxBody  int
	tel      *telemetry
	dests    *destinations

	multiTenant bool
	tenants     tenantLimits
	attrs       *trigger.Schema // nil without Config.Attributes

	onDestination func(DestinationEvent)

	disp *dispatcher // claims due entries and hands them to the workers
	room *roomLine   // calls waiting for room in a full log

	mu         sync.Mutex
	closed     bool
	calls      sync.WaitGroup // calls in progress (begin)
	closing    chan struct{}  // closed when Close begins
	closeOnce  sync.Once
	runCtx     context.Context // cancelled when Close gives up waiting
	cancelRun  context.CancelFunc
	deliveries sync.WaitGroup // the dispatcher and the workers
	done       chan struct{}  // closed when every goroutine has ended
}

// New validates cfg, applies its defaults and starts the engine's
// dispatcher. Errors wrap ErrInvalidConfig.
func New(cfg Config) (*Engine, error) {
	if cfg.Triggers == nil {
		return nil, fmt.Errorf("%w: Triggers is required", ErrInvalidConfig)
	}
	for name, field := range map[string]int64{
		"QueueSize":    int64(cfg.QueueSize),
		"Workers":      int64(cfg.Workers),
		"PollInterval": int64(cfg.PollInterval),
		"Lease":        int64(cfg.Lease),
		"MaxBodySize":  int64(cfg.MaxBodySize),
	} {
		if field < 0 {
			return nil, fmt.Errorf("%w: %s must not be negative", ErrInvalidConfig, name)
		}
	}
	if err := cfg.Retry.Validate(); err != nil {
		return nil, fmt.Errorf("%w: Retry: %w", ErrInvalidConfig, err)
	}
	if err := cfg.Destinations.validate(); err != nil {
		return nil, fmt.Errorf("%w: %w", ErrInvalidConfig, err)
	}
	for name, h := range cfg.Actions {
		if h == nil {
			return nil, fmt.Errorf("%w: Actions[%q] is nil", ErrInvalidConfig, name)
		}
		if name == trigger.ActionWebhook || name == trigger.ActionNote {
			return nil, fmt.Errorf("%w: Actions[%q]: %q is a built-in action type", ErrInvalidConfig, name, name)
		}
	}
	if cfg.Sender != nil && len(cfg.AllowNetworks) > 0 {
		return nil, fmt.Errorf("%w: Sender and AllowNetworks are both set: AllowNetworks configures the default sender only; give the networks to your Sender", ErrInvalidConfig)
	}
	if cfg.QueueSize == 0 {
		cfg.QueueSize = DefaultQueueSize
	}
	if cfg.Log == nil {
		cfg.Log = executionlog.NewMemory(executionlog.MemoryOptions{MaxEntries: cfg.QueueSize})
	}
	if cfg.Sender == nil {
		cfg.Sender = webhook.NewHTTPSender(webhook.HTTPSenderConfig{Now: cfg.Now, AllowNetworks: cfg.AllowNetworks})
	}
	if cfg.Workers == 0 {
		cfg.Workers = DefaultWorkers
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.PollInterval == 0 {
		cfg.PollInterval = DefaultPollInterval
	}
	if cfg.Lease == 0 {
		cfg.Lease = DefaultLease
	}
	if cfg.Owner == "" {
		cfg.Owner = defaultOwner()
	}
	if cfg.MaxBodySize == 0 {
		cfg.MaxBodySize = DefaultMaxBodySize
	}
	tenants, err := cfg.Tenants.resolve(cfg.MultiTenant, cfg.Workers, cfg.Log)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrInvalidConfig, err)
	}
	var attrs *trigger.Schema
	if len(cfg.Attributes) > 0 {
		if attrs, err = trigger.NewSchema(cfg.Attributes); err != nil {
			return nil, fmt.Errorf("%w: Attributes: %w", ErrInvalidConfig, err)
		}
	}

	tel, err := newTelemetry(cfg.MeterProvider, cfg.TracerProvider, cfg.Propagator)
	if err != nil {
		return nil, fmt.Errorf("tickethooks: creating instruments: %w", err)
	}
	tel.tenantMetric = tenants.metric

	runCtx, cancel := context.WithCancel(context.Background())
	closing := make(chan struct{})
	e := &Engine{
		triggers: cfg.Triggers,
		log:      cfg.Log,
		sender:   cfg.Sender,
		retry:    cfg.Retry,
		notes:    cfg.Notes,
		actions:  cfg.Actions,
		logger:   cfg.Logger,
		nowFunc:  cfg.Now,
		poll:     cfg.PollInterval,
		lease:    cfg.Lease,
		owner:    cfg.Owner,
		maxBody:  cfg.MaxBodySize,
		tel:      tel,
		dests:    &destinations{policy: cfg.Destinations.withDefaults(), m: map[destKey]*destinationState{}},

		multiTenant: cfg.MultiTenant,
		tenants:     tenants,
		attrs:       attrs,

		onDestination: cfg.OnDestination,
		room:          &roomLine{close: closing},
		closing:       closing,
		runCtx:        runCtx,
		cancelRun:     cancel,
		done:          make(chan struct{}),
	}
	e.disp = newDispatcher(cfg.Log, cfg.Owner, cfg.Lease, cfg.PollInterval, cfg.Workers, tenants.inFlight, tenants.window,
		e.now, cfg.Logger, closing, runCtx)
	e.deliveries.Add(1 + cfg.Workers)
	go func() {
		defer e.deliveries.Done()
		e.disp.run()
	}()
	for range cfg.Workers {
		go e.worker()
	}
	go func() {
		<-e.closing
		e.calls.Wait()
		e.deliveries.Wait()
		e.cancelRun()
		if c, ok := e.sender.(interface{ CloseIdleConnections() }); ok {
			c.CloseIdleConnections()
		}
		close(e.done)
	}()
	return e, nil
}

// Close stops the engine. It stops accepting ticket changes (later calls
// return ErrClosed), stops claiming deliveries, and waits for the
// deliveries in flight to finish. If ctx ends first, Close cancels them:
// their entries stay pending in the log with no attempt counted, to be
// resumed by the next engine on the same log, and Close returns ctx's
// error. Every goroutine the engine started has ended when Close returns.
// Calling Close again waits the same way and returns nil once stopped.
func (e *Engine) Close(ctx context.Context) error {
	e.closeOnce.Do(func() {
		e.mu.Lock()
		e.closed = true
		e.mu.Unlock()
		close(e.closing)
	})
	select {
	case <-e.done:
		return nil
	case <-ctx.Done():
		e.cancelRun()
		<-e.done
		return ctx.Err()
	}
}

// begin registers a call that Close waits for, or returns ErrClosed. The
// call runs with the returned context, which also ends when Close gives up
// waiting, so that Close returns soon after its own context ends; the
// caller runs the returned function when the call ends.
func (e *Engine) begin(ctx context.Context) (context.Context, func(), error) {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.closed {
		return nil, nil, ErrClosed
	}
	e.calls.Add(1)
	ctx, cancel := context.WithCancel(ctx)
	stop := context.AfterFunc(e.runCtx, cancel)
	return ctx, func() {
		stop()
		cancel()
		e.calls.Done()
	}, nil
}

// Owner returns the name this engine uses in the log's leases.
func (e *Engine) Owner() string { return e.owner }

// now returns the current time in the precision every log keeps.
func (e *Engine) now() time.Time {
	return e.nowFunc().UTC().Truncate(time.Microsecond)
}

func defaultOwner() string {
	host, err := os.Hostname()
	if err != nil || host == "" {
		host = "engine"
	}
	var b [4]byte
	_, _ = rand.Read(b[:])
	return fmt.Sprintf("%s-%d-%s", host, os.Getpid(), hex.EncodeToString(b[:]))
}
