package webhook

import (
	"context"
	"errors"
	"fmt"
	"math"
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

// RetryPolicy decides whether a failed attempt is retried and after how
// long. The zero value is the default policy: 8 attempts in all, waits of
// about 1 s, 2 s, 4 s, ... 64 s (+-20% jitter), each at most 5 minutes.
//
// A delivery survives restarts in the execution log, so no BackOff is kept
// between attempts: Next builds a fresh one with NewBackOff, calls Reset,
// then NextBackOff once per failed attempt and uses the last value. The
// BackOff must therefore be deterministic in its sequence up to jitter, and
// must not stop on elapsed time (ExponentialBackOff needs MaxElapsedTime 0);
// the attempt count bounds the retries.
//
// A RetryPolicy is a value; Next and Validate are safe for concurrent use
// as long as NewBackOff and Retryable are.
type RetryPolicy struct {
	// MaxAttempts is the most attempts of one delivery, the first
	// included; 1 means never retry. Defaults to 8.
	MaxAttempts int
	// NewBackOff returns a fresh BackOff for one call of Next. A nil
	// BackOff stops retries. Defaults to DefaultBackOff.
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
// limit on elapsed time.
func DefaultBackOff() backoff.BackOff {
	return backoff.NewExponentialBackOff(
		backoff.WithInitialInterval(time.Second),
		backoff.WithMultiplier(2),
		backoff.WithMaxInterval(5*time.Minute),
		backoff.WithRandomizationFactor(0.2),
		backoff.WithMaxElapsedTime(0),
	)
}

// DefaultRetryable is the default RetryPolicy.Retryable.
//
// With an error it retries transport errors (DNS, connection, TLS, reset)
// and ErrTimeout, and does not retry ErrInvalidRequest,
// ErrBlockedDestination, context.Canceled or context.DeadlineExceeded (the
// caller's ctx ended, not the attempt's timeout). With a response it
// retries 408 Request Timeout, 429 Too Many Requests and every 5xx; a 2xx
// is a success, and 1xx, 3xx and other 4xx are not retried. A nil response
// with a nil error is retried.
func DefaultRetryable(resp *Response, err error) bool {
	if err != nil {
		switch {
		case errors.Is(err, ErrTimeout):
			return true
		case errors.Is(err, ErrInvalidRequest),
			errors.Is(err, ErrBlockedDestination),
			errors.Is(err, context.Canceled),
			errors.Is(err, context.DeadlineExceeded):
			return false
		}
		return true
	}
	if resp == nil {
		return true
	}
	switch c := resp.StatusCode; {
	case c == http.StatusRequestTimeout, c == http.StatusTooManyRequests:
		return true
	case c >= 500 && c <= 599:
		return true
	}
	return false
}

// withDefaults returns p with defaults for its zero fields.
func (p RetryPolicy) withDefaults() RetryPolicy {
	if p.MaxAttempts == 0 {
		p.MaxAttempts = DefaultMaxAttempts
	}
	if p.NewBackOff == nil {
		p.NewBackOff = DefaultBackOff
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
// MaxAttempts, or when the BackOff returns backoff.Stop. Otherwise the wait
// is the BackOff's value for this attempt, raised to the response's
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
	b := p.NewBackOff()
	if b == nil {
		return 0, false
	}
	b.Reset()
	for range attempt {
		delay = b.NextBackOff()
		if delay == backoff.Stop {
			return 0, false
		}
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
