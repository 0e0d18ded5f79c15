package logview

import (
	"cmp"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/tickethooks/tickethooks/executionlog"
	"github.com/tickethooks/tickethooks/internal/tenantname"
	"github.com/tickethooks/tickethooks/internal/textcut"
)

// errBadRequest is wrapped by the errors of malformed request parameters;
// their messages are shown to the user with a 400 status.
var errBadRequest = errors.New("bad request")

// badRequest returns an error wrapping errBadRequest with a message fit to
// show.
func badRequest(format string, args ...any) error {
	return fmt.Errorf("%w: %s", errBadRequest, fmt.Sprintf(format, args...))
}

// The filter parameters of list, API and redelivery requests.
const (
	paramFrom    = "from"
	paramTo      = "to"
	paramTicket  = "ticket"
	paramError   = "error"
	paramTrigger = "trigger"
	paramStatus  = "status"
	paramTenant  = "tenant" // the operator view only
	paramLimit   = "limit"
	paramCursor  = "cursor"
	paramMax     = "max"
)

// filterParams are the filter parameters of a request, as written, for
// showing them again in the filter form and in links.
type filterParams struct {
	From, To, Ticket, Error, Trigger, Status string
	// Tenant is the tenant filter of the operator view, "" for every
	// tenant; always "" elsewhere.
	Tenant string
}

// values returns the non-empty parameters of p as a query.
func (p filterParams) values() url.Values {
	v := url.Values{}
	for _, kv := range [][2]string{
		{paramFrom, p.From}, {paramTo, p.To}, {paramTicket, p.Ticket},
		{paramError, p.Error}, {paramTrigger, p.Trigger}, {paramStatus, p.Status},
		{paramTenant, p.Tenant},
	} {
		if kv[1] != "" {
			v.Set(kv[0], kv[1])
		}
	}
	return v
}

// Empty reports whether p filters nothing.
func (p filterParams) Empty() bool {
	return p == filterParams{}
}

// maxParam is the longest value of a parameter other than error, trigger
// and cursor, which have the limits of executionlog.Filter.
const maxParam = 64

// checkParam returns an error wrapping errBadRequest, naming the
// parameter name, when its value s is longer than most bytes, is not
// valid UTF-8 or holds a control character. No filter of the log holds
// such text, and some databases cannot even compare it.
func checkParam(name, s string, most int) error {
	switch {
	case len(s) > most:
		return badRequest("%s is %d bytes long; the limit is %d", name, len(s), most)
	case !utf8.ValidString(s):
		return badRequest("%s %q is not valid UTF-8", name, clip(s))
	case strings.ContainsFunc(s, unicode.IsControl):
		return badRequest("%s %q holds a control character", name, clip(s))
	}
	return nil
}

// parseFilter reads the filter parameters from get (the first value of a
// parameter, or "") into a Filter of the tenants of scope, with dates read
// in loc. With operator set (the operator view, whose scope is every
// tenant), the tenant parameter narrows the filter to one tenant; without
// it, a tenant parameter is refused, so that nobody mistakes the page of
// their own tenant for another's. It returns an
// error wrapping errBadRequest, or executionlog.ErrInvalidFilter, that
// names the parameter: for a value that checkParam refuses, one that does
// not parse, and a cursor that executionlog.DecodeCursor refuses. No such
// value reaches the log.
//
// from is inclusive; to includes the day, minute or second it names when
// it is a date (2006-01-02) or a local date and time (2006-01-02T15:04 or
// 2006-01-02T15:04:05); an RFC 3339 time is an exact bound, exclusive for
// to.
func parseFilter(get func(string) string, loc *time.Location, scope executionlog.Scope, operator bool) (executionlog.Filter, filterParams, error) {
	f := executionlog.Filter{Tenant: scope.Tenant, AllTenants: scope.AllTenants}
	var p filterParams
	var cursor, limit, tenant string
	var err error
	// Check every parameter before any reaches the log. A bad value is
	// left out of p, which the list page shows again in its form.
	for _, param := range []struct {
		name string
		dst  *string
		most int
	}{
		{paramFrom, &p.From, maxParam}, {paramTo, &p.To, maxParam}, {paramTicket, &p.Ticket, maxParam},
		{paramError, &p.Error, executionlog.MaxFilterText}, {paramTrigger, &p.Trigger, executionlog.MaxFilterText},
		{paramStatus, &p.Status, maxParam}, {paramLimit, &limit, maxParam},
		{paramCursor, &cursor, executionlog.MaxCursorLength},
		{paramTenant, &tenant, tenantname.MaxBytes},
	} {
		v := get(param.name)
		if param.name != paramTenant {
			// Tenants are compared exactly: " acme" is not "acme".
			v = strings.TrimSpace(v)
		}
		if perr := checkParam(param.name, v, param.most); perr != nil {
			err = cmp.Or(err, perr)
			continue
		}
		*param.dst = v
	}
	if err != nil {
		return f, p, err
	}
	if tenant != "" {
		if !operator {
			return f, p, errTenantParam(tenant)
		}
		if err := executionlog.ValidateTenant(tenant); err != nil {
			return f, p, badRequest("tenant %q is not a tenant name", clip(tenant))
		}
		// Narrow the operator's scope, every tenant, to one.
		f.Tenant, f.AllTenants, p.Tenant = tenant, false, tenant
	}
	if f.From, err = parseTime(paramFrom, p.From, loc, false); err != nil {
		return f, p, err
	}
	if f.To, err = parseTime(paramTo, p.To, loc, true); err != nil {
		return f, p, err
	}
	if !f.From.IsZero() && !f.To.IsZero() && !f.To.After(f.From) {
		return f, p, badRequest("to (%s) must be after from (%s)", p.To, p.From)
	}
	// Show a bare date as the equivalent date and time, which the form's
	// datetime-local inputs can hold.
	if len(p.From) == len("2006-01-02") {
		p.From += "T00:00"
	}
	if len(p.To) == len("2006-01-02") {
		p.To += "T23:59"
	}
	if p.Ticket != "" {
		s := strings.TrimPrefix(p.Ticket, "#")
		n, err := strconv.Atoi(s)
		if err != nil || len(s) > 18 {
			return f, p, badRequest("ticket %q is not a ticket number", clip(p.Ticket))
		}
		if n <= 0 {
			return f, p, badRequest("ticket %d must be a positive number", n)
		}
		f.TicketID = n
	}
	f.ErrorText = p.Error
	f.TriggerID = p.Trigger
	switch s := executionlog.Status(p.Status); {
	case s == "" || s == "all":
		p.Status = ""
	case s.Valid():
		f.Status = s
	default:
		return f, p, badRequest("status %q is not one of pending, succeeded and failed", clip(p.Status))
	}
	if f.Limit, err = parseCount(paramLimit, limit, MaxPageSize); err != nil {
		return f, p, err
	}
	if f.Limit == 0 {
		f.Limit = DefaultPageSize
	}
	if cursor != "" {
		if _, _, err := executionlog.DecodeCursor(cursor); err != nil {
			return f, p, badRequest("cursor %q is malformed: use the next cursor of a page of this log", clip(cursor))
		}
		f.Cursor = cursor
	}
	if _, err := f.Normalize(); err != nil {
		return f, p, err
	}
	return f, p, nil
}

// errTenantParam returns the error of a tenant parameter outside the
// operator view.
func errTenantParam(tenant string) error {
	return badRequest("tenant %q: this view shows the entries of one account only and takes no tenant parameter", clip(tenant))
}

// refuseTenantParam answers 400 and returns true when tenant, the value
// of a request's tenant parameter, is set outside the operator view.
func (h *handler) refuseTenantParam(w http.ResponseWriter, r *http.Request, tenant string) bool {
	if h.operator() || strings.TrimSpace(tenant) == "" {
		return false
	}
	h.failErr(w, r, errTenantParam(tenant))
	return true
}

// parseFilter reads the filter parameters of r from get with
// parseFilter, in the handler's zone, for the tenants r may see.
func (h *handler) parseFilter(r *http.Request, get func(string) string) (executionlog.Filter, filterParams, error) {
	return parseFilter(get, h.cfg.Location, scopeOf(r), h.operator())
}

// parseCount reads the optional positive count parameter name, at most
// most. It returns 0 when the parameter is empty.
func parseCount(name, s string, most int) (int, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return 0, nil
	}
	n, err := strconv.Atoi(s)
	if err != nil || len(s) > maxParam {
		return 0, badRequest("%s %q is not a number", name, clip(s))
	}
	if n <= 0 || n > most {
		return 0, badRequest("%s %d must be between 1 and %d", name, n, most)
	}
	return n, nil
}

// Layouts of dates and times without a zone, with the unit each names.
var localLayouts = []struct {
	layout string
	unit   func(time.Time) time.Time // the start of the next unit
}{
	{"2006-01-02", func(t time.Time) time.Time { return t.AddDate(0, 0, 1) }},
	{"2006-01-02T15:04", func(t time.Time) time.Time { return t.Add(time.Minute) }},
	{"2006-01-02T15:04:05", func(t time.Time) time.Time { return t.Add(time.Second) }},
}

// parseTime reads the time parameter name. When end is set, a date or
// local time is read as the end of the unit it names.
func parseTime(name, s string, loc *time.Location, end bool) (time.Time, error) {
	if s == "" {
		return time.Time{}, nil
	}
	for _, l := range localLayouts {
		if t, err := time.ParseInLocation(l.layout, s, loc); err == nil {
			if end {
				t = l.unit(t)
			}
			return t, nil
		}
	}
	if t, err := time.Parse(time.RFC3339Nano, s); err == nil {
		return t, nil
	}
	return time.Time{}, badRequest("%s %q is not a date (2006-01-02), a date and time (2006-01-02T15:04) or an RFC 3339 time", name, clip(s))
}

// clip shortens s for an error message.
func clip(s string) string { return textcut.Cut(s, 64) }
