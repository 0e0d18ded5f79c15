package sqllog

import (
	"context"
	"errors"
	"fmt"

	"github.com/tickethooks/tickethooks/executionlog"
)

// writeBatch writes the writes of batch, two or more, together under ctx.
// On PostgreSQL a batch of updates is one statement; otherwise the batch
// is one transaction: the entries of every Add, then each Update's
// statements in turn.
//
// When the batch fails before it commits, nothing of it is written and
// writeBatch asks for each write to be written alone. When its commit
// fails, whether it was written is unknown, so every write gets the
// commit's error, as it would have alone. The one statement of a
// PostgreSQL batch is its own commit: it is written again call by call
// only when the server refused it, and otherwise (a broken connection)
// every write gets its error. Updates that changed nothing get
// updateRefused's error.
func (l *Log) writeBatch(ctx context.Context, batch []*write) batchResult {
	if w, ok := l.d.(oneStatementWriter); ok && allUpdates(batch) {
		us := make([]*executionlog.Update, len(batch))
		for i, w := range batch {
			us[i] = w.u
		}
		changed, err := w.updateBatch(ctx, l, us)
		if err != nil {
			if rejected(err) {
				// The server refused the statement: nothing of it was
				// written.
				return batchResult{retry: true}
			}
			// The statement runs on its own (autocommit): the server
			// may have committed it before the connection failed, so
			// writing each update again could record it twice. As
			// with a failed commit, the outcome is unknown.
			errs := make([]error, len(batch))
			for i, w := range batch {
				errs[i] = w.failed(err)
			}
			return batchResult{errs: errs}
		}
		return l.refusals(ctx, batch, changed)
	}

	tx, err := l.db.BeginTx(ctx, nil)
	if err != nil {
		return batchResult{retry: true}
	}
	var entries []*executionlog.Entry
	for _, w := range batch {
		entries = append(entries, w.add...)
	}
	if len(entries) > 0 {
		if err := l.insert(ctx, tx, entries); err != nil {
			rollback(tx)
			return batchResult{retry: true}
		}
	}
	changed, err := l.updateAll(ctx, tx, batch)
	if err != nil {
		rollback(tx)
		return batchResult{retry: true}
	}
	if err := tx.Commit(); err != nil {
		// Refused updates are refused whether or not the commit went
		// through, as they would be alone; the rest get its error.
		res := l.refusals(ctx, batch, changed)
		for i, w := range batch {
			if res.errs[i] == nil {
				res.errs[i] = w.failed(fmt.Errorf("commit: %w", err))
			}
		}
		return res
	}
	return l.refusals(ctx, batch, changed)
}

// rejected reports whether err is an error the database server reported
// for a statement (it carries an SQLSTATE, as pgx's and lib/pq's errors
// do), which means the statement was not committed; a broken connection
// or a cancelled call leaves that unknown.
func rejected(err error) bool {
	var se interface{ SQLState() string }
	return errors.As(err, &se)
}

// refusals returns the results of a committed batch: nil for every Add
// and every Update that changed its entry, updateRefused's error for the
// other updates.
func (l *Log) refusals(ctx context.Context, batch []*write, changed []bool) batchResult {
	errs := make([]error, len(batch))
	for i, w := range batch {
		if w.u != nil && !changed[i] {
			errs[i] = l.updateRefused(ctx, *w.u)
		}
	}
	return batchResult{errs: errs}
}

// allUpdates reports whether every write of batch is an Update.
func allUpdates(batch []*write) bool {
	for _, w := range batch {
		if w.u == nil {
			return false
		}
	}
	return true
}

// updateAll makes the updates of batch on tx and reports for each write
// whether it is an update that changed its entry.
func (l *Log) updateAll(ctx context.Context, tx queryer, batch []*write) ([]bool, error) {
	changed := make([]bool, len(batch))
	for i, w := range batch {
		if w.u == nil {
			continue
		}
		c, err := l.updateIn(ctx, tx, w.u)
		if err != nil {
			return nil, err
		}
		changed[i] = c
	}
	return changed, nil
}
