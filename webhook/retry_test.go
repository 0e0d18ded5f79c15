package webhook

import (
	"context"
	"errors"
	"fmt"
	"math"
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

// noJitterSchedule is the default schedule without jitter.
var noJitterSchedule = ExponentialSchedule(noJitter().(*backoff.ExponentialBackOff))

// status returns a response with code and optional header pairs.
func status(code int, header ...string) *Response {
	h := http.Header{}
	for i := 0; i+1 < len(header); i += 2 {
		h.Set(header[i], header[i+1])
	}
	return &Response{StatusCode: code, Header: h}
}

// TestClassify checks every kind of result, and that DefaultRetryable
// retries exactly the Transient ones.
func TestClassify(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		resp *Response
		err  error
		want Outcome
	}{
		{"100 continue", status(100), nil, Rejected},
		{"101 switching protocols", status(101), nil, Rejected},
		{"200 ok", status(200), nil, Delivered},
		{"202 accepted", status(202), nil, Delivered},
		{"204 no content", status(204), nil, Delivered},
		{"301 moved", status(301), nil, Rejected},
		{"302 found", status(302), nil, Rejected},
		{"304 not modified", status(304), nil, Rejected},
		{"307 temporary redirect", status(307), nil, Rejected},
		{"400 bad request", status(400), nil, Rejected},
		{"401 unauthorized", status(401), nil, Rejected},
		{"403 forbidden", status(403), nil, Rejected},
		{"404 not found", status(404), nil, Rejected},
		{"408 request timeout", status(408), nil, Transient},
		{"409 conflict", status(409), nil, Rejected},
		{"410 gone", status(410), nil, Rejected},
		{"413 too large", status(413), nil, Rejected},
		{"422 unprocessable", status(422), nil, Rejected},
		{"429 too many requests", status(429), nil, Transient},
		{"500 internal error", status(500), nil, Transient},
		{"501 not implemented", status(501), nil, Transient},
		{"502 bad gateway", status(502), nil, Transient},
		{"503 unavailable", status(503), nil, Transient},
		{"504 gateway timeout", status(504), nil, Transient},
		{"599", status(599), nil, Transient},
		{"600", status(600), nil, Rejected},
		{"no response, no error", nil, nil, Transient},
		{"transport error", nil, errors.New("post http://x: connection reset by peer"), Transient},
		{"dial error", nil, fmt.Errorf("post http://x: %w", &net.OpError{Op: "dial", Net: "tcp", Err: errors.New("connection refused")}), Transient},
		{"dns error", nil, fmt.Errorf("post http://x: %w", &net.DNSError{Err: "no such host", Name: "x", IsNotFound: true}), Transient},
		{"attempt timeout", nil, fmt.Errorf("post http://x: %w after 10s", ErrTimeout), Transient},
		{"attempt timeout wrapping deadline", nil, fmt.Errorf("post http://x: %w: %w", ErrTimeout, context.DeadlineExceeded), Transient},
		{"caller cancelled", nil, fmt.Errorf("post http://x: %w", context.Canceled), NotSent},
		{"caller's deadline", nil, fmt.Errorf("post http://x: %w", context.DeadlineExceeded), NotSent},
		{"invalid request", nil, fmt.Errorf("post: %w: nil request", ErrInvalidRequest), NotSent},
		{"invalid secret", nil, fmt.Errorf("post http://x: %w: secret 1: %w: missing the whsec_ prefix", ErrInvalidRequest, ErrInvalidSecret), NotSent},
		{"blocked destination", nil, fmt.Errorf("post http://x: %w", &net.OpError{Op: "dial", Net: "tcp", Err: &blockedError{dest: "10.0.0.5", reason: "a private address"}}), NotSent},
		{"blocked destination sentinel", nil, fmt.Errorf("post http://x: %w", ErrBlockedDestination), NotSent},
		{"0 status", status(0), nil, Rejected},
		{"199", status(199), nil, Rejected},
		{"299", status(299), nil, Delivered},
		{"300", status(300), nil, Rejected},
		{"499", status(499), nil, Rejected},
		{"999", status(999), nil, Rejected},
		{"410 gone with Retry-After", status(410, "Retry-After", "5"), nil, Rejected},
		{"2xx whose body stalled", &Response{StatusCode: 200, BodyError: fmt.Errorf("reading body: %w", ErrTimeout)}, nil, Delivered},
		{"2xx whose body broke", &Response{StatusCode: 204, BodyError: errors.New("connection reset by peer")}, nil, Delivered},
		{"5xx whose body stalled", &Response{StatusCode: 503, BodyError: fmt.Errorf("reading body: %w", ErrTimeout)}, nil, Transient},
		{"4xx whose body stalled", &Response{StatusCode: 404, BodyError: context.Canceled}, nil, Rejected},
		{"error wins over a 2xx", status(200), fmt.Errorf("post http://x: %w", ErrTimeout), Transient},
		{"caller cancelled wins over a 2xx", status(200), context.Canceled, NotSent},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			if diff := cmp.Diff(tt.want, Classify(tt.resp, tt.err)); diff != "" {
				t.Errorf("Classify mismatch (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff(tt.want == Transient, DefaultRetryable(tt.resp, tt.err)); diff != "" {
				t.Errorf("DefaultRetryable mismatch (-want +got):\n%s", diff)
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
	// The default schedule without jitter, and capped at 10 s.
	unjittered := []step{
		{1 * time.Second, true}, {2 * time.Second, true}, {4 * time.Second, true},
		{8 * time.Second, true}, {16 * time.Second, true}, {32 * time.Second, true},
		{64 * time.Second, true}, {0, false},
	}
	capped := []step{
		{1 * time.Second, true}, {2 * time.Second, true}, {4 * time.Second, true},
		{8 * time.Second, true}, {10 * time.Second, true}, {10 * time.Second, true},
		{10 * time.Second, true}, {0, false},
	}
	tests := []struct {
		name   string
		policy RetryPolicy
		want   []step
	}{
		{
			name:   "default without jitter",
			policy: RetryPolicy{NewBackOff: noJitter},
			want:   unjittered,
		},
		{
			name:   "default Schedule without jitter",
			policy: RetryPolicy{Schedule: noJitterSchedule},
			want:   unjittered,
		},
		{
			name:   "MaxDelay caps the Schedule",
			policy: RetryPolicy{Schedule: noJitterSchedule, MaxDelay: 10 * time.Second},
			want:   capped,
		},
		{
			name: "Schedule stops",
			policy: RetryPolicy{Schedule: func(attempt int) time.Duration {
				if attempt > 2 {
					return backoff.Stop
				}
				return 3 * time.Second
			}},
			want: []step{{3 * time.Second, true}, {3 * time.Second, true}, {0, false}},
		},
		{
			name:   "negative Schedule counts as zero",
			policy: RetryPolicy{Schedule: func(int) time.Duration { return -time.Hour }, MaxAttempts: 3},
			want:   []step{{0, true}, {0, true}, {0, false}},
		},
		{
			name: "Schedule wins over NewBackOff",
			policy: RetryPolicy{Schedule: noJitterSchedule, MaxAttempts: 3,
				NewBackOff: func() backoff.BackOff { return &backoff.StopBackOff{} }},
			want: []step{{1 * time.Second, true}, {2 * time.Second, true}, {0, false}},
		},
		{
			name:   "MaxDelay caps the backoff",
			policy: RetryPolicy{NewBackOff: noJitter, MaxDelay: 10 * time.Second},
			want:   capped,
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
			p := RetryPolicy{Schedule: noJitterSchedule, MaxDelay: tt.maxDelay}
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
	d, ok := RetryPolicy{Schedule: noJitterSchedule}.Next(1, resp, nil, time.Time{})
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
		{"schedule", RetryPolicy{Schedule: DefaultSchedule}, ""},
		{"one attempt", RetryPolicy{MaxAttempts: 1}, ""},
		{"schedule and backoff", RetryPolicy{Schedule: DefaultSchedule, NewBackOff: DefaultBackOff}, "invalid retry policy: set Schedule or NewBackOff, not both"},
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
	p := RetryPolicy{MaxAttempts: -1, MaxDelay: -time.Second, Schedule: noJitterSchedule}
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

// BenchmarkRetryPolicyNext measures the default policy's decision after
// the first and after the last retried attempt.
func BenchmarkRetryPolicyNext(b *testing.B) {
	var p RetryPolicy
	resp := status(503)
	for _, attempt := range []int{1, DefaultMaxAttempts - 1} {
		b.Run(fmt.Sprintf("attempt=%d", attempt), func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if _, ok := p.Next(attempt, resp, nil, fixedNow); !ok {
					b.Fatal("Next = false, want true")
				}
			}
		})
	}
}

func TestOutcomeString(t *testing.T) {
	t.Parallel()
	got := []string{Delivered.String(), Transient.String(), Rejected.String(), NotSent.String(), Outcome(0).String(), Outcome(9).String()}
	want := []string{"delivered", "transient", "rejected", "not sent", "Outcome(0)", "Outcome(9)"}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("Outcome.String mismatch (-want +got):\n%s", diff)
	}
}

// exponential returns an ExponentialBackOff without jitter or elapsed-time
// limit.
func exponential(initial time.Duration, multiplier float64, maxInterval time.Duration) *backoff.ExponentialBackOff {
	return backoff.NewExponentialBackOff(
		backoff.WithInitialInterval(initial),
		backoff.WithMultiplier(multiplier),
		backoff.WithMaxInterval(maxInterval),
		backoff.WithRandomizationFactor(0),
		backoff.WithMaxElapsedTime(0),
	)
}

// TestExponentialScheduleAgreesWithReplay checks that the schedule
// computed from the attempt number gives the waits the BackOff gives when
// replayed.
func TestExponentialScheduleAgreesWithReplay(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		b    *backoff.ExponentialBackOff
	}{
		{"default", noJitter().(*backoff.ExponentialBackOff)},
		{"tripling", exponential(10*time.Millisecond, 3, time.Hour)},
		{"times 1.5", exponential(256*time.Millisecond, 1.5, 10*time.Second)},
		{"constant", exponential(time.Second, 1, time.Minute)},
		{"initial above max", exponential(10*time.Minute, 2, 5*time.Minute)},
		{"zero initial", exponential(0, 2, time.Minute)},
		{"zero max", exponential(time.Second, 2, 0)},
	}
	const attempts = 80
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			schedule := ExponentialSchedule(tt.b)
			var want, got []time.Duration
			for attempt := 1; attempt <= attempts; attempt++ {
				want = append(want, replay(func() backoff.BackOff { return tt.b }, attempt))
				got = append(got, schedule(attempt))
			}
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("schedule mismatch (-want +got):\n%s", diff)
			}
		})
	}
}

func TestExponentialScheduleBounds(t *testing.T) {
	t.Parallel()
	huge := exponential(time.Second, 2, math.MaxInt64)
	huge.RandomizationFactor = 0.5
	tests := []struct {
		name     string
		schedule func(int) time.Duration
		attempt  int
		lo, hi   time.Duration
	}{
		{"attempt 0 counts as 1", noJitterSchedule, 0, time.Second, time.Second},
		{"negative attempt counts as 1", noJitterSchedule, -5, time.Second, time.Second},
		{"attempt 10 capped", noJitterSchedule, 10, 5 * time.Minute, 5 * time.Minute},
		{"attempt 1<<40 capped", noJitterSchedule, 1 << 40, 5 * time.Minute, 5 * time.Minute},
		{"largest attempt capped", noJitterSchedule, math.MaxInt, 5 * time.Minute, 5 * time.Minute},
		{"jitter on attempt 1", DefaultSchedule, 1, 800 * time.Millisecond, 1200*time.Millisecond + 1},
		{"jitter on attempt 5", DefaultSchedule, 5, 12800 * time.Millisecond, 19200*time.Millisecond + 1},
		{"jitter around the cap", DefaultSchedule, 30, 4 * time.Minute, 6*time.Minute + 1},
		{"jitter on the largest attempt", DefaultSchedule, math.MaxInt, 4 * time.Minute, 6*time.Minute + 1},
		{"jitter past the longest Duration", ExponentialSchedule(huge), math.MaxInt, math.MaxInt64 / 2, math.MaxInt64},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			for range 100 {
				if d := tt.schedule(tt.attempt); d < tt.lo || d > tt.hi {
					t.Fatalf("schedule(%d) = %s, want within [%s, %s]", tt.attempt, d, tt.lo, tt.hi)
				}
			}
		})
	}
}

func TestNextLargeAttempt(t *testing.T) {
	t.Parallel()
	p := RetryPolicy{MaxAttempts: math.MaxInt, Schedule: noJitterSchedule, MaxDelay: time.Hour}
	tests := []struct {
		attempt int
		want    time.Duration
	}{
		{1 << 20, 5 * time.Minute},
		{1 << 62, 5 * time.Minute},
		{math.MaxInt - 1, 5 * time.Minute},
	}
	for _, tt := range tests {
		d, ok := p.Next(tt.attempt, status(503), nil, fixedNow)
		if diff := cmp.Diff(tt.want, d); diff != "" || !ok {
			t.Errorf("Next(%d) = %t; delay mismatch (-want +got):\n%s", tt.attempt, ok, diff)
		}
	}
}
