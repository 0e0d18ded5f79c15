package executionlog_test

import (
	"context"
	"encoding/base64"
	"errors"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

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

func TestValidID(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		id   string
		want bool
	}{
		{"Epoch", executionlog.NewID(time.Unix(0, 0)), true},
		{"Now", executionlog.NewID(time.Now()), true},
		{"Max", executionlog.NewID(time.UnixMilli(1<<48 - 1)), true},
		{"BeforeEpoch", executionlog.NewID(time.Date(1900, 1, 1, 0, 0, 0, 0, time.UTC)), true},
		{"BeyondMax", executionlog.NewID(time.Date(20000, 1, 1, 0, 0, 0, 0, time.UTC)), true},
		{"Fixed", "01ARYZ6S41TSV4RRFFQ69G5FAV", true},
		{"Empty", "", false},
		{"Short", "e1", false},
		{"OneShort", "01ARYZ6S41TSV4RRFFQ69G5FA", false},
		{"OneLong", "01ARYZ6S41TSV4RRFFQ69G5FAVV", false},
		{"Lowercase", "01aryz6s41tsv4rrffq69g5fav", false},
		{"FirstAbove7", "81ARYZ6S41TSV4RRFFQ69G5FAV", false},
		{"LetterI", "01ARYZ6S41TSV4RRFFQ69G5FAI", false},
		{"LetterL", "01ARYZ6S41TSV4RRFFQ69G5FAL", false},
		{"LetterO", "01ARYZ6S41TSV4RRFFQ69G5FAO", false},
		{"LetterU", "01ARYZ6S41TSV4RRFFQ69G5FAU", false},
		{"Scheme", "javascript:alert(1)///////", false},
		{"NetworkPath", "//evil.example/AAAAAAAAAAA", false},
		{"NUL", "01ARYZ6S41TSV4RRFFQ69G5FA\x00", false},
		{"MultiByte", "01ARYZ6S41TSV4RRFFQ69G5F\u00c1", false},
	}
	for _, tc := range tests {
		if got := executionlog.ValidID(tc.id); got != tc.want {
			t.Errorf("%s: ValidID(%q) = %t, want %t", tc.name, tc.id, got, tc.want)
		}
	}
}

func TestCheckID(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		id      string
		wantErr string // empty: allowed
	}{
		{"NewID", "01ARYZ6S41TSV4RRFFQ69G5FAV", ""},
		{"Short", "e1", ""},
		{"Unicode", "entrada-ção", ""},
		{"MaxLength", strings.Repeat("a", executionlog.MaxIDLength), ""},
		{"Empty", "", "id is empty"},
		{"TooLong", strings.Repeat("a", executionlog.MaxIDLength+1), "id is 256 bytes long; the limit is 255"},
		{"NotUTF8", "\xff\xfe", `id "\xff\xfe" is not valid UTF-8`},
		{"NUL", "a\x00b", `id "a\x00b" holds a NUL byte`},
	}
	for _, tc := range tests {
		err := executionlog.CheckID(tc.id)
		got := ""
		if err != nil {
			got = err.Error()
		}
		if diff := cmp.Diff(tc.wantErr, got); diff != "" {
			t.Errorf("%s: CheckID error mismatch (-want +got):\n%s", tc.name, diff)
		}
	}
}

// Add refuses ids that CheckID refuses, whatever their other fields.
func TestMemoryAddRefusesUnstorableIDs(t *testing.T) {
	t.Parallel()
	log := executionlog.NewMemory(executionlog.MemoryOptions{})
	for _, id := range []string{"\x00", "a\x00b", "\xff", strings.Repeat("a", executionlog.MaxIDLength+1)} {
		e := &executionlog.Entry{ID: id, Status: executionlog.StatusPending, CreatedAt: time.Unix(1, 0)}
		if err := log.Add(context.Background(), []*executionlog.Entry{e}); err == nil {
			t.Errorf("Add(id %q) = nil, want an error", id)
		}
		if _, err := log.Get(context.Background(), executionlog.Scope{}, id); !errors.Is(err, executionlog.ErrNotFound) {
			t.Errorf("Get(%q) error = %v, want ErrNotFound", id, err)
		}
	}
}
