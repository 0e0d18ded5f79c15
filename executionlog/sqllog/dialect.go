package sqllog

import (
	"context"
	"database/sql"
	"fmt"
	"time"

	"github.com/tickethooks/tickethooks/executionlog"
	"github.com/tickethooks/tickethooks/internal/textcut"
)

// Dialect adapts the log to one SQL database: its placeholders, types,
// schema, migration lock, claiming and pruning. Use the SQLite, Postgres
// and MySQL values; its methods other than String are unexported, so other
// packages cannot implement it.
type Dialect interface {
	// String names the dialect.
	String() string

	// rebind rewrites a query written with ? placeholders into the
	// dialect's placeholders.
	rebind(query string) string
	// quote quotes an identifier made of [a-z0-9_].
	quote(name string) string
	// timeArg encodes t, which may be zero, as a query argument.
	timeArg(t time.Time) any
	// wallClock reports whether the database returns times as wall clock
	// readings without a zone (MySQL DATETIME), to be read as UTC.
	wallClock() bool
	// concat returns the SQL expression of a followed by b.
	concat(a, b string) string
	// timeType is the column type of times.
	timeType() string
	// skipKnownKey ends an INSERT of entries with change keys so that a
	// row whose change key, trigger and action are stored is skipped
	// without an error, which would abort a PostgreSQL transaction.
	skipKnownKey() string
	// lockShared ends a SELECT that must see the latest committed rows in
	// a transaction whatever its snapshot (a locking read on MySQL), or is
	// empty where a statement reads them anyway.
	lockShared() string

	// schema returns the log's migrations, oldest first.
	schema(l *Log) []migration
	// lockMigrate runs apply on one connection or transaction while
	// holding a lock that keeps other processes from migrating the same
	// tables at the same time.
	lockMigrate(ctx context.Context, l *Log, apply func(q queryer) error) error
	// afterMigrate runs on the same connection or transaction after the
	// migrations, on every Migrate: optional steps that may fail without
	// failing Migrate.
	afterMigrate(ctx context.Context, l *Log, q queryer) error

	// claim leases due entries; see Log.Claim.
	claim(ctx context.Context, l *Log, c claimSpec) ([]entryRow, error)
	// pruneBatch deletes up to n entries matching cond, a condition
	// written with ? placeholders whose arguments are args, with their
	// attempts, and returns how many entries it deleted.
	pruneBatch(ctx context.Context, l *Log, cond string, args []any, n int) (int64, error)
}

// oneStatementWriter is an optional part of a Dialect, for databases
// where one statement can change an entry and insert its attempt
// (PostgreSQL's data-modifying WITH): Update then records an attempt in
// one round trip, where other dialects need a transaction of four, and a
// batch of updates is one statement.
type oneStatementWriter interface {
	// updateAttempt runs set, an UPDATE of one entry written with ?
	// placeholders whose arguments are args, and in the same statement
	// inserts attempt a of entry id with the entry's new attempt_count as
	// its seq and number. It reports whether set changed a row; when it did not, it
	// inserts nothing.
	updateAttempt(ctx context.Context, l *Log, set string, args []any, id string, a *executionlog.Attempt) (bool, error)
	// updateBatch makes the updates us, of distinct entries, in one
	// statement, and reports for each whether it changed its entry (its
	// lease held), inserting its attempt if it has one. When it fails, it
	// has changed nothing.
	updateBatch(ctx context.Context, l *Log, us []*executionlog.Update) ([]bool, error)
}

// migration is one version of the schema.
type migration struct {
	version int
	stmts   []string
	// applied, when set, is a query that returns a count above zero when
	// the statements have already taken effect: for MySQL, whose DDL
	// commits at once, so that a migration cut short before its version
	// was recorded is not applied twice. appliedArgs are its arguments.
	applied     string
	appliedArgs []any
}

// keyConflict is the ON CONFLICT clause of PostgreSQL and SQLite that
// skips a row whose change key, trigger and action are stored: its target
// is the partial unique index of the keyed entries.
const keyConflict = " ON CONFLICT (tenant, change_key, trigger_id, action_index) WHERE change_key IS NOT NULL DO NOTHING"

// changeKeyIndex returns the statement that creates the unique index of
// the change keys of l's entries, for the entries that have one, on
// PostgreSQL and SQLite, as schema versions before tenants made it.
func changeKeyIndex(l *Log) string {
	return `CREATE UNIQUE INDEX ` + l.name("entries_change_key") + ` ON ` + l.entries +
		` (change_key, trigger_id, action_index) WHERE change_key IS NOT NULL`
}

// tenantIndexes returns the statements, shared by PostgreSQL and SQLite,
// that rebuild the indexes of per-tenant queries to lead with the tenant
// column, which the caller adds first. The index of (created_at, id)
// stays for the queries of every tenant (an operator's view and Prune of
// every tenant); entries_tenant_created_idx serves one tenant's pages.
// The change keys become unique per tenant. The due index, which serves
// the claims of every tenant, is unchanged.
func tenantIndexes(l *Log) []string {
	index := func(name, cols string) []string {
		return []string{
			`DROP INDEX IF EXISTS ` + l.name(name),
			`CREATE INDEX ` + l.name(name) + ` ON ` + l.entries + ` ` + cols,
		}
	}
	var out []string
	out = append(out, `CREATE INDEX `+l.name("entries_tenant_created_idx")+` ON `+l.entries+` (tenant, created_at, id)`)
	out = append(out, index("entries_ticket_idx", "(tenant, ticket_id, created_at, id)")...)
	out = append(out, index("entries_trigger_idx", "(tenant, trigger_id, created_at, id)")...)
	out = append(out, index("entries_status_idx", "(tenant, status, created_at, id)")...)
	out = append(out,
		`DROP INDEX IF EXISTS `+l.name("entries_change_key"),
		`CREATE UNIQUE INDEX `+l.name("entries_change_key")+` ON `+l.entries+
			` (tenant, change_key, trigger_id, action_index) WHERE change_key IS NOT NULL`)
	return out
}

// questionRebind returns query unchanged: the dialect uses ? placeholders.
func questionRebind(query string) string { return query }

// microUTC returns t in UTC, truncated to the microsecond: the precision
// the log stores.
func microUTC(t time.Time) time.Time {
	return t.UTC().Truncate(time.Microsecond)
}

// ceilMicro returns the first microsecond at or after t, in UTC. For a
// stored time s, which is a whole microsecond, s >= t exactly when
// s >= ceilMicro(t), and s < t exactly when s < ceilMicro(t).
func ceilMicro(t time.Time) time.Time {
	m := microUTC(t)
	if m.Before(t) {
		m = m.Add(time.Microsecond)
	}
	return m
}

// timeScanner reads a time column into t, whatever form the driver
// returns it in: time.Time, unix microseconds (SQLite), or text (MySQL
// without parseTime). NULL reads as the zero time. Every time is
// returned in UTC.
type timeScanner struct {
	t    *time.Time
	wall bool
}

// mysqlTimeFormat is how DATETIME(6) values are written and read.
const mysqlTimeFormat = "2006-01-02 15:04:05.999999"

// Scan implements sql.Scanner.
func (s timeScanner) Scan(src any) error {
	var t time.Time
	switch v := src.(type) {
	case nil:
	case time.Time:
		if s.wall {
			t = time.Date(v.Year(), v.Month(), v.Day(), v.Hour(), v.Minute(), v.Second(), v.Nanosecond(), time.UTC)
		} else {
			t = v
		}
	case int64:
		t = time.UnixMicro(v)
	case []byte:
		p, err := time.Parse(mysqlTimeFormat, string(v))
		if err != nil {
			return fmt.Errorf("sqllog: reading time %q: %w", textcut.Cut(string(v), 64), err)
		}
		t = p
	case string:
		p, err := time.Parse(mysqlTimeFormat, v)
		if err != nil {
			return fmt.Errorf("sqllog: reading time %q: %w", textcut.Cut(v, 64), err)
		}
		t = p
	default:
		return fmt.Errorf("sqllog: reading time: unsupported type %T", src)
	}
	if t.Equal(time.Time{}) {
		*s.t = time.Time{}
		return nil
	}
	*s.t = t.UTC()
	return nil
}

// scanTime returns a scanner that reads a time column of the log's
// dialect into t.
func (l *Log) scanTime(t *time.Time) sql.Scanner {
	return timeScanner{t: t, wall: l.d.wallClock()}
}
