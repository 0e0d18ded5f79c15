package sqllog

import (
	"database/sql"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestNew(t *testing.T) {
	t.Parallel()
	db, err := sql.Open("sqlite", "file::memory:")
	if err != nil {
		t.Fatalf("sql.Open: %v", err)
	}
	t.Cleanup(func() { db.Close() })
	tests := []struct {
		name       string
		db         *sql.DB
		cfg        Config
		wantPrefix string
		wantErr    string
	}{
		{"Default", db, Config{Dialect: SQLite}, "tickethooks_", ""},
		{"Prefix", db, Config{Dialect: Postgres, TablePrefix: "helpdesk_2_"}, "helpdesk_2_", ""},
		{"MaxPrefix", db, Config{Dialect: MySQL, TablePrefix: strings.Repeat("a", 32)}, strings.Repeat("a", 32), ""},
		{"NilDB", nil, Config{Dialect: SQLite}, "", "db is nil"},
		{"NoDialect", db, Config{}, "", "Dialect is required"},
		{"UpperCase", db, Config{Dialect: SQLite, TablePrefix: "Tickets_"}, "", "TablePrefix"},
		{"Dash", db, Config{Dialect: SQLite, TablePrefix: "th-"}, "", "TablePrefix"},
		{"Quote", db, Config{Dialect: SQLite, TablePrefix: `x"; DROP TABLE y; --`}, "", "TablePrefix"},
		{"TooLong", db, Config{Dialect: SQLite, TablePrefix: strings.Repeat("a", 33)}, "", "TablePrefix"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			l, err := New(tc.db, tc.cfg)
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) || !strings.Contains(err.Error(), "invalid config") {
					t.Errorf("New error = %v, want an invalid config error about %q", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatalf("New: %v", err)
			}
			if diff := cmp.Diff(tc.wantPrefix, l.prefix); diff != "" {
				t.Errorf("prefix mismatch (-want +got):\n%s", diff)
			}
		})
	}
}
