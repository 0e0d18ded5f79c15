// Package sqllog is the Webhook Execution Log, and the delivery queue, in
// a SQL database through database/sql: SQLite, PostgreSQL, or MySQL and
// MariaDB. It passes the executionlogtest conformance suite, like the
// memory log, and adds what a durable log needs: migrations, retention
// (Prune) and the transactional outbox (AddTx).
//
// The package imports no driver. The application opens a *sql.DB with the
// driver of its choice and names the dialect:
//
//	db, err := sql.Open("pgx", "postgres://app@db.internal:5432/helpdesk")
//	...
//	log, err := sqllog.New(db, sqllog.Config{Dialect: sqllog.Postgres})
//	...
//	err = log.Migrate(ctx) // at startup
//
// # Choosing a dialect
//
// SQLite suits a helpdesk that runs as one process: the log lives in one
// file, next to the application's data. Writers take turns, so every
// engine sharing the file waits for the others; run one engine. Use
// PostgreSQL or MySQL/MariaDB when several processes each run an engine
// over the same log: they claim due entries with FOR UPDATE SKIP LOCKED,
// so each entry goes to exactly one engine and no engine waits for
// another.
//
// # DSNs
//
// SQLite, with modernc.org/sqlite (driver "sqlite"), or any driver of
// SQLite 3.35 or later:
//
//	file:/var/lib/helpdesk/tickethooks.db?_pragma=busy_timeout(5000)&_pragma=journal_mode(WAL)&_txlock=immediate
//
// busy_timeout makes a writer wait up to 5 s for another instead of
// failing with "database is locked"; WAL lets readers (the log screen)
// read while the engine writes. The log's own transactions start with a
// write and do not need _txlock=immediate, but a transaction of the
// application passed to AddTx does when it reads before it writes: without
// it, two such transactions can deadlock and one fails at once.
//
// SQLite runs one writer at a time; writers that collide wait in its busy
// handler, which sleeps. With many workers, db.SetMaxOpenConns(1) queues
// them in database/sql instead and delivers faster (BENCHMARKS.md, "SQL
// log", has the figures). With a single connection, a transaction of the
// application holds it until it ends, so do not call the engine outside
// that transaction while it is open.
//
// PostgreSQL 13 or later, with github.com/jackc/pgx/v5/stdlib (driver
// "pgx"): any DSN; the tables are created in the first schema of the
// search_path.
//
// MySQL 8.0 or later, or MariaDB 10.6 or later, with
// github.com/go-sql-driver/mysql (driver "mysql"):
//
//	app:secret@tcp(db.internal:3306)/helpdesk?parseTime=true
//
// parseTime=true is recommended (the log also reads times without it).
// The log writes and reads every time as UTC whatever the loc parameter
// says. Keep the default strict sql_mode, so that a value too long for its
// column fails instead of being cut. One Add statement sends at most about
// 4 MiB of request bodies, within the default 16 MiB max_allowed_packet.
// Claim runs at READ COMMITTED, which MySQL refuses with
// binlog_format=STATEMENT; the defaults (ROW in MySQL 8, MIXED in MariaDB)
// work.
//
// # Migrations
//
// Migrate creates the tables <prefix>entries, <prefix>attempts and
// <prefix>migrations (Config.TablePrefix, "tickethooks_" by default) and
// their indexes, and later upgrades them. It records each applied schema
// version, so running it at every start is cheap, and it takes a lock
// (PostgreSQL advisory lock, MySQL GET_LOCK, SQLite BEGIN IMMEDIATE), so
// several processes may start at once. The other methods fail with the
// database's "no such table" error until it has run.
//
// Each entry is a row of <prefix>entries; its attempts are rows of
// <prefix>attempts keyed by (entry_id, seq). A child table rather than a
// JSON column keeps Update an append of one small row, however many
// attempts with their captured response bodies an entry gathers, keeps
// the bodies and errors as exact bytes, and lets Prune and SQL users reach
// attempts directly. The entries row also keeps error_text, the
// lower-cased errors of its attempts, which is what error search reads.
//
// # Claiming and leases
//
// Claim leases due pending entries to an owner until Claim.Now plus
// Claim.Lease, oldest due first. Update checks the lease in the same
// statement that records the outcome (UPDATE ... WHERE id = ? AND
// lease_owner = ? AND status = 'pending') and appends the attempt in the
// same transaction, so an engine whose lease expired and was taken over
// gets executionlog.ErrLeaseLost and changes nothing. An entry whose
// lease expired, because its engine stopped or stalled, is due again for
// any engine. Engines should use one clock: Claim compares the leases
// with the Now it is given.
//
// # Tenants
//
// An entry's Tenant is the tenant column (schema version 3; 4 on
// SQLite), compared byte by byte (text COLLATE "C" on PostgreSQL,
// VARBINARY(255) on MySQL/MariaDB, which keeps composite keys within
// InnoDB's limit). Migrating keeps existing rows as tenant ""; on a
// large table, rebuilding the indexes holds writes for the time it
// takes. The
// indexes of one tenant's queries lead with it: (tenant, created_at, id)
// for its pages, (tenant, ticket_id, ...), (tenant, trigger_id, ...) and
// (tenant, status, ...) for its filters, and on SQLite the partial index
// of its entries with an error; with 1,000 tenants, a tenant's error
// search reads only its own entries. The (created_at, id) index stays for
// an operator's view of every tenant. Get, Redeliver, Query, Delete and
// Prune put the tenant in their WHERE clause, so an entry of another
// tenant is never read or changed, and is not found.
//
// Delete walks the matching entries oldest first and deletes them with
// their attempts 1,000 per short transaction, pending ones included; an
// engine delivering one then gets executionlog.ErrNotFound from Update.
// CountPending counts through the (tenant, status) index and stops at
// its limit.
//
// A Claim with PerTenant looks among the oldest due entries, at most
// max(4*Limit, 256) of them, and takes at most PerTenant of each tenant:
// on PostgreSQL and SQLite one UPDATE whose subquery numbers the rows of
// each tenant with ROW_NUMBER() OVER (PARTITION BY tenant ...) over that
// window, which PostgreSQL locks with FOR UPDATE SKIP LOCKED; on
// MySQL/MariaDB the window is locked with FOR UPDATE SKIP LOCKED and the
// shares are picked in Go, in the same transaction. Claim.SkipTenants
// becomes tenant NOT IN (...), on PostgreSQL tenant <> ALL of one text[]
// argument. With many busy tenants, or engines
// claiming at once, the shares are approximate.
//
// # Change keys and late attempts
//
// An entry's ChangeKey, the host's idempotency key for the ticket change,
// is the change_key column (schema version 2; 3 on SQLite), NULL when the
// host gave none. A unique index on (tenant, change_key, trigger_id,
// action_index), partial on PostgreSQL and SQLite, holds at most one
// entry per tenant, key, trigger and webhook action. Add inserts keyed entries
// with ON CONFLICT DO NOTHING (MySQL: ON DUPLICATE KEY UPDATE id = id),
// so that a key already stored, or being stored by a transaction that
// then commits, skips the entry without an error that would abort the
// host's transaction in AddTx, and then reads which entries hold the keys
// to set each skipped entry's DuplicateOf. Migrating from version 1
// keeps the existing entries, with no key; on a large table, creating the
// index holds writes for the time it takes.
//
// RecordAttempt (executionlog.AttemptRecorder) appends the attempt of an
// engine whose lease was lost while it could not reach the database. It
// adds one to attempt_count and inserts the attempt numbered by the new
// count, in one statement on PostgreSQL and one transaction elsewhere,
// like Update; the row lock taken by the count's UPDATE orders it with
// the lease holder's Update, so the two never share a number.
//
// # Group commit
//
// Add and Update calls made at the same time share their writes. A call
// that finds no write of its kind in progress is written at once, alone,
// as it would be without grouping, so a lone caller never waits for
// company. Calls that arrive while a write is in progress queue; when it
// ends, everything queued by then (up to 256 calls, about 1,000 rows or
// 4 MiB of bodies) is written as one batch, by the first of those calls,
// in one transaction. On PostgreSQL a batch of updates is one statement
// (UPDATE ... FROM (VALUES ...) in a data-modifying WITH that also inserts
// the attempts); on SQLite, which has one writer, Add and Update calls
// share batches, so that a batch takes the write lock and syncs the WAL
// once for all of them. Add's entries go in multi-row INSERTs; Update
// calls are written one by one inside the transaction on SQLite and
// MySQL/MariaDB.
//
// What a caller can observe:
//
//   - Each call gets its own result, the one it would get alone: an Add
//     stores all of its entries or none, an Update whose lease was lost
//     gets executionlog.ErrLeaseLost (or ErrNotFound) while the others of
//     its batch succeed. When a call returns nil, its write is committed.
//     An Add learns which of its own entries were skipped for a change
//     key stored before or by an earlier call of the batch.
//   - When a batch fails before it commits (a duplicate id, a constraint,
//     a deadlock, a serialization failure), nothing of it is written and
//     each of its calls is written again alone, so that one bad call fails
//     alone. When the commit itself fails, whether the batch was written
//     is unknown, and every call of the batch gets the commit's error, as
//     a lone call would.
//   - Under load a call may wait for the write in progress before its own
//     batch is written: up to about two batch writes instead of one
//     write.
//   - A call whose ctx ends while it is queued returns an error wrapping
//     ctx.Err() and writes nothing. Once taken into a batch, its write is
//     made with the others whatever its ctx, and the call waits for the
//     batch's result even if its ctx ends meanwhile. The batch runs under
//     a context that ends only when the contexts of all its calls have
//     ended, so one caller giving up never fails the others; when all
//     have given up, the batch is abandoned and each call fails with an
//     error wrapping its own ctx.Err() (or, if the commit was under way,
//     with the commit's error).
//   - Two updates of the same entry are never in the same batch: they are
//     written one after the other, as they would be alone.
//   - A batch uses one connection for all its calls. On PostgreSQL and
//     MySQL, callers released together by a batch may then ask for
//     connections together: keep db.SetMaxIdleConns as high as
//     db.SetMaxOpenConns, or database/sql (which keeps 2 idle connections
//     by default) closes the extra ones and opens new ones at the next
//     burst, which costs more than grouping saves (BENCHMARKS.md, "SQL
//     log"). The engine claims from one goroutine and is not hit.
//
// The log starts no background goroutine: a batch is written by one of
// its callers.
//
// # Redelivery and recorded sends
//
// Redeliver puts a finished entry back in the queue with one UPDATE ...
// WHERE id = ? AND tenant = ? AND status IN ('succeeded', 'failed') (no
// tenant condition for executionlog.AllTenants): the entry becomes
// pending and due, keeps its id and attempts, and its series_start column
// records how many attempts came before, so the engine's retry policy
// counts the new series from there. Add also accepts entries already
// succeeded or failed, with their attempts, such as the record of a test
// send; their attempts are written to <prefix>attempts and their errors to
// error_text in the same transaction, so they are found by error search
// like any other entry. The test column marks such test sends.
//
// # Retention
//
// The log keeps every entry until Prune deletes it: call Prune
// periodically with a cutoff such as 30 days ago, for one tenant's scope
// or for executionlog.AllTenants. It deletes finished
// entries, 1,000 per short transaction, and never pending ones, so a
// delivery still being retried is never lost. Add never returns
// executionlog.ErrFull.
//
// # Error search
//
// Filter.ErrorText matches case-insensitively, with Unicode case folding
// in every dialect, because error_text and the search text are both
// lower-cased in Go before the database compares them; % and _ in the
// search text are literal. What serves a page of the search, newest first
// (BENCHMARKS.md, "SQL log", has the times on a million entries):
//
//   - PostgreSQL: a pg_trgm GIN index on error_text serves the LIKE
//     search. Migrate creates the extension and the index when the role
//     may (pg_trgm is a trusted extension from PostgreSQL 13: a database
//     owner may create it); when it may not, Migrate succeeds, search runs
//     without the index (a parallel scan of the entries), and every later
//     Migrate tries again. One tenant's search reads that tenant's
//     entries with an error, newest first, through a partial B-tree
//     index of (tenant, created_at, id) (schema version 3), which the
//     planner prefers when the tenant holds a small part of the log.
//     Building the trigram index on a large log blocks writes while it
//     runs; to avoid that, create it
//     first with CREATE INDEX CONCURRENTLY <prefix>entries_error_idx ON
//     <prefix>entries USING gin (error_text gin_trgm_ops).
//   - SQLite: a partial index of the entries with an error (tenant,
//     created_at, id, error_text; schema version 4, and one without the
//     tenant for a search of every tenant) is scanned newest first, the LIKE
//     tested on the index, and the table read only for matches, until
//     the page is full, so a search never reads the entries without an
//     error.
//   - MySQL/MariaDB: no index serves a substring search (FULLTEXT matches
//     words, and MariaDB has no n-gram parser), so LIKE scans the entries
//     in the range the other filters select, newest first, and stops at
//     the end of the page: quick for a common error, a scan of the whole
//     range for a rare one or none. Narrow the search with a time range,
//     a ticket, a trigger or a status to keep it fast.
//
// In every dialect, the other filters (time range, ticket, trigger,
// status) and paging use B-tree indexes that end in (created_at, id), so
// a page costs the same at any depth of the log.
//
// # Limits
//
// Times are stored in UTC with microsecond precision. In MySQL, ids,
// trigger ids, tenants and lease owners hold at most 255 bytes. PostgreSQL and
// MySQL reject text that is not valid UTF-8 (and PostgreSQL text with NUL
// bytes) in an entry's trigger name, URL, event and headers; attempts'
// errors and response bodies, and request bodies, are binary and kept
// exactly.
package sqllog
