package webhook

import (
	"bytes"
	"errors"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"
	"testing/iotest"
	"time"

	"github.com/google/go-cmp/cmp"
)

// signedHeader returns the headers of a message signed with each of
// secrets at ts.
func signedHeader(t testing.TB, id string, ts time.Time, body []byte, secrets ...string) http.Header {
	t.Helper()
	var sigs []string
	for _, s := range secrets {
		key, err := ParseSecret(s)
		if err != nil {
			t.Fatalf("ParseSecret: %v", err)
		}
		sigs = append(sigs, Sign(key, id, ts, body))
	}
	return http.Header{
		"Webhook-Id":        {id},
		"Webhook-Timestamp": {strconv.FormatInt(ts.Unix(), 10)},
		"Webhook-Signature": {strings.Join(sigs, " ")},
	}
}

func TestVerify(t *testing.T) {
	t.Parallel()
	s1, s2, other := secretOf('1', 32), secretOf('2', 32), secretOf('o', 32)
	body := []byte(`{"Id":42,"Subject":"Printer on fire"}`)
	signed := func(secrets ...string) http.Header { return signedHeader(t, "d-1", fixedNow, body, secrets...) }
	// with sets the lines of header k, the empty ones kept, or deletes it
	// when v is one empty string.
	with := func(h http.Header, k string, v ...string) http.Header {
		h = h.Clone()
		h.Del(k)
		if len(v) > 1 || v[0] != "" {
			h[http.CanonicalHeaderKey(k)] = v
		}
		return h
	}
	// lower returns h with lower-case keys, as a header built by hand.
	lower := func(h http.Header) http.Header {
		l := make(http.Header, len(h))
		for k, vs := range h {
			l[strings.ToLower(k)] = vs
		}
		return l
	}
	// merge returns the keys of a and b in one header, b's lines after a's
	// for a key in both.
	merge := func(a, b http.Header) http.Header {
		m := a.Clone()
		for k, vs := range b {
			m[k] = append(m[k], vs...)
		}
		return m
	}
	sigOf := func(secret string) string { return signed(secret).Get(HeaderSignature) }
	tests := []struct {
		name     string
		header   http.Header
		body     []byte
		secrets  []string
		now      time.Time
		tol      time.Duration
		sentinel error  // nil when verified
		want     string // the error's message
	}{
		{name: "round trip", header: signed(s1), secrets: []string{s1}},
		{name: "test vector", header: http.Header{
			"Webhook-Id":        {vectorID},
			"Webhook-Timestamp": {strconv.Itoa(vectorTimestamp)},
			"Webhook-Signature": {vectorSignature},
		}, body: []byte(vectorBody), secrets: []string{vectorSecret}, now: time.Unix(vectorTimestamp, 0)},
		{name: "rotation: two signatures, first secret", header: signed(s1, s2), secrets: []string{s1}},
		{name: "rotation: two signatures, second secret", header: signed(s1, s2), secrets: []string{s2}},
		{name: "rotation: one signature, two secrets", header: signed(s2), secrets: []string{s1, s2}},
		{name: "rotation: other signature first", header: signed(other, s2), secrets: []string{s2}},
		{name: "signatures among other versions", header: with(signed(), HeaderSignature, "v1a,bm9wZQ== v2,abc "+sigOf(s1)), secrets: []string{s1}},
		{name: "extra spaces", header: with(signed(), HeaderSignature, "  "+sigOf(s1)+"   "), secrets: []string{s1}},
		{name: "bad base64 then good", header: with(signed(), HeaderSignature, "v1,!!! "+sigOf(s1)), secrets: []string{s1}},
		{name: "4m59s old", header: signed(s1), secrets: []string{s1}, now: fixedNow.Add(4*time.Minute + 59*time.Second)},
		{name: "5m old, at the tolerance", header: signed(s1), secrets: []string{s1}, now: fixedNow.Add(5 * time.Minute)},
		{name: "5m ahead, at the tolerance", header: signed(s1), secrets: []string{s1}, now: fixedNow.Add(-5 * time.Minute)},
		{name: "custom tolerance", header: signed(s1), secrets: []string{s1}, now: fixedNow.Add(time.Hour), tol: 2 * time.Hour},

		{name: "lower-case keys", header: lower(signed(s1)), secrets: []string{s1}},
		{name: "upper-case keys", header: http.Header{
			"WEBHOOK-ID":        {"d-1"},
			"WEBHOOK-TIMESTAMP": signed().Values(HeaderTimestamp),
			"WEBHOOK-SIGNATURE": {sigOf(s1)},
		}, secrets: []string{s1}},
		{name: "signature split over two lines", header: with(signed(), HeaderSignature, "", sigOf(other), sigOf(s1)), secrets: []string{s1}},
		{name: "signature lines under two spellings", header: merge(signed(other), http.Header{"webhook-signature": {sigOf(s1)}}), secrets: []string{s1}},
		{name: "signature lines joined by a proxy", header: with(signed(), HeaderSignature, sigOf(other)+", "+sigOf(s1)+", v2,abc"), secrets: []string{s1}},
		{name: "rotation over lines, lower-case", header: lower(with(signed(), HeaderSignature, sigOf(other), sigOf(s2))), secrets: []string{s1, s2}},
		{name: "id and timestamp repeated with one value", header: merge(signed(s1), lower(with(signed(), HeaderSignature, ""))), secrets: []string{s1}},
		{name: "empty lines ignored", header: merge(with(signed(s1), HeaderID, "", "", "d-1"), http.Header{"webhook-signature": {""}}), secrets: []string{s1}},

		{name: "ids differ across spellings", header: merge(signed(s1), http.Header{"webhook-id": {"d-2"}}), secrets: []string{s1},
			sentinel: ErrAmbiguousHeaders, want: "webhook: verify: ambiguous webhook headers: webhook-id has 2 lines with different values"},
		{name: "timestamps differ across lines", header: with(signed(s1), HeaderTimestamp, "", "1740830400", "1740830401"), secrets: []string{s1},
			sentinel: ErrAmbiguousHeaders, want: "webhook: verify: ambiguous webhook headers: webhook-timestamp has 2 lines with different values"},
		{name: "lower-case keys, tampered body", header: lower(signed(s1)), body: []byte(`{}`), secrets: []string{s1},
			sentinel: ErrNoMatchingSignature, want: "webhook: verify: no matching signature"},
		{name: "lower-case keys, no signature", header: lower(with(signed(s1), HeaderSignature, "")), secrets: []string{s1},
			sentinel: ErrMissingHeaders, want: "webhook: verify: missing webhook headers: webhook-signature"},
		{name: "only other versions over lines", header: with(signed(), HeaderSignature, "", "v2,abc", "v1a,bm9wZQ=="), secrets: []string{s1},
			sentinel: ErrNoMatchingSignature, want: "webhook: verify: no matching signature: webhook-signature holds no v1 signature"},

		{name: "tampered body", header: signed(s1), body: []byte(`{"Id":43,"Subject":"Printer on fire"}`), secrets: []string{s1},
			sentinel: ErrNoMatchingSignature, want: "webhook: verify: no matching signature"},
		{name: "empty body", header: signed(s1), body: []byte{}, secrets: []string{s1},
			sentinel: ErrNoMatchingSignature, want: "webhook: verify: no matching signature"},
		{name: "tampered id", header: with(signed(s1), HeaderID, "d-2"), secrets: []string{s1},
			sentinel: ErrNoMatchingSignature, want: "webhook: verify: no matching signature"},
		{name: "tampered timestamp", header: with(signed(s1), HeaderTimestamp, strconv.FormatInt(fixedNow.Unix()+1, 10)), secrets: []string{s1},
			sentinel: ErrNoMatchingSignature, want: "webhook: verify: no matching signature"},
		{name: "tampered signature", header: with(signed(), HeaderSignature, strings.Replace(sigOf(s1), "v1,", "v1,A", 1)), secrets: []string{s1},
			sentinel: ErrNoMatchingSignature, want: "webhook: verify: no matching signature"},
		{name: "other secret", header: signed(s1), secrets: []string{other},
			sentinel: ErrNoMatchingSignature, want: "webhook: verify: no matching signature"},
		{name: "rotation: neither secret", header: signed(s1, s2), secrets: []string{other},
			sentinel: ErrNoMatchingSignature, want: "webhook: verify: no matching signature"},
		{name: "signature without version", header: with(signed(), HeaderSignature, strings.TrimPrefix(sigOf(s1), "v1,")), secrets: []string{s1},
			sentinel: ErrNoMatchingSignature, want: "webhook: verify: no matching signature: webhook-signature holds no v1 signature"},
		{name: "other version only", header: with(signed(), HeaderSignature, strings.Replace(sigOf(s1), "v1,", "v2,", 1)), secrets: []string{s1},
			sentinel: ErrNoMatchingSignature, want: "webhook: verify: no matching signature: webhook-signature holds no v1 signature"},
		{name: "v1 without value", header: with(signed(), HeaderSignature, "v1,"), secrets: []string{s1},
			sentinel: ErrNoMatchingSignature, want: "webhook: verify: no matching signature"},
		{name: "only spaces", header: with(signed(), HeaderSignature, "   "), secrets: []string{s1},
			sentinel: ErrNoMatchingSignature, want: "webhook: verify: no matching signature: webhook-signature holds no v1 signature"},

		{name: "stale", header: signed(s1), secrets: []string{s1}, now: fixedNow.Add(5*time.Minute + time.Second),
			sentinel: ErrInvalidTimestamp, want: "webhook: verify: invalid webhook timestamp: stale: 5m1s old, tolerance 5m0s"},
		{name: "replayed a day later", header: signed(s1), secrets: []string{s1}, now: fixedNow.Add(24 * time.Hour),
			sentinel: ErrInvalidTimestamp, want: "webhook: verify: invalid webhook timestamp: stale: 24h0m0s old, tolerance 5m0s"},
		{name: "future", header: signed(s1), secrets: []string{s1}, now: fixedNow.Add(-6 * time.Minute),
			sentinel: ErrInvalidTimestamp, want: "webhook: verify: invalid webhook timestamp: in the future: 6m0s ahead, tolerance 5m0s"},
		{name: "custom tolerance exceeded", header: signed(s1), secrets: []string{s1}, now: fixedNow.Add(31 * time.Second), tol: 30 * time.Second,
			sentinel: ErrInvalidTimestamp, want: "webhook: verify: invalid webhook timestamp: stale: 31s old, tolerance 30s"},
		{name: "timestamp zero", header: with(signed(s1), HeaderTimestamp, "0"), secrets: []string{s1},
			sentinel: ErrInvalidTimestamp, want: "webhook: verify: invalid webhook timestamp: stale: 483564h0m0s old, tolerance 5m0s"},
		{name: "timestamp far future", header: with(signed(s1), HeaderTimestamp, "999999999999999999"), secrets: []string{s1},
			sentinel: ErrInvalidTimestamp, want: "webhook: verify: invalid webhook timestamp: in the future: 2562047h47m16s ahead, tolerance 5m0s"},
		{name: "timestamp in milliseconds", header: with(signed(s1), HeaderTimestamp, "1740830400000"), secrets: []string{s1},
			sentinel: ErrInvalidTimestamp, want: "webhook: verify: invalid webhook timestamp: in the future: 2562047h47m16s ahead, tolerance 5m0s"},
		{name: "timestamp garbage", header: with(signed(s1), HeaderTimestamp, "yesterday"), secrets: []string{s1},
			sentinel: ErrInvalidTimestamp, want: "webhook: verify: invalid webhook timestamp: webhook-timestamp is not a Unix time in seconds"},
		{name: "timestamp negative", header: with(signed(s1), HeaderTimestamp, "-1740830400"), secrets: []string{s1},
			sentinel: ErrInvalidTimestamp, want: "webhook: verify: invalid webhook timestamp: webhook-timestamp is not a Unix time in seconds"},
		{name: "timestamp with plus", header: with(signed(s1), HeaderTimestamp, "+1740830400"), secrets: []string{s1},
			sentinel: ErrInvalidTimestamp, want: "webhook: verify: invalid webhook timestamp: webhook-timestamp is not a Unix time in seconds"},
		{name: "timestamp fraction", header: with(signed(s1), HeaderTimestamp, "1740830400.5"), secrets: []string{s1},
			sentinel: ErrInvalidTimestamp, want: "webhook: verify: invalid webhook timestamp: webhook-timestamp is not a Unix time in seconds"},
		{name: "timestamp overflow", header: with(signed(s1), HeaderTimestamp, "99999999999999999999"), secrets: []string{s1},
			sentinel: ErrInvalidTimestamp, want: "webhook: verify: invalid webhook timestamp: webhook-timestamp is not a Unix time in seconds"},
		{name: "timestamp RFC 3339", header: with(signed(s1), HeaderTimestamp, fixedNow.Format(time.RFC3339)), secrets: []string{s1},
			sentinel: ErrInvalidTimestamp, want: "webhook: verify: invalid webhook timestamp: webhook-timestamp is not a Unix time in seconds"},

		{name: "no headers", header: http.Header{}, secrets: []string{s1},
			sentinel: ErrMissingHeaders, want: "webhook: verify: missing webhook headers: webhook-id, webhook-timestamp, webhook-signature"},
		{name: "nil header", header: nil, secrets: []string{s1},
			sentinel: ErrMissingHeaders, want: "webhook: verify: missing webhook headers: webhook-id, webhook-timestamp, webhook-signature"},
		{name: "no id", header: with(signed(s1), HeaderID, ""), secrets: []string{s1},
			sentinel: ErrMissingHeaders, want: "webhook: verify: missing webhook headers: webhook-id"},
		{name: "no timestamp", header: with(signed(s1), HeaderTimestamp, ""), secrets: []string{s1},
			sentinel: ErrMissingHeaders, want: "webhook: verify: missing webhook headers: webhook-timestamp"},
		{name: "no signature", header: with(signed(s1), HeaderSignature, ""), secrets: []string{s1},
			sentinel: ErrMissingHeaders, want: "webhook: verify: missing webhook headers: webhook-signature"},
		{name: "empty id", header: http.Header{"Webhook-Id": {""}, "Webhook-Timestamp": {"1"}, "Webhook-Signature": {"v1,x"}}, secrets: []string{s1},
			sentinel: ErrMissingHeaders, want: "webhook: verify: missing webhook headers: webhook-id"},

		{name: "no secrets", header: signed(s1), secrets: nil,
			sentinel: ErrInvalidSecret, want: "webhook: verify: invalid secret: no secrets"},
		{name: "malformed secret", header: signed(s1), secrets: []string{s1, "whsec_c2hvcnQ="},
			sentinel: ErrInvalidSecret, want: "webhook: verify: secret 2: invalid secret: 5 bytes long, want 24 to 64"},
		{name: "secret without prefix", header: signed(s1), secrets: []string{strings.TrimPrefix(s1, SecretPrefix)},
			sentinel: ErrInvalidSecret, want: "webhook: verify: secret 1: invalid secret: missing the whsec_ prefix"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			b := tt.body
			if b == nil {
				b = body
			}
			now := tt.now
			if now.IsZero() {
				now = fixedNow
			}
			err := Verify(tt.header, b, tt.secrets, &VerifyOptions{Tolerance: tt.tol, Now: func() time.Time { return now }})
			var got string
			if err != nil {
				got = err.Error()
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("Verify error mismatch (-want +got):\n%s", diff)
			}
			if tt.sentinel != nil && !errors.Is(err, tt.sentinel) {
				t.Errorf("Verify error %q does not wrap %q", err, tt.sentinel)
			}
			for _, s := range tt.secrets {
				if k := strings.TrimPrefix(s, SecretPrefix); len(k) > 8 && strings.Contains(got, k[:8]) {
					t.Errorf("Verify error %q shows a secret", got)
				}
			}
		})
	}
}

func TestVerifyDefaults(t *testing.T) {
	t.Parallel()
	s := secretOf('d', 32)
	body := []byte(`{}`)
	// A nil *VerifyOptions: time.Now, 5 minutes.
	if err := Verify(signedHeader(t, "d", time.Now(), body, s), body, []string{s}, nil); err != nil {
		t.Errorf("Verify(now): %v", err)
	}
	if err := Verify(signedHeader(t, "d", time.Now().Add(-10*time.Minute), body, s), body, []string{s}, nil); !errors.Is(err, ErrInvalidTimestamp) {
		t.Errorf("Verify(10 minutes ago) = %v, want ErrInvalidTimestamp", err)
	}
	// Zero fields take the defaults too.
	if err := Verify(signedHeader(t, "d", time.Now().Add(-4*time.Minute), body, s), body, []string{s}, &VerifyOptions{}); err != nil {
		t.Errorf("Verify(4 minutes ago): %v", err)
	}
	if err := Verify(signedHeader(t, "d", time.Now().Add(6*time.Minute), body, s), body, []string{s}, &VerifyOptions{Tolerance: -time.Hour}); !errors.Is(err, ErrInvalidTimestamp) {
		t.Errorf("Verify(6 minutes ahead) = %v, want ErrInvalidTimestamp", err)
	}
}

func TestVerifyRequest(t *testing.T) {
	t.Parallel()
	s := secretOf('r', 32)
	opts := &VerifyOptions{Now: func() time.Time { return fixedNow }}
	body := []byte(`{"Id":42}`)
	big := bytes.Repeat([]byte("x"), MaxVerifyBody)
	tests := []struct {
		name     string
		req      func() *http.Request
		wantBody string
		wantErr  string
	}{
		{"verified", func() *http.Request {
			r := httptest.NewRequest(http.MethodPost, "/hook", bytes.NewReader(body))
			r.Header = signedHeader(t, "d", fixedNow, body, s)
			return r
		}, string(body), ""},
		{"at the size limit", func() *http.Request {
			r := httptest.NewRequest(http.MethodPost, "/hook", bytes.NewReader(big))
			r.Header = signedHeader(t, "d", fixedNow, big, s)
			return r
		}, string(big), ""},
		{"tampered", func() *http.Request {
			r := httptest.NewRequest(http.MethodPost, "/hook", strings.NewReader(`{"Id":43}`))
			r.Header = signedHeader(t, "d", fixedNow, body, s)
			return r
		}, "", "webhook: verify: no matching signature"},
		{"too large", func() *http.Request {
			b := append(big[:len(big):len(big)], 'y')
			r := httptest.NewRequest(http.MethodPost, "/hook", bytes.NewReader(b))
			r.Header = signedHeader(t, "d", fixedNow, b, s)
			return r
		}, "", "webhook: verify: reading body: http: request body too large"},
		{"read error", func() *http.Request {
			r := httptest.NewRequest(http.MethodPost, "/hook", iotest.ErrReader(errors.New("connection reset")))
			r.Header = signedHeader(t, "d", fixedNow, body, s)
			return r
		}, "", "webhook: verify: reading body: connection reset"},
		{"nil body", func() *http.Request {
			r := httptest.NewRequest(http.MethodPost, "/hook", nil)
			r.Body = nil
			r.Header = signedHeader(t, "d", fixedNow, nil, s)
			return r
		}, "", ""},
		{"nil request", func() *http.Request { return nil }, "", "webhook: verify: nil request"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got, err := VerifyRequest(tt.req(), []string{s}, opts)
			var gotErr string
			if err != nil {
				gotErr = err.Error()
				if got != nil {
					t.Errorf("VerifyRequest returned %d bytes with an error", len(got))
				}
			}
			if diff := cmp.Diff(tt.wantErr, gotErr); diff != "" {
				t.Errorf("error mismatch (-want +got):\n%s", diff)
			}
			if string(got) != tt.wantBody {
				t.Errorf("body is %d bytes, want %d", len(got), len(tt.wantBody))
			}
		})
	}
	var mbe *http.MaxBytesError
	b := append(big[:len(big):len(big)], 'y')
	r := httptest.NewRequest(http.MethodPost, "/hook", bytes.NewReader(b))
	if _, err := VerifyRequest(r, []string{s}, opts); !errors.As(err, &mbe) || mbe.Limit != MaxVerifyBody {
		t.Errorf("VerifyRequest(too large) = %v, want a *http.MaxBytesError with limit %d", err, MaxVerifyBody)
	}
}

func FuzzVerify(f *testing.F) {
	secret := secretOf('f', 32)
	key, err := ParseSecret(secret)
	if err != nil {
		f.Fatal(err)
	}
	ts := strconv.FormatInt(fixedNow.Unix(), 10)
	good := Sign(key, "msg_1", fixedNow, []byte(`{"Id":1}`))
	f.Add("msg_1", ts, good, []byte(`{"Id":1}`))
	f.Add("msg_1", ts, good+" "+good, []byte(`{"Id":2}`))
	f.Add("", "", "", []byte(nil))
	f.Add("id", "abc", "v1,", []byte("x"))
	f.Add("id", "-1", "v1,!!!! v2,abc", []byte("x"))
	f.Add("id", "99999999999999999999", "v1a,AAAA", []byte("x"))
	f.Add("id", ts, "v1,AAAA====", []byte("x"))
	f.Add("a.b", "0", ",,, v1,,", []byte("..."))
	opts := &VerifyOptions{Now: func() time.Time { return fixedNow }}
	f.Fuzz(func(t *testing.T, id, ts, sig string, body []byte) {
		h := http.Header{}
		h.Set(HeaderID, id)
		h.Set(HeaderTimestamp, ts)
		h.Set(HeaderSignature, sig)
		err := Verify(h, body, []string{secret}, opts)
		if err == nil && !strings.Contains(sig, "v1,") {
			t.Fatalf("Verify accepted %q without a v1 signature", sig)
		}
		// A message signed now verifies, whatever its id and body.
		if id != "" {
			h = signedHeader(t, id, fixedNow, body, secret)
			if err := Verify(h, body, []string{secret}, opts); err != nil {
				t.Fatalf("Verify(signed id %q): %v", id, err)
			}
			// And so it does with lower-case keys and the signature after
			// the fuzzed one on a line of its own.
			l := http.Header{"webhook-id": {id}, "webhook-timestamp": h.Values(HeaderTimestamp),
				"webhook-signature": {sig, h.Get(HeaderSignature)}}
			if err := Verify(l, body, []string{secret}, opts); err != nil {
				t.Fatalf("Verify(signed id %q, lower-case keys, lines %q): %v", id, l["webhook-signature"], err)
			}
		}
	})
}
