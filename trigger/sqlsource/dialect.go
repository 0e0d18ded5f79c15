package sqlsource

import (
	"strconv"
	"strings"

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

// revisionsSchema returns the statements that create the table
// revisions when it does not exist, and its one row, of scope "". The
// table is the same in both versions of the schema.
func (d Dialect) revisionsSchema(revisions string) []string {
	if d == MySQL {
		return []string{
			`CREATE TABLE IF NOT EXISTS ` + revisions + ` (
				scope VARBINARY(256) NOT NULL PRIMARY KEY,
				revision BIGINT NOT NULL` + mysqlTable,
			`INSERT IGNORE INTO ` + revisions + ` (scope, revision) VALUES ('', 0)`,
		}
	}
	return []string{
		`CREATE TABLE IF NOT EXISTS ` + revisions + ` (
			scope TEXT NOT NULL PRIMARY KEY,
			revision BIGINT NOT NULL)`,
		`INSERT INTO ` + revisions + ` (scope, revision) VALUES ('', 0) ON CONFLICT (scope) DO NOTHING`,
	}
}

// mysqlTable ends the CREATE TABLE statements on MySQL.
const mysqlTable = ") ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin"

// triggersSchema returns the statement that creates the table triggers,
// version 2: one row per trigger of each tenant. On MySQL the tenant and
// id are binary strings, compared byte for byte, whose primary key fits
// InnoDB's limit of 3072 bytes.
func (d Dialect) triggersSchema(triggers string) string {
	if d == MySQL {
		return `CREATE TABLE IF NOT EXISTS ` + triggers + ` (
			tenant VARBINARY(255) NOT NULL DEFAULT '',
			id VARBINARY(256) NOT NULL,
			position BIGINT NOT NULL,
			enabled BOOLEAN NOT NULL,
			definition MEDIUMTEXT NOT NULL,
			version BIGINT NOT NULL,
			PRIMARY KEY (tenant, id)` + mysqlTable
	}
	return `CREATE TABLE IF NOT EXISTS ` + triggers + ` (
		tenant TEXT NOT NULL DEFAULT '',
		id TEXT NOT NULL,
		position BIGINT NOT NULL,
		enabled BOOLEAN NOT NULL,
		definition TEXT NOT NULL,
		version BIGINT NOT NULL,
		PRIMARY KEY (tenant, id))`
}

// tenantsSchema returns the statements that create the table tenants,
// new in version 2, and its index on revision, which the change check's
// MAX and the query for the tenants changed since a revision use.
func (d Dialect) tenantsSchema(tenants, index string) []string {
	if d == MySQL {
		return []string{`CREATE TABLE IF NOT EXISTS ` + tenants + ` (
			tenant VARBINARY(255) NOT NULL PRIMARY KEY,
			revision BIGINT NOT NULL,
			INDEX ` + index + ` (revision)` + mysqlTable}
	}
	return []string{
		`CREATE TABLE IF NOT EXISTS ` + tenants + ` (
			tenant TEXT NOT NULL PRIMARY KEY,
			revision BIGINT NOT NULL)`,
		`CREATE INDEX IF NOT EXISTS ` + index + ` ON ` + tenants + ` (revision)`,
	}
}

// columnsQuery returns the query that lists the columns of a table, named
// by its one argument, unquoted; it returns no rows when the table does
// not exist.
func (d Dialect) columnsQuery() string {
	switch d {
	case Postgres:
		return `SELECT attname FROM pg_attribute WHERE attrelid = to_regclass($1) AND attnum > 0 AND NOT attisdropped`
	case MySQL:
		return `SELECT column_name FROM information_schema.columns WHERE table_schema = DATABASE() AND table_name = ?`
	}
	return `SELECT name FROM pragma_table_info(?)`
}

// upgradeTriggers returns the statements that turn the table triggers of
// version 1 (one row per trigger, keyed by id) into version 2, keeping
// every row as a trigger of tenant "". raw is the table's unquoted name;
// pkey is the name of its primary key constraint on PostgreSQL.
func (d Dialect) upgradeTriggers(raw, pkey string) []string {
	triggers := d.quote(raw)
	switch d {
	case MySQL:
		return []string{`ALTER TABLE ` + triggers + ` ADD COLUMN tenant VARBINARY(255) NOT NULL DEFAULT '' FIRST,
			DROP PRIMARY KEY, ADD PRIMARY KEY (tenant, id)`}
	case Postgres:
		return []string{
			`ALTER TABLE ` + triggers + ` ADD COLUMN tenant TEXT NOT NULL DEFAULT ''`,
			`ALTER TABLE ` + triggers + ` DROP CONSTRAINT ` + d.quote(pkey) + `, ADD PRIMARY KEY (tenant, id)`,
		}
	}
	// SQLite cannot change a primary key: the table is copied.
	next := d.quote(raw + "_v2")
	return []string{
		`DROP TABLE IF EXISTS ` + next,
		strings.Replace(d.triggersSchema(next), "IF NOT EXISTS ", "", 1),
		`INSERT INTO ` + next + ` (tenant, id, position, enabled, definition, version)
			SELECT '', id, position, enabled, definition, version FROM ` + triggers,
		`DROP TABLE ` + triggers,
		`ALTER TABLE ` + next + ` RENAME TO ` + triggers,
	}
}

// upsert returns the statement that stores a trigger row, replacing the
// row with the same tenant and id. Its arguments are tenant, id,
// position, enabled, definition and version.
func (d Dialect) upsert(triggers string) string {
	const insert = ` (tenant, id, position, enabled, definition, version) VALUES (?, ?, ?, ?, ?, ?)`
	if d == MySQL {
		return `INSERT INTO ` + triggers + insert + ` ON DUPLICATE KEY UPDATE
			position = VALUES(position), enabled = VALUES(enabled),
			definition = VALUES(definition), version = VALUES(version)`
	}
	return d.rebind(`INSERT INTO ` + triggers + insert + ` ON CONFLICT (tenant, id) DO UPDATE SET
		position = excluded.position, enabled = excluded.enabled,
		definition = excluded.definition, version = excluded.version`)
}

// stamp returns the statement that sets the revision of a tenant's
// triggers. Its arguments are tenant and revision.
func (d Dialect) stamp(tenants string) string {
	const insert = ` (tenant, revision) VALUES (?, ?)`
	if d == MySQL {
		return `INSERT INTO ` + tenants + insert + ` ON DUPLICATE KEY UPDATE revision = VALUES(revision)`
	}
	return d.rebind(`INSERT INTO ` + tenants + insert + ` ON CONFLICT (tenant) DO UPDATE SET revision = excluded.revision`)
}
