// Package sqlsource is a trigger.Source whose triggers are stored in a SQL
// database, one row per trigger of each tenant (account), through
// database/sql: SQLite, PostgreSQL, or MySQL and MariaDB. It imports no
// driver: the host opens a *sql.DB with the driver of its choice and names
// the dialect.
//
//	src, err := sqlsource.New(db, sqlsource.Config{
//		Dialect: sqlsource.Postgres,
//		Options: &trigger.Options{AllowNetworks: allowed, RequireHTTPS: true},
//	})
//	...
//	err = src.Migrate(ctx) // at startup
//	engine, err := tickethooks.New(tickethooks.Config{Triggers: src, MultiTenant: true, ...})
//	...
//	// Account acme's admin screen saves a trigger; an invalid one is
//	// refused.
//	err = src.Put(ctx, "acme", definitionJSON, position)
//
// # Tenants
//
// Every trigger belongs to a tenant, a string the host chooses from its
// own authentication (never from the definition, which the tenant's admin
// writes). A single-tenant host uses the tenant "" throughout. Trigger ids
// are unique per tenant: two tenants may each have a trigger "notify", and
// ForTicket and Trigger, which take the tenant, only ever return that
// tenant's triggers, each loaded with trigger.Options.Tenant set to it
// (Trigger.Tenant), so that the engine records its entries under the
// tenant. Put, Delete, SetEnabled and DeleteTenant take the tenant too, and
// refuse one that executionlog.ValidateTenant refuses, writing nothing.
// DeleteTenant removes the triggers of an account that leaves.
//
// # Caching and reloads
//
// The triggers are cached in memory, one compiled trigger.Set per tenant:
// the engine's calls read the cache, and ask the database at most every
// Config.CheckInterval (1 second by default), with one small query,
// whether the triggers changed. When they did, the Source reloads the
// tenants whose triggers changed, only those, and keeps the compiled
// triggers of a tenant whose stored rows are unchanged (it compares their
// SHA-256). Put, Delete, SetEnabled and DeleteTenant take effect at once
// in the Source that makes them, and within CheckInterval in the Sources
// of other processes. A tenant's stored definitions that fail to load (a
// row edited by hand, say, or Options made stricter) never replace the
// triggers being served for that tenant, and do not hold back the other
// tenants' changes: Reload returns the error, naming the tenant, the
// trigger and the part at fault as trigger.Parse does, and the engine's
// calls log it once per change and go on with the triggers loaded before.
// A tenant whose stored triggers have never loaded gets the error from
// ForTicket and Trigger.
//
// The engine calls ForTicket inside OnTicketChangeTx, while the host's
// transaction holds a connection, and ForTicket may query the database. On
// a pool limited to one connection (SQLite's usual SetMaxOpenConns(1)),
// give the Source a *sql.DB of its own on the same file, or the check
// waits for the host's transaction, which waits for the check.
//
// # Tables
//
// Migrate creates three tables, named after Config.TablePrefix
// ("tickethooks_" by default), in version 2 of the schema:
//
//   - <prefix>triggers: one row per trigger of a tenant, keyed by
//     (tenant, id). tenant is the trigger's tenant; id is the trigger's
//     id; position orders the tenant's triggers (ties by id); enabled says
//     whether the trigger fires, whatever its definition says; definition
//     is the trigger's JSON definition, as trigger.Parse reads one element
//     of its array, with the same id; version is the revision that last
//     wrote the row. On MySQL and MariaDB tenant and id are VARBINARY,
//     compared byte for byte like the other dialects' TEXT.
//   - <prefix>trigger_tenants: one row per tenant that has had triggers,
//     holding the revision of its last change. Each change through a
//     Source takes a revision above every tenant's; the change check reads
//     the highest, and a reload reads the tenants above the one it knew.
//     A tenant's row stays after DeleteTenant, so that other processes
//     see the change.
//   - <prefix>trigger_revisions: one row, whose scope is the empty
//     string. Its revision marks changes made with the host's own SQL.
//
// Version 1 of the schema had no tenants: Migrate upgrades its tables in
// place, and the triggers stored before become triggers of tenant "". A
// Source of this version cannot read tables of version 1, nor a Source of
// version 1 tables of version 2: upgrade every process that reads the
// triggers together.
//
// A host that writes the triggers table with its own SQL calls Reload
// after its commit, or increments the revision of scope "" in the same
// transaction:
//
//	UPDATE tickethooks_trigger_revisions SET revision = revision + 1 WHERE scope = ''
//
// Every Source then reads every tenant's stored triggers at its next check,
// and recompiles those of the tenants whose rows differ from the ones it
// serves.
//
// Webhook actions' signing secrets and header values are stored in the
// definitions as written: protect the table as the host protects its other
// credentials.
package sqlsource
