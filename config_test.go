package tickethooks_test

import (
	"errors"
	"fmt"
	"net/netip"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/tickethooks/tickethooks"
	"github.com/tickethooks/tickethooks/trigger"
)

// TestTriggerOptions checks that triggers loaded with Config.TriggerOptions
// may name the networks Config.AllowNetworks allows, and only those, while
// the other options given are kept.
func TestTriggerOptions(t *testing.T) {
	t.Parallel()
	private := []netip.Prefix{netip.MustParsePrefix("10.20.0.0/16")}
	tests := []struct {
		name    string
		cfg     tickethooks.Config
		base    trigger.Options
		url     string
		wantErr bool
	}{
		{"allowed network", tickethooks.Config{AllowNetworks: private}, trigger.Options{}, "http://10.20.1.2/hooks", false},
		{"other network", tickethooks.Config{AllowNetworks: private}, trigger.Options{}, "http://10.30.1.2/hooks", true},
		{"no networks", tickethooks.Config{}, trigger.Options{}, "http://10.20.1.2/hooks", true},
		{"base networks replaced", tickethooks.Config{}, trigger.Options{AllowNetworks: private}, "http://10.20.1.2/hooks", true},
		{"other options kept", tickethooks.Config{AllowNetworks: private}, trigger.Options{RequireHTTPS: true}, "http://10.20.1.2/hooks", true},
		{"https allowed network", tickethooks.Config{AllowNetworks: private}, trigger.Options{RequireHTTPS: true}, "https://10.20.1.2/hooks", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			opts := tt.cfg.TriggerOptions(tt.base)
			_, err := trigger.Parse(fmt.Appendf(nil, `[{"id": "t", "on": ["updated"], "actions": [{"type": "webhook", "url": %q}]}]`, tt.url), opts)
			if got := err != nil; got != tt.wantErr {
				t.Errorf("Parse(%s) = %v, want error: %t", tt.url, err, tt.wantErr)
			}
			if err != nil && !errors.Is(err, trigger.ErrInvalid) {
				t.Errorf("Parse(%s) = %v, want trigger.ErrInvalid", tt.url, err)
			}
			if diff := cmp.Diff(tt.cfg.AllowNetworks, opts.AllowNetworks, cmp.Comparer(func(a, b netip.Prefix) bool { return a == b })); diff != "" {
				t.Errorf("AllowNetworks mismatch (-want +got):\n%s", diff)
			}
		})
	}
}
