package httpapi

import (
	"net/http"
	"net/url"
	"strings"

	"github.com/satchelhq/satchel/internal/app"
)

// appCSP lets the app's pages run their own scripts and call the API, and
// nothing else: no inline script, no other origin, no framing.
const appCSP = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; connect-src 'self'; " +
	"form-action 'self'; frame-ancestors 'none'; base-uri 'none'"

// appPage is what the signed-in page templates show.
type appPage struct {
	User             string
	Page             string
	RegistrationOpen bool
}

func pageHeaders(w http.ResponseWriter) {
	h := w.Header()
	h.Set("Content-Security-Policy", appCSP)
	h.Set("Cache-Control", "no-store")
	h.Set("Referrer-Policy", "same-origin")
}

// browserSession returns the principal of a browser's session cookie.
func (s *Server) browserSession(r *http.Request) (app.Principal, bool) {
	c, err := r.Cookie(SessionCookie)
	if err != nil {
		return app.Principal{}, false
	}
	p, err := s.accounts.AuthenticateSession(r.Context(), c.Value)
	return p, err == nil
}

// appPageHandler serves a signed-in page, or sends the browser to sign in.
func (s *Server) appPageHandler(page string) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		pageHeaders(w)
		p, ok := s.browserSession(r)
		if !ok {
			http.Redirect(w, r, "/login?next="+url.QueryEscape(r.URL.Path), http.StatusSeeOther)
			return
		}
		if err := s.pages.Render(w, http.StatusOK, page, appPage{User: p.User.Username, Page: page}); err != nil {
			writeError(w, r, err)
		}
	}
}

// signInPage serves the sign-in or registration page; a browser that is
// signed in already goes to its files.
func (s *Server) signInPage(page string) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		pageHeaders(w)
		if _, ok := s.browserSession(r); ok {
			http.Redirect(w, r, safeNext(r.URL.Query().Get("next")), http.StatusSeeOther)
			return
		}
		if page == "register" && !s.accounts.RegistrationOpen() {
			http.Redirect(w, r, "/login", http.StatusSeeOther)
			return
		}
		if err := s.pages.Render(w, http.StatusOK, page, appPage{Page: page, RegistrationOpen: s.accounts.RegistrationOpen()}); err != nil {
			writeError(w, r, err)
		}
	}
}

// safeNext keeps a post-sign-in redirect on this site: a path, with no
// host, no scheme, nothing a browser could read as another site (a
// backslash, a control character).
func safeNext(next string) string {
	if !strings.HasPrefix(next, "/") || strings.ContainsAny(next, "\\") || strings.IndexFunc(next, func(r rune) bool { return r < 0x20 || r == 0x7f }) >= 0 {
		return "/"
	}
	u, err := url.Parse(next)
	if err != nil || u.Scheme != "" || u.Host != "" || u.User != nil || strings.HasPrefix(u.Path, "//") {
		return "/"
	}
	return u.RequestURI()
}
