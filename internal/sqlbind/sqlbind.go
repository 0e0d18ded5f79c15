// Package sqlbind rewrites SQL written with ? placeholders for PostgreSQL,
// which numbers them: $1, $2, ...
package sqlbind

import (
	"strconv"
	"strings"
)

// Dollar numbers the ? placeholders of query as $1, $2, ... The query must
// hold no ? other than placeholders (none in literals or comments).
func Dollar(query string) string {
	n := strings.Count(query, "?")
	if n == 0 {
		return query
	}
	var b strings.Builder
	b.Grow(len(query) + 2*n)
	i := 0
	for _, r := range query {
		if r == '?' {
			i++
			b.WriteByte('$')
			b.WriteString(strconv.Itoa(i))
			continue
		}
		b.WriteRune(r)
	}
	return b.String()
}
