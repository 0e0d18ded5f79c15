package tickethooks

import (
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/tickethooks/tickethooks/executionlog"
	"github.com/tickethooks/tickethooks/internal/textcut"
	"github.com/tickethooks/tickethooks/trigger"
	"github.com/tickethooks/tickethooks/webhook"
)

// webhookRequest builds attempt number of the delivery id of body, of
// type contentType, to the webhook action a: its URL, method, headers and
// signing secrets. The sender adds Content-Type, User-Agent (unless a sets
// one), webhook-id, webhook-timestamp and webhook-signature.
func webhookRequest(id string, a trigger.Action, body []byte, contentType string, number int) *webhook.Request {
	header := make(http.Header, len(a.Headers))
	for k, v := range a.Headers {
		header.Set(k, v)
	}
	return &webhook.Request{ID: id, URL: a.URL, SecretURL: a.SecretURL, Header: header, Secrets: a.Secrets,
		Method: a.Method, ContentType: contentType, Body: body, Attempt: number}
}

// loggedContentType returns the Content-Type stored with en's request,
// which is the type of its body: application/json when there is none.
func loggedContentType(en *executionlog.Entry) string {
	for k, v := range en.RequestHeaders {
		if strings.EqualFold(k, "Content-Type") && v != "" {
			return v
		}
	}
	return trigger.ContentTypeJSON
}

// loggedURL returns the URL of the webhook action a as the log and the
// engine's lines show it: query values redacted, or only scheme and host
// when the whole URL is secret, and never longer than a trigger's URL may
// be, so that every log stores it.
func loggedURL(a trigger.Action) string {
	return textcut.Cut(webhook.RedactURL(a.URL, a.SecretURL), trigger.MaxURLBytes-len("..."))
}

// loggedHeaders returns the request headers of the delivery id to the
// webhook action a as the log keeps them: secret values redacted, with the
// Content-Type (a's, which Render gives its body), User-Agent and
// Webhook-Id the sender adds.
func loggedHeaders(a trigger.Action, id string) map[string]string {
	headers := webhook.RedactHeaders(a.Headers, a.SecretHeaders)
	headers["Content-Type"] = trigger.ContentTypeJSON
	if a.ContentType != "" {
		headers["Content-Type"] = a.ContentType
	}
	if _, ok := headers["User-Agent"]; !ok {
		headers["User-Agent"] = webhook.UserAgent
	}
	headers["Webhook-Id"] = id
	return headers
}

// newAttempt records attempt number, started at started and ended at end,
// from the sender's response or error. A non-2xx answer gets an Error
// naming the status, and an answer whose body was not read in full the
// response's Note (a 2xx one stays a success).
func newAttempt(number int, started time.Time, resp *webhook.Response, err error, end time.Time) executionlog.Attempt {
	att := executionlog.Attempt{Number: number, StartedAt: started}
	switch {
	case err != nil:
		att.Duration = end.Sub(started)
		att.Error = capError(err.Error())
	default:
		att.Duration = resp.Duration
		att.StatusCode = resp.StatusCode
		att.ResponseBody = string(resp.Body)
		att.ResponseTruncated = resp.Truncated
		if !resp.Success() {
			att.Error = fmt.Sprintf("receiver answered %d %s", resp.StatusCode, http.StatusText(resp.StatusCode))
		}
		if note := resp.Note(); note != "" {
			att.Error = capError(strings.TrimPrefix(att.Error+"; "+note, "; "))
		}
	}
	return att
}

// maxAttemptError is the longest attempt error kept in the log and in the
// engine's log lines: transport errors can quote what a receiver sent, such
// as a malformed status line megabytes long.
const maxAttemptError = 2048

// capError shortens an attempt error to maxAttemptError bytes, cut on a
// UTF-8 boundary, saying how much was cut.
func capError(s string) string {
	if len(s) <= maxAttemptError {
		return s
	}
	cut := textcut.Boundary(s, maxAttemptError)
	return fmt.Sprintf("%s... (%d more bytes)", s[:cut], len(s)-cut)
}

// errNoResponse stands in for the answer of a Sender that broke its
// contract by returning neither a response nor an error.
var errNoResponse = errors.New("tickethooks: sender returned no response and no error")
