package webhook

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/tickethooks/tickethooks/internal/whsec"
)

// Standard Webhooks header names, as HTTPSender sends them and Verify reads
// them.
const (
	HeaderID        = "webhook-id"
	HeaderTimestamp = "webhook-timestamp"
	HeaderSignature = "webhook-signature"
)

// SecretPrefix, "whsec_", starts every signing secret.
const SecretPrefix = whsec.Prefix

// Lengths, in bytes, of a signing secret's key: 24 to 64.
const (
	MinSecretBytes = whsec.MinBytes
	MaxSecretBytes = whsec.MaxBytes
	// newSecretBytes is the key length of NewSecret.
	newSecretBytes = 32
)

// ErrInvalidSecret means a signing secret is not SecretPrefix followed by
// the standard base64 of 24 to 64 bytes. Errors wrapping it never contain
// the secret.
var ErrInvalidSecret = errors.New("invalid secret")

// NewSecret returns a new random signing secret: SecretPrefix followed by
// the standard base64 of 32 bytes from crypto/rand.
func NewSecret() (string, error) {
	key := make([]byte, newSecretBytes)
	if _, err := rand.Read(key); err != nil {
		return "", fmt.Errorf("webhook: new secret: %w", err)
	}
	return SecretPrefix + base64.StdEncoding.EncodeToString(key), nil
}

// ParseSecret returns the key of the signing secret s: the bytes that the
// standard base64 after SecretPrefix encodes. It returns an error wrapping
// ErrInvalidSecret when the prefix is missing, the base64 is malformed or
// the key is not 24 to 64 bytes long; the error never contains s.
func ParseSecret(s string) ([]byte, error) {
	key, err := whsec.Decode(s)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrInvalidSecret, err)
	}
	return key, nil
}

// Sign returns the Standard Webhooks signature of a message: "v1," followed
// by the standard base64 of the HMAC-SHA256, keyed with secret (a key from
// ParseSecret), of the message id, a dot, ts in Unix seconds, a dot and
// body. It is the value of one webhook-signature entry.
func Sign(secret []byte, id string, ts time.Time, body []byte) string {
	return "v1," + base64.StdEncoding.EncodeToString(mac(secret, id, ts.Unix(), body))
}

// mac returns the HMAC-SHA256 of "id.ts.body" keyed with key.
func mac(key []byte, id string, ts int64, body []byte) []byte {
	h := hmac.New(sha256.New, key)
	var buf [24]byte
	h.Write([]byte(id))
	h.Write([]byte{'.'})
	h.Write(strconv.AppendInt(buf[:0], ts, 10))
	h.Write([]byte{'.'})
	h.Write(body)
	return h.Sum(nil)
}

// signatures returns the webhook-signature header value for keys: one
// signature per key, separated by spaces.
func signatures(keys [][]byte, id string, ts time.Time, body []byte) string {
	sigs := make([]string, len(keys))
	for i, k := range keys {
		sigs[i] = Sign(k, id, ts, body)
	}
	return strings.Join(sigs, " ")
}

// parseSecrets returns the keys of secrets. Errors name the secret by
// position, never by value.
func parseSecrets(secrets []string) ([][]byte, error) {
	keys := make([][]byte, len(secrets))
	for i, s := range secrets {
		k, err := ParseSecret(s)
		if err != nil {
			return nil, fmt.Errorf("secret %d: %w", i+1, err)
		}
		keys[i] = k
	}
	return keys, nil
}
