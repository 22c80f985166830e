package satchel

import (
	"errors"
	"fmt"
	"time"
)

// Kinds of failure. Every error that reaches the HTTP layer wraps one of these
// (or none, which makes it an internal error); the HTTP layer maps each kind to
// a status in one place.
var (
	ErrInvalid         = errors.New("invalid input")
	ErrUnauthenticated = errors.New("not authenticated")
	ErrForbidden       = errors.New("not allowed")
	ErrNotFound        = errors.New("not found")
	ErrConflict        = errors.New("conflict")
	ErrGone            = errors.New("gone")
	ErrTooLarge        = errors.New("too large")
	ErrChecksum        = errors.New("checksum mismatch")
	ErrRateLimited     = errors.New("rate limited")
	ErrUnavailable     = errors.New("unavailable")
	ErrQuotaExceeded   = errors.New("quota exceeded")
	ErrStorageFull     = errors.New("storage full")
)

// FieldError names one invalid field of a request.
type FieldError struct {
	Field   string `json:"field"`
	Message string `json:"message"`
}

// Error is a domain error with a kind, a message fit for the user, and
// optional details.
type Error struct {
	Kind   error
	Detail string
	// Fields lists invalid fields (ErrInvalid, ErrConflict).
	Fields []FieldError
	// RetryAfter is set with ErrRateLimited.
	RetryAfter time.Duration
	// Extra holds additional members for the problem document, such as the
	// missing chunk indexes of an incomplete upload.
	Extra map[string]any
}

func (e *Error) Error() string {
	if e.Detail == "" {
		return e.Kind.Error()
	}
	return e.Kind.Error() + ": " + e.Detail
}

func (e *Error) Unwrap() error { return e.Kind }

// Errorf returns an *Error of the given kind with a formatted detail.
func Errorf(kind error, format string, args ...any) *Error {
	return &Error{Kind: kind, Detail: fmt.Sprintf(format, args...)}
}

// Invalid returns an ErrInvalid error for the given fields.
func Invalid(fields ...FieldError) *Error {
	detail := "the request has invalid fields"
	if len(fields) == 1 {
		detail = fields[0].Field + ": " + fields[0].Message
	}
	return &Error{Kind: ErrInvalid, Detail: detail, Fields: fields}
}

// NotFound returns an ErrNotFound error naming what was not found.
func NotFound(what string) *Error {
	return &Error{Kind: ErrNotFound, Detail: what + " not found"}
}
