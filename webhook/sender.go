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
	// URL is the absolute http or https URL to send to.
	URL string
	// SecretURL says the whole URL is secret, as the URL of a Slack
	// incoming webhook whose path is its token: errors show its scheme and
	// host only, and a receiver's echo of its path is hidden from the
	// Response. Whether it is set or not, errors never show the URL's
	// query values, user name, password or fragment (see RedactURL).
	SecretURL bool
	// Header holds the headers configured on the webhook action. The sender
	// adds Content-Type (ContentType), User-Agent, webhook-id, webhook-timestamp and,
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
	// Method is the request method: http.MethodPost, http.MethodPut or
	// http.MethodPatch. Empty means POST.
	Method string
	// ContentType is the Content-Type of Body, such as
	// "application/x-www-form-urlencoded" for the form a body template
	// renders. Empty means "application/json".
	ContentType string
	// Body is the request body: the JSON data packet, or what the webhook
	// action's body template rendered. It is signed as sent.
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
	// BodyError is why the body was not read in full, or nil when it was
	// (up to the capture limit and what was drained past it): the
	// attempt's timeout ran out while reading (the error wraps
	// ErrTimeout), the caller's ctx ended, or the connection broke. Body
	// holds what was read before it, and Truncated is false. The status
	// and headers had arrived, so the Response is still the receiver's
	// answer: a 2xx is a success, any other status a failed attempt with
	// that status. Note describes it for a log.
	BodyError error
	// Duration is the time from sending the request to reading the body.
	Duration time.Duration
}

// Success reports whether the receiver accepted the delivery (a 2xx
// status), whether or not its body was read in full.
func (r *Response) Success() bool {
	return r.StatusCode >= 200 && r.StatusCode < 300
}

// Note returns what a log should add to the status of the response: ""
// when the body was read in full, and otherwise "response body not read in
// full: " followed by BodyError.
func (r *Response) Note() string {
	if r == nil || r.BodyError == nil {
		return ""
	}
	return "response body not read in full: " + r.BodyError.Error()
}

// Sender delivers one attempt of a webhook.
//
// Send returns a Response for any HTTP status: a non-2xx status is a
// response, not an error. It returns an error only when no response was
// received (DNS, connection, TLS, timeout, cancelled ctx); a Response that
// came with an error is discarded. A response whose status arrived but
// whose body could not be read in full is a Response with BodyError set,
// not an error. Implementations must be safe for concurrent use and must
// return promptly when ctx is done.
type Sender interface {
	Send(ctx context.Context, req *Request) (*Response, error)
}

// method returns the request method, POST when Method is empty.
func (r *Request) method() string {
	if r.Method == "" {
		return http.MethodPost
	}
	return r.Method
}

// contentType returns the Content-Type of the body, application/json when
// ContentType is empty.
func (r *Request) contentType() string {
	if r.ContentType == "" {
		return "application/json"
	}
	return r.ContentType
}
