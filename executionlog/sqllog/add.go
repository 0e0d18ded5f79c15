package sqllog

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/tickethooks/tickethooks/executionlog"
)

// insertCols are the columns Add writes, in the order insert lists their
// values.
const insertCols = "id, trigger_id, trigger_name, action_index, ticket_id, event, url, " +
	"request_headers, request_body, status, attempt_count, series_start, test, next_attempt_at, " +
	"error_text, note, created_at, updated_at, change_key, tenant"

// insertColCount is the number of insertCols.
const insertColCount = 20

// Bounds of one multi-row INSERT: at most insertRows rows, and no more
// rows once the request bodies and headers reach insertBytes (well under
// MySQL's default 16 MiB max_allowed_packet).
const (
	insertRows  = 200
	insertBytes = 4 << 20
)

// Add implements executionlog.Log.Add, in one transaction. A unique
// index on (tenant, change_key, trigger_id, action_index) makes the change-key
// check atomic: an insert that meets a key another transaction is writing
// waits for that transaction and is skipped if it commits. Prune forgets
// the keys of the entries it deletes.
//
// Concurrent Add and Update calls share transactions (see "Group commit"
// in the package documentation); each Add still stores all of its entries
// or none, and fails or succeeds on its own. When Add returns nil, its
// entries are committed.
//
// Add never returns executionlog.ErrFull: the database bounds the log,
// and Prune keeps it small. An entry whose id is already in the log fails
// the whole Add with the database's unique-key error. A closed or
// unreachable database fails with an error that wraps the driver's.
func (l *Log) Add(ctx context.Context, entries []*executionlog.Entry) error {
	if len(entries) == 0 {
		return ctx.Err()
	}
	if err := validateAdd(entries); err != nil {
		return err
	}
	w := &write{ctx: ctx, add: entries, rows: len(entries)}
	for _, e := range entries {
		w.size += len(e.RequestBody) + len(e.URL)
		for _, a := range e.Attempts {
			w.size += len(a.Error) + len(a.ResponseBody)
		}
	}
	return l.run(l.adds, w)
}

// addOne stores entries in a transaction of their own.
func (l *Log) addOne(ctx context.Context, entries []*executionlog.Entry) error {
	tx, err := l.db.BeginTx(ctx, nil)
	if err != nil {
		return addError(len(entries), fmt.Errorf("begin transaction: %w", err))
	}
	if err := l.insert(ctx, tx, entries); err != nil {
		rollback(tx)
		return addError(len(entries), err)
	}
	if err := tx.Commit(); err != nil {
		return addError(len(entries), fmt.Errorf("commit: %w", err))
	}
	return nil
}

// addError is the error of an Add of n entries that failed with cause.
func addError(n int, cause error) error {
	return fmt.Errorf("sqllog: add %d entries: %w", n, cause)
}

// AddTx implements executionlog.TxAdder: it stores new entries like Add,
// inside tx. tx must belong to the log's database. AddTx neither commits nor rolls back tx; after an
// error the caller should roll it back, since some rows may have been
// written.
//
// A skipped change key is not an error in the database either (ON
// CONFLICT DO NOTHING, or ON DUPLICATE KEY UPDATE that changes nothing),
// so it leaves tx usable. On MySQL/MariaDB, AddTx reads the entries that
// hold the keys with LOCK IN SHARE MODE, so that it sees them whatever
// tx's snapshot; the locks last until tx ends. On PostgreSQL, a tx at
// REPEATABLE READ or above fails with a serialization error when the key
// was committed after its snapshot.
func (l *Log) AddTx(ctx context.Context, tx *sql.Tx, entries []*executionlog.Entry) error {
	if tx == nil {
		return errors.New("sqllog: add: transaction is nil")
	}
	if len(entries) == 0 {
		return ctx.Err()
	}
	if err := validateAdd(entries); err != nil {
		return err
	}
	if err := l.insert(ctx, tx, entries); err != nil {
		return fmt.Errorf("sqllog: add %d entries in transaction: %w", len(entries), err)
	}
	return nil
}

// validateAdd checks the entries passed to Add, as every log does.
func validateAdd(entries []*executionlog.Entry) error {
	for i, e := range entries {
		if err := executionlog.ValidateNew(e); err != nil {
			return fmt.Errorf("sqllog: add entry %d: %w", i, err)
		}
	}
	return nil
}

// insert writes entries, and then the attempts of those it stored, with
// multi-row INSERT statements on q. Entries with a change key are written
// by statements of their own that skip the keys already stored; their
// DuplicateOf is then set (see markDuplicates). Entries without one are
// written by plain INSERTs, which fail on an id already in the log.
func (l *Log) insert(ctx context.Context, q queryer, entries []*executionlog.Entry) error {
	d := l.d
	plain := batcher{l: l, q: q, table: l.entries, cols: insertCols, ncols: insertColCount}
	keyedRows := batcher{l: l, q: q, table: l.entries, cols: insertCols, ncols: insertColCount, suffix: d.skipKnownKey()}
	var keyed []*executionlog.Entry
	for _, e := range entries {
		if e.DuplicateOf != "" {
			// Written only when it changes, so that callers that share
			// entries without change keys between concurrent Adds, as
			// they could before keys existed, do not race.
			e.DuplicateOf = ""
		}
		b := &plain
		var key any // NULL for no key
		if e.ChangeKey != "" {
			b, key = &keyedRows, e.ChangeKey
			keyed = append(keyed, e)
		}
		headers, err := encodeHeaders(e.RequestHeaders)
		if err != nil {
			return fmt.Errorf("entry %q: %w", e.ID, err)
		}
		var next any // NULL for a final state
		if e.Status == executionlog.StatusPending {
			next = d.timeArg(e.NextAttemptAt)
		}
		var errText strings.Builder
		for _, a := range e.Attempts {
			if a.Error != "" {
				errText.WriteString("\n" + searchText(a.Error))
			}
		}
		size := len(e.RequestBody) + len(e.URL) + len(e.TriggerName) + errText.Len()
		if h, ok := headers.(string); ok {
			size += len(h)
		}
		if err := b.row(ctx, size, e.ID, e.TriggerID, e.TriggerName, e.ActionIndex, e.TicketID, e.Event, e.URL,
			headers, bytesArg(e.RequestBody), string(e.Status), len(e.Attempts), e.SeriesStart, e.Test, next,
			errText.String(), "", d.timeArg(e.CreatedAt), d.timeArg(e.UpdatedAt), key, e.Tenant); err != nil {
			return err
		}
	}
	if err := plain.flush(ctx); err != nil {
		return err
	}
	if err := keyedRows.flush(ctx); err != nil {
		return err
	}
	if len(keyed) > 0 {
		if err := l.markDuplicates(ctx, q, keyed, keyedRows.affected); err != nil {
			return err
		}
	}

	// The attempts' rows refer to their entries, written above.
	b := batcher{l: l, q: q, table: l.attempts, cols: attemptCols, ncols: attemptColCount}
	pending := false
	for _, e := range entries {
		if e.DuplicateOf != "" {
			continue
		}
		pending = pending || e.Status == executionlog.StatusPending
		for i, a := range e.Attempts {
			if err := b.row(ctx, len(a.Error)+len(a.ResponseBody), attemptArgs([]any{e.ID, i + 1, i + 1}, d, &a)...); err != nil {
				return fmt.Errorf("entry %q: writing attempt %d: %w", e.ID, i+1, err)
			}
		}
	}
	if err := b.flush(ctx); err != nil {
		return err
	}
	if pending && d == Postgres {
		// Delivered at commit, and only then: engines listening on the
		// channel (see Channel) look for due entries at once.
		if _, err := q.ExecContext(ctx, "SELECT pg_notify($1, '')", l.Channel()); err != nil {
			return fmt.Errorf("notifying %s: %w", l.Channel(), err)
		}
	}
	return nil
}

// Channel returns the PostgreSQL notification channel of the log: its
// table prefix followed by "due" ("tickethooks_due" by default). On
// PostgreSQL, every transaction that adds pending entries (Add, AddTx,
// and so OnTicketChange and OnTicketChangeTx) sends a notification on it,
// delivered when the transaction commits and dropped when it rolls back;
// package pglisten listens on it and wakes engines, so that a commit is
// delivered at once rather than at the next poll. Other databases send
// nothing.
func (l *Log) Channel() string { return l.prefix + "due" }

// markDuplicates sets the DuplicateOf of the entries of keyed, written by
// statements that skipped their keys when already stored, and of which
// the database reported inserted rows: it reads the entries that hold
// their keys, and each entry whose key another entry holds was skipped.
// An entry whose key no entry holds, or fewer rows inserted than entries
// found stored, means an id was already in the log (MySQL's ON DUPLICATE
// KEY skips any unique key; PostgreSQL and SQLite skip an entry added
// again with its key): insert then fails, as a plain INSERT would.
func (l *Log) markDuplicates(ctx context.Context, q queryer, keyed []*executionlog.Entry, inserted int64) error {
	type target struct {
		tenant, key, trigger string
		action               int
	}
	holders := make(map[target]string, len(keyed))
	for chunk := range slices.Chunk(keyed, insertRows) {
		// Whole keys of the unique index: on MySQL the locking read then
		// locks the rows found, not the gaps between keys, which would
		// hold up other engines' inserts until tx ends.
		args := make([]any, 0, 4*len(chunk))
		for _, e := range chunk {
			args = append(args, e.Tenant, e.ChangeKey, e.TriggerID, e.ActionIndex)
		}
		rows, err := l.query(ctx, q, "SELECT id, tenant, change_key, trigger_id, action_index FROM "+l.entries+
			" WHERE (tenant, change_key, trigger_id, action_index) IN ("+strings.Repeat(", (?, ?, ?, ?)", len(chunk))[2:]+")"+
			l.d.lockShared(), args...)
		if err != nil {
			return fmt.Errorf("reading the entries that hold the change keys: %w", err)
		}
		for rows.Next() {
			var id string
			var t target
			if err := rows.Scan(&id, &t.tenant, &t.key, &t.trigger, &t.action); err != nil {
				rows.Close()
				return fmt.Errorf("reading the entries that hold the change keys: %w", err)
			}
			holders[t] = id
		}
		if err := rows.Close(); err != nil {
			return fmt.Errorf("reading the entries that hold the change keys: %w", err)
		}
		if err := rows.Err(); err != nil {
			return fmt.Errorf("reading the entries that hold the change keys: %w", err)
		}
	}
	var stored int64
	for _, e := range keyed {
		id, ok := holders[target{e.Tenant, e.ChangeKey, e.TriggerID, e.ActionIndex}]
		switch {
		case !ok:
			return fmt.Errorf("entry %q was not stored, and no entry holds its change key: its id is already in the log", e.ID)
		case id == e.ID:
			stored++
		default:
			e.DuplicateOf = id
		}
	}
	if inserted < stored {
		return fmt.Errorf("%d entries with a change key were stored before: their ids are already in the log", stored-inserted)
	}
	return nil
}

// batcher collects the rows of a multi-row INSERT and writes them when
// they reach insertRows rows or insertBytes bytes of large values.
type batcher struct {
	l     *Log
	q     queryer
	table string
	cols  string
	ncols int
	// suffix ends each INSERT statement, such as an ON CONFLICT clause.
	suffix string

	args []any
	rows int
	size int
	// affected counts the rows the statements reported inserted.
	affected int64
}

// row adds one row of ncols values, size bytes of them in large values,
// and writes the batch when it is full.
func (b *batcher) row(ctx context.Context, size int, values ...any) error {
	b.args = append(b.args, values...)
	b.rows++
	b.size += size
	if b.rows == insertRows || b.size >= insertBytes {
		return b.flush(ctx)
	}
	return nil
}

// flush writes the rows collected so far.
func (b *batcher) flush(ctx context.Context) error {
	if b.rows == 0 {
		return nil
	}
	values := strings.Repeat(", ("+strings.Repeat("?, ", b.ncols-1)+"?)", b.rows)[2:]
	res, err := b.l.exec(ctx, b.q, "INSERT INTO "+b.table+" ("+b.cols+") VALUES "+values+b.suffix, b.args...)
	if err != nil {
		return err
	}
	n, err := res.RowsAffected()
	if err != nil {
		return fmt.Errorf("counting the rows inserted: %w", err)
	}
	b.affected += n
	b.args, b.rows, b.size = b.args[:0], 0, 0
	return nil
}
