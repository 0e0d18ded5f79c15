package tickethooks

import (
	"log/slog"

	"github.com/tickethooks/tickethooks/executionlog"
)

// entryAttrs returns the log line attributes that name en, then more.
func entryAttrs(en *executionlog.Entry, more ...slog.Attr) []slog.Attr {
	return append(tenantAttrs(en.Tenant, slog.String("entry_id", en.ID), slog.String("trigger_id", en.TriggerID),
		slog.Int("ticket_id", en.TicketID)), more...)
}
