package sqllog

import (
	"context"
	"fmt"
	"time"
)

// defaultPruneBatch is how many entries one Prune statement deletes.
const defaultPruneBatch = 1000

// finishedCondition selects finished entries created before a time, its
// argument.
const finishedCondition = "status IN ('succeeded', 'failed') AND created_at < ?"

// Prune deletes the finished (succeeded or failed) entries created before
// olderThan, with their attempts, and returns how many entries it deleted.
// It never deletes pending entries, however old.
//
// Prune deletes in batches of 1,000 entries, each its own short
// transaction, so it never holds locks for long and can run while engines
// work; run it periodically (for example daily, with olderThan 30 days
// ago) to bound the log's size. When ctx ends between batches, Prune
// returns the count so far with ctx's error.
func (l *Log) Prune(ctx context.Context, olderThan time.Time) (int64, error) {
	// A stored time, a whole microsecond, is before olderThan exactly
	// when it is before olderThan rounded up to the microsecond.
	cutoff := ceilMicro(olderThan)
	var total int64
	for {
		if err := ctx.Err(); err != nil {
			return total, err
		}
		n, err := l.d.pruneBatch(ctx, l, cutoff, l.pruneBatch)
		total += n
		if err != nil {
			return total, fmt.Errorf("sqllog: prune: %w", err)
		}
		// A short batch means none are left, or another process is
		// pruning the rest at the same time.
		if n < int64(l.pruneBatch) {
			return total, nil
		}
	}
}
