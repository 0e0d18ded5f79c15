// Package tenantname holds the rule for tenant names that the execution
// log and the trigger loader share.
package tenantname

import (
	"fmt"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/tickethooks/tickethooks/internal/textcut"
)

// MaxBytes is the longest tenant, in bytes: the longest every log stores
// and indexes (MySQL and MariaDB keep it in a VARBINARY(255)).
const MaxBytes = 255

// Check returns an error, which does not name the rule's owner, when t is
// longer than MaxBytes or is not UTF-8 text without control characters.
// The empty tenant is valid.
func Check(t string) error {
	switch {
	case len(t) > MaxBytes:
		return fmt.Errorf("tenant is %d bytes, more than %d", len(t), MaxBytes)
	case !utf8.ValidString(t):
		return fmt.Errorf("tenant %q is not valid UTF-8", textcut.Cut(t, 64))
	case strings.ContainsFunc(t, unicode.IsControl):
		return fmt.Errorf("tenant %q holds a control character", textcut.Cut(t, 64))
	}
	return nil
}
