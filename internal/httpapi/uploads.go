package httpapi

import (
	"encoding/base64"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/satchelhq/satchel/internal/app"
	"github.com/satchelhq/satchel/internal/satchel"
)

type uploadJSON struct {
	ID             string    `json:"id"`
	FileName       string    `json:"file_name"`
	TotalSize      int64     `json:"total_size"`
	ChunkSize      int64     `json:"chunk_size"`
	TotalChunks    int       `json:"total_chunks"`
	UploadedChunks int       `json:"uploaded_chunks"`
	Received       []int     `json:"received"`
	Status         string    `json:"status"`
	FileID         *string   `json:"file_id"`
	ExpiresAt      time.Time `json:"expires_at"`
	CreatedAt      time.Time `json:"created_at"`
	UpdatedAt      time.Time `json:"updated_at"`
}

func toUpload(u satchel.Upload) uploadJSON {
	out := uploadJSON{ID: u.ID, FileName: u.FileName, TotalSize: u.TotalSize, ChunkSize: u.ChunkSize,
		TotalChunks: u.TotalChunks, UploadedChunks: u.UploadedChunks, Received: u.Received, Status: u.Status,
		ExpiresAt: utc(u.ExpiresAt), CreatedAt: utc(u.CreatedAt), UpdatedAt: utc(u.UpdatedAt)}
	if out.Received == nil {
		out.Received = []int{}
	}
	if u.FileID != "" {
		id := u.FileID
		out.FileID = &id
	}
	return out
}

func (s *Server) createUpload(w http.ResponseWriter, r *http.Request) error {
	var in struct {
		FileName  string `json:"file_name"`
		TotalSize *int64 `json:"total_size"`
		ChunkSize int64  `json:"chunk_size"`
		MimeType  string `json:"mime_type"`
		SHA256    string `json:"sha256"`
	}
	if err := decodeJSON(w, r, &in); err != nil {
		return err
	}
	if in.TotalSize == nil {
		return satchel.Invalid(satchel.FieldError{Field: "total_size", Message: "is required"})
	}
	u, err := s.uploads.Create(r.Context(), principal(r).User.ID, app.NewUpload{
		FileName: in.FileName, TotalSize: *in.TotalSize, ChunkSize: in.ChunkSize, MimeType: in.MimeType, SHA256: in.SHA256,
	})
	if err != nil {
		return err
	}
	w.Header().Set("Location", "/api/v1/uploads/"+u.ID)
	writeJSON(w, http.StatusCreated, toUpload(u))
	return nil
}

func (s *Server) listUploads(w http.ResponseWriter, r *http.Request) error {
	after, limit, err := pageParams(r)
	if err != nil {
		return err
	}
	page, err := s.uploads.List(r.Context(), principal(r).User.ID, after, limit)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, toPage(page, toUpload))
	return nil
}

func (s *Server) getUpload(w http.ResponseWriter, r *http.Request) error {
	u, err := s.uploads.Get(r.Context(), principal(r).User.ID, r.PathValue("id"))
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, toUpload(u))
	return nil
}

// putChunk streams one chunk to storage; it never holds the chunk in memory.
func (s *Server) putChunk(w http.ResponseWriter, r *http.Request) error {
	s.metrics.UploadsInFlight.Inc()
	defer s.metrics.UploadsInFlight.Dec()
	index, err := strconv.Atoi(r.PathValue("index"))
	if err != nil {
		return satchel.Invalid(satchel.FieldError{Field: "index", Message: "must be a whole number"})
	}
	digest, err := parseContentDigest(r.Header.Values("Content-Digest"))
	if err != nil {
		return err
	}
	c, err := s.uploads.PutChunk(r.Context(), principal(r).User.ID, r.PathValue("id"), index, r.ContentLength, digest, r.Body)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, map[string]any{"index": c.Index, "size": c.Size, "sha256": c.SHA256})
	return nil
}

// parseContentDigest finds the sha-256 member of Content-Digest headers
// (RFC 9530), e.g. `sha-256=:X48E9qOokqqrvdts8nOJRJN3OWDUoyWxBf7kbu9DBPE=:`.
// Other algorithms are ignored; no sha-256 member gives nil.
func parseContentDigest(values []string) ([]byte, error) {
	bad := satchel.Invalid(satchel.FieldError{Field: "Content-Digest", Message: "must be sha-256=:<base64 of the 32-byte digest>:"})
	for _, v := range values {
		for _, member := range strings.Split(v, ",") {
			key, val, _ := strings.Cut(strings.TrimSpace(member), "=")
			if !strings.EqualFold(key, "sha-256") {
				continue
			}
			if len(val) < 2 || val[0] != ':' || val[len(val)-1] != ':' {
				return nil, bad
			}
			sum, err := base64.StdEncoding.DecodeString(val[1 : len(val)-1])
			if err != nil || len(sum) != 32 {
				return nil, bad
			}
			return sum, nil
		}
	}
	return nil, nil
}

func (s *Server) completeUpload(w http.ResponseWriter, r *http.Request) error {
	f, err := s.uploads.Complete(r.Context(), principal(r).User.ID, r.PathValue("id"))
	if err != nil {
		return err
	}
	w.Header().Set("Location", "/api/v1/files/"+f.ID)
	writeJSON(w, http.StatusOK, toFile(f))
	return nil
}

func (s *Server) abortUpload(w http.ResponseWriter, r *http.Request) error {
	if err := s.uploads.Abort(r.Context(), principal(r).User.ID, r.PathValue("id")); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}
