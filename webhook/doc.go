// Package webhook delivers the JSON data packet of a fired trigger to its
// receiver: HTTPSender POSTs one attempt, signed as Standard Webhooks
// prescribe and refused when it would reach a private network,
// RetryPolicy decides whether and when to try again, and RedactHeaders
// hides secret header values before requests are shown or stored in the
// Webhook Execution Log. Verify and VerifyRequest check signatures on the
// receiving side.
//
// # Requests
//
// Each attempt is a POST of the packet (or, with Request.Method and
// Request.ContentType, a PUT or PATCH of a body a template rendered) with
// the webhook action's headers and Content-Type (application/json unless
// set), User-Agent, webhook-id,
// webhook-timestamp and, when signed, webhook-signature headers, as in
// Standard Webhooks (standardwebhooks.com). The webhook-id is the delivery
// id: it is the same on every attempt of one delivery, so receivers can
// drop duplicates.
// Redirects are not followed. Any HTTP status is a Response, not an error;
// errors mean no response arrived. Each attempt is bounded by the sender's
// Timeout (10 seconds by default) and keeps the first 64 KiB of the
// response body.
//
// # Signing
//
// When a Request has Secrets, HTTPSender signs it as Standard Webhooks
// (standardwebhooks.com) prescribe, so receivers can use any Standard
// Webhooks library, or Verify:
//
//   - a secret is "whsec_" followed by the standard base64 of 24 to 64
//     random bytes (NewSecret makes one of 32, ParseSecret decodes one);
//   - the signed content is the webhook-id, a dot, the webhook-timestamp
//     (Unix seconds), a dot and the raw body;
//   - webhook-signature is "v1," and the standard base64 of the
//     HMAC-SHA256 of that content keyed with the secret's bytes (Sign);
//   - with several secrets, as while one is rotated, webhook-signature
//     holds one signature per secret, separated by spaces; a receiver
//     accepts the request when any of them matches a secret it knows.
//
// The webhook-id is the same on every attempt; the timestamp, and so the
// signature, is the attempt's own.
//
// A receiver verifies the raw body before decoding it:
//
//	func hook(w http.ResponseWriter, r *http.Request) {
//		body, err := webhook.VerifyRequest(r, []string{secret}, nil)
//		if err != nil {
//			http.Error(w, "invalid signature", http.StatusUnauthorized)
//			return
//		}
//		// decode body, and drop a webhook-id already seen
//	}
//
// Verify requires the three headers, under any spelling of their names
// and on any number of lines, refuses a timestamp more than 5 minutes
// (VerifyOptions.Tolerance) away from the receiver's clock in either
// direction, which bounds replays, and compares signatures in constant
// time. Its errors wrap ErrMissingHeaders, ErrAmbiguousHeaders,
// ErrInvalidTimestamp, ErrNoMatchingSignature or ErrInvalidSecret.
//
// # Protection against server-side request forgery
//
// A trigger's URL is chosen by whoever configures triggers, and the
// library runs inside the helpdesk's network; without protection a URL
// could make it POST to an internal service or read a cloud metadata
// endpoint and show the answer in the execution log. So HTTPSender's
// default transport refuses to connect to loopback, private (RFC 1918,
// unique local fc00::/7), carrier-grade NAT, link-local (169.254.0.0/16
// with the cloud metadata address 169.254.169.254, fe80::/10), multicast,
// broadcast, unspecified, documentation, benchmarking and reserved
// addresses, in their IPv4-mapped, NAT64 and 6to4 forms too. The check is
// made on the address each connection is about to reach, after DNS
// resolution, so a public name that resolves, or is rebound, to a
// private address is refused as well. Such a failure wraps
// ErrBlockedDestination, names the address and its range ("destination
// 10.0.0.5 is a private address") and is not retried.
//
// Self-hosted receivers on a private network, and tests with a receiver on
// 127.0.0.1, are allowed explicitly with HTTPSenderConfig.AllowNetworks,
// such as 10.0.0.0/8 or 127.0.0.0/8 and ::1/128.
//
// The default transport uses no proxy, whatever HTTP_PROXY and
// HTTPS_PROXY say: a proxy resolves and connects to the receiver itself,
// where the library cannot check the address. Redirects are never
// followed, so a receiver cannot bounce a delivery to an internal
// address. A caller that passes its own HTTPSenderConfig.Client takes on
// this protection: dial with GuardedDialer to keep it.
//
// # Retries
//
// A delivery is retried when the receiver answers 408, 429 or any 5xx, when
// no response arrives (DNS, connection, TLS errors, a reset connection) and
// when an attempt times out (ErrTimeout). It is not retried after a 2xx
// (success), a 1xx, a 3xx (redirects are failures, not followed), any other
// 4xx, an invalid request (ErrInvalidRequest), a blocked destination
// (ErrBlockedDestination), or a cancelled context. Classify makes this
// decision, for the retry policy and for the engine's circuit breaker and
// log. Replace RetryPolicy.Retryable to choose otherwise.
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
// cannot park a delivery for days. Set MaxAttempts and Schedule (see
// ExponentialSchedule) for a longer schedule, for example hours for
// receivers with long outages.
//
// A minimal use of the sender and the policy:
//
//	sender := webhook.NewHTTPSender(webhook.HTTPSenderConfig{})
//	var policy webhook.RetryPolicy // the defaults
//	for attempt := 1; ; attempt++ {
//		resp, err := sender.Send(ctx, &webhook.Request{
//			ID: "d-1", URL: url, Body: packet, Attempt: attempt,
//			Secrets: []string{secret},
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
