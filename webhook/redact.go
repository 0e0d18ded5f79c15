package webhook

import (
	"net/http"
	"slices"
	"strings"
)

// Redacted replaces the value of a secret header wherever headers are shown
// or stored, such as the Webhook Execution Log.
const Redacted = "[REDACTED]"

// secretHeaders are header names, lower-cased, whose values are always
// secret.
var secretHeaders = map[string]bool{
	"authorization":       true,
	"proxy-authorization": true,
	"cookie":              true,
	"set-cookie":          true,
	"x-api-key":           true,
	"api-key":             true,
	"x-auth-token":        true,
}

// secretWords mark a header name, lower-cased, as secret when it contains
// any of them.
var secretWords = []string{
	"secret", "token", "password", "passwd", "signature",
	"apikey", "api-key", "api_key", "session", "credential",
}

// IsSecretHeader reports whether the value of the header named name is a
// secret that must not be shown or stored: Authorization,
// Proxy-Authorization, Cookie, Set-Cookie, X-Api-Key, Api-Key, X-Auth-Token,
// and any name containing "secret", "token", "password", "passwd",
// "signature", "apikey", "api-key", "api_key", "session" or "credential",
// and any name ending in "key" (X-Signing-Key, Access-Key). The rule errs
// on the side of hiding: a header such as Idempotency-Key is redacted too.
// Names compare case-insensitively.
func IsSecretHeader(name string) bool {
	n := strings.ToLower(strings.TrimSpace(name))
	if secretHeaders[n] {
		return true
	}
	for _, w := range secretWords {
		if strings.Contains(n, w) {
			return true
		}
	}
	return strings.HasSuffix(n, "key")
}

// RedactHeaders returns a copy of h fit to show or store: keys are
// canonicalised with http.CanonicalHeaderKey, and the value of every header
// for which IsSecretHeader holds, or whose name is listed in secret
// (compared case-insensitively), is replaced by Redacted. Keys of h that
// canonicalise to the same name are merged, their values joined with ", " in
// the order of the original keys. h is not modified. The result is never
// nil, so callers may add to it.
func RedactHeaders(h map[string]string, secret []string) map[string]string {
	listed := make(map[string]bool, len(secret))
	for _, name := range secret {
		listed[http.CanonicalHeaderKey(strings.TrimSpace(name))] = true
	}
	keys := make([]string, 0, len(h))
	for k := range h {
		keys = append(keys, k)
	}
	slices.Sort(keys) // deterministic merge order for colliding keys
	out := make(map[string]string, len(h))
	for _, k := range keys {
		ck := http.CanonicalHeaderKey(strings.TrimSpace(k))
		v := h[k]
		if listed[ck] || IsSecretHeader(ck) {
			out[ck] = Redacted
			continue
		}
		if prev, ok := out[ck]; ok {
			v = prev + ", " + v
		}
		out[ck] = v
	}
	return out
}
