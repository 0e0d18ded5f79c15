package sqllog

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/tickethooks/tickethooks/executionlog"
)

// searchPlan is an entry of the error search test: the errors of its
// attempts.
type searchPlan []string

func testErrorSearch(t *testing.T, b backend) {
	tl := newTestLog(t, b)
	mem := executionlog.NewMemory(executionlog.MemoryOptions{})
	plans := []searchPlan{
		{"Falha: CONEXÃO recusada"},
		{"line one\nline two"},
		{"a\x00b"},
		{"bad \xff byte"},
		{"HTTP 503", "timeout"},
		{"100% of quota_used"},
	}
	// Entries that match "p\nq" only through the post-filter, mixed with
	// entries whose attempts hold p and q apart.
	for range 5 {
		plans = append(plans, searchPlan{"p\nq"}, searchPlan{"p", "q"})
	}
	ctx := context.Background()
	for i, p := range plans {
		e := newEntry(at(time.Duration(i)*time.Second), i+1)
		for _, l := range []executionlog.Log{tl, mem} {
			c := *e
			if err := l.Add(ctx, []*executionlog.Entry{&c}); err != nil {
				t.Fatalf("Add: %v", err)
			}
			for n, errText := range p {
				finish(t, l, at(time.Duration(n)*time.Minute), executionlog.StatusPending, errText, &c)
			}
		}
	}

	for _, needle := range []string{
		"conexão", "CONEXÃO RECUSADA", "one\nline", "one", "two\nline", "a\x00b", "ab", "\x00", "\xff", "\uFFFD",
		"503\ntimeout", "503", "100%", "quota_u", "%", "_", "!", `\`, "p\nq", "q\np", "\n",
	} {
		for _, limit := range []int{2, executionlog.MaxLimit} {
			t.Run(fmt.Sprintf("%q/limit%d", needle, limit), func(t *testing.T) {
				want := queryAll(t, mem, executionlog.Filter{ErrorText: needle, Limit: limit})
				got := queryAll(t, tl, executionlog.Filter{ErrorText: needle, Limit: limit})
				if diff := cmp.Diff(want, got); diff != "" {
					t.Errorf("Query(ErrorText %q) ids mismatch with the memory log (-want +got):\n%s", needle, diff)
				}
			})
		}
	}
}

func TestSearchTextAndEscape(t *testing.T) {
	t.Parallel()
	tests := []struct{ in, search, escaped string }{
		{"HTTP 503", "http 503", "http 503"},
		{"CONEXÃO", "conexão", "conexão"},
		{"a\x00b", "a\nb", "a\nb"},
		{"100%_!", "100%_!", "100!%!_!!"},
		{"bad \xff", "bad \uFFFD", "bad \uFFFD"},
	}
	for _, tc := range tests {
		s := searchText(tc.in)
		if diff := cmp.Diff(tc.search, s); diff != "" {
			t.Errorf("searchText(%q) mismatch (-want +got):\n%s", tc.in, diff)
		}
		if diff := cmp.Diff(tc.escaped, escapeLike(s)); diff != "" {
			t.Errorf("escapeLike(%q) mismatch (-want +got):\n%s", s, diff)
		}
	}
}
