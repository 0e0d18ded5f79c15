package trigger

import (
	"encoding/base64"
	"errors"
	"fmt"

	"github.com/tickethooks/tickethooks/internal/whsec"
)

// MaxSecrets is the most signing secrets a webhook action may list: enough
// to rotate a secret (the new one and the old one listed together) with
// room to spare.
const MaxSecrets = 5

// pathError is a problem in one part of an action, such as "secrets[1]".
// compileTrigger reports it at the action's path followed by a dot and
// part, so that the error names the part exactly.
type pathError struct {
	part string
	err  error
	// line and column (from 1) locate the problem in an expression
	// (a body template); 0 otherwise.
	line, column int
}

func (e *pathError) Error() string { return e.part + ": " + e.err.Error() }
func (e *pathError) Unwrap() error { return e.err }

// checkSecrets validates a webhook action's signing secrets: at most
// MaxSecrets, each a Standard Webhooks secret as webhook.ParseSecret reads
// it ("whsec_" followed by the standard base64 of a 24- to 64-byte key),
// no two with the same key. Error messages name a secret by its position
// and never contain its value.
func checkSecrets(secrets []string) []error {
	var errs []error
	if len(secrets) > MaxSecrets {
		errs = append(errs, &pathError{part: "secrets", err: fmt.Errorf("has %d secrets; the limit is %d", len(secrets), MaxSecrets)})
	}
	first := make(map[string]int, len(secrets)) // key -> position
	for i, s := range secrets {
		part := fmt.Sprintf("secrets[%d]", i)
		key, err := secretKey(s)
		if err != nil {
			errs = append(errs, &pathError{part: part, err: err})
			continue
		}
		if j, dup := first[string(key)]; dup {
			errs = append(errs, &pathError{part: part, err: fmt.Errorf("has the same key as secrets[%d]", j)})
			continue
		}
		first[string(key)] = i
	}
	return errs
}

// secretKey returns the key of the signing secret s, by the rule that
// webhook.ParseSecret also follows (package whsec). The error never
// contains s.
func secretKey(s string) ([]byte, error) {
	key, err := whsec.Decode(s)
	if err == nil {
		return key, nil
	}
	var e *whsec.Error
	if !errors.As(err, &e) {
		return nil, err
	}
	switch e.Reason {
	case whsec.NoPrefix:
		return nil, fmt.Errorf("must start with %q", whsec.Prefix)
	case whsec.TooLong:
		return nil, fmt.Errorf("is longer than a %d-byte key", whsec.MaxBytes)
	case whsec.NotBase64:
		var ce base64.CorruptInputError // its message names an offset, not the input
		if errors.As(err, &ce) {
			return nil, fmt.Errorf("must be standard base64 after %q: illegal base64 data at byte %d of the secret", whsec.Prefix, int64(ce)+int64(len(whsec.Prefix)))
		}
		return nil, fmt.Errorf("must be standard base64 after %q", whsec.Prefix)
	case whsec.BadLength:
		return nil, fmt.Errorf("has a %d-byte key; want %d to %d bytes", e.Length, whsec.MinBytes, whsec.MaxBytes)
	}
	return nil, err
}
