package sqllog

import (
	"context"
	"database/sql/driver"
	"fmt"
	"strings"
	"time"
)

// SQLite is the dialect of SQLite 3.35 or later (for RETURNING), for
// example through modernc.org/sqlite. Times are stored as unix
// microseconds.
var SQLite Dialect = sqliteDialect{}

// sqliteDialect adapts the log to SQLite.
type sqliteDialect struct{}

func (sqliteDialect) String() string             { return "sqlite" }
func (sqliteDialect) rebind(query string) string { return questionRebind(query) }
func (sqliteDialect) quote(name string) string   { return `"` + name + `"` }
func (sqliteDialect) timeArg(t time.Time) any    { return microUTC(t).UnixMicro() }
func (sqliteDialect) wallClock() bool            { return false }
func (sqliteDialect) concat(a, b string) string  { return a + " || " + b }
func (sqliteDialect) timeType() string           { return "INTEGER" }
func (sqliteDialect) skipKnownKey() string       { return keyConflict }
func (sqliteDialect) lockShared() string         { return "" }

func (sqliteDialect) schema(l *Log) []migration {
	return []migration{{version: 1, stmts: []string{
		`CREATE TABLE ` + l.entries + ` (
			id TEXT NOT NULL PRIMARY KEY,
			trigger_id TEXT NOT NULL,
			trigger_name TEXT NOT NULL,
			action_index INTEGER NOT NULL,
			ticket_id INTEGER NOT NULL,
			event TEXT NOT NULL,
			url TEXT NOT NULL,
			request_headers TEXT,
			request_body BLOB,
			status TEXT NOT NULL,
			attempt_count INTEGER NOT NULL DEFAULT 0,
			series_start INTEGER NOT NULL DEFAULT 0,
			test INTEGER NOT NULL DEFAULT 0,
			next_attempt_at INTEGER,
			lease_owner TEXT,
			lease_until INTEGER,
			note TEXT NOT NULL DEFAULT '',
			error_text TEXT NOT NULL DEFAULT '',
			created_at INTEGER NOT NULL,
			updated_at INTEGER NOT NULL
		)`,
		`CREATE TABLE ` + l.attempts + ` (
			entry_id TEXT NOT NULL REFERENCES ` + l.entries + ` (id) ON DELETE CASCADE,
			seq INTEGER NOT NULL,
			number INTEGER NOT NULL,
			started_at INTEGER NOT NULL,
			duration_ns INTEGER NOT NULL,
			status_code INTEGER NOT NULL,
			error BLOB,
			response_body BLOB,
			response_truncated INTEGER NOT NULL,
			PRIMARY KEY (entry_id, seq)
		)`,
		`CREATE INDEX ` + l.name("entries_created_idx") + ` ON ` + l.entries + ` (created_at, id)`,
		`CREATE INDEX ` + l.name("entries_ticket_idx") + ` ON ` + l.entries + ` (ticket_id, created_at, id)`,
		`CREATE INDEX ` + l.name("entries_trigger_idx") + ` ON ` + l.entries + ` (trigger_id, created_at, id)`,
		`CREATE INDEX ` + l.name("entries_status_idx") + ` ON ` + l.entries + ` (status, created_at, id)`,
		`CREATE INDEX ` + l.name("entries_due_idx") + ` ON ` + l.entries + ` (next_attempt_at, id) WHERE status = 'pending'`,
	}}, {version: 2, stmts: []string{
		// Error search scans the entries with an error, newest first,
		// in this index (which holds their error text), and reads the
		// table only for those that match: a rare text among a million
		// entries is found without reading every row.
		`CREATE INDEX ` + l.name("entries_error_idx") + ` ON ` + l.entries + ` (created_at, id, error_text) WHERE error_text != ''`,
	}}, {version: 3, stmts: []string{
		// The host's idempotency key of the change that recorded the
		// entry; NULL when it gave none.
		`ALTER TABLE ` + l.entries + ` ADD COLUMN change_key TEXT`,
		changeKeyIndex(l),
	}}, {version: 4, stmts: append([]string{
		// The tenant of the entry; rows written before tenants belong to
		// tenant "". TEXT compares byte by byte (BINARY collation).
		`ALTER TABLE ` + l.entries + ` ADD COLUMN tenant TEXT NOT NULL DEFAULT ''`,
		// One tenant's error search scans its entries with an error,
		// newest first, in this index.
		`DROP INDEX IF EXISTS ` + l.name("entries_error_idx"),
		`CREATE INDEX ` + l.name("entries_error_idx") + ` ON ` + l.entries + ` (tenant, created_at, id, error_text) WHERE error_text != ''`,
		`CREATE INDEX ` + l.name("entries_all_error_idx") + ` ON ` + l.entries + ` (created_at, id, error_text) WHERE error_text != ''`,
	}, tenantIndexes(l)...)}}
}

// lockMigrate runs apply in a BEGIN IMMEDIATE transaction on one
// connection: SQLite lets one writer in at a time, and the others wait
// for it up to the connection's busy_timeout.
func (sqliteDialect) lockMigrate(ctx context.Context, l *Log, apply func(q queryer) error) error {
	conn, err := l.db.Conn(ctx)
	if err != nil {
		return err
	}
	defer conn.Close()
	if _, err := conn.ExecContext(ctx, "BEGIN IMMEDIATE"); err != nil {
		return fmt.Errorf("taking the write lock: %w", err)
	}
	if err := apply(conn); err != nil {
		if _, rerr := conn.ExecContext(context.WithoutCancel(ctx), "ROLLBACK"); rerr != nil {
			// Never hand a connection inside a transaction back to the
			// pool.
			_ = conn.Raw(func(any) error { return driver.ErrBadConn })
		}
		return err
	}
	if _, err := conn.ExecContext(context.WithoutCancel(ctx), "COMMIT"); err != nil {
		_, _ = conn.ExecContext(context.WithoutCancel(ctx), "ROLLBACK")
		return fmt.Errorf("commit: %w", err)
	}
	return nil
}

func (sqliteDialect) afterMigrate(context.Context, *Log, queryer) error { return nil }

// claim leases due entries with one UPDATE ... RETURNING statement: a
// single writer statement is atomic in SQLite.
func (sqliteDialect) claim(ctx context.Context, l *Log, c claimSpec) ([]entryRow, error) {
	// Without INDEXED BY, SQLite may read the pending rows through the
	// status index and sort the whole backlog on every claim (3.5 ms at
	// 5,000 pending rows, against 0.15 ms through the due index).
	return claimReturning(ctx, l, l.entries+" INDEXED BY "+l.name("entries_due_idx"), "", c)
}

// pruneBatch deletes the entries of one batch and then their attempts in
// a transaction. The first statement is a write, so the transaction holds
// SQLite's write lock from the start. Attempts are deleted explicitly
// because SQLite enforces the ON DELETE CASCADE only on connections with
// foreign_keys on.
func (sqliteDialect) pruneBatch(ctx context.Context, l *Log, cond string, args []any, n int) (int64, error) {
	tx, err := l.db.BeginTx(ctx, nil)
	if err != nil {
		return 0, err
	}
	deleted, err := func() (int64, error) {
		rows, err := l.query(ctx, tx, "DELETE FROM "+l.entries+" WHERE id IN (SELECT id FROM "+l.entries+
			" WHERE "+cond+" LIMIT ?) RETURNING id", append(args, n)...)
		if err != nil {
			return 0, err
		}
		var ids []any
		for rows.Next() {
			var id string
			if err := rows.Scan(&id); err != nil {
				rows.Close()
				return 0, err
			}
			ids = append(ids, id)
		}
		if err := rows.Close(); err != nil {
			return 0, err
		}
		if err := rows.Err(); err != nil {
			return 0, err
		}
		if len(ids) == 0 {
			return 0, nil
		}
		marks := strings.Repeat(", ?", len(ids))[2:]
		if _, err := l.exec(ctx, tx, "DELETE FROM "+l.attempts+" WHERE entry_id IN ("+marks+")", ids...); err != nil {
			return 0, err
		}
		return int64(len(ids)), nil
	}()
	if err != nil {
		rollback(tx)
		return 0, err
	}
	if err := tx.Commit(); err != nil {
		return 0, err
	}
	return deleted, nil
}
