package textcut

import "testing"

func TestCut(t *testing.T) {
	tests := []struct {
		s    string
		n    int
		want string
	}{
		{"short", 10, "short"},
		{"exactly10!", 10, "exactly10!"},
		{"longer than ten", 10, "longer tha..."},
		{"ação", 2, "a..."}, // "ç" is two bytes: not split
		{"ação", 3, "aç..."},
		{"abc", 0, "..."},
	}
	for _, tt := range tests {
		if got := Cut(tt.s, tt.n); got != tt.want {
			t.Errorf("Cut(%q, %d) = %q, want %q", tt.s, tt.n, got, tt.want)
		}
	}
	if got := Boundary("ação", 2); got != 1 {
		t.Errorf("Boundary = %d, want 1", got)
	}
}
