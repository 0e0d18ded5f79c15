package sqllog

import (
	"context"
	"fmt"
	"time"

	"github.com/tickethooks/tickethooks/executionlog"
	"github.com/tickethooks/tickethooks/internal/textcut"
)

// Redeliver implements executionlog.Log.Redeliver with one UPDATE ...
// WHERE id = ? AND tenant = ? AND status IN ('succeeded', 'failed'), so
// of several concurrent calls on one entry exactly one succeeds, and an
// entry outside s is never changed. A scope that Scope.Check refuses
// finds nothing, without a query.
func (l *Log) Redeliver(ctx context.Context, s executionlog.Scope, id string, now time.Time) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	if err := notStored(id); err != nil {
		return fmt.Errorf("sqllog: redeliver: %w", err)
	}
	scope, sargs, err := scopeCondition(s)
	if err != nil {
		return fmt.Errorf("sqllog: redeliver: %w: %w", executionlog.ErrNotFound, err)
	}
	d := l.d
	for try := 0; ; try++ {
		res, err := l.exec(ctx, l.db, "UPDATE "+l.entries+" SET status = 'pending', next_attempt_at = ?,"+
			" series_start = attempt_count, lease_owner = NULL, lease_until = NULL, note = '', updated_at = ?"+
			" WHERE id = ?"+scope+" AND status IN ('succeeded', 'failed')",
			append([]any{d.timeArg(now), d.timeArg(now), id}, sargs...)...)
		if err != nil {
			return fmt.Errorf("sqllog: redeliver %q: %w", textcut.Cut(id, 64), err)
		}
		n, err := res.RowsAffected()
		if err != nil {
			return fmt.Errorf("sqllog: redeliver %q: %w", textcut.Cut(id, 64), err)
		}
		if n > 0 {
			return nil
		}
		var status string
		err = l.queryRow(ctx, l.db, "SELECT status FROM "+l.entries+" WHERE id = ?"+scope,
			append([]any{id}, sargs...)...).Scan(&status)
		switch {
		case isNoRows(err):
			return fmt.Errorf("sqllog: redeliver: %w: %q", executionlog.ErrNotFound, textcut.Cut(id, 64))
		case err != nil:
			return fmt.Errorf("sqllog: redeliver %q: %w", textcut.Cut(id, 64), err)
		case status == string(executionlog.StatusPending) || try > 0:
			return fmt.Errorf("sqllog: redeliver: %w: entry %q is pending", executionlog.ErrNotFinished, textcut.Cut(id, 64))
		}
		// The entry finished between the two statements: try again.
	}
}
