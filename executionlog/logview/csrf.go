package logview

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"net/http"
	"strings"
)

// CSRF protection of the HTML forms: each browser gets a random nonce in
// the csrfCookie cookie (HttpOnly, SameSite=Strict), and every form
// carries the token HMAC-SHA256(key, nonce) in its csrfField field. A POST
// is accepted only when the token matches the cookie's nonce, so a page of
// another site, which can neither read the cookie nor a page of the
// handler, cannot forge one, and a token taken from one browser is useless
// in another. The handler also refuses cross-origin browser POSTs by their
// Sec-Fetch-Site and Origin headers (http.CrossOriginProtection).
// Config.HostCSRF replaces the token and its cookie with the host's own
// protection; the cross-origin check stays.
const (
	csrfCookie = "logview_csrf"
	csrfField  = "csrf_token"
	// csrfHeader carries the token in JSON API requests, as an
	// alternative to X-Requested-With.
	csrfHeader = "X-CSRF-Token"
)

// csrfToken returns the token of nonce.
func (h *handler) csrfToken(nonce string) string {
	m := hmac.New(sha256.New, h.csrfKey)
	m.Write([]byte("logview csrf\x00" + nonce))
	return base64.RawURLEncoding.EncodeToString(m.Sum(nil))
}

// csrfFor returns the form token of the browser that sent r, setting a
// new nonce cookie on w when r has none.
func (h *handler) csrfFor(w http.ResponseWriter, r *http.Request) string {
	if c, err := r.Cookie(csrfCookie); err == nil && validNonce(c.Value) {
		return h.csrfToken(c.Value)
	}
	b := make([]byte, 24)
	_, _ = rand.Read(b) // crypto/rand.Read never returns an error.
	nonce := base64.RawURLEncoding.EncodeToString(b)
	http.SetCookie(w, &http.Cookie{
		Name:     csrfCookie,
		Value:    nonce,
		Path:     mountPath(r),
		HttpOnly: true,
		Secure:   r.TLS != nil,
		SameSite: http.SameSiteStrictMode,
	})
	return h.csrfToken(nonce)
}

// formToken returns the name and value of the CSRF field of the forms
// of a page for r: the host's with Config.HostCSRF (no field when it
// names none), the handler's own otherwise.
func (h *handler) formToken(w http.ResponseWriter, r *http.Request) (field, token string) {
	if host := h.cfg.HostCSRF; host != nil {
		if host.Field == "" {
			return "", ""
		}
		return host.Field, host.Token(r)
	}
	return csrfField, h.csrfFor(w, r)
}

// validFormToken reports whether the parsed form of the POST r carries
// the CSRF token of its browser. With Config.HostCSRF the host's
// middleware, which runs before the handler, has checked it.
func (h *handler) validFormToken(r *http.Request) bool {
	if h.cfg.HostCSRF != nil {
		return true
	}
	return h.validCSRF(r, r.PostForm.Get(csrfField))
}

// validCSRF reports whether token is the token of the nonce cookie of r.
func (h *handler) validCSRF(r *http.Request, token string) bool {
	c, err := r.Cookie(csrfCookie)
	if err != nil || !validNonce(c.Value) || token == "" {
		return false
	}
	return hmac.Equal([]byte(token), []byte(h.csrfToken(c.Value)))
}

// validNonce reports whether s looks like a nonce csrfFor made.
func validNonce(s string) bool {
	if len(s) != 32 {
		return false
	}
	_, err := base64.RawURLEncoding.DecodeString(s)
	return err == nil
}

// mountPath returns the path the handler is mounted at, ending in a
// slash: the part of the request's path that http.StripPrefix removed,
// or "/" when it cannot tell.
func mountPath(r *http.Request) string {
	full := r.RequestURI
	if i := strings.IndexAny(full, "?#"); i >= 0 {
		full = full[:i]
	}
	rest := r.URL.EscapedPath()
	if !strings.HasPrefix(full, "/") || !strings.HasSuffix(full, rest) {
		return "/"
	}
	prefix := strings.TrimSuffix(full[:len(full)-len(rest)], "/")
	return prefix + "/"
}
