package sqllog

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/tickethooks/tickethooks/executionlog"
)

// Get implements executionlog.Log.Get. An id that executionlog.CheckID
// refuses, or a scope that Scope.Check refuses, is not found without a
// query; an entry of another tenant is not found by the query, which
// looks for the id within the scope.
func (l *Log) Get(ctx context.Context, s executionlog.Scope, id string) (executionlog.Entry, error) {
	if err := ctx.Err(); err != nil {
		return executionlog.Entry{}, err
	}
	if err := notStored(id); err != nil {
		return executionlog.Entry{}, fmt.Errorf("sqllog: get: %w", err)
	}
	scope, sargs, err := scopeCondition(s)
	if err != nil {
		return executionlog.Entry{}, fmt.Errorf("sqllog: get: %w: %w", executionlog.ErrNotFound, err)
	}
	r, err := l.scanEntry(l.queryRow(ctx, l.db, "SELECT "+entryCols+" FROM "+l.entries+" WHERE id = ?"+scope,
		append([]any{id}, sargs...)...))
	if isNoRows(err) {
		return executionlog.Entry{}, fmt.Errorf("sqllog: get: %w: %q", executionlog.ErrNotFound, id)
	}
	if err != nil {
		return executionlog.Entry{}, fmt.Errorf("sqllog: get %q: %w", id, err)
	}
	out, err := l.loadAttempts(ctx, l.db, []entryRow{r})
	if err != nil {
		return executionlog.Entry{}, fmt.Errorf("sqllog: get %q: %w", id, err)
	}
	return out[0], nil
}

// Query implements executionlog.Log.Query with a keyset page over the
// (created_at, id) order, so a page costs the same however deep it is.
// f.ErrorText is matched against error_text, the lower-cased errors of
// the entry's attempts; "Error search" in the package documentation says
// which index serves it in each dialect.
func (l *Log) Query(ctx context.Context, f executionlog.Filter) (executionlog.Page, error) {
	if err := ctx.Err(); err != nil {
		return executionlog.Page{}, err
	}
	f, err := f.Normalize()
	if err != nil {
		return executionlog.Page{}, err
	}

	d := l.d
	where, args, exact := l.filterCondition(f)

	var page executionlog.Page
	fetch := f.Limit + 1
	at, id, after := time.Time{}, "", f.Cursor != ""
	if after {
		if at, id, err = executionlog.DecodeCursor(f.Cursor); err != nil {
			return executionlog.Page{}, err
		}
	}
	for {
		cond, cargs := slices.Clone(where), slices.Clone(args)
		if after {
			m := microUTC(at)
			if m.Equal(at) {
				cond = append(cond, "created_at <= ? AND (created_at < ? OR id < ?)")
				cargs = append(cargs, d.timeArg(m), d.timeArg(m), id)
			} else {
				// No stored time, a whole microsecond, equals at.
				cond = append(cond, "created_at <= ?")
				cargs = append(cargs, d.timeArg(m))
			}
		}
		query := "SELECT " + entryCols + " FROM " + l.entries
		if len(cond) > 0 {
			query += " WHERE " + strings.Join(cond, " AND ")
		}
		query += " ORDER BY created_at DESC, id DESC LIMIT ?"
		rs, err := l.query(ctx, l.db, query, append(cargs, fetch)...)
		if err != nil {
			return executionlog.Page{}, fmt.Errorf("sqllog: query: %w", err)
		}
		rows, err := l.scanEntries(rs)
		if err != nil {
			return executionlog.Page{}, fmt.Errorf("sqllog: query: %w", err)
		}
		entries, err := l.loadAttempts(ctx, l.db, rows)
		if err != nil {
			return executionlog.Page{}, fmt.Errorf("sqllog: query: %w", err)
		}
		for _, e := range entries {
			if !exact && !executionlog.MatchesError(e.Attempts, f.ErrorText) {
				continue
			}
			if len(page.Entries) == f.Limit {
				last := page.Entries[len(page.Entries)-1]
				page.Next = executionlog.EncodeCursor(last.CreatedAt, last.ID)
				return page, nil
			}
			page.Entries = append(page.Entries, e)
		}
		if len(rows) < fetch {
			return page, nil
		}
		last := rows[len(rows)-1].e
		at, id, after = last.CreatedAt, last.ID, true
	}
}

// filterCondition returns the conditions, written with ? placeholders,
// that select the entries matching f, a normalized filter, apart from its
// cursor, with their arguments. exact reports whether they select exactly
// those entries: when it is false, f.ErrorText holds a line break or NUL,
// which cannot be matched exactly against error_text, where line breaks
// separate attempts; the conditions then match each of its parts there,
// and the caller matches the whole against each attempt in Go.
func (l *Log) filterCondition(f executionlog.Filter) (where []string, args []any, exact bool) {
	add := func(cond string, a ...any) {
		where = append(where, cond)
		args = append(args, a...)
	}
	d := l.d
	if !f.AllTenants {
		add("tenant = ?", f.Tenant)
	}
	if !f.From.IsZero() {
		add("created_at >= ?", d.timeArg(ceilMicro(f.From)))
	}
	if !f.To.IsZero() {
		add("created_at < ?", d.timeArg(ceilMicro(f.To)))
	}
	if f.TicketID != 0 {
		add("ticket_id = ?", f.TicketID)
	}
	if f.TriggerID != "" {
		add("trigger_id = ?", f.TriggerID)
	}
	if f.Status != "" {
		add("status = ?", string(f.Status))
	}
	needle := searchText(f.ErrorText)
	exact = !strings.Contains(needle, "\n")
	for part := range strings.SplitSeq(needle, "\n") {
		if part != "" {
			add("error_text LIKE ? ESCAPE '!'", "%"+escapeLike(part)+"%")
		}
	}
	if f.ErrorText != "" {
		// Implied by the LIKEs; it lets SQLite use its partial indexes
		// of the entries with an error.
		add("error_text != ''")
	}
	return where, args, exact
}

// scopeCondition returns the condition, to follow a WHERE clause's
// others (" AND tenant = ?", or "" for every tenant), that keeps the
// entries of scope s, and its arguments. It returns an error wrapping
// executionlog.ErrInvalidTenant when Scope.Check refuses s.
func scopeCondition(s executionlog.Scope) (string, []any, error) {
	if err := s.Check(); err != nil {
		return "", nil, err
	}
	if s.AllTenants {
		return "", nil, nil
	}
	return " AND tenant = ?", []any{s.Tenant}, nil
}

// notStored returns an error wrapping executionlog.ErrNotFound when no
// entry can have id, because executionlog.CheckID refuses it (Add does
// too), and nil otherwise. Checking first keeps such ids from the
// database, where PostgreSQL fails on NUL and invalid UTF-8.
func notStored(id string) error {
	if err := executionlog.CheckID(id); err != nil {
		return fmt.Errorf("%w: %w", executionlog.ErrNotFound, err)
	}
	return nil
}

// escapeLike escapes the LIKE wildcards of s, with ! as the escape
// character (the same in every dialect, unlike the backslash).
func escapeLike(s string) string {
	return strings.NewReplacer("!", "!!", "%", "!%", "_", "!_").Replace(s)
}

// isNoRows reports whether err says a query returned no rows.
func isNoRows(err error) bool {
	return errors.Is(err, sql.ErrNoRows)
}
