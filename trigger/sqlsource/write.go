package sqlsource

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/tickethooks/tickethooks/executionlog"
	"github.com/tickethooks/tickethooks/trigger"
)

// Migrate creates the Source's tables when they do not exist, and
// upgrades tables of version 1, which had no tenants, to version 2: the
// triggers stored before become triggers of tenant "". It is safe to call
// at every start, and from many processes at once.
func (s *Source) Migrate(ctx context.Context) error {
	var err error
	switch s.d {
	case Postgres:
		// PostgreSQL's CREATE TABLE IF NOT EXISTS can fail when another
		// process runs it at the same time: a lock keyed on the table
		// name makes them take turns, and the upgrade is one transaction.
		err = s.inTx(ctx, func(tx *sql.Tx) error {
			if _, err := tx.ExecContext(ctx, `SELECT pg_advisory_xact_lock(hashtext($1))`, s.triggers); err != nil {
				return err
			}
			return s.migrate(ctx, tx)
		})
	case MySQL:
		// MySQL's DDL is not transactional: a named lock on one
		// connection makes the processes take turns.
		err = s.withMySQLLock(ctx, s.migrate)
	default:
		// The first statements write, so the transaction holds SQLite's
		// write lock from the start.
		err = s.inTx(ctx, func(tx *sql.Tx) error { return s.migrate(ctx, tx) })
	}
	if err != nil {
		return fmt.Errorf("sqlsource: migrating %s: %w", s.triggers, err)
	}
	return nil
}

// migrate creates or upgrades the tables through q, which the caller has
// made the only migration running.
func (s *Source) migrate(ctx context.Context, q queryer) error {
	for _, stmt := range s.d.revisionsSchema(s.revisions) {
		if _, err := q.ExecContext(ctx, stmt); err != nil {
			return err
		}
	}
	cols, err := s.columns(ctx, q, s.rawTriggers)
	if err != nil {
		return err
	}
	switch {
	case len(cols) == 0:
		if _, err := q.ExecContext(ctx, s.d.triggersSchema(s.triggers)); err != nil {
			return err
		}
	case !slices.Contains(cols, "tenant"):
		pkey := ""
		if s.d == Postgres {
			err := q.QueryRowContext(ctx, `SELECT conname FROM pg_constraint WHERE conrelid = to_regclass($1) AND contype = 'p'`,
				s.rawTriggers).Scan(&pkey)
			if err != nil {
				return fmt.Errorf("finding the primary key of version 1: %w", err)
			}
		}
		for _, stmt := range s.d.upgradeTriggers(s.rawTriggers, pkey) {
			if _, err := q.ExecContext(ctx, stmt); err != nil {
				return fmt.Errorf("upgrading from version 1: %w", err)
			}
		}
	}
	for _, stmt := range s.d.tenantsSchema(s.tenants, s.tenantsIndex) {
		if _, err := q.ExecContext(ctx, stmt); err != nil {
			return err
		}
	}
	return nil
}

// columns returns the names of the columns of the table raw (unquoted),
// in lower case, or none when it does not exist.
func (s *Source) columns(ctx context.Context, q queryer, raw string) ([]string, error) {
	rows, err := q.QueryContext(ctx, s.d.columnsQuery(), raw)
	if err != nil {
		return nil, fmt.Errorf("listing the columns of %s: %w", raw, err)
	}
	defer rows.Close()
	var cols []string
	for rows.Next() {
		var c string
		if err := rows.Scan(&c); err != nil {
			return nil, fmt.Errorf("listing the columns of %s: %w", raw, err)
		}
		cols = append(cols, strings.ToLower(c))
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("listing the columns of %s: %w", raw, err)
	}
	return cols, nil
}

// migrationLockWait is how long Migrate waits, on MySQL, for another
// process's migration.
const migrationLockWait = 60 // seconds

// withMySQLLock runs f on one connection holding a MySQL named lock keyed
// on the triggers table.
func (s *Source) withMySQLLock(ctx context.Context, f func(ctx context.Context, q queryer) error) error {
	conn, err := s.db.Conn(ctx)
	if err != nil {
		return err
	}
	defer conn.Close()
	name := "tickethooks:" + s.rawTriggers
	var got sql.NullInt64
	if err := conn.QueryRowContext(ctx, `SELECT GET_LOCK(?, ?)`, name, migrationLockWait).Scan(&got); err != nil {
		return fmt.Errorf("taking the lock %q: %w", name, err)
	}
	if got.Int64 != 1 {
		return fmt.Errorf("taking the lock %q: another migration held it for %ds", name, migrationLockWait)
	}
	defer conn.ExecContext(context.WithoutCancel(ctx), `SELECT RELEASE_LOCK(?)`, name)
	return f(ctx, conn)
}

// Validate reports whether definition, one JSON object in the format
// trigger.Parse reads, loads as a trigger of tenant with the Source's
// Options. A tenant that executionlog.ValidateTenant refuses is an error
// matching executionlog.ErrInvalidTenant. Otherwise the error is
// trigger.Parse's: each problem an *trigger.Error naming the trigger and
// the part at fault, all matching trigger.ErrInvalid. Put validates too;
// an admin screen calls Validate to check a definition without saving it.
func (s *Source) Validate(tenant string, definition []byte) error {
	_, err := s.parse(tenant, definition)
	return err
}

// checkTenant returns an error, naming what the caller was doing, when
// executionlog.ValidateTenant refuses tenant.
func (s *Source) checkTenant(tenant, doing string) error {
	if err := executionlog.ValidateTenant(tenant); err != nil {
		return fmt.Errorf("sqlsource: %s in %s: %w", doing, s.triggers, err)
	}
	return nil
}

// parse loads definition alone, as a trigger of tenant.
func (s *Source) parse(tenant string, definition []byte) (*trigger.Trigger, error) {
	if err := s.checkTenant(tenant, "validating a trigger"); err != nil {
		return nil, err
	}
	// Errors name the tenant, but for tenant "".
	of := ""
	if tenant != "" {
		of = fmt.Sprintf("tenant %q: ", cut(tenant, 64))
	}
	if !isObject(definition) {
		return nil, fmt.Errorf("sqlsource: %s%w", of, &trigger.Error{Index: -1, Err: errNotObject})
	}
	data := make([]byte, 0, len(definition)+2)
	data = append(append(append(data, '['), definition...), ']')
	set, err := trigger.Parse(data, s.optionsFor(tenant))
	if err != nil {
		return nil, fmt.Errorf("sqlsource: %s%w", of, err)
	}
	return set.Triggers()[0], nil
}

// Put validates definition as Validate does and stores it as a trigger of
// tenant, replacing tenant's stored trigger with the same id, at
// position: a tenant's triggers run in the order of their positions, then
// of their ids. The definition's "enabled" member (true when absent) sets
// the trigger's enabled column. An invalid tenant or definition is refused
// with Validate's error and nothing is stored. The other tenants'
// triggers, whatever their ids, are not touched.
//
// This Source serves the change from its next ForTicket or Trigger call;
// the Sources of other processes serve it within their CheckInterval.
// Either reloads tenant's triggers only.
func (s *Source) Put(ctx context.Context, tenant string, definition []byte, position int) error {
	t, err := s.parse(tenant, definition)
	if err != nil {
		return err
	}
	def := t.Definition()
	def.Enabled = nil // the enabled column holds it
	data, err := json.Marshal(def)
	if err != nil {
		return fmt.Errorf("sqlsource: trigger %q%s: encoding the definition: %w", cut(t.ID, 200), ofTenant(tenant), err)
	}
	return s.write(ctx, tenant, func(tx *sql.Tx, rev int64) (bool, error) {
		_, err := tx.ExecContext(ctx, s.d.upsert(s.triggers), tenant, t.ID, position, t.Enabled, string(data), rev)
		return err == nil, err
	}, "storing trigger %q%s in %s", cut(t.ID, 200), ofTenant(tenant), s.triggers)
}

// Delete removes tenant's stored trigger with the given id, or returns an
// error matching trigger.ErrNotFound when tenant has none. Deliveries of
// the trigger's webhooks that are still pending are abandoned when they
// next come due.
func (s *Source) Delete(ctx context.Context, tenant, id string) error {
	if err := s.checkTenant(tenant, fmt.Sprintf("deleting trigger %q", cut(id, 200))); err != nil {
		return err
	}
	return s.write(ctx, tenant, func(tx *sql.Tx, _ int64) (bool, error) {
		return changed(tx.ExecContext(ctx, s.d.rebind(`DELETE FROM `+s.triggers+` WHERE tenant = ? AND id = ?`), tenant, id))
	}, "deleting trigger %q%s from %s", cut(id, 200), ofTenant(tenant), s.triggers)
}

// SetEnabled enables or disables tenant's stored trigger with the given
// id, or returns an error matching trigger.ErrNotFound when tenant has
// none. A disabled trigger does not fire, but the webhooks it recorded
// before are still delivered.
func (s *Source) SetEnabled(ctx context.Context, tenant, id string, enabled bool) error {
	if err := s.checkTenant(tenant, fmt.Sprintf("setting trigger %q enabled", cut(id, 200))); err != nil {
		return err
	}
	return s.write(ctx, tenant, func(tx *sql.Tx, rev int64) (bool, error) {
		return changed(tx.ExecContext(ctx, s.d.rebind(`UPDATE `+s.triggers+` SET enabled = ?, version = ? WHERE tenant = ? AND id = ?`),
			enabled, rev, tenant, id))
	}, "setting trigger %q%s enabled in %s", cut(id, 200), ofTenant(tenant), s.triggers)
}

// DeleteTenant removes every stored trigger of tenant, as for an account
// that leaves, in one transaction. A tenant without stored triggers is
// not an error. Like Delete, it abandons the pending deliveries of the
// triggers' webhooks when they next come due; the host deletes the
// tenant's log entries itself (Engine.Delete with the tenant's filter).
func (s *Source) DeleteTenant(ctx context.Context, tenant string) error {
	if err := s.checkTenant(tenant, "deleting the triggers of a tenant"); err != nil {
		return err
	}
	err := s.write(ctx, tenant, func(tx *sql.Tx, _ int64) (bool, error) {
		return changed(tx.ExecContext(ctx, s.d.rebind(`DELETE FROM `+s.triggers+` WHERE tenant = ?`), tenant))
	}, "deleting the triggers%s from %s", ofTenant(tenant), s.triggers)
	if errors.Is(err, trigger.ErrNotFound) {
		return nil // none were stored: nothing was written
	}
	return err
}

// ofTenant returns ` of tenant "tenant"`, or "" for tenant "", for
// errors.
func ofTenant(tenant string) string {
	if tenant == "" {
		return ""
	}
	return fmt.Sprintf(" of tenant %q", cut(tenant, 64))
}

// changed reports whether the statement that returned res changed a row.
func changed(res sql.Result, err error) (bool, error) {
	if err != nil {
		return false, err
	}
	n, err := res.RowsAffected()
	return n > 0, err
}

// write runs change in a transaction that gives tenant's triggers a new
// revision, and makes the next ForTicket or Trigger call check for
// changes. change gets the new revision and reports whether it found the
// trigger; when it did not, nothing is written and write returns an error
// matching trigger.ErrNotFound. format and args describe the change in
// errors.
//
// Writers take turns on the revision row of scope "", which they lock
// without changing it: a change of that row means a change made with the
// host's own SQL, which makes the Sources compare every tenant. The new
// revision is one more than the highest of any tenant, so that the change
// check sees it in the tenants table's MAX(revision).
func (s *Source) write(ctx context.Context, tenant string, change func(tx *sql.Tx, rev int64) (bool, error), format string, args ...any) error {
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		if _, err := tx.ExecContext(ctx, `UPDATE `+s.revisions+` SET revision = revision WHERE scope = ''`); err != nil {
			return fmt.Errorf("locking the revision in %s: %w", s.revisions, err)
		}
		var rev int64
		if err := tx.QueryRowContext(ctx, `SELECT COALESCE(MAX(revision), 0) + 1 FROM `+s.tenants).Scan(&rev); err != nil {
			return fmt.Errorf("reading the revisions from %s: %w", s.tenants, err)
		}
		found, err := change(tx, rev)
		if err != nil {
			return err
		}
		if !found {
			return trigger.ErrNotFound
		}
		if _, err := tx.ExecContext(ctx, s.d.stamp(s.tenants), tenant, rev); err != nil {
			return fmt.Errorf("storing the revision in %s: %w", s.tenants, err)
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("sqlsource: "+format+": %w", append(args, err)...)
	}
	s.checkAt.Store(0)
	return nil
}

// inTx runs f in a transaction, committed when f returns nil.
func (s *Source) inTx(ctx context.Context, f func(tx *sql.Tx) error) error {
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	if err := f(tx); err != nil {
		tx.Rollback()
		return err
	}
	return tx.Commit()
}
