package logview

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"mime"
	"net/http"
	"sort"
	"strings"
	"time"

	"github.com/tickethooks/tickethooks/executionlog"
	"github.com/tickethooks/tickethooks/webhook"
)

// apiError is the body of every JSON API error.
type apiError struct {
	Error string `json:"error"`
}

// apiPage is the body of GET /api/entries.
type apiPage struct {
	Entries []apiSummary `json:"entries"`
	// Next is the cursor of the next page, "" on the last page.
	Next string `json:"next"`
}

// apiSummary is an entry in a list: everything but the request and the
// attempts' response bodies.
type apiSummary struct {
	ID string `json:"id"`
	// Tenant is the entry's tenant, in the operator view only.
	Tenant        *string     `json:"tenant,omitempty"`
	TriggerID     string      `json:"trigger_id"`
	TriggerName   string      `json:"trigger_name"`
	TicketID      int         `json:"ticket_id"`
	Event         string      `json:"event"`
	URL           string      `json:"url"`
	Status        string      `json:"status"`
	Test          bool        `json:"test"`
	AttemptCount  int         `json:"attempt_count"`
	SeriesStart   int         `json:"series_start"`
	LastAttempt   *apiAttempt `json:"last_attempt"`
	NextAttemptAt string      `json:"next_attempt_at,omitempty"`
	Note          string      `json:"note,omitempty"`
	CreatedAt     string      `json:"created_at"`
	UpdatedAt     string      `json:"updated_at"`
}

// apiEntry is the body of GET /api/entries/{id}: the summary with the
// request and every attempt.
type apiEntry struct {
	apiSummary
	ActionIndex    int               `json:"action_index"`
	RequestHeaders map[string]string `json:"request_headers"`
	RequestBody    string            `json:"request_body"`
	Attempts       []apiAttempt      `json:"attempts"`
	LeaseOwner     string            `json:"lease_owner,omitempty"`
	LeaseUntil     string            `json:"lease_until,omitempty"`
}

// apiAttempt is one attempt. ResponseBody is left out of summaries.
type apiAttempt struct {
	Number            int     `json:"number"`
	StartedAt         string  `json:"started_at"`
	DurationMS        float64 `json:"duration_ms"`
	StatusCode        int     `json:"status_code"`
	Error             string  `json:"error"`
	ResponseBody      *string `json:"response_body,omitempty"`
	ResponseTruncated bool    `json:"response_truncated"`
}

// apiRedelivered is the body of the redelivery requests.
type apiRedelivered struct {
	Redelivered int `json:"redelivered"`
}

// apiTime formats t for the API: RFC 3339 in UTC, "" for the zero time.
func apiTime(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.UTC().Format(time.RFC3339Nano)
}

// newAPIAttempt returns a as the API shows it, with its response body
// when full is set.
func newAPIAttempt(a executionlog.Attempt, full bool) apiAttempt {
	out := apiAttempt{
		Number:            a.Number,
		StartedAt:         apiTime(a.StartedAt),
		DurationMS:        float64(a.Duration.Microseconds()) / 1000,
		StatusCode:        a.StatusCode,
		Error:             a.Error,
		ResponseTruncated: a.ResponseTruncated,
	}
	if full {
		body := a.ResponseBody
		out.ResponseBody = &body
	}
	return out
}

// newAPISummary returns e as lists show it, with its tenant when
// withTenant is set (the operator view).
func newAPISummary(e executionlog.Entry, withTenant bool) apiSummary {
	s := apiSummary{
		ID:            e.ID,
		TriggerID:     e.TriggerID,
		TriggerName:   e.TriggerName,
		TicketID:      e.TicketID,
		Event:         e.Event,
		URL:           webhook.RedactURL(e.URL, false), // entries recorded before URLs were redacted
		Status:        string(e.Status),
		Test:          e.Test,
		AttemptCount:  len(e.Attempts),
		SeriesStart:   e.SeriesStart,
		NextAttemptAt: apiTime(e.NextAttemptAt),
		Note:          e.Note,
		CreatedAt:     apiTime(e.CreatedAt),
		UpdatedAt:     apiTime(e.UpdatedAt),
	}
	if a, ok := e.LastAttempt(); ok {
		last := newAPIAttempt(a, false)
		s.LastAttempt = &last
	}
	if withTenant {
		s.Tenant = &e.Tenant
	}
	return s
}

// newAPIEntry returns e in full, with secret header values redacted, and
// with its tenant when withTenant is set.
func newAPIEntry(e executionlog.Entry, withTenant bool) apiEntry {
	out := apiEntry{
		apiSummary:     newAPISummary(e, withTenant),
		ActionIndex:    e.ActionIndex,
		RequestHeaders: webhook.RedactHeaders(e.RequestHeaders, nil),
		RequestBody:    string(e.RequestBody),
		Attempts:       make([]apiAttempt, len(e.Attempts)),
		LeaseOwner:     e.LeaseOwner,
		LeaseUntil:     apiTime(e.LeaseUntil),
	}
	for i, a := range e.Attempts {
		out.Attempts[i] = newAPIAttempt(a, true)
	}
	return out
}

// writeJSON writes v as the JSON body of a response with status.
func writeJSON(w http.ResponseWriter, status int, v any) {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetIndent("", "  ")
	if err := enc.Encode(v); err != nil {
		http.Error(w, `{"error": "internal error"}`, http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(status)
	_, _ = w.Write(buf.Bytes())
}

// apiList serves GET /api/entries.
func (h *handler) apiList(w http.ResponseWriter, r *http.Request) {
	f, _, err := h.parseFilter(r, r.URL.Query().Get)
	if err != nil {
		h.failErr(w, r, err)
		return
	}
	res, err := h.cfg.Log.Query(r.Context(), f)
	if err != nil {
		h.failErr(w, r, err)
		return
	}
	out := apiPage{Entries: make([]apiSummary, len(res.Entries)), Next: res.Next}
	for i, e := range res.Entries {
		out.Entries[i] = newAPISummary(e, h.operator())
	}
	writeJSON(w, http.StatusOK, out)
}

// apiEntry serves GET /api/entries/{id}.
func (h *handler) apiEntry(w http.ResponseWriter, r *http.Request) {
	id, ok := h.entryID(w, r)
	if !ok {
		return
	}
	e, err := h.cfg.Log.Get(r.Context(), scopeOf(r), id)
	if err != nil {
		h.failErr(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, newAPIEntry(e, h.operator()))
}

// apiRedeliver serves POST /api/entries/{id}/redeliver.
func (h *handler) apiRedeliver(w http.ResponseWriter, r *http.Request) {
	if h.refuseReadOnly(w, r) {
		return
	}
	get, ok := h.checkJSONPost(w, r)
	if !ok || h.refuseTenantParam(w, r, get(paramTenant)) {
		return
	}
	id, ok := h.entryID(w, r)
	if !ok {
		return
	}
	if err := h.redeliverOne(r, id); err != nil {
		h.failErr(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, apiRedelivered{Redelivered: 1})
}

// apiRedeliverBulk serves POST /api/redeliver.
func (h *handler) apiRedeliverBulk(w http.ResponseWriter, r *http.Request) {
	if h.refuseReadOnly(w, r) {
		return
	}
	get, ok := h.checkJSONPost(w, r)
	if !ok {
		return
	}
	if s := strings.TrimSpace(get(paramStatus)); s != "" && s != string(executionlog.StatusFailed) {
		h.fail(w, r, http.StatusBadRequest, "status "+clip(s)+": only failed entries are redelivered")
		return
	}
	f, _, err := h.parseFilter(r, get)
	if err != nil {
		h.failErr(w, r, err)
		return
	}
	limit, err := parseCount(paramMax, get(paramMax), h.cfg.BulkLimit)
	if err != nil {
		h.failErr(w, r, err)
		return
	}
	if limit == 0 {
		limit = h.cfg.BulkLimit
	}
	f.Status = ""
	n, err := h.cfg.Redeliverer.RedeliverMatching(r.Context(), f, limit)
	if err != nil {
		h.failErr(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, apiRedelivered{Redelivered: n})
}

// apiParams are the parameters a JSON API POST body may hold.
var apiParams = map[string]bool{
	paramFrom: true, paramTo: true, paramTicket: true, paramError: true, paramTrigger: true,
	paramStatus: true, paramCursor: true, paramMax: true, paramTenant: true,
}

// checkJSONPost checks that a JSON API POST cannot come from a form or a
// simple cross-origin request: its Content-Type must be application/json,
// and it must carry an X-Requested-With header, or X-CSRF-Token with the
// token of the browser's CSRF cookie. Neither can be sent cross-origin
// without a CORS preflight, which the handler never approves. It returns
// the request's parameters: the query string, overridden by the keys of
// the JSON object in the body, if any. It answers 400, 403 or 415 and
// returns false when the request is not right.
func (h *handler) checkJSONPost(w http.ResponseWriter, r *http.Request) (func(string) string, bool) {
	mt, _, err := mime.ParseMediaType(r.Header.Get("Content-Type"))
	if err != nil || mt != "application/json" {
		h.fail(w, r, http.StatusUnsupportedMediaType, "Content-Type must be application/json")
		return nil, false
	}
	if r.Header.Get("X-Requested-With") == "" && !h.validCSRF(r, r.Header.Get(csrfHeader)) {
		h.fail(w, r, http.StatusForbidden, "send an X-Requested-With header (any value) with API requests that change state")
		return nil, false
	}
	params := map[string]string{}
	q := r.URL.Query()
	for k := range q {
		params[k] = q.Get(k)
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxForm))
	if err != nil {
		h.fail(w, r, http.StatusBadRequest, "the request body could not be read")
		return nil, false
	}
	if len(bytes.TrimSpace(body)) > 0 {
		var obj map[string]json.RawMessage
		if err := json.Unmarshal(body, &obj); err != nil {
			h.fail(w, r, http.StatusBadRequest, "the body must be a JSON object")
			return nil, false
		}
		keys := make([]string, 0, len(obj))
		for k := range obj {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		for _, k := range keys {
			if !apiParams[k] {
				h.fail(w, r, http.StatusBadRequest, "unknown parameter "+clip(k))
				return nil, false
			}
			v, err := paramText(obj[k])
			if err != nil {
				h.fail(w, r, http.StatusBadRequest, k+": "+err.Error())
				return nil, false
			}
			params[k] = v
		}
	}
	return func(k string) string { return params[k] }, true
}

// paramText returns the text of a JSON parameter value: a string, or a
// number as written. null is "".
func paramText(raw json.RawMessage) (string, error) {
	raw = bytes.TrimSpace(raw)
	switch {
	case bytes.Equal(raw, []byte("null")):
		return "", nil
	case len(raw) > 0 && raw[0] == '"':
		var s string
		err := json.Unmarshal(raw, &s)
		return s, err
	case len(raw) > 0 && (raw[0] == '-' || raw[0] >= '0' && raw[0] <= '9'):
		var n json.Number
		err := json.Unmarshal(raw, &n)
		return n.String(), err
	}
	return "", errors.New("must be a string or a number")
}
