package executionlog_test

import (
	"context"
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
