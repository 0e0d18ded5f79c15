package webhook

import (
	"context"
	"net/http"
	"time"
)

// Request is one attempt at delivering a webhook.
type Request struct {
	// ID is the delivery id, sent as the webhook-id header. It is the same
	// on every attempt of one delivery, so receivers can drop duplicates.
	ID string
	// URL is the absolute http or https URL to POST to.
	URL string
	// Header holds the headers configured on the webhook action. The sender
	// adds Content-Type, User-Agent, webhook-id, webhook-timestamp and,
	// with Secrets, webhook-signature.
	Header http.Header
	// Secrets are the webhook action's active signing secrets, each
	// SecretPrefix followed by the base64 of 24 to 64 bytes (NewSecret
	// makes one). When there are any, the request is signed as Standard
	// Webhooks prescribe: webhook-signature holds one "v1,<base64
	// HMAC-SHA256>" per secret, separated by spaces, so receivers keep
	// verifying while a secret is rotated. Signing needs an ID. Secrets
	// are secret: never log or store them with the request.
	Secrets []string
	// Body is the JSON data packet.
	Body []byte
	// Attempt counts attempts of this delivery from 1.
	Attempt int
}

// Response is what a receiver answered.
type Response struct {
	// StatusCode is the HTTP status code.
	StatusCode int
	// Header holds the response headers.
	Header http.Header
	// Body is the start of the response body, at most the sender's capture
	// limit; Truncated says whether the receiver sent more.
	Body      []byte
	Truncated bool
	// Duration is the time from sending the request to reading the body.
	Duration time.Duration
}

// Success reports whether the receiver accepted the delivery (a 2xx status).
func (r *Response) Success() bool {
	return r.StatusCode >= 200 && r.StatusCode < 300
}

// Sender delivers one attempt of a webhook.
//
// Send returns a Response for any HTTP status: a non-2xx status is a
// response, not an error. It returns an error only when no response was
// received (DNS, connection, TLS, timeout, cancelled ctx); a Response that
// came with an error is discarded. Implementations must be safe for
// concurrent use and must return promptly when ctx is done.
type Sender interface {
	Send(ctx context.Context, req *Request) (*Response, error)
}
