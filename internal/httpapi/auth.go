package httpapi

import (
	"net/http"
	"strings"
	"time"

	"github.com/satchelhq/satchel/internal/app"
	"github.com/satchelhq/satchel/internal/satchel"
)

// SessionCookie is the name of the login session cookie.
const SessionCookie = "satchel_session"

type principalKey struct{}

// principal returns who an authenticated route acts for.
func principal(r *http.Request) app.Principal {
	p, _ := r.Context().Value(principalKey{}).(app.Principal)
	return p
}

// authenticate finds the principal of a request: an API key in the
// Authorization header, or else the session cookie. A request that sends a
// key is judged by the key alone.
func (s *Server) authenticate(r *http.Request) (app.Principal, error) {
	if h := r.Header.Get("Authorization"); h != "" {
		scheme, token, ok := strings.Cut(h, " ")
		if !ok || !strings.EqualFold(scheme, "Bearer") {
			return app.Principal{}, satchel.Errorf(satchel.ErrUnauthenticated, "the Authorization header must be \"Bearer <api key>\"")
		}
		return s.accounts.AuthenticateKey(r.Context(), strings.TrimSpace(token))
	}
	if c, err := r.Cookie(SessionCookie); err == nil {
		return s.accounts.AuthenticateSession(r.Context(), c.Value)
	}
	return app.Principal{}, satchel.Errorf(satchel.ErrUnauthenticated, "sign in or send an API key")
}

func (s *Server) sessionCookie(r *http.Request, value string, expires time.Time) *http.Cookie {
	c := &http.Cookie{
		Name: SessionCookie, Value: value, Path: "/", HttpOnly: true, SameSite: http.SameSiteLaxMode,
		Secure: s.secure || r.TLS != nil,
	}
	if value == "" {
		c.MaxAge = -1
	} else {
		c.Expires = expires.UTC()
	}
	return c
}
