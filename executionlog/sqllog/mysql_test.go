package sqllog

import (
	"database/sql"
	"os"
	"testing"

	_ "github.com/go-sql-driver/mysql"
)

// mysqlBackend returns the MySQL/MariaDB backend of TICKETHOOKS_MYSQL_DSN,
// or skips the test when it is not set. Every log uses its own table
// prefix in the same database.
func mysqlBackend(t *testing.T) backend {
	t.Helper()
	dsn := os.Getenv("TICKETHOOKS_MYSQL_DSN")
	if dsn == "" {
		t.Skip("set TICKETHOOKS_MYSQL_DSN to run the MySQL suite")
	}
	return backend{
		dialect: MySQL,
		open: func(t *testing.T, _ string) *sql.DB {
			t.Helper()
			db, err := sql.Open("mysql", dsn)
			if err != nil {
				t.Fatalf("sql.Open: %v", err)
			}
			db.SetMaxOpenConns(8)
			t.Cleanup(func() { db.Close() })
			return db
		},
		unreachable: func() (*sql.DB, error) {
			return sql.Open("mysql", "root:@tcp(127.0.0.1:1)/test?parseTime=true&timeout=5s")
		},
	}
}

func TestMySQL(t *testing.T) {
	t.Parallel()
	runBackend(t, mysqlBackend(t))
}
