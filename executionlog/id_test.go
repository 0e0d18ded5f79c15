package executionlog_test

import (
	"encoding/base64"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/tickethooks/tickethooks/executionlog"
)

// encode returns s in the encoding cursors use.
func encode(s string) string { return base64.RawURLEncoding.EncodeToString([]byte(s)) }

func TestNewIDFormat(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		at   time.Time
		want string // expected timestamp prefix, 10 characters
	}{
		{"Epoch", time.Unix(0, 0), "0000000000"},
		{"BeforeEpoch", time.Date(1900, 1, 1, 0, 0, 0, 0, time.UTC), "0000000000"},
		{"OneMillisecond", time.UnixMilli(1), "0000000001"},
		{"ULIDSpecExample", time.UnixMilli(1469918176385), "01ARYZ6S41"},
		{"Max", time.UnixMilli(1<<48 - 1), "7ZZZZZZZZZ"},
		{"BeyondMax", time.Date(20000, 1, 1, 0, 0, 0, 0, time.UTC), "7ZZZZZZZZZ"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			id := executionlog.NewID(tc.at)
			if len(id) != 26 || strings.Trim(id, "0123456789ABCDEFGHJKMNPQRSTVWXYZ") != "" {
				t.Fatalf("NewID = %q, want 26 Crockford base32 characters", id)
			}
			if got := id[:10]; got != tc.want {
				t.Errorf("NewID timestamp part = %q, want %q", got, tc.want)
			}
		})
	}
}

// TestNewIDOrdered does not run in parallel: NewID keeps sequences for 16
// milliseconds, and tests running at the same time could use more.
func TestNewIDOrdered(t *testing.T) {
	// Many ids in one millisecond, then in later ones: each sorts after
	// the one before.
	at := time.Date(2100, time.January, 1, 0, 0, 0, 0, time.UTC)
	var ids []string
	for ms := range 3 {
		for range 10_000 {
			ids = append(ids, executionlog.NewID(at.Add(time.Duration(ms)*time.Millisecond)))
		}
	}
	for i := 1; i < len(ids); i++ {
		if ids[i] <= ids[i-1] {
			t.Fatalf("id %d %q does not sort after id %d %q", i, ids[i], i-1, ids[i-1])
		}
	}
	// An earlier time still gives an earlier, unique id.
	if old := executionlog.NewID(at.Add(-time.Second)); old >= ids[0] {
		t.Errorf("id for an earlier time %q sorts after %q", old, ids[0])
	}
}

// TestNewIDInterleavedClocks does not run in parallel, like
// TestNewIDOrdered.
func TestNewIDInterleavedClocks(t *testing.T) {
	// Two callers with clocks a day apart take turns; each one's ids stay
	// ordered.
	a := time.Date(2101, time.January, 1, 0, 0, 0, 0, time.UTC)
	b := a.Add(24 * time.Hour)
	var fromA, fromB []string
	for range 1000 {
		fromA = append(fromA, executionlog.NewID(a))
		fromB = append(fromB, executionlog.NewID(b))
	}
	for name, ids := range map[string][]string{"a": fromA, "b": fromB} {
		if !slices.IsSorted(ids) || len(slices.Compact(slices.Clone(ids))) != len(ids) {
			t.Errorf("ids of caller %s are not strictly increasing", name)
		}
	}
}

func TestNewIDUniqueConcurrent(t *testing.T) {
	t.Parallel()
	at := time.Date(2026, time.March, 14, 12, 0, 0, 0, time.UTC)
	const goroutines, each = 4, 2_000
	results := make([][]string, goroutines)
	var wg sync.WaitGroup
	for g := range goroutines {
		wg.Go(func() {
			for range each {
				results[g] = append(results[g], executionlog.NewID(at))
			}
		})
	}
	wg.Wait()
	all := slices.Concat(results...)
	slices.Sort(all)
	if n := len(slices.Compact(all)); n != goroutines*each {
		t.Errorf("%d unique ids, want %d", n, goroutines*each)
	}
}
