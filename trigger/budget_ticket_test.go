package trigger

import (
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/tickethooks/tickethooks/payload"
)

// TestEncodedSizeAtMost checks that encodedSizeAtMost never reports less
// than the real size of a packet, on random tickets whose text is full of
// characters JSON escapes, and whose numbers are as long as they get.
func TestEncodedSizeAtMost(t *testing.T) {
	t.Parallel()
	r := rand.New(rand.NewPCG(1, 2))
	text := func() string {
		var b strings.Builder
		for range r.IntN(40) {
			b.WriteString([]string{"\x00", "\x1f", `"`, `\`, "<", "é", "\u2028", "a"}[r.IntN(8)])
		}
		return b.String()
	}
	num := func() int { return []int{0, -1 << 63, 1<<63 - 1}[r.IntN(3)] }
	for i := range 2000 {
		tk := &payload.Ticket{Id: num(), Subject: text(), Status: text(), Justification: text(), Urgency: text(),
			ServiceFirstLevel: text(), SlaSolutionTime: num()}
		for range r.IntN(4) {
			a := payload.Action{Id: num(), Description: text(), HtmlDescription: text()}
			for range r.IntN(3) {
				a.Attachments = append(a.Attachments, payload.Attachment{FileName: text(), Path: text(), CreatedDate: text(),
					CreatedBy: payload.Person{Id: text(), PersonType: payload.PersonType(num()), ProfileType: payload.ProfileType(num()),
						BusinessName: text(), Email: text(), Phone: text()}})
			}
			tk.Actions = append(tk.Actions, a)
		}
		for range r.IntN(4) {
			c := payload.CustomFieldValue{CustomFieldId: num(), CustomFieldRuleId: num(), Line: num(), Value: text()}
			for range r.IntN(3) {
				c.Items = append(c.Items, payload.CustomFieldItem{PersonId: text(), ClientId: text(), Team: text(),
					CustomFieldItem: text(), StorageFileGuid: text(), FileName: text()})
			}
			tk.CustomFieldValues = append(tk.CustomFieldValues, c)
		}
		for range r.IntN(4) {
			tk.WebhookEvents = append(tk.WebhookEvents, payload.WebhookEvent{Criteria: payload.Criteria(num()), Operator: payload.Operator(num())})
		}
		b, err := payload.Encode(tk)
		if err != nil {
			t.Fatal(err)
		}
		if bound := encodedSizeAtMost(tk); bound < len(b) {
			t.Fatalf("ticket %d: encodedSizeAtMost = %d, but the packet is %d bytes: %s", i, bound, len(b), b)
		}
	}
}
