package sqlsource

import (
	"bytes"
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"regexp"
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
	// TablePrefix starts the names of the two tables the Source uses,
	// <prefix>triggers and <prefix>trigger_revisions, so that they can
	// share a database with the execution log and the host's own tables.
	// It holds at most 32 characters of a-z, 0-9 and _. Defaults to
	// "tickethooks_".
	TablePrefix string
	// Options are the options the stored definitions are loaded and
	// validated with, as trigger.Parse takes them: pass the host's
	// AllowNetworks, RequireHTTPS and ActionTypes. Nil means the
	// defaults.
	Options *trigger.Options
	// CheckInterval is how often, at most, ForTicket and Trigger ask the
	// database whether the triggers changed, with one small query.
	// Defaults to 1 second. Changes made through this Source, and Reload,
	// take effect at once whatever the interval.
	CheckInterval time.Duration
	// Logger receives the errors of the reloads that ForTicket and Trigger
	// start, which they do not return: they keep serving the last
	// triggers that loaded. Defaults to slog.Default().
	Logger *slog.Logger
	// Now returns the current time. Defaults to time.Now; tests set it
	// to move the clock past CheckInterval.
	Now func() time.Time
}

// prefixPattern is what a TablePrefix may hold.
var prefixPattern = regexp.MustCompile(`^[a-z0-9_]{0,32}$`)

// Source is a trigger.Source whose triggers are stored in a SQL database,
// one row per trigger, and cached in memory.
//
// It loads the stored triggers on first use and serves them from memory
// after that. ForTicket and Trigger check at most every CheckInterval
// whether the stored triggers changed, and reload them if they did; a
// Put, Delete or SetEnabled through this Source, or a call to Reload,
// takes effect at once. A set of stored triggers that fails to load never
// replaces the triggers being served.
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

	// triggers and revisions are the quoted table names.
	triggers, revisions string

	// store serves the last triggers that loaded.
	store trigger.Store
	// loaded is set once a load has succeeded.
	loaded atomic.Bool
	// revision is the revision of the stored triggers that store holds.
	revision atomic.Int64
	// failed is the last revision that failed to load after a check,
	// which later checks do not load again; -1 when none.
	failed atomic.Int64
	// checkAt is when, in Unix nanoseconds, ForTicket and Trigger next
	// ask whether the triggers changed; 0 asks at the next call.
	checkAt atomic.Int64
	// loading is held by the one call that loads at a time.
	loading chan struct{}
}

var _ trigger.Source = (*Source)(nil)

// New returns a Source of the triggers stored in db, a database of the
// dialect cfg.Dialect. It does not touch the database: call Migrate to
// create the tables.
//
// New returns an error when db is nil, cfg.Dialect is not one of the
// dialects, cfg.TablePrefix is malformed, cfg.CheckInterval is negative or
// cfg.Options are invalid (matching trigger.ErrInvalid).
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
	s := &Source{
		db:        db,
		d:         cfg.Dialect,
		opts:      cfg.Options,
		interval:  cfg.CheckInterval,
		logger:    cfg.Logger,
		now:       cfg.Now,
		triggers:  cfg.Dialect.quote(cfg.TablePrefix + "triggers"),
		revisions: cfg.Dialect.quote(cfg.TablePrefix + "trigger_revisions"),
		loading:   make(chan struct{}, 1),
	}
	s.failed.Store(-1)
	return s, nil
}

// cut returns s, or its first n bytes followed by "...".
func cut(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "..."
}

// ForTicket returns the stored triggers, enabled or not, in the order of
// their positions (then of their ids), whatever the ticket. Callers must
// not modify the slice.
//
// The first call loads the triggers and returns the load's error if it
// fails. Later calls check for changes at most every CheckInterval; when
// a reload fails, they log the error and return the triggers already
// loaded.
func (s *Source) ForTicket(ctx context.Context, tenant string, t *payload.Ticket) ([]*trigger.Trigger, error) {
	if err := s.fresh(ctx); err != nil {
		return nil, err
	}
	return s.store.ForTicket(ctx, tenant, t)
}

// Trigger returns the stored trigger with the given id, or an error
// matching trigger.ErrNotFound. It loads and checks for changes as
// ForTicket does.
func (s *Source) Trigger(ctx context.Context, tenant, id string) (*trigger.Trigger, error) {
	if err := s.fresh(ctx); err != nil {
		return nil, err
	}
	return s.store.Trigger(ctx, tenant, id)
}

// Set returns the triggers being served, which is empty before the first
// load.
func (s *Source) Set() *trigger.Set {
	return s.store.Set()
}

// Reload loads the stored triggers now, whether or not they changed. When
// they fail to load, Reload returns the error and the Source keeps
// serving the triggers it had: a definition that does not load is
// reported as trigger.Parse reports it (each problem an *trigger.Error
// naming the trigger and the part at fault, matching trigger.ErrInvalid).
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
	return s.load(ctx, -1)
}

// fresh makes sure the triggers are loaded, and reloads them when
// CheckInterval has passed since the last check and they changed.
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
				slog.String("table", s.triggers), slog.Int64("revision", s.revision.Load()), slog.String("error", err.Error()))
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
	return s.load(ctx, -1)
}

// check reloads the triggers if their revision changed. The caller holds
// s.loading.
func (s *Source) check(ctx context.Context) error {
	rev, err := s.readRevision(ctx, s.db)
	if err != nil {
		s.checkAt.Store(s.now().Add(s.interval).UnixNano())
		return fmt.Errorf("sqlsource: %w", err)
	}
	if rev == s.revision.Load() || rev == s.failed.Load() {
		s.checkAt.Store(s.now().Add(s.interval).UnixNano())
		return nil
	}
	if err := s.load(ctx, rev); err != nil {
		if ctx.Err() == nil {
			s.failed.Store(rev) // reported once; the next change is loaded
		}
		return err
	}
	return nil
}

// queryer is what both *sql.DB and *sql.Tx offer.
type queryer interface {
	ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error)
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
	QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row
}

// readRevision returns the revision of the stored triggers.
func (s *Source) readRevision(ctx context.Context, q queryer) (int64, error) {
	var rev int64
	if err := q.QueryRowContext(ctx, `SELECT revision FROM `+s.revisions+` WHERE scope = ''`).Scan(&rev); err != nil {
		return 0, fmt.Errorf("reading the revision from %s: %w", s.revisions, err)
	}
	return rev, nil
}

// load reads and compiles the stored triggers and, when they load, serves
// them. rev is their revision when the caller has just read it, or -1.
// The caller holds s.loading.
func (s *Source) load(ctx context.Context, rev int64) error {
	// The revision is read before the rows: a change committed between
	// the two reads leaves an old revision with new rows, which the next
	// check loads again, never a new revision with old rows.
	s.checkAt.Store(s.now().Add(s.interval).UnixNano())
	if rev < 0 {
		var err error
		if rev, err = s.readRevision(ctx, s.db); err != nil {
			return fmt.Errorf("sqlsource: %w", err)
		}
	}
	set, err := s.read(ctx)
	if err != nil {
		return err
	}
	s.store.Replace(set)
	s.revision.Store(rev)
	s.loaded.Store(true)
	return nil
}

// row is one stored trigger.
type row struct {
	id         string
	enabled    bool
	definition []byte
}

// read reads the stored triggers and compiles them.
func (s *Source) read(ctx context.Context) (*trigger.Set, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT id, enabled, definition FROM `+s.triggers+` ORDER BY position, id`)
	if err != nil {
		return nil, fmt.Errorf("sqlsource: reading triggers from %s: %w", s.triggers, err)
	}
	defer rows.Close()
	var rs []row
	for rows.Next() {
		var r row
		if err := rows.Scan(&r.id, &r.enabled, &r.definition); err != nil {
			return nil, fmt.Errorf("sqlsource: reading triggers from %s: %w", s.triggers, err)
		}
		rs = append(rs, r)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("sqlsource: reading triggers from %s: %w", s.triggers, err)
	}
	set, err := s.compile(rs)
	if err != nil {
		return nil, fmt.Errorf("sqlsource: loading triggers from %s: %w", s.triggers, err)
	}
	return set, nil
}

// compile loads the definitions of rs, in order, as one trigger.Parse
// input, so that each problem is reported as Parse reports it. The row's
// id and enabled columns are authoritative: a definition with another id
// is an error, and the enabled column overrides the definition's.
func (s *Source) compile(rs []row) (*trigger.Set, error) {
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
	set, err := trigger.Parse(array.Bytes(), s.opts)
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
	return trigger.Compile(defs, s.opts)
}

// errNotObject is the cause of a stored definition that is not one JSON
// object.
var errNotObject = errors.New("the definition is not one JSON object")

// isObject reports whether data is one valid JSON object.
func isObject(data []byte) bool {
	data = bytes.TrimLeft(data, " \t\r\n")
	return len(data) > 0 && data[0] == '{' && json.Valid(data)
}
