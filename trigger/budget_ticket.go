package trigger

import (
	"fmt"

	"github.com/tickethooks/tickethooks/payload"
)

// Whether an Event's tickets fit the expression budget, kept in
// Event.fit once known.
const (
	fitUnknown int32 = iota
	fitYes
	fitNo
)

// fitsBudget reports whether both tickets of the change encode to at most
// BudgetTicketSize bytes, the size for which every expression's cost was
// bounded at load. It is worked out once per Event.
func (e *Event) fitsBudget() bool {
	switch e.fit.Load() {
	case fitYes:
		return true
	case fitNo:
		return false
	}
	fits := ticketFits(e.After) && ticketFits(e.Before)
	if fits {
		e.fit.Store(fitYes)
	} else {
		e.fit.Store(fitNo)
	}
	return fits
}

// errTicketOverBudget is the error of an expression not run because the
// change's tickets are larger than its cost bound allows for.
var errTicketOverBudget = fmt.Errorf("%w: the ticket encodes to more than %d bytes, the size expression costs are bounded for; the expression was not run",
	ErrBudget, BudgetTicketSize)

// ticketFits reports whether t encodes to at most BudgetTicketSize bytes.
// Most tickets are far smaller: an upper bound of their encoded size,
// worked out without encoding, settles them, and only the few near the
// limit are encoded.
func ticketFits(t *payload.Ticket) bool {
	if t == nil || encodedSizeAtMost(t) <= BudgetTicketSize {
		return true
	}
	b, err := payload.Encode(t)
	return err == nil && len(b) <= BudgetTicketSize
}

// encodedSizeAtMost returns an upper bound of the size of t's JSON
// packet: every byte of text escaped in the longest form (\u00XX), and
// ample room for the keys, numbers and punctuation of each object.
func encodedSizeAtMost(t *payload.Ticket) int {
	const (
		escaped = 6   // bytes a byte of text may take in JSON
		object  = 512 // keys, numbers and punctuation of one object
	)
	text := len(t.Subject) + len(t.Status) + len(t.Justification) + len(t.Urgency) + len(t.ServiceFirstLevel)
	n := object + 128*len(t.WebhookEvents)
	for _, a := range t.Actions {
		n += object
		text += len(a.Description) + len(a.HtmlDescription)
		for _, at := range a.Attachments {
			p := at.CreatedBy
			n += object
			text += len(at.FileName) + len(at.Path) + len(at.CreatedDate) +
				len(p.Id) + len(p.BusinessName) + len(p.Email) + len(p.Phone)
		}
	}
	for _, c := range t.CustomFieldValues {
		n += object
		text += len(c.Value)
		for _, it := range c.Items {
			n += object
			text += len(it.PersonId) + len(it.ClientId) + len(it.Team) + len(it.CustomFieldItem) +
				len(it.StorageFileGuid) + len(it.FileName)
		}
	}
	return n + escaped*text
}
