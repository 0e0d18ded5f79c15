package logview

import (
	"context"
	_ "embed" // the style sheet
	"errors"
	"log/slog"
	"net/http"
	"path"
	"strings"
	"time"

	"github.com/tickethooks/tickethooks/executionlog"
)

//go:embed static/style.css
var styleCSS []byte

// serveStyle serves the pages' style sheet.
func serveStyle(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "text/css; charset=utf-8")
	w.Header().Set("Cache-Control", "max-age=3600")
	_, _ = w.Write(styleCSS)
}

// contentSecurityPolicy allows the pages nothing but their own style sheet
// and forms posting to the handler: no scripts, no frames, no other
// origins.
const contentSecurityPolicy = "default-src 'none'; style-src 'self'; img-src 'self' data:; " +
	"form-action 'self'; frame-ancestors 'none'; base-uri 'none'"

// handler serves the pages and the JSON API.
type handler struct {
	cfg     Config
	csrfKey []byte
	mux     *http.ServeMux
	// staff is set in the operator view (NewOperator): it tells the
	// host's staff, who see every tenant, from everyone else.
	staff func(r *http.Request) bool
}

// newHandler returns the handler of a validated cfg with defaults
// applied: the operator view when staff is not nil.
func newHandler(cfg Config, csrfKey []byte, staff func(r *http.Request) bool) *handler {
	h := &handler{cfg: cfg, csrfKey: csrfKey, mux: http.NewServeMux(), staff: staff}
	cop := http.NewCrossOriginProtection()
	cop.SetDenyHandler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h.fail(w, r, http.StatusForbidden, "cross-origin request refused")
	}))
	post := func(f http.HandlerFunc) http.Handler { return cop.Handler(f) }

	h.mux.HandleFunc("GET /{$}", h.list)
	h.mux.HandleFunc("GET /entries/{id}", h.entry)
	h.mux.Handle("POST /entries/{id}/redeliver", post(h.redeliverForm))
	h.mux.HandleFunc("GET /redeliver", h.confirmBulk)
	h.mux.Handle("POST /redeliver", post(h.redeliverBulkForm))
	h.mux.HandleFunc("GET /static/style.css", serveStyle)

	h.mux.HandleFunc("GET /api/entries", h.apiList)
	h.mux.HandleFunc("GET /api/entries/{id}", h.apiEntry)
	h.mux.Handle("POST /api/entries/{id}/redeliver", post(h.apiRedeliver))
	h.mux.Handle("POST /api/redeliver", post(h.apiRedeliverBulk))
	return h
}

// ServeHTTP sets the security headers of every response and routes r.
func (h *handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	hd := w.Header()
	hd.Set("Content-Security-Policy", contentSecurityPolicy)
	hd.Set("X-Content-Type-Options", "nosniff")
	hd.Set("Referrer-Policy", "no-referrer")
	hd.Set("X-Frame-Options", "DENY")
	if !strings.HasPrefix(r.URL.Path, "/static/") {
		hd.Set("Cache-Control", "no-store")
	}
	if r.URL.Path == "" {
		// Mounted at /prefix and asked for /prefix: send the browser to
		// /prefix/, so that relative links resolve under it.
		full := r.URL.EscapedPath()
		if i := strings.IndexAny(r.RequestURI, "?#"); i >= 0 {
			full = r.RequestURI[:i]
		} else if r.RequestURI != "" {
			full = r.RequestURI
		}
		target := path.Base(full) + "/"
		if r.URL.RawQuery != "" {
			target += "?" + r.URL.RawQuery
		}
		redirect(w, target)
		return
	}
	if strings.HasPrefix(r.URL.Path, "/static/") {
		h.mux.ServeHTTP(w, r) // the style sheet: no data, and the same for everyone
		return
	}
	s, ok := h.requestScope(w, r)
	if !ok || h.refuseTenantParam(w, r, r.URL.Query().Get(paramTenant)) {
		return
	}
	h.mux.ServeHTTP(w, r.WithContext(context.WithValue(r.Context(), scopeKey{}, s)))
}

// scopeKey is the context key of the Scope of a request.
type scopeKey struct{}

// requestScope returns the tenants whose entries r may see and change:
// every tenant in the operator view for the host's staff, the tenant
// Config.Tenant names, or tenant "" without Config.Tenant. It answers 403
// and returns false when r may see none.
func (h *handler) requestScope(w http.ResponseWriter, r *http.Request) (executionlog.Scope, bool) {
	switch {
	case h.staff != nil:
		if !h.staff(r) {
			h.fail(w, r, http.StatusForbidden, "this view of every tenant's entries is for staff only")
			return executionlog.Scope{}, false
		}
		return executionlog.AllTenants, true
	case h.cfg.Tenant != nil:
		t, ok := h.cfg.Tenant(r)
		if !ok || t == "" {
			h.fail(w, r, http.StatusForbidden, "this request belongs to no account: sign in to an account to see its webhook log")
			return executionlog.Scope{}, false
		}
		if err := executionlog.ValidateTenant(t); err != nil {
			// The host's Tenant func returned a name no log holds: a bug
			// of the host, logged for it; the user sees no detail.
			h.cfg.Logger.LogAttrs(r.Context(), slog.LevelError, "logview: Config.Tenant returned an invalid tenant",
				slog.String("method", r.Method), slog.String("path", r.URL.Path), slog.String("error", err.Error()))
			h.fail(w, r, http.StatusForbidden, "this request belongs to no valid account")
			return executionlog.Scope{}, false
		}
		return executionlog.TenantScope(t), true
	}
	return executionlog.TenantScope(""), true
}

// scopeOf returns the Scope that ServeHTTP found for r. ServeHTTP sets
// it before routing, and the routes are reached only through ServeHTTP.
func scopeOf(r *http.Request) executionlog.Scope {
	s, _ := r.Context().Value(scopeKey{}).(executionlog.Scope)
	return s
}

// operator reports whether h is the operator view of every tenant.
func (h *handler) operator() bool { return h.staff != nil }

// redirect answers 303 See Other to location, a URL relative to the
// request's: http.Redirect would resolve it against the path left by
// http.StripPrefix, which browsers never see.
func redirect(w http.ResponseWriter, location string) {
	w.Header().Set("Location", location)
	w.WriteHeader(http.StatusSeeOther)
}

// isAPI reports whether r is a request of the JSON API.
func isAPI(r *http.Request) bool {
	return strings.HasPrefix(r.URL.Path, "/api/")
}

// fail answers with status and msg: as JSON for the API, as a page
// otherwise.
func (h *handler) fail(w http.ResponseWriter, r *http.Request, status int, msg string) {
	if isAPI(r) {
		writeJSON(w, status, apiError{Error: msg})
		return
	}
	h.render(w, r, status, "error", &errorPage{page: h.page(rootOf(r)), Status: status, Message: msg})
}

// failErr answers for err, an error of parsing the request, of the log or
// of the redeliverer: 400 with the message for malformed parameters,
// 404 and 409 for the log's states, and 500 with a generic message,
// logging err, for anything else.
func (h *handler) failErr(w http.ResponseWriter, r *http.Request, err error) {
	switch {
	case errors.Is(err, errBadRequest):
		h.fail(w, r, http.StatusBadRequest, strings.TrimPrefix(err.Error(), errBadRequest.Error()+": "))
	case errors.Is(err, executionlog.ErrInvalidFilter):
		h.fail(w, r, http.StatusBadRequest, strings.TrimPrefix(err.Error(), "executionlog: "))
	case errors.Is(err, executionlog.ErrNotFound):
		h.fail(w, r, http.StatusNotFound, "no such entry")
	case errors.Is(err, errTestEntry):
		h.fail(w, r, http.StatusConflict, errTestEntry.Error())
	case errors.Is(err, executionlog.ErrNotFinished):
		h.fail(w, r, http.StatusConflict, "the entry is still pending: it is being delivered or will be retried")
	case errors.Is(err, context.Canceled) && r.Context().Err() != nil:
		// The client went away; nobody reads the answer.
		w.WriteHeader(http.StatusServiceUnavailable)
	default:
		h.cfg.Logger.LogAttrs(r.Context(), slog.LevelError, "logview: request failed",
			slog.String("method", r.Method), slog.String("path", r.URL.Path), slog.String("error", err.Error()))
		h.fail(w, r, http.StatusInternalServerError, "internal error; the details are in the server's log")
	}
}

// entryID returns the entry id of r's path. It answers 404 and returns
// false when the id does not have the format of the ids the engine makes
// (executionlog.ValidID), so that no other id reaches the log or a page.
func (h *handler) entryID(w http.ResponseWriter, r *http.Request) (string, bool) {
	id := r.PathValue("id")
	if !executionlog.ValidID(id) {
		h.fail(w, r, http.StatusNotFound, "no such entry")
		return "", false
	}
	return id, true
}

// canRedeliver reports whether the handler may redeliver.
func (h *handler) canRedeliver() bool {
	return h.cfg.Redeliverer != nil
}

// refuseReadOnly answers 403 and returns true when the handler may not
// redeliver.
func (h *handler) refuseReadOnly(w http.ResponseWriter, r *http.Request) bool {
	if h.canRedeliver() {
		return false
	}
	h.fail(w, r, http.StatusForbidden, "redelivery is not allowed here: the log is read-only")
	return true
}

// now returns the current time.
func (h *handler) now() time.Time { return h.cfg.Now() }
