package tickethooks

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"testing"
	"time"

	"github.com/cenkalti/backoff/v4"
	"github.com/google/go-cmp/cmp"

	"github.com/tickethooks/tickethooks/executionlog"
	"github.com/tickethooks/tickethooks/webhook"
)

// decisionNow is the clock of the white-box decision and breaker tests.
var decisionNow = time.Date(2026, 3, 4, 5, 6, 7, 0, time.UTC)

// TestOutcome checks Engine.outcome's decision for each kind of attempt
// result, with the default policy's schedule unjittered.
func TestOutcome(t *testing.T) {
	t.Parallel()
	b := webhook.DefaultBackOff().(*backoff.ExponentialBackOff)
	b.RandomizationFactor = 0
	schedule := webhook.ExponentialSchedule(b)
	always := func(*webhook.Response, error) bool { return true }
	started := decisionNow.Add(-3 * time.Second)
	answered := func(code int, header ...string) *webhook.Response {
		h := http.Header{}
		for i := 0; i+1 < len(header); i += 2 {
			h.Set(header[i], header[i+1])
		}
		return &webhook.Response{StatusCode: code, Header: h, Body: []byte("body"), Duration: time.Second}
	}
	stalled := answered(200)
	stalled.BodyError = fmt.Errorf("reading body: %w", webhook.ErrTimeout)
	stalled5xx := answered(503)
	stalled5xx.BodyError = fmt.Errorf("reading body: %w", webhook.ErrTimeout)
	// attempt returns the attempt newAttempt records for resp and err.
	attempt := func(resp *webhook.Response, err error) *executionlog.Attempt {
		a := newAttempt(5, started, resp, err, decisionNow)
		return &a
	}
	pending := func(after time.Duration) executionlog.Update {
		return executionlog.Update{Status: executionlog.StatusPending, NextAttemptAt: decisionNow.Add(after)}
	}
	succeeded := executionlog.Update{Status: executionlog.StatusSucceeded}
	failed := executionlog.Update{Status: executionlog.StatusFailed}
	permanent := &permanentError{"trigger \"t-1\" no longer exists; delivery abandoned"}
	refused := errors.New("post http://x: connection refused")
	blocked := fmt.Errorf("post http://x: %w", webhook.ErrBlockedDestination)
	tests := []struct {
		name     string
		policy   webhook.RetryPolicy
		inSeries int
		resp     *webhook.Response
		err      error
		want     executionlog.Update // without Attempt
	}{
		{"2xx succeeds", webhook.RetryPolicy{}, 2, answered(204), nil, succeeded},
		{"2xx whose body stalled succeeds", webhook.RetryPolicy{}, 2, stalled, nil, succeeded},
		{"5xx is pending after the schedule's wait", webhook.RetryPolicy{Schedule: schedule}, 2, answered(503), nil, pending(2 * time.Second)},
		{"5xx whose body stalled is pending", webhook.RetryPolicy{Schedule: schedule}, 3, stalled5xx, nil, pending(4 * time.Second)},
		{"Retry-After lengthens the wait", webhook.RetryPolicy{Schedule: schedule}, 1, answered(429, "Retry-After", "30"), nil, pending(30 * time.Second)},
		{"transport error is pending", webhook.RetryPolicy{Schedule: schedule}, 1, nil, refused, pending(time.Second)},
		{"loading the trigger failed is pending", webhook.RetryPolicy{Schedule: schedule}, 1, nil, fmt.Errorf("loading trigger %q: %w", "t-1", refused), pending(time.Second)},
		{"policy exhausted fails", webhook.RetryPolicy{Schedule: schedule, MaxAttempts: 4}, 4, answered(503), nil, failed},
		{"4xx fails", webhook.RetryPolicy{}, 1, answered(404), nil, failed},
		{"3xx fails", webhook.RetryPolicy{}, 1, answered(302), nil, failed},
		{"410 fails", webhook.RetryPolicy{}, 1, answered(410), nil, failed},
		{"410 fails whatever Retryable says", webhook.RetryPolicy{Retryable: always}, 1, answered(410, "Retry-After", "5"), nil, failed},
		{"permanent error fails", webhook.RetryPolicy{}, 1, nil, permanent, failed},
		{"permanent error fails whatever Retryable says", webhook.RetryPolicy{Retryable: always}, 1, nil, permanent, failed},
		{"blocked destination fails", webhook.RetryPolicy{}, 1, nil, blocked, failed},
		{"blocked destination retried when Retryable says so", webhook.RetryPolicy{Schedule: schedule, Retryable: always}, 1, nil, blocked, pending(time.Second)},
		{"cancelled context fails", webhook.RetryPolicy{}, 1, nil, fmt.Errorf("post http://x: %w", context.Canceled), failed},
		{"no response is pending", webhook.RetryPolicy{Schedule: schedule}, 1, nil, errNoResponse, pending(time.Second)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			e := &Engine{retry: tt.policy, nowFunc: func() time.Time { return decisionNow }}
			got := e.outcome(5, tt.inSeries, started, tt.resp, tt.err)
			want := tt.want
			want.Attempt = attempt(tt.resp, tt.err)
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("outcome mismatch (-want +got):\n%s", diff)
			}
		})
	}
}
