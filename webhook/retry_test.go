package webhook

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"testing"
	"time"

	"github.com/cenkalti/backoff/v4"
	"github.com/google/go-cmp/cmp"
)

// noJitter returns the default BackOff without jitter.
func noJitter() backoff.BackOff {
	b := DefaultBackOff().(*backoff.ExponentialBackOff)
	b.RandomizationFactor = 0
	return b
}

// status returns a response with code and optional header pairs.
func status(code int, header ...string) *Response {
	h := http.Header{}
	for i := 0; i+1 < len(header); i += 2 {
		h.Set(header[i], header[i+1])
	}
	return &Response{StatusCode: code, Header: h}
}

func TestDefaultRetryable(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		resp *Response
		err  error
		want bool
	}{
		{"100 continue", status(100), nil, false},
		{"101 switching protocols", status(101), nil, false},
		{"200 ok", status(200), nil, false},
		{"202 accepted", status(202), nil, false},
		{"204 no content", status(204), nil, false},
		{"301 moved", status(301), nil, false},
		{"302 found", status(302), nil, false},
		{"304 not modified", status(304), nil, false},
		{"307 temporary redirect", status(307), nil, false},
		{"400 bad request", status(400), nil, false},
		{"401 unauthorized", status(401), nil, false},
		{"403 forbidden", status(403), nil, false},
		{"404 not found", status(404), nil, false},
		{"408 request timeout", status(408), nil, true},
		{"409 conflict", status(409), nil, false},
		{"410 gone", status(410), nil, false},
		{"413 too large", status(413), nil, false},
		{"422 unprocessable", status(422), nil, false},
		{"429 too many requests", status(429), nil, true},
		{"500 internal error", status(500), nil, true},
		{"501 not implemented", status(501), nil, true},
		{"502 bad gateway", status(502), nil, true},
		{"503 unavailable", status(503), nil, true},
		{"504 gateway timeout", status(504), nil, true},
		{"599", status(599), nil, true},
		{"600", status(600), nil, false},
		{"no response, no error", nil, nil, true},
		{"transport error", nil, errors.New("post http://x: connection reset by peer"), true},
		{"dial error", nil, fmt.Errorf("post http://x: %w", &net.OpError{Op: "dial", Net: "tcp", Err: errors.New("connection refused")}), true},
		{"dns error", nil, fmt.Errorf("post http://x: %w", &net.DNSError{Err: "no such host", Name: "x", IsNotFound: true}), true},
		{"attempt timeout", nil, fmt.Errorf("post http://x: %w after 10s", ErrTimeout), true},
		{"attempt timeout wrapping deadline", nil, fmt.Errorf("post http://x: %w: %w", ErrTimeout, context.DeadlineExceeded), true},
		{"caller cancelled", nil, fmt.Errorf("post http://x: %w", context.Canceled), false},
		{"caller's deadline", nil, fmt.Errorf("post http://x: %w", context.DeadlineExceeded), false},
		{"invalid request", nil, fmt.Errorf("post: %w: nil request", ErrInvalidRequest), false},
		{"invalid secret", nil, fmt.Errorf("post http://x: %w: secret 1: %w: missing the whsec_ prefix", ErrInvalidRequest, ErrInvalidSecret), false},
		{"blocked destination", nil, fmt.Errorf("post http://x: %w", &net.OpError{Op: "dial", Net: "tcp", Err: &blockedError{dest: "10.0.0.5", reason: "a private address"}}), false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			if got := DefaultRetryable(tt.resp, tt.err); got != tt.want {
				t.Errorf("DefaultRetryable = %t, want %t", got, tt.want)
			}
		})
	}
}

func TestNextSchedule(t *testing.T) {
	t.Parallel()
	type step struct {
		Delay time.Duration
		Retry bool
	}
	tests := []struct {
		name   string
		policy RetryPolicy
		want   []step
	}{
		{
			name:   "default without jitter",
			policy: RetryPolicy{NewBackOff: noJitter},
			want: []step{
				{1 * time.Second, true}, {2 * time.Second, true}, {4 * time.Second, true},
				{8 * time.Second, true}, {16 * time.Second, true}, {32 * time.Second, true},
				{64 * time.Second, true}, {0, false},
			},
		},
		{
			name:   "MaxDelay caps the backoff",
			policy: RetryPolicy{NewBackOff: noJitter, MaxDelay: 10 * time.Second},
			want: []step{
				{1 * time.Second, true}, {2 * time.Second, true}, {4 * time.Second, true},
				{8 * time.Second, true}, {10 * time.Second, true}, {10 * time.Second, true},
				{10 * time.Second, true}, {0, false},
			},
		},
		{
			name:   "MaxAttempts 3",
			policy: RetryPolicy{NewBackOff: noJitter, MaxAttempts: 3},
			want:   []step{{1 * time.Second, true}, {2 * time.Second, true}, {0, false}},
		},
		{
			name:   "MaxAttempts 1 never retries",
			policy: RetryPolicy{NewBackOff: noJitter, MaxAttempts: 1},
			want:   []step{{0, false}},
		},
		{
			name: "backoff stops",
			policy: RetryPolicy{NewBackOff: func() backoff.BackOff {
				return backoff.WithMaxRetries(backoff.NewConstantBackOff(3*time.Second), 2)
			}},
			want: []step{{3 * time.Second, true}, {3 * time.Second, true}, {0, false}},
		},
		{
			name:   "StopBackOff",
			policy: RetryPolicy{NewBackOff: func() backoff.BackOff { return &backoff.StopBackOff{} }},
			want:   []step{{0, false}},
		},
		{
			name:   "nil BackOff",
			policy: RetryPolicy{NewBackOff: func() backoff.BackOff { return nil }},
			want:   []step{{0, false}},
		},
		{
			name:   "custom Retryable",
			policy: RetryPolicy{NewBackOff: noJitter, MaxAttempts: 3, Retryable: func(*Response, error) bool { return false }},
			want:   []step{{0, false}},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			var got []step
			for attempt := 1; ; attempt++ {
				d, ok := tt.policy.Next(attempt, status(503), nil, fixedNow)
				got = append(got, step{d, ok})
				if !ok || attempt > 20 {
					break
				}
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("schedule mismatch (-want +got):\n%s", diff)
			}
		})
	}
}

func TestNextNotRetryable(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		resp *Response
		err  error
	}{
		{"400", status(400), nil},
		{"410", status(410), nil},
		{"302", status(302, "Retry-After", "5"), nil},
		{"cancelled", nil, context.Canceled},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			if d, ok := (RetryPolicy{}).Next(1, tt.resp, tt.err, fixedNow); ok {
				t.Errorf("Next = %s, true; want false", d)
			}
		})
	}
}

func TestNextZeroPolicyIsDefault(t *testing.T) {
	t.Parallel()
	var p RetryPolicy
	for attempt := 1; attempt < DefaultMaxAttempts; attempt++ {
		d, ok := p.Next(attempt, nil, errors.New("connection refused"), fixedNow)
		base := time.Second << (attempt - 1)
		if !ok || d < base*8/10 || d > base*12/10 {
			t.Errorf("Next(%d) = %s, %t; want %s +-20%%, true", attempt, d, ok, base)
		}
	}
	if d, ok := p.Next(DefaultMaxAttempts, nil, errors.New("connection refused"), fixedNow); ok {
		t.Errorf("Next(%d) = %s, true; want false", DefaultMaxAttempts, d)
	}
	if d, ok := p.Next(0, status(500), nil, fixedNow); !ok || d < 800*time.Millisecond || d > 1200*time.Millisecond {
		t.Errorf("Next(0) = %s, %t; want attempt 1's wait", d, ok)
	}
}

func TestNextJitter(t *testing.T) {
	t.Parallel()
	var p RetryPolicy
	for attempt := 1; attempt < DefaultMaxAttempts; attempt++ {
		base := time.Second << (attempt - 1)
		lo, hi := base-base/5, base+base/5
		var varied bool
		first, _ := p.Next(attempt, status(503), nil, fixedNow)
		for range 200 {
			d, ok := p.Next(attempt, status(503), nil, fixedNow)
			if !ok || d < lo || d > hi {
				t.Fatalf("Next(%d) = %s, %t; want within [%s, %s], true", attempt, d, ok, lo, hi)
			}
			varied = varied || d != first
		}
		if !varied {
			t.Errorf("Next(%d) returned %s 201 times; want jitter", attempt, first)
		}
	}
}

func TestNextRetryAfter(t *testing.T) {
	t.Parallel()
	date := func(d time.Duration) string { return fixedNow.Add(d).Format(http.TimeFormat) }
	tests := []struct {
		name     string
		attempt  int
		maxDelay time.Duration
		resp     *Response
		want     time.Duration
	}{
		{"seconds longer than backoff", 1, 0, status(429, "Retry-After", "120"), 120 * time.Second},
		{"seconds shorter than backoff", 3, 0, status(503, "Retry-After", "1"), 4 * time.Second},
		{"zero seconds", 2, 0, status(503, "Retry-After", "0"), 2 * time.Second},
		{"spaces around", 1, 0, status(503, "Retry-After", " 30 "), 30 * time.Second},
		{"http-date", 1, 0, status(503, "Retry-After", date(90*time.Second)), 90 * time.Second},
		{"http-date in the past", 2, 0, status(503, "Retry-After", date(-time.Hour)), 2 * time.Second},
		{"seconds capped by default MaxDelay", 1, 0, status(429, "Retry-After", "100000"), 5 * time.Minute},
		{"http-date capped by default MaxDelay", 1, 0, status(429, "Retry-After", date(48*time.Hour)), 5 * time.Minute},
		{"seconds capped by MaxDelay", 1, 30 * time.Second, status(429, "Retry-After", "120"), 30 * time.Second},
		{"overflowing seconds capped", 1, 0, status(429, "Retry-After", "99999999999999999999999"), 5 * time.Minute},
		{"largest int64 seconds capped", 1, 0, status(429, "Retry-After", "9223372036854775807"), 5 * time.Minute},
		{"negative ignored", 2, 0, status(503, "Retry-After", "-30"), 2 * time.Second},
		{"fraction ignored", 2, 0, status(503, "Retry-After", "1.5"), 2 * time.Second},
		{"garbage ignored", 2, 0, status(503, "Retry-After", "soon"), 2 * time.Second},
		{"empty ignored", 2, 0, status(503, "Retry-After", ""), 2 * time.Second},
		{"nil header", 2, 0, &Response{StatusCode: 503}, 2 * time.Second},
		{"on 408", 1, 0, status(408, "Retry-After", "10"), 10 * time.Second},
		{"on 500", 1, 0, status(500, "Retry-After", "10"), 10 * time.Second},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			p := RetryPolicy{NewBackOff: noJitter, MaxDelay: tt.maxDelay}
			d, ok := p.Next(tt.attempt, tt.resp, nil, fixedNow)
			if !ok {
				t.Fatalf("Next = %s, false; want true", d)
			}
			if diff := cmp.Diff(tt.want, d); diff != "" {
				t.Errorf("delay mismatch (-want +got):\n%s", diff)
			}
		})
	}
}

func TestNextRetryAfterZeroNow(t *testing.T) {
	t.Parallel()
	// A zero now means time.Now: a date a day ahead is capped, not read
	// as two thousand years away or as past.
	resp := status(503, "Retry-After", time.Now().Add(24*time.Hour).Format(http.TimeFormat))
	d, ok := RetryPolicy{NewBackOff: noJitter}.Next(1, resp, nil, time.Time{})
	if !ok || d != DefaultMaxDelay {
		t.Errorf("Next = %s, %t; want %s, true", d, ok, DefaultMaxDelay)
	}
}

func TestRetryPolicyValidate(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name   string
		policy RetryPolicy
		want   string // "" for valid
	}{
		{"zero", RetryPolicy{}, ""},
		{"full", RetryPolicy{MaxAttempts: 3, MaxDelay: time.Hour, NewBackOff: DefaultBackOff, Retryable: DefaultRetryable}, ""},
		{"one attempt", RetryPolicy{MaxAttempts: 1}, ""},
		{"negative attempts", RetryPolicy{MaxAttempts: -1}, "invalid retry policy: MaxAttempts must not be negative, got -1"},
		{"negative delay", RetryPolicy{MaxDelay: -time.Second}, "invalid retry policy: MaxDelay must not be negative, got -1s"},
		{"nil backoff", RetryPolicy{NewBackOff: func() backoff.BackOff { return nil }}, "invalid retry policy: NewBackOff returned nil"},
		{"several", RetryPolicy{MaxAttempts: -2, MaxDelay: -time.Minute}, "invalid retry policy: MaxAttempts must not be negative, got -2; MaxDelay must not be negative, got -1m0s"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			var got string
			if err := tt.policy.Validate(); err != nil {
				got = err.Error()
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("Validate mismatch (-want +got):\n%s", diff)
			}
		})
	}
}

func TestNextNegativeFieldsAsDefaults(t *testing.T) {
	t.Parallel()
	p := RetryPolicy{MaxAttempts: -1, MaxDelay: -time.Second, NewBackOff: noJitter}
	d, ok := p.Next(7, status(503), nil, fixedNow)
	if !ok || d != 64*time.Second {
		t.Errorf("Next(7) = %s, %t; want 64s, true", d, ok)
	}
	if _, ok := p.Next(8, status(503), nil, fixedNow); ok {
		t.Error("Next(8) = true, want false")
	}
}

func TestDefaultBackOffSettings(t *testing.T) {
	t.Parallel()
	b, ok := DefaultBackOff().(*backoff.ExponentialBackOff)
	if !ok {
		t.Fatalf("DefaultBackOff is %T, want *backoff.ExponentialBackOff", DefaultBackOff())
	}
	type settings struct {
		Initial, Max, MaxElapsed time.Duration
		Multiplier, Randomize    float64
	}
	want := settings{time.Second, 5 * time.Minute, 0, 2, 0.2}
	got := settings{b.InitialInterval, b.MaxInterval, b.MaxElapsedTime, b.Multiplier, b.RandomizationFactor}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("DefaultBackOff mismatch (-want +got):\n%s", diff)
	}
	// Long schedules reach MaxInterval and stay there.
	p := RetryPolicy{NewBackOff: noJitter, MaxAttempts: 100, MaxDelay: time.Hour}
	if d, _ := p.Next(50, status(503), nil, fixedNow); d != 5*time.Minute {
		t.Errorf("Next(50) = %s, want 5m0s", d)
	}
	if b.Stop != backoff.Stop {
		t.Errorf("DefaultBackOff Stop = %s, want backoff.Stop", b.Stop)
	}
}
