package logview_test

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/tickethooks/tickethooks/executionlog/logview"
)

// fuzzHandler fuzzes the requests to a handler over a log of each kind:
// a GET of a target (a path and query under the handler), or, with a
// body, an API POST of it. No request may answer 5xx: every parameter
// and id is checked before it reaches a log. The seed corpus runs with
// every go test; CI sets the variables of the SQL servers. With -fuzz, use
// a count (-fuzztime=60000x): a duration can end in a spurious "context
// deadline exceeded" (go.dev/issue/75804). The fuzzing engine stops its
// workers without their cleanups, so each leaves its tables (lv<hex>_*)
// in the server's database to drop afterwards.
func fuzzHandler(f *testing.F, kinds ...logKind) {
	var handlers []http.Handler
	for _, k := range kinds {
		log := newLog(f, k)
		h, err := logview.New(logview.Config{Log: log, Redeliverer: &fakeRedeliverer{log: log}, Now: now})
		if err != nil {
			f.Fatalf("New: %v", err)
		}
		handlers = append(handlers, h)
	}
	id := fixtureEntries()[1].ID // failed: the seeds redeliver it
	for _, seed := range [][2]string{
		{"", ""},
		{"?trigger=%00", ""},
		{"?trigger=%FF%FE", ""},
		{"?cursor=MS4wLv8", ""},
		{"?cursor=MS4wLmEAYg", ""},
		{"entries/%00", ""},
		{"api/entries/%ff", ""},
		{"api/entries?trigger=%00&error=%FF&cursor=MS4wLmEAYg", ""},
		{"?from=0000-01-01T00:00:00%2B01:00&to=9999-12-31T23:59:59-01:00", ""},
		{"api/entries?ticket=9223372036854775807&limit=200", ""},
		{"?error=a%00b&status=failed", ""},
		{"entries/" + id, ""},
		{"api/entries/" + id, ""},
		{"entries/javascript:alert(1)", ""},
		{"entries/%2F%2Fevil.example", ""},
		{"redeliver?trigger=%00", ""},
		{"api/redeliver", `{"trigger": "\u0000"}`},
		{"api/redeliver", `{"cursor": "MS4wLv8", "max": 1}`},
		{"api/redeliver", `{"error": "\udfff", "from": "2026-03-14"}`},
		{"api/entries/%ff/redeliver", `{}`},
		{"api/entries/" + id + "/redeliver", `{}`},
	} {
		f.Add(seed[0], seed[1])
	}
	f.Fuzz(func(t *testing.T, target, body string) {
		method := http.MethodGet
		if body != "" {
			method = http.MethodPost
		}
		req, err := http.NewRequest(method, "http://logview.test/"+target, strings.NewReader(body))
		if err != nil {
			return // not a request a client can send
		}
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("X-Requested-With", "fuzz")
		for i, h := range handlers {
			rec := httptest.NewRecorder()
			h.ServeHTTP(rec, req.Clone(t.Context()))
			if rec.Code >= 500 {
				t.Errorf("%s log: %s %q with body %q = %d:\n%s", kinds[i].name, method, target, body, rec.Code, rec.Body)
			}
		}
	})
}

func FuzzHandler(f *testing.F) { fuzzHandler(f, memoryKind, sqliteKind) }

func FuzzHandlerPostgres(f *testing.F) { fuzzHandler(f, postgresKind) }

func FuzzHandlerMySQL(f *testing.F) { fuzzHandler(f, mysqlKind) }
