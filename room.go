package tickethooks

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"slices"
	"sync"
	"sync/atomic"

	"github.com/tickethooks/tickethooks/executionlog"
)

// add writes entries to the log, in tx when it is not nil, waiting in
// e.room for room while a bounded log is full.
func (e *Engine) add(ctx context.Context, tx *sql.Tx, entries []*executionlog.Entry) error {
	var failed error // the log's error other than ErrFull
	err := e.room.add(ctx, func() error {
		var err error
		if tx != nil {
			err = e.log.(executionlog.TxAdder).AddTx(ctx, tx, entries)
		} else {
			err = e.log.Add(ctx, entries)
		}
		if !errors.Is(err, executionlog.ErrFull) {
			failed = err
		}
		return err
	})
	if failed != nil {
		return fmt.Errorf("tickethooks: recording %d deliveries: %w", len(entries), failed)
	}
	return err
}

// roomLine is the line of calls waiting for room in a full log.
//
// Calls that find the log full wait in line, and new calls join the line
// while it is not empty: each delivery that ends gives the longest-waiting
// call its turn, and a call whose turn came passes it on to the next once
// it has added its entries, since the delivery may have freed more than
// one place. A full log so costs about one refused Add per delivery, not
// one per waiting call.
type roomLine struct {
	mu      sync.Mutex
	line    []chan struct{} // the waiting calls, longest-waiting first
	waiting atomic.Int32    // len(line), read without mu
	made    atomic.Uint64   // deliveries ended, each of which may have made room
	close   <-chan struct{} // closed when the engine stops taking calls
}

// add runs try, which adds entries to the log, until it fails with
// another error than executionlog.ErrFull, and returns that error (nil
// on success). While the log is full it waits in line. It returns
// ErrQueueFull, wrapping the log's last refusal and ctx's error, when ctx
// ends first, and ErrClosed when the engine stops first.
func (l *roomLine) add(ctx context.Context, try func() error) error {
	full := executionlog.ErrFull // the log's last refusal
	turn := false                // whether this call's turn came
	for {
		made := l.made.Load()
		var err error
		if turn || l.waiting.Load() == 0 {
			err = try()
		} else {
			err = full // wait behind the calls already in line
		}
		if !errors.Is(err, executionlog.ErrFull) {
			if turn {
				l.wakeNext() // pass the turn on
			}
			return err
		}
		full, turn = err, false
		wait := l.join(made)
		if wait == nil {
			continue // room was made since the try
		}
		select {
		case <-wait:
			turn = true
		case <-ctx.Done():
			l.leave(wait)
			return fmt.Errorf("%w: %w (%w)", ErrQueueFull, full, ctx.Err())
		case <-l.close:
			l.leave(wait)
			return ErrClosed
		}
	}
}

// join puts a call at the end of the line and returns the channel closed
// when its turn comes, or nil when room was made since l.made was made.
func (l *roomLine) join(made uint64) chan struct{} {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.made.Load() != made {
		return nil
	}
	wait := make(chan struct{})
	l.line = append(l.line, wait)
	l.waiting.Add(1)
	return wait
}

// madeRoom notes that a delivery ended, which may have made room in the
// log, and gives the longest-waiting call its turn.
func (l *roomLine) madeRoom() {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.made.Add(1)
	l.wakeNextLocked()
}

// wakeNext gives the call that has waited longest its turn, if any call
// waits.
func (l *roomLine) wakeNext() {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.wakeNextLocked()
}

// wakeNextLocked is wakeNext for a caller holding l.mu.
func (l *roomLine) wakeNextLocked() {
	if len(l.line) == 0 {
		return
	}
	close(l.line[0])
	l.line[0] = nil
	l.line = l.line[1:]
	l.waiting.Add(-1)
	if len(l.line) == 0 {
		l.line = nil
	}
}

// leave takes a call that stops waiting out of the line. If its turn came
// already, the turn passes to the next call.
func (l *roomLine) leave(wait chan struct{}) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if i := slices.Index(l.line, wait); i >= 0 {
		l.line = slices.Delete(l.line, i, i+1)
		l.waiting.Add(-1)
		return
	}
	l.wakeNextLocked()
}
