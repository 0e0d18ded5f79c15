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
// Calls that find the log full wait in line: each delivery that ends wakes
// the call that has waited longest, and a call that then finds room wakes
// the next, since the delivery may have freed more than one place. A full
// log so costs one refused Add per delivery, not one per waiting call.
func (e *Engine) add(ctx context.Context, tx *sql.Tx, entries []*executionlog.Entry) error {
	err := e.tryAdd(ctx, tx, entries)
	for errors.Is(err, executionlog.ErrFull) {
		// Wait in line first, then try again: room made between the
		// refusal and now is not missed.
		turn := e.waitForRoom()
		if err = e.tryAdd(ctx, tx, entries); !errors.Is(err, executionlog.ErrFull) {
			e.leaveLine(turn, err == nil)
			break
		}
		select {
		case <-turn:
		case <-ctx.Done():
			e.leaveLine(turn, false)
			return fmt.Errorf("%w: %w (%w)", ErrQueueFull, err, ctx.Err())
		case <-e.closing:
			e.leaveLine(turn, false)
			return ErrClosed
		}
		if err = e.tryAdd(ctx, tx, entries); !errors.Is(err, executionlog.ErrFull) {
			e.wakeForRoom() // pass the turn on
		}
	}
	if err != nil {
		return fmt.Errorf("tickethooks: recording %d deliveries: %w", len(entries), err)
	}
	return nil
}

// tryAdd writes entries to the log once, in tx when it is not nil.
func (e *Engine) tryAdd(ctx context.Context, tx *sql.Tx, entries []*executionlog.Entry) error {
	if tx != nil {
		return e.log.(executionlog.TxAdder).AddTx(ctx, tx, entries)
	}
	return e.log.Add(ctx, entries)
}

// waitForRoom puts a call at the end of the line of calls waiting for room
// in the log and returns the channel closed when its turn comes.
func (e *Engine) waitForRoom() chan struct{} {
	turn := make(chan struct{})
	e.mu.Lock()
	e.roomLine = append(e.roomLine, turn)
	e.mu.Unlock()
	return turn
}

// wakeForRoom wakes the call that has waited longest for room, if any.
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
	if len(e.roomLine) == 0 {
		e.roomLine = nil
	}
}

// leaveLine takes a call that stops waiting out of the line. A turn that
// came already is passed on to the next call, as is one of a call that
// found room (added), which may not have taken all of it.
func (e *Engine) leaveLine(turn chan struct{}, added bool) {
	e.mu.Lock()
	defer e.mu.Unlock()
	if i := slices.Index(e.roomLine, turn); i >= 0 {
		e.roomLine = slices.Delete(e.roomLine, i, i+1)
		if !added {
			return
		}
	}
	e.wakeForRoomLocked()
}
