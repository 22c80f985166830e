package httpapi

import (
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/satchelhq/satchel/internal/satchel"
)

// maxJSONBody bounds every JSON request body.
const maxJSONBody = 1 << 20

var errEmptyBody = satchel.Errorf(satchel.ErrInvalid, "the body is empty; send a JSON object")

// decodeJSON reads a JSON body into dst: at most 1 MiB, one value, no
// unknown fields.
func decodeJSON(w http.ResponseWriter, r *http.Request, dst any) error {
	r.Body = http.MaxBytesReader(w, r.Body, maxJSONBody)
	dec := json.NewDecoder(r.Body)
	dec.DisallowUnknownFields()
	err := dec.Decode(dst)
	if err == nil {
		if dec.More() {
			return satchel.Errorf(satchel.ErrInvalid, "the body must hold a single JSON value")
		}
		if _, err := dec.Token(); err != io.EOF {
			return satchel.Errorf(satchel.ErrInvalid, "the body must hold a single JSON value")
		}
		return nil
	}
	var (
		maxErr    *http.MaxBytesError
		syntaxErr *json.SyntaxError
		typeErr   *json.UnmarshalTypeError
	)
	switch {
	case errors.As(err, &maxErr):
		return satchel.Errorf(satchel.ErrTooLarge, "JSON bodies are limited to %d bytes", maxJSONBody)
	case errors.Is(err, io.EOF):
		return errEmptyBody
	case errors.As(err, &syntaxErr):
		return satchel.Errorf(satchel.ErrInvalid, "the body is not valid JSON (at byte %d)", syntaxErr.Offset)
	case errors.Is(err, io.ErrUnexpectedEOF):
		return satchel.Errorf(satchel.ErrInvalid, "the body is not valid JSON (it ends early)")
	case errors.As(err, &typeErr):
		field := typeErr.Field
		if field == "" {
			return satchel.Errorf(satchel.ErrInvalid, "the body must be a JSON object")
		}
		return satchel.Invalid(satchel.FieldError{Field: field, Message: "must be a " + jsonKind(typeErr.Type.Kind().String())})
	case strings.HasPrefix(err.Error(), "json: unknown field "):
		field, _ := strconv.Unquote(strings.TrimPrefix(err.Error(), "json: unknown field "))
		return satchel.Invalid(satchel.FieldError{Field: field, Message: "is not a known field"})
	}
	return satchel.Errorf(satchel.ErrInvalid, "the body cannot be read: %v", err)
}

// decodeOptionalJSON is decodeJSON for a body that may be left out.
func decodeOptionalJSON(w http.ResponseWriter, r *http.Request, dst any) error {
	if r.ContentLength == 0 {
		return nil
	}
	err := decodeJSON(w, r, dst)
	if errors.Is(err, errEmptyBody) {
		return nil
	}
	return err
}

func jsonKind(goKind string) string {
	switch goKind {
	case "string":
		return "string"
	case "int", "int64", "int32":
		return "whole number"
	case "bool":
		return "boolean"
	}
	return goKind
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	h := w.Header()
	h.Set("Content-Type", "application/json")
	h.Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

// utc makes times marshal as RFC 3339 in UTC.
func utc(t time.Time) time.Time { return t.UTC() }

func utcPtr(t *time.Time) *time.Time {
	if t == nil {
		return nil
	}
	u := t.UTC()
	return &u
}

// pageParams reads ?limit=N&cursor=C.
func pageParams(r *http.Request) (*satchel.Cursor, int, error) {
	q := r.URL.Query()
	limit := 50
	if s := q.Get("limit"); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil || n < 1 || n > 1000 {
			return nil, 0, satchel.Invalid(satchel.FieldError{Field: "limit", Message: "must be a whole number from 1 to 1000"})
		}
		limit = n
	}
	var after *satchel.Cursor
	if s := q.Get("cursor"); s != "" {
		c, ok := satchel.ParseCursor(s)
		if !ok {
			return nil, 0, satchel.Invalid(satchel.FieldError{Field: "cursor", Message: "is not a cursor this server gave out"})
		}
		after = &c
	}
	return after, limit, nil
}

// pageJSON is the shape of every list answer.
type pageJSON[T any] struct {
	Items      []T     `json:"items"`
	NextCursor *string `json:"next_cursor"`
}

func toPage[T, U any](p satchel.Page[T], conv func(T) U) pageJSON[U] {
	out := pageJSON[U]{Items: make([]U, 0, len(p.Items))}
	for _, it := range p.Items {
		out.Items = append(out.Items, conv(it))
	}
	if p.NextCursor != "" {
		c := p.NextCursor
		out.NextCursor = &c
	}
	return out
}
