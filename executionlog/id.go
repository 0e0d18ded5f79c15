package executionlog

import (
	"crypto/rand"
	"encoding/binary"
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/tickethooks/tickethooks/internal/textcut"
)

// crockford is the Crockford base32 alphabet used by entry ids.
const crockford = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"

// maxIDMillis is the largest timestamp an id can hold (48 bits).
const maxIDMillis = 1<<48 - 1

// idSlots is how many recent milliseconds NewID keeps a sequence for.
const idSlots = 16

// idState keeps the last id made for each of the most recently started
// milliseconds, so that ids made for the same millisecond stay ordered even
// when callers with different clocks interleave.
var idState struct {
	mu    sync.Mutex
	slots [idSlots]idSlot
	next  int // the slot a new millisecond replaces
}

// idSlot is the last id made for one millisecond.
type idSlot struct {
	used   bool
	millis int64
	hi     uint64 // 48-bit timestamp << 16 | top 16 random bits
	lo     uint64 // low 64 random bits
}

// NewID returns a new entry id: a 26-character ULID-style string, a 48-bit
// millisecond timestamp taken from now followed by 80 random bits from
// crypto/rand, in uppercase Crockford base32.
//
// IDs sort lexically by their timestamps. IDs that one process makes for
// the same millisecond stay in creation order: the random part of each is
// the previous one plus one. NewID keeps such a sequence for the 16
// milliseconds it most recently started, so injected clocks and clock steps
// do not disturb it. IDs made by different processes are unique with
// overwhelming probability. A time before 1970 or after the year 10889 is
// clamped to the range a 48-bit timestamp can hold. NewID is safe for
// concurrent use.
func NewID(now time.Time) string {
	ms := now.UnixMilli()
	if ms < 0 {
		ms = 0
	}
	if ms > maxIDMillis {
		ms = maxIDMillis
	}

	idState.mu.Lock()
	defer idState.mu.Unlock()
	for i := range idState.slots {
		s := &idState.slots[i]
		if s.used && s.millis == ms {
			// Increment the 80-bit random part. In the astronomically
			// rare case that it overflows, the carry moves on into the
			// timestamp, which keeps ids ordered and unique.
			s.lo++
			if s.lo == 0 {
				s.hi++
			}
			return encodeID(s.hi, s.lo)
		}
	}
	var b [10]byte
	_, _ = rand.Read(b[:]) // crypto/rand.Read never returns an error.
	s := idSlot{
		used:   true,
		millis: ms,
		hi:     uint64(ms)<<16 | uint64(binary.BigEndian.Uint16(b[:2])),
		lo:     binary.BigEndian.Uint64(b[2:]),
	}
	idState.slots[idState.next] = s
	idState.next = (idState.next + 1) % idSlots
	return encodeID(s.hi, s.lo)
}

// encodeID writes the 128-bit value hi:lo as 26 Crockford base32
// characters, most significant first (the first character holds 3 bits).
func encodeID(hi, lo uint64) string {
	var out [26]byte
	for i := 25; i >= 0; i-- {
		out[i] = crockford[lo&31]
		lo = lo>>5 | hi<<59
		hi >>= 5
	}
	return string(out[:])
}

// MaxIDLength is the longest entry id, in bytes, that every log stores.
const MaxIDLength = 255

// ValidID reports whether id has the format of the ids NewID makes: 26
// characters of uppercase Crockford base32 (0-9 and A-Z without I, L, O
// and U), the first of them 0 to 7, since it holds the top 3 bits of the
// 48-bit timestamp. Pages and APIs that take an entry id from a request,
// such as the log page of package logview, serve only ids that pass it;
// Log implementations accept any id that CheckID allows.
func ValidID(id string) bool {
	if len(id) != 26 || id[0] < '0' || id[0] > '7' {
		return false
	}
	for i := 1; i < len(id); i++ {
		if !strings.ContainsRune(crockford, rune(id[i])) {
			return false
		}
	}
	return true
}

// CheckID returns an error saying why id cannot be the id of an entry in
// every log: it is empty, longer than MaxIDLength bytes, not valid UTF-8,
// or holds a NUL byte (PostgreSQL text cannot). Logs refuse such ids in
// Add, and answer ErrNotFound for them in Get, Update and Redeliver
// without asking their store.
func CheckID(id string) error {
	switch {
	case id == "":
		return errors.New("id is empty")
	case len(id) > MaxIDLength:
		return fmt.Errorf("id is %d bytes long; the limit is %d", len(id), MaxIDLength)
	case !utf8.ValidString(id):
		return fmt.Errorf("id %q is not valid UTF-8", textcut.Cut(id, 64))
	case strings.IndexByte(id, 0) >= 0:
		return fmt.Errorf("id %q holds a NUL byte", textcut.Cut(id, 64))
	}
	return nil
}
