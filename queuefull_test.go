package tickethooks_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/tickethooks/tickethooks"
	"github.com/tickethooks/tickethooks/executionlog"
)

func TestQueueFull(t *testing.T) {
	t.Parallel()
	e, _, release := fullEngine(t)
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	err := e.OnTicketChange(ctx, ticket("Open"), ticket("Resolved"))
	if !errors.Is(err, tickethooks.ErrQueueFull) || !errors.Is(err, executionlog.ErrFull) || !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("full log: err = %v, want ErrQueueFull wrapping executionlog.ErrFull and the deadline", err)
	}
	// Once the first delivery ends there is room again: a waiting call
	// goes through.
	done := make(chan error, 1)
	go func() { done <- e.OnTicketChange(context.Background(), ticket("Open"), ticket("Resolved")) }()
	close(release)
	if err := <-done; err != nil {
		t.Errorf("OnTicketChange after room was made: %v", err)
	}
}

// TestQueueFullWaitersInLine shows that calls waiting for room in a full
// log all go through as deliveries end, one after another, also when some
// of them give up while waiting (their turn passes to the next).
func TestQueueFullWaitersInLine(t *testing.T) {
	t.Parallel()
	e, arrived, release := fullEngine(t)
	const waiting, quitting = 8, 4
	errs := make(chan error, waiting)
	for range waiting {
		go func() { errs <- e.OnTicketChange(context.Background(), ticket("Open"), ticket("Resolved")) }()
	}
	ctx, cancel := context.WithCancel(context.Background())
	quit := make(chan error, quitting)
	for range quitting {
		go func() { quit <- e.OnTicketChange(ctx, ticket("Open"), ticket("Resolved")) }()
	}
	time.Sleep(20 * time.Millisecond) // let them all find the log full
	cancel()
	gaveUp := 0
	for range quitting {
		switch err := <-quit; {
		case errors.Is(err, tickethooks.ErrQueueFull):
			gaveUp++
		case err != nil:
			t.Errorf("cancelled call: err = %v, want nil or ErrQueueFull", err)
		}
	}
	close(release)
	for range waiting {
		if err := <-errs; err != nil {
			t.Errorf("waiting call: %v", err)
		}
	}
	// Every recorded delivery is sent: the first, the waiting calls and
	// the cancelled ones that got in before giving up.
	want := 1 + waiting + quitting - gaveUp
	for i := 1; i < want; i++ {
		select {
		case <-arrived:
		case <-time.After(10 * time.Second):
			t.Fatalf("%d of %d deliveries arrived", i, want)
		}
	}
}
