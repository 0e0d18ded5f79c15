package webhook

import (
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestIsSecretHeader(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		want bool
	}{
		// The names the rule has always held.
		{"Authorization", true},
		{"authorization", true},
		{"AUTHORIZATION", true},
		{" authorization ", true},
		{"Proxy-Authorization", true},
		{"Cookie", true},
		{"Set-Cookie", true},
		{"X-Api-Key", true},
		{"Api-Key", true},
		{"X-Auth-Token", true},
		{"X-Webhook-Secret", true},
		{"X-Access-Token", true},
		{"X-Password", true},
		{"X-Passwd", true},
		{"Webhook-Signature", true},
		{"X-ApiKey", true},
		{"X-Client-Api-Key", true},
		{"X_API_KEY", true},
		{"X-Session-Id", true},
		{"X-Credentials", true},
		{"X-Signing-Key", true},
		{"Access-Key", true},
		// The names an attack found shown in the log.
		{"X-Auth", true},
		{"X-Authentication", true},
		{"X-Passphrase", true},
		{"X-Access-Code", true},
		{"X_Access_Code", true},
		{"X-Hmac", true},
		// Real vendor headers.
		{"Stripe-Signature", true},
		{"X-Hub-Signature", true},
		{"X-Hub-Signature-256", true},
		{"X-Shopify-Hmac-Sha256", true},
		{"X-Slack-Signature", true},
		{"X-Twilio-Signature", true},
		{"X-Line-Signature", true},
		{"X-Square-Hmacsha256-Signature", true},
		{"X-Gitlab-Token", true},
		{"PRIVATE-TOKEN", true},
		{"X-Vault-Token", true},
		{"X-Amz-Security-Token", true},
		{"X-Goog-Api-Key", true},
		{"Ocp-Apim-Subscription-Key", true},
		{"X-Algolia-API-Key", true},
		{"X-Postmark-Server-Token", true},
		{"X-Shopify-Access-Token", true},
		{"X-Atlassian-Token", true},
		{"X-CSRF-Token", true},
		{"X-XSRF-TOKEN", true},
		{"X-CSRFToken", true},
		{"X-Jwt-Assertion", true},
		{"X-Auth-Email", true},
		{"X-Passport", true},
		{"Idempotency-Key", true},
		// Not secret, but hidden: the rule errs on the side of hiding.
		{"X-Keyboard-Layout", true},
		{"X-Compass", true},
		// Headers that are not secret stay visible.
		{"Content-Type", false},
		{"Content-Length", false},
		{"User-Agent", false},
		{"Accept", false},
		{"Accept-Encoding", false},
		{"Cache-Control", false},
		{"Webhook-Id", false},
		{"Webhook-Timestamp", false},
		{"X-Request-Id", false},
		{"X-Correlation-Id", false},
		{"X-Tenant", false},
		{"X-Account", false},
		{"X-GitHub-Event", false},
		{"X-GitHub-Delivery", false},
		{"X-Shopify-Topic", false},
		{"X-Forwarded-For", false},
		{"Traceparent", false},
		{"Keep-Alive", false},
		{"X-Country-Code", false},
		{"X-Status-Code", false},
		{"", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			if got := IsSecretHeader(tt.name); got != tt.want {
				t.Errorf("IsSecretHeader(%q) = %t, want %t", tt.name, got, tt.want)
			}
		})
	}
}

func TestRedactHeaders(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name   string
		in     map[string]string
		secret []string
		want   map[string]string
	}{
		{"nil", nil, nil, map[string]string{}},
		{"empty", map[string]string{}, nil, map[string]string{}},
		{
			name: "secret by name, keys canonicalised",
			in: map[string]string{
				"authorization": "Bearer abc",
				"x-api-key":     "k",
				"content-type":  "application/json",
				"X-Tenant":      "acme",
				"cookie":        "sid=1",
			},
			want: map[string]string{
				"Authorization": Redacted,
				"X-Api-Key":     Redacted,
				"Content-Type":  "application/json",
				"X-Tenant":      "acme",
				"Cookie":        Redacted,
			},
		},
		{
			name: "names an attack found shown in the log",
			in: map[string]string{
				"X-Auth": "a", "X-Authentication": "b", "X-Passphrase": "c",
				"X-Access-Code": "d", "X-Hmac": "e", "X-Request-Id": "r-1",
			},
			want: map[string]string{
				"X-Auth": Redacted, "X-Authentication": Redacted, "X-Passphrase": Redacted,
				"X-Access-Code": Redacted, "X-Hmac": Redacted, "X-Request-Id": "r-1",
			},
		},
		{
			name:   "listed secret, any case",
			in:     map[string]string{"X-Tenant": "acme", "X-Customer": "c-1", "x-account": "a"},
			secret: []string{"x-tenant", "X-ACCOUNT", "X-Absent"},
			want:   map[string]string{"X-Tenant": Redacted, "X-Customer": "c-1", "X-Account": Redacted},
		},
		{
			name: "colliding keys merged in order",
			in:   map[string]string{"x-a": "2", "X-A": "1"},
			want: map[string]string{"X-A": "1, 2"},
		},
		{
			name: "colliding secret keys stay redacted",
			in:   map[string]string{"authorization": "a", "Authorization": "b"},
			want: map[string]string{"Authorization": Redacted},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			var before map[string]string
			if tt.in != nil {
				before = make(map[string]string, len(tt.in))
				for k, v := range tt.in {
					before[k] = v
				}
			}
			got := RedactHeaders(tt.in, tt.secret)
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("RedactHeaders mismatch (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff(before, tt.in); diff != "" {
				t.Errorf("input modified (-want +got):\n%s", diff)
			}
		})
	}
}
