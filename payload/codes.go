package payload

// Criteria is the stable integer code of the ticket field a trigger
// condition looks at. It is sent in WebhookEvents.
type Criteria int

// The Criteria codes. Codes are never renumbered or reused.
const (
	CriteriaId                Criteria = 1
	CriteriaSubject           Criteria = 2
	CriteriaStatus            Criteria = 3
	CriteriaJustification     Criteria = 4
	CriteriaUrgency           Criteria = 5
	CriteriaServiceFirstLevel Criteria = 6
	CriteriaSlaSolutionTime   Criteria = 7
	CriteriaActionCount       Criteria = 8
	CriteriaEvent             Criteria = 9
	CriteriaCustomField       Criteria = 10
	CriteriaExpression        Criteria = 11
	// CriteriaAttribute is a condition on one of the host's attributes
	// (a field "Attr.<name>"), whichever it is.
	CriteriaAttribute Criteria = 12
)

// Operator is the stable integer code of a trigger condition's operator. It
// is sent in WebhookEvents.
type Operator int

// The Operator codes. Codes are never renumbered or reused.
const (
	OperatorIs             Operator = 1
	OperatorIsNot          Operator = 2
	OperatorContains       Operator = 3
	OperatorNotContains    Operator = 4
	OperatorLessThan       Operator = 5
	OperatorGreaterThan    Operator = 6
	OperatorPresent        Operator = 7
	OperatorNotPresent     Operator = 8
	OperatorChanged        Operator = 9
	OperatorNotChanged     Operator = 10
	OperatorChangedTo      Operator = 11
	OperatorChangedFrom    Operator = 12
	OperatorNotChangedTo   Operator = 13
	OperatorNotChangedFrom Operator = 14
	OperatorMatches        Operator = 15
	// OperatorIncludes and OperatorNotIncludes test whether a list
	// attribute (such as tags) holds a value.
	OperatorIncludes    Operator = 16
	OperatorNotIncludes Operator = 17
)
