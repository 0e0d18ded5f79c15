package trigger

import (
	"sync"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/tickethooks/tickethooks/payload"
)

// compileTestTrigger compiles a trigger with expression src as Compile
// does.
func compileTestTrigger(t testing.TB, src string) *Trigger {
	t.Helper()
	set, err := Compile([]Definition{{ID: "t", Expression: src, Actions: []ActionDefinition{{Type: ActionNote, Text: "x"}}}}, nil)
	if err != nil {
		t.Fatalf("Compile(%q): %v", src, err)
	}
	return set.Triggers()[0]
}

func TestEventRelease(t *testing.T) {
	t.Parallel()
	tr := compileTestTrigger(t, `Previous != nil && Previous.Status != Ticket.Status`)
	ev := NewEvent(&payload.Ticket{Status: "Open"}, &payload.Ticket{Status: "Resolved"})
	ev.Release() // nothing kept yet
	if !tr.Match(ev) {
		t.Fatal("Match = false, want true")
	}
	if ev.slot.m == nil {
		t.Fatal("the Event keeps no VM after running a program")
	}
	ev.Release()
	ev.Release()
	if ev.slot.m != nil {
		t.Fatal("the Event keeps a VM after Release")
	}
	// Usable after Release.
	if !tr.Match(ev) {
		t.Fatal("Match after Release = false, want true")
	}
	ev.Release()
	(*Event)(nil).Release()
}

// TestEventConcurrent evaluates VM and Go-path triggers against one Event
// from many goroutines (run it with -race).
func TestEventConcurrent(t *testing.T) {
	t.Parallel()
	srcs := []string{
		`Previous != nil && Previous.Status != Ticket.Status`,
		`len(Ticket.Actions) == 0 && Ticket.SlaSolutionTime == 60.0`,
		`Ticket.Status == "Resolved" && Changed("Status")`,
		`Previous.Urgency == "High"`,
	}
	var trs []*Trigger
	for _, s := range srcs {
		trs = append(trs, compileTestTrigger(t, s))
	}
	ev := NewEvent(&payload.Ticket{Status: "Open", Urgency: "Low"}, &payload.Ticket{Status: "Resolved", SlaSolutionTime: 60})
	want := []bool{true, true, true, false}
	var wg sync.WaitGroup
	results := make([][]bool, 8)
	for g := range results {
		wg.Go(func() {
			for range 200 {
				got := make([]bool, len(trs))
				for i, tr := range trs {
					got[i] = tr.Match(ev)
				}
				results[g] = got
			}
		})
	}
	wg.Wait()
	ev.Release()
	for g, got := range results {
		if diff := cmp.Diff(want, got); diff != "" {
			t.Errorf("goroutine %d: results mismatch (-want +got):\n%s", g, diff)
		}
	}
}
