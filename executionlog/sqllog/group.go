package sqllog

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"sync/atomic"

	"github.com/tickethooks/tickethooks/executionlog"
)

// Group commit: concurrent Add and Update calls are written together.
//
// A call that finds no batch of its group being written writes alone, at
// once, exactly as it would without grouping. Calls that arrive while a
// batch is being written queue. When a batch ends, the calls queued by
// then become the next batch (up to the batch bounds), which the first of
// them writes for all in one transaction (one statement for PostgreSQL's
// updates) and whose results it hands to the others. A call therefore
// never waits for company, and a batch holds what queued up while the one
// before it was being written.
//
// A call whose context ends while it is queued leaves the queue and
// returns the context's error, unwritten. Once taken into a batch it is
// written with the others, under a context that ends only when every
// call's context has ended, and gets the batch's result. If the batch's
// transaction fails before its commit (a bad entry, a constraint, a
// deadlock), each call of the batch writes again alone, with its own
// context, so that one bad call fails alone.

// Bounds of one batch: at most batchWrites calls and, once it holds
// batchRows entries and updates or batchBytes bytes of large values, no
// more calls. The first call is always taken, whatever its size.
const (
	batchWrites = 256
	batchRows   = 1000
	batchBytes  = insertBytes
)

// group gathers concurrent writes that commit together.
type group struct {
	mu sync.Mutex
	// busy is set while a batch of the group is being written.
	busy bool
	// queue holds the writes waiting for the next batch, in arrival
	// order.
	queue []*write
}

// write is one Add or Update call.
type write struct {
	ctx context.Context
	// add holds the entries of an Add; u is the update of an Update.
	add []*executionlog.Entry
	u   *executionlog.Update
	// rows and size count the write's entries or update and the bytes of
	// their large values, for the batch bounds.
	rows, size int

	// done receives the one outcome of a queued write.
	done chan outcome
	// queued is set while the write waits in its group's queue; guarded
	// by the group's mu.
	queued bool
}

// outcome is what a queued write learns when it leaves the queue: the
// batch it is to write for the others (itself first), that it must write
// alone, or its result.
type outcome struct {
	lead  []*write
	alone bool
	err   error
}

// batchResult is the result of writing a batch.
type batchResult struct {
	// errs holds each write's result, in batch order, when the batch
	// committed or its commit failed.
	errs []error
	// retry is set when the batch failed before its commit and wrote
	// nothing: each write is to be written alone.
	retry bool
}

// run writes w through its group g and returns w's result.
func (l *Log) run(g *group, w *write) error {
	g.mu.Lock()
	if !g.busy {
		g.busy = true
		g.mu.Unlock()
		defer l.handOff(g)
		return l.writeOne(w.ctx, w)
	}
	w.done = make(chan outcome, 1)
	w.queued = true
	g.queue = append(g.queue, w)
	g.mu.Unlock()

	var o outcome
	select {
	case o = <-w.done:
	case <-w.ctx.Done():
		g.mu.Lock()
		if w.queued {
			g.remove(w)
			g.mu.Unlock()
			return w.failed(w.ctx.Err())
		}
		g.mu.Unlock()
		// Already taken into a batch: its result comes.
		o = <-w.done
	}
	switch {
	case o.lead != nil:
		return l.lead(g, o.lead)
	case o.alone:
		return l.writeOne(w.ctx, w)
	}
	return o.err
}

// remove takes w out of the queue; g.mu must be held.
func (g *group) remove(w *write) {
	if i := slices.Index(g.queue, w); i >= 0 {
		g.queue = slices.Delete(g.queue, i, i+1)
	}
	w.queued = false
}

// handOff ends the batch being written: the writes queued meanwhile
// become the next batch, handed to its first write, or the group is idle.
func (l *Log) handOff(g *group) {
	g.mu.Lock()
	if len(g.queue) == 0 {
		g.busy = false
		g.mu.Unlock()
		return
	}
	batch := g.take()
	g.mu.Unlock()
	batch[0].done <- outcome{lead: batch}
}

// take removes the next batch from the queue, up to the batch bounds;
// g.mu must be held and the queue not empty. An update of an entry that
// the batch already updates stays queued for a later batch, so that
// updates of one entry apply one after the other, as they would alone.
func (g *group) take() []*write {
	var (
		batch      []*write
		rows, size int
		ids        map[string]bool
	)
	rest := g.queue[:0]
	for i, w := range g.queue {
		full := len(batch) > 0 && (len(batch) == batchWrites || rows >= batchRows || size >= batchBytes)
		if full {
			rest = append(rest, g.queue[i:]...)
			break
		}
		if w.u != nil {
			if ids[w.u.ID] {
				rest = append(rest, w)
				continue
			}
			if ids == nil {
				ids = make(map[string]bool)
			}
			ids[w.u.ID] = true
		}
		w.queued = false
		batch = append(batch, w)
		rows += w.rows
		size += w.size
	}
	clear(g.queue[len(rest):])
	g.queue = rest
	return batch
}

// lead writes batch, whose first write is the caller's, hands every other
// write its outcome, passes the group on to the next batch and returns the
// caller's result.
func (l *Log) lead(g *group, batch []*write) error {
	me := batch[0]
	if len(batch) == 1 {
		defer l.handOff(g)
		return l.writeOne(me.ctx, me)
	}
	told := false
	defer func() {
		if !told {
			// The write did not return (a panic in a driver): the others
			// must not wait for it.
			for _, w := range batch[1:] {
				w.done <- outcome{alone: true}
			}
			l.handOff(g)
		}
	}()

	ctx, stop := batchContext(batch)
	res := l.writeBatch(ctx, batch)
	stop()

	l.handOff(g)
	told = true
	for i, w := range batch[1:] {
		if res.retry {
			w.done <- outcome{alone: true}
		} else {
			w.done <- outcome{err: ownContext(w, res.errs[i+1])}
		}
	}
	if res.retry {
		return l.writeOne(me.ctx, me)
	}
	return ownContext(me, res.errs[0])
}

// ownContext returns err, the outcome of w in a batch, so that it wraps
// w's own context error when the batch's context ended (every caller had
// given up), as the error of a lone call would.
func ownContext(w *write, err error) error {
	if err == nil || !errors.Is(err, context.Canceled) {
		return err
	}
	if cerr := w.ctx.Err(); cerr != nil && !errors.Is(err, cerr) {
		return fmt.Errorf("%w (%w)", cerr, err)
	}
	return err
}

// batchContext returns the context a batch is written under: it carries
// the values of the first write's context and ends when the contexts of
// all the batch's writes have ended, so that no caller giving up fails the
// others. stop releases it.
func batchContext(batch []*write) (ctx context.Context, stop func()) {
	ctx, cancel := context.WithCancel(context.WithoutCancel(batch[0].ctx))
	var left atomic.Int64
	left.Store(int64(len(batch)))
	gone := func() {
		if left.Add(-1) == 0 {
			cancel()
		}
	}
	stops := make([]func() bool, 0, len(batch))
	for _, w := range batch {
		if w.ctx.Err() != nil {
			gone() // at once, so that a batch nobody waits for is not begun
			continue
		}
		stops = append(stops, context.AfterFunc(w.ctx, gone))
	}
	return ctx, func() {
		for _, s := range stops {
			s()
		}
		cancel()
	}
}

// writeOne writes w alone, as Add or Update would without grouping.
func (l *Log) writeOne(ctx context.Context, w *write) error {
	if w.u != nil {
		return l.updateOne(ctx, *w.u)
	}
	return l.addOne(ctx, w.add)
}

// failed returns the error of w for cause, naming the call as its own
// errors do.
func (w *write) failed(cause error) error {
	if w.u != nil {
		return updateError(w.u.ID, cause)
	}
	return addError(len(w.add), cause)
}
