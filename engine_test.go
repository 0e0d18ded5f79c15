package tickethooks_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/tickethooks/tickethooks"
	"github.com/tickethooks/tickethooks/executionlog"
	"github.com/tickethooks/tickethooks/trigger"
	"github.com/tickethooks/tickethooks/webhook"
)

func TestCloseDrainsInFlight(t *testing.T) {
	t.Parallel()
	url, arrived, release := blockingReceiver(t)
	e, log := newEngine(t, tickethooks.Config{Triggers: loadTriggers(t, resolvedTrigger(url))})
	if err := e.OnTicketChange(context.Background(), ticket("Open"), ticket("Resolved")); err != nil {
		t.Fatal(err)
	}
	<-arrived
	closed := make(chan error, 1)
	go func() { closed <- e.Close(context.Background()) }()
	select {
	case err := <-closed:
		t.Fatalf("Close returned %v while a delivery was in flight", err)
	case <-time.After(20 * time.Millisecond):
	}
	close(release)
	if err := <-closed; err != nil {
		t.Fatalf("Close: %v", err)
	}
	en := waitSettled(t, log, 1)[0]
	if en.Status != executionlog.StatusSucceeded {
		t.Errorf("status = %s, want succeeded: Close must finish in-flight deliveries", en.Status)
	}
}

func TestCloseTimeoutLeavesEntriesPending(t *testing.T) {
	t.Parallel()
	url, arrived, release := blockingReceiver(t)
	log := executionlog.NewMemory(executionlog.MemoryOptions{})
	e, _ := newEngine(t, tickethooks.Config{Triggers: loadTriggers(t, resolvedTrigger(url)), Log: log})
	if err := e.OnTicketChange(context.Background(), ticket("Open"), ticket("Resolved")); err != nil {
		t.Fatal(err)
	}
	<-arrived
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Millisecond)
	defer cancel()
	if err := e.Close(ctx); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Close = %v, want context.DeadlineExceeded", err)
	}
	page, err := log.Query(context.Background(), executionlog.Filter{})
	if err != nil {
		t.Fatal(err)
	}
	en := page.Entries[0]
	if en.Status != executionlog.StatusPending || len(en.Attempts) != 0 || en.LeaseOwner != "" {
		t.Errorf("entry = status %s, %d attempts, lease %q; want pending, no attempt counted, no lease", en.Status, len(en.Attempts), en.LeaseOwner)
	}

	// A new engine on the same log resumes the delivery, once the
	// receiver answers.
	close(release)
	newEngine(t, tickethooks.Config{Triggers: loadTriggers(t, resolvedTrigger(url)), Log: log})
	if got := waitSettled(t, log, 1)[0]; got.Status != executionlog.StatusSucceeded {
		t.Errorf("resumed entry status = %s, want succeeded", got.Status)
	}
}

func TestNewRejectsBadConfig(t *testing.T) {
	t.Parallel()
	store := trigger.NewStore(nil)
	tests := []struct {
		name string
		cfg  tickethooks.Config
		want string
	}{
		{"no triggers", tickethooks.Config{}, "Triggers is required"},
		{"negative workers", tickethooks.Config{Triggers: store, Workers: -1}, "Workers must not be negative"},
		{"nil handler", tickethooks.Config{Triggers: store, Actions: map[string]tickethooks.ActionHandler{"x": nil}}, `Actions["x"] is nil`},
		{"built-in type", tickethooks.Config{Triggers: store, Actions: map[string]tickethooks.ActionHandler{"note": tickethooks.ActionHandlerFunc(nil)}}, "built-in"},
		{"bad retry", tickethooks.Config{Triggers: store, Retry: webhook.RetryPolicy{MaxAttempts: -1}}, "Retry"},
		{"sender and networks", tickethooks.Config{Triggers: store, Sender: loopbackSender(), AllowNetworks: loopback}, "Sender and AllowNetworks are both set"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := tickethooks.New(tt.cfg)
			if !errors.Is(err, tickethooks.ErrInvalidConfig) || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("New = %v, want ErrInvalidConfig mentioning %q", err, tt.want)
			}
		})
	}
}
