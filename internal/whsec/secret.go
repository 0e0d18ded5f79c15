package whsec

import (
	"encoding/base64"
	"fmt"
	"strings"
)

// Prefix starts every signing secret.
const Prefix = "whsec_"

// Lengths, in bytes, of a signing secret's key.
const (
	MinBytes = 24
	MaxBytes = 64
)

// maxEncoded is the longest text after Prefix that Decode decodes: far
// longer than the base64 of any valid key.
const maxEncoded = 1024

// Reason says what is wrong with a signing secret.
type Reason int

// The reasons a signing secret is refused.
const (
	// NoPrefix means the secret does not start with Prefix.
	NoPrefix Reason = iota + 1
	// TooLong means the text after Prefix is too long to hold a key of
	// MaxBytes bytes; it is not decoded.
	TooLong
	// NotBase64 means the text after Prefix is not standard base64.
	NotBase64
	// BadLength means the key is shorter than MinBytes or longer than
	// MaxBytes.
	BadLength
)

// Error is the error Decode returns. Its message never contains the
// secret.
type Error struct {
	// Reason says what is wrong.
	Reason Reason
	// Length is the key's length in bytes, when Reason is BadLength.
	Length int
	// Err is the base64 decoding error, when Reason is NotBase64: a
	// base64.CorruptInputError whose offset counts from the end of
	// Prefix.
	Err error
}

// Error describes the problem, without the secret.
func (e *Error) Error() string {
	switch e.Reason {
	case NoPrefix:
		return "missing the " + Prefix + " prefix"
	case TooLong:
		return fmt.Sprintf("longer than %d bytes", MaxBytes)
	case NotBase64:
		if e.Err == nil {
			return "not standard base64 after " + Prefix
		}
		return "not standard base64 after " + Prefix + ": " + e.Err.Error()
	case BadLength:
		return fmt.Sprintf("%d bytes long, want %d to %d", e.Length, MinBytes, MaxBytes)
	}
	return "invalid secret"
}

// Unwrap returns Err.
func (e *Error) Unwrap() error { return e.Err }

// Decode returns the key of the signing secret s: the bytes that the
// standard base64 after Prefix encodes. When s is not a valid secret it
// returns a *Error.
func Decode(s string) ([]byte, error) {
	enc, ok := strings.CutPrefix(s, Prefix)
	if !ok {
		return nil, &Error{Reason: NoPrefix}
	}
	if len(enc) > maxEncoded {
		return nil, &Error{Reason: TooLong}
	}
	key, err := base64.StdEncoding.DecodeString(enc)
	if err != nil {
		// A base64.CorruptInputError names an offset, not the input.
		return nil, &Error{Reason: NotBase64, Err: err}
	}
	if len(key) < MinBytes || len(key) > MaxBytes {
		return nil, &Error{Reason: BadLength, Length: len(key)}
	}
	return key, nil
}
