package sqllog

import (
	"context"
	"fmt"
	"slices"
	"time"

	"github.com/tickethooks/tickethooks/executionlog"
)

// defaultPruneBatch is how many entries one Prune statement deletes.
const defaultPruneBatch = 1000

// finishedCondition selects finished entries created before a time, its
// argument.
const finishedCondition = "status IN ('succeeded', 'failed') AND created_at < ?"

// Prune implements executionlog.Pruner: it deletes the finished
// (succeeded or failed) entries of scope s created before olderThan, with
// their attempts, and returns how many entries it deleted. It never
// deletes pending entries, however old, nor another tenant's. A scope
// that Scope.Check refuses is an error wrapping
// executionlog.ErrInvalidTenant.
//
// Prune deletes in batches of 1,000 entries, each its own short
// transaction, so it never holds locks for long and can run while engines
// work; run it periodically (for example daily, with olderThan 30 days
// ago) to bound the log's size. When ctx ends between batches, Prune
// returns the count so far with ctx's error.
func (l *Log) Prune(ctx context.Context, s executionlog.Scope, olderThan time.Time) (int64, error) {
	scope, sargs, err := scopeCondition(s)
	if err != nil {
		return 0, fmt.Errorf("sqllog: prune: %w", err)
	}
	// A stored time, a whole microsecond, is before olderThan exactly
	// when it is before olderThan rounded up to the microsecond.
	cond := finishedCondition + scope
	args := append([]any{l.d.timeArg(ceilMicro(olderThan))}, sargs...)
	var total int64
	for {
		if err := ctx.Err(); err != nil {
			return total, err
		}
		n, err := l.d.pruneBatch(ctx, l, cond, slices.Clone(args), l.pruneBatch)
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
