package executionlog

import (
	"encoding/base64"
	"fmt"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/tickethooks/tickethooks/internal/textcut"
)

// Length limits of Filter fields, in bytes.
const (
	// MaxFilterText is the longest TriggerID and ErrorText.
	MaxFilterText = 256
	// MaxCursorLength is the longest Cursor.
	MaxCursorLength = 512
)

// Normalize checks f and returns it with defaults filled in: a zero Limit
// becomes DefaultLimit, and non-zero From and To are converted to UTC.
//
// It returns an error wrapping ErrInvalidFilter, naming the field, when
// Limit is negative or above MaxLimit, Status is not a defined state, To is
// before From (both set), TicketID is negative, ErrorText or TriggerID is
// longer than MaxFilterText bytes, TriggerID is not UTF-8 text without NUL
// (no entry can hold such a trigger id in every log), or Cursor is not
// one that EncodeCursor makes for an id that CheckID allows, or Tenant is
// one that ValidateTenant refuses (the error then wraps ErrInvalidTenant
// too). With AllTenants set, Normalize clears Tenant. ErrorText may
// hold any bytes: logs match it as the memory log does. Log
// implementations call Normalize at the start of Query.
func (f Filter) Normalize() (Filter, error) {
	switch {
	case f.Limit < 0:
		return f, fmt.Errorf("%w: limit %d is negative", ErrInvalidFilter, f.Limit)
	case f.Limit > MaxLimit:
		return f, fmt.Errorf("%w: limit %d is above the maximum %d", ErrInvalidFilter, f.Limit, MaxLimit)
	case f.Limit == 0:
		f.Limit = DefaultLimit
	}
	if f.Status != "" && !f.Status.Valid() {
		return f, fmt.Errorf("%w: unknown status %q", ErrInvalidFilter, textcut.Cut(string(f.Status), 64))
	}
	if !f.From.IsZero() && !f.To.IsZero() && f.To.Before(f.From) {
		return f, fmt.Errorf("%w: to %s is before from %s", ErrInvalidFilter,
			f.To.UTC().Format(time.RFC3339Nano), f.From.UTC().Format(time.RFC3339Nano))
	}
	if !f.From.IsZero() {
		f.From = f.From.UTC()
	}
	if !f.To.IsZero() {
		f.To = f.To.UTC()
	}
	if f.TicketID < 0 {
		return f, fmt.Errorf("%w: ticket id %d is negative", ErrInvalidFilter, f.TicketID)
	}
	if len(f.TriggerID) > MaxFilterText {
		return f, fmt.Errorf("%w: trigger id is %d bytes, above the maximum %d", ErrInvalidFilter, len(f.TriggerID), MaxFilterText)
	}
	if !utf8.ValidString(f.TriggerID) || strings.IndexByte(f.TriggerID, 0) >= 0 {
		return f, fmt.Errorf("%w: trigger id %q is not UTF-8 text without NUL", ErrInvalidFilter, textcut.Cut(f.TriggerID, 64))
	}
	if len(f.ErrorText) > MaxFilterText {
		return f, fmt.Errorf("%w: error text is %d bytes, above the maximum %d", ErrInvalidFilter, len(f.ErrorText), MaxFilterText)
	}
	if err := ValidateTenant(f.Tenant); err != nil && !f.AllTenants {
		return f, fmt.Errorf("%w: tenant: %w", ErrInvalidFilter, err)
	}
	if f.AllTenants {
		f.Tenant = ""
	}
	if f.Cursor != "" {
		if _, _, err := DecodeCursor(f.Cursor); err != nil {
			return f, err
		}
	}
	return f, nil
}

// EncodeCursor returns the opaque cursor for the position (createdAt, id):
// the position of the last entry of a page. The next page holds the entries
// strictly after it in (CreatedAt desc, ID desc) order, that is strictly
// older, or as old with a smaller ID. The cursor is URL-safe.
func EncodeCursor(createdAt time.Time, id string) string {
	createdAt = createdAt.UTC()
	text := strconv.FormatInt(createdAt.Unix(), 10) + "." +
		strconv.Itoa(createdAt.Nanosecond()) + "." + id
	return base64.RawURLEncoding.EncodeToString([]byte(text))
}

// DecodeCursor returns the position a cursor made by EncodeCursor holds,
// with createdAt in UTC. It returns an error wrapping ErrInvalidFilter for
// any other string, and for a cursor whose id CheckID refuses: no log
// holds such an id, and PostgreSQL cannot even compare one.
func DecodeCursor(cursor string) (createdAt time.Time, id string, err error) {
	invalid := fmt.Errorf("%w: malformed cursor", ErrInvalidFilter)
	if cursor == "" || len(cursor) > MaxCursorLength {
		return time.Time{}, "", invalid
	}
	raw, err := base64.RawURLEncoding.DecodeString(cursor)
	if err != nil {
		return time.Time{}, "", invalid
	}
	parts := strings.SplitN(string(raw), ".", 3)
	if len(parts) != 3 || CheckID(parts[2]) != nil {
		return time.Time{}, "", invalid
	}
	sec, err := strconv.ParseInt(parts[0], 10, 64)
	if err != nil {
		return time.Time{}, "", invalid
	}
	nsec, err := strconv.ParseInt(parts[1], 10, 64)
	if err != nil || nsec < 0 || nsec >= int64(time.Second) {
		return time.Time{}, "", invalid
	}
	return time.Unix(sec, nsec).UTC(), parts[2], nil
}

// MatchesError reports whether the Error of any of the attempts contains
// text, compared case-insensitively. An empty text matches every entry,
// even one without attempts.
func MatchesError(attempts []Attempt, text string) bool {
	if text == "" {
		return true
	}
	text = strings.ToLower(text)
	for _, a := range attempts {
		if strings.Contains(strings.ToLower(a.Error), text) {
			return true
		}
	}
	return false
}
