package logview

import (
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

func TestRelative(t *testing.T) {
	t.Parallel()
	tests := []struct {
		d    time.Duration
		want string
	}{
		{0, "now"},
		{-500 * time.Millisecond, "now"},
		{42 * time.Second, "in 42s"},
		{-3 * time.Minute, "3m ago"},
		{5*time.Hour + 59*time.Minute, "in 5h"},
		{-47 * time.Hour, "47h ago"},
		{-72 * time.Hour, "3d ago"},
	}
	for _, tc := range tests {
		if got := relative(tc.d); got != tc.want {
			t.Errorf("relative(%v) = %q, want %q", tc.d, got, tc.want)
		}
	}
}

func TestExcerpt(t *testing.T) {
	t.Parallel()
	tests := []struct {
		in   string
		n    int
		want string
	}{
		{"short", 10, "short"},
		{"line one\n\tline  two", 40, "line one line two"},
		{"não é possível conectar", 8, "não é po…"},
		{strings.Repeat("x", 200), 3, "xxx…"},
	}
	for _, tc := range tests {
		if got := excerpt(tc.in, tc.n); got != tc.want {
			t.Errorf("excerpt(%q, %d) = %q, want %q", tc.in, tc.n, got, tc.want)
		}
	}
	if got := clip(strings.Repeat("é", 40)); len(got) > 64+len("...") || !strings.HasSuffix(got, "...") {
		t.Errorf("clip of 80 bytes = %q, want at most 64 bytes and an ellipsis", got)
	}
}

func TestMountPath(t *testing.T) {
	t.Parallel()
	tests := []struct {
		requestURI, path, want string
	}{
		{"/admin/webhooks/", "/", "/admin/webhooks/"},
		{"/admin/webhooks/entries/01ABC?redelivered=1", "/entries/01ABC", "/admin/webhooks/"},
		{"/", "/", "/"},
		{"/entries/x", "/entries/x", "/"},
		{"http://example.com/admin/", "/", "/"},      // absolute form
		{"/admin/webhooks/other", "/entries/x", "/"}, // not a suffix
	}
	for _, tc := range tests {
		r := httptest.NewRequest("GET", "/", nil)
		r.RequestURI = tc.requestURI
		r.URL.Path = tc.path
		if got := mountPath(r); got != tc.want {
			t.Errorf("mountPath(%q, %q) = %q, want %q", tc.requestURI, tc.path, got, tc.want)
		}
	}
}

func TestRootOf(t *testing.T) {
	t.Parallel()
	var got []string
	for _, p := range []string{"/", "/redeliver", "/entries/x", "/entries/x/redeliver", "/entries/a%2Fb"} {
		r := httptest.NewRequest("GET", p, nil)
		got = append(got, string(rootOf(r)))
	}
	want := []string{"./", "./", "../", "../../", "../"}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("rootOf mismatch (-want +got):\n%s", diff)
	}
}
