package logview

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"time"

	"github.com/tickethooks/tickethooks/executionlog"
)

// Redeliverer sends finished deliveries again. *tickethooks.Engine
// satisfies it. The handler passes the tenants of the request: the
// tenant Config.Tenant names (or tenant "" without it), or every tenant
// in the operator view.
type Redeliverer interface {
	// Redeliver puts the finished entry with the given id, in scope s,
	// back in the delivery queue. It returns an error wrapping
	// executionlog.ErrNotFound for an unknown id or an entry outside s,
	// and executionlog.ErrNotFinished for a pending entry.
	Redeliver(ctx context.Context, s executionlog.Scope, id string) error
	// RedeliverMatching redelivers the failed entries matching f, at most
	// limit of them, and returns how many it redelivered. It sees the
	// entries of f.Tenant only, unless f.AllTenants is set.
	RedeliverMatching(ctx context.Context, f executionlog.Filter, limit int) (int, error)
}

// Limits of the handler.
const (
	// DefaultBulkLimit is the default of Config.BulkLimit.
	DefaultBulkLimit = 100
	// MaxBulkLimit is the largest Config.BulkLimit, the most entries the
	// engine redelivers in one call.
	MaxBulkLimit = 1000
	// DefaultPageSize is the number of entries on a page when the request
	// gives no limit.
	DefaultPageSize = 50
	// MaxPageSize is the largest limit a request may ask for.
	MaxPageSize = 200
	// MinCSRFKey is the shortest Config.CSRFKey, in bytes.
	MinCSRFKey = 16
)

// Config configures the handler New or NewOperator returns. Only Log is
// required.
type Config struct {
	// Log is the execution log shown. Required.
	Log executionlog.Log
	// Tenant, when set, says which tenant (account) a request belongs to,
	// from the host's own authentication, such as the account of the
	// signed-in admin. Every page, filter, entry, JSON endpoint,
	// redelivery and bulk redelivery of the request is then confined to
	// that tenant's entries: another tenant's entry id is answered 404,
	// exactly like an id the log does not hold. A request for which
	// Tenant returns ok false, the empty tenant, or a tenant that
	// executionlog.ValidateTenant refuses is answered 403 Forbidden with
	// no data. A tenant parameter in the request is answered 400 Bad
	// Request: the host names the tenant, never the request. Tenant is
	// called once per request, before anything is read from the log; it
	// must be safe for concurrent use.
	//
	// When Tenant is nil, the handler serves the entries of tenant "",
	// which are all the entries of a single-tenant log. The operator view
	// (NewOperator) serves every tenant and takes no Tenant.
	Tenant func(r *http.Request) (tenant string, ok bool)
	// Redeliverer sends entries again; usually the *tickethooks.Engine
	// that writes Log. When nil, the redeliver buttons are hidden and the
	// redelivery requests are refused with 403, as in ReadOnly mode.
	Redeliverer Redeliverer
	// ReadOnly hides the redeliver buttons and refuses the redelivery
	// requests (HTML forms and JSON API) with 403 Forbidden. Use it for
	// admins who may look but not act, with a second handler for the
	// others.
	ReadOnly bool
	// Title heads every page. Defaults to "Webhook Execution Log".
	Title string
	// BulkLimit is the most failed entries one "redeliver matching"
	// request redelivers, in HTML and in the JSON API. At most
	// MaxBulkLimit. Defaults to 100.
	BulkLimit int
	// Location is the time zone pages show times in and read dates
	// without a zone in (the from and to filters). Defaults to UTC.
	Location *time.Location
	// Now returns the current time, shown as how long ago or how soon
	// things happen. Defaults to time.Now.
	Now func() time.Time
	// CSRFKey signs the tokens that protect the HTML forms. Handlers that
	// serve the same users behind a load balancer need the same key, of
	// at least MinCSRFKey bytes. Defaults to a random key per handler:
	// a form loaded before a restart must be reloaded after it. Unused
	// with HostCSRF.
	CSRFKey []byte
	// HostCSRF, when set, replaces the handler's own CSRF token of the
	// HTML forms with the host's CSRF protection, for hosts whose
	// middleware demands its own token on every POST. Defaults to nil: the
	// handler protects its forms itself. See HostCSRF.
	HostCSRF *HostCSRF
	// Logger receives the errors of the log and of the redeliverer, which
	// pages show only as "internal error". Defaults to slog.Default().
	Logger *slog.Logger
}

// HostCSRF hands the CSRF protection of the HTML forms to the host. The
// forms carry the host's token in the hidden field the host names, and
// the handler no longer sets its CSRF cookie nor checks its own token on
// form POSTs: it trusts that the host's CSRF middleware, which must run
// before the handler on every request it serves, refused each POST
// without a valid token. The handler still refuses POSTs from other
// origins (Sec-Fetch-Site and Origin, http.CrossOriginProtection), and
// the JSON API still demands Content-Type: application/json and an
// X-Requested-With header.
//
// With gorilla/csrf, for example:
//
//	logview.Config{Log: execLog, Redeliverer: engine,
//		HostCSRF: &logview.HostCSRF{Field: "gorilla.csrf.Token", Token: csrf.Token}}
type HostCSRF struct {
	// Field is the name of the form field the host's middleware reads the
	// token from. It must not be the name of a filter parameter (from,
	// to, ticket, error, trigger, status, tenant, limit, cursor, max).
	// Empty when
	// the host's check needs no field in the form (it checks, say, the
	// Origin or a SameSite cookie); then Token must be nil too.
	Field string
	// Token returns the host's CSRF token for r, the request of the page
	// that shows a form, such as gorilla/csrf's csrf.Token. Required when
	// Field is set.
	Token func(r *http.Request) string
}

// errConfig is wrapped by every error New returns.
var errConfig = errors.New("logview: invalid config")

// New returns the handler of the Webhook Execution Log pages and JSON API
// for cfg. The host mounts it under a prefix of its choice, behind its own
// authentication:
//
//	mux.Handle("/admin/webhooks/", requireAdmin(http.StripPrefix("/admin/webhooks", h)))
//
// With cfg.Tenant set, each request sees only the entries of the tenant
// that cfg.Tenant names for it; see Config.Tenant.
//
// Every link the handler writes is relative, so it works under any
// prefix. New returns an error when cfg.Log is nil, cfg.BulkLimit is
// negative or above MaxBulkLimit, cfg.CSRFKey is shorter than
// MinCSRFKey, or cfg.HostCSRF has a Field without a Token (or the other
// way round) or a Field named like a filter parameter.
func New(cfg Config) (http.Handler, error) {
	cfg, key, err := prepare(cfg, "New")
	if err != nil {
		return nil, err
	}
	return newHandler(cfg, key, nil), nil
}

// NewOperator returns the operator view of the log for the host's own
// staff: the pages and JSON API of New over the entries of every tenant,
// with a tenant column in the list, the tenant on the entry page and in
// the JSON entries ("tenant"), and a tenant filter (the tenant
// parameter; empty for every tenant). Redelivery and bulk redelivery act
// on any tenant's entries; a bulk redelivery without a tenant filter
// redelivers the failed entries of every tenant, as the confirmation page
// says.
//
// staff reports whether a request comes from the host's staff, from the
// host's own authentication; every request for which it returns false is
// answered 403 Forbidden with no data. Mount the operator view apart from
// the tenants' views, behind the host's staff login:
//
//	ops, err := logview.NewOperator(logview.Config{Log: execLog, Redeliverer: engine}, isStaff)
//	mux.Handle("/staff/webhooks/", http.StripPrefix("/staff/webhooks", ops))
//
// NewOperator returns an error for the configs New refuses, when staff
// is nil, and when cfg.Tenant is set: the operator view serves every
// tenant.
func NewOperator(cfg Config, staff func(r *http.Request) bool) (http.Handler, error) {
	if staff == nil {
		return nil, fmt.Errorf("%w: NewOperator: staff is required: it tells the host's staff from everyone else", errConfig)
	}
	if cfg.Tenant != nil {
		return nil, fmt.Errorf("%w: NewOperator: Tenant must be nil: the operator view serves every tenant, and staff decides who may see it", errConfig)
	}
	cfg, key, err := prepare(cfg, "NewOperator")
	if err != nil {
		return nil, err
	}
	return newHandler(cfg, key, staff), nil
}

// prepare checks cfg for the constructor fn and returns it with defaults
// applied, and the CSRF key.
func prepare(cfg Config, fn string) (Config, []byte, error) {
	if cfg.Log == nil {
		return cfg, nil, fmt.Errorf("%w: %s: Log is required", errConfig, fn)
	}
	if cfg.BulkLimit < 0 || cfg.BulkLimit > MaxBulkLimit {
		return cfg, nil, fmt.Errorf("%w: %s: BulkLimit %d must be between 0 (the default, %d) and %d", errConfig, fn, cfg.BulkLimit, DefaultBulkLimit, MaxBulkLimit)
	}
	if cfg.BulkLimit == 0 {
		cfg.BulkLimit = DefaultBulkLimit
	}
	if cfg.Title == "" {
		cfg.Title = "Webhook Execution Log"
	}
	if cfg.Location == nil {
		cfg.Location = time.UTC
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	key := cfg.CSRFKey
	switch {
	case key == nil:
		key = make([]byte, 32)
		_, _ = rand.Read(key) // crypto/rand.Read never returns an error.
	case len(key) < MinCSRFKey:
		return cfg, nil, fmt.Errorf("%w: %s: CSRFKey is %d bytes, want at least %d", errConfig, fn, len(key), MinCSRFKey)
	default:
		key = append([]byte(nil), key...)
	}
	if err := cfg.HostCSRF.check(); err != nil {
		return cfg, nil, err
	}
	if cfg.HostCSRF != nil {
		host := *cfg.HostCSRF // later changes by the caller do not reach the handler
		cfg.HostCSRF = &host
	}
	if cfg.ReadOnly {
		cfg.Redeliverer = nil
	}
	return cfg, key, nil
}

// check returns an error wrapping errConfig when c, which may be nil, is
// not usable.
func (c *HostCSRF) check() error {
	switch {
	case c == nil:
		return nil
	case c.Field == "" && c.Token != nil:
		return fmt.Errorf("%w: HostCSRF.Token is set but HostCSRF.Field, the form field it fills, is empty", errConfig)
	case c.Field != "" && c.Token == nil:
		return fmt.Errorf("%w: HostCSRF.Field is %q but HostCSRF.Token, which fills it, is nil", errConfig, c.Field)
	case apiParams[c.Field] || c.Field == paramLimit:
		return fmt.Errorf("%w: HostCSRF.Field %q is the name of a filter parameter", errConfig, c.Field)
	}
	return nil
}
