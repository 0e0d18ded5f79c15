package sqllog

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"

	"github.com/tickethooks/tickethooks/executionlog"
)

// insertCols are the columns Add writes, in the order entryArgs lists
// their values.
const insertCols = "id, trigger_id, trigger_name, action_index, ticket_id, event, url, " +
	"request_headers, request_body, status, attempt_count, next_attempt_at, error_text, note, " +
	"created_at, updated_at"

// insertColCount is the number of insertCols.
const insertColCount = 16

// Bounds of one multi-row INSERT: at most insertRows rows, and no more
// rows once the request bodies and headers reach insertBytes (well under
// MySQL's default 16 MiB max_allowed_packet).
const (
	insertRows  = 200
	insertBytes = 4 << 20
)

// Add stores new pending entries in one transaction, all or none. Each
// entry must have an ID that is not in the log yet, a CreatedAt, and
// StatusPending; LeaseOwner, LeaseUntil and Attempts are ignored. Times are
// stored in UTC with microsecond precision.
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
	tx, err := l.db.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("sqllog: add %d entries: begin transaction: %w", len(entries), err)
	}
	if err := l.insert(ctx, tx, entries); err != nil {
		rollback(tx)
		return fmt.Errorf("sqllog: add %d entries: %w", len(entries), err)
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("sqllog: add %d entries: commit: %w", len(entries), err)
	}
	return nil
}

// AddTx stores new pending entries like Add, inside tx: they become
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

// validateAdd checks the entries passed to Add, as the memory log does.
func validateAdd(entries []*executionlog.Entry) error {
	for i, e := range entries {
		var err error
		switch {
		case e == nil:
			err = errors.New("entry is nil")
		case e.ID == "":
			err = errors.New("id is empty")
		case e.CreatedAt.IsZero():
			err = fmt.Errorf("entry %q has no created time", e.ID)
		case e.Status != executionlog.StatusPending:
			err = fmt.Errorf("entry %q has status %q, want %q", e.ID, e.Status, executionlog.StatusPending)
		}
		if err != nil {
			return fmt.Errorf("sqllog: add entry %d: %w", i, err)
		}
	}
	return nil
}

// insert writes entries with multi-row INSERT statements on q.
func (l *Log) insert(ctx context.Context, q queryer, entries []*executionlog.Entry) error {
	args := make([]any, 0, insertColCount*min(len(entries), insertRows))
	rows, size := 0, 0
	flush := func() error {
		if rows == 0 {
			return nil
		}
		values := strings.Repeat(", ("+strings.Repeat("?, ", insertColCount-1)+"?)", rows)[2:]
		if _, err := l.exec(ctx, q, "INSERT INTO "+l.entries+" ("+insertCols+") VALUES "+values, args...); err != nil {
			return err
		}
		args, rows, size = args[:0], 0, 0
		return nil
	}
	for _, e := range entries {
		headers, err := encodeHeaders(e.RequestHeaders)
		if err != nil {
			return fmt.Errorf("entry %q: %w", e.ID, err)
		}
		d := l.d
		args = append(args, e.ID, e.TriggerID, e.TriggerName, e.ActionIndex, e.TicketID, e.Event, e.URL,
			headers, bytesArg(e.RequestBody), string(executionlog.StatusPending), 0, d.timeArg(e.NextAttemptAt), "", "",
			d.timeArg(e.CreatedAt), d.timeArg(e.UpdatedAt))
		rows++
		size += len(e.RequestBody) + len(e.URL) + len(e.TriggerName)
		if h, ok := headers.(string); ok {
			size += len(h)
		}
		if rows == insertRows || size >= insertBytes {
			if err := flush(); err != nil {
				return err
			}
		}
	}
	return flush()
}
