package webhook

import (
	"context"
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/cenkalti/backoff/v4"
)

// Defaults of RetryPolicy.
const (
	DefaultMaxAttempts = 8
	DefaultMaxDelay    = 5 * time.Minute
)

// Outcome is what the result of one attempt says about the delivery and
// about its destination. Classify returns it.
type Outcome int

// The outcomes of an attempt.
const (
	// Delivered: the receiver answered 2xx. The delivery succeeded, even
	// when the response body stalled (Response.BodyError).
	Delivered Outcome = iota + 1
	// Transient: the attempt failed in a way a later attempt may not (a
	// transport error, the attempt's timeout, 408, 429, 5xx, no response
	// and no error). It is retried and counts against the destination's
	// health.
	Transient
	// Rejected: the receiver answered but refused the delivery (1xx, 3xx,
	// any 4xx other than 408 and 429, 410 Gone included, or a status
	// outside 100-599). It is not retried, and shows the destination is up.
	Rejected
	// NotSent: the request never reached the receiver and sending it again
	// cannot help (ErrInvalidRequest, ErrBlockedDestination), or the
	// caller's ctx ended (context.Canceled, context.DeadlineExceeded). It
	// is not retried and says nothing of the destination's health.
	NotSent
)

// String returns the outcome's name.
func (o Outcome) String() string {
	switch o {
	case Delivered:
		return "delivered"
	case Transient:
		return "transient"
	case Rejected:
		return "rejected"
	case NotSent:
		return "not sent"
	}
	return fmt.Sprintf("Outcome(%d)", int(o))
}

// Classify is the one retry decision: it returns the Outcome of an attempt
// that ended with resp and err, as Sender.Send returned them.
// DefaultRetryable, the engine's circuit breaker and its execution log
// all read it.
//
// An error wins over a response, as Sender documents. ErrTimeout, the
// attempt's own timeout, is Transient even when it wraps
// context.DeadlineExceeded; ErrInvalidRequest, ErrBlockedDestination,
// context.Canceled and context.DeadlineExceeded are NotSent; any other
// error (DNS, connection, TLS, reset) is Transient. A nil response with a
// nil error is Transient. A response is Delivered on 2xx, Transient on 408,
// 429 and 5xx, and Rejected otherwise; its BodyError does not change that.
func Classify(resp *Response, err error) Outcome {
	if err != nil {
		switch {
		case errors.Is(err, ErrTimeout):
			return Transient
		case errors.Is(err, ErrInvalidRequest),
			errors.Is(err, ErrBlockedDestination),
			errors.Is(err, context.Canceled),
			errors.Is(err, context.DeadlineExceeded):
			return NotSent
		}
		return Transient
	}
	if resp == nil {
		return Transient
	}
	switch c := resp.StatusCode; {
	case resp.Success():
		return Delivered
	case c == http.StatusRequestTimeout, c == http.StatusTooManyRequests, c >= 500 && c <= 599:
		return Transient
	}
	return Rejected
}

// RetryPolicy decides whether a failed attempt is retried and after how
// long. The zero value is the default policy: 8 attempts in all, waits of
// about 1 s, 2 s, 4 s, ... 64 s (+-20% jitter), each at most 5 minutes.
//
// A delivery survives restarts in the execution log, so the wait after an
// attempt is a function of the attempt's number alone: Schedule. A
// stateful BackOff can stand in for it (NewBackOff), at the cost of
// replaying it on every call.
//
// A RetryPolicy is a value; Next and Validate are safe for concurrent use
// as long as Schedule, NewBackOff and Retryable are.
type RetryPolicy struct {
	// MaxAttempts is the most attempts of one delivery, the first
	// included; 1 means never retry. Defaults to 8.
	MaxAttempts int
	// Schedule returns the wait after failed attempt number attempt
	// (counted from 1), before Retry-After and MaxDelay apply. Returning
	// backoff.Stop stops retries; any other negative wait counts as 0. It
	// must be safe for concurrent use. Defaults to DefaultSchedule; set
	// Schedule or NewBackOff, not both.
	Schedule func(attempt int) time.Duration
	// NewBackOff is the slow path, kept for compatibility: when it is set
	// and Schedule is not, each call of Next builds a fresh BackOff, calls
	// Reset, then NextBackOff once per failed attempt and uses the last
	// value, so a call costs O(attempt). The BackOff must therefore be deterministic in its
	// sequence up to jitter, and must not stop on elapsed time
	// (ExponentialBackOff needs MaxElapsedTime 0). A nil BackOff stops
	// retries. Prefer Schedule, with ExponentialSchedule for an
	// ExponentialBackOff.
	NewBackOff func() backoff.BackOff
	// MaxDelay caps every wait, a Retry-After included. Defaults to 5
	// minutes.
	MaxDelay time.Duration
	// Retryable reports whether a failed attempt may be retried, given the
	// Response and error that Sender.Send returned. Defaults to
	// DefaultRetryable.
	Retryable func(resp *Response, err error) bool
}

// DefaultBackOff returns the default BackOff: exponential from 1 second,
// doubling, each interval at most 5 minutes, with +-20% jitter, and no
// limit on elapsed time. DefaultSchedule computes the same waits without
// replaying it.
func DefaultBackOff() backoff.BackOff {
	return defaultExponential()
}

func defaultExponential() *backoff.ExponentialBackOff {
	return backoff.NewExponentialBackOff(
		backoff.WithInitialInterval(time.Second),
		backoff.WithMultiplier(2),
		backoff.WithMaxInterval(5*time.Minute),
		backoff.WithRandomizationFactor(0.2),
		backoff.WithMaxElapsedTime(0),
	)
}

// defaultSchedule is DefaultSchedule, built once.
var defaultSchedule = ExponentialSchedule(defaultExponential())

// DefaultSchedule is the default RetryPolicy.Schedule: 1 second after the
// first attempt, doubling after each further one, at most 5 minutes, with
// +-20% jitter. It is ExponentialSchedule of DefaultBackOff.
func DefaultSchedule(attempt int) time.Duration {
	return defaultSchedule(attempt)
}

// ExponentialSchedule returns a Schedule that gives the waits b gives
// after Reset, computed from the attempt number at once instead of by
// replay. It copies b's InitialInterval, Multiplier, MaxInterval and
// RandomizationFactor when called; b's MaxElapsedTime, Stop and Clock are
// not used. The wait after attempt n is InitialInterval * Multiplier^(n-1),
// at most MaxInterval from the second attempt on (as b caps it), with a
// jitter of +-RandomizationFactor drawn on each call as b draws it. A
// Multiplier below 1 counts as 1. Waits agree with b's up to rounding to
// the nanosecond, and never overflow.
func ExponentialSchedule(b *backoff.ExponentialBackOff) func(attempt int) time.Duration {
	initial, mult, maxInterval, rf := b.InitialInterval, max(b.Multiplier, 1), b.MaxInterval, b.RandomizationFactor
	return func(attempt int) time.Duration {
		attempt = max(attempt, 1)
		interval := float64(initial)
		if attempt > 1 {
			interval = min(interval*math.Pow(mult, float64(attempt-1)), float64(maxInterval))
		}
		if rf == 0 {
			return duration(interval)
		}
		// As backoff/v4 draws a value from [interval-delta,
		// interval+delta].
		delta := rf * interval
		lo, hi := interval-delta, interval+delta
		return duration(lo + rand.Float64()*(hi-lo+1))
	}
}

// duration converts f nanoseconds to a Duration, 0 when f is negative or
// NaN and the longest Duration when f is too long for one.
func duration(f float64) time.Duration {
	switch {
	case !(f > 0):
		return 0
	case f >= math.MaxInt64:
		return math.MaxInt64
	}
	return time.Duration(f)
}

// DefaultRetryable is the default RetryPolicy.Retryable: it retries the
// attempts that Classify calls Transient (transport errors, ErrTimeout,
// 408, 429, 5xx, no response and no error) and no others.
func DefaultRetryable(resp *Response, err error) bool {
	return Classify(resp, err) == Transient
}

// withDefaults returns p with defaults for its zero fields.
func (p RetryPolicy) withDefaults() RetryPolicy {
	if p.MaxAttempts == 0 {
		p.MaxAttempts = DefaultMaxAttempts
	}
	if p.Schedule == nil && p.NewBackOff == nil {
		p.Schedule = DefaultSchedule
	}
	if p.MaxDelay == 0 {
		p.MaxDelay = DefaultMaxDelay
	}
	if p.Retryable == nil {
		p.Retryable = DefaultRetryable
	}
	return p
}

// Validate reports fields that make p unusable. Zero fields are valid: they
// take their defaults.
func (p RetryPolicy) Validate() error {
	var problems []string
	if p.MaxAttempts < 0 {
		problems = append(problems, fmt.Sprintf("MaxAttempts must not be negative, got %d", p.MaxAttempts))
	}
	if p.MaxDelay < 0 {
		problems = append(problems, fmt.Sprintf("MaxDelay must not be negative, got %s", p.MaxDelay))
	}
	if p.Schedule != nil && p.NewBackOff != nil {
		problems = append(problems, "set Schedule or NewBackOff, not both")
	}
	if p.NewBackOff != nil && p.NewBackOff() == nil {
		problems = append(problems, "NewBackOff returned nil")
	}
	if len(problems) > 0 {
		return fmt.Errorf("invalid retry policy: %s", strings.Join(problems, "; "))
	}
	return nil
}

// Next is called after attempt number attempt (counted from 1) of a
// delivery failed with resp and err, as returned by Sender.Send, at time
// now. It reports whether to retry and how long to wait first.
//
// It returns false when Retryable(resp, err) is false, when attempt >=
// MaxAttempts, or when the schedule returns backoff.Stop. Otherwise the
// wait is the schedule's value for this attempt (Schedule, or the
// BackOff's replayed value with NewBackOff), raised to the response's
// Retry-After (delta-seconds, or an HTTP-date relative to now) when that is
// longer, and capped at MaxDelay. A malformed, negative or past
// Retry-After is ignored. An attempt below 1 counts as 1; a zero now means
// time.Now().
//
// Next does not check p; call Validate once when accepting a policy.
// Negative fields are treated as zero.
func (p RetryPolicy) Next(attempt int, resp *Response, err error, now time.Time) (delay time.Duration, retry bool) {
	if p.MaxAttempts < 0 {
		p.MaxAttempts = 0
	}
	if p.MaxDelay < 0 {
		p.MaxDelay = 0
	}
	p = p.withDefaults()
	if attempt < 1 {
		attempt = 1
	}
	if !p.Retryable(resp, err) || attempt >= p.MaxAttempts {
		return 0, false
	}
	if p.Schedule != nil {
		delay = p.Schedule(attempt)
	} else {
		delay = replay(p.NewBackOff, attempt)
	}
	if delay == backoff.Stop {
		return 0, false
	}
	delay = max(delay, 0)
	if resp != nil {
		if now.IsZero() {
			now = time.Now()
		}
		if ra, ok := retryAfter(resp.Header, now); ok {
			delay = max(delay, ra)
		}
	}
	return min(delay, p.MaxDelay), true
}

// replay returns the wait after attempt number attempt that a fresh
// BackOff from newBackOff gives: its attempt-th NextBackOff after Reset.
// It returns backoff.Stop when newBackOff returns nil or the BackOff stops
// before.
func replay(newBackOff func() backoff.BackOff, attempt int) time.Duration {
	b := newBackOff()
	if b == nil {
		return backoff.Stop
	}
	b.Reset()
	var delay time.Duration
	for range attempt {
		if delay = b.NextBackOff(); delay == backoff.Stop {
			break
		}
	}
	return delay
}

// retryAfter parses the Retry-After header as delta-seconds or an
// HTTP-date relative to now. It reports false when the header is absent,
// malformed, negative or in the past. A delay too long for a
// time.Duration is returned as the longest Duration.
func retryAfter(h http.Header, now time.Time) (time.Duration, bool) {
	v := strings.TrimSpace(h.Get("Retry-After"))
	if v == "" {
		return 0, false
	}
	if isDigits(v) {
		secs, err := strconv.ParseInt(v, 10, 64)
		if err != nil || secs > int64(math.MaxInt64/time.Second) {
			return math.MaxInt64, true // only overflow fails on digits
		}
		return time.Duration(secs) * time.Second, true
	}
	t, err := http.ParseTime(v)
	if err != nil {
		return 0, false
	}
	d := t.Sub(now)
	if d <= 0 {
		return 0, false
	}
	return d, true
}

// isDigits reports whether s is made of ASCII digits only.
func isDigits(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return s != ""
}
