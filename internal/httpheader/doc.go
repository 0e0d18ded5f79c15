// Package httpheader checks HTTP header names and values before a request
// is built, so that a bad header is refused with a clear error when a
// trigger is loaded or a request is sent, instead of by net/http at send
// time. Package trigger and package webhook share it.
//
//	if !httpheader.ValidName(name) {
//		return fmt.Errorf("invalid header name %q", name)
//	}
//	if !httpheader.ValidValue(value) {
//		return fmt.Errorf("value of %q holds a control character", name)
//	}
package httpheader
