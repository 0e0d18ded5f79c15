package sqlsource

import (
	"strconv"

	"github.com/tickethooks/tickethooks/internal/sqlbind"
)

// Dialect is the SQL database that holds the triggers.
type Dialect int

// The dialects a Source supports.
const (
	// SQLite is SQLite 3.24 or later.
	SQLite Dialect = iota + 1
	// Postgres is PostgreSQL 9.5 or later.
	Postgres
	// MySQL is MySQL 5.7 or later, or MariaDB 10.3 or later.
	MySQL
)

// String names the dialect.
func (d Dialect) String() string {
	switch d {
	case SQLite:
		return "SQLite"
	case Postgres:
		return "PostgreSQL"
	case MySQL:
		return "MySQL"
	}
	return "Dialect(" + strconv.Itoa(int(d)) + ")"
}

// valid reports whether d is one of the dialects.
func (d Dialect) valid() bool { return d >= SQLite && d <= MySQL }

// quote quotes a table name made of [a-z0-9_].
func (d Dialect) quote(name string) string {
	if d == MySQL {
		return "`" + name + "`"
	}
	return `"` + name + `"`
}

// rebind rewrites a query written with ? placeholders into the dialect's
// placeholders. The queries hold no ? other than placeholders.
func (d Dialect) rebind(query string) string {
	if d != Postgres {
		return query
	}
	return sqlbind.Dollar(query)
}

// schema returns the statements that create the tables triggers and
// revisions when they do not exist, and the revision row. The revision
// row's scope is ""; it leaves room for a revision per group of triggers
// (a tenant) later.
func (d Dialect) schema(triggers, revisions string) []string {
	switch d {
	case MySQL:
		const table = ") ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin"
		return []string{
			`CREATE TABLE IF NOT EXISTS ` + triggers + ` (
				id VARBINARY(256) NOT NULL PRIMARY KEY,
				position BIGINT NOT NULL,
				enabled BOOLEAN NOT NULL,
				definition MEDIUMTEXT NOT NULL,
				version BIGINT NOT NULL` + table,
			`CREATE TABLE IF NOT EXISTS ` + revisions + ` (
				scope VARBINARY(256) NOT NULL PRIMARY KEY,
				revision BIGINT NOT NULL` + table,
			`INSERT IGNORE INTO ` + revisions + ` (scope, revision) VALUES ('', 0)`,
		}
	default:
		return []string{
			`CREATE TABLE IF NOT EXISTS ` + triggers + ` (
				id TEXT NOT NULL PRIMARY KEY,
				position BIGINT NOT NULL,
				enabled BOOLEAN NOT NULL,
				definition TEXT NOT NULL,
				version BIGINT NOT NULL)`,
			`CREATE TABLE IF NOT EXISTS ` + revisions + ` (
				scope TEXT NOT NULL PRIMARY KEY,
				revision BIGINT NOT NULL)`,
			`INSERT INTO ` + revisions + ` (scope, revision) VALUES ('', 0) ON CONFLICT (scope) DO NOTHING`,
		}
	}
}

// upsert returns the statement that stores a trigger row, replacing the
// row with the same id. Its arguments are id, position, enabled,
// definition and version.
func (d Dialect) upsert(triggers string) string {
	const insert = ` (id, position, enabled, definition, version) VALUES (?, ?, ?, ?, ?)`
	if d == MySQL {
		return `INSERT INTO ` + triggers + insert + ` ON DUPLICATE KEY UPDATE
			position = VALUES(position), enabled = VALUES(enabled),
			definition = VALUES(definition), version = VALUES(version)`
	}
	return d.rebind(`INSERT INTO ` + triggers + insert + ` ON CONFLICT (id) DO UPDATE SET
		position = excluded.position, enabled = excluded.enabled,
		definition = excluded.definition, version = excluded.version`)
}
