package executionlog_test

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/tickethooks/tickethooks/executionlog"
)

func ExampleMemory() {
	ctx := context.Background()
	log := executionlog.NewMemory(executionlog.MemoryOptions{MaxEntries: 1000})

	now := time.Date(2026, time.March, 14, 12, 0, 0, 0, time.UTC)
	for i, ticket := range []int{1042, 1043, 1042} {
		created := now.Add(time.Duration(i) * time.Minute)
		err := log.Add(ctx, []*executionlog.Entry{{
			ID:            executionlog.NewID(created),
			TriggerID:     "notify-erp",
			TriggerName:   "Notify ERP",
			TicketID:      ticket,
			Event:         "updated",
			URL:           "https://erp.example.com/hooks/tickets",
			RequestBody:   fmt.Appendf(nil, `{"Id":%d}`, ticket),
			Status:        executionlog.StatusPending,
			NextAttemptAt: created,
			CreatedAt:     created,
			UpdatedAt:     created,
		}})
		if err != nil {
			fmt.Println(err)
			return
		}
	}

	page, err := log.Query(ctx, executionlog.Filter{TicketID: 1042})
	if err != nil {
		fmt.Println(err)
		return
	}
	for _, e := range page.Entries {
		fmt.Println(e.CreatedAt.Format(time.Kitchen), e.TicketID, e.TriggerName, e.Status, string(e.RequestBody))
	}
	// Output:
	// 12:02PM 1042 Notify ERP pending {"Id":1042}
	// 12:00PM 1042 Notify ERP pending {"Id":1042}
}

// A failed delivery is put back in the queue with Redeliver: it keeps its
// id and attempts, and SeriesStart says where the new series of attempts
// begins.
func ExampleMemory_Redeliver() {
	ctx := context.Background()
	log := executionlog.NewMemory(executionlog.MemoryOptions{})
	now := time.Date(2026, time.March, 14, 12, 0, 0, 0, time.UTC)

	// A record of a send that already failed, such as a test send.
	err := log.Add(ctx, []*executionlog.Entry{{
		ID:          executionlog.NewID(now),
		TicketID:    1042,
		Test:        true,
		URL:         "https://erp.example.com/hooks/tickets",
		RequestBody: []byte(`{"Id":1042}`),
		Status:      executionlog.StatusFailed,
		Attempts: []executionlog.Attempt{{Number: 1, StartedAt: now, StatusCode: 503,
			Error: "receiver answered 503 Service Unavailable"}},
		CreatedAt: now,
		UpdatedAt: now,
	}})
	if err != nil {
		fmt.Println(err)
		return
	}
	page, _ := log.Query(ctx, executionlog.Filter{ErrorText: "service unavailable"})
	id := page.Entries[0].ID

	if err := log.Redeliver(ctx, executionlog.Scope{}, id, now.Add(time.Hour)); err != nil {
		fmt.Println(err)
		return
	}
	e, _ := log.Get(ctx, executionlog.Scope{}, id)
	fmt.Println(e.Status, "due", e.NextAttemptAt.Format(time.Kitchen), "series starts after attempt", e.SeriesStart)

	err = log.Redeliver(ctx, executionlog.Scope{}, id, now.Add(time.Hour))
	fmt.Println(errors.Is(err, executionlog.ErrNotFinished))
	// Output:
	// pending due 1:00PM series starts after attempt 1
	// true
}
