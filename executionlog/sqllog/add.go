package sqllog

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"

	"github.com/tickethooks/tickethooks/executionlog"
)

// insertCols are the columns Add writes, in the order insert lists their
// values.
const insertCols = "id, trigger_id, trigger_name, action_index, ticket_id, event, url, " +
	"request_headers, request_body, status, attempt_count, series_start, test, next_attempt_at, " +
	"error_text, note, created_at, updated_at"

// insertColCount is the number of insertCols.
const insertColCount = 18

// Bounds of one multi-row INSERT: at most insertRows rows, and no more
// rows once the request bodies and headers reach insertBytes (well under
// MySQL's default 16 MiB max_allowed_packet).
const (
	insertRows  = 200
	insertBytes = 4 << 20
)

// Add stores new entries in one transaction, all or none. Each entry must
// have an ID that is not in the log yet, a CreatedAt, a defined Status and
// a SeriesStart within 0..len(Attempts). Pending entries join the queue;
// entries added succeeded or failed (records of sends made outside the
// queue, such as test sends) are stored with their attempts, searchable by
// error text, and no NextAttemptAt. Attempts are stored for every status;
// LeaseOwner, LeaseUntil and Note are ignored. Times are stored in UTC with
// microsecond precision.
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

// AddTx stores new entries like Add, inside tx: they become
// visible when the caller commits tx and vanish if it rolls back, together
// with the caller's own writes (the transactional outbox). tx must belong
// to the log's database. AddTx neither commits nor rolls back tx; after an
// error the caller should roll it back, since some rows may have been
// written.
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

// insert writes entries, and then their attempts, with multi-row INSERT
// statements on q.
func (l *Log) insert(ctx context.Context, q queryer, entries []*executionlog.Entry) error {
	d := l.d
	b := batcher{l: l, q: q, table: l.entries, cols: insertCols, ncols: insertColCount}
	for _, e := range entries {
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
			errText.String(), "", d.timeArg(e.CreatedAt), d.timeArg(e.UpdatedAt)); err != nil {
			return err
		}
	}
	if err := b.flush(ctx); err != nil {
		return err
	}

	// The attempts' rows refer to their entries, written above.
	b = batcher{l: l, q: q, table: l.attempts, cols: attemptCols, ncols: attemptColCount}
	for _, e := range entries {
		for i, a := range e.Attempts {
			if err := b.row(ctx, len(a.Error)+len(a.ResponseBody), appendAttempt([]any{e.ID, i + 1}, d, &a)...); err != nil {
				return fmt.Errorf("entry %q: writing attempt %d: %w", e.ID, i+1, err)
			}
		}
	}
	return b.flush(ctx)
}

// batcher collects the rows of a multi-row INSERT and writes them when
// they reach insertRows rows or insertBytes bytes of large values.
type batcher struct {
	l     *Log
	q     queryer
	table string
	cols  string
	ncols int

	args []any
	rows int
	size int
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
	if _, err := b.l.exec(ctx, b.q, "INSERT INTO "+b.table+" ("+b.cols+") VALUES "+values, b.args...); err != nil {
		return err
	}
	b.args, b.rows, b.size = b.args[:0], 0, 0
	return nil
}
