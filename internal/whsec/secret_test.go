package whsec

import (
	"bytes"
	"encoding/base64"
	"errors"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func secretOf(b byte, n int) string {
	return Prefix + base64.StdEncoding.EncodeToString(bytes.Repeat([]byte{b}, n))
}

func TestDecode(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name       string
		secret     string
		wantLen    int    // key length when valid
		wantReason Reason // 0 when valid
		wantLength int    // Error.Length
		wantOffset int64  // offset of the base64.CorruptInputError, for NotBase64
		wantMsg    string
	}{
		{name: "24 bytes", secret: secretOf('a', MinBytes), wantLen: MinBytes},
		{name: "64 bytes", secret: secretOf('b', MaxBytes), wantLen: MaxBytes},
		{name: "empty", secret: "", wantReason: NoPrefix, wantMsg: "missing the whsec_ prefix"},
		{name: "upper-case prefix", secret: "WHSEC_" + strings.TrimPrefix(secretOf('c', 32), Prefix), wantReason: NoPrefix, wantMsg: "missing the whsec_ prefix"},
		{name: "huge", secret: Prefix + strings.Repeat("A", maxEncoded+1), wantReason: TooLong, wantMsg: "longer than 64 bytes"},
		{name: "bad base64", secret: Prefix + "hunter2!hunter2!hunter2!hunter2!", wantReason: NotBase64, wantOffset: 7,
			wantMsg: "not standard base64 after whsec_: illegal base64 data at input byte 7"},
		{name: "url-safe base64", secret: Prefix + "____" + strings.Repeat("A", 28), wantReason: NotBase64, wantOffset: 0,
			wantMsg: "not standard base64 after whsec_: illegal base64 data at input byte 0"},
		{name: "prefix only", secret: Prefix, wantReason: BadLength, wantMsg: "0 bytes long, want 24 to 64"},
		{name: "23 bytes", secret: secretOf('d', MinBytes-1), wantReason: BadLength, wantLength: 23, wantMsg: "23 bytes long, want 24 to 64"},
		{name: "65 bytes", secret: secretOf('e', MaxBytes+1), wantReason: BadLength, wantLength: 65, wantMsg: "65 bytes long, want 24 to 64"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			key, err := Decode(tt.secret)
			if tt.wantReason == 0 {
				if err != nil {
					t.Fatalf("Decode: %v", err)
				}
				if len(key) != tt.wantLen {
					t.Errorf("key is %d bytes, want %d", len(key), tt.wantLen)
				}
				return
			}
			var e *Error
			if !errors.As(err, &e) {
				t.Fatalf("Decode error %v is not a *Error", err)
			}
			if key != nil {
				t.Errorf("Decode returned a key with error %q", err)
			}
			if diff := cmp.Diff(tt.wantReason, e.Reason); diff != "" {
				t.Errorf("Reason mismatch (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff(tt.wantLength, e.Length); diff != "" {
				t.Errorf("Length mismatch (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff(tt.wantMsg, err.Error()); diff != "" {
				t.Errorf("message mismatch (-want +got):\n%s", diff)
			}
			var ce base64.CorruptInputError
			if gotBase64 := errors.As(err, &ce); gotBase64 != (tt.wantReason == NotBase64) {
				t.Errorf("Decode error %q wraps a base64.CorruptInputError: %v, want %v", err, gotBase64, !gotBase64)
			} else if gotBase64 && int64(ce) != tt.wantOffset {
				t.Errorf("CorruptInputError offset is %d, want %d", ce, tt.wantOffset)
			}
			if body := strings.TrimPrefix(tt.secret, Prefix); len(body) >= 8 && strings.Contains(err.Error(), body[:8]) {
				t.Errorf("Decode error %q shows the secret", err)
			}
		})
	}
}
