package httpapi

import (
	"errors"
	"io"
	"mime"
	"mime/multipart"
	"net/http"
	"strings"
	"time"

	"github.com/satchelhq/satchel/internal/app"
	"github.com/satchelhq/satchel/internal/satchel"
)

type fileJSON struct {
	ID           string    `json:"id"`
	Filename     string    `json:"filename"`
	MimeType     string    `json:"mime_type"`
	SizeBytes    int64     `json:"size_bytes"`
	SHA256       string    `json:"sha256"`
	UploadStatus string    `json:"upload_status"`
	HasThumbnail bool      `json:"has_thumbnail"`
	CreatedAt    time.Time `json:"created_at"`
	UpdatedAt    time.Time `json:"updated_at"`
}

func toFile(f satchel.File) fileJSON {
	return fileJSON{ID: f.ID, Filename: f.Filename, MimeType: f.MimeType, SizeBytes: f.Size, SHA256: f.SHA256,
		UploadStatus: f.Status, HasThumbnail: f.HasThumbnail(), CreatedAt: utc(f.CreatedAt), UpdatedAt: utc(f.UpdatedAt)}
}

// maxFormParts bounds the parts a multipart upload may send besides "file",
// and maxFormField the size of each.
const (
	maxFormParts = 16
	maxFormField = 64 << 10
)

// uploadFile takes a raw body (?filename=NAME) or a multipart/form-data body
// with a part named "file".
func (s *Server) uploadFile(w http.ResponseWriter, r *http.Request) error {
	s.metrics.UploadsInFlight.Inc()
	defer s.metrics.UploadsInFlight.Dec()
	up := app.Upload{Filename: r.URL.Query().Get("filename"), ContentType: r.Header.Get("Content-Type"), Size: r.ContentLength, Body: r.Body}
	if mt, _, _ := mime.ParseMediaType(up.ContentType); mt == "multipart/form-data" {
		mr, part, fields, err := filePart(r)
		if err != nil {
			return err
		}
		if up.Filename == "" {
			up.Filename = part.FileName()
		}
		up.ContentType, up.Size, up.Body = part.Header.Get("Content-Type"), -1, &onlyFile{part: part, mr: mr, fields: fields}
	}
	if up.Filename == "" {
		return satchel.Invalid(satchel.FieldError{Field: "filename", Message: "is required: pass ?filename=NAME or a multipart filename"})
	}
	f, err := s.files.Upload(r.Context(), principal(r).User.ID, up)
	if err != nil {
		return err
	}
	w.Header().Set("Location", "/api/v1/files/"+f.ID)
	writeJSON(w, http.StatusCreated, toFile(f))
	return nil
}

// filePart advances a multipart body to its part named "file", reading past
// a few small other fields, and says how many it read past.
func filePart(r *http.Request) (*multipart.Reader, *multipart.Part, int, error) {
	mr, err := r.MultipartReader()
	if err != nil {
		return nil, nil, 0, satchel.Errorf(satchel.ErrInvalid, "the multipart body cannot be read: %v", err)
	}
	for fields := 0; fields <= maxFormParts; fields++ {
		part, err := mr.NextPart()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return nil, nil, 0, satchel.Errorf(satchel.ErrInvalid, "the multipart body cannot be read: %v", err)
		}
		if part.FormName() == "file" {
			return mr, part, fields, nil
		}
		if err := skipField(part); err != nil {
			return nil, nil, 0, err
		}
	}
	return nil, nil, 0, satchel.Invalid(satchel.FieldError{Field: "file", Message: "the multipart body has no part named \"file\""})
}

// skipField reads past a multipart part other than the file: a small field,
// or an empty file input (what a browser sends for one left empty). A part
// that holds a file is refused: a second file would be dropped without a
// word.
func skipField(part *multipart.Part) error {
	n, _ := io.Copy(io.Discard, io.LimitReader(part, maxFormField+1))
	switch {
	case n > 0 && (part.FormName() == "file" || part.FileName() != ""):
		return satchel.Errorf(satchel.ErrInvalid, "send one file per request, in the part named \"file\"")
	case n > maxFormField:
		return satchel.Errorf(satchel.ErrInvalid, "multipart fields other than \"file\" are limited to %d bytes", maxFormField)
	}
	return nil
}

// onlyFile reads the "file" part of a multipart upload and, at its end, the
// rest of the body: a second file would otherwise be dropped without a word,
// so it fails the upload (before anything is recorded) instead.
type onlyFile struct {
	part   *multipart.Part
	mr     *multipart.Reader
	fields int   // other parts read so far
	err    error // the end: io.EOF, or why the rest is refused
}

func (o *onlyFile) Read(p []byte) (int, error) {
	if o.err != nil {
		return 0, o.err
	}
	n, err := o.part.Read(p)
	if err == io.EOF {
		err = o.rest()
		o.err = err
	}
	return n, err
}

func (o *onlyFile) rest() error {
	for {
		part, err := o.mr.NextPart()
		if errors.Is(err, io.EOF) {
			return io.EOF
		}
		if err != nil {
			return err // the body broke off
		}
		if o.fields++; o.fields > maxFormParts {
			return satchel.Errorf(satchel.ErrInvalid, "the multipart body has more than %d fields besides \"file\"", maxFormParts)
		}
		if err := skipField(part); err != nil {
			return err
		}
	}
}

func (s *Server) listFiles(w http.ResponseWriter, r *http.Request) error {
	after, limit, err := pageParams(r)
	if err != nil {
		return err
	}
	page, err := s.files.List(r.Context(), principal(r).User.ID, r.URL.Query().Get("q"), after, limit)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, toPage(page, toFile))
	return nil
}

func (s *Server) getFile(w http.ResponseWriter, r *http.Request) error {
	f, err := s.files.Get(r.Context(), principal(r).User.ID, r.PathValue("id"))
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, toFile(f))
	return nil
}

func (s *Server) renameFile(w http.ResponseWriter, r *http.Request) error {
	var in struct {
		Filename *string `json:"filename"`
	}
	if err := decodeJSON(w, r, &in); err != nil {
		return err
	}
	if in.Filename == nil {
		return satchel.Invalid(satchel.FieldError{Field: "filename", Message: "is required"})
	}
	f, err := s.files.Rename(r.Context(), principal(r).User.ID, r.PathValue("id"), *in.Filename)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, toFile(f))
	return nil
}

func (s *Server) deleteFile(w http.ResponseWriter, r *http.Request) error {
	if err := s.files.Delete(r.Context(), principal(r).User.ID, r.PathValue("id")); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

func (s *Server) fileContent(w http.ResponseWriter, r *http.Request) error {
	f, content, err := s.files.Open(r.Context(), principal(r).User.ID, r.PathValue("id"))
	if err != nil {
		return err
	}
	defer content.Close()
	serveContent(w, r, "attachment", f.Filename, f.MimeType, f.SHA256, f.CreatedAt, content)
	return nil
}

func (s *Server) fileThumbnail(w http.ResponseWriter, r *http.Request) error {
	f, thumb, err := s.files.OpenThumbnail(r.Context(), principal(r).User.ID, r.PathValue("id"))
	if err != nil {
		return err
	}
	defer thumb.Close()
	serveThumbnail(w, r, f, thumb)
	return nil
}

// serveThumbnail serves a file's thumbnail inline (an <img> shows it), with
// the same guards as user content. Its key names a new blob whenever the
// thumbnail changes, so it is also its ETag.
func serveThumbnail(w http.ResponseWriter, r *http.Request, f satchel.File, thumb io.ReadSeeker) {
	mimeType, ext := "image/jpeg", ".jpg"
	if strings.HasSuffix(f.ThumbnailKey, ".png") {
		mimeType, ext = "image/png", ".png"
	}
	serveContent(w, r, "inline", "thumbnail"+ext, mimeType, f.ThumbnailKey, f.UpdatedAt, thumb)
}
