// Package webhook delivers the JSON data packet of a fired trigger to its
// receiver: HTTPSender POSTs one attempt, RetryPolicy decides whether and
// when to try again, and RedactHeaders hides secret header values before
// requests are shown or stored in the Webhook Execution Log.
//
// # Requests
//
// Each attempt is a POST of the packet with the webhook action's headers
// and Content-Type: application/json, User-Agent, webhook-id and
// webhook-timestamp headers, in the manner of Standard Webhooks
// (standardwebhooks.com). The webhook-id is the delivery id: it is the same
// on every attempt of one delivery, so receivers can drop duplicates.
// Redirects are not followed. Any HTTP status is a Response, not an error;
// errors mean no response arrived. Each attempt is bounded by the sender's
// Timeout (10 seconds by default) and keeps the first 64 KiB of the
// response body.
//
// # Retries
//
// A delivery is retried when the receiver answers 408, 429 or any 5xx, when
// no response arrives (DNS, connection, TLS errors, a reset connection) and
// when an attempt times out (ErrTimeout). It is not retried after a 2xx
// (success), a 1xx, a 3xx (redirects are failures, not followed), any other
// 4xx, an invalid request (ErrInvalidRequest), or a cancelled context.
// Replace RetryPolicy.Retryable to choose otherwise.
//
// The default policy makes 8 attempts in all, waiting between them, with
// +-20% jitter as Svix does:
//
//	after attempt  1   2   3   4    5    6    7    8
//	wait           1s  2s  4s  8s   16s  32s  64s  (gives up)
//
// so a delivery that keeps failing ends about two minutes after it started.
// A Retry-After header (seconds or an HTTP-date) on a retried response
// lengthens the wait to what the receiver asked for, and every wait is
// capped at RetryPolicy.MaxDelay (5 minutes by default), so a receiver
// cannot park a delivery for days. Set MaxAttempts and NewBackOff for a
// longer schedule, for example hours for receivers with long outages.
//
// A minimal use of the sender and the policy:
//
//	sender := webhook.NewHTTPSender(webhook.HTTPSenderConfig{})
//	var policy webhook.RetryPolicy // the defaults
//	for attempt := 1; ; attempt++ {
//		resp, err := sender.Send(ctx, &webhook.Request{
//			ID: "d-1", URL: url, Body: packet, Attempt: attempt,
//		})
//		if err == nil && resp.Success() {
//			break
//		}
//		wait, retry := policy.Next(attempt, resp, err, time.Now())
//		if !retry {
//			break
//		}
//		time.Sleep(wait)
//	}
//
// # Redaction
//
// IsSecretHeader recognises Authorization, Cookie, API key and similar
// headers by name; RedactHeaders replaces their values, and those of any
// header the user marked secret, with Redacted.
package webhook
