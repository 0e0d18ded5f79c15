package tickethooks

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"slices"

	"github.com/tickethooks/tickethooks/executionlog"
)

// add writes entries to the log, waiting for room while a bounded log is
// full.
//
// Calls that find the log full wait in line, and new calls join the line
// while it is not empty: each delivery that ends gives the longest-waiting
// call its turn, and a call whose turn came passes it on to the next once
// it has added its entries, since the delivery may have freed more than
// one place. A full log so costs about one refused Add per delivery, not
// one per waiting call.
func (e *Engine) add(ctx context.Context, tx *sql.Tx, entries []*executionlog.Entry) error {
	full := executionlog.ErrFull // the log's last refusal
	turn := false                // whether this call's turn came
	for {
		made := e.roomMade.Load()
		var err error
		if turn || e.lineLen.Load() == 0 {
			err = e.tryAdd(ctx, tx, entries)
		} else {
			err = full // wait behind the calls already in line
		}
		if !errors.Is(err, executionlog.ErrFull) {
			if turn {
				e.wakeForRoom() // pass the turn on
			}
			if err != nil {
				return fmt.Errorf("tickethooks: recording %d deliveries: %w", len(entries), err)
			}
			return nil
		}
		full, turn = err, false
		wait := e.waitForRoom(made)
		if wait == nil {
			continue // room was made since the try
		}
		select {
		case <-wait:
			turn = true
		case <-ctx.Done():
			e.leaveLine(wait)
			return fmt.Errorf("%w: %w (%w)", ErrQueueFull, full, ctx.Err())
		case <-e.closing:
			e.leaveLine(wait)
			return ErrClosed
		}
	}
}

// tryAdd writes entries to the log once, in tx when it is not nil.
func (e *Engine) tryAdd(ctx context.Context, tx *sql.Tx, entries []*executionlog.Entry) error {
	if tx != nil {
		return e.log.(executionlog.TxAdder).AddTx(ctx, tx, entries)
	}
	return e.log.Add(ctx, entries)
}

// waitForRoom puts a call at the end of the line of calls waiting for room
// in the log and returns the channel closed when its turn comes, or nil
// when room was made since e.roomMade was made.
func (e *Engine) waitForRoom(made uint64) chan struct{} {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.roomMade.Load() != made {
		return nil
	}
	wait := make(chan struct{})
	e.roomLine = append(e.roomLine, wait)
	e.lineLen.Add(1)
	return wait
}

// madeRoomLocked notes that a delivery ended, which may have made room in
// the log, and gives the longest-waiting call its turn. The caller holds
// e.mu.
func (e *Engine) madeRoomLocked() {
	e.roomMade.Add(1)
	e.wakeForRoomLocked()
}

// wakeForRoom gives the call that has waited longest for room its turn, if
// any call waits.
func (e *Engine) wakeForRoom() {
	e.mu.Lock()
	e.wakeForRoomLocked()
	e.mu.Unlock()
}

// wakeForRoomLocked is wakeForRoom for a caller holding e.mu.
func (e *Engine) wakeForRoomLocked() {
	if len(e.roomLine) == 0 {
		return
	}
	close(e.roomLine[0])
	e.roomLine[0] = nil
	e.roomLine = e.roomLine[1:]
	e.lineLen.Add(-1)
	if len(e.roomLine) == 0 {
		e.roomLine = nil
	}
}

// leaveLine takes a call that stops waiting out of the line. If its turn
// came already, the turn passes to the next call.
func (e *Engine) leaveLine(wait chan struct{}) {
	e.mu.Lock()
	defer e.mu.Unlock()
	if i := slices.Index(e.roomLine, wait); i >= 0 {
		e.roomLine = slices.Delete(e.roomLine, i, i+1)
		e.lineLen.Add(-1)
		return
	}
	e.wakeForRoomLocked()
}
