package logview_test

import (
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/tickethooks/tickethooks/executionlog"
	"github.com/tickethooks/tickethooks/executionlog/logview"
)

// formAction finds the target of a page's redelivery form.
var formAction = regexp.MustCompile(`<form method="post" action="([^"]*)"`)

// Ids that a log holds but that NewID never makes (a log accepts any id
// that executionlog.CheckID allows) never reach a page as a URL: the pages
// and the API answer 404 for them, and the list does not link to them
// (issue 10, finding 8).
func TestCraftedIDs(t *testing.T) {
	t.Parallel()
	crafted := []string{"javascript:alert(1)", "//evil.example", "e1", "../redeliver", "01aryz6s41tsv4rrffq69g5fav"}
	log := executionlog.NewMemory(executionlog.MemoryOptions{})
	var entries []*executionlog.Entry
	for i, id := range crafted {
		e := entry(time.Duration(i)*time.Minute, 10+i, "crm", executionlog.StatusFailed, attempt(1, 0, 500, "receiver answered 500", ""))
		e.ID = id
		entries = append(entries, e)
	}
	valid := entry(time.Hour, 99, "crm", executionlog.StatusFailed, attempt(1, time.Hour, 500, "receiver answered 500", ""))
	entries = append(entries, valid)
	if err := log.Add(t.Context(), entries); err != nil {
		t.Fatalf("Add: %v", err)
	}
	red := &fakeRedeliverer{log: log}
	s := newServer(t, logview.Config{Log: log, Redeliverer: red})

	token := s.token(t, "/entries/"+valid.ID)
	for _, id := range crafted {
		p := "/entries/" + url.PathEscape(id)
		got := []answer{
			readAnswer(t, s.get(t, p)),
			readAnswer(t, s.get(t, "/api"+p)),
			readAnswer(t, s.postForm(t, p+"/redeliver", url.Values{"csrf_token": {token}})),
			readAnswer(t, s.postJSON(t, "/api"+p+"/redeliver", "")),
		}
		want := []answer{{404, "html", "no such entry"}, {404, "json", "no such entry"},
			{404, "html", "no such entry"}, {404, "json", "no such entry"}}
		if diff := cmp.Diff(want, got); diff != "" {
			t.Errorf("requests for id %q: answers mismatch (-want +got):\n%s", id, diff)
		}
	}
	if ids, _, _ := red.calls(); len(ids) != 0 {
		t.Errorf("crafted ids were redelivered: %q", ids)
	}

	// The list shows every entry but links only to the valid id.
	list := s.get(t, "/")
	if diff := cmp.Diff([]string{valid.ID}, listed(list.body)); diff != "" {
		t.Errorf("list links mismatch (-want +got):\n%s", diff)
	}
	for _, id := range crafted {
		if strings.Contains(list.body, `href="`+id) || strings.Contains(list.body, `href="entries/`+url.PathEscape(id)) {
			t.Errorf("the list links to %q", id)
		}
	}
	if n := strings.Count(list.body, `<td data-label="Time">`); n != len(entries) {
		t.Errorf("the list shows %d entries, want %d", n, len(entries))
	}

	// The entry page of a valid id posts its form to the id, relative to
	// the page.
	page := s.get(t, "/entries/"+valid.ID)
	m := formAction.FindStringSubmatch(page.body)
	if m == nil {
		t.Fatalf("entry page (status %d) has no redelivery form", page.status)
	}
	if diff := cmp.Diff(valid.ID+"/redeliver", m[1]); diff != "" {
		t.Errorf("form action mismatch (-want +got):\n%s", diff)
	}
	if r := s.postForm(t, "/entries/"+valid.ID+"/redeliver", url.Values{"csrf_token": {token}}); r.status != http.StatusSeeOther {
		t.Errorf("redelivering the valid id: status %d, want 303", r.status)
	}
}
