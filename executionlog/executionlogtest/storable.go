package executionlogtest

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/tickethooks/tickethooks/executionlog"
	"github.com/tickethooks/tickethooks/internal/textcut"
)

// The largest values of the entry fields that a trigger definition fills,
// as package trigger caps them when a trigger is loaded. Every Log must
// store entries that carry them and return them unchanged; the suite's
// Storable tests write them. They equal trigger.MaxIDLength,
// trigger.MaxNameBytes, trigger.MaxURLBytes, trigger.MaxHeaders,
// trigger.MaxHeaderNameBytes, trigger.MaxHeaderValueBytes and
// trigger.MaxHeaderBytes. This package does not import package trigger (a
// log does not depend on triggers, and a user's Log should not need them
// to run the suite); a test of package tickethooks checks that the numbers
// agree.
const (
	MaxTriggerIDBytes   = 255
	MaxTriggerNameBytes = 1000
	MaxURLBytes         = 8192
	MaxHeaders          = 50
	MaxHeaderNameBytes  = 256
	MaxHeaderValueBytes = 8192
	MaxHeaderBytes      = 32768
)

// What the engine adds to an action's headers in the log.
const (
	// EngineHeaders is how many headers the engine adds to an action's
	// own: Content-Type, User-Agent (unless the action sets it) and
	// Webhook-Id.
	EngineHeaders = 3
	// MaxLoggedHeaderBytes caps the names and values of an entry's
	// headers other than Content-Type and Webhook-Id: an action's
	// MaxHeaderBytes of headers grow in the log by "[REDACTED]" in place
	// of each secret value (at most 10 bytes for each of MaxHeaders) and
	// by the engine's User-Agent.
	MaxLoggedHeaderBytes = MaxHeaderBytes + 1024
)

var storableTests = []test{
	{"AtTheCaps", testStorableAtTheCaps},
	{"NastyText", testStorableNastyText},
	{"BatchAtTheCaps", testStorableBatch},
	{"TriggerFilterExact", testStorableTriggerFilter},
}

// nasty is text that trigger definitions may hold and that is hard to
// store: every Unicode plane up to the highest code point (4-byte runes
// included), noncharacters, a byte order mark, combining marks,
// right-to-left and isolate marks, joiners, line and paragraph
// separators, quotes, backslashes, an escaped NUL spelt out, SQL comment
// and LIKE metacharacters, and markup. It holds no control character, so
// it fits names, ids and header values alike.
const nasty = "Aé e\u0301 a\u0308\u0323 \u4e2d\u6587 \U0001F600 \U0001F469\u200d\U0001F4BB " +
	"\U00020000\U0002A6D6 \U00030000 \U000E0001\U000E0041 \U000F0000 \U0010FFFD\U0010FFFF \ufffd\uffff\ufeff " +
	"\u200f\u200e\u202e\u2066abc\u2069 \u00a0\u2028\u2029 '\"`\\\\' \\u0000 \\x00 %_%% ;--/* */ ' OR '1'='1 " +
	"<script>alert(1)</script>&amp; {\"}:[ ) "

// fill returns n bytes of nasty text: nasty repeated, cut on a rune
// boundary, padded with "x".
func fill(n int) string {
	s := strings.Repeat(nasty, n/len(nasty)+1)
	s = s[:textcut.Boundary(s, n)]
	return s + strings.Repeat("x", n-len(s))
}

// nastyURL returns a URL of n bytes (at least 400) that loading accepts:
// a host of non-ASCII letters, percent-encoded and raw 4-byte runes in
// the path, and quotes, backslashes, "%" and "_" in the query.
func nastyURL(n int) string {
	u := "https://h\u00fcoks.example.com/services/" + strings.Repeat("%F0%9F%98%80", 10) + "/\U0001F600\u00fc\u202e/" +
		"?q=100%&like=a_b'\"\\&e=\u00e9e\u0301&x="
	return u + strings.Repeat("z", n-len(u))
}

// cappedHeaders returns the headers of an entry at every cap: MaxHeaders
// headers of the action (one with a name of MaxHeaderNameBytes, one with a
// value of MaxHeaderValueBytes) and the EngineHeaders, with
// MaxLoggedHeaderBytes of them besides Content-Type and Webhook-Id. value
// makes the action's header values.
func cappedHeaders(value func(n int) string) map[string]string {
	h := make(map[string]string, MaxHeaders+EngineHeaders)
	h["User-Agent"] = "tickethooks/1.0 (+https://github.com/tickethooks/tickethooks)"
	budget := MaxLoggedHeaderBytes - len("User-Agent") - len(h["User-Agent"])
	for i := range MaxHeaders {
		name := fmt.Sprintf("X-%02d-%%_'`|~!#$&*+.^", i)
		switch i {
		case 0:
			name = strings.Repeat("N", MaxHeaderNameBytes)
		case 1:
			name = "X-Big"
		}
		n := min(budget/(MaxHeaders-i), MaxHeaderValueBytes+len(name)) - len(name)
		if i == 1 {
			n = MaxHeaderValueBytes
		}
		h[name] = value(n)
		budget -= len(name) + n
	}
	h["Content-Type"] = "application/json"
	h["Webhook-Id"] = executionlog.NewID(base)
	return h
}

// storableEntry returns an entry whose trigger id, name, URL and headers
// are at the caps and full of nasty text.
func storableEntry(createdAt time.Time, ticketID int) *executionlog.Entry {
	e := newEntry(createdAt, ticketID)
	e.TriggerID = fill(MaxTriggerIDBytes)
	e.TriggerName = fill(MaxTriggerNameBytes)
	e.URL = nastyURL(MaxURLBytes)
	e.RequestHeaders = cappedHeaders(func(n int) string {
		if n == 0 {
			return ""
		}
		return "\t" + fill(n-1) // a tab is the one control character a value may hold
	})
	e.RequestBody = fmt.Appendf(nil, `{"Id":%d,"Subject":%q}`, ticketID, nasty)
	return e
}

// checkRoundTrip checks that Get, Query and a Query by trigger id return
// want unchanged.
func checkRoundTrip(t *testing.T, l executionlog.Log, want ...executionlog.Entry) {
	t.Helper()
	for _, w := range want {
		if diff := cmp.Diff(w, mustGet(t, l, w.ID), entryOpts); diff != "" {
			t.Errorf("Get(%q) mismatch (-want +got):\n%s", w.ID, diff)
		}
		page := mustQuery(t, l, executionlog.Filter{TriggerID: w.TriggerID, TicketID: w.TicketID})
		if diff := cmp.Diff([]executionlog.Entry{w}, page.Entries, entryOpts); diff != "" {
			t.Errorf("Query by trigger %q and ticket %d mismatch (-want +got):\n%s", w.TriggerID, w.TicketID, diff)
		}
	}
	page := mustQuery(t, l, executionlog.Filter{Limit: executionlog.MaxLimit})
	got := make(map[string]executionlog.Entry, len(page.Entries))
	for _, e := range page.Entries {
		got[e.ID] = e
	}
	for _, w := range want {
		if diff := cmp.Diff(w, got[w.ID], entryOpts); diff != "" {
			t.Errorf("Query entry %q mismatch (-want +got):\n%s", w.ID, diff)
		}
	}
}

func testStorableAtTheCaps(t *testing.T, l executionlog.Log) {
	e := storableEntry(at(0), 1)
	want := clone(e)
	mustAdd(t, l, e)
	checkRoundTrip(t, l, want)
}

// testStorableNastyText stores one entry per piece of nasty text, in each
// field a trigger definition fills.
func testStorableNastyText(t *testing.T, l executionlog.Log) {
	pieces := strings.Fields(nasty)
	pieces = append(pieces, nasty, " leading and trailing spaces  ", "\U0010FFFF", "\u0301", "'", "\\", "%", "_")
	var entries []*executionlog.Entry
	var want []executionlog.Entry
	for i, p := range pieces {
		e := newEntry(at(time.Duration(i)*time.Second), 1000+i)
		e.TriggerID = p
		e.TriggerName = p
		e.URL = "https://example.com/" + p
		e.RequestHeaders = map[string]string{"X-Nasty": p, "Content-Type": "application/json"}
		entries = append(entries, e)
		want = append(want, clone(e))
	}
	mustAdd(t, l, entries...)
	checkRoundTrip(t, l, want...)
}

// testStorableBatch adds, in one call, entries at the caps whose header
// values take the most room once encoded (a "<" is six bytes of JSON), as
// a change that fires many triggers at once does.
func testStorableBatch(t *testing.T, l executionlog.Log) {
	const n = 40
	var entries []*executionlog.Entry
	var want []executionlog.Entry
	for i := range n {
		e := storableEntry(at(time.Duration(i)*time.Millisecond), 2000+i)
		e.RequestHeaders = cappedHeaders(func(n int) string { return strings.Repeat("<", n) })
		entries = append(entries, e)
		want = append(want, clone(e))
	}
	mustAdd(t, l, entries...)
	checkRoundTrip(t, l, want...)
}

// testStorableTriggerFilter checks that a Query by trigger id matches the
// id exactly: no LIKE wildcards, no case folding, no Unicode
// normalisation, no trailing-space padding.
func testStorableTriggerFilter(t *testing.T, l executionlog.Log) {
	triggerIDs := []string{"a_b", "a%b", "aXb", "a\\b", "A_B", "a_b ", "a_b  ", "ab", "\u00e9", "e\u0301", "'a_b'", "a_b%"}
	var entries []*executionlog.Entry
	for i, id := range triggerIDs {
		e := newEntry(at(time.Duration(i)*time.Second), 1)
		e.TriggerID = id
		entries = append(entries, e)
	}
	mustAdd(t, l, entries...)
	for i, id := range triggerIDs {
		page := mustQuery(t, l, executionlog.Filter{TriggerID: id})
		if diff := cmp.Diff([]string{entries[i].ID}, ids(page.Entries)); diff != "" {
			t.Errorf("Query(TriggerID %q) ids mismatch (-want +got):\n%s", id, diff)
		}
	}
}
