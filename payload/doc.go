// Package payload defines the ticket data packet that a webhook trigger
// POSTs to its receiver, and its JSON encoding.
//
// The packet's keys and JSON types are a contract with receivers: Ticket
// encodes to exactly
//
//	{"Id": int, "Subject": string, "Status": string, "Justification": string,
//	 "Actions": [{"Id": int, "Description": string, "HtmlDescription": string,
//	   "Attachments": [{"FileName": string, "Path": string,
//	     "CreatedBy": {"Id": string, "PersonType": int, "ProfileType": int,
//	       "BusinessName": string, "Email": string, "Phone": string},
//	     "CreatedDate": string}]}],
//	 "WebhookEvents": [{"Criteria": int, "Operator": int}],
//	 "Urgency": string, "ServiceFirstLevel": string,
//	 "CustomFieldValues": [{"CustomFieldId": int, "CustomFieldRuleId": int,
//	   "Line": int, "Value": string,
//	   "Items": [{"PersonId": string, "ClientId": string, "Team": string,
//	     "CustomFieldItem": string, "StorageFileGuid": string, "FileName": string}]}],
//	 "SlaSolutionTime": int}
//
// Empty lists are written as [], never null. Decoding ignores unknown keys.
//
// # Person and profile types
//
//	PersonType   1 person, 2 company, 4 department
//	ProfileType  1 agent, 2 client, 3 agent and client
//
// # WebhookEvents codes
//
// WebhookEvents carries one {Criteria, Operator} pair per condition of the
// trigger that fired, in the order the trigger lists them: first the "all"
// conditions, then the "any" conditions, then the expression (if any) as
// {11, 15}. The codes are stable: they are never renumbered or reused.
//
//	Criteria                      Operator
//	 1 Id                          1 is
//	 2 Subject                     2 is_not
//	 3 Status                      3 contains
//	 4 Justification               4 not_contains
//	 5 Urgency                     5 less_than
//	 6 ServiceFirstLevel           6 greater_than
//	 7 SlaSolutionTime             7 present
//	 8 ActionCount                 8 not_present
//	 9 Event (created/updated)     9 changed
//	10 CustomField:<id>           10 not_changed
//	11 Expression                 11 changed_to
//	12 Attr.<name> (any host      12 changed_from
//	   attribute)                 13 not_changed_to
//	                              14 not_changed_from
//	                              15 matches (the trigger's expression held)
//	                              16 includes (a list attribute holds the value)
//	                              17 not_includes
//
// A condition on a host attribute sends {12, operator} whichever the
// attribute: the attribute's name, like its value, is the host's and
// never enters the packet.
package payload
