package webhook

import (
	"net/http"
	"slices"
	"strings"
)

// Redacted replaces the value of a secret header wherever headers are shown
// or stored, such as the Webhook Execution Log.
const Redacted = "[REDACTED]"

// secretWords mark a header name as secret when it contains any of them,
// once it is lower-cased and its "-" and "_" are removed (so that
// "X-Access-Code" holds "accesscode"). Each names what a credential is
// called in real headers: Authorization and X-Auth-Token (auth), passwords
// and passphrases (pass), API and subscription keys (key), Stripe-Signature
// and X-Hub-Signature-256 (signature), X-Shopify-Hmac-Sha256 (hmac),
// session ids and cookies, CSRF tokens and JWTs.
var secretWords = []string{
	"auth", "pass", "secret", "token", "key", "signature", "hmac",
	"credential", "session", "cookie", "accesscode", "csrf", "xsrf", "jwt",
}

// separators removes the separators that secretWords do not spell.
var separators = strings.NewReplacer("-", "", "_", "")

// IsSecretHeader reports whether the value of the header named name is a
// secret that must not be shown or stored: it does when the name, compared
// case-insensitively and with "-" and "_" left out, contains "auth",
// "pass", "secret", "token", "key", "signature", "hmac", "credential",
// "session", "cookie", "accesscode", "csrf", "xsrf" or "jwt". That covers
// Authorization, Proxy-Authorization, Cookie, Set-Cookie, X-Api-Key,
// X-Auth, X-Authentication, X-Passphrase, X-Access-Code, X-Hmac,
// Stripe-Signature, X-Hub-Signature-256, X-Shopify-Hmac-Sha256,
// Ocp-Apim-Subscription-Key, PRIVATE-TOKEN, X-Vault-Token,
// X-Amz-Security-Token and X-CSRF-Token. The rule errs on the side of
// hiding: Idempotency-Key, X-Keyboard-Layout and X-Compass are redacted
// too; name any other secret header in the action's secret_headers.
func IsSecretHeader(name string) bool {
	n := separators.Replace(strings.ToLower(strings.TrimSpace(name)))
	for _, w := range secretWords {
		if strings.Contains(n, w) {
			return true
		}
	}
	return false
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
