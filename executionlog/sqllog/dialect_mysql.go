package sqllog

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/tickethooks/tickethooks/executionlog"
)

// MySQL is the dialect of MySQL 8.0 or later and MariaDB 10.6 or later
// (both needed for SKIP LOCKED), for example through
// github.com/go-sql-driver/mysql. Times are stored as DATETIME(6) in UTC,
// whatever the connection's time zone.
var MySQL Dialect = mysqlDialect{}

// mysqlDialect adapts the log to MySQL and MariaDB.
type mysqlDialect struct{}

func (mysqlDialect) String() string             { return "mysql" }
func (mysqlDialect) rebind(query string) string { return questionRebind(query) }
func (mysqlDialect) quote(name string) string   { return "`" + name + "`" }
func (mysqlDialect) wallClock() bool            { return true }
func (mysqlDialect) concat(a, b string) string  { return "CONCAT(" + a + ", " + b + ")" }
func (mysqlDialect) timeType() string           { return "DATETIME(6)" }

// skipKnownKey turns the insert of a row whose unique key is taken into
// an update that changes nothing. It skips a taken id as well: insert
// finds that out afterwards (see markDuplicates). INSERT IGNORE would
// also turn other errors, such as a value too long, into warnings.
func (mysqlDialect) skipKnownKey() string { return " ON DUPLICATE KEY UPDATE id = id" }
func (mysqlDialect) lockShared() string   { return " LOCK IN SHARE MODE" }

// timeArg writes t as UTC text: DATETIME has no time zone, and text is
// stored as written, whatever the driver's loc setting.
func (mysqlDialect) timeArg(t time.Time) any {
	return microUTC(t).Format("2006-01-02 15:04:05.000000")
}

// The ids, trigger ids and lease owners are VARBINARY, compared byte by
// byte as Go compares strings (no case folding, no trailing-space
// padding); they hold at most 255 bytes. The entries are clustered by
// (created_at, id), the order Query reads them in, so a search that has to
// scan reads the table in order without a lookup per row. error_text,
// lower-cased before it is stored and searched, is a BLOB: a binary LIKE
// scans it several times faster than a utf8mb4 one.
func (mysqlDialect) schema(l *Log) []migration {
	const table = ") ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin"
	return []migration{{version: 1, stmts: []string{
		// DDL is not transactional in MySQL: every statement is
		// idempotent, so a migration cut short can run again.
		`CREATE TABLE IF NOT EXISTS ` + l.entries + ` (
			id VARBINARY(255) NOT NULL,
			trigger_id VARBINARY(255) NOT NULL,
			trigger_name TEXT NOT NULL,
			action_index BIGINT NOT NULL,
			ticket_id BIGINT NOT NULL,
			event VARCHAR(255) NOT NULL,
			url TEXT NOT NULL,
			request_headers MEDIUMTEXT NULL,
			request_body LONGBLOB NULL,
			status VARCHAR(16) NOT NULL,
			attempt_count INT NOT NULL DEFAULT 0,
			series_start INT NOT NULL DEFAULT 0,
			test BOOLEAN NOT NULL DEFAULT 0,
			next_attempt_at DATETIME(6) NULL,
			lease_owner VARBINARY(255) NULL,
			lease_until DATETIME(6) NULL,
			note TEXT NOT NULL,
			error_text MEDIUMBLOB NOT NULL,
			created_at DATETIME(6) NOT NULL,
			updated_at DATETIME(6) NOT NULL,
			PRIMARY KEY (created_at, id),
			UNIQUE KEY ` + l.name("entries_id_key") + ` (id),
			KEY ` + l.name("entries_ticket_idx") + ` (ticket_id, created_at, id),
			KEY ` + l.name("entries_trigger_idx") + ` (trigger_id, created_at, id),
			KEY ` + l.name("entries_status_idx") + ` (status, created_at, id),
			KEY ` + l.name("entries_due_idx") + ` (status, next_attempt_at, id)
		` + table,
		`CREATE TABLE IF NOT EXISTS ` + l.attempts + ` (
			entry_id VARBINARY(255) NOT NULL,
			seq INT NOT NULL,
			number BIGINT NOT NULL,
			started_at DATETIME(6) NOT NULL,
			duration_ns BIGINT NOT NULL,
			status_code INT NOT NULL,
			error MEDIUMBLOB NULL,
			response_body MEDIUMBLOB NULL,
			response_truncated BOOLEAN NOT NULL,
			PRIMARY KEY (entry_id, seq),
			CONSTRAINT ` + l.name("attempts_entry_fk") + ` FOREIGN KEY (entry_id)
				REFERENCES ` + l.entries + ` (id) ON DELETE CASCADE
		` + table,
	}}, {
		version: 2,
		// The host's idempotency key of the change that recorded the
		// entry, NULL when it gave none: a unique key admits any number
		// of NULLs. One statement, so that it takes effect whole or not
		// at all.
		stmts: []string{`ALTER TABLE ` + l.entries + ` ADD COLUMN change_key VARBINARY(` + strconv.Itoa(executionlog.MaxChangeKeyBytes) + `) NULL, ADD UNIQUE KEY ` +
			l.name("entries_change_key") + ` (change_key, trigger_id, action_index)`},
		applied: "SELECT COUNT(*) FROM information_schema.columns WHERE table_schema = DATABASE()" +
			" AND table_name = ? AND column_name = 'change_key'",
		appliedArgs: []any{l.prefix + "entries"},
	}, {
		version: 3,
		// The tenant of the entry, compared byte by byte; rows written
		// before tenants belong to tenant "". VARBINARY(255) keeps the
		// composite keys below InnoDB's 3,072-byte limit, where utf8mb4
		// would count four bytes a character. The indexes of per-tenant
		// queries lead with it, and change keys become unique per
		// tenant. One statement, so that it takes effect whole or not at
		// all.
		stmts: []string{`ALTER TABLE ` + l.entries +
			` ADD COLUMN tenant VARBINARY(` + strconv.Itoa(executionlog.MaxTenantBytes) + `) NOT NULL DEFAULT ''` +
			`, ADD KEY ` + l.name("entries_tenant_created_idx") + ` (tenant, created_at, id)` +
			`, DROP KEY ` + l.name("entries_ticket_idx") + `, ADD KEY ` + l.name("entries_ticket_idx") + ` (tenant, ticket_id, created_at, id)` +
			`, DROP KEY ` + l.name("entries_trigger_idx") + `, ADD KEY ` + l.name("entries_trigger_idx") + ` (tenant, trigger_id, created_at, id)` +
			`, DROP KEY ` + l.name("entries_status_idx") + `, ADD KEY ` + l.name("entries_status_idx") + ` (tenant, status, created_at, id)` +
			`, DROP KEY ` + l.name("entries_change_key") + `, ADD UNIQUE KEY ` + l.name("entries_change_key") +
			` (tenant, change_key, trigger_id, action_index)`},
		applied: "SELECT COUNT(*) FROM information_schema.columns WHERE table_schema = DATABASE()" +
			" AND table_name = ? AND column_name = 'tenant'",
		appliedArgs: []any{l.prefix + "entries"},
	}}
}

// lockMigrate runs apply on one connection holding the named lock
// GET_LOCK('tickethooks_migrate:<prefix>'), waiting for it up to a
// minute.
func (mysqlDialect) lockMigrate(ctx context.Context, l *Log, apply func(q queryer) error) error {
	conn, err := l.db.Conn(ctx)
	if err != nil {
		return err
	}
	defer conn.Close()
	name := "tickethooks_migrate:" + l.prefix
	var got sql.NullInt64
	if err := conn.QueryRowContext(ctx, "SELECT GET_LOCK(?, 60)", name).Scan(&got); err != nil {
		return fmt.Errorf("taking the migration lock: %w", err)
	}
	if !got.Valid || got.Int64 != 1 {
		return errors.New("taking the migration lock: timed out after 60s")
	}
	defer func() {
		_, _ = conn.ExecContext(context.WithoutCancel(ctx), "DO RELEASE_LOCK(?)", name)
	}()
	return apply(conn)
}

func (mysqlDialect) afterMigrate(context.Context, *Log, queryer) error { return nil }

// claim picks the due rows with SELECT ... FOR UPDATE SKIP LOCKED in a
// READ COMMITTED transaction (no gap locks to block other engines'
// inserts), then leases them by id. With a share per tenant, it locks the
// ids and tenants of a window of the oldest due rows (see claimWindow),
// picks each tenant's share of them in Go, leases those and reads them;
// the rows it does not pick are unlocked when the transaction commits.
func (mysqlDialect) claim(ctx context.Context, l *Log, c claimSpec) ([]entryRow, error) {
	d := l.d
	tx, err := l.db.BeginTx(ctx, &sql.TxOptions{Isolation: sql.LevelReadCommitted})
	if err != nil {
		return nil, fmt.Errorf("begin transaction: %w", err)
	}
	rows, err := func() ([]entryRow, error) {
		cond, args := c.due(d)
		if c.perTenant <= 0 {
			rs, err := l.query(ctx, tx, "SELECT "+entryCols+" FROM "+l.entries+" WHERE "+cond+
				" ORDER BY next_attempt_at, id LIMIT ? FOR UPDATE SKIP LOCKED", append(args, c.limit)...)
			if err != nil {
				return nil, err
			}
			rows, err := l.scanEntries(rs)
			if err != nil || len(rows) == 0 {
				return nil, err
			}
			return rows, mysqlLease(ctx, l, tx, c, rows)
		}
		rs, err := l.query(ctx, tx, "SELECT id, tenant FROM "+l.entries+" WHERE "+cond+
			" ORDER BY next_attempt_at, id LIMIT ? FOR UPDATE SKIP LOCKED", append(args, claimWindow(c.limit))...)
		if err != nil {
			return nil, err
		}
		var window []entryRow
		for rs.Next() {
			var r entryRow
			if err := rs.Scan(&r.e.ID, &r.e.Tenant); err != nil {
				rs.Close()
				return nil, err
			}
			window = append(window, r)
		}
		if err := rs.Close(); err != nil {
			return nil, err
		}
		if err := rs.Err(); err != nil {
			return nil, err
		}
		picked := pickShares(window, c.perTenant, c.limit)
		if len(picked) == 0 {
			return nil, nil
		}
		if err := mysqlLease(ctx, l, tx, c, picked); err != nil {
			return nil, err
		}
		ids := make([]any, len(picked))
		for i, r := range picked {
			ids[i] = r.e.ID
		}
		rs, err = l.query(ctx, tx, "SELECT "+entryCols+" FROM "+l.entries+" WHERE id IN ("+strings.Repeat(", ?", len(ids))[2:]+")", ids...)
		if err != nil {
			return nil, err
		}
		return l.scanEntries(rs)
	}()
	if err != nil || len(rows) == 0 {
		rollback(tx)
		return nil, err
	}
	if err := tx.Commit(); err != nil {
		return nil, fmt.Errorf("commit: %w", err)
	}
	for i := range rows {
		rows[i].e.LeaseOwner, rows[i].e.LeaseUntil = c.owner, c.until
	}
	return rows, nil
}

// mysqlLease leases rows, locked by tx, to c's owner.
func mysqlLease(ctx context.Context, l *Log, tx *sql.Tx, c claimSpec, rows []entryRow) error {
	args := []any{c.owner, l.d.timeArg(c.until)}
	for _, r := range rows {
		args = append(args, r.e.ID)
	}
	marks := strings.Repeat(", ?", len(rows))[2:]
	_, err := l.exec(ctx, tx, "UPDATE "+l.entries+" SET lease_owner = ?, lease_until = ? WHERE id IN ("+marks+")", args...)
	return err
}

// pruneBatch deletes one batch of entries with a single-table DELETE ...
// LIMIT; the foreign key deletes their attempts.
func (mysqlDialect) pruneBatch(ctx context.Context, l *Log, cond string, args []any, n int) (int64, error) {
	res, err := l.exec(ctx, l.db, "DELETE FROM "+l.entries+" WHERE "+cond+" LIMIT "+strconv.Itoa(n), args...)
	if err != nil {
		return 0, err
	}
	return res.RowsAffected()
}
