package sqllog

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/tickethooks/tickethooks/executionlog"
)

// defaultDeleteBatch is how many entries one Delete transaction deletes.
const defaultDeleteBatch = 1000

// Delete implements executionlog.Log.Delete. It walks the matching
// entries oldest first, in batches of 1,000, and deletes each batch, with
// its attempts, in a short transaction of its own, so that deleting a
// large account never holds locks for long; the DELETE checks the filter
// again, so an entry that stopped matching in between is kept. When ctx
// ends between batches, Delete returns the count so far with ctx's error.
func (l *Log) Delete(ctx context.Context, f executionlog.Filter) (int64, error) {
	if err := ctx.Err(); err != nil {
		return 0, err
	}
	f, err := f.Normalize()
	if err != nil {
		return 0, fmt.Errorf("sqllog: delete: %w", err)
	}
	d := l.d
	where, args, exact := l.filterCondition(f)
	var total int64
	at, last, after := time.Time{}, "", false
	for {
		if err := ctx.Err(); err != nil {
			return total, err
		}
		cond, cargs := slices.Clone(where), slices.Clone(args)
		if after {
			cond = append(cond, "created_at >= ? AND (created_at > ? OR id > ?)")
			cargs = append(cargs, d.timeArg(at), d.timeArg(at), last)
		}
		ids, lastAt, lastID, scanned, err := l.deleteCandidates(ctx, f, cond, cargs, exact)
		if err != nil {
			return total, fmt.Errorf("sqllog: delete: %w", err)
		}
		if len(ids) > 0 {
			n, err := l.deleteIDs(ctx, ids, where, args)
			total += n
			if err != nil {
				return total, fmt.Errorf("sqllog: delete: %w", err)
			}
		}
		if scanned < l.deleteBatch {
			return total, nil
		}
		at, last, after = lastAt, lastID, true
	}
}

// deleteCandidates reads the next batch of entries matching cond, oldest
// first, and returns the ids of those that match f (all of them when
// exact), the position of the last one read, and how many it read.
func (l *Log) deleteCandidates(ctx context.Context, f executionlog.Filter, cond []string, args []any,
	exact bool) (ids []any, lastAt time.Time, lastID string, scanned int, err error) {
	cols := "id, created_at"
	if !exact {
		cols = entryCols
	}
	query := "SELECT " + cols + " FROM " + l.entries
	if len(cond) > 0 {
		query += " WHERE " + strings.Join(cond, " AND ")
	}
	query += " ORDER BY created_at, id LIMIT ?"
	rs, err := l.query(ctx, l.db, query, append(args, l.deleteBatch)...)
	if err != nil {
		return nil, lastAt, "", 0, err
	}
	if !exact {
		rows, err := l.scanEntries(rs)
		if err != nil {
			return nil, lastAt, "", 0, err
		}
		entries, err := l.loadAttempts(ctx, l.db, rows)
		if err != nil {
			return nil, lastAt, "", 0, err
		}
		for _, e := range entries {
			if executionlog.MatchesError(e.Attempts, f.ErrorText) {
				ids = append(ids, e.ID)
			}
			lastAt, lastID = e.CreatedAt, e.ID
		}
		return ids, lastAt, lastID, len(entries), nil
	}
	defer rs.Close()
	for rs.Next() {
		var id string
		var created time.Time
		if err := rs.Scan(&id, l.scanTime(&created)); err != nil {
			return nil, lastAt, "", 0, err
		}
		ids = append(ids, id)
		lastAt, lastID = created, id
	}
	if err := rs.Err(); err != nil {
		return nil, lastAt, "", 0, err
	}
	return ids, lastAt, lastID, len(ids), nil
}

// deleteIDs deletes, in one transaction, the entries of ids that still
// match where, a list of conditions with arguments args, and the
// attempts of the entries deleted, and returns how many entries it
// deleted. The attempts are deleted explicitly because SQLite enforces
// the ON DELETE CASCADE only on connections with foreign_keys on; an
// attempt of an entry not deleted is not touched.
func (l *Log) deleteIDs(ctx context.Context, ids []any, where []string, args []any) (int64, error) {
	marks := strings.Repeat(", ?", len(ids))[2:]
	cond := "id IN (" + marks + ")"
	for _, w := range where {
		cond += " AND " + w
	}
	tx, err := l.db.BeginTx(ctx, nil)
	if err != nil {
		return 0, fmt.Errorf("begin transaction: %w", err)
	}
	res, err := l.exec(ctx, tx, "DELETE FROM "+l.entries+" WHERE "+cond, append(slices.Clone(ids), args...)...)
	if err != nil {
		rollback(tx)
		return 0, err
	}
	n, err := res.RowsAffected()
	if err != nil {
		rollback(tx)
		return 0, fmt.Errorf("counting the entries deleted: %w", err)
	}
	if _, err := l.exec(ctx, tx, "DELETE FROM "+l.attempts+" WHERE entry_id IN ("+marks+") AND NOT EXISTS (SELECT 1 FROM "+
		l.entries+" WHERE id = entry_id)", ids...); err != nil {
		rollback(tx)
		return 0, fmt.Errorf("deleting attempts: %w", err)
	}
	if err := tx.Commit(); err != nil {
		return 0, fmt.Errorf("commit: %w", err)
	}
	return n, nil
}

// CountPending implements executionlog.PendingCounter: it counts the
// pending entries of tenant, through the index of (tenant, status), and
// stops at limit when limit is positive. A tenant that
// executionlog.ValidateTenant refuses is an error wrapping
// executionlog.ErrInvalidTenant.
func (l *Log) CountPending(ctx context.Context, tenant string, limit int) (int, error) {
	if err := ctx.Err(); err != nil {
		return 0, err
	}
	if err := executionlog.ValidateTenant(tenant); err != nil {
		return 0, fmt.Errorf("sqllog: count pending: %w", err)
	}
	query := "SELECT COUNT(*) FROM " + l.entries + " WHERE tenant = ? AND status = 'pending'"
	args := []any{tenant}
	if limit > 0 {
		query = "SELECT COUNT(*) FROM (SELECT 1 AS one FROM " + l.entries +
			" WHERE tenant = ? AND status = 'pending' LIMIT ?) p"
		args = append(args, limit)
	}
	var n int
	if err := l.queryRow(ctx, l.db, query, args...).Scan(&n); err != nil {
		return 0, fmt.Errorf("sqllog: count pending of tenant %q: %w", tenant, err)
	}
	return n, nil
}
