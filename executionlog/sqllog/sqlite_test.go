package sqllog

import (
	"database/sql"
	"path/filepath"
	"strings"
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

// TestSQLiteErrorSearchPlan shows that SQLite serves an error search from
// a partial index of the entries with an error, newest first, instead
// of reading every entry: one tenant's search from the index that leads
// with the tenant, a search of every tenant from the other. The queries
// have Query's shape for a filter with only ErrorText set.
func TestSQLiteErrorSearchPlan(t *testing.T) {
	t.Parallel()
	tl := newTestLog(t, sqliteBackend())
	tests := []struct {
		name  string
		cond  string
		args  []any
		index string
	}{
		{"OneTenant", "tenant = ? AND ", []any{"acme"}, "entries_error_idx"},
		{"AllTenants", "", nil, "entries_all_error_idx"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			args := append(tc.args, "%timeout%", 51)
			rows, err := tl.db.Query("EXPLAIN QUERY PLAN SELECT "+entryCols+" FROM "+tl.entries+
				" WHERE "+tc.cond+"error_text LIKE ? ESCAPE '!' AND error_text != '' ORDER BY created_at DESC, id DESC LIMIT ?", args...)
			if err != nil {
				t.Fatal(err)
			}
			defer rows.Close()
			var plan []string
			for rows.Next() {
				var id, parent, unused int
				var detail string
				if err := rows.Scan(&id, &parent, &unused, &detail); err != nil {
					t.Fatal(err)
				}
				plan = append(plan, detail)
			}
			if err := rows.Err(); err != nil {
				t.Fatal(err)
			}
			joined := strings.Join(plan, "; ")
			index := strings.Trim(tl.name(tc.index), `"`)
			if !strings.Contains(joined, "USING INDEX "+index+" ") && !strings.HasSuffix(joined, "USING INDEX "+index) ||
				strings.Contains(joined, "TEMP B-TREE") {
				t.Errorf("plan = %q, want a scan of %s in order, without sorting", joined, index)
			}
		})
	}
}
