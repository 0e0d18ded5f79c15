package executionlog_test

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/tickethooks/tickethooks/executionlog"
)

func TestNormalize(t *testing.T) {
	t.Parallel()
	zone := time.FixedZone("BRT", -3*60*60)
	from := time.Date(2026, time.March, 1, 9, 0, 0, 0, zone)
	to := from.Add(time.Hour)
	cursor := executionlog.EncodeCursor(from, "01JPAX")
	long := strings.Repeat("x", 257)

	tests := []struct {
		name    string
		in      executionlog.Filter
		want    executionlog.Filter
		wantErr string // empty: no error
	}{
		{"Zero", executionlog.Filter{}, executionlog.Filter{Limit: executionlog.DefaultLimit}, ""},
		{"KeepsLimit", executionlog.Filter{Limit: 7}, executionlog.Filter{Limit: 7}, ""},
		{"MaxLimit", executionlog.Filter{Limit: executionlog.MaxLimit}, executionlog.Filter{Limit: executionlog.MaxLimit}, ""},
		{"TimesToUTC", executionlog.Filter{From: from, To: to},
			executionlog.Filter{From: from.UTC(), To: to.UTC(), Limit: executionlog.DefaultLimit}, ""},
		{"FromEqualsTo", executionlog.Filter{From: from, To: from},
			executionlog.Filter{From: from.UTC(), To: from.UTC(), Limit: executionlog.DefaultLimit}, ""},
		{"AllFields", executionlog.Filter{From: from.UTC(), TicketID: 3, TriggerID: "t", Status: executionlog.StatusFailed,
			ErrorText: strings.Repeat("x", 256), Limit: 1, Cursor: cursor},
			executionlog.Filter{From: from.UTC(), TicketID: 3, TriggerID: "t", Status: executionlog.StatusFailed,
				ErrorText: strings.Repeat("x", 256), Limit: 1, Cursor: cursor}, ""},
		{"LimitAboveMax", executionlog.Filter{Limit: 5000}, executionlog.Filter{},
			"executionlog: invalid filter: limit 5000 is above the maximum 1000"},
		{"NegativeLimit", executionlog.Filter{Limit: -1}, executionlog.Filter{},
			"executionlog: invalid filter: limit -1 is negative"},
		{"UnknownStatus", executionlog.Filter{Status: "done"}, executionlog.Filter{},
			`executionlog: invalid filter: unknown status "done"`},
		{"ToBeforeFrom", executionlog.Filter{From: to, To: from}, executionlog.Filter{},
			"executionlog: invalid filter: to 2026-03-01T12:00:00Z is before from 2026-03-01T13:00:00Z"},
		{"NegativeTicketID", executionlog.Filter{TicketID: -4}, executionlog.Filter{},
			"executionlog: invalid filter: ticket id -4 is negative"},
		{"LongTriggerID", executionlog.Filter{TriggerID: long}, executionlog.Filter{},
			"executionlog: invalid filter: trigger id is 257 bytes, above the maximum 256"},
		{"LongErrorText", executionlog.Filter{ErrorText: long}, executionlog.Filter{},
			"executionlog: invalid filter: error text is 257 bytes, above the maximum 256"},
		{"BadCursor", executionlog.Filter{Cursor: "%%%"}, executionlog.Filter{},
			"executionlog: invalid filter: malformed cursor"},
		{"TriggerIDNUL", executionlog.Filter{TriggerID: "\x00"}, executionlog.Filter{},
			`executionlog: invalid filter: trigger id "\x00" is not UTF-8 text without NUL`},
		{"TriggerIDNotUTF8", executionlog.Filter{TriggerID: "\xff\xfe"}, executionlog.Filter{},
			`executionlog: invalid filter: trigger id "\xff\xfe" is not UTF-8 text without NUL`},
		{"CursorIDNotUTF8", executionlog.Filter{Cursor: "MS4wLv8"}, executionlog.Filter{},
			"executionlog: invalid filter: malformed cursor"},
		{"CursorIDNUL", executionlog.Filter{Cursor: "MS4wLmEAYg"}, executionlog.Filter{},
			"executionlog: invalid filter: malformed cursor"},
		// Logs match any error text, NUL and invalid UTF-8 included.
		{"ErrorTextAnyBytes", executionlog.Filter{ErrorText: "a\x00\xff"},
			executionlog.Filter{ErrorText: "a\x00\xff", Limit: executionlog.DefaultLimit}, ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			got, err := tc.in.Normalize()
			if tc.wantErr != "" {
				if !errors.Is(err, executionlog.ErrInvalidFilter) || err.Error() != tc.wantErr {
					t.Errorf("Normalize() error = %v, want %q wrapping ErrInvalidFilter", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatalf("Normalize() error = %v", err)
			}
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("Normalize() mismatch (-want +got):\n%s", diff)
			}
			for name, tm := range map[string]time.Time{"From": got.From, "To": got.To} {
				if !tm.IsZero() && tm.Location() != time.UTC {
					t.Errorf("Normalize() %s = %v, want UTC", name, tm)
				}
			}
		})
	}
}

func TestCursorRoundTrip(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		at   time.Time
		id   string
	}{
		{"ULID", time.Date(2026, time.March, 14, 15, 9, 26, 535897000, time.UTC), executionlog.NewID(time.Now())},
		{"Nanoseconds", time.Date(2026, time.March, 14, 15, 9, 26, 1, time.UTC), "a"},
		{"LocalTime", time.Date(2026, time.March, 14, 15, 9, 26, 0, time.FixedZone("X", 3600)), "id"},
		{"BeforeEpoch", time.Date(1901, time.January, 1, 0, 0, 0, 999, time.UTC), "old"},
		{"ZeroTime", time.Time{}, "zero"},
		{"IDWithDots", time.Unix(5, 0), "a.b.c"},
		{"UnicodeID", time.Unix(5, 0), "entrada-ção"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			cursor := executionlog.EncodeCursor(tc.at, tc.id)
			if strings.ContainsAny(cursor, "+/=") {
				t.Errorf("cursor %q is not URL-safe", cursor)
			}
			at, id, err := executionlog.DecodeCursor(cursor)
			if err != nil {
				t.Fatalf("DecodeCursor(%q): %v", cursor, err)
			}
			if !at.Equal(tc.at) || at.Location() != time.UTC || id != tc.id {
				t.Errorf("DecodeCursor = %v, %q; want %v in UTC, %q", at, id, tc.at, tc.id)
			}
		})
	}
}

func TestDecodeCursorGarbage(t *testing.T) {
	t.Parallel()
	b64 := encode
	for _, cursor := range []string{
		"",
		"!!!",
		"a",
		strings.Repeat("A", 600),
		b64("garbage"),
		b64("1.2"),
		b64("1.2."),
		b64("x.2.id"),
		b64("1.x.id"),
		b64("1.-1.id"),
		b64("1.1000000000.id"),
		b64("99999999999999999999.0.id"),
		b64("1.0.\xff"),
		b64("1.0.a\x00b"),
		b64("1.0." + strings.Repeat("a", executionlog.MaxIDLength+1)),
	} {
		if _, _, err := executionlog.DecodeCursor(cursor); !errors.Is(err, executionlog.ErrInvalidFilter) {
			t.Errorf("DecodeCursor(%q) error = %v, want ErrInvalidFilter", cursor, err)
		}
	}
}

func TestMatchesError(t *testing.T) {
	t.Parallel()
	attempts := []executionlog.Attempt{{Error: "Connection Refused"}, {StatusCode: 503, Error: "HTTP 503"}, {StatusCode: 200}}
	tests := []struct {
		name     string
		attempts []executionlog.Attempt
		text     string
		want     bool
	}{
		{"EmptyTextMatchesAll", attempts, "", true},
		{"EmptyTextMatchesNoAttempts", nil, "", true},
		{"NoAttempts", nil, "x", false},
		{"CaseInsensitive", attempts, "connection refused", true},
		{"LaterAttempt", attempts, "http 5", true},
		{"NoMatch", attempts, "timeout", false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			if got := executionlog.MatchesError(tc.attempts, tc.text); got != tc.want {
				t.Errorf("MatchesError(%q) = %t, want %t", tc.text, got, tc.want)
			}
		})
	}
}
