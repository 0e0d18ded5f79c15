package sqlbind

import (
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestDollar(t *testing.T) {
	t.Parallel()
	tests := []struct{ in, want string }{
		{"", ""},
		{"SELECT 1", "SELECT 1"},
		{"a = ? AND b = ?", "a = $1 AND b = $2"},
		{"x IN (?, ?, ?) LIMIT ?", "x IN ($1, $2, $3) LIMIT $4"},
		{"é = ?", "é = $1"},
	}
	for _, tc := range tests {
		if diff := cmp.Diff(tc.want, Dollar(tc.in)); diff != "" {
			t.Errorf("Dollar(%q) mismatch (-want +got):\n%s", tc.in, diff)
		}
	}
}
