package sqllog

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/tickethooks/tickethooks/executionlog"
)

// testBadInput checks that ids and filters no entry can hold are answered
// with the log's own errors, never a database's: PostgreSQL fails on NUL
// and invalid UTF-8 in text.
func testBadInput(t *testing.T, b backend) {
	tl := newTestLog(t, b)
	ctx := context.Background()
	if err := tl.Add(ctx, []*executionlog.Entry{newEntry(at(0), 1)}); err != nil {
		t.Fatalf("Add: %v", err)
	}
	kind := func(err error) string {
		switch {
		case err == nil:
			return "nil"
		case errors.Is(err, executionlog.ErrNotFound):
			return "ErrNotFound"
		case errors.Is(err, executionlog.ErrInvalidFilter):
			return "ErrInvalidFilter"
		}
		return "other: " + err.Error()
	}
	got, want := map[string]string{}, map[string]string{}
	for name, id := range map[string]string{
		"NUL": "\x00", "InnerNUL": "a\x00b", "InvalidUTF8": "\xff\xfe", "TooLong": strings.Repeat("a", executionlog.MaxIDLength+1),
	} {
		_, err := tl.Get(ctx, executionlog.Scope{}, id)
		got["Get "+name], want["Get "+name] = kind(err), "ErrNotFound"
		err = tl.Redeliver(ctx, executionlog.Scope{}, id, at(time.Minute))
		got["Redeliver "+name], want["Redeliver "+name] = kind(err), "ErrNotFound"
		err = tl.Update(ctx, executionlog.Update{ID: id, Owner: "a", Status: executionlog.StatusFailed, Now: at(time.Minute)})
		got["Update "+name], want["Update "+name] = kind(err), "ErrNotFound"
		err = tl.Add(ctx, []*executionlog.Entry{{ID: id, Status: executionlog.StatusPending, CreatedAt: at(0)}})
		switch {
		case err == nil:
			err = errors.New("added")
		case strings.HasPrefix(err.Error(), "sqllog: add entry 0: id "):
			err = nil // refused by ValidateNew, before the database
		}
		got["Add "+name], want["Add "+name] = kind(err), "nil"
	}
	for name, f := range map[string]executionlog.Filter{
		"TriggerNUL":     {TriggerID: "\x00"},
		"TriggerInvalid": {TriggerID: "\xff\xfe"},
		"CursorInvalid":  {Cursor: "MS4wLv8"},
		"CursorNUL":      {Cursor: "MS4wLmEAYg"},
	} {
		_, err := tl.Query(ctx, f)
		got["Query "+name], want["Query "+name] = kind(err), "ErrInvalidFilter"
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("errors for bad input mismatch (-want +got):\n%s", diff)
	}
}
