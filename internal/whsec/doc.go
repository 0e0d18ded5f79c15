// Package whsec decodes Standard Webhooks signing secrets: Prefix followed
// by the standard base64 of a key of MinBytes to MaxBytes bytes. Package
// webhook (ParseSecret) and package trigger (a webhook action's secrets)
// share the rule here and each word its own error message from the
// returned *Error, which never contains the secret:
//
//	key, err := whsec.Decode(s)
//	var e *whsec.Error
//	if errors.As(err, &e) && e.Reason == whsec.BadLength {
//		return fmt.Errorf("has a %d-byte key", e.Length)
//	}
package whsec
