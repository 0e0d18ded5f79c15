// Package sqlsource is a trigger.Source whose triggers are stored in a SQL
// database, one row per trigger, through database/sql: SQLite, PostgreSQL,
// or MySQL and MariaDB. It imports no driver: the host opens a *sql.DB with
// the driver of its choice and names the dialect.
//
//	src, err := sqlsource.New(db, sqlsource.Config{
//		Dialect: sqlsource.Postgres,
//		Options: &trigger.Options{AllowNetworks: allowed, RequireHTTPS: true},
//	})
//	...
//	err = src.Migrate(ctx) // at startup
//	engine, err := tickethooks.New(tickethooks.Config{Triggers: src, ...})
//	...
//	// The admin screen saves a trigger; an invalid one is refused.
//	err = src.Put(ctx, definitionJSON, position)
//
// The triggers are cached in memory: the engine's calls read the cache,
// and ask the database at most every Config.CheckInterval (1 second by
// default), with one small query, whether the triggers changed. Put,
// Delete and SetEnabled take effect at once in the Source that makes them,
// and within CheckInterval in the Sources of other processes. Stored
// definitions that fail to load (a row edited by hand, say, or Options
// made stricter) never replace the triggers being served: Reload returns
// the error, naming the trigger and the part at fault as trigger.Parse
// does, and the engine's calls log it once per change and go on with the
// triggers loaded before.
//
// The engine calls ForTicket inside OnTicketChangeTx, while the host's
// transaction holds a connection, and ForTicket may query the database. On
// a pool limited to one connection (SQLite's usual SetMaxOpenConns(1)),
// give the Source a *sql.DB of its own on the same file, or the check
// waits for the host's transaction, which waits for the check.
//
// # Tables
//
// Migrate creates two tables, named after Config.TablePrefix
// ("tickethooks_" by default):
//
//   - <prefix>triggers: one row per trigger. id is the trigger's id;
//     position orders the triggers (ties by id); enabled says whether the
//     trigger fires, whatever its definition says; definition is the
//     trigger's JSON definition, as trigger.Parse reads one element of
//     its array, with the same id; version is the revision that last
//     wrote the row.
//   - <prefix>trigger_revisions: one row, whose scope is the empty
//     string, and whose revision counts the changes to the triggers. The
//     change check reads it.
//
// A host that writes the triggers table with its own SQL increments the
// revision in the same transaction, or calls Reload after its commit:
//
//	UPDATE tickethooks_trigger_revisions SET revision = revision + 1 WHERE scope = ''
//
// Webhook actions' signing secrets and header values are stored in the
// definitions as written: protect the table as the host protects its other
// credentials.
package sqlsource
