package httpapi

import (
	"net/http"
	"time"

	"github.com/satchelhq/satchel/internal/app"
	"github.com/satchelhq/satchel/internal/satchel"
	"github.com/satchelhq/satchel/internal/web"
)

type shareJSON struct {
	ID            string     `json:"id"`
	FileID        string     `json:"file_id"`
	Token         string     `json:"token"`
	URL           string     `json:"url"`
	HasPassword   bool       `json:"has_password"`
	ExpiresAt     *time.Time `json:"expires_at"`
	MaxDownloads  *int       `json:"max_downloads"`
	DownloadCount int        `json:"download_count"`
	State         string     `json:"state"`
	CreatedAt     time.Time  `json:"created_at"`
	FileName      string     `json:"file_name,omitempty"`
}

func (s *Server) toShare(sh satchel.Share) shareJSON {
	return shareJSON{ID: sh.ID, FileID: sh.FileID, Token: sh.Token, URL: s.publicURL + "/s/" + sh.Token,
		HasPassword: sh.HasPassword(), ExpiresAt: utcPtr(sh.ExpiresAt), MaxDownloads: sh.MaxDownloads,
		DownloadCount: sh.DownloadCount, State: sh.State(s.shares.Now()), CreatedAt: utc(sh.CreatedAt), FileName: sh.FileName}
}

func (s *Server) createShare(w http.ResponseWriter, r *http.Request) error {
	var in struct {
		Password     *string `json:"password"`
		ExpiresAt    *string `json:"expires_at"`
		MaxDownloads *int    `json:"max_downloads"`
	}
	if err := decodeOptionalJSON(w, r, &in); err != nil {
		return err
	}
	ns := app.NewShare{Password: in.Password, MaxDownloads: in.MaxDownloads}
	if in.ExpiresAt != nil {
		t, err := time.Parse(time.RFC3339, *in.ExpiresAt)
		if err != nil {
			return satchel.Invalid(satchel.FieldError{Field: "expires_at", Message: "must be an RFC 3339 time such as 2030-01-31T18:00:00Z"})
		}
		ns.ExpiresAt = &t
	}
	sh, err := s.shares.Create(r.Context(), principal(r).User.ID, r.PathValue("id"), ns)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusCreated, s.toShare(sh))
	return nil
}

func (s *Server) listFileShares(w http.ResponseWriter, r *http.Request) error {
	shares, err := s.shares.ListForFile(r.Context(), principal(r).User.ID, r.PathValue("id"))
	if err != nil {
		return err
	}
	items := make([]shareJSON, 0, len(shares))
	for _, sh := range shares {
		items = append(items, s.toShare(sh))
	}
	writeJSON(w, http.StatusOK, map[string]any{"items": items})
	return nil
}

func (s *Server) listShares(w http.ResponseWriter, r *http.Request) error {
	after, limit, err := pageParams(r)
	if err != nil {
		return err
	}
	page, err := s.shares.List(r.Context(), principal(r).User.ID, after, limit)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, toPage(page, s.toShare))
	return nil
}

func (s *Server) deleteShare(w http.ResponseWriter, r *http.Request) error {
	if err := s.shares.Delete(r.Context(), principal(r).User.ID, r.PathValue("id")); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

// shareQR draws a link's URL as a QR code, for phones to scan.
func (s *Server) shareQR(w http.ResponseWriter, r *http.Request) error {
	sh, err := s.shares.Get(r.Context(), principal(r).User.ID, r.PathValue("id"))
	if err != nil {
		return err
	}
	svg, err := web.QRSVG(s.publicURL + "/s/" + sh.Token)
	if err != nil {
		return err
	}
	h := w.Header()
	h.Set("Content-Type", "image/svg+xml")
	h.Set("Content-Security-Policy", "default-src 'none'; style-src 'unsafe-inline'")
	h.Set("Cache-Control", "private, max-age=3600")
	_, err = w.Write(svg)
	return err
}
