package httpapi

import (
	"net/http"
	"time"

	"github.com/satchelhq/satchel/internal/satchel"
)

type userJSON struct {
	ID        string    `json:"id"`
	Username  string    `json:"username"`
	Email     string    `json:"email"`
	CreatedAt time.Time `json:"created_at"`
	UpdatedAt time.Time `json:"updated_at"`
}

func toUser(u satchel.User) userJSON {
	return userJSON{ID: u.ID, Username: u.Username, Email: u.Email, CreatedAt: utc(u.CreatedAt), UpdatedAt: utc(u.UpdatedAt)}
}

type meJSON struct {
	userJSON
	StorageUsed  int64  `json:"storage_used_bytes"`
	StorageQuota *int64 `json:"storage_quota_bytes"`
}

func (s *Server) toMe(u satchel.User) meJSON {
	m := meJSON{userJSON: toUser(u), StorageUsed: u.StorageUsed}
	if s.quota > 0 {
		q := s.quota
		m.StorageQuota = &q
	}
	return m
}

func (s *Server) register(w http.ResponseWriter, r *http.Request) error {
	var in struct {
		Username string `json:"username"`
		Email    string `json:"email"`
		Password string `json:"password"`
	}
	if err := decodeJSON(w, r, &in); err != nil {
		return err
	}
	u, err := s.accounts.Register(r.Context(), in.Username, in.Email, in.Password, s.clientAddr(r))
	if err != nil {
		return err
	}
	w.Header().Set("Location", "/api/v1/me")
	writeJSON(w, http.StatusCreated, toUser(u))
	return nil
}

func (s *Server) login(w http.ResponseWriter, r *http.Request) error {
	var in struct {
		Login    string `json:"login"`
		Password string `json:"password"`
	}
	if err := decodeJSON(w, r, &in); err != nil {
		return err
	}
	token, sess, u, err := s.accounts.Login(r.Context(), in.Login, in.Password, s.clientAddr(r))
	if err != nil {
		return err
	}
	http.SetCookie(w, s.sessionCookie(r, token, sess.ExpiresAt))
	writeJSON(w, http.StatusCreated, map[string]any{"user": toUser(u), "expires_at": utc(sess.ExpiresAt)})
	return nil
}

func (s *Server) logout(w http.ResponseWriter, r *http.Request) error {
	p := principal(r)
	if p.SessionID != "" {
		if err := s.accounts.Logout(r.Context(), p.SessionID); err != nil {
			return err
		}
		http.SetCookie(w, s.sessionCookie(r, "", time.Time{}))
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

func (s *Server) getMe(w http.ResponseWriter, r *http.Request) error {
	// The principal's user row was read with the credentials, in this request.
	writeJSON(w, http.StatusOK, s.toMe(principal(r).User))
	return nil
}

func (s *Server) updateMe(w http.ResponseWriter, r *http.Request) error {
	var in struct {
		Email           *string `json:"email"`
		Password        *string `json:"password"`
		CurrentPassword string  `json:"current_password"`
	}
	if err := decodeJSON(w, r, &in); err != nil {
		return err
	}
	u, err := s.accounts.UpdateMe(r.Context(), principal(r), in.Email, in.Password, in.CurrentPassword)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, s.toMe(u))
	return nil
}

type apiKeyJSON struct {
	ID         string     `json:"id"`
	Name       string     `json:"name"`
	Prefix     string     `json:"prefix"`
	CreatedAt  time.Time  `json:"created_at"`
	LastUsedAt *time.Time `json:"last_used_at"`
	Key        string     `json:"key,omitempty"`
}

func toAPIKey(k satchel.APIKey) apiKeyJSON {
	return apiKeyJSON{ID: k.ID, Name: k.Name, Prefix: k.Prefix, CreatedAt: utc(k.CreatedAt), LastUsedAt: utcPtr(k.LastUsedAt)}
}

func (s *Server) createAPIKey(w http.ResponseWriter, r *http.Request) error {
	var in struct {
		Name string `json:"name"`
	}
	if err := decodeOptionalJSON(w, r, &in); err != nil {
		return err
	}
	key, k, err := s.accounts.CreateAPIKey(r.Context(), principal(r).User.ID, in.Name)
	if err != nil {
		return err
	}
	out := toAPIKey(k)
	out.Key = key
	writeJSON(w, http.StatusCreated, out)
	return nil
}

func (s *Server) listAPIKeys(w http.ResponseWriter, r *http.Request) error {
	keys, err := s.accounts.ListAPIKeys(r.Context(), principal(r).User.ID)
	if err != nil {
		return err
	}
	items := make([]apiKeyJSON, 0, len(keys))
	for _, k := range keys {
		items = append(items, toAPIKey(k))
	}
	writeJSON(w, http.StatusOK, map[string]any{"items": items})
	return nil
}

func (s *Server) deleteAPIKey(w http.ResponseWriter, r *http.Request) error {
	if err := s.accounts.DeleteAPIKey(r.Context(), principal(r).User.ID, r.PathValue("id")); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}
