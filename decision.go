package tickethooks

import (
	"errors"
	"net/http"
	"time"

	"github.com/tickethooks/tickethooks/executionlog"
	"github.com/tickethooks/tickethooks/webhook"
)

// outcome turns the result of attempt number, the inSeries-th of its
// series, into a log update. webhook.Classify decides as it does for the
// breaker: a Delivered attempt has succeeded. A permanentError or a 410
// Gone fails the delivery whatever the retry policy says. Otherwise the
// entry stays pending, due after the policy's wait, when the policy allows
// another attempt, and has failed when it does not.
func (e *Engine) outcome(number, inSeries int, started time.Time, resp *webhook.Response, err error) executionlog.Update {
	att := newAttempt(number, started, resp, err, e.now())
	u := executionlog.Update{Attempt: &att, Status: executionlog.StatusFailed}
	var permanent *permanentError
	switch {
	case webhook.Classify(resp, err) == webhook.Delivered:
		u.Status = executionlog.StatusSucceeded
	case errors.As(err, &permanent), gone(resp, err):
		// final: no retry can mend it
	default:
		if delay, retry := e.retry.Next(inSeries, resp, err, e.nowFunc()); retry {
			u.Status = executionlog.StatusPending
			u.NextAttemptAt = e.now().Add(delay)
		}
	}
	return u
}

// gone reports whether the receiver answered 410 Gone: the delivery fails
// without retries, and the host hears DestinationGone.
func gone(resp *webhook.Response, err error) bool {
	return err == nil && resp != nil && resp.StatusCode == http.StatusGone
}

// permanentError is a failure that no retry can mend, such as a trigger
// that no longer exists.
type permanentError struct{ msg string }

func (p *permanentError) Error() string { return p.msg }
