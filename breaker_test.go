package tickethooks

import (
	"fmt"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/tickethooks/tickethooks/webhook"
)

// breakerStep is one call of destinations.acquire or release in a
// breaker test, at an offset from decisionNow.
type breakerStep struct {
	at      time.Duration
	release bool
	o       webhook.Outcome // for release
	gone    bool            // for release
}

// breakerResult is what one step returned.
type breakerResult struct {
	OK      bool          // acquire: a slot was reserved
	RetryAt time.Duration // acquire: when to try again, from decisionNow
	Note    string        // acquire
	Events  []DestinationEvent
}

const breakerKey = "https://example.com:443"

func acq(at time.Duration) breakerStep { return breakerStep{at: at} }

func rel(at time.Duration, o webhook.Outcome) breakerStep {
	return breakerStep{at: at, release: true, o: o}
}

// none is the result of a release causing no event.
var none breakerResult

// took is the result of an acquire that reserved a slot.
var took = breakerResult{OK: true}

// paused is the result of an acquire turned away by an open breaker.
func paused(until time.Duration, failures int) breakerResult {
	return breakerResult{RetryAt: until, Note: fmt.Sprintf("destination %s paused until %s after %d consecutive failures",
		breakerKey, decisionNow.Add(until).Format(time.RFC3339), failures)}
}

// probed is the result of an acquire turned away while the probe is in
// flight.
func probed(at time.Duration, failures int) breakerResult {
	return breakerResult{RetryAt: at + time.Second, Note: fmt.Sprintf("destination %s is being probed after %d consecutive failures",
		breakerKey, failures)}
}

// released is the result of a release at offset at that caused events.
func released(at time.Duration, events ...DestinationEvent) breakerResult {
	for i := range events {
		events[i].Destination, events[i].At = breakerKey, decisionNow.Add(at)
	}
	return breakerResult{Events: events}
}

// TestBreaker drives the breaker state machine of one destination through
// its transitions: closed, open after FailureThreshold failures, probing
// after the cool-down, closed again on success or reopened on failure;
// the limit on deliveries in flight; 410 Gone.
func TestBreaker(t *testing.T) {
	t.Parallel()
	policy := DestinationPolicy{FailureThreshold: 2, CoolDown: time.Minute, MaxInFlight: 2, FailingThreshold: 3}
	const m = time.Minute
	// open is the steps that open the breaker at 0.
	open := []breakerStep{acq(0), rel(0, webhook.Transient), acq(0), rel(0, webhook.Transient)}
	openResults := []breakerResult{took, none, took, released(0, DestinationEvent{Kind: DestinationPaused, ConsecutiveFailures: 2, PausedUntil: decisionNow.Add(m)})}
	tests := []struct {
		name    string
		steps   []breakerStep
		want    []breakerResult
		tracked int // destinations still tracked at the end
	}{
		{
			name:  "success keeps the breaker closed and forgets the destination",
			steps: []breakerStep{acq(0), rel(0, webhook.Delivered)},
			want:  []breakerResult{took, {}},
		},
		{
			name:    "failures below the threshold keep it closed",
			steps:   []breakerStep{acq(0), rel(0, webhook.Transient), acq(time.Second)},
			want:    []breakerResult{took, none, took},
			tracked: 1,
		},
		{
			name:  "a rejection shows the destination is up and resets the count",
			steps: []breakerStep{acq(0), rel(0, webhook.Transient), acq(0), rel(0, webhook.Rejected), acq(0), rel(0, webhook.Transient), acq(0)},
			want:  []breakerResult{took, none, took, none, took, none, took}, tracked: 1,
		},
		{
			name:  "not sent says nothing of the destination",
			steps: []breakerStep{acq(0), rel(0, webhook.Transient), acq(0), rel(0, webhook.NotSent), acq(0)},
			want:  []breakerResult{took, none, took, none, took}, tracked: 1,
		},
		{
			name:    "opens after FailureThreshold failures and pauses until the cool-down ends",
			steps:   append(append([]breakerStep{}, open...), acq(30*time.Second), acq(m-time.Nanosecond)),
			want:    append(append([]breakerResult{}, openResults...), paused(m, 2), paused(m, 2)),
			tracked: 1,
		},
		{
			name:  "one probe after the cool-down; success closes the breaker",
			steps: append(append([]breakerStep{}, open...), acq(m), acq(m), rel(m+time.Second, webhook.Delivered), acq(m+time.Second)),
			want: append(append([]breakerResult{}, openResults...), took, probed(m, 2),
				released(m+time.Second, DestinationEvent{Kind: DestinationRecovered, ConsecutiveFailures: 2}), took),
			tracked: 1,
		},
		{
			name:  "a failed probe reopens the breaker for another cool-down",
			steps: append(append([]breakerStep{}, open...), acq(m), rel(m+time.Second, webhook.Transient), acq(m+2*time.Second), acq(2*m+time.Second)),
			want: append(append([]breakerResult{}, openResults...), took,
				released(m+time.Second, DestinationEvent{Kind: DestinationFailing, ConsecutiveFailures: 3}),
				paused(2*m+time.Second, 3), took),
			tracked: 1,
		},
		{
			name: "a failure in flight when the breaker opens leaves the pause as it is",
			steps: []breakerStep{acq(0), acq(0), rel(0, webhook.Transient), rel(0, webhook.Transient),
				rel(10*time.Second, webhook.Transient), acq(30 * time.Second), acq(m)},
			want: []breakerResult{took, took, none,
				released(0, DestinationEvent{Kind: DestinationPaused, ConsecutiveFailures: 2, PausedUntil: decisionNow.Add(m)}),
				released(10*time.Second, DestinationEvent{Kind: DestinationFailing, ConsecutiveFailures: 3}),
				paused(m, 3), took},
			tracked: 1,
		},
		{
			name:  "a probe not sent lets the next delivery probe",
			steps: append(append([]breakerStep{}, open...), acq(m), rel(m, webhook.NotSent), acq(m), rel(m, webhook.Rejected)),
			want: append(append([]breakerResult{}, openResults...), took, none, took,
				released(m, DestinationEvent{Kind: DestinationRecovered, ConsecutiveFailures: 2})),
		},
		{
			name: "DestinationFailing after every FailingThreshold failures",
			steps: []breakerStep{acq(0), rel(0, webhook.Transient), acq(0), rel(0, webhook.Transient), acq(m), rel(m, webhook.Transient),
				acq(2 * m), rel(2*m, webhook.Transient), acq(3 * m), rel(3*m, webhook.Transient), acq(4 * m), rel(4*m, webhook.Transient)},
			want: append(append([]breakerResult{}, openResults...),
				took, released(m, DestinationEvent{Kind: DestinationFailing, ConsecutiveFailures: 3}),
				took, none, took, none,
				took, released(4*m, DestinationEvent{Kind: DestinationFailing, ConsecutiveFailures: 6})),
			tracked: 1,
		},
		{
			name:    "MaxInFlight turns deliveries away for busyWait until a slot frees",
			steps:   []breakerStep{acq(0), acq(0), acq(0), rel(time.Millisecond, webhook.Delivered), acq(time.Millisecond)},
			want:    []breakerResult{took, took, {RetryAt: busyWait}, none, took},
			tracked: 1,
		},
		{
			name:  "deliveries turned away from a destination that frees no slot are spaced out",
			steps: []breakerStep{acq(0), acq(0), acq(time.Second), acq(time.Second), acq(time.Second)},
			want: []breakerResult{took, took,
				{RetryAt: time.Second + busyWait}, {RetryAt: time.Second + busyWait + busyWait/2}, {RetryAt: time.Second + busyWait + busyWait}},
			tracked: 1,
		},
		{
			name:  "410 Gone reports DestinationGone and shows the destination is up",
			steps: []breakerStep{acq(0), rel(0, webhook.Transient), acq(0), {at: time.Second, release: true, o: webhook.Rejected, gone: true}, acq(time.Second)},
			want: []breakerResult{took, none, took,
				released(time.Second, DestinationEvent{Kind: DestinationGone}), took},
			tracked: 1,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			d := &destinations{policy: policy.withDefaults(), m: map[destKey]*destinationState{}}
			var got []breakerResult
			for _, s := range tt.steps {
				now := decisionNow.Add(s.at)
				if s.release {
					got = append(got, breakerResult{Events: d.release("", breakerKey, s.o, s.gone, now)})
					continue
				}
				retryAt, note, ok := d.acquire("", breakerKey, now)
				r := breakerResult{OK: ok, Note: note}
				if !retryAt.IsZero() {
					r.RetryAt = retryAt.Sub(decisionNow)
				}
				got = append(got, r)
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("breaker mismatch (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff(tt.tracked, len(d.m)); diff != "" {
				t.Errorf("destinations tracked mismatch (-want +got):\n%s", diff)
			}
		})
	}
}
