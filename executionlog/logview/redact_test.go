package logview_test

import (
	"context"
	"net/http"
	"strings"
	"testing"

	"github.com/tickethooks/tickethooks/executionlog"
	"github.com/tickethooks/tickethooks/executionlog/logview"
)

// TestURLQueryValuesAreNotShown checks that an entry whose URL holds a
// secret in its query, as entries recorded before the engine redacted URLs
// do, is shown with the query values redacted on the entry page and in the
// JSON API.
func TestURLQueryValuesAreNotShown(t *testing.T) {
	t.Parallel()
	en := entry(0, 1001, "crm", executionlog.StatusSucceeded, attempt(1, 0, 200, "", "ok"))
	en.URL = "https://crm.example.com/hooks?token=s3cr3t-value&account=acme"
	log := executionlog.NewMemory(executionlog.MemoryOptions{})
	if err := log.Add(context.Background(), []*executionlog.Entry{en}); err != nil {
		t.Fatal(err)
	}
	s := newServer(t, logview.Config{Log: log})
	for _, path := range []string{"/entries/" + en.ID, "/api/entries/" + en.ID, "/api/entries"} {
		r := s.get(t, path)
		if r.status != http.StatusOK {
			t.Fatalf("GET %s = %d, want 200", path, r.status)
		}
		if strings.Contains(r.body, "s3cr3t") || strings.Contains(r.body, "acme&") {
			t.Errorf("GET %s shows a query value of the URL:\n%s", path, r.body)
		}
		if !strings.Contains(r.body, "crm.example.com/hooks?token=REDACTED") {
			t.Errorf("GET %s does not show the redacted URL", path)
		}
	}
}
