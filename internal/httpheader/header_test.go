package httpheader

import (
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestValidName(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		want bool
	}{
		{"X-Token", true},
		{"content-type", true},
		{"A1", true},
		{"!#$%&'*+-.^_`|~", true},
		{"", false},
		{"X Token", false},
		{"X-Token:", false},
		{"X\tToken", false},
		{"X\r\nInjected", false},
		{"(comment)", false},
		{`"quoted"`, false},
		{"Clé", false},
		{"X\x7f", false},
	}
	for _, tt := range tests {
		if diff := cmp.Diff(tt.want, ValidName(tt.name)); diff != "" {
			t.Errorf("ValidName(%q) mismatch (-want +got):\n%s", tt.name, diff)
		}
	}
}

func TestValidValue(t *testing.T) {
	t.Parallel()
	tests := []struct {
		value string
		want  bool
	}{
		{"", true},
		{"Bearer abc123", true},
		{"a\tb", true},
		{"café", true},
		{"  padded  ", true},
		{"a\r\nX-Injected: 1", false},
		{"a\nb", false},
		{"a\rb", false},
		{"a\x00b", false},
		{"a\x1fb", false},
		{"a\x7fb", false},
	}
	for _, tt := range tests {
		if diff := cmp.Diff(tt.want, ValidValue(tt.value)); diff != "" {
			t.Errorf("ValidValue(%q) mismatch (-want +got):\n%s", tt.value, diff)
		}
	}
}
