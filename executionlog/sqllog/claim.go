package sqllog

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/tickethooks/tickethooks/executionlog"
	"github.com/tickethooks/tickethooks/internal/textcut"
)

// dueCondition selects the due pending entries; its arguments are the
// claim time twice.
const dueCondition = "status = 'pending' AND next_attempt_at <= ? AND (lease_owner IS NULL OR lease_until <= ?)"

// Claim implements executionlog.Log.Claim. On PostgreSQL and
// MySQL/MariaDB, engines claiming at the same time skip each other's
// locked rows (FOR UPDATE SKIP LOCKED): each entry goes to exactly one of
// them and none waits for another. On SQLite the claim is one write
// statement, serialized with every other writer.
//
// With c.PerTenant, the claim looks among the oldest due entries, at most
// max(4*c.Limit, 256) of them, and takes at most c.PerTenant of each
// tenant (see "Tenants" in the package documentation). c.SkipTenants
// leaves out the entries of its first executionlog.MaxSkipTenants
// tenants; a name that executionlog.ValidateTenant refuses, which no
// entry can have, is ignored.
func (l *Log) Claim(ctx context.Context, c executionlog.Claim) ([]executionlog.Entry, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	if c.Owner == "" {
		return nil, errors.New("sqllog: claim: owner is empty")
	}
	if c.Lease <= 0 {
		return nil, fmt.Errorf("sqllog: claim: lease %s is not positive", c.Lease)
	}
	if c.Limit <= 0 {
		return nil, nil
	}
	// A stored time s, a whole microsecond, is <= Now exactly when it is
	// <= Now truncated to the microsecond.
	spec := claimSpec{owner: c.Owner, now: microUTC(c.Now), until: microUTC(c.Now.Add(c.Lease)), limit: c.Limit,
		perTenant: c.PerTenant}
	for _, t := range c.SkipTenants[:min(len(c.SkipTenants), executionlog.MaxSkipTenants)] {
		// A tenant no entry can have needs no skipping, and PostgreSQL
		// could not compare it.
		if executionlog.ValidateTenant(t) == nil {
			spec.skip = append(spec.skip, t)
		}
	}
	rows, err := l.d.claim(ctx, l, spec)
	if err != nil {
		return nil, fmt.Errorf("sqllog: claim for %q: %w", c.Owner, err)
	}
	slices.SortFunc(rows, func(a, b entryRow) int {
		if c := a.e.NextAttemptAt.Compare(b.e.NextAttemptAt); c != 0 {
			return c
		}
		return cmp.Compare(a.e.ID, b.e.ID)
	})
	// The attempts of leased entries change only through their owner, so
	// reading them after the claim committed is consistent.
	out, err := l.loadAttempts(ctx, l.db, rows)
	if err != nil {
		return nil, fmt.Errorf("sqllog: claim for %q: %w", c.Owner, err)
	}
	return out, nil
}

// claimSpec is what one claim asks for, its times in the log's
// precision.
type claimSpec struct {
	owner      string
	now, until time.Time
	limit      int
	// perTenant, when positive, is the most entries of one tenant to
	// lease; skip lists the tenants whose entries are not leased, at
	// most executionlog.MaxSkipTenants valid ones.
	perTenant int
	skip      []string
}

// due returns the condition that selects the entries c may lease, written
// with ? placeholders, and its arguments.
//
// On PostgreSQL the skipped tenants are one text[] argument, so that the
// statement's text, and the driver's cached prepared statement, are the
// same however many tenants are skipped.
func (c claimSpec) due(d Dialect) (string, []any) {
	cond, args := dueCondition, []any{d.timeArg(c.now), d.timeArg(c.now)}
	switch {
	case len(c.skip) == 0:
	case d == Postgres:
		cond += " AND tenant <> ALL (CAST(? AS text[]))"
		args = append(args, textArray(c.skip))
	default:
		cond += " AND tenant NOT IN (" + strings.Repeat(", ?", len(c.skip))[2:] + ")"
		for _, t := range c.skip {
			args = append(args, t)
		}
	}
	return cond, args
}

// textArray returns the PostgreSQL array literal of values: each one
// double-quoted, with its double quotes and backslashes escaped. Both pgx
// and lib/pq pass it as text, for a CAST to text[].
func textArray(values []string) string {
	var b strings.Builder
	b.WriteByte('{')
	for i, v := range values {
		if i > 0 {
			b.WriteByte(',')
		}
		b.WriteByte('"')
		for _, r := range v {
			if r == '"' || r == '\\' {
				b.WriteByte('\\')
			}
			b.WriteRune(r)
		}
		b.WriteByte('"')
	}
	b.WriteByte('}')
	return b.String()
}

// claimWindow is how many of the oldest due entries a claim with a share
// per tenant looks among, for a claim of limit entries: enough that a
// tenant with a long backlog leaves room for others' entries, few enough
// that the scan stays short.
func claimWindow(limit int) int {
	return max(4*limit, 256)
}

// pickShares returns, of rows in due order, the first ones that keep at
// most perTenant of each tenant, at most limit of them.
func pickShares(rows []entryRow, perTenant, limit int) []entryRow {
	taken := make(map[string]int)
	out := rows[:0]
	for _, r := range rows {
		if len(out) == limit {
			break
		}
		if taken[r.e.Tenant] >= perTenant {
			continue
		}
		taken[r.e.Tenant]++
		out = append(out, r)
	}
	return out
}

// claimReturning is the claim of dialects with UPDATE ... RETURNING
// (PostgreSQL, SQLite): one statement picks the due rows from the table
// expression from, locking them with lock (" FOR UPDATE SKIP LOCKED" or
// ""), leases them and returns them. With a share per tenant, it numbers
// the rows of each tenant in a window of the oldest due rows (see
// claimWindow), which it locks, and keeps the first perTenant of each.
func claimReturning(ctx context.Context, l *Log, from, lock string, c claimSpec) ([]entryRow, error) {
	d := l.d
	cond, cargs := c.due(d)
	args := append([]any{c.owner, d.timeArg(c.until)}, cargs...)
	var pick string
	if c.perTenant <= 0 {
		pick = "SELECT id FROM " + from + " WHERE " + cond + " ORDER BY next_attempt_at, id LIMIT ?" + lock
		args = append(args, c.limit)
	} else {
		pick = "SELECT id FROM (SELECT id, next_attempt_at," +
			" ROW_NUMBER() OVER (PARTITION BY tenant ORDER BY next_attempt_at, id) AS rn" +
			" FROM (SELECT id, tenant, next_attempt_at FROM " + from + " WHERE " + cond +
			" ORDER BY next_attempt_at, id LIMIT ?" + lock + ") w) r" +
			" WHERE rn <= ? ORDER BY next_attempt_at, id LIMIT ?"
		args = append(args, claimWindow(c.limit), c.perTenant, c.limit)
	}
	rows, err := l.query(ctx, l.db, "UPDATE "+l.entries+" SET lease_owner = ?, lease_until = ?"+
		" WHERE id IN ("+pick+") RETURNING "+entryCols, args...)
	if err != nil {
		return nil, err
	}
	return l.scanEntries(rows)
}

// Update implements executionlog.Log.Update, atomically.
//
// Concurrent Update calls (and, on SQLite, Add calls) are written
// together, in one transaction, or on PostgreSQL in one statement (see
// "Group commit" in the package documentation); each gets its own result.
// When Update returns nil, the outcome is committed. A lone call is
// written as before: on PostgreSQL in one statement, elsewhere in one
// transaction.
//
// The lease is checked by the same statement that changes the entry, so
// two engines can never both record an outcome. An id that
// executionlog.CheckID refuses is not found without a query.
func (l *Log) Update(ctx context.Context, u executionlog.Update) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	if err := notStored(u.ID); err != nil {
		return fmt.Errorf("sqllog: update: %w", err)
	}
	if !u.Status.Valid() {
		return fmt.Errorf("sqllog: update %q: unknown status %q", u.ID, textcut.Cut(string(u.Status), 64))
	}
	if u.Owner == "" {
		return l.updateRefused(ctx, u)
	}
	w := &write{ctx: ctx, u: &u, rows: 1}
	if a := u.Attempt; a != nil {
		w.size = len(a.Error) + len(a.ResponseBody)
	}
	return l.run(l.updates, w)
}

// updateStmt returns the UPDATE of the entry of u, written with ?
// placeholders, and its arguments. The statement changes the entry only
// when it is pending and leased to u.Owner.
func (l *Log) updateStmt(u *executionlog.Update) (string, []any) {
	d := l.d
	next, added, errText := updateValues(d, u)
	set := "UPDATE " + l.entries + " SET status = ?, next_attempt_at = ?, lease_owner = NULL, lease_until = NULL," +
		" note = ?, updated_at = ?, attempt_count = attempt_count + ?, error_text = " + d.concat("error_text", "?") +
		" WHERE id = ? AND lease_owner = ? AND status = 'pending'"
	return set, []any{string(u.Status), next, u.Note, d.timeArg(u.Now), added, errText, u.ID, u.Owner}
}

// updateValues returns what u writes to the entry beside its status, note
// and time: the next attempt time (NULL for a final state), how many
// attempts it adds and the text it appends to error_text.
func updateValues(d Dialect, u *executionlog.Update) (next any, added int, errText string) {
	if u.Status == executionlog.StatusPending {
		next = d.timeArg(u.NextAttemptAt)
	}
	if u.Attempt != nil {
		added = 1
		if u.Attempt.Error != "" {
			errText = "\n" + searchText(u.Attempt.Error)
		}
	}
	return next, added, errText
}

// updateOne writes u alone: on PostgreSQL in one statement, elsewhere in
// one transaction (or one statement when u has no attempt).
func (l *Log) updateOne(ctx context.Context, u executionlog.Update) error {
	var changed bool
	var err error
	if u.Attempt == nil {
		changed, err = l.updateIn(ctx, l.db, &u) // one UPDATE
	} else {
		set, args := l.updateStmt(&u)
		changed, err = l.changeWithAttempt(ctx, set, args, u.ID, u.Attempt)
	}
	switch {
	case err != nil:
		return updateError(u.ID, err)
	case !changed:
		return l.updateRefused(ctx, u)
	}
	return nil
}

// changeWithAttempt runs set, an UPDATE of the entry id written with ?
// placeholders whose arguments are args and which adds one to its
// attempt_count, and, when it changed the entry, inserts attempt a as the
// entry's last: on PostgreSQL in one statement, elsewhere in a
// transaction of its own, committed only when the entry changed. It
// reports whether the entry changed.
func (l *Log) changeWithAttempt(ctx context.Context, set string, args []any, id string, a *executionlog.Attempt) (bool, error) {
	if w, ok := l.d.(oneStatementWriter); ok {
		return w.updateAttempt(ctx, l, set, args, id, a)
	}
	tx, err := l.db.BeginTx(ctx, nil)
	if err != nil {
		return false, fmt.Errorf("begin transaction: %w", err)
	}
	changed, err := l.changeIn(ctx, tx, set, args, id, a)
	if err != nil || !changed {
		rollback(tx)
		return false, err
	}
	if err := tx.Commit(); err != nil {
		return false, fmt.Errorf("commit: %w", err)
	}
	return true, nil
}

// updateIn runs the UPDATE of u on q and, when it changed the entry and u
// has an attempt, inserts the attempt (q is then a transaction). It
// reports whether the entry changed.
func (l *Log) updateIn(ctx context.Context, q queryer, u *executionlog.Update) (bool, error) {
	set, args := l.updateStmt(u)
	return l.changeIn(ctx, q, set, args, u.ID, u.Attempt)
}

// changeIn runs set, an UPDATE of the entry id with arguments args, on q
// and, when it changed the entry and a is not nil, inserts a numbered by
// the entry's new attempt_count (q is then a transaction). It reports
// whether the entry changed. The UPDATE comes first, so that it locks the
// entry's row (on SQLite, a transaction takes the write lock) before the
// count is read, and attempts recorded at the same time get distinct
// numbers.
func (l *Log) changeIn(ctx context.Context, q queryer, set string, args []any, id string, a *executionlog.Attempt) (bool, error) {
	res, err := l.exec(ctx, q, set, args...)
	if err != nil {
		return false, err
	}
	n, err := res.RowsAffected()
	if err != nil || n == 0 || a == nil {
		return n > 0, err
	}
	var seq int
	if err := l.queryRow(ctx, q, "SELECT attempt_count FROM "+l.entries+" WHERE id = ?", id).Scan(&seq); err != nil {
		return false, fmt.Errorf("reading attempt count: %w", err)
	}
	if _, err := l.exec(ctx, q, "INSERT INTO "+l.attempts+" ("+attemptCols+") VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
		attemptArgs([]any{id, seq, seq}, l.d, a)...); err != nil {
		return false, fmt.Errorf("writing attempt %d: %w", seq, err)
	}
	return true, nil
}

// RecordAttempt implements executionlog.AttemptRecorder.RecordAttempt,
// in one statement on PostgreSQL and one transaction elsewhere. Like
// Update, it locks the entry's row before it numbers the attempt, so a
// concurrent Update by the lease holder is numbered before or after it,
// never the same.
func (l *Log) RecordAttempt(ctx context.Context, id string, a executionlog.Attempt, now time.Time) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	d := l.d
	var errText string
	if a.Error != "" {
		errText = "\n" + searchText(a.Error)
	}
	set := "UPDATE " + l.entries + " SET attempt_count = attempt_count + 1, error_text = " + d.concat("error_text", "?") +
		", updated_at = ? WHERE id = ?"
	changed, err := l.changeWithAttempt(ctx, set, []any{errText, d.timeArg(now), id}, id, &a)
	switch {
	case err != nil:
		return fmt.Errorf("sqllog: record late attempt of %q: %w", textcut.Cut(id, 64), err)
	case !changed:
		return fmt.Errorf("sqllog: record late attempt: %w: %q", executionlog.ErrNotFound, textcut.Cut(id, 64))
	}
	return nil
}

// updateError is the error of an Update of entry id that failed with
// cause.
func updateError(id string, cause error) error {
	return fmt.Errorf("sqllog: update %q: %w", id, cause)
}

// updateRefused returns the error of an Update that changed no row:
// ErrNotFound when the entry does not exist, ErrLeaseLost when it does.
func (l *Log) updateRefused(ctx context.Context, u executionlog.Update) error {
	var status string
	err := l.queryRow(ctx, l.db, "SELECT status FROM "+l.entries+" WHERE id = ?", u.ID).Scan(&status)
	switch {
	case isNoRows(err):
		return fmt.Errorf("sqllog: update: %w: %q", executionlog.ErrNotFound, u.ID)
	case err != nil:
		return fmt.Errorf("sqllog: update %q: %w", u.ID, err)
	case status != string(executionlog.StatusPending):
		return fmt.Errorf("sqllog: update: %w: entry %q is %s", executionlog.ErrLeaseLost, u.ID, status)
	default:
		return fmt.Errorf("sqllog: update: %w: entry %q is not leased to %q", executionlog.ErrLeaseLost, u.ID, textcut.Cut(u.Owner, 64))
	}
}

// searchText is the form in which an attempt's error is kept in the
// entries' error_text column for search: lower-cased as
// executionlog.MatchesError compares, with NUL bytes (which PostgreSQL
// text cannot hold) turned into line breaks. Line breaks also separate the
// errors of successive attempts, so a search text without line breaks or
// NULs matches error_text exactly when it matches one attempt's error.
func searchText(s string) string {
	return strings.ReplaceAll(strings.ToLower(s), "\x00", "\n")
}

// attemptArgs appends to args the values of a for the attemptCols that
// follow entry_id, seq and number.
func attemptArgs(args []any, d Dialect, a *executionlog.Attempt) []any {
	return append(args, d.timeArg(a.StartedAt), int64(a.Duration), a.StatusCode,
		[]byte(a.Error), []byte(a.ResponseBody), a.ResponseTruncated)
}
