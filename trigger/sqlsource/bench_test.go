package sqlsource_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/tickethooks/tickethooks/trigger/sqlsource"
)

// BenchmarkSQLite measures, on SQLite with 100 stored triggers, a
// ForTicket served from memory, one with a change check at every call,
// and a full Reload.
func BenchmarkSQLite(b *testing.B) {
	db := newTestDB(b, backends[0])
	ctx := context.Background()
	writer := db.source(b, sqlsource.Config{})
	for i := range 100 {
		id := fmt.Sprintf("t%03d", i)
		put(b, writer, []byte(`{"id": "`+id+`", "expression": "Ticket.Urgency == 'High' && Changed('Status')",
			"conditions": {"all": [{"field": "Status", "operator": "changed_to", "value": "Resolved"}]},
			"actions": [{"type": "webhook", "url": "http://127.0.0.1:9/`+id+`"}]}`), i)
	}
	for _, bc := range []struct {
		name     string
		interval time.Duration
		run      func(s *sqlsource.Source) error
	}{
		{"ForTicketCached", time.Hour, func(s *sqlsource.Source) error { _, err := s.ForTicket(ctx, "", nil); return err }},
		{"ForTicketChecked", time.Nanosecond, func(s *sqlsource.Source) error { _, err := s.ForTicket(ctx, "", nil); return err }},
		{"Reload100", time.Hour, func(s *sqlsource.Source) error { return s.Reload(ctx) }},
	} {
		b.Run(bc.name, func(b *testing.B) {
			s := db.source(b, sqlsource.Config{CheckInterval: bc.interval})
			if err := s.Reload(ctx); err != nil {
				b.Fatal(err)
			}
			for b.Loop() {
				if err := bc.run(s); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
