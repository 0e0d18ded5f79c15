package executionlog_test

// The memory log part of the benchmark suite (see BENCHMARKS.md):
//
//	go test -run '^$' -bench 'MemoryBytesPerEntry|MemoryCycle' -benchmem ./executionlog/

import (
	"context"
	"fmt"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/tickethooks/tickethooks/executionlog"
)

// suiteBody is a ticket packet of about 1.2 KB, the size the engine
// benchmarks send.
var suiteBody = []byte(`{"Id":48213,"Subject":"Impressora do terceiro andar não imprime","Status":"Resolved",` +
	`"Justification":"","Actions":[` + strings.Repeat(`{"Id":1,"Description":"A impressora mostra erro 0x7F e não imprime nada desde ontem.",`+
	`"HtmlDescription":"<p>A impressora mostra erro 0x7F e não imprime nada desde ontem.</p>","Attachments":[]},`, 5) +
	`{"Id":6,"Description":"Resolvido.","HtmlDescription":"","Attachments":[]}],` +
	`"WebhookEvents":[{"Criteria":3,"Operator":9}],"Urgency":"Critical","ServiceFirstLevel":"TI",` +
	`"CustomFieldValues":[{"CustomFieldId":12,"CustomFieldRuleId":0,"Line":1,"Value":"Gold","Items":[]}],"SlaSolutionTime":240}`)

// suiteEntry returns a pending entry as the engine records it.
func suiteEntry(now time.Time, ticket int) *executionlog.Entry {
	id := executionlog.NewID(now)
	return &executionlog.Entry{
		ID: id, TriggerID: "resolved-urgent", TriggerName: "Resolved urgent tickets", ActionIndex: 0,
		TicketID: ticket, Event: "updated", URL: "https://erp.example.com/hooks/tickets",
		RequestHeaders: map[string]string{
			"Authorization": "[REDACTED]", "Content-Type": "application/json",
			"User-Agent": "tickethooks/0 (+https://github.com/tickethooks/tickethooks)", "Webhook-Id": id,
		},
		RequestBody: suiteBody, Status: executionlog.StatusPending,
		NextAttemptAt: now, CreatedAt: now, UpdatedAt: now,
	}
}

// payloadBytes is the size of the data an entry holds: its strings, header
// names and values, and body, without any Go overhead.
func payloadBytes(e *executionlog.Entry) int {
	n := len(e.ID) + len(e.TriggerID) + len(e.TriggerName) + len(e.Event) + len(e.URL) + len(e.RequestBody) + len(e.Status)
	for k, v := range e.RequestHeaders {
		n += len(k) + len(v)
	}
	return n
}

// liveHeap returns the bytes of live heap objects after a collection.
func liveHeap() uint64 {
	runtime.GC()
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	return m.HeapAlloc
}

// BenchmarkMemoryBytesPerEntry adds b.N pending entries with a 1.2 KB
// packet to a memory log and reports the live heap they take, per entry
// (bytes/entry), beside the bytes of data an entry holds
// (payload-bytes/entry): the difference is the log's overhead (the Entry
// struct, the header map, the index map and the sorted and queue slices).
func BenchmarkMemoryBytesPerEntry(b *testing.B) {
	ctx := context.Background()
	now := time.Now()
	log := executionlog.NewMemory(executionlog.MemoryOptions{MaxEntries: max(b.N, 1)})
	payload := payloadBytes(suiteEntry(now, 1))
	before := liveHeap()
	b.ReportAllocs()
	b.ResetTimer()
	for i := range b.N {
		if err := log.Add(ctx, []*executionlog.Entry{suiteEntry(now, i)}); err != nil {
			b.Fatal(err)
		}
	}
	b.StopTimer()
	after := liveHeap()
	runtime.KeepAlive(log)
	b.ReportMetric(float64(int64(after)-int64(before))/float64(b.N), "bytes/entry")
	b.ReportMetric(float64(payload), "payload-bytes/entry")
}

// BenchmarkMemoryCycle measures one delivery's work in the memory log: Add
// one entry, Claim it, Update it to succeeded with its attempt.
// state=room has space for every entry; state=full starts with the log
// holding its default capacity of 10,000 finished entries, so every Add
// first evicts the oldest, as in an engine that has run for a while with
// the default log.
func BenchmarkMemoryCycle(b *testing.B) {
	for _, state := range []string{"room", "full"} {
		b.Run("state="+state, func(b *testing.B) {
			ctx := context.Background()
			max := b.N + 16
			if state == "full" {
				max = executionlog.DefaultMaxEntries
			}
			log := executionlog.NewMemory(executionlog.MemoryOptions{MaxEntries: max})
			now := time.Now()
			cycle := func(i int) error {
				if err := log.Add(ctx, []*executionlog.Entry{suiteEntry(now, i)}); err != nil {
					return err
				}
				got, err := log.Claim(ctx, executionlog.Claim{Owner: "bench", Now: now, Lease: time.Minute, Limit: 1})
				if err != nil {
					return err
				}
				if len(got) != 1 {
					return fmt.Errorf("claimed %d entries, want 1", len(got))
				}
				att := &executionlog.Attempt{Number: 1, StartedAt: now, Duration: time.Millisecond, StatusCode: 200, ResponseBody: "ok"}
				return log.Update(ctx, executionlog.Update{ID: got[0].ID, Owner: "bench", Status: executionlog.StatusSucceeded, Attempt: att, Now: now})
			}
			if state == "full" {
				for i := range executionlog.DefaultMaxEntries {
					if err := cycle(i); err != nil {
						b.Fatal(err)
					}
				}
			}
			b.ReportAllocs()
			b.ResetTimer()
			for i := range b.N {
				if err := cycle(i); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
