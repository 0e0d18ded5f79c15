package sqllog

import (
	"context"
	"fmt"
	"hash/fnv"
	"time"
)

// Migrate creates the log's tables and indexes, or upgrades them to the
// schema this version of the package uses. It is idempotent: each schema
// version is applied once and recorded in the <prefix>migrations table.
//
// Migrate is safe to run from several processes at once: it holds a lock
// while it migrates (PostgreSQL: pg_advisory_xact_lock, with the whole
// migration in one transaction; MySQL/MariaDB: GET_LOCK; SQLite: BEGIN
// IMMEDIATE, with the whole migration in one transaction), so one process
// migrates and the others find the work done. Migrate does nothing to a
// schema newer than it knows.
//
// On PostgreSQL, Migrate also tries, on every run until it succeeds, to
// create the pg_trgm extension and the trigram index for error search;
// when the database does not permit it, error search works without the
// index.
func (l *Log) Migrate(ctx context.Context) error {
	err := l.d.lockMigrate(ctx, l, func(q queryer) error {
		if err := l.applyMigrations(ctx, q); err != nil {
			return err
		}
		return l.d.afterMigrate(ctx, l, q)
	})
	if err != nil {
		return fmt.Errorf("sqllog: migrate %s tables %s*: %w", l.d, l.prefix, err)
	}
	return nil
}

// applyMigrations applies, on q, the migrations newer than the recorded
// version.
func (l *Log) applyMigrations(ctx context.Context, q queryer) error {
	if _, err := l.exec(ctx, q, "CREATE TABLE IF NOT EXISTS "+l.migrations+
		" (version INTEGER NOT NULL PRIMARY KEY, applied_at "+l.d.timeType()+" NOT NULL)"); err != nil {
		return fmt.Errorf("creating the migrations table: %w", err)
	}
	var current int
	if err := l.queryRow(ctx, q, "SELECT COALESCE(MAX(version), 0) FROM "+l.migrations).Scan(&current); err != nil {
		return fmt.Errorf("reading the schema version: %w", err)
	}
	for _, m := range l.d.schema(l) {
		if m.version <= current {
			continue
		}
		done := 0
		if m.applied != "" {
			if err := l.queryRow(ctx, q, m.applied, m.appliedArgs...).Scan(&done); err != nil {
				return fmt.Errorf("schema version %d: checking whether it was applied: %w", m.version, err)
			}
		}
		for _, stmt := range m.stmts {
			if done > 0 {
				break // applied by a run cut short
			}
			if _, err := l.exec(ctx, q, stmt); err != nil {
				return fmt.Errorf("schema version %d: %w", m.version, err)
			}
		}
		if _, err := l.exec(ctx, q, "INSERT INTO "+l.migrations+" (version, applied_at) VALUES (?, ?)",
			m.version, l.d.timeArg(time.Now())); err != nil {
			return fmt.Errorf("recording schema version %d: %w", m.version, err)
		}
	}
	return nil
}

// lockKey returns a 64-bit lock key for name, for PostgreSQL advisory
// locks.
func lockKey(name string) int64 {
	h := fnv.New64a()
	h.Write([]byte("tickethooks/sqllog:" + name))
	return int64(h.Sum64())
}
