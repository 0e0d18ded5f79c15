package sqllog

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/tickethooks/tickethooks/executionlog"
)

// entryCols are the columns of the entries table that make an Entry, in
// the order scanEntry reads them.
const entryCols = "id, trigger_id, trigger_name, action_index, ticket_id, event, url, " +
	"request_headers, request_body, status, attempt_count, series_start, test, next_attempt_at, " +
	"lease_owner, lease_until, note, created_at, updated_at, change_key, tenant"

// attemptCols are the columns of the attempts table, in the order
// loadAttempts reads them. An attempt's number is its seq, its place among
// the entry's attempts in the order they were recorded: the log assigns
// both.
const attemptCols = "entry_id, seq, number, started_at, duration_ns, status_code, " +
	"error, response_body, response_truncated"

// attemptColCount is the number of attemptCols.
const attemptColCount = 9

// entryRow is an entry read from the entries table, with the number of
// attempts its row counts. Attempts are read separately; only the first
// count belong to this reading of the entry, so an Update that commits in
// between does not add an attempt the rest of the row does not show.
type entryRow struct {
	e     executionlog.Entry
	count int
}

// scanner is a *sql.Row or *sql.Rows.
type scanner interface {
	Scan(dest ...any) error
}

// scanEntry reads the entryCols of one row.
func (l *Log) scanEntry(s scanner) (entryRow, error) {
	var (
		r       entryRow
		headers sql.NullString
		owner   sql.NullString
		key     sql.NullString
		status  string
	)
	e := &r.e
	err := s.Scan(&e.ID, &e.TriggerID, &e.TriggerName, &e.ActionIndex, &e.TicketID, &e.Event, &e.URL,
		&headers, &e.RequestBody, &status, &r.count, &e.SeriesStart, &e.Test, l.scanTime(&e.NextAttemptAt),
		&owner, l.scanTime(&e.LeaseUntil), &e.Note, l.scanTime(&e.CreatedAt), l.scanTime(&e.UpdatedAt), &key, &e.Tenant)
	if err != nil {
		return r, err
	}
	e.Status = executionlog.Status(status)
	e.LeaseOwner = owner.String
	e.ChangeKey = key.String
	if headers.Valid {
		if err := json.Unmarshal([]byte(headers.String), &e.RequestHeaders); err != nil {
			return r, fmt.Errorf("entry %q: reading request headers: %w", e.ID, err)
		}
	}
	if len(e.RequestBody) == 0 {
		e.RequestBody = nil
	}
	return r, nil
}

// scanEntries reads every row of rows and closes it.
func (l *Log) scanEntries(rows *sql.Rows) ([]entryRow, error) {
	defer rows.Close()
	var out []entryRow
	for rows.Next() {
		r, err := l.scanEntry(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, r)
	}
	return out, rows.Err()
}

// loadAttempts reads the attempts of the entries and returns the entries
// with them.
func (l *Log) loadAttempts(ctx context.Context, q queryer, rows []entryRow) ([]executionlog.Entry, error) {
	out := make([]executionlog.Entry, len(rows))
	index := make(map[string]int, len(rows))
	var ids []any
	for i, r := range rows {
		out[i] = r.e
		index[r.e.ID] = i
		if r.count > 0 {
			ids = append(ids, r.e.ID)
		}
	}
	if len(ids) == 0 {
		return out, nil
	}
	marks := strings.Repeat(", ?", len(ids))[2:]
	rs, err := l.query(ctx, q, "SELECT "+attemptCols+" FROM "+l.attempts+
		" WHERE entry_id IN ("+marks+") ORDER BY entry_id, seq", ids...)
	if err != nil {
		return nil, fmt.Errorf("reading attempts: %w", err)
	}
	defer rs.Close()
	for rs.Next() {
		var (
			id, errText, body []byte
			seq               int
			a                 executionlog.Attempt
			durationNanos     int64
		)
		if err := rs.Scan(&id, &seq, &a.Number, l.scanTime(&a.StartedAt), &durationNanos, &a.StatusCode,
			&errText, &body, &a.ResponseTruncated); err != nil {
			return nil, fmt.Errorf("reading attempts: %w", err)
		}
		i, ok := index[string(id)]
		if !ok || seq > rows[i].count {
			continue
		}
		a.Duration = time.Duration(durationNanos)
		a.Error = string(errText)
		a.ResponseBody = string(body)
		out[i].Attempts = append(out[i].Attempts, a)
	}
	if err := rs.Err(); err != nil {
		return nil, fmt.Errorf("reading attempts: %w", err)
	}
	for i := range out {
		out[i].Attempts = slices.Clip(out[i].Attempts)
	}
	return out, nil
}

// encodeHeaders returns the JSON text of h, or NULL for a nil map.
func encodeHeaders(h map[string]string) (any, error) {
	if h == nil {
		return nil, nil
	}
	b, err := json.Marshal(h)
	if err != nil {
		return nil, fmt.Errorf("encoding request headers: %w", err)
	}
	return string(b), nil
}

// bytesArg returns b as a query argument, and nil b as NULL.
func bytesArg(b []byte) any {
	if b == nil {
		return nil
	}
	return b
}
