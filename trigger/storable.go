package trigger

import (
	"errors"
	"fmt"
	"strings"
	"unicode"
	"unicode/utf8"
)

// The caps on what a definition may hold. Every value a webhook action
// writes to the Webhook Execution Log (the trigger's id and name, the URL,
// the headers) is checked when the trigger is loaded, so that a trigger
// that loads can always be logged: the values must be valid UTF-8 without
// NUL (PostgreSQL refuses both in text), and they must fit the columns of
// every log. The tightest are MySQL's and MariaDB's: the trigger id is a
// VARBINARY(255), the name and the URL are TEXT (65,535 bytes), and a
// statement must fit max_allowed_packet (16 MiB by default in MariaDB, and
// as little as 4 MiB in older MySQL setups) with every entry of a batch in
// it. The caps are well inside those, and inside what receivers and
// proxies accept in a request line and its headers.
const (
	// MaxNameBytes is the longest trigger name, in bytes: a label for
	// people, 250 to 1,000 characters. It fits any TEXT or VARCHAR
	// column and an InnoDB index key (3,072 bytes).
	MaxNameBytes = 1000
	// MaxURLBytes is the longest webhook URL, in bytes, the request
	// line that common servers accept (nginx's and Apache's default is
	// about 8 KiB).
	MaxURLBytes = 8192
	// MaxHeaders is the most headers a webhook action may set.
	MaxHeaders = 50
	// MaxHeaderNameBytes is the longest header name, in bytes.
	MaxHeaderNameBytes = 256
	// MaxHeaderValueBytes is the longest header value, in bytes, the
	// size of one header line that nginx accepts by default.
	MaxHeaderValueBytes = 8192
	// MaxHeaderBytes caps the names and values of a webhook action's
	// headers taken together, in bytes. Stored as JSON, in which a
	// character such as "<" takes six bytes, they stay under 200 KiB.
	MaxHeaderBytes = 32768
	// MaxNoteBytes is the longest text of a note action, in bytes. The
	// host stores the note; 16 KiB leaves room in a TEXT column.
	MaxNoteBytes = 16384
)

// checkText checks a value of a definition against a cap of limit bytes:
// valid UTF-8, no control characters other than those in allowed. what
// describes the text allowed, for the error message.
func checkText(s string, limit int, allowed, what string) error {
	switch {
	case len(s) > limit:
		return fmt.Errorf("is %d bytes long; the limit is %d", len(s), limit)
	case !utf8.ValidString(s) || strings.ContainsFunc(s, func(r rune) bool {
		return unicode.IsControl(r) && !strings.ContainsRune(allowed, r)
	}):
		return fmt.Errorf("must be %s", what)
	}
	return nil
}

// checkName validates a trigger name: optional, at most MaxNameBytes of
// UTF-8 text without control characters.
func checkName(name string) error {
	return checkText(name, MaxNameBytes, "", "UTF-8 text without control characters")
}

// checkNote validates the text of a note action: required, at most
// MaxNoteBytes of UTF-8 text without control characters other than tab
// and line breaks.
func checkNote(text string) error {
	if strings.TrimSpace(text) == "" {
		return errors.New("text is required")
	}
	if err := checkText(text, MaxNoteBytes, "\t\n\r", "UTF-8 text without control characters other than tab and line breaks"); err != nil {
		return fmt.Errorf("text %w", err)
	}
	return nil
}
