package tickethooks

import (
	"context"
	"errors"
	"runtime"
	"sync"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/tickethooks/tickethooks/executionlog"
)

var errLogDown = errors.New("log down")

// TestRoomLineAdd checks what add returns for each answer of the log, and
// for a full log when the caller stops waiting or the engine stops.
func TestRoomLineAdd(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name      string
		answer    error // what every try returns
		cancelled bool  // whether ctx has ended
		closed    bool  // whether the engine stopped
		want      []error
		wantTries int
	}{
		{name: "room", answer: nil, want: nil, wantTries: 1},
		{name: "log error", answer: errLogDown, want: []error{errLogDown}, wantTries: 1},
		{name: "full, caller gives up", answer: executionlog.ErrFull, cancelled: true,
			want: []error{ErrQueueFull, executionlog.ErrFull, context.Canceled}, wantTries: 1},
		{name: "full, engine stops", answer: executionlog.ErrFull, closed: true, want: []error{ErrClosed}, wantTries: 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			closing := make(chan struct{})
			if tt.closed {
				close(closing)
			}
			l := &roomLine{close: closing}
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			if tt.cancelled {
				cancel()
			}
			tries := 0
			err := l.add(ctx, func() error { tries++; return tt.answer })
			if tt.want == nil && err != nil {
				t.Errorf("add = %v, want nil", err)
			}
			for _, w := range tt.want {
				if !errors.Is(err, w) {
					t.Errorf("add = %v, want an error matching %v", err, w)
				}
			}
			if diff := cmp.Diff(tt.wantTries, tries); diff != "" {
				t.Errorf("tries mismatch (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff(int32(0), l.waiting.Load()); diff != "" {
				t.Errorf("calls left in line mismatch (-want +got):\n%s", diff)
			}
		})
	}
}

// TestRoomLineTurns checks that calls waiting for room take turns in the
// order they came, that a call coming while others wait does not try the
// log before its turn, and that each call passes its turn on.
func TestRoomLineTurns(t *testing.T) {
	t.Parallel()
	l := &roomLine{close: make(chan struct{})}
	var mu sync.Mutex
	full := true
	var order []string // the calls' tries, in order
	try := func(name string) func() error {
		return func() error {
			mu.Lock()
			defer mu.Unlock()
			order = append(order, name)
			if full {
				return executionlog.ErrFull
			}
			return nil
		}
	}
	errs := make(chan error, 3)
	for i, name := range []string{"first", "second", "third"} {
		go func() { errs <- l.add(context.Background(), try(name)) }()
		for l.waiting.Load() != int32(i+1) {
			runtime.Gosched()
		}
	}
	mu.Lock()
	full = false
	mu.Unlock()
	l.madeRoom() // one delivery ended: the first call's turn
	for range 3 {
		if err := <-errs; err != nil {
			t.Errorf("add = %v, want nil", err)
		}
	}
	want := []string{"first", "first", "second", "third"}
	if diff := cmp.Diff(want, order); diff != "" {
		t.Errorf("tries mismatch (-want +got):\n%s", diff)
	}
}

// TestRoomLineLeave checks that a call leaving the line before its turn
// wakes nobody, and that one leaving after its turn came passes it on.
func TestRoomLineLeave(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name       string
		turnFirst  bool // whether the first call's turn came before it leaves
		wantWoken  bool // whether the second call gets its turn
		wantInLine int32
	}{
		{name: "before its turn", turnFirst: false, wantWoken: false, wantInLine: 1},
		{name: "after its turn", turnFirst: true, wantWoken: true, wantInLine: 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			l := &roomLine{close: make(chan struct{})}
			first, second := l.join(0), l.join(0)
			if tt.turnFirst {
				l.madeRoom()
			}
			l.leave(first)
			woken := false
			select {
			case <-second:
				woken = true
			default:
			}
			if diff := cmp.Diff(tt.wantWoken, woken); diff != "" {
				t.Errorf("second call woken mismatch (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff(tt.wantInLine, l.waiting.Load()); diff != "" {
				t.Errorf("calls in line mismatch (-want +got):\n%s", diff)
			}
		})
	}
}

// TestRoomLineJoinAfterRoomMade checks that a call whose try was refused
// does not wait when a delivery ended since the try.
func TestRoomLineJoinAfterRoomMade(t *testing.T) {
	t.Parallel()
	l := &roomLine{close: make(chan struct{})}
	made := l.made.Load()
	l.madeRoom()
	if wait := l.join(made); wait != nil {
		t.Errorf("join after room was made = a wait, want nil")
	}
	if diff := cmp.Diff(int32(0), l.waiting.Load()); diff != "" {
		t.Errorf("calls in line mismatch (-want +got):\n%s", diff)
	}
}
