package sqllog

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"regexp"

	"github.com/tickethooks/tickethooks/executionlog"
	"github.com/tickethooks/tickethooks/internal/textcut"
)

// DefaultTablePrefix is the TablePrefix used when Config leaves it empty.
const DefaultTablePrefix = "tickethooks_"

// Config configures a Log.
type Config struct {
	// Dialect is the SQL dialect of the database: SQLite, Postgres or
	// MySQL. Required.
	Dialect Dialect
	// TablePrefix starts the name of every table and index the log
	// creates, so that several logs, or a log and the application's own
	// tables, can share a database. It holds at most 32 characters of
	// a-z, 0-9 and _. Defaults to "tickethooks_".
	TablePrefix string
}

// prefixPattern is what a TablePrefix may hold.
var prefixPattern = regexp.MustCompile(`^[a-z0-9_]{0,32}$`)

// Log is an executionlog.Log stored in a SQL database through database/sql.
// It is also the delivery queue that several engines, in one process or
// many, can share.
//
// A Log is safe for concurrent use. Create its tables with Migrate before
// the first use.
type Log struct {
	db *sql.DB
	d  Dialect
	// prefix is the validated table prefix.
	prefix string
	// entries, attempts and migrations are the quoted table names.
	entries, attempts, migrations string
	// pruneBatch is how many entries one Prune statement deletes, and
	// deleteBatch how many one Delete transaction deletes.
	pruneBatch, deleteBatch int
	// adds and updates gather concurrent Add and Update calls into
	// batches (group commit). On SQLite, which has one writer, they are
	// one group, so that a batch takes the write lock once for both.
	adds, updates *group
}

var (
	_ executionlog.Log     = (*Log)(nil)
	_ executionlog.TxAdder = (*Log)(nil)

	_ executionlog.AttemptRecorder = (*Log)(nil)
	_ executionlog.Pruner          = (*Log)(nil)
	_ executionlog.PendingCounter  = (*Log)(nil)
)

// New returns a Log that stores its entries in db, a database of the
// dialect cfg.Dialect. It does not touch the database: call Migrate to
// create or upgrade the tables.
//
// New returns an error when db or cfg.Dialect is nil or cfg.TablePrefix is
// malformed.
func New(db *sql.DB, cfg Config) (*Log, error) {
	if db == nil {
		return nil, errors.New("sqllog: invalid config: db is nil")
	}
	if cfg.Dialect == nil {
		return nil, errors.New("sqllog: invalid config: Dialect is required (sqllog.SQLite, sqllog.Postgres or sqllog.MySQL)")
	}
	if cfg.TablePrefix == "" {
		cfg.TablePrefix = DefaultTablePrefix
	}
	if !prefixPattern.MatchString(cfg.TablePrefix) {
		return nil, fmt.Errorf("sqllog: invalid config: TablePrefix %q must be at most 32 characters of a-z, 0-9 and _",
			textcut.Cut(cfg.TablePrefix, 64))
	}
	d := cfg.Dialect
	adds, updates := &group{}, &group{}
	if d == SQLite {
		updates = adds
	}
	return &Log{
		db:          db,
		d:           d,
		prefix:      cfg.TablePrefix,
		entries:     d.quote(cfg.TablePrefix + "entries"),
		attempts:    d.quote(cfg.TablePrefix + "attempts"),
		migrations:  d.quote(cfg.TablePrefix + "migrations"),
		pruneBatch:  defaultPruneBatch,
		deleteBatch: defaultDeleteBatch,
		adds:        adds,
		updates:     updates,
	}, nil
}

// name returns the quoted name of the index or constraint called suffix.
func (l *Log) name(suffix string) string {
	return l.d.quote(l.prefix + suffix)
}

// queryer runs statements: *sql.DB, *sql.Tx and *sql.Conn all are.
type queryer interface {
	ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error)
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
	QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row
}

// exec runs query, written with ? placeholders, on q.
func (l *Log) exec(ctx context.Context, q queryer, query string, args ...any) (sql.Result, error) {
	return q.ExecContext(ctx, l.d.rebind(query), args...)
}

// query runs query, written with ? placeholders, on q.
func (l *Log) query(ctx context.Context, q queryer, query string, args ...any) (*sql.Rows, error) {
	return q.QueryContext(ctx, l.d.rebind(query), args...)
}

// queryRow runs query, written with ? placeholders, on q.
func (l *Log) queryRow(ctx context.Context, q queryer, query string, args ...any) *sql.Row {
	return q.QueryRowContext(ctx, l.d.rebind(query), args...)
}

// rollback ends tx after a failure; its own error adds nothing useful.
func rollback(tx *sql.Tx) {
	_ = tx.Rollback()
}
