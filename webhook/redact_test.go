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
		{"Authorization", true},
		{"authorization", true},
		{"AUTHORIZATION", true},
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
		{"X-Hub-Signature-256", true},
		{"X-ApiKey", true},
		{"X-Client-Api-Key", true},
		{"X_API_KEY", true},
		{"X-Session-Id", true},
		{"X-Credentials", true},
		{"X-Signing-Key", true},
		{"Access-Key", true},
		{"Idempotency-Key", true},
		{"X-Keyboard-Layout", false},
		{" authorization ", true},
		{"Content-Type", false},
		{"User-Agent", false},
		{"Webhook-Id", false},
		{"Webhook-Timestamp", false},
		{"X-Tenant", false},
		{"Accept", false},
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
