package sqllog

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/tickethooks/tickethooks/executionlog"
	"github.com/tickethooks/tickethooks/internal/sqlbind"
)

// Postgres is the dialect of PostgreSQL 13 or later, for example through
// github.com/jackc/pgx/v5/stdlib. Times are stored as timestamptz; error
// search uses a pg_trgm GIN index when the extension can be created.
var Postgres Dialect = postgresDialect{}

// postgresDialect adapts the log to PostgreSQL.
type postgresDialect struct{}

func (postgresDialect) String() string             { return "postgres" }
func (postgresDialect) rebind(query string) string { return sqlbind.Dollar(query) }
func (postgresDialect) quote(name string) string   { return `"` + name + `"` }
func (postgresDialect) timeArg(t time.Time) any    { return microUTC(t) }
func (postgresDialect) wallClock() bool            { return false }
func (postgresDialect) concat(a, b string) string  { return a + " || " + b }
func (postgresDialect) timeType() string           { return "timestamptz" }
func (postgresDialect) skipKnownKey() string       { return keyConflict }
func (postgresDialect) lockShared() string         { return "" }

// The ids are compared with the "C" collation, byte by byte as Go compares
// strings, so that keyset paging and claim order agree with the memory log
// whatever the database's collation.
func (postgresDialect) schema(l *Log) []migration {
	return []migration{{version: 1, stmts: []string{
		`CREATE TABLE ` + l.entries + ` (
			id text COLLATE "C" NOT NULL PRIMARY KEY,
			trigger_id text NOT NULL,
			trigger_name text NOT NULL,
			action_index bigint NOT NULL,
			ticket_id bigint NOT NULL,
			event text NOT NULL,
			url text NOT NULL,
			request_headers text,
			request_body bytea,
			status text NOT NULL,
			attempt_count integer NOT NULL DEFAULT 0,
			series_start integer NOT NULL DEFAULT 0,
			test boolean NOT NULL DEFAULT false,
			next_attempt_at timestamptz,
			lease_owner text,
			lease_until timestamptz,
			note text NOT NULL DEFAULT '',
			error_text text NOT NULL DEFAULT '',
			created_at timestamptz NOT NULL,
			updated_at timestamptz NOT NULL
		)`,
		`CREATE TABLE ` + l.attempts + ` (
			entry_id text COLLATE "C" NOT NULL REFERENCES ` + l.entries + ` (id) ON DELETE CASCADE,
			seq integer NOT NULL,
			number bigint NOT NULL,
			started_at timestamptz NOT NULL,
			duration_ns bigint NOT NULL,
			status_code integer NOT NULL,
			error bytea,
			response_body bytea,
			response_truncated boolean NOT NULL,
			PRIMARY KEY (entry_id, seq)
		)`,
		`CREATE INDEX ` + l.name("entries_created_idx") + ` ON ` + l.entries + ` (created_at, id)`,
		`CREATE INDEX ` + l.name("entries_ticket_idx") + ` ON ` + l.entries + ` (ticket_id, created_at, id)`,
		`CREATE INDEX ` + l.name("entries_trigger_idx") + ` ON ` + l.entries + ` (trigger_id, created_at, id)`,
		`CREATE INDEX ` + l.name("entries_status_idx") + ` ON ` + l.entries + ` (status, created_at, id)`,
		`CREATE INDEX ` + l.name("entries_due_idx") + ` ON ` + l.entries + ` (next_attempt_at, id) WHERE status = 'pending'`,
	}}, {version: 2, stmts: []string{
		// The host's idempotency key of the change that recorded the
		// entry; NULL when it gave none.
		`ALTER TABLE ` + l.entries + ` ADD COLUMN change_key text COLLATE "C"`,
		changeKeyIndex(l),
	}}, {version: 3, stmts: append([]string{
		// The tenant of the entry, compared byte by byte; rows written
		// before tenants belong to tenant "". A constant default adds
		// the column without rewriting the table.
		`ALTER TABLE ` + l.entries + ` ADD COLUMN tenant text COLLATE "C" NOT NULL DEFAULT ''`,
		// One tenant's error search reads its entries with an error
		// through this index, newest first, and tests the LIKE on each:
		// a few hundred rows, where the trigram index would find every
		// tenant's matches first (50,000 for a common error in a
		// million entries). The planner keeps the trigram index for a
		// search of every tenant, or of a tenant with most entries.
		// error_text stays out of the key: a B-tree entry holds at most
		// about 2.7 kB.
		`CREATE INDEX ` + l.name("entries_tenant_error_idx") + ` ON ` + l.entries + ` (tenant, created_at, id) WHERE error_text != ''`,
	}, tenantIndexes(l)...)}}
}

// lockMigrate runs apply in one transaction that first takes a
// transaction-level advisory lock keyed by the table prefix.
func (postgresDialect) lockMigrate(ctx context.Context, l *Log, apply func(q queryer) error) error {
	tx, err := l.db.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	if _, err := tx.ExecContext(ctx, "SELECT pg_advisory_xact_lock("+strconv.FormatInt(lockKey("migrate:"+l.prefix), 10)+")"); err != nil {
		rollback(tx)
		return err
	}
	if err := apply(tx); err != nil {
		rollback(tx)
		return err
	}
	return tx.Commit()
}

// afterMigrate creates the trigram index of error_text when it is
// missing, creating the pg_trgm extension first if needed. It works in a
// savepoint: when the extension is not available or the role may not
// create it, the savepoint is rolled back and error search goes on
// without the index.
func (postgresDialect) afterMigrate(ctx context.Context, l *Log, q queryer) error {
	index := l.name("entries_error_idx")
	var exists bool
	if err := q.QueryRowContext(ctx, "SELECT to_regclass($1) IS NOT NULL", index).Scan(&exists); err != nil {
		return err
	}
	if exists {
		return nil
	}
	if _, err := q.ExecContext(ctx, "SAVEPOINT sqllog_trgm"); err != nil {
		return err
	}
	err := func() error {
		var installed bool
		if err := q.QueryRowContext(ctx, "SELECT EXISTS (SELECT 1 FROM pg_extension WHERE extname = 'pg_trgm')").Scan(&installed); err != nil {
			return err
		}
		if !installed {
			// Logs with other prefixes may be migrating at the same time:
			// let one of them create the extension.
			if _, err := q.ExecContext(ctx, "SELECT pg_advisory_xact_lock("+strconv.FormatInt(lockKey("pg_trgm"), 10)+")"); err != nil {
				return err
			}
			if _, err := q.ExecContext(ctx, "CREATE EXTENSION IF NOT EXISTS pg_trgm"); err != nil {
				return err
			}
		}
		_, err := q.ExecContext(ctx, "CREATE INDEX "+index+" ON "+l.entries+" USING gin (error_text gin_trgm_ops)")
		return err
	}()
	if err != nil {
		if ctx.Err() != nil {
			return ctx.Err()
		}
		_, err := q.ExecContext(ctx, "ROLLBACK TO SAVEPOINT sqllog_trgm")
		return err
	}
	_, err = q.ExecContext(ctx, "RELEASE SAVEPOINT sqllog_trgm")
	return err
}

// claim leases due entries with one UPDATE whose subquery locks the rows
// it picks, skipping rows other engines have locked.
func (postgresDialect) claim(ctx context.Context, l *Log, c claimSpec) ([]entryRow, error) {
	return claimReturning(ctx, l, l.entries, " FOR UPDATE SKIP LOCKED", c)
}

// updateAttempt changes the entry and inserts the attempt in one
// statement: the UPDATE is a data-modifying WITH query whose RETURNING
// row feeds the INSERT, so the attempt is written exactly when the entry
// changed, and both or neither commit. The casts type the parameters of
// the INSERT's SELECT list.
func (postgresDialect) updateAttempt(ctx context.Context, l *Log, set string, args []any, id string, a *executionlog.Attempt) (bool, error) {
	d := l.d
	var one int
	err := l.queryRow(ctx, l.db, "WITH u AS ("+set+" RETURNING attempt_count) INSERT INTO "+l.attempts+" ("+attemptCols+")"+
		" SELECT CAST(? AS text), u.attempt_count, u.attempt_count, CAST(? AS timestamptz), CAST(? AS bigint),"+
		" CAST(? AS integer), CAST(? AS bytea), CAST(? AS bytea), CAST(? AS boolean) FROM u RETURNING 1",
		attemptArgs(append(args, id), d, a)...).Scan(&one)
	switch {
	case isNoRows(err):
		return false, nil
	case err != nil:
		return false, err
	}
	return true, nil
}

// batchCols are the columns of the VALUES list of updateBatch: the
// update's position in the batch, the entry's new values and the
// attempt, with their types.
var batchCols = [...]struct{ name, typ string }{
	{"i", "integer"}, {"id", "text"}, {"owner", "text"}, {"status", "text"}, {"next_at", "timestamptz"},
	{"note", "text"}, {"now", "timestamptz"}, {"added", "integer"}, {"err_text", "text"},
	{"started_at", "timestamptz"}, {"duration_ns", "bigint"}, {"status_code", "integer"},
	{"error", "bytea"}, {"response_body", "bytea"}, {"response_truncated", "boolean"},
}

// updateBatch makes every update with one UPDATE ... FROM (VALUES ...),
// in a data-modifying WITH whose RETURNING rows, the entries whose lease
// held with their new attempt counts, feed the INSERT of the attempts.
// The statement returns the positions of the updates that changed their
// entry. The first row of VALUES casts its parameters, which types the
// columns for the others.
func (postgresDialect) updateBatch(ctx context.Context, l *Log, us []*executionlog.Update) ([]bool, error) {
	d := l.d
	var q strings.Builder
	names := make([]string, len(batchCols))
	for i, c := range batchCols {
		names[i] = c.name
	}
	q.WriteString("WITH v (" + strings.Join(names, ", ") + ") AS (VALUES ")
	args := make([]any, 0, len(us)*len(batchCols))
	for i, u := range us {
		if i > 0 {
			q.WriteString(", ")
		}
		q.WriteByte('(')
		for j, c := range batchCols {
			if j > 0 {
				q.WriteString(", ")
			}
			if i == 0 {
				q.WriteString("CAST(? AS " + c.typ + ")")
			} else {
				q.WriteByte('?')
			}
		}
		q.WriteByte(')')
		next, added, errText := updateValues(d, u)
		args = append(args, i, u.ID, u.Owner, string(u.Status), next, u.Note, d.timeArg(u.Now), added, errText)
		if a := u.Attempt; a != nil {
			args = attemptArgs(args, d, a)
		} else {
			args = append(args, nil, nil, nil, nil, nil, nil)
		}
	}
	q.WriteString("), u AS (UPDATE " + l.entries + " AS e SET status = v.status, next_attempt_at = v.next_at," +
		" lease_owner = NULL, lease_until = NULL, note = v.note, updated_at = v.now," +
		" attempt_count = e.attempt_count + v.added, error_text = e.error_text || v.err_text" +
		" FROM v WHERE e.id = v.id AND e.lease_owner = v.owner AND e.status = 'pending'" +
		" RETURNING v.i, e.attempt_count), a AS (INSERT INTO " + l.attempts + " (" + attemptCols + ")" +
		" SELECT v.id, u.attempt_count, u.attempt_count, v.started_at, v.duration_ns, v.status_code, v.error," +
		" v.response_body, v.response_truncated FROM u JOIN v ON v.i = u.i WHERE v.added = 1)" +
		" SELECT i FROM u")
	rows, err := l.query(ctx, l.db, q.String(), args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	changed := make([]bool, len(us))
	for rows.Next() {
		var i int
		if err := rows.Scan(&i); err != nil {
			return nil, err
		}
		if i < 0 || i >= len(us) {
			return nil, fmt.Errorf("update batch returned position %d of %d", i, len(us))
		}
		changed[i] = true
	}
	if err := rows.Err(); err != nil {
		return nil, err
	}
	return changed, nil
}

// pruneBatch deletes one batch of entries in one statement; the foreign
// key deletes their attempts.
func (postgresDialect) pruneBatch(ctx context.Context, l *Log, cond string, args []any, n int) (int64, error) {
	res, err := l.exec(ctx, l.db, "DELETE FROM "+l.entries+" WHERE id IN (SELECT id FROM "+l.entries+
		" WHERE "+cond+" LIMIT ?)", append(args, n)...)
	if err != nil {
		return 0, err
	}
	return res.RowsAffected()
}
