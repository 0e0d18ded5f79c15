package sqllog

import (
	"database/sql"
	"path/filepath"
	"sync"
	"testing"

	_ "modernc.org/sqlite"
)

// sqliteDSN is the DSN the tests open SQLite files with: a busy timeout so
// that concurrent writers wait for each other, and WAL so that readers do
// not wait for writers. The log does not need _txlock=immediate, so the
// tests leave it out.
const sqliteDSN = "?_pragma=busy_timeout(10000)&_pragma=journal_mode(WAL)"

// sqliteBackend keeps one database file per key, in the temporary
// directory of the test that first asked for it.
func sqliteBackend() backend {
	var (
		mu    sync.Mutex
		paths = make(map[string]string)
	)
	return backend{
		dialect: SQLite,
		open: func(t *testing.T, key string) *sql.DB {
			t.Helper()
			mu.Lock()
			path, ok := paths[key]
			if !ok {
				path = filepath.Join(t.TempDir(), "log.db")
				paths[key] = path
			}
			mu.Unlock()
			db, err := sql.Open("sqlite", "file:"+path+sqliteDSN)
			if err != nil {
				t.Fatalf("sql.Open: %v", err)
			}
			t.Cleanup(func() { db.Close() })
			return db
		},
		unreachable: func() (*sql.DB, error) {
			return sql.Open("sqlite", "file:"+filepath.Join("/nonexistent", "dir", "log.db")+sqliteDSN)
		},
	}
}

func TestSQLite(t *testing.T) {
	t.Parallel()
	runBackend(t, sqliteBackend())
}
