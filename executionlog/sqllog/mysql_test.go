package sqllog

import (
	"testing"

	_ "github.com/go-sql-driver/mysql"
)

// mysqlBackend returns the MySQL/MariaDB backend of TICKETHOOKS_MYSQL_DSN,
// or skips the test when it is not set.
func mysqlBackend(t *testing.T) backend {
	t.Helper()
	return server{
		name:        "MySQL",
		env:         "TICKETHOOKS_MYSQL_DSN",
		driver:      "mysql",
		dialect:     MySQL,
		unreachable: "root:@tcp(127.0.0.1:1)/test?parseTime=true&timeout=5s",
	}.backend(t)
}

func TestMySQL(t *testing.T) {
	t.Parallel()
	runBackend(t, mysqlBackend(t))
}
