package sqllog

import (
	"context"
	"fmt"
	"time"

	"github.com/tickethooks/tickethooks/executionlog"
	"github.com/tickethooks/tickethooks/internal/textcut"
)

// Redeliver puts the finished entry with the given id back in the queue:
// pending, due at now, with series_start set to its attempt count, which
// it keeps, the lease and note cleared and updated_at set to now. One
// UPDATE ... WHERE id = ? AND status IN ('succeeded', 'failed') does it,
// so of several concurrent calls on one entry exactly one succeeds. It
// returns an error wrapping executionlog.ErrNotFound for an unknown id and
// executionlog.ErrNotFinished for a pending entry.
func (l *Log) Redeliver(ctx context.Context, id string, now time.Time) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	if err := notStored(id); err != nil {
		return fmt.Errorf("sqllog: redeliver: %w", err)
	}
	d := l.d
	for try := 0; ; try++ {
		res, err := l.exec(ctx, l.db, "UPDATE "+l.entries+" SET status = 'pending', next_attempt_at = ?,"+
			" series_start = attempt_count, lease_owner = NULL, lease_until = NULL, note = '', updated_at = ?"+
			" WHERE id = ? AND status IN ('succeeded', 'failed')",
			d.timeArg(now), d.timeArg(now), id)
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
		err = l.queryRow(ctx, l.db, "SELECT status FROM "+l.entries+" WHERE id = ?", id).Scan(&status)
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
