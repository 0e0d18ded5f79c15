package logview_test

import (
	"encoding/json"
	"html"
	"net/http"
	"regexp"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/tickethooks/tickethooks/executionlog/logview"
)

// answer is what a test reads of an error response.
type answer struct {
	Status int
	// Format is "html" or "json", by the Content-Type.
	Format  string
	Message string
}

// htmlMessage finds the error message of a page.
var htmlMessage = regexp.MustCompile(`<p class="message error"[^>]*>([^<]*)</p>`)

// readAnswer returns the status, format and error message of r; the
// message is "" when r holds none.
func readAnswer(t *testing.T, r response) answer {
	t.Helper()
	a := answer{Status: r.status}
	switch ct := r.header.Get("Content-Type"); {
	case strings.HasPrefix(ct, "application/json"):
		var e struct {
			Error string `json:"error"`
		}
		_ = json.Unmarshal([]byte(r.body), &e)
		a.Format, a.Message = "json", e.Error
	case strings.HasPrefix(ct, "text/html"):
		a.Format = "html"
		if m := htmlMessage.FindStringSubmatch(r.body); m != nil {
			a.Message = html.UnescapeString(m[1])
		}
	default:
		a.Format = ct
	}
	return a
}

// The requests that answered 500 on PostgreSQL (issue 10, finding 4),
// and more of their kind, answer 400 or 404 on every log, each in the
// format of the page or API asked.
func TestBadInputEveryLog(t *testing.T) {
	t.Parallel()
	const (
		nul      = `trigger "\x00" holds a control character`
		invalid  = `trigger "\xff\xfe" is not valid UTF-8`
		notFound = "no such entry"
	)
	cursor := func(c string) string {
		return `cursor "` + c + `" is malformed: use the next cursor of a page of this log`
	}
	tests := []struct {
		method, path, body string
		want               answer
	}{
		{"GET", "/?trigger=%00", "", answer{400, "html", nul}},
		{"GET", "/api/entries?trigger=%00", "", answer{400, "json", nul}},
		{"GET", "/?trigger=%FF%FE", "", answer{400, "html", invalid}},
		{"GET", "/api/entries?trigger=%FF%FE", "", answer{400, "json", invalid}},
		{"GET", "/?cursor=MS4wLv8", "", answer{400, "html", cursor("MS4wLv8")}},
		{"GET", "/api/entries?cursor=MS4wLv8", "", answer{400, "json", cursor("MS4wLv8")}},
		{"GET", "/?cursor=MS4wLmEAYg", "", answer{400, "html", cursor("MS4wLmEAYg")}},
		{"GET", "/api/entries?cursor=MS4wLmEAYg", "", answer{400, "json", cursor("MS4wLmEAYg")}},
		{"GET", "/entries/%00", "", answer{404, "html", notFound}},
		{"GET", "/api/entries/%ff", "", answer{404, "json", notFound}},
		{"GET", "/entries/%ff", "", answer{404, "html", notFound}},
		{"GET", "/api/entries/%00", "", answer{404, "json", notFound}},
		{"GET", "/?error=%00", "", answer{400, "html", `error "\x00" holds a control character`}},
		{"GET", "/?error=%FF", "", answer{400, "html", `error "\xff" is not valid UTF-8`}},
		{"GET", "/redeliver?trigger=%00", "", answer{400, "html", nul}},
		{"POST", "/api/redeliver", `{"trigger": "\u0000"}`, answer{400, "json", nul}},
		{"POST", "/api/redeliver?trigger=%FF%FE", "", answer{400, "json", invalid}},
		{"POST", "/api/entries/%ff/redeliver", "", answer{404, "json", notFound}},
	}
	for _, k := range everyKind {
		t.Run(k.name, func(t *testing.T) {
			t.Parallel()
			log := newLog(t, k)
			s := newServer(t, logview.Config{Log: log, Redeliverer: &fakeRedeliverer{log: log}})
			for _, tc := range tests {
				var r response
				if tc.method == http.MethodPost {
					r = s.postJSON(t, tc.path, tc.body)
				} else {
					r = s.get(t, tc.path)
				}
				if diff := cmp.Diff(tc.want, readAnswer(t, r)); diff != "" {
					t.Errorf("%s %s: answer mismatch (-want +got):\n%s", tc.method, tc.path, diff)
				}
			}
		})
	}
}
