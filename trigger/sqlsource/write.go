package sqlsource

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"

	"github.com/tickethooks/tickethooks/trigger"
)

// Migrate creates the Source's tables when they do not exist. It is safe
// to call at every start.
func (s *Source) Migrate(ctx context.Context) error {
	stmts := s.d.schema(s.triggers, s.revisions)
	if s.d != Postgres {
		for _, stmt := range stmts {
			if _, err := s.db.ExecContext(ctx, stmt); err != nil {
				return fmt.Errorf("sqlsource: migrating %s: %w", s.triggers, err)
			}
		}
		return nil
	}
	// PostgreSQL's CREATE TABLE IF NOT EXISTS can fail when another
	// process runs it at the same time: a lock keyed on the table name
	// makes them take turns.
	return s.inTx(ctx, func(tx *sql.Tx) error {
		stmts = append([]string{`SELECT pg_advisory_xact_lock(hashtext($1))`}, stmts...)
		for i, stmt := range stmts {
			var args []any
			if i == 0 {
				args = []any{s.triggers}
			}
			if _, err := tx.ExecContext(ctx, stmt, args...); err != nil {
				return fmt.Errorf("sqlsource: migrating %s: %w", s.triggers, err)
			}
		}
		return nil
	})
}

// Validate reports whether definition, one JSON object in the format
// trigger.Parse reads, loads with the Source's Options. Its error is
// trigger.Parse's: each problem an *trigger.Error naming the trigger and
// the part at fault, all matching trigger.ErrInvalid. Put validates too;
// an admin screen calls Validate to check a definition without saving it.
func (s *Source) Validate(definition []byte) error {
	_, err := s.parse(definition)
	return err
}

// parse loads definition alone.
func (s *Source) parse(definition []byte) (*trigger.Trigger, error) {
	if !isObject(definition) {
		return nil, fmt.Errorf("sqlsource: %w", &trigger.Error{Index: -1, Err: errNotObject})
	}
	data := make([]byte, 0, len(definition)+2)
	data = append(append(append(data, '['), definition...), ']')
	set, err := trigger.Parse(data, s.opts)
	if err != nil {
		return nil, fmt.Errorf("sqlsource: %w", err)
	}
	return set.Triggers()[0], nil
}

// Put validates definition as Validate does and stores it, replacing the
// stored trigger with the same id, at position: triggers run in the order
// of their positions, then of their ids. The definition's "enabled" member
// (true when absent) sets the trigger's enabled column. An invalid
// definition is refused with Validate's error and nothing is stored.
//
// This Source serves the change from its next ForTicket or Trigger call;
// the Sources of other processes serve it within their CheckInterval.
func (s *Source) Put(ctx context.Context, definition []byte, position int) error {
	t, err := s.parse(definition)
	if err != nil {
		return err
	}
	def := t.Definition()
	def.Enabled = nil // the enabled column holds it
	data, err := json.Marshal(def)
	if err != nil {
		return fmt.Errorf("sqlsource: trigger %q: encoding the definition: %w", t.ID, err)
	}
	return s.write(ctx, func(tx *sql.Tx, rev int64) (bool, error) {
		_, err := tx.ExecContext(ctx, s.d.upsert(s.triggers), t.ID, position, t.Enabled, string(data), rev)
		return err == nil, err
	}, "storing trigger %q in %s", t.ID)
}

// Delete removes the stored trigger with the given id, or returns an error
// matching trigger.ErrNotFound when there is none. Deliveries of the
// trigger's webhooks that are still pending are abandoned when they next
// come due.
func (s *Source) Delete(ctx context.Context, id string) error {
	return s.write(ctx, func(tx *sql.Tx, _ int64) (bool, error) {
		return changed(tx.ExecContext(ctx, s.d.rebind(`DELETE FROM `+s.triggers+` WHERE id = ?`), id))
	}, "deleting trigger %q from %s", id)
}

// SetEnabled enables or disables the stored trigger with the given id, or
// returns an error matching trigger.ErrNotFound when there is none. A
// disabled trigger does not fire, but the webhooks it recorded before are
// still delivered.
func (s *Source) SetEnabled(ctx context.Context, id string, enabled bool) error {
	return s.write(ctx, func(tx *sql.Tx, rev int64) (bool, error) {
		return changed(tx.ExecContext(ctx, s.d.rebind(`UPDATE `+s.triggers+` SET enabled = ?, version = ? WHERE id = ?`), enabled, rev, id))
	}, "setting trigger %q enabled in %s", id)
}

// changed reports whether the statement that returned res changed a row.
func changed(res sql.Result, err error) (bool, error) {
	if err != nil {
		return false, err
	}
	n, err := res.RowsAffected()
	return n > 0, err
}

// write runs change in a transaction that increments the revision, and
// makes the next ForTicket or Trigger call check for changes. change gets
// the new revision and reports whether it found the trigger; when it did
// not, nothing is written and write returns an error matching
// trigger.ErrNotFound. what and id describe the change in errors.
func (s *Source) write(ctx context.Context, change func(tx *sql.Tx, rev int64) (bool, error), what, id string) error {
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		// The revision row is locked first, so writers take turns.
		if _, err := tx.ExecContext(ctx, `UPDATE `+s.revisions+` SET revision = revision + 1 WHERE scope = ''`); err != nil {
			return err
		}
		rev, err := s.readRevision(ctx, tx)
		if err != nil {
			return err
		}
		found, err := change(tx, rev)
		if err != nil {
			return err
		}
		if !found {
			return trigger.ErrNotFound
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("sqlsource: "+what+": %w", cut(id, 200), s.triggers, err)
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
