package trigger

import (
	"encoding/base64"
	"errors"
	"fmt"
	"strings"
)

// MaxSecrets is the most signing secrets a webhook action may list: enough
// to rotate a secret (the new one and the old one listed together) with
// room to spare.
const MaxSecrets = 5

// The format of a signing secret, as in Standard Webhooks and
// webhook.ParseSecret: secretPrefix followed by the standard base64 of a
// key of minSecretBytes to maxSecretBytes bytes.
const (
	secretPrefix   = "whsec_"
	minSecretBytes = 24
	maxSecretBytes = 64
)

// pathError is a problem in one part of an action, such as "secrets[1]".
// compileTrigger reports it at the action's path followed by a dot and
// part, so that the error names the part exactly.
type pathError struct {
	part string
	err  error
}

func (e *pathError) Error() string { return e.part + ": " + e.err.Error() }
func (e *pathError) Unwrap() error { return e.err }

// checkSecrets validates a webhook action's signing secrets: at most
// MaxSecrets, each secretPrefix followed by the standard base64 of
// minSecretBytes to maxSecretBytes bytes, no two with the same key. Error
// messages name a secret by its position and never contain its value.
func checkSecrets(secrets []string) []error {
	var errs []error
	if len(secrets) > MaxSecrets {
		errs = append(errs, &pathError{"secrets", fmt.Errorf("has %d secrets; the limit is %d", len(secrets), MaxSecrets)})
	}
	first := make(map[string]int, len(secrets)) // key -> position
	for i, s := range secrets {
		part := fmt.Sprintf("secrets[%d]", i)
		key, err := secretKey(s)
		if err != nil {
			errs = append(errs, &pathError{part, err})
			continue
		}
		if j, dup := first[string(key)]; dup {
			errs = append(errs, &pathError{part, fmt.Errorf("has the same key as secrets[%d]", j)})
			continue
		}
		first[string(key)] = i
	}
	return errs
}

// secretKey returns the key of the signing secret s, by the rule of
// webhook.ParseSecret. The error never contains s.
func secretKey(s string) ([]byte, error) {
	enc, ok := strings.CutPrefix(s, secretPrefix)
	if !ok {
		return nil, fmt.Errorf("must start with %q", secretPrefix)
	}
	if len(enc) > 1024 {
		// Not worth decoding: far longer than any valid key.
		return nil, fmt.Errorf("is longer than a %d-byte key", maxSecretBytes)
	}
	key, err := base64.StdEncoding.DecodeString(enc)
	if err != nil {
		var ce base64.CorruptInputError // its message names an offset, not the input
		if errors.As(err, &ce) {
			return nil, fmt.Errorf("must be standard base64 after %q: illegal base64 data at byte %d of the secret", secretPrefix, int64(ce)+int64(len(secretPrefix)))
		}
		return nil, fmt.Errorf("must be standard base64 after %q", secretPrefix)
	}
	if len(key) < minSecretBytes || len(key) > maxSecretBytes {
		return nil, fmt.Errorf("has a %d-byte key; want %d to %d bytes", len(key), minSecretBytes, maxSecretBytes)
	}
	return key, nil
}
