package tickethooks_test

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"net/netip"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/tickethooks/tickethooks"
	"github.com/tickethooks/tickethooks/executionlog"
	"github.com/tickethooks/tickethooks/executionlog/executionlogtest"
	"github.com/tickethooks/tickethooks/executionlog/sqllog"
	"github.com/tickethooks/tickethooks/internal/textcut"
	"github.com/tickethooks/tickethooks/payload"
	"github.com/tickethooks/tickethooks/trigger"
	"github.com/tickethooks/tickethooks/webhook"
)

// TestStorableCapsMatchTrigger checks that the conformance suite writes
// entries at the caps that package trigger puts on definitions:
// executionlogtest cannot import trigger, so it spells them out.
func TestStorableCapsMatchTrigger(t *testing.T) {
	t.Parallel()
	want := map[string]int{
		"trigger id":        trigger.MaxIDLength,
		"trigger name":      trigger.MaxNameBytes,
		"url":               trigger.MaxURLBytes,
		"headers":           trigger.MaxHeaders,
		"header name":       trigger.MaxHeaderNameBytes,
		"header value":      trigger.MaxHeaderValueBytes,
		"headers, in bytes": trigger.MaxHeaderBytes,
	}
	got := map[string]int{
		"trigger id":        executionlogtest.MaxTriggerIDBytes,
		"trigger name":      executionlogtest.MaxTriggerNameBytes,
		"url":               executionlogtest.MaxURLBytes,
		"headers":           executionlogtest.MaxHeaders,
		"header name":       executionlogtest.MaxHeaderNameBytes,
		"header value":      executionlogtest.MaxHeaderValueBytes,
		"headers, in bytes": executionlogtest.MaxHeaderBytes,
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("caps mismatch (-want trigger +got executionlogtest):\n%s", diff)
	}
	// The room the suite leaves for what the engine adds to the headers.
	growth := trigger.MaxHeaders*len(webhook.Redacted) + len("User-Agent") + len(webhook.UserAgent)
	if room := executionlogtest.MaxLoggedHeaderBytes - trigger.MaxHeaderBytes; growth > room {
		t.Errorf("logged headers can grow by %d bytes beyond trigger.MaxHeaderBytes; executionlogtest allows %d", growth, room)
	}
}

// fuzzNasty is text that definitions may hold and that is hard to store:
// 4-byte runes up to the highest code point, combining and
// right-to-left marks, quotes, backslashes, SQL and LIKE metacharacters.
const fuzzNasty = "é e\u0301 \U0001F600\U00020000\U000E0001\U0010FFFF\uffff\ufeff \u200f\u202e '\"`\\ %_ ;--/* <b>&amp;"

// fuzzFill returns n bytes of fuzzNasty repeated, cut on a rune boundary
// and padded with "x".
func fuzzFill(n int) string {
	s := strings.Repeat(fuzzNasty, n/len(fuzzNasty)+1)
	s = s[:textcut.Boundary(s, n)]
	return s + strings.Repeat("x", n-len(s))
}

// definitionAtTheCaps returns a definition whose every stored value is at
// its cap and full of hard text.
func definitionAtTheCaps() []byte {
	url := "https://h\u00fcoks.example.com/" + strings.Repeat("%F0%9F%98%80", 10) + "/\U0001F600?q=100%&l=a_b'\"\\&x="
	url += strings.Repeat("z", trigger.MaxURLBytes-len(url))
	headers := make(map[string]string, trigger.MaxHeaders)
	budget := trigger.MaxHeaderBytes
	for i := range trigger.MaxHeaders {
		name := fmt.Sprintf("X-%02d-%%_'`|~!#$&*+.^", i)
		if i == 0 {
			name = strings.Repeat("N", trigger.MaxHeaderNameBytes)
		}
		n := min(budget/(trigger.MaxHeaders-i), trigger.MaxHeaderValueBytes+len(name)) - len(name)
		headers[name] = "\t" + fuzzFill(n-1)
		budget -= len(name) + n
	}
	data, err := json.Marshal([]trigger.Definition{{
		ID:   fuzzFill(trigger.MaxIDLength),
		Name: fuzzFill(trigger.MaxNameBytes),
		Actions: []trigger.ActionDefinition{
			{Type: trigger.ActionNote, Text: "a note\n\t" + fuzzFill(trigger.MaxNoteBytes-9)},
			{Type: trigger.ActionWebhook, URL: url, Headers: headers, SecretHeaders: []string{"X-01-%_'`|~!#$&*+.^"}},
		},
	}})
	if err != nil {
		panic(err)
	}
	return data
}

// fuzzOptions load the fuzzed definitions: every network is allowed, so
// that URLs naming any address load, and one custom action type is
// registered.
var fuzzOptions = &trigger.Options{
	ActionTypes:   []string{"custom"},
	AllowNetworks: []netip.Prefix{netip.MustParsePrefix("0.0.0.0/0"), netip.MustParsePrefix("::/0")},
}

// FuzzDefinitionStored checks that every trigger definition that
// trigger.Parse accepts can be fired and that the entries the engine
// records for it are stored, and read back unchanged, by the memory log
// and by a SQLite log. The definitions are fired without their
// conditions and expression, so that every trigger fires on a created
// ticket: what is stored (the trigger's id and name, each webhook
// action's URL and headers) does not depend on them.
func FuzzDefinitionStored(f *testing.F) {
	f.Add([]byte(`[{"id": "resolved-urgent", "name": "Resolved urgent tickets", "conditions": {"all": [{"field": "Status", "operator": "changed_to", "value": "Resolved"}]},
		"actions": [{"type": "webhook", "url": "https://example.com/hooks/tickets", "headers": {"Authorization": "Bearer abc", "X-Tenant": "acme"}, "secret_headers": ["X-Tenant"]},
		            {"type": "note", "text": "sent"}, {"type": "webhook", "url": "https://example.com/b", "secret_url": true}]}]`))
	f.Add([]byte(`[{"id": "a%_'\"\\", "name": "\u202e\udbff\udfff é", "actions": [{"type": "webhook", "url": "http://①②⑦.⓪.⓪.①:8080/p?q=%&x=_"}]},
		{"id": "b", "actions": [{"type": "custom", "k": "\u0000"}, {"type": "webhook", "url": "https://[::1]/", "headers": {"X-Empty": ""}}]}]`))
	f.Add([]byte(`[{"id": "n", "name": "a\u0000b", "actions": [{"type": "webhook", "url": "https://example.com/"}]}]`))
	f.Add([]byte(`[{"id":"w","actions":[{"type":"webhook","url":"https://example.com/h"}]}]`))
	f.Add([]byte(`[{"id":"h","name":"Headers","actions":[{"type":"webhook","url":"https://example.com/h","headers":{"X-A":"1","x-b":"\t2 ","Cookie":"s=1","X-Api-Key":"k","User-Agent":"me"}}]}]`))
	f.Add([]byte(`[{"id":"s","enabled":false,"on":["updated"],"expression":"Ticket.Id > 0","actions":[{"type":"webhook","url":"https://example.com/h","secrets":["whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"]}]}]`))
	f.Add([]byte(`[{"id":"i","name":"ünï ☃ 😀","actions":[{"type":"webhook","url":"https://bücher.example/ü/😀?q=ü&p=%25"},{"type":"webhook","url":"http://10.0.0.1:8080/"}]}]`))
	f.Add([]byte(`[{"id":"a","actions":[{"type":"note","text":"n"}]},{"id":"b","name":"","actions":[{"type":"webhook","url":"https://a.example/","headers":{}}]},{"id":"c","actions":[{"type":"custom"},{"type":"webhook","url":"https://c.example/"}]}]`))
	sqlite := openSQLiteLog(f)
	f.Fuzz(func(t *testing.T, data []byte) {
		fireAndCheckStored(t, sqlite, data)
	})
}

// FuzzDefinitionFieldsStored is FuzzDefinitionStored for definitions
// built in Go and loaded with trigger.Compile, whose strings may hold
// what JSON cannot carry to Parse (invalid UTF-8): each of the values a
// webhook action stores is fuzzed on its own.
func FuzzDefinitionFieldsStored(f *testing.F) {
	f.Add("trg-notify-erp", "Notify ERP", "https://erp.example.com/hooks/tickets?tenant=acme", "X-Tenant", "acme", "X-Token", "Sent to the ERP")
	f.Add("a%_'\"\\", "\u202e\U0010FFFF e\u0301 ;--", "http://①②⑦.⓪.⓪.①:8080/ü/😀?q=100%&l=a_b", "X-%_'`|~", "\t<b>&amp; \U0001F600", "x-%_'`|~", "line 1\r\n\tline 2")
	f.Add("n", "a\x00b", "https://example.com/caf\xe9", "X-A", "caf\xe9", "X-A", "caf\xe9")
	sqlite := openSQLiteLog(f)
	f.Fuzz(func(t *testing.T, id, name, url, headerName, headerValue, secretHeader, text string) {
		set, err := trigger.Compile([]trigger.Definition{{ID: id, Name: name, Actions: []trigger.ActionDefinition{
			{Type: trigger.ActionWebhook, URL: url, Headers: map[string]string{headerName: headerValue}, SecretHeaders: []string{secretHeader}},
			{Type: trigger.ActionNote, Text: text},
		}}}, fuzzOptions)
		if err != nil {
			return
		}
		fireAndCheckSet(t, sqlite, set)
	})
}

// TestDefinitionStored runs FuzzDefinitionStored's check on definitions
// too large to fuzz from: one at every cap, and ones over them.
func TestDefinitionStored(t *testing.T) {
	t.Parallel()
	sqlite := openSQLiteLog(t)
	tests := []struct {
		name   string
		in     []byte
		loaded bool
	}{
		{"at the caps", definitionAtTheCaps(), true},
		{"name with NUL", []byte(`[{"id": "n", "name": "a\u0000b", "actions": [{"type": "webhook", "url": "https://example.com/"}]}]`), false},
		{"name of 80,000 bytes", []byte(`[{"id": "long", "name": "` + strings.Repeat("\u00e9", 40000) + `", "actions": [{"type": "webhook", "url": "https://example.com/"}]}]`), false},
		{"URL of 70,000 bytes", []byte(`[{"id": "long", "actions": [{"type": "webhook", "url": "https://example.com/` + strings.Repeat("p", 70000) + `"}]}]`), false},
		{"header values of 1 MiB", []byte(`[{"id": "big", "actions": [{"type": "webhook", "url": "https://example.com/", "headers": ` + headersOf(128, 8192) + `}]}]`), false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := fireAndCheckStored(t, sqlite, tt.in); got != tt.loaded {
				t.Errorf("loaded = %t, want %t", got, tt.loaded)
			}
		})
	}
}

// headersOf returns a JSON object of n headers with values of size bytes.
func headersOf(n, size int) string {
	h := make(map[string]string, n)
	for i := range n {
		h[fmt.Sprintf("X-H%d", i)] = strings.Repeat("v", size)
	}
	data, err := json.Marshal(h)
	if err != nil {
		panic(err)
	}
	return string(data)
}

// openSQLiteLog returns a migrated SQLite log in a temporary file.
func openSQLiteLog(tb testing.TB) *sqllog.Log {
	tb.Helper()
	db, err := sql.Open("sqlite", "file:"+filepath.Join(tb.TempDir(), "log.db")+"?_pragma=busy_timeout(10000)&_pragma=journal_mode(WAL)&_pragma=synchronous(OFF)")
	if err != nil {
		tb.Fatalf("sql.Open: %v", err)
	}
	tb.Cleanup(func() { db.Close() })
	l, err := sqllog.New(db, sqllog.Config{Dialect: sqllog.SQLite})
	if err != nil {
		tb.Fatalf("sqllog.New: %v", err)
	}
	if err := l.Migrate(context.Background()); err != nil {
		tb.Fatalf("Migrate: %v", err)
	}
	return l
}

// fireAndCheckStored loads the definitions in data and, when they load,
// fires them on a created ticket and checks what the engine stores. It
// reports whether they loaded.
func fireAndCheckStored(t *testing.T, sqlite executionlog.Log, data []byte) bool {
	t.Helper()
	set, err := trigger.Parse(data, fuzzOptions)
	if err != nil {
		if testing.Verbose() {
			t.Logf("not loaded: %s", textcut.Cut(err.Error(), 1000))
		}
		return false
	}
	fireAndCheckSet(t, sqlite, set)
	return true
}

// fireAndCheckSet fires the triggers of set on a created ticket, without
// their conditions, and checks what the engine stores.
func fireAndCheckSet(t *testing.T, sqlite executionlog.Log, set *trigger.Set) {
	t.Helper()
	set = unconditional(t, set)
	tee := &teeLog{Log: executionlog.NewMemory(executionlog.MemoryOptions{}), also: sqlite}
	engine, err := tickethooks.New(tickethooks.Config{
		Triggers: trigger.NewStore(set),
		Log:      tee,
		Sender:   refuseSender{},
		Notes:    tickethooks.NoteWriterFunc(func(context.Context, tickethooks.ActionCall, string) error { return nil }),
		Actions: map[string]tickethooks.ActionHandler{
			"custom": tickethooks.ActionHandlerFunc(func(context.Context, tickethooks.ActionCall) error { return nil }),
		},
		Workers: 1,
		Logger:  slog.New(slog.DiscardHandler),
		Now:     func() time.Time { return time.Now().UTC().Truncate(time.Microsecond) },
	})
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	ticket := &payload.Ticket{Id: 7, Subject: "Impressora não liga", Status: "New"}
	fireErr := engine.OnTicketChange(context.Background(), nil, ticket)
	if err := engine.Close(context.Background()); err != nil {
		t.Errorf("Close: %v", err)
	}
	if fireErr != nil {
		t.Fatalf("OnTicketChange: %s", textcut.Cut(fireErr.Error(), 1000))
	}
	checkStored(t, set, tee)
}

// unconditional returns set with every trigger enabled, on every change,
// without conditions or expression.
func unconditional(t *testing.T, set *trigger.Set) *trigger.Set {
	t.Helper()
	var defs []trigger.Definition
	for _, tr := range set.Triggers() {
		d := tr.Definition()
		d.Enabled, d.On, d.Conditions, d.Expression = nil, nil, trigger.Conditions{}, ""
		defs = append(defs, d)
	}
	out, err := trigger.Compile(defs, fuzzOptions)
	if err != nil {
		t.Fatalf("Compile(definitions without conditions): %v", err)
	}
	return out
}

// checkStored checks that the engine recorded one entry per webhook action
// of set, and that each reads back from both logs as it was added.
func checkStored(t *testing.T, set *trigger.Set, tee *teeLog) {
	t.Helper()
	type action struct {
		TriggerID, TriggerName string
		ActionIndex            int
	}
	var want, got []action
	for _, tr := range set.Triggers() {
		for i, a := range tr.Actions {
			if a.Type == trigger.ActionWebhook {
				want = append(want, action{tr.ID, tr.Name, i})
			}
		}
	}
	added := tee.entries()
	for _, e := range added {
		got = append(got, action{e.TriggerID, e.TriggerName, e.ActionIndex})
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("recorded actions mismatch (-want +got):\n%s", diff)
	}
	for _, e := range added {
		if err := withinStorableCaps(e); err != nil {
			t.Errorf("entry of trigger %q action %d: %v", textcut.Cut(e.TriggerID, 100), e.ActionIndex, err)
		}
	}
	// The engine has attempted the deliveries in the memory log since.
	delivery := cmpopts.IgnoreFields(executionlog.Entry{}, "Status", "Attempts", "NextAttemptAt",
		"LeaseOwner", "LeaseUntil", "Note", "UpdatedAt")
	for _, w := range added {
		for _, l := range []struct {
			name string
			log  executionlog.Log
			opts cmp.Options
		}{{"memory", tee.Log, cmp.Options{cmpopts.EquateEmpty(), delivery}}, {"SQLite", tee.also, cmp.Options{cmpopts.EquateEmpty()}}} {
			e, err := l.log.Get(context.Background(), executionlog.Scope{}, w.ID)
			if err != nil {
				t.Errorf("%s log: Get(%q): %v", l.name, w.ID, err)
				continue
			}
			if diff := cmp.Diff(w, e, l.opts); diff != "" {
				t.Errorf("%s log: entry of trigger %q action %d mismatch (-want +got):\n%s", l.name, w.TriggerID, w.ActionIndex, diff)
			}
		}
	}
}

// withinStorableCaps checks that the fields of e that come from a trigger
// definition are within what the conformance suite shows every log
// stores (executionlogtest's Storable tests): valid UTF-8 without NUL, at
// most the caps long. The memory and SQLite logs store more than
// PostgreSQL and MariaDB do, so a round trip through them alone would not
// catch a value that only those refuse.
func withinStorableCaps(e executionlog.Entry) error {
	var errs []error
	text := func(what, s string, limit int) {
		switch {
		case len(s) > limit:
			errs = append(errs, fmt.Errorf("%s is %d bytes, above %d", what, len(s), limit))
		case !utf8.ValidString(s) || strings.ContainsRune(s, 0):
			errs = append(errs, fmt.Errorf("%s %q is not UTF-8 text without NUL", what, textcut.Cut(s, 100)))
		}
	}
	text("trigger id", e.TriggerID, executionlogtest.MaxTriggerIDBytes)
	text("trigger name", e.TriggerName, executionlogtest.MaxTriggerNameBytes)
	text("url", e.URL, executionlogtest.MaxURLBytes)
	if n := len(e.RequestHeaders); n > executionlogtest.MaxHeaders+executionlogtest.EngineHeaders {
		errs = append(errs, fmt.Errorf("has %d headers, above %d", n, executionlogtest.MaxHeaders+executionlogtest.EngineHeaders))
	}
	total := 0
	for name, value := range e.RequestHeaders {
		text("header name", name, executionlogtest.MaxHeaderNameBytes)
		text("value of header "+name, value, executionlogtest.MaxHeaderValueBytes)
		switch name {
		case "Content-Type", "Webhook-Id":
		default:
			total += len(name) + len(value)
		}
	}
	if limit := executionlogtest.MaxLoggedHeaderBytes; total > limit {
		errs = append(errs, fmt.Errorf("headers are %d bytes in all, above %d", total, limit))
	}
	return errors.Join(errs...)
}

// teeLog is the memory log the engine works with, that also adds each
// new entry to another log and keeps a copy of it as it was added.
type teeLog struct {
	executionlog.Log
	also executionlog.Log

	mu    sync.Mutex
	added []executionlog.Entry
}

// Add adds the entries to both logs.
func (l *teeLog) Add(ctx context.Context, entries []*executionlog.Entry) error {
	copies := make([]executionlog.Entry, len(entries))
	for i, e := range entries {
		c := *e
		c.RequestHeaders = maps.Clone(e.RequestHeaders)
		c.RequestBody = slices.Clone(e.RequestBody)
		c.Attempts = slices.Clone(e.Attempts)
		copies[i] = c
	}
	if err := l.Log.Add(ctx, entries); err != nil {
		return err
	}
	if err := l.also.Add(ctx, entries); err != nil {
		return fmt.Errorf("second log: %w", err)
	}
	l.mu.Lock()
	l.added = append(l.added, copies...)
	l.mu.Unlock()
	return nil
}

// entries returns the entries added, in order.
func (l *teeLog) entries() []executionlog.Entry {
	l.mu.Lock()
	defer l.mu.Unlock()
	return slices.Clone(l.added)
}

// errNotSent is the outcome of every attempt in FuzzDefinitionStored.
var errNotSent = errors.New("not sent: the fuzz test does not deliver")

// refuseSender sends nothing.
type refuseSender struct{}

func (refuseSender) Send(context.Context, *webhook.Request) (*webhook.Response, error) {
	return nil, errNotSent
}
