package payload

import (
	"bytes"
	"encoding/json"
)

// Encode returns the JSON data packet for t, with empty lists as [] and
// <, > and & written as they are (json.Marshal would write the equivalent
// \u003c escapes), so the packet's text reads as the ticket's.
//
// It encodes in one pass through types without MarshalJSON methods, which
// is several times cheaper than letting encoding/json call a method per
// nested value.
func Encode(t *Ticket) ([]byte, error) {
	out := ticketJSON{
		Id:                t.Id,
		Subject:           t.Subject,
		Status:            t.Status,
		Justification:     t.Justification,
		Actions:           noActions,
		WebhookEvents:     t.WebhookEvents,
		Urgency:           t.Urgency,
		ServiceFirstLevel: t.ServiceFirstLevel,
		CustomFieldValues: noCustomFieldValues,
		SlaSolutionTime:   t.SlaSolutionTime,
	}
	if out.WebhookEvents == nil {
		out.WebhookEvents = []WebhookEvent{}
	}
	if len(t.Actions) > 0 {
		out.Actions = make([]actionJSON, len(t.Actions))
		for i, a := range t.Actions {
			out.Actions[i] = outAction(a)
		}
	}
	if len(t.CustomFieldValues) > 0 {
		out.CustomFieldValues = make([]customFieldValueJSON, len(t.CustomFieldValues))
		for i, v := range t.CustomFieldValues {
			out.CustomFieldValues[i] = outCustomFieldValue(v)
		}
	}
	return marshal(&out)
}

// The packet's types without methods, with the same keys. Lists that
// hold types with MarshalJSON methods use these instead.
type (
	ticketJSON struct {
		Id                int                    `json:"Id"`
		Subject           string                 `json:"Subject"`
		Status            string                 `json:"Status"`
		Justification     string                 `json:"Justification"`
		Actions           []actionJSON           `json:"Actions"`
		WebhookEvents     []WebhookEvent         `json:"WebhookEvents"`
		Urgency           string                 `json:"Urgency"`
		ServiceFirstLevel string                 `json:"ServiceFirstLevel"`
		CustomFieldValues []customFieldValueJSON `json:"CustomFieldValues"`
		SlaSolutionTime   int                    `json:"SlaSolutionTime"`
	}
	actionJSON struct {
		Id              int          `json:"Id"`
		Description     string       `json:"Description"`
		HtmlDescription string       `json:"HtmlDescription"`
		Attachments     []Attachment `json:"Attachments"`
	}
	customFieldValueJSON struct {
		CustomFieldId     int               `json:"CustomFieldId"`
		CustomFieldRuleId int               `json:"CustomFieldRuleId"`
		Line              int               `json:"Line"`
		Value             string            `json:"Value"`
		Items             []CustomFieldItem `json:"Items"`
	}
)

// Empty lists, shared: encoding only reads them.
var (
	noActions           = []actionJSON{}
	noCustomFieldValues = []customFieldValueJSON{}
	noAttachments       = []Attachment{}
	noItems             = []CustomFieldItem{}
)

func outAction(a Action) actionJSON {
	out := actionJSON(a)
	if out.Attachments == nil {
		out.Attachments = noAttachments
	}
	return out
}

func outCustomFieldValue(v CustomFieldValue) customFieldValueJSON {
	out := customFieldValueJSON(v)
	if out.Items == nil {
		out.Items = noItems
	}
	return out
}

// marshal encodes v as compact JSON without escaping HTML characters.
func marshal(v any) ([]byte, error) {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return nil, err
	}
	return bytes.TrimSuffix(buf.Bytes(), []byte("\n")), nil
}
