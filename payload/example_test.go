package payload_test

import (
	"fmt"

	"github.com/tickethooks/tickethooks/payload"
)

// Receivers decode the packet with Decode; unknown keys are ignored.
func ExampleDecode() {
	body := []byte(`{"Id": 7, "Subject": "Broken printer", "Status": "Resolved",
		"WebhookEvents": [{"Criteria": 3, "Operator": 11}], "SlaSolutionTime": 90, "AddedLater": true}`)
	t, err := payload.Decode(body)
	if err != nil {
		fmt.Println(err)
		return
	}
	ev := t.WebhookEvents[0]
	fmt.Println(t.Id, t.Status, ev.Criteria == payload.CriteriaStatus, ev.Operator == payload.OperatorChangedTo)
	// Output: 7 Resolved true true
}

// Encode writes every key of the packet, with empty lists as [].
func ExampleEncode() {
	data, _ := payload.Encode(&payload.Ticket{Id: 7, Subject: "Broken printer", Status: "New"})
	fmt.Println(string(data))
	// Output: {"Id":7,"Subject":"Broken printer","Status":"New","Justification":"","Actions":[],"WebhookEvents":[],"Urgency":"","ServiceFirstLevel":"","CustomFieldValues":[],"SlaSolutionTime":0}
}
