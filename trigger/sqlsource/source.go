package sqlsource

import (
	"bytes"
	"context"
	"crypto/sha256"
	"database/sql"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"regexp"
	"slices"
	"sync/atomic"
	"time"

	"github.com/tickethooks/tickethooks/payload"
	"github.com/tickethooks/tickethooks/trigger"
)

// DefaultTablePrefix is the TablePrefix used when Config leaves it empty.
const DefaultTablePrefix = "tickethooks_"

// DefaultCheckInterval is the CheckInterval used when Config leaves it
// zero.
const DefaultCheckInterval = time.Second

// Config configures a Source.
type Config struct {
	// Dialect is the SQL dialect of the database: SQLite, Postgres or
	// MySQL. Required.
	Dialect Dialect
	// TablePrefix starts the names of the three tables the Source uses,
	// <prefix>triggers, <prefix>trigger_revisions and
	// <prefix>trigger_tenants, so that they can
	// share a database with the execution log and the host's own tables.
	// It holds at most 32 characters of a-z, 0-9 and _. Defaults to
	// "tickethooks_".
	TablePrefix string
	// Options are the options the stored definitions are loaded and
	// validated with, as trigger.Parse takes them: pass the host's
	// AllowNetworks, RequireHTTPS and ActionTypes. Nil means the
	// defaults. Options.Tenant must be empty: each tenant's triggers
	// load with their own tenant.
	Options *trigger.Options
	// CheckInterval is how often, at most, ForTicket and Trigger ask the
	// database whether the triggers changed, with one small query.
	// Defaults to 1 second. Changes made through this Source, and Reload,
	// take effect at once whatever the interval.
	CheckInterval time.Duration
	// Logger receives the errors of the reloads that ForTicket and Trigger
	// start, which they do not return: they keep serving each tenant's
	// last triggers that loaded. Defaults to slog.Default().
	Logger *slog.Logger
	// Now returns the current time. Defaults to time.Now; tests set it
	// to move the clock past CheckInterval.
	Now func() time.Time
}

// prefixPattern is what a TablePrefix may hold.
var prefixPattern = regexp.MustCompile(`^[a-z0-9_]{0,32}$`)

// Source is a trigger.Source whose triggers are stored in a SQL database,
// one row per trigger of each tenant, and cached in memory, one compiled
// trigger.Set per tenant.
//
// It loads the stored triggers on first use and serves them from memory
// after that. ForTicket and Trigger check at most every CheckInterval
// whether the stored triggers changed, with one small query, and reload
// the tenants whose triggers changed, only those; a Put, Delete,
// SetEnabled or DeleteTenant through this Source, or a call to Reload,
// takes effect at once. A tenant's stored triggers that fail to load never
// replace the triggers being served for that tenant; the other tenants'
// changes are served.
//
// A Source is safe for concurrent use. Create its tables with Migrate
// before the first use.
type Source struct {
	db       *sql.DB
	d        Dialect
	opts     *trigger.Options
	interval time.Duration
	logger   *slog.Logger
	now      func() time.Time

	// triggers, revisions, tenants and tenantsIndex are the quoted
	// names of the tables and index; rawTriggers is the triggers table's
	// name unquoted.
	triggers, revisions, tenants, tenantsIndex string
	rawTriggers                                string

	// served maps each loaded tenant to its triggers. It is replaced,
	// never changed, by the call holding loading.
	served atomic.Pointer[map[string]*tenantState]
	// loaded is set once a load has succeeded.
	loaded atomic.Bool
	// revision is the revision of scope "" that served reflects, and
	// latest the highest revision of a tenant it reflects. The caller
	// holding loading reads and writes them.
	revision, latest int64
	// checkAt is when, in Unix nanoseconds, ForTicket and Trigger next
	// ask whether the triggers changed; 0 asks at the next call.
	checkAt atomic.Int64
	// loading is held by the one call that loads at a time.
	loading chan struct{}
}

// tenantState is what a Source serves for one tenant.
type tenantState struct {
	// set is the tenant's triggers, or nil when they never loaded.
	set *trigger.Set
	// digest is the SHA-256 of the stored rows set was compiled from:
	// a reload of identical rows keeps set.
	digest [sha256.Size]byte
	// err is why the tenant's triggers never loaded, when set is nil.
	err error
}

var _ trigger.Source = (*Source)(nil)

// New returns a Source of the triggers stored in db, a database of the
// dialect cfg.Dialect. It does not touch the database: call Migrate to
// create the tables.
//
// New returns an error when db is nil, cfg.Dialect is not one of the
// dialects, cfg.TablePrefix is malformed, cfg.CheckInterval is negative or
// cfg.Options are invalid (matching trigger.ErrInvalid) or name a tenant.
func New(db *sql.DB, cfg Config) (*Source, error) {
	if db == nil {
		return nil, errors.New("sqlsource: invalid config: db is nil")
	}
	if !cfg.Dialect.valid() {
		return nil, fmt.Errorf("sqlsource: invalid config: Dialect %v is not sqlsource.SQLite, sqlsource.Postgres or sqlsource.MySQL", cfg.Dialect)
	}
	if cfg.TablePrefix == "" {
		cfg.TablePrefix = DefaultTablePrefix
	}
	if !prefixPattern.MatchString(cfg.TablePrefix) {
		return nil, fmt.Errorf("sqlsource: invalid config: TablePrefix %q must be at most 32 characters of a-z, 0-9 and _",
			cut(cfg.TablePrefix, 64))
	}
	if cfg.CheckInterval < 0 {
		return nil, fmt.Errorf("sqlsource: invalid config: CheckInterval %v is negative", cfg.CheckInterval)
	}
	if cfg.Options != nil && cfg.Options.Tenant != "" {
		return nil, fmt.Errorf("sqlsource: invalid config: Options.Tenant is %q; leave it empty, each tenant's triggers load with their own",
			cut(cfg.Options.Tenant, 64))
	}
	if _, err := trigger.Compile(nil, cfg.Options); err != nil {
		return nil, fmt.Errorf("sqlsource: invalid config: %w", err)
	}
	if cfg.CheckInterval == 0 {
		cfg.CheckInterval = DefaultCheckInterval
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	d := cfg.Dialect
	s := &Source{
		db:           db,
		d:            d,
		opts:         cfg.Options,
		interval:     cfg.CheckInterval,
		logger:       cfg.Logger,
		now:          cfg.Now,
		triggers:     d.quote(cfg.TablePrefix + "triggers"),
		revisions:    d.quote(cfg.TablePrefix + "trigger_revisions"),
		tenants:      d.quote(cfg.TablePrefix + "trigger_tenants"),
		tenantsIndex: d.quote(cfg.TablePrefix + "trigger_tenants_revision"),
		rawTriggers:  cfg.TablePrefix + "triggers",
		loading:      make(chan struct{}, 1),
	}
	s.served.Store(&map[string]*tenantState{})
	return s, nil
}

// cut returns s, or its first n bytes followed by "...".
func cut(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "..."
}

// optionsFor returns the Source's Options for loading tenant's triggers.
func (s *Source) optionsFor(tenant string) *trigger.Options {
	var o trigger.Options
	if s.opts != nil {
		o = *s.opts
	}
	o.Tenant = tenant
	return &o
}

// ForTicket returns tenant's stored triggers, enabled or not, in the order
// of their positions (then of their ids), whatever the ticket. A tenant
// without stored triggers has none. Callers must not modify the slice.
//
// The first call loads the triggers and returns the load's error if it
// fails; while a tenant's stored triggers have never loaded, ForTicket
// returns why for that tenant. Later calls check for changes at most
// every CheckInterval; when a reload fails, they log the error and
// return the triggers already loaded.
func (s *Source) ForTicket(ctx context.Context, tenant string, _ *payload.Ticket) ([]*trigger.Trigger, error) {
	if err := s.fresh(ctx); err != nil {
		return nil, err
	}
	st := (*s.served.Load())[tenant]
	switch {
	case st == nil:
		return nil, nil
	case st.set == nil:
		return nil, st.err
	}
	return st.set.Triggers(), nil
}

// Trigger returns tenant's stored trigger with the given id, or an error
// matching trigger.ErrNotFound. Another tenant's trigger with the same id
// is never returned. It loads and checks for changes as ForTicket does.
func (s *Source) Trigger(ctx context.Context, tenant, id string) (*trigger.Trigger, error) {
	if err := s.fresh(ctx); err != nil {
		return nil, err
	}
	st := (*s.served.Load())[tenant]
	if st != nil && st.set == nil {
		return nil, st.err
	}
	if st != nil {
		if t, ok := st.set.Get(id); ok {
			return t, nil
		}
	}
	return nil, fmt.Errorf("sqlsource: trigger %q%s: %w", cut(id, 200), ofTenant(tenant), trigger.ErrNotFound)
}

// Set returns the triggers being served for tenant "", which is empty
// before the first load. It is TenantSet("").
func (s *Source) Set() *trigger.Set { return s.TenantSet("") }

// TenantSet returns the triggers being served for tenant, never nil:
// empty before the first load and for a tenant without triggers. It does
// not query the database: it returns what the last ForTicket, Trigger or
// Reload loaded.
func (s *Source) TenantSet(tenant string) *trigger.Set {
	if st := (*s.served.Load())[tenant]; st != nil && st.set != nil {
		return st.set
	}
	set, err := trigger.Compile(nil, &trigger.Options{Tenant: tenant})
	if err != nil { // a tenant no trigger may have
		set, _ = trigger.Compile(nil, nil)
	}
	return set
}

// Tenants returns, sorted, the tenants whose triggers are being served:
// those with stored triggers at the last load. It does not query the
// database: it returns what the last ForTicket, Trigger or Reload loaded.
func (s *Source) Tenants() []string {
	m := *s.served.Load()
	tenants := make([]string, 0, len(m))
	for tenant, st := range m {
		if st.set != nil {
			tenants = append(tenants, tenant)
		}
	}
	slices.Sort(tenants)
	return tenants
}

// Reload loads the stored triggers of every tenant now, whether or not
// they changed, and recompiles those of the tenants whose stored rows
// differ from the ones being served. When a tenant's triggers fail to
// load, Reload returns the error and the Source keeps serving the
// triggers it had for that tenant, while serving the other tenants'
// changes: a definition that does not load is reported as trigger.Parse
// reports it (each problem an *trigger.Error naming the trigger and the
// part at fault, matching trigger.ErrInvalid), wrapped with the tenant.
// A host that changes the table without this Source calls Reload after
// its commit, or increments the revision in the same transaction (see the
// package documentation).
func (s *Source) Reload(ctx context.Context) error {
	select {
	case s.loading <- struct{}{}:
	case <-ctx.Done():
		return ctx.Err()
	}
	defer func() { <-s.loading }()
	rev, latest, err := s.readRevisions(ctx)
	if err != nil {
		return err
	}
	return s.load(ctx, rev, latest, true)
}

// fresh makes sure the triggers are loaded, and reloads those that
// changed when CheckInterval has passed since the last check.
func (s *Source) fresh(ctx context.Context) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	if s.loaded.Load() {
		if s.now().UnixNano() < s.checkAt.Load() {
			return nil
		}
		select {
		case s.loading <- struct{}{}:
		default:
			return nil // another call is checking; serve what is loaded
		}
		defer func() { <-s.loading }()
		if s.now().UnixNano() < s.checkAt.Load() {
			return nil // checked while this call waited
		}
		if err := s.check(ctx); err != nil && ctx.Err() == nil {
			s.logger.LogAttrs(ctx, slog.LevelError, "sqlsource: reloading triggers failed; serving the triggers loaded before",
				slog.String("table", s.triggers), slog.Int64("revision", s.latest), slog.String("error", err.Error()))
		}
		return nil
	}
	select {
	case s.loading <- struct{}{}:
	case <-ctx.Done():
		return ctx.Err()
	}
	defer func() { <-s.loading }()
	if s.loaded.Load() {
		return nil // loaded while this call waited
	}
	rev, latest, err := s.readRevisions(ctx)
	if err != nil {
		return err
	}
	err = s.load(ctx, rev, latest, true)
	if !s.loaded.Load() {
		return err
	}
	// The tenants that failed to load return their error from ForTicket
	// and Trigger.
	return nil
}

// check reloads the tenants whose triggers changed, when the revisions
// did. The caller holds s.loading.
func (s *Source) check(ctx context.Context) error {
	rev, latest, err := s.readRevisions(ctx)
	if err != nil {
		s.checkAt.Store(s.now().Add(s.interval).UnixNano())
		return err
	}
	if rev == s.revision && latest == s.latest {
		s.checkAt.Store(s.now().Add(s.interval).UnixNano())
		return nil
	}
	// A change of the revision of scope "" is a change made with the
	// host's own SQL, which can be any tenant's; so is a highest tenant
	// revision that went back (the tenants table emptied by hand).
	return s.load(ctx, rev, latest, rev != s.revision || latest < s.latest)
}

// queryer is what *sql.DB, *sql.Conn and *sql.Tx offer.
type queryer interface {
	ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error)
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
	QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row
}

// readRevisions returns, in one query, the revision of scope "" and the
// highest revision of a tenant.
func (s *Source) readRevisions(ctx context.Context) (rev, latest int64, err error) {
	err = s.db.QueryRowContext(ctx, `SELECT revision, (SELECT COALESCE(MAX(revision), 0) FROM `+s.tenants+`) FROM `+
		s.revisions+` WHERE scope = ''`).Scan(&rev, &latest)
	if err != nil {
		return 0, 0, fmt.Errorf("sqlsource: reading the revisions from %s and %s: %w", s.revisions, s.tenants, err)
	}
	return rev, latest, nil
}

// maxTenantReads is the most changed tenants a reload reads one by one;
// with more it reads every tenant's rows in one query.
const maxTenantReads = 32

// load reads the stored triggers of every tenant (all), or of the tenants
// whose revision passed s.latest, compiles those whose rows changed, and
// serves the ones that compiled. rev and latest are the revisions the
// caller has just read, which s.revision and s.latest take unless a
// query fails. The caller holds s.loading.
func (s *Source) load(ctx context.Context, rev, latest int64, all bool) error {
	// The revisions are read before the rows: a change committed between
	// the two reads leaves old revisions with new rows, which the next
	// check loads again, never new revisions with old rows.
	s.checkAt.Store(s.now().Add(s.interval).UnixNano())
	var stored map[string][]row
	if !all {
		tenants, err := s.changedTenants(ctx, s.latest)
		if err != nil {
			return err
		}
		if len(tenants) > maxTenantReads {
			all = true
		} else {
			stored = make(map[string][]row, len(tenants))
			for _, tenant := range tenants {
				if stored[tenant], err = s.readTenant(ctx, tenant); err != nil {
					return err
				}
			}
		}
	}
	if all {
		var err error
		if stored, err = s.readAll(ctx); err != nil {
			return err
		}
	}
	err := s.apply(stored, all)
	s.revision, s.latest = rev, latest
	s.loaded.Store(true)
	return err
}

// apply compiles the rows of each tenant of stored whose digest differs
// from the served one, and serves the tenants that compiled. A tenant
// without rows is no longer served, nor, when all is set, is a tenant
// absent from stored. It returns the errors of the tenants that did not
// compile.
func (s *Source) apply(stored map[string][]row, all bool) error {
	old := *s.served.Load()
	next := make(map[string]*tenantState, len(old)+len(stored))
	for tenant, st := range old {
		if _, ok := stored[tenant]; ok || !all {
			next[tenant] = st
		}
	}
	var errs []error
	for _, tenant := range slices.Sorted(maps.Keys(stored)) {
		rs := stored[tenant]
		if len(rs) == 0 {
			delete(next, tenant)
			continue
		}
		sum := digest(rs)
		st := old[tenant]
		if st != nil && st.set != nil && st.digest == sum {
			continue // unchanged: keep the compiled set
		}
		set, err := s.compile(tenant, rs)
		if err != nil {
			err = fmt.Errorf("sqlsource: loading the triggers%s from %s: %w", ofTenant(tenant), s.triggers, err)
			errs = append(errs, err)
			if st == nil || st.set == nil {
				next[tenant] = &tenantState{err: err}
			}
			continue
		}
		next[tenant] = &tenantState{set: set, digest: sum}
	}
	s.served.Store(&next)
	return errors.Join(errs...)
}

// digest returns the SHA-256 of rs, in order.
func digest(rs []row) [sha256.Size]byte {
	h := sha256.New()
	var n [8]byte
	for _, r := range rs {
		for _, field := range [][]byte{[]byte(r.id), r.definition} {
			binary.BigEndian.PutUint64(n[:], uint64(len(field)))
			h.Write(n[:])
			h.Write(field)
		}
		if r.enabled {
			h.Write([]byte{1})
		} else {
			h.Write([]byte{0})
		}
	}
	var sum [sha256.Size]byte
	h.Sum(sum[:0])
	return sum
}

// row is one stored trigger.
type row struct {
	id         string
	enabled    bool
	definition []byte
}

// changedTenants returns the tenants whose revision is above rev.
func (s *Source) changedTenants(ctx context.Context, rev int64) ([]string, error) {
	rows, err := s.db.QueryContext(ctx, s.d.rebind(`SELECT tenant FROM `+s.tenants+` WHERE revision > ?`), rev)
	if err != nil {
		return nil, fmt.Errorf("sqlsource: reading the changed tenants from %s: %w", s.tenants, err)
	}
	defer rows.Close()
	var tenants []string
	for rows.Next() {
		var tenant string
		if err := rows.Scan(&tenant); err != nil {
			return nil, fmt.Errorf("sqlsource: reading the changed tenants from %s: %w", s.tenants, err)
		}
		tenants = append(tenants, tenant)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("sqlsource: reading the changed tenants from %s: %w", s.tenants, err)
	}
	return tenants, nil
}

// readTenant reads tenant's stored triggers, in order.
func (s *Source) readTenant(ctx context.Context, tenant string) ([]row, error) {
	var rs []row
	err := s.query(ctx, func(rows *sql.Rows) error {
		var r row
		if err := rows.Scan(&r.id, &r.enabled, &r.definition); err != nil {
			return err
		}
		rs = append(rs, r)
		return nil
	}, `SELECT id, enabled, definition FROM `+s.triggers+` WHERE tenant = ? ORDER BY position, id`, tenant)
	if err != nil {
		return nil, fmt.Errorf("sqlsource: reading the triggers%s from %s: %w", ofTenant(tenant), s.triggers, err)
	}
	return rs, nil
}

// readAll reads every tenant's stored triggers, each tenant's in order.
func (s *Source) readAll(ctx context.Context) (map[string][]row, error) {
	stored := make(map[string][]row)
	err := s.query(ctx, func(rows *sql.Rows) error {
		var tenant string
		var r row
		if err := rows.Scan(&tenant, &r.id, &r.enabled, &r.definition); err != nil {
			return err
		}
		stored[tenant] = append(stored[tenant], r)
		return nil
	}, `SELECT tenant, id, enabled, definition FROM `+s.triggers+` ORDER BY tenant, position, id`)
	if err != nil {
		return nil, fmt.Errorf("sqlsource: reading triggers from %s: %w", s.triggers, err)
	}
	return stored, nil
}

// query runs query, written with ? placeholders, and calls scan for each
// row.
func (s *Source) query(ctx context.Context, scan func(*sql.Rows) error, query string, args ...any) error {
	rows, err := s.db.QueryContext(ctx, s.d.rebind(query), args...)
	if err != nil {
		return err
	}
	defer rows.Close()
	for rows.Next() {
		if err := scan(rows); err != nil {
			return err
		}
	}
	return rows.Err()
}

// compile loads the definitions of rs, tenant's rows in order, as one
// trigger.Parse input with Options.Tenant set to tenant, so that each
// problem is reported as Parse reports it. The row's id and enabled
// columns are authoritative: a definition with another id is an error,
// and the enabled column overrides the definition's.
func (s *Source) compile(tenant string, rs []row) (*trigger.Set, error) {
	var errs []error
	var array bytes.Buffer
	array.WriteByte('[')
	for i, r := range rs {
		if !isObject(r.definition) {
			errs = append(errs, &trigger.Error{TriggerID: r.id, Index: i, Err: errNotObject})
			continue
		}
		if array.Len() > 1 {
			array.WriteByte(',')
		}
		array.Write(r.definition)
	}
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	array.WriteByte(']')
	opts := s.optionsFor(tenant)
	set, err := trigger.Parse(array.Bytes(), opts)
	if err != nil {
		return nil, err
	}
	defs := make([]trigger.Definition, len(rs))
	override := false
	for i, t := range set.Triggers() {
		if t.ID != rs[i].id {
			errs = append(errs, &trigger.Error{TriggerID: rs[i].id, Index: i, Path: "id",
				Err: fmt.Errorf("the definition's id %q differs from the row's id", cut(t.ID, 200))})
		}
		defs[i] = t.Definition()
		if t.Enabled != rs[i].enabled {
			override = true
			defs[i].Enabled = &rs[i].enabled
		}
	}
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	if !override {
		return set, nil
	}
	return trigger.Compile(defs, opts)
}

// errNotObject is the cause of a stored definition that is not one JSON
// object.
var errNotObject = errors.New("the definition is not one JSON object")

// isObject reports whether data is one valid JSON object.
func isObject(data []byte) bool {
	data = bytes.TrimLeft(data, " \t\r\n")
	return len(data) > 0 && data[0] == '{' && json.Valid(data)
}
