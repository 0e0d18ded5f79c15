package logview

import (
	"bytes"
	"embed"
	"encoding/json"
	"errors"
	"html/template"
	"log/slog"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/tickethooks/tickethooks/executionlog"
	"github.com/tickethooks/tickethooks/webhook"
)

//go:embed templates/*.html
var templateFiles embed.FS

// pages are the page templates, each the layout with its content.
var pages = func() map[string]*template.Template {
	m := make(map[string]*template.Template)
	for _, name := range []string{"list", "entry", "confirm", "error"} {
		m[name] = template.Must(template.New("layout.html").ParseFS(templateFiles,
			"templates/layout.html", "templates/"+name+".html"))
	}
	return m
}()

// maxForm is the largest form body a POST may send.
const maxForm = 64 << 10

// page holds what every page shows.
type page struct {
	Title string
	// Root is the relative URL of the handler's root from the page:
	// "./", "../", ...
	Root template.URL
	// CanRedeliver says whether redelivery buttons are shown.
	CanRedeliver bool
	// Operator marks the operator view of every tenant, which shows
	// tenants.
	Operator bool
	// CSRFField names the form field of the CSRF token; CSRF is the
	// token, set when CanRedeliver.
	CSRFField, CSRF string
}

// page returns the common part of a page at root.
func (h *handler) page(root template.URL) page {
	return page{Title: h.cfg.Title, Root: root, CanRedeliver: h.canRedeliver(), Operator: h.operator()}
}

// formPage returns the common part of a page at root with forms, setting
// the CSRF cookie on w when the browser has none.
func (h *handler) formPage(w http.ResponseWriter, r *http.Request, root template.URL) page {
	p := h.page(root)
	if p.CanRedeliver {
		p.CSRFField, p.CSRF = h.formToken(w, r)
	}
	return p
}

// rootOf returns the relative URL of the handler's root from r's path.
func rootOf(r *http.Request) template.URL {
	n := strings.Count(strings.TrimPrefix(r.URL.EscapedPath(), "/"), "/")
	if n == 0 {
		return "./"
	}
	return template.URL(strings.Repeat("../", n))
}

// render writes the page template name with data.
func (h *handler) render(w http.ResponseWriter, r *http.Request, status int, name string, data any) {
	var buf bytes.Buffer
	if err := pages[name].Execute(&buf, data); err != nil {
		h.cfg.Logger.LogAttrs(r.Context(), slog.LevelError, "logview: rendering a page failed",
			slog.String("page", name), slog.String("error", err.Error()))
		http.Error(w, "internal error", http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.WriteHeader(status)
	_, _ = w.Write(buf.Bytes())
}

// errorPage is a page that only says what went wrong.
type errorPage struct {
	page
	Status  int
	Message string
}

// StatusText is the name of the page's status.
func (p *errorPage) StatusText() string { return http.StatusText(p.Status) }

// listPage is the list of entries with its filters.
type listPage struct {
	page
	Filter   filterParams
	Statuses []string
	Error    string
	Notice   string
	Rows     []row
	// Older pages on; Newest returns to the first page, when not on it.
	Older, Newest template.URL
	// Bulk links to the confirmation of redelivering the failed entries
	// matching the filters.
	Bulk template.URL
}

// row is one entry in the list.
type row struct {
	Link        string // "" when the entry page does not serve the id
	Tenant      string // shown in the operator view only
	Time        timeView
	TicketID    int
	TriggerID   string
	TriggerName string
	Test        bool
	Status      string
	Attempts    int
	LastCode    int
	LastError   string
	Note        string
}

// timeView is a time as pages show it.
type timeView struct {
	// Text is the time in the handler's zone; ISO the RFC 3339 form.
	Text, ISO string
	// Relative is how long ago or how soon, such as "5m ago".
	Relative string
}

// timeView returns t as pages show it, or a zero view for a zero t.
func (h *handler) timeView(t time.Time) timeView {
	if t.IsZero() {
		return timeView{}
	}
	return timeView{
		Text:     t.In(h.cfg.Location).Format("2006-01-02 15:04:05 MST"),
		ISO:      t.UTC().Format(time.RFC3339Nano),
		Relative: relative(t.Sub(h.now())),
	}
}

// relative says how far d is from now: "in 3m", "5h ago", "now".
func relative(d time.Duration) string {
	past := d < 0
	if past {
		d = -d
	}
	var s string
	switch {
	case d < time.Second:
		return "now"
	case d < time.Minute:
		s = strconv.Itoa(int(d/time.Second)) + "s"
	case d < time.Hour:
		s = strconv.Itoa(int(d/time.Minute)) + "m"
	case d < 48*time.Hour:
		s = strconv.Itoa(int(d/time.Hour)) + "h"
	default:
		s = strconv.Itoa(int(d/(24*time.Hour))) + "d"
	}
	if past {
		return s + " ago"
	}
	return "in " + s
}

// excerpt shortens s to about n runes on one line.
func excerpt(s string, n int) string {
	s = strings.Join(strings.Fields(s), " ")
	if utf8.RuneCountInString(s) <= n {
		return s
	}
	r := []rune(s)
	return string(r[:n]) + "…"
}

// entryLink returns the link to the entry id from the list page, or ""
// for an id that the entry page does not serve (see handler.entryID). The
// link is a string, which html/template escapes and checks as a URL.
func entryLink(id string) string {
	if !executionlog.ValidID(id) {
		return ""
	}
	return "entries/" + url.PathEscape(id)
}

// withQuery returns base followed by the query v, if any.
func withQuery(base template.URL, v url.Values) template.URL {
	if len(v) == 0 {
		return base
	}
	return base + "?" + template.URL(v.Encode())
}

// list serves the list of entries: GET /.
func (h *handler) list(w http.ResponseWriter, r *http.Request) {
	const root template.URL = "./"
	q := r.URL.Query()
	p := &listPage{
		page:     h.formPage(w, r, root),
		Statuses: []string{"pending", "succeeded", "failed"},
	}
	f, fp, err := h.parseFilter(r, q.Get)
	p.Filter = fp
	if err != nil {
		if !errors.Is(err, errBadRequest) && !errors.Is(err, executionlog.ErrInvalidFilter) {
			h.failErr(w, r, err)
			return
		}
		p.Error = strings.TrimPrefix(strings.TrimPrefix(err.Error(), errBadRequest.Error()+": "), "executionlog: ")
		h.render(w, r, http.StatusBadRequest, "list", p)
		return
	}
	if n, err := strconv.Atoi(q.Get("redelivered")); err == nil && n >= 0 && n <= MaxBulkLimit {
		p.Notice = strconv.Itoa(n) + " failed entries were queued for redelivery."
		if n == 1 {
			p.Notice = "1 failed entry was queued for redelivery."
		}
	}

	res, err := h.cfg.Log.Query(r.Context(), f)
	if err != nil {
		if errors.Is(err, executionlog.ErrInvalidFilter) {
			p.Error = strings.TrimPrefix(err.Error(), "executionlog: ")
			h.render(w, r, http.StatusBadRequest, "list", p)
			return
		}
		h.failErr(w, r, err)
		return
	}
	for _, e := range res.Entries {
		rw := row{
			Link:        entryLink(e.ID),
			Tenant:      e.Tenant,
			Time:        h.timeView(e.CreatedAt),
			TicketID:    e.TicketID,
			TriggerID:   e.TriggerID,
			TriggerName: e.TriggerName,
			Test:        e.Test,
			Status:      string(e.Status),
			Attempts:    len(e.Attempts),
			Note:        excerpt(e.Note, 120),
		}
		if a, ok := e.LastAttempt(); ok {
			rw.LastCode = a.StatusCode
			rw.LastError = excerpt(a.Error, 120)
		}
		p.Rows = append(p.Rows, rw)
	}

	v := fp.values()
	if f.Limit != DefaultPageSize {
		v.Set(paramLimit, strconv.Itoa(f.Limit))
	}
	if res.Next != "" {
		older := cloneValues(v)
		older.Set(paramCursor, res.Next)
		p.Older = withQuery(root, older)
	}
	if f.Cursor != "" {
		p.Newest = withQuery(root, v)
	}
	if h.canRedeliver() && (f.Status == "" || f.Status == executionlog.StatusFailed) {
		bulk := fp.values()
		bulk.Del(paramStatus)
		p.Bulk = withQuery(root+"redeliver", bulk)
	}
	h.render(w, r, http.StatusOK, "list", p)
}

// cloneValues returns a copy of v.
func cloneValues(v url.Values) url.Values {
	c := make(url.Values, len(v))
	for k, vs := range v {
		c[k] = slices.Clone(vs)
	}
	return c
}

// entryPage shows one entry.
type entryPage struct {
	page
	Back        template.URL
	Action      string // the redeliver form's target, relative to the page
	Redelivered bool
	Redeliver   bool // the entry may be redelivered from here

	ID          string
	Tenant      string // shown in the operator view only
	TriggerID   string
	TriggerName string
	ActionIndex int
	TicketID    int
	Event       string
	URL         string
	Status      string
	Test        bool
	SeriesStart int
	SeriesFirst int // the number of the first attempt of the series
	Note        string
	LeaseOwner  string
	Created     timeView
	Updated     timeView
	Next        timeView
	LeaseUntil  timeView
	Headers     [][2]string
	Body        string
	BodyJSON    bool
	Attempts    []attemptView
}

// attemptView is one attempt on the entry page.
type attemptView struct {
	Number       int
	Started      timeView
	Duration     string
	StatusCode   int
	StatusText   string
	Error        string
	Response     string
	Truncated    bool
	SeriesBegins bool
}

// entry serves one entry: GET /entries/{id}.
func (h *handler) entry(w http.ResponseWriter, r *http.Request) {
	const root template.URL = "../"
	id, ok := h.entryID(w, r)
	if !ok {
		return
	}
	e, err := h.cfg.Log.Get(r.Context(), scopeOf(r), id)
	if err != nil {
		h.failErr(w, r, err)
		return
	}
	p := &entryPage{
		page:        h.formPage(w, r, root),
		Back:        root,
		Action:      url.PathEscape(id) + "/redeliver",
		Redelivered: r.URL.Query().Get("redelivered") == "1",
		ID:          e.ID,
		Tenant:      e.Tenant,
		TriggerID:   e.TriggerID,
		TriggerName: e.TriggerName,
		ActionIndex: e.ActionIndex,
		TicketID:    e.TicketID,
		Event:       e.Event,
		URL:         webhook.RedactURL(e.URL, false), // entries recorded before URLs were redacted
		Status:      string(e.Status),
		Test:        e.Test,
		SeriesStart: e.SeriesStart,
		SeriesFirst: e.SeriesStart + 1,
		Note:        e.Note,
		LeaseOwner:  e.LeaseOwner,
		Created:     h.timeView(e.CreatedAt),
		Updated:     h.timeView(e.UpdatedAt),
		Next:        h.timeView(e.NextAttemptAt),
		LeaseUntil:  h.timeView(e.LeaseUntil),
	}
	p.Redeliver = p.CanRedeliver && !e.Test && e.Status != executionlog.StatusPending
	p.Headers = showHeaders(e.RequestHeaders)
	p.Body, p.BodyJSON = showBody(e.RequestBody)
	for i, a := range e.Attempts {
		p.Attempts = append(p.Attempts, attemptView{
			Number:       a.Number,
			Started:      h.timeView(a.StartedAt),
			Duration:     a.Duration.Round(time.Millisecond).String(),
			StatusCode:   a.StatusCode,
			StatusText:   http.StatusText(a.StatusCode),
			Error:        a.Error,
			Response:     a.ResponseBody,
			Truncated:    a.ResponseTruncated,
			SeriesBegins: i > 0 && i == e.SeriesStart,
		})
	}
	h.render(w, r, http.StatusOK, "entry", p)
}

// showHeaders returns the headers sorted by name, with the value of every
// secret header redacted, whatever the log kept.
func showHeaders(h map[string]string) [][2]string {
	safe := webhook.RedactHeaders(h, nil)
	out := make([][2]string, 0, len(safe))
	for k, v := range safe {
		out = append(out, [2]string{k, v})
	}
	slices.SortFunc(out, func(a, b [2]string) int { return strings.Compare(a[0], b[0]) })
	return out
}

// showBody returns the request body indented when it is JSON, and
// whether it is.
func showBody(b []byte) (string, bool) {
	var buf bytes.Buffer
	if err := json.Indent(&buf, b, "", "  "); err == nil {
		return buf.String(), true
	}
	return string(b), false
}

// redeliverForm redelivers one entry: POST /entries/{id}/redeliver.
func (h *handler) redeliverForm(w http.ResponseWriter, r *http.Request) {
	if h.refuseReadOnly(w, r) || !h.checkForm(w, r) || h.refuseTenantParam(w, r, r.PostForm.Get(paramTenant)) {
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
	redirect(w, "../"+url.PathEscape(id)+"?redelivered=1")
}

// errTestEntry is returned by redeliverOne for an entry recorded by a test
// send.
var errTestEntry = errors.New("test sends cannot be redelivered: send a new test instead")

// redeliverOne redelivers the entry id, refusing test sends.
func (h *handler) redeliverOne(r *http.Request, id string) error {
	e, err := h.cfg.Log.Get(r.Context(), scopeOf(r), id)
	if err != nil {
		return err
	}
	if e.Test {
		return errTestEntry
	}
	return h.cfg.Redeliverer.Redeliver(r.Context(), scopeOf(r), id)
}

// checkForm parses the form of a POST and checks its CSRF token. It
// answers 400 or 403 and returns false when they are not right.
func (h *handler) checkForm(w http.ResponseWriter, r *http.Request) bool {
	r.Body = http.MaxBytesReader(w, r.Body, maxForm)
	if err := r.ParseForm(); err != nil {
		h.fail(w, r, http.StatusBadRequest, "the form could not be read")
		return false
	}
	if !h.validFormToken(r) {
		h.fail(w, r, http.StatusForbidden, "the form's security token is missing or out of date: reload the page and try again")
		return false
	}
	return true
}

// confirmPage asks before redelivering the failed entries matching the
// filters.
type confirmPage struct {
	page
	Filter filterParams
	Hidden [][2]string
	Back   template.URL
	Count  int
	More   bool
	Limit  int
}

// confirmBulk shows how many failed entries match: GET /redeliver.
func (h *handler) confirmBulk(w http.ResponseWriter, r *http.Request) {
	const root template.URL = "./"
	if h.refuseReadOnly(w, r) {
		return
	}
	f, fp, err := h.parseFilter(r, r.URL.Query().Get)
	if err != nil {
		h.failErr(w, r, err)
		return
	}
	fp.Status = ""
	count, more, err := h.countFailed(r, f)
	if err != nil {
		h.failErr(w, r, err)
		return
	}
	p := &confirmPage{
		page:   h.formPage(w, r, root),
		Filter: fp,
		Back:   withQuery(root, fp.values()),
		Count:  count,
		More:   more,
		Limit:  h.cfg.BulkLimit,
	}
	for k, vs := range fp.values() {
		p.Hidden = append(p.Hidden, [2]string{k, vs[0]})
	}
	slices.SortFunc(p.Hidden, func(a, b [2]string) int { return strings.Compare(a[0], b[0]) })
	h.render(w, r, http.StatusOK, "confirm", p)
}

// countFailed counts the failed entries matching f that a bulk
// redelivery would send, up to BulkLimit, and reports whether there are
// more.
func (h *handler) countFailed(r *http.Request, f executionlog.Filter) (int, bool, error) {
	f.Status = executionlog.StatusFailed
	f.Cursor = ""
	f.Limit = min(h.cfg.BulkLimit+1, executionlog.MaxLimit)
	n := 0
	for {
		res, err := h.cfg.Log.Query(r.Context(), f)
		if err != nil {
			return 0, false, err
		}
		for _, e := range res.Entries {
			if e.Test {
				continue
			}
			if n == h.cfg.BulkLimit {
				return n, true, nil
			}
			n++
		}
		if res.Next == "" {
			return n, false, nil
		}
		f.Cursor = res.Next
	}
}

// redeliverBulkForm redelivers the failed entries matching the form's
// filters: POST /redeliver.
func (h *handler) redeliverBulkForm(w http.ResponseWriter, r *http.Request) {
	if h.refuseReadOnly(w, r) || !h.checkForm(w, r) {
		return
	}
	f, fp, err := h.parseFilter(r, r.PostForm.Get)
	if err != nil {
		h.failErr(w, r, err)
		return
	}
	f.Status, f.Cursor = "", ""
	n, err := h.cfg.Redeliverer.RedeliverMatching(r.Context(), f, h.cfg.BulkLimit)
	if err != nil {
		h.failErr(w, r, err)
		return
	}
	v := fp.values()
	v.Del(paramStatus)
	v.Set("redelivered", strconv.Itoa(n))
	redirect(w, string(withQuery("./", v)))
}
