package tickethooks_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	"github.com/google/go-cmp/cmp"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	"go.opentelemetry.io/otel/sdk/metric/metricdata"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"

	"github.com/tickethooks/tickethooks"
)

func TestMetricsAndSpans(t *testing.T) {
	t.Parallel()
	var mu sync.Mutex
	var traceparents []string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		n := len(traceparents)
		traceparents = append(traceparents, r.Header.Get("Traceparent"))
		mu.Unlock()
		if n == 0 {
			w.WriteHeader(http.StatusServiceUnavailable)
		}
	}))
	t.Cleanup(srv.Close)

	reader := sdkmetric.NewManualReader()
	mp := sdkmetric.NewMeterProvider(sdkmetric.WithReader(reader))
	spans := tracetest.NewSpanRecorder()
	tp := sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(spans))
	e, log := newEngine(t, tickethooks.Config{
		Triggers: loadTriggers(t, resolvedTrigger(srv.URL)), Retry: fastRetry(3),
		MeterProvider: mp, TracerProvider: tp,
	})
	if err := e.OnTicketChange(context.Background(), ticket("Open"), ticket("Resolved")); err != nil {
		t.Fatal(err)
	}
	en := waitSettled(t, log, 1)[0]

	// One span per attempt, with the destination, status and attempt
	// number, whose trace context reached the receiver.
	ended := spans.Ended()
	if len(ended) != 2 {
		t.Fatalf("got %d spans, want 2 (one per attempt)", len(ended))
	}
	for i, s := range ended {
		attrs := map[string]any{}
		for _, kv := range s.Attributes() {
			attrs[string(kv.Key)] = kv.Value.AsInterface()
		}
		want := map[string]any{
			"server.address": "127.0.0.1", "http.request.method": "POST",
			"tickethooks.attempt": int64(i + 1), "tickethooks.entry_id": en.ID,
			"tickethooks.trigger_id": "resolved", "tickethooks.ticket_id": int64(42),
			"http.response.status_code": int64([]int{503, 200}[i]),
		}
		if diff := cmp.Diff(want, attrs); diff != "" {
			t.Errorf("span %d attributes mismatch (-want +got):\n%s", i, diff)
		}
		wantParent := "00-" + s.SpanContext().TraceID().String() + "-" + s.SpanContext().SpanID().String() + "-01"
		mu.Lock()
		got := traceparents[i]
		mu.Unlock()
		if got != wantParent {
			t.Errorf("attempt %d traceparent = %q, want %q", i+1, got, wantParent)
		}
	}

	got := collectMetrics(t, reader)
	want := map[string]int64{
		"tickethooks.triggers.fired":               1,
		"tickethooks.deliveries outcome=succeeded": 1,
		"tickethooks.attempts status_class=5xx":    1,
		"tickethooks.attempts status_class=2xx":    1,
		"tickethooks.attempt.duration count":       2,
		"tickethooks.deliveries.pending":           0,
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("metrics mismatch (-want +got):\n%s", diff)
	}
}

// collectMetrics returns the sums of reader's counters by name and
// attributes ("name key=value"), and the counts of its histograms
// ("name count").
func collectMetrics(t *testing.T, reader sdkmetric.Reader) map[string]int64 {
	t.Helper()
	var rm metricdata.ResourceMetrics
	if err := reader.Collect(context.Background(), &rm); err != nil {
		t.Fatal(err)
	}
	got := map[string]int64{}
	for _, sm := range rm.ScopeMetrics {
		for _, m := range sm.Metrics {
			switch d := m.Data.(type) {
			case metricdata.Sum[int64]:
				for _, p := range d.DataPoints {
					key := m.Name
					for _, kv := range p.Attributes.ToSlice() {
						key += " " + string(kv.Key) + "=" + kv.Value.Emit()
					}
					got[key] += p.Value
				}
			case metricdata.Histogram[float64]:
				for _, p := range d.DataPoints {
					got[m.Name+" count"] += int64(p.Count)
				}
			}
		}
	}
	return got
}

// TestFailedTriggerIsCounted checks that a trigger whose expression fails
// at run time is skipped, logged and counted, and that the other triggers
// of the change still fire.
func TestFailedTriggerIsCounted(t *testing.T) {
	t.Parallel()
	rcv := newReceiver(t)
	reader := sdkmetric.NewManualReader()
	e, log := newEngine(t, tickethooks.Config{
		Triggers: loadTriggers(t, `[{"id": "broken", "name": "Broken", "expression": "Ticket.Actions[3].Id > 0",
			"actions": [{"type": "webhook", "url": "`+rcv.URL+`"}]}, `+strings.TrimPrefix(resolvedTrigger(rcv.URL), "[")),
		MeterProvider: sdkmetric.NewMeterProvider(sdkmetric.WithReader(reader)),
	})
	if err := e.OnTicketChange(context.Background(), ticket("Open"), ticket("Resolved")); err != nil {
		t.Fatal(err)
	}
	entries := waitSettled(t, log, 1)
	if len(entries) != 1 || entries[0].TriggerID != "resolved" {
		t.Errorf("got %d entries, want one of trigger resolved", len(entries))
	}
	got := collectMetrics(t, reader)
	for name, want := range map[string]int64{"tickethooks.triggers.failed": 1, "tickethooks.triggers.fired": 1} {
		if got[name] != want {
			t.Errorf("%s = %d, want %d", name, got[name], want)
		}
	}
}
