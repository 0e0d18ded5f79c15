package sqllog

import (
	"context"
	"errors"

	"github.com/tickethooks/tickethooks/executionlog"
)

// Delete is interim.
func (l *Log) Delete(ctx context.Context, f executionlog.Filter) (int64, error) {
	return 0, errors.New("interim")
}
