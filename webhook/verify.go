package webhook

import (
	"crypto/hmac"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"
)

// DefaultTolerance is how far a webhook-timestamp may be from the
// receiver's clock, either way, for Verify to accept it.
const DefaultTolerance = 5 * time.Minute

// MaxVerifyBody is the most bytes of a request body that VerifyRequest
// reads: 10 MiB.
const MaxVerifyBody = 10 << 20

// Errors returned by Verify and VerifyRequest; match them with errors.Is.
// ErrInvalidSecret, from sign.go, is returned too.
var (
	// ErrMissingHeaders means the webhook-id, webhook-timestamp or
	// webhook-signature header is missing or empty.
	ErrMissingHeaders = errors.New("missing webhook headers")
	// ErrAmbiguousHeaders means webhook-id or webhook-timestamp appears
	// on several lines, or under several spellings of its name, with
	// different values: which message was signed cannot be told. The same
	// value repeated is accepted.
	ErrAmbiguousHeaders = errors.New("ambiguous webhook headers")
	// ErrInvalidTimestamp means webhook-timestamp is not a Unix time in
	// seconds, or is further than the tolerance in the past (stale, maybe
	// replayed) or in the future. The message says which.
	ErrInvalidTimestamp = errors.New("invalid webhook timestamp")
	// ErrNoMatchingSignature means no v1 signature in webhook-signature
	// matches the message under any of the secrets: the body, id or
	// timestamp was changed, or the sender used another secret.
	ErrNoMatchingSignature = errors.New("no matching signature")
)

// VerifyOptions adjusts Verify. A nil *VerifyOptions means the defaults.
type VerifyOptions struct {
	// Tolerance is how far webhook-timestamp may be from Now, in the past
	// or in the future. Zero or negative means the default. Defaults to 5
	// minutes.
	Tolerance time.Duration
	// Now gives the receiver's current time. Defaults to time.Now.
	Now func() time.Time
}

// Verify checks that a webhook request was signed, recently, with one of
// secrets, as Standard Webhooks receivers do. header holds the request's
// headers and body its raw body, exactly as received: verify before
// decoding the JSON. secrets are the endpoint's signing secrets in the
// form of NewSecret; during a rotation pass the old and the new one.
//
// Verify returns nil when the webhook-id, webhook-timestamp and
// webhook-signature headers are present, the timestamp is within the
// tolerance of the current time either way, and any of the
// space-separated "v1,<base64>" signatures in webhook-signature matches
// any of the secrets. Signatures of other versions are ignored. Signatures
// are compared in constant time.
//
// Header names match in any case: header may come from net/http, whose
// keys are canonical ("Webhook-Signature"), or be built by hand or by a
// framework with other spellings ("webhook-signature"). Every line of
// webhook-signature is read, as a proxy may split it, and every
// signature of every line is tried. webhook-id and webhook-timestamp may
// repeat only with the same value.
//
// Otherwise it returns an error wrapping ErrMissingHeaders,
// ErrAmbiguousHeaders, ErrInvalidTimestamp, ErrNoMatchingSignature, or
// ErrInvalidSecret when secrets is empty or holds a malformed secret.
// Errors never contain a secret or a signature.
//
// Verify does not remember webhook-ids: a receiver that must not process a
// message twice keeps the ids it has seen for longer than the tolerance.
func Verify(header http.Header, body []byte, secrets []string, opts *VerifyOptions) error {
	if len(secrets) == 0 {
		return fmt.Errorf("webhook: verify: %w: no secrets", ErrInvalidSecret)
	}
	keys, err := parseSecrets(secrets)
	if err != nil {
		return fmt.Errorf("webhook: verify: %w", err)
	}
	tolerance, now := DefaultTolerance, time.Now
	if opts != nil {
		if opts.Tolerance > 0 {
			tolerance = opts.Tolerance
		}
		if opts.Now != nil {
			now = opts.Now
		}
	}

	values := headerValues(header)
	id, err := single(HeaderID, values.id)
	if err != nil {
		return fmt.Errorf("webhook: verify: %w", err)
	}
	tsValue, err := single(HeaderTimestamp, values.timestamp)
	if err != nil {
		return fmt.Errorf("webhook: verify: %w", err)
	}
	var missing []string
	for _, h := range []struct {
		name    string
		present bool
	}{
		{HeaderID, id != ""}, {HeaderTimestamp, tsValue != ""}, {HeaderSignature, len(values.signature) > 0},
	} {
		if !h.present {
			missing = append(missing, h.name)
		}
	}
	if len(missing) > 0 {
		return fmt.Errorf("webhook: verify: %w: %s", ErrMissingHeaders, strings.Join(missing, ", "))
	}

	ts, err := parseTimestamp(tsValue)
	if err != nil {
		return fmt.Errorf("webhook: verify: %w", err)
	}
	if err := checkTimestamp(ts, now(), tolerance); err != nil {
		return fmt.Errorf("webhook: verify: %w", err)
	}

	want := make([][]byte, len(keys))
	for i, k := range keys {
		want[i] = mac(k, id, ts, body)
	}
	var v1 int
	for _, line := range values.signature {
		for _, sig := range strings.Fields(line) {
			version, enc, ok := strings.Cut(sig, ",")
			if !ok || version != "v1" {
				continue
			}
			v1++
			// A proxy that joins header lines separates them with ", ":
			// base64 holds no comma, so a trailing one is the joint.
			got, err := base64.StdEncoding.DecodeString(strings.TrimSuffix(enc, ","))
			if err != nil {
				continue
			}
			for _, w := range want {
				if hmac.Equal(got, w) {
					return nil
				}
			}
		}
	}
	if v1 == 0 {
		return fmt.Errorf("webhook: verify: %w: webhook-signature holds no v1 signature", ErrNoMatchingSignature)
	}
	return fmt.Errorf("webhook: verify: %w", ErrNoMatchingSignature)
}

// webhookHeaders holds the non-empty values of the Standard Webhooks
// headers of a request, from every line and every spelling of their names.
type webhookHeaders struct {
	id, timestamp, signature []string
}

// headerValues collects the non-empty values of webhook-id,
// webhook-timestamp and webhook-signature in h, whatever the case of their
// keys: a header built by hand or by a framework may hold "webhook-id"
// rather than the canonical "Webhook-Id", and a proxy may split a header
// into several lines. Values of one name keep the order of their lines,
// keys in sorted order.
func headerValues(h http.Header) webhookHeaders {
	var w webhookHeaders
	keys := make([]string, 0, 3)
	for k := range h {
		if w.of(k) != nil {
			keys = append(keys, k)
		}
	}
	slices.Sort(keys) // a deterministic order of lines
	for _, k := range keys {
		dst := w.of(k)
		for _, v := range h[k] {
			if v != "" {
				*dst = append(*dst, v)
			}
		}
	}
	return w
}

// of returns the values of w that the header key k names, in any case, or
// nil for another header.
func (w *webhookHeaders) of(k string) *[]string {
	switch {
	case strings.EqualFold(k, HeaderID):
		return &w.id
	case strings.EqualFold(k, HeaderTimestamp):
		return &w.timestamp
	case strings.EqualFold(k, HeaderSignature):
		return &w.signature
	}
	return nil
}

// single returns the value of the header name given its values: "" when
// there is none, the value when every line holds the same one, and an
// error wrapping ErrAmbiguousHeaders when lines differ, since the signed
// message is then unknown.
func single(name string, values []string) (string, error) {
	if len(values) == 0 {
		return "", nil
	}
	for _, v := range values[1:] {
		if v != values[0] {
			return "", fmt.Errorf("%w: %s has %d lines with different values", ErrAmbiguousHeaders, name, len(values))
		}
	}
	return values[0], nil
}

// parseTimestamp parses a webhook-timestamp: decimal Unix seconds.
func parseTimestamp(v string) (int64, error) {
	ts, err := strconv.ParseInt(v, 10, 64)
	if err != nil || !isDigits(v) {
		return 0, fmt.Errorf("%w: webhook-timestamp is not a Unix time in seconds", ErrInvalidTimestamp)
	}
	return ts, nil
}

// checkTimestamp reports a timestamp ts, in Unix seconds, further than
// tolerance from now.
func checkTimestamp(ts int64, now time.Time, tolerance time.Duration) error {
	t := time.Unix(ts, 0)
	if age := now.Sub(t); age > tolerance {
		return fmt.Errorf("%w: stale: %s old, tolerance %s", ErrInvalidTimestamp, age.Truncate(time.Second), tolerance)
	}
	if ahead := t.Sub(now); ahead > tolerance {
		return fmt.Errorf("%w: in the future: %s ahead, tolerance %s", ErrInvalidTimestamp, ahead.Truncate(time.Second), tolerance)
	}
	return nil
}

// VerifyRequest reads the body of r, at most MaxVerifyBody bytes, and
// verifies it with Verify, for receivers' HTTP handlers. It returns the
// body when the request is verified, and nil with an error otherwise: an
// error of Verify, an error wrapping *http.MaxBytesError when the body is
// longer than MaxVerifyBody, or the error of reading the body. It does not
// close r.Body.
func VerifyRequest(r *http.Request, secrets []string, opts *VerifyOptions) ([]byte, error) {
	if r == nil {
		return nil, errors.New("webhook: verify: nil request")
	}
	var body []byte
	if r.Body != nil {
		b, err := io.ReadAll(io.LimitReader(r.Body, MaxVerifyBody+1))
		if err != nil {
			return nil, fmt.Errorf("webhook: verify: reading body: %w", err)
		}
		if len(b) > MaxVerifyBody {
			return nil, fmt.Errorf("webhook: verify: reading body: %w", &http.MaxBytesError{Limit: MaxVerifyBody})
		}
		body = b
	}
	if err := Verify(r.Header, body, secrets, opts); err != nil {
		return nil, err
	}
	return body, nil
}
