package logview_test

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"maps"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/tickethooks/tickethooks/executionlog/logview"
)

// hostRefusal is the body of the host middleware's 403.
const hostRefusal = "host: CSRF token missing or wrong"

// hostSessionKey is the context key of the host session's CSRF token.
type hostSessionKey struct{}

// hostToken returns the CSRF token hostMiddleware put in r's context, as
// gorilla/csrf's csrf.Token does.
func hostToken(r *http.Request) string {
	tok, _ := r.Context().Value(hostSessionKey{}).(string)
	return tok
}

// hostMiddleware is a host's CSRF protection, as a helpdesk's permission
// middleware or gorilla/csrf is: it keeps a random token per browser in
// its own session cookie, puts it in the request's context, and refuses
// every POST that carries it neither in the form field named field nor in
// the X-CSRF-Token header. With no field, it checks no POST.
type hostMiddleware struct {
	field string

	mu     sync.Mutex
	tokens map[string]string // session id → token
}

func newHostMiddleware(field string) *hostMiddleware {
	return &hostMiddleware{field: field, tokens: map[string]string{}}
}

func randomString() string {
	b := make([]byte, 16)
	_, _ = rand.Read(b)
	return base64.RawURLEncoding.EncodeToString(b)
}

func (m *hostMiddleware) wrap(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		m.mu.Lock()
		var tok string
		if c, err := r.Cookie("host_session"); err == nil {
			tok = m.tokens[c.Value]
		}
		if tok == "" {
			session := randomString()
			tok = randomString()
			m.tokens[session] = tok
			http.SetCookie(w, &http.Cookie{Name: "host_session", Value: session, Path: "/", HttpOnly: true})
		}
		m.mu.Unlock()
		if r.Method == http.MethodPost && m.field != "" {
			sent := r.Header.Get("X-CSRF-Token")
			if sent == "" {
				sent = r.PostFormValue(m.field) // parses the form, as gorilla/csrf does
			}
			if sent != tok {
				http.Error(w, hostRefusal, http.StatusForbidden)
				return
			}
		}
		next.ServeHTTP(w, r.WithContext(context.WithValue(r.Context(), hostSessionKey{}, tok)))
	})
}

// outcome is what a POST came to: its status, and who refused it.
type outcome struct {
	Status int
	// By is "host" when the host middleware refused the request, "page"
	// when the handler did, "" when it was accepted.
	By string
}

func outcomeOf(r response) outcome {
	o := outcome{Status: r.status}
	switch {
	case r.status < 400:
	case strings.Contains(r.body, hostRefusal):
		o.By = "host"
	default:
		o.By = "page"
	}
	return o
}

// With Config.HostCSRF, the page's forms carry the host's token in the
// field the host names and work behind a host middleware that demands it,
// which refuses them without it. The cross-origin check and the JSON API
// rules stay.
func TestHostCSRF(t *testing.T) {
	t.Parallel()
	const (
		field = "field" // stands for the host's field name in form values
		token = "token" // stands for the host's token of the session
	)
	accepted := outcome{Status: http.StatusSeeOther}
	tests := []struct {
		name string
		// form posts form values to the single (false) or bulk (true)
		// redelivery; header is sent with it.
		bulk   bool
		form   map[string]string
		header map[string]string
		want   outcome
	}{
		{name: "Single", form: map[string]string{field: token}, want: accepted},
		{name: "Bulk", bulk: true, form: map[string]string{field: token, "error": "receiver"}, want: accepted},
		{name: "SingleTokenInHeader", header: map[string]string{"X-CSRF-Token": token}, want: accepted},
		{name: "SingleNoToken", want: outcome{http.StatusForbidden, "host"}},
		{name: "BulkNoToken", bulk: true, form: map[string]string{"error": "receiver"}, want: outcome{http.StatusForbidden, "host"}},
		{name: "SingleWrongToken", form: map[string]string{field: "forged"}, want: outcome{http.StatusForbidden, "host"}},
		{name: "BulkWrongToken", bulk: true, form: map[string]string{field: "forged"}, want: outcome{http.StatusForbidden, "host"}},
		{name: "SingleCrossSite", form: map[string]string{field: token},
			header: map[string]string{"Sec-Fetch-Site": "cross-site"}, want: outcome{http.StatusForbidden, "page"}},
		{name: "BulkOtherOrigin", bulk: true, form: map[string]string{field: token},
			header: map[string]string{"Origin": "https://evil.example"}, want: outcome{http.StatusForbidden, "page"}},
	}
	// csrf_token is the handler's own field name too.
	for _, hostField := range []string{"csrf_token", "authenticity_token"} {
		for _, tc := range tests {
			t.Run(hostField+"/"+tc.name, func(t *testing.T) {
				t.Parallel()
				fx := newFixture(t)
				red := &fakeRedeliverer{log: fx.log}
				host := newHostMiddleware(hostField)
				s := newWrappedServer(t, logview.Config{Log: fx.log, Redeliverer: red,
					HostCSRF: &logview.HostCSRF{Field: hostField, Token: hostToken}}, host.wrap)

				pagePath, postPath := "/entries/"+fx.erp1002.ID, "/entries/"+fx.erp1002.ID+"/redeliver"
				if tc.bulk {
					pagePath, postPath = "/redeliver?error=receiver", "/redeliver"
				}
				page := s.get(t, pagePath)
				if page.status != http.StatusOK {
					t.Fatalf("GET %s = %d, want 200", pagePath, page.status)
				}
				fields := formFields(t, page.body)
				hostTok := fields[hostField]
				if hostTok == "" || hostTok != hostTokenOf(host) {
					t.Fatalf("the form's %s field is %q, want the host's token %q (fields %v)", hostField, hostTok, hostTokenOf(host), fields)
				}
				if cookies := page.header.Values("Set-Cookie"); len(cookies) != 1 || !strings.HasPrefix(cookies[0], "host_session=") {
					t.Errorf("GET %s set cookies %q, want the host's session only", pagePath, cookies)
				}

				v := url.Values{}
				for k, val := range tc.form {
					v.Set(strings.ReplaceAll(k, field, hostField), strings.ReplaceAll(val, token, hostTok))
				}
				header := map[string]string{"Content-Type": "application/x-www-form-urlencoded"}
				for k, val := range tc.header {
					header[k] = strings.ReplaceAll(val, token, hostTok)
				}
				got := outcomeOf(s.do(t, http.MethodPost, postPath, strings.NewReader(v.Encode()), header))
				if diff := cmp.Diff(tc.want, got); diff != "" {
					t.Errorf("POST %s outcome mismatch (-want +got):\n%s", postPath, diff)
				}
				ids, filters, _ := red.calls()
				if redelivered := len(ids) + len(filters); (redelivered > 0) != (tc.want == accepted) {
					t.Errorf("redeliverer called %d times, want calls only when accepted", redelivered)
				}
			})
		}
	}
}

// hostTokenOf returns the token of the one session of m.
func hostTokenOf(m *hostMiddleware) string {
	m.mu.Lock()
	defer m.mu.Unlock()
	for _, tok := range m.tokens {
		return tok
	}
	return ""
}

// hiddenPattern finds the hidden fields of a page's forms.
var hiddenPattern = regexp.MustCompile(`<input type="hidden" name="([^"]+)" value="([^"]*)">`)

// formFields returns the hidden fields of the form in a page.
func formFields(t *testing.T, body string) map[string]string {
	t.Helper()
	out := map[string]string{}
	for _, m := range hiddenPattern.FindAllStringSubmatch(body, -1) {
		out[m[1]] = m[2]
	}
	return out
}

// The JSON API keeps its rules under a host middleware and HostCSRF: the
// host's token in its header, and the handler's X-Requested-With.
func TestHostCSRFAPI(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name   string
		header map[string]string
		want   outcome
	}{
		{"HostTokenAndRequestedWith", map[string]string{"X-CSRF-Token": "token", "X-Requested-With": "x"}, outcome{Status: http.StatusOK}},
		{"NoHostToken", map[string]string{"X-Requested-With": "x"}, outcome{http.StatusForbidden, "host"}},
		{"NoRequestedWith", map[string]string{"X-CSRF-Token": "token"}, outcome{http.StatusForbidden, "page"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			fx := newFixture(t)
			host := newHostMiddleware("csrf_token")
			s := newWrappedServer(t, logview.Config{Log: fx.log, Redeliverer: &fakeRedeliverer{log: fx.log},
				HostCSRF: &logview.HostCSRF{Field: "csrf_token", Token: hostToken}}, host.wrap)
			if r := s.get(t, "/api/entries"); r.status != http.StatusOK {
				t.Fatalf("GET /api/entries = %d, want 200", r.status)
			}
			header := map[string]string{"Content-Type": "application/json"}
			for k, v := range tc.header {
				header[k] = strings.ReplaceAll(v, "token", hostTokenOf(host))
			}
			got := outcomeOf(s.do(t, http.MethodPost, "/api/entries/"+fx.erp1002.ID+"/redeliver", nil, header))
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("outcome mismatch (-want +got):\n%s", diff)
			}
		})
	}
}

// Without HostCSRF, the page's forms carry the handler's own token, which
// a host middleware demanding its own refuses: the problem HostCSRF
// solves. With HostCSRF and no Field, the forms carry no token and the
// handler leaves the check to the host.
func TestHostCSRFModes(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name       string
		hostCSRF   *logview.HostCSRF
		hostField  string
		wantFields []string
		want       outcome
	}{
		{"Default", nil, "authenticity_token", []string{"csrf_token"}, outcome{http.StatusForbidden, "host"}},
		{"HostField", &logview.HostCSRF{Field: "authenticity_token", Token: hostToken}, "authenticity_token",
			[]string{"authenticity_token"}, outcome{Status: http.StatusSeeOther}},
		{"NoFieldHostWantsOne", &logview.HostCSRF{}, "authenticity_token", nil, outcome{http.StatusForbidden, "host"}},
		{"NoField", &logview.HostCSRF{}, "", nil, outcome{Status: http.StatusSeeOther}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			fx := newFixture(t)
			host := newHostMiddleware(tc.hostField)
			s := newWrappedServer(t, logview.Config{Log: fx.log, Redeliverer: &fakeRedeliverer{log: fx.log},
				HostCSRF: tc.hostCSRF}, host.wrap)
			entryPath := "/entries/" + fx.erp1002.ID
			fields := formFields(t, s.get(t, entryPath).body)
			if diff := cmp.Diff(tc.wantFields, slices.Sorted(maps.Keys(fields))); diff != "" {
				t.Errorf("form fields mismatch (-want +got):\n%s", diff)
			}
			got := outcomeOf(s.postForm(t, entryPath+"/redeliver", url.Values(mapValues(fields))))
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("outcome mismatch (-want +got):\n%s", diff)
			}
		})
	}
}

// mapValues returns m as form values.
func mapValues(m map[string]string) map[string][]string {
	out := map[string][]string{}
	for k, v := range m {
		out[k] = []string{v}
	}
	return out
}

// New keeps its own copy of HostCSRF: changing the caller's afterwards
// does not change the forms.
func TestHostCSRFCopied(t *testing.T) {
	t.Parallel()
	fx := newFixture(t)
	host := &logview.HostCSRF{Field: "authenticity_token", Token: hostToken}
	s := newWrappedServer(t, logview.Config{Log: fx.log, Redeliverer: &fakeRedeliverer{log: fx.log}, HostCSRF: host},
		newHostMiddleware("authenticity_token").wrap)
	host.Field = "error"
	fields := formFields(t, s.get(t, "/entries/"+fx.erp1002.ID).body)
	if diff := cmp.Diff([]string{"authenticity_token"}, slices.Sorted(maps.Keys(fields))); diff != "" {
		t.Errorf("form fields mismatch (-want +got):\n%s", diff)
	}
}
