package payload_test

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/tickethooks/tickethooks/payload"
)

// specPacket is the example JSON structure of the product description, with
// its type names replaced by values of those types.
const specPacket = `{ "Id": 1, "Subject": "s", "Status": "s", "Justification": "s", "Actions": [ { "Id": 1, "Description": "s", "HtmlDescription": "s", "Attachments": [ { "FileName": "s", "Path": "s", "CreatedBy": { "Id": "s", "PersonType": 1, "ProfileType": 1, "BusinessName": "s", "Email": "s", "Phone": "s" }, "CreatedDate": "s" } ] } ], "WebhookEvents": [ { "Criteria": 1, "Operator": 1 } ], "Urgency": "s", "ServiceFirstLevel": "s", "CustomFieldValues": [ { "CustomFieldId": 1, "CustomFieldRuleId": 1, "Line": 1, "Value": "s", "Items": [ { "PersonId": "s", "ClientId": "s", "Team": "s", "CustomFieldItem": "s", "StorageFileGuid": "s", "FileName": "s" } ] } ], "SlaSolutionTime": 1 }`

func fullTicket() *payload.Ticket {
	return &payload.Ticket{
		Id: 7, Subject: "Printer", Status: "Resolved", Justification: "Fixed",
		Actions: []payload.Action{{
			Id: 1, Description: "Done", HtmlDescription: "<p>Done</p>",
			Attachments: []payload.Attachment{{
				FileName: "log.txt", Path: "/files/log.txt",
				CreatedBy: payload.Person{Id: "p1", PersonType: payload.PersonTypePerson, ProfileType: payload.ProfileTypeAgent,
					BusinessName: "Ana", Email: "ana@example.com", Phone: "+1 555"},
				CreatedDate: "2026-11-26T10:00:00Z",
			}},
		}},
		WebhookEvents:     []payload.WebhookEvent{{Criteria: payload.CriteriaStatus, Operator: payload.OperatorChangedTo}},
		Urgency:           "High",
		ServiceFirstLevel: "IT",
		CustomFieldValues: []payload.CustomFieldValue{{
			CustomFieldId: 12, CustomFieldRuleId: 3, Line: 1, Value: "Gold",
			Items: []payload.CustomFieldItem{{PersonId: "p1", ClientId: "c1", Team: "L1", CustomFieldItem: "Gold", StorageFileGuid: "g", FileName: "f"}},
		}},
		SlaSolutionTime: 90,
	}
}

// shape describes a JSON value by its keys and JSON types, recursively:
// "number", "string", {"key": shape}, [shape of the first element].
func shape(v any) any {
	switch v := v.(type) {
	case map[string]any:
		m := map[string]any{}
		for k, e := range v {
			m[k] = shape(e)
		}
		return m
	case []any:
		if len(v) == 0 {
			return []any{}
		}
		return []any{shape(v[0])}
	case float64:
		return "number"
	case string:
		return "string"
	case nil:
		return "null"
	default:
		return "other"
	}
}

func decodeShape(t *testing.T, data []byte) any {
	t.Helper()
	var v any
	if err := json.Unmarshal(data, &v); err != nil {
		t.Fatalf("decoding %s: %v", data, err)
	}
	return shape(v)
}

func TestEncodeMatchesSpecKeysAndTypes(t *testing.T) {
	t.Parallel()
	data, err := payload.Encode(fullTicket())
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(decodeShape(t, []byte(specPacket)), decodeShape(t, data)); diff != "" {
		t.Errorf("packet keys or types differ from the spec (-spec +encoded):\n%s", diff)
	}
}

func TestEncodeKeyOrderFollowsSpec(t *testing.T) {
	t.Parallel()
	data, _ := payload.Encode(fullTicket())
	want := []string{`"Id"`, `"Subject"`, `"Status"`, `"Justification"`, `"Actions"`, `"WebhookEvents"`, `"Urgency"`, `"ServiceFirstLevel"`, `"CustomFieldValues"`, `"SlaSolutionTime"`}
	last := -1
	for _, k := range want {
		i := strings.Index(string(data), k)
		if i < last {
			t.Errorf("key %s is out of the spec's order in %s", k, data)
		}
		last = i
	}
}

func TestEmptyListsEncodeAsArrays(t *testing.T) {
	t.Parallel()
	tk := &payload.Ticket{
		Id:                1,
		Actions:           []payload.Action{{Id: 2}},
		CustomFieldValues: []payload.CustomFieldValue{{CustomFieldId: 3}},
	}
	data, err := json.Marshal(tk)
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(string(data), "null") {
		t.Errorf("encoded packet has null: %s", data)
	}
	for _, key := range []string{`"WebhookEvents":[]`, `"Attachments":[]`, `"Items":[]`} {
		if !strings.Contains(string(data), key) {
			t.Errorf("encoded packet lacks %s: %s", key, data)
		}
	}
	// A zero ticket, by value and by pointer.
	for _, v := range []any{payload.Ticket{}, &payload.Ticket{}} {
		data, _ := json.Marshal(v)
		want := `{"Id":0,"Subject":"","Status":"","Justification":"","Actions":[],"WebhookEvents":[],"Urgency":"","ServiceFirstLevel":"","CustomFieldValues":[],"SlaSolutionTime":0}`
		if diff := cmp.Diff(want, string(data)); diff != "" {
			t.Errorf("zero ticket mismatch (-want +got):\n%s", diff)
		}
	}
}

func TestDecodeRoundTripAndUnknownKeys(t *testing.T) {
	t.Parallel()
	data, _ := payload.Encode(fullTicket())
	got, err := payload.Decode(data)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(fullTicket(), got); diff != "" {
		t.Errorf("round trip mismatch (-want +got):\n%s", diff)
	}
	extra := `{"Id": 5, "Subject": "x", "NewKey": {"nested": [1, 2]}, "Actions": [{"Id": 1, "Extra": true}]}`
	got, err = payload.Decode([]byte(extra))
	if err != nil {
		t.Fatalf("decoding with unknown keys: %v", err)
	}
	want := &payload.Ticket{Id: 5, Subject: "x", Actions: []payload.Action{{Id: 1}}}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("decode mismatch (-want +got):\n%s", diff)
	}
	if _, err := payload.Decode([]byte(`{"Id": "seven"}`)); err == nil {
		t.Error("decoding a string Id succeeded, want an error")
	}
}

func TestCloneIsDeep(t *testing.T) {
	t.Parallel()
	orig := fullTicket()
	c := orig.Clone()
	c.Actions[0].Attachments[0].FileName = "changed"
	c.CustomFieldValues[0].Items[0].Team = "changed"
	c.WebhookEvents[0].Operator = payload.OperatorIs
	if diff := cmp.Diff(fullTicket(), orig); diff != "" {
		t.Errorf("changing the clone changed the original (-want +got):\n%s", diff)
	}
}

func TestCustomField(t *testing.T) {
	t.Parallel()
	tk := fullTicket()
	if v, ok := tk.CustomField(12); !ok || v != "Gold" {
		t.Errorf("CustomField(12) = %q, %v; want Gold, true", v, ok)
	}
	if v, ok := tk.CustomField(99); ok || v != "" {
		t.Errorf("CustomField(99) = %q, %v; want empty, false", v, ok)
	}
}

func TestCodesAreStable(t *testing.T) {
	t.Parallel()
	// These numbers are a contract with receivers: never change them.
	got := map[string]int{
		"person": int(payload.PersonTypePerson), "company": int(payload.PersonTypeCompany), "department": int(payload.PersonTypeDepartment),
		"agent": int(payload.ProfileTypeAgent), "client": int(payload.ProfileTypeClient), "agent+client": int(payload.ProfileTypeAgentAndClient),
		"c.Id": int(payload.CriteriaId), "c.Status": int(payload.CriteriaStatus), "c.CustomField": int(payload.CriteriaCustomField), "c.Expression": int(payload.CriteriaExpression),
		"o.is": int(payload.OperatorIs), "o.changed_to": int(payload.OperatorChangedTo), "o.not_changed_from": int(payload.OperatorNotChangedFrom), "o.matches": int(payload.OperatorMatches),
	}
	want := map[string]int{
		"person": 1, "company": 2, "department": 4, "agent": 1, "client": 2, "agent+client": 3,
		"c.Id": 1, "c.Status": 3, "c.CustomField": 10, "c.Expression": 11,
		"o.is": 1, "o.changed_to": 11, "o.not_changed_from": 14, "o.matches": 15,
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("codes changed (-want +got):\n%s", diff)
	}
}

func FuzzDecode(f *testing.F) {
	f.Add([]byte(specPacket))
	f.Add([]byte(`{}`))
	f.Add([]byte(`{"Actions": null, "Id": 1e3}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		tk, err := payload.Decode(data)
		if err != nil {
			return
		}
		// Whatever decodes must encode, and decode to the same ticket.
		out, err := payload.Encode(tk)
		if err != nil {
			t.Fatalf("Encode after Decode: %v", err)
		}
		again, err := payload.Decode(out)
		if err != nil {
			t.Fatalf("Decode of our own encoding: %v", err)
		}
		if !cmp.Equal(normalize(tk), normalize(again)) {
			t.Fatalf("round trip changed the ticket:\n%s", cmp.Diff(normalize(tk), normalize(again)))
		}
	})
}

// normalize replaces nil lists with empty ones, as encoding does.
func normalize(t *payload.Ticket) *payload.Ticket {
	data, _ := json.Marshal(t)
	var n payload.Ticket
	_ = json.Unmarshal(data, &n)
	return &n
}

func TestEncodeKeepsHTMLCharacters(t *testing.T) {
	t.Parallel()
	tk := &payload.Ticket{Subject: "<b>Fish & chips</b>", Actions: []payload.Action{{HtmlDescription: "<p>a & b</p>"}},
		CustomFieldValues: []payload.CustomFieldValue{{Value: "<x>"}}}
	data, err := payload.Encode(tk)
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{`"<b>Fish & chips</b>"`, `"<p>a & b</p>"`, `"<x>"`} {
		if !strings.Contains(string(data), want) {
			t.Errorf("encoded packet lacks %s: %s", want, data)
		}
	}
}
