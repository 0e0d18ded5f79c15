package tickethooks

import (
	"context"
	"fmt"
	"log/slog"

	"github.com/tickethooks/tickethooks/executionlog"
)

// TenantPolicy limits what one tenant (account) may take of an engine
// shared by many, so that one account's flood, or its slow or dead
// receiver, does not delay the others' deliveries.
type TenantPolicy struct {
	// MaxInFlight is the most deliveries of one tenant that the engine
	// has in flight at once (attempts running, and entries claimed ahead
	// of a free worker). The engine's claims skip a tenant at its limit
	// and take at most this many entries of any one tenant, so that the
	// other tenants' due entries are claimed in the next claim whatever
	// one tenant's backlog. It holds per engine: a fleet of n engines
	// gives a tenant up to n times as many. Defaults to half of
	// Config.Workers, rounded up, when Config.MultiTenant is set, and to
	// no limit otherwise. -1 means no limit: one tenant may then take
	// every worker, and the claims of a tenant engine still take at most
	// half the workers' worth of entries of any one tenant, so another
	// tenant's due entry waits for a free worker but not behind a
	// backlog.
	MaxInFlight int

	// MaxPending, when positive, is the most pending entries one tenant
	// may have in the log: OnTicketChange returns ErrQueueFull for a
	// change of a tenant at its limit, and the other tenants are
	// unaffected. The count is read from the log before each write, so
	// concurrent changes of one tenant may pass it by a few entries, and
	// a change replayed with the same change key (WithChangeKey) counts
	// as new: at the limit, the replay gets ErrQueueFull although it
	// would record nothing, and the host retries it later. The
	// log must implement executionlog.PendingCounter (the memory log and
	// the SQL log do). Defaults to no limit.
	MaxPending int

	// MetricAttribute adds the tenant as the attribute tickethooks.tenant
	// to the engine's metrics. It is off by default: with many tenants it
	// makes many time series. Log lines and spans always carry the
	// tenant.
	MetricAttribute bool
}

// tenantLimits are a TenantPolicy with its defaults applied.
type tenantLimits struct {
	inFlight   int // 0: no limit
	window     int // most entries of one tenant per claim; 0: no limit
	maxPending int // 0: no limit
	metric     bool
}

// resolve checks p and applies its defaults for an engine of workers
// workers.
func (p TenantPolicy) resolve(multi bool, workers int, log executionlog.Log) (tenantLimits, error) {
	l := tenantLimits{inFlight: p.MaxInFlight, maxPending: p.MaxPending, metric: p.MetricAttribute}
	share := (workers + 1) / 2
	switch {
	case p.MaxInFlight < -1:
		return l, fmt.Errorf("Tenants.MaxInFlight %d is below -1", p.MaxInFlight)
	case p.MaxInFlight == -1:
		l.inFlight = 0
	case p.MaxInFlight == 0 && multi:
		l.inFlight = share
	}
	// Claims of a tenant engine take a bounded share of each tenant even
	// without a limit in flight, so that one tenant's backlog is never
	// claimed ahead of another tenant's due entry.
	l.window = l.inFlight
	if l.window == 0 && multi {
		l.window = share
	}
	if p.MaxPending < 0 {
		return l, fmt.Errorf("Tenants.MaxPending %d is negative", p.MaxPending)
	}
	if p.MaxPending > 0 {
		if _, ok := log.(executionlog.PendingCounter); !ok {
			return l, fmt.Errorf("Tenants.MaxPending is set but the log (%T) does not implement executionlog.PendingCounter", log)
		}
	}
	return l, nil
}

// checkTenant checks the tenant of a change.
func (e *Engine) checkTenant(tenant string) error {
	if tenant == "" && e.multiTenant {
		return fmt.Errorf("%w: the engine is configured for tenants (Config.MultiTenant) and the change has none; pass WithTenant", ErrTenant)
	}
	if err := executionlog.ValidateTenant(tenant); err != nil {
		return fmt.Errorf("%w: %w", ErrTenant, err)
	}
	return nil
}

// checkPending returns ErrQueueFull when the pending entries among
// entries would take tenant beyond Tenants.MaxPending.
func (e *Engine) checkPending(ctx context.Context, tenant string, entries []*executionlog.Entry) error {
	if e.tenants.maxPending == 0 {
		return nil
	}
	adding := 0
	for _, en := range entries {
		if en.Status == executionlog.StatusPending {
			adding++
		}
	}
	if adding == 0 {
		return nil
	}
	n, err := e.log.(executionlog.PendingCounter).CountPending(ctx, tenant, e.tenants.maxPending)
	if err != nil {
		return fmt.Errorf("tickethooks: counting the pending deliveries%s: %w", tenantSuffix(tenant), err)
	}
	if n+adding > e.tenants.maxPending {
		return fmt.Errorf("%w: %d pending deliveries%s, and %d more would pass its limit of %d (Config.Tenants.MaxPending)",
			ErrQueueFull, n, tenantSuffix(tenant), adding, e.tenants.maxPending)
	}
	return nil
}

// tenantSuffix returns " of tenant %q", or "" for tenant "", for errors.
func tenantSuffix(tenant string) string {
	if tenant == "" {
		return ""
	}
	return fmt.Sprintf(" of tenant %q", tenant)
}

// tenantAttrs returns the log line attributes that name tenant, when it
// is not "", then more.
func tenantAttrs(tenant string, more ...slog.Attr) []slog.Attr {
	if tenant == "" {
		return more
	}
	return append(append(make([]slog.Attr, 0, 1+len(more)), slog.String("tenant", tenant)), more...)
}
