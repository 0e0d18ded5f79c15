package trigger_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/tickethooks/tickethooks/trigger"
)

func TestStore(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	st := trigger.NewStore(nil)
	if got, err := st.ForTicket(ctx, "", ticket("Open")); err != nil || len(got) != 0 {
		t.Errorf("ForTicket on an empty store = %v, %v; want no triggers", got, err)
	}
	if _, err := st.Trigger(ctx, "", "a"); !errors.Is(err, trigger.ErrNotFound) {
		t.Errorf("Trigger(unknown) error = %v, want ErrNotFound", err)
	}

	set, err := trigger.Parse([]byte(`[{"id": "a", "actions": [{"type": "note", "text": "x"}]},
		{"id": "b", "enabled": false, "actions": [{"type": "note", "text": "x"}]}]`), nil)
	if err != nil {
		t.Fatal(err)
	}
	st.Replace(set)
	got, err := st.ForTicket(ctx, "", ticket("Open"))
	if err != nil {
		t.Fatal(err)
	}
	var ids []string
	for _, tr := range got {
		ids = append(ids, tr.ID)
	}
	if diff := cmp.Diff([]string{"a", "b"}, ids); diff != "" {
		t.Errorf("ForTicket ids mismatch (-want +got):\n%s", diff)
	}
	if tr, err := st.Trigger(ctx, "", "b"); err != nil || tr.ID != "b" {
		t.Errorf(`Trigger("b") = %v, %v`, tr, err)
	}
	if st.Set() != set {
		t.Error("Set() is not the Set given to Replace")
	}
	st.Replace(nil)
	if st.Set() == nil || len(st.Set().Triggers()) != 0 {
		t.Error("after Replace(nil), Set() is not an empty Set")
	}

	var zero trigger.Store
	if zero.Set() == nil {
		t.Error("zero Store's Set() is nil")
	}

	cancelled, cancel := context.WithCancel(ctx)
	cancel()
	if _, err := st.ForTicket(cancelled, "", ticket("Open")); !errors.Is(err, context.Canceled) {
		t.Errorf("ForTicket(cancelled ctx) error = %v, want context.Canceled", err)
	}
	if _, err := st.Trigger(cancelled, "", "a"); !errors.Is(err, context.Canceled) {
		t.Errorf("Trigger(cancelled ctx) error = %v, want context.Canceled", err)
	}
}

// TestConcurrentMatch evaluates triggers from many goroutines while the
// Store's Set is replaced; run it with -race.
func TestConcurrentMatch(t *testing.T) {
	t.Parallel()
	// Each generation's triggers match only a ticket whose SlaSolutionTime
	// is the generation number, so a mix-up shows.
	sets := make([]*trigger.Set, 4)
	for g := range sets {
		set, err := trigger.Parse(fmt.Appendf(nil, `[
			{"id": "structured", "conditions": {"all": [{"field": "SlaSolutionTime", "operator": "is", "value": %d}, {"field": "Status", "operator": "changed_to", "value": "Resolved"}]}, "actions": [{"type": "note", "text": "x"}]},
			{"id": "expression", "expression": "Ticket.SlaSolutionTime == %d && ChangedTo(\"Status\", \"Resolved\")", "actions": [{"type": "note", "text": "x"}]},
			{"id": "generation-%d", "actions": [{"type": "note", "text": "x"}]}]`, g, g, g), nil)
		if err != nil {
			t.Fatal(err)
		}
		sets[g] = set
	}
	st := trigger.NewStore(sets[0])
	events := make([]*trigger.Event, len(sets))
	for g := range events {
		after := ticket("Resolved")
		after.SlaSolutionTime = g
		events[g] = trigger.NewEvent(ticket("Open"), after)
	}

	ctx := context.Background()
	var wg sync.WaitGroup
	stop := make(chan struct{})
	wg.Go(func() {
		for i := 0; ; i++ {
			select {
			case <-stop:
				return
			default:
				st.Replace(sets[i%len(sets)])
			}
		}
	})
	errs := make(chan error, 8)
	var workers sync.WaitGroup
	for w := range 8 {
		workers.Go(func() {
			for i := range 300 {
				triggers, err := st.ForTicket(ctx, "", nil)
				if err != nil {
					errs <- err
					return
				}
				var gen int
				if _, err := fmt.Sscanf(triggers[2].ID, "generation-%d", &gen); err != nil {
					errs <- err
					return
				}
				ev := events[(w+i)%len(events)]
				want := ev == events[gen]
				for _, tr := range triggers[:2] {
					if got := tr.Match(ev); got != want {
						errs <- fmt.Errorf("generation %d trigger %q: Match = %v, want %v", gen, tr.ID, got, want)
						return
					}
				}
			}
		})
	}
	workers.Wait()
	close(stop)
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
}

// TestStoreTenants: a Store keeps one Set per tenant; each tenant's
// lookups see only its own triggers, even with the same ids, and options
// with a bad tenant are refused.
func TestStoreTenants(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	load := func(tenant, url string) *trigger.Set {
		t.Helper()
		set, err := trigger.Parse([]byte(`[{"id": "notify", "actions": [{"type": "webhook", "url": "`+url+`"}]}]`),
			&trigger.Options{Tenant: tenant})
		if err != nil {
			t.Fatal(err)
		}
		return set
	}
	st := trigger.NewStore(load("acme", "https://acme.example/hook"))
	st.Replace(load("globex", "https://globex.example/hook"))
	if diff := cmp.Diff([]string{"acme", "globex"}, st.Tenants()); diff != "" {
		t.Errorf("Tenants() mismatch (-want +got):\n%s", diff)
	}
	for _, tenant := range []string{"acme", "globex"} {
		tr, err := st.Trigger(ctx, tenant, "notify")
		if err != nil {
			t.Fatalf("Trigger(%q, notify): %v", tenant, err)
		}
		got, err := st.ForTicket(ctx, tenant, nil)
		if err != nil || len(got) != 1 || got[0] != tr {
			t.Errorf("ForTicket(%q) = %v, %v; want the one trigger %v", tenant, got, err, tr)
		}
		if tr.Tenant != tenant || tr.Actions[0].URL != "https://"+tenant+".example/hook" {
			t.Errorf("tenant %q got trigger of tenant %q with URL %s", tenant, tr.Tenant, tr.Actions[0].URL)
		}
	}
	if _, err := st.Trigger(ctx, "", "notify"); !errors.Is(err, trigger.ErrNotFound) {
		t.Errorf(`Trigger("", notify) = %v, want ErrNotFound: tenant "" has no triggers`, err)
	}
	if got, _ := st.ForTicket(ctx, "initech", nil); len(got) != 0 {
		t.Errorf("ForTicket of an unknown tenant = %v, want none", got)
	}
	st.Remove("acme")
	if _, err := st.Trigger(ctx, "acme", "notify"); !errors.Is(err, trigger.ErrNotFound) {
		t.Errorf("Trigger after Remove(acme) = %v, want ErrNotFound", err)
	}
	if _, err := st.Trigger(ctx, "globex", "notify"); err != nil {
		t.Errorf("Remove(acme) removed globex's trigger: %v", err)
	}

	for _, bad := range []string{"a\x00b", "tab\there", "\xff", strings.Repeat("x", 256)} {
		_, err := trigger.Parse([]byte(`[]`), &trigger.Options{Tenant: bad})
		if !errors.Is(err, trigger.ErrInvalid) || !strings.Contains(err.Error(), "tenant") {
			t.Errorf("Parse with tenant %q: error %v, want ErrInvalid naming the tenant", bad, err)
		}
	}
}
