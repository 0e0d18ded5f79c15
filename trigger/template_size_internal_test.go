package trigger

import (
	"bytes"
	"encoding/json"
	"math/rand/v2"
	"net/url"
	"testing"
)

// TestSizeBoundsAreExact: the sizes the render bound counts for strings
// are those encoding/json (without HTML escaping) and url.QueryEscape
// write, so that a body under MaxRenderedBody is never refused.
func TestSizeBoundsAreExact(t *testing.T) {
	t.Parallel()
	r := rand.New(rand.NewPCG(3, 4))
	pieces := []string{"a", "Z", "0", " ", "\"", "\\", "\n", "\r", "\t", "\x00", "\x01", "\x1f", "\x7f", "<", ">", "&",
		"é", "日", "😀", "\u2028", "\u2029", "\xff", "\xe6\x97", "-", "_", ".", "~", "%", "+", "="}
	for range 2000 {
		var b bytes.Buffer
		for range r.IntN(12) {
			b.WriteString(pieces[r.IntN(len(pieces))])
		}
		s := b.String()
		var out bytes.Buffer
		enc := json.NewEncoder(&out)
		enc.SetEscapeHTML(false)
		if err := enc.Encode(s); err != nil {
			t.Fatal(err)
		}
		if got, want := jsonStringSize(s), out.Len()-1; got != want {
			t.Fatalf("jsonStringSize(%q) = %d, encoding/json writes %d", s, got, want)
		}
		if got, want := formEscapedSize(s), len(url.QueryEscape(s)); got != want {
			t.Fatalf("formEscapedSize(%q) = %d, url.QueryEscape writes %d", s, got, want)
		}
	}
}
