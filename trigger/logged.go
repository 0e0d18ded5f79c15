package trigger

import (
	"errors"
	"fmt"
)

// CheckLogged checks what a webhook action built in Go, rather than loaded
// from a definition, writes to the execution log: its URL, at most
// MaxURLBytes of UTF-8 text without control characters, and its headers
// and secret header names, as loading checks them, and its method and
// content type, which must be ones a definition could set. The engine's
// TestWebhook calls it before sending, so that a "Send test" button
// cannot record what a log cannot store. The error wraps ErrInvalid and
// names each problem, never a header value.
func CheckLogged(a Action) error {
	var errs []error
	if err := checkText(a.URL, MaxURLBytes, "", "UTF-8 text without control characters"); err != nil {
		errs = append(errs, fmt.Errorf("url %w", err))
	}
	errs = append(errs, checkHeaders(a.Headers, a.SecretHeaders)...)
	if err := checkMethod(a.Method); err != nil {
		errs = append(errs, err)
	}
	if err := checkContentType(a.ContentType); err != nil {
		errs = append(errs, err)
	}
	if a.ContentType == ContentTypeForm && a.Body == nil {
		errs = append(errs, &pathError{part: "content_type", err: errNoForm})
	}
	if len(errs) == 0 {
		return nil
	}
	return fmt.Errorf("%w: %w", ErrInvalid, errors.Join(errs...))
}
