package urlcache

import (
	"fmt"
	"net/url"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestParse(t *testing.T) {
	for _, raw := range []string{"https://example.com/hooks?a=1", "http://user:pw@10.0.0.1:8080/x", "/relative", ""} {
		want, werr := url.Parse(raw)
		for range 2 { // parsed, then cached
			got, err := Parse(raw)
			if (err != nil) != (werr != nil) {
				t.Fatalf("Parse(%q) error = %v, want %v", raw, err, werr)
			}
			if diff := cmp.Diff(want, got, cmp.Comparer(func(a, b url.Userinfo) bool { return a.String() == b.String() })); diff != "" {
				t.Errorf("Parse(%q) mismatch (-want +got):\n%s", raw, diff)
			}
		}
	}
	if _, err := Parse("http://[::1"); err == nil {
		t.Error("Parse of a malformed URL: no error")
	}
}

func TestParseBounded(t *testing.T) {
	for i := range 3 * maxEntries {
		if _, err := Parse(fmt.Sprintf("https://h%d.example/", i)); err != nil {
			t.Fatal(err)
		}
	}
	mu.RLock()
	n := len(cache)
	mu.RUnlock()
	if n > maxEntries {
		t.Errorf("cache holds %d URLs, more than %d", n, maxEntries)
	}
}
