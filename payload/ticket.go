package payload

import (
	"encoding/json"
	"slices"
)

// Ticket is the JSON data packet POSTed to a webhook receiver when a trigger
// fires. Its field names and JSON types follow the published packet exactly;
// Encode (or json.Marshal) writes empty lists as [] rather than null.
type Ticket struct {
	// Id is the ticket number.
	Id int `json:"Id"`
	// Subject is the ticket's subject line.
	Subject string `json:"Subject"`
	// Status is the account-defined status name, such as "Resolved".
	Status string `json:"Status"`
	// Justification is the account-defined reason that accompanies some statuses.
	Justification string `json:"Justification"`
	// Actions are the ticket's interactions (replies, internal notes),
	// oldest first. A host may put only the latest ones here, to keep the
	// packet small, and give the true count in TotalActions.
	Actions []Action `json:"Actions"`
	// WebhookEvents lists one entry per condition of the trigger that fired.
	// The engine fills it in for each delivery; a value set by the caller is
	// replaced.
	WebhookEvents []WebhookEvent `json:"WebhookEvents"`
	// Urgency is the account-defined urgency name, such as "High".
	Urgency string `json:"Urgency"`
	// ServiceFirstLevel is the top level of the service catalogue.
	ServiceFirstLevel string `json:"ServiceFirstLevel"`
	// CustomFieldValues holds the values of the account's custom fields.
	CustomFieldValues []CustomFieldValue `json:"CustomFieldValues"`
	// SlaSolutionTime is the SLA solution time, in minutes.
	SlaSolutionTime int `json:"SlaSolutionTime"`

	// TotalActions is the ticket's true number of actions, for a host
	// whose Actions holds only the latest ones. It is not part of the
	// packet: receivers never see it. ActionCount reads it.
	TotalActions int `json:"-"`
}

// ActionCount returns the ticket's number of actions: TotalActions, or
// len(Actions) when that is larger (a host that does not set
// TotalActions). Conditions on the ActionCount field read it, and
// expressions can call Ticket.ActionCount().
func (t Ticket) ActionCount() int { return max(t.TotalActions, len(t.Actions)) }

// Action is one interaction on a ticket.
type Action struct {
	Id              int          `json:"Id"`
	Description     string       `json:"Description"`
	HtmlDescription string       `json:"HtmlDescription"`
	Attachments     []Attachment `json:"Attachments"`
}

// Attachment is a file attached to an Action.
type Attachment struct {
	FileName string `json:"FileName"`
	Path     string `json:"Path"`
	// CreatedBy is the person who attached the file.
	CreatedBy Person `json:"CreatedBy"`
	// CreatedDate is an ISO-8601 date and time, kept as the string the
	// helpdesk supplied.
	CreatedDate string `json:"CreatedDate"`
}

// Person is a person, company or department known to the helpdesk.
type Person struct {
	Id           string      `json:"Id"`
	PersonType   PersonType  `json:"PersonType"`
	ProfileType  ProfileType `json:"ProfileType"`
	BusinessName string      `json:"BusinessName"`
	Email        string      `json:"Email"`
	Phone        string      `json:"Phone"`
}

// PersonType says what kind of entity a Person is. It encodes as a JSON number.
type PersonType int

// The person types of the data packet.
const (
	PersonTypePerson     PersonType = 1
	PersonTypeCompany    PersonType = 2
	PersonTypeDepartment PersonType = 4
)

// ProfileType says which roles a Person has. It encodes as a JSON number.
type ProfileType int

// The profile types of the data packet.
const (
	ProfileTypeAgent          ProfileType = 1
	ProfileTypeClient         ProfileType = 2
	ProfileTypeAgentAndClient ProfileType = 3
)

// CustomFieldValue is the value of one custom field on a ticket.
type CustomFieldValue struct {
	CustomFieldId     int               `json:"CustomFieldId"`
	CustomFieldRuleId int               `json:"CustomFieldRuleId"`
	Line              int               `json:"Line"`
	Value             string            `json:"Value"`
	Items             []CustomFieldItem `json:"Items"`
}

// CustomFieldItem is one item of a list-valued custom field.
type CustomFieldItem struct {
	PersonId        string `json:"PersonId"`
	ClientId        string `json:"ClientId"`
	Team            string `json:"Team"`
	CustomFieldItem string `json:"CustomFieldItem"`
	StorageFileGuid string `json:"StorageFileGuid"`
	FileName        string `json:"FileName"`
}

// WebhookEvent describes one condition of the trigger that fired: which
// ticket field it looked at (Criteria) and how (Operator). The codes are
// listed in the package documentation and never change meaning.
type WebhookEvent struct {
	Criteria Criteria `json:"Criteria"`
	Operator Operator `json:"Operator"`
}

// Decode parses a JSON data packet. Unknown keys are ignored, so a receiver
// keeps working when the packet gains fields.
func Decode(data []byte) (*Ticket, error) {
	var t Ticket
	if err := json.Unmarshal(data, &t); err != nil {
		return nil, err
	}
	return &t, nil
}

// MarshalJSON encodes t as Encode does, with empty lists as [].
// json.Marshal then escapes <, > and & as \u003c and so on; Encode does
// not.
func (t Ticket) MarshalJSON() ([]byte, error) {
	return Encode(&t)
}

// MarshalJSON encodes a with an empty Attachments list as [].
func (a Action) MarshalJSON() ([]byte, error) {
	return marshal(outAction(a))
}

// MarshalJSON encodes v with an empty Items list as [].
func (v CustomFieldValue) MarshalJSON() ([]byte, error) {
	return marshal(outCustomFieldValue(v))
}

// Clone returns a deep copy of t, so the copy's lists can be changed without
// touching t's.
func (t *Ticket) Clone() *Ticket {
	c := *t
	if t.Actions != nil {
		c.Actions = make([]Action, len(t.Actions))
		for i, a := range t.Actions {
			a.Attachments = slices.Clone(a.Attachments)
			c.Actions[i] = a
		}
	}
	c.WebhookEvents = slices.Clone(t.WebhookEvents)
	if t.CustomFieldValues != nil {
		c.CustomFieldValues = make([]CustomFieldValue, len(t.CustomFieldValues))
		for i, v := range t.CustomFieldValues {
			v.Items = slices.Clone(v.Items)
			c.CustomFieldValues[i] = v
		}
	}
	return &c
}

// CustomField returns the value of the first custom field value with the
// given field id, and whether there was one.
func (t *Ticket) CustomField(id int) (string, bool) {
	for i := range t.CustomFieldValues {
		if t.CustomFieldValues[i].CustomFieldId == id {
			return t.CustomFieldValues[i].Value, true
		}
	}
	return "", false
}
