package sqllog

import (
	"testing"
	"time"
)

func TestTimeScanner(t *testing.T) {
	t.Parallel()
	want := time.Date(2026, 3, 14, 15, 9, 26, 535897000, time.UTC)
	zone := time.FixedZone("BRT", -3*60*60)
	tests := []struct {
		name string
		src  any
		wall bool
		want time.Time
	}{
		{"Nil", nil, false, time.Time{}},
		{"Micros", want.UnixMicro(), false, want},
		{"ZeroMicros", time.Time{}.UnixMicro(), false, time.Time{}},
		{"Instant", want.In(zone), false, want},
		{"WallClock", time.Date(2026, 3, 14, 15, 9, 26, 535897000, zone), true, want},
		{"Text", "2026-03-14 15:09:26.535897", true, want},
		{"Bytes", []byte("2026-03-14 15:09:26.535897"), true, want},
		{"ZeroText", []byte("0001-01-01 00:00:00.000000"), true, time.Time{}},
	}
	for _, tc := range tests {
		var got time.Time
		if err := (timeScanner{t: &got, wall: tc.wall}).Scan(tc.src); err != nil {
			t.Errorf("%s: Scan: %v", tc.name, err)
			continue
		}
		if !got.Equal(tc.want) || got.Location() != time.UTC || got.IsZero() != tc.want.IsZero() {
			t.Errorf("%s: Scan(%v) = %v, want %v in UTC", tc.name, tc.src, got, tc.want)
		}
	}
	var got time.Time
	if err := (timeScanner{t: &got}).Scan("garbage"); err == nil {
		t.Error("Scan(garbage) succeeded, want an error")
	}
	if err := (timeScanner{t: &got}).Scan(3.5); err == nil {
		t.Error("Scan(float) succeeded, want an error")
	}
}
