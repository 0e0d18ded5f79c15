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
// satisfies it.
type Redeliverer interface {
	// Redeliver puts the finished entry with the given id back in the
	// delivery queue. It returns an error wrapping executionlog.ErrNotFound
	// for an unknown id and executionlog.ErrNotFinished for a pending
	// entry.
	Redeliver(ctx context.Context, s executionlog.Scope, id string) error
	// RedeliverMatching redelivers the failed entries matching f, at most
	// limit of them, and returns how many it redelivered.
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

// Config configures the handler New returns. Only Log is required.
type Config struct {
	// Log is the execution log shown. Required.
	Log executionlog.Log
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
	// to, ticket, error, trigger, status, limit, cursor, max). Empty when
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
// Every link the handler writes is relative, so it works under any
// prefix. New returns an error when cfg.Log is nil, cfg.BulkLimit is
// negative or above MaxBulkLimit, cfg.CSRFKey is shorter than
// MinCSRFKey, or cfg.HostCSRF has a Field without a Token (or the other
// way round) or a Field named like a filter parameter.
func New(cfg Config) (http.Handler, error) {
	if cfg.Log == nil {
		return nil, fmt.Errorf("%w: Log is required", errConfig)
	}
	if cfg.BulkLimit < 0 || cfg.BulkLimit > MaxBulkLimit {
		return nil, fmt.Errorf("%w: BulkLimit %d must be between 0 (the default, %d) and %d", errConfig, cfg.BulkLimit, DefaultBulkLimit, MaxBulkLimit)
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
		return nil, fmt.Errorf("%w: CSRFKey is %d bytes, want at least %d", errConfig, len(key), MinCSRFKey)
	default:
		key = append([]byte(nil), key...)
	}
	if err := cfg.HostCSRF.check(); err != nil {
		return nil, err
	}
	if cfg.HostCSRF != nil {
		host := *cfg.HostCSRF // later changes by the caller do not reach the handler
		cfg.HostCSRF = &host
	}
	if cfg.ReadOnly {
		cfg.Redeliverer = nil
	}
	return newHandler(cfg, key), nil
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
