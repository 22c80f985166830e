package satchel

import (
	"net/mail"
	"strings"
	"unicode"
	"unicode/utf8"
)

// Limits of user-supplied text, from the schema and the API contract.
const (
	MinUsernameLen = 3
	MaxUsernameLen = 100
	MaxEmailLen    = 255
	MinPasswordLen = 8
	MaxPasswordLen = 1024
	MaxFilenameLen = 255
	MaxKeyNameLen  = 100
	MaxMimeTypeLen = 100
)

// CheckUsername returns a message describing what is wrong with a username, or
// "" when it is valid.
func CheckUsername(s string) string {
	if len(s) < MinUsernameLen || len(s) > MaxUsernameLen {
		return "must be 3 to 100 characters"
	}
	for _, r := range s {
		ok := r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '_' || r == '.' || r == '-'
		if !ok {
			return "may contain only letters, digits, '_', '.' and '-'"
		}
	}
	return ""
}

// CheckEmail returns what is wrong with an email address, or "".
func CheckEmail(s string) string {
	if s == "" {
		return "is required"
	}
	if len(s) > MaxEmailLen {
		return "must be at most 255 characters"
	}
	a, err := mail.ParseAddress(s)
	if err != nil || a.Address != s || a.Name != "" || hasControl(s) {
		return "is not an email address"
	}
	return ""
}

// CheckPassword returns what is wrong with a new password, or "".
func CheckPassword(s string) string {
	if len(s) < MinPasswordLen || len(s) > MaxPasswordLen {
		return "must be 8 to 1024 bytes"
	}
	return ""
}

// CheckFilename returns what is wrong with a filename, or "". A filename is
// display text only; it never becomes a path.
func CheckFilename(s string) string {
	switch {
	case s == "":
		return "is required"
	case !utf8.ValidString(s):
		return "must be valid UTF-8"
	case utf8.RuneCountInString(s) > MaxFilenameLen:
		return "must be at most 255 characters"
	case hasControl(s):
		return "must not contain control characters"
	case strings.ContainsAny(s, bidiControls):
		return "must not contain bidirectional control characters"
	case strings.TrimSpace(s) == "":
		return "must not be blank"
	}
	return ""
}

// CheckKeyName returns what is wrong with an API key name, or "".
func CheckKeyName(s string) string {
	switch {
	case !utf8.ValidString(s):
		return "must be valid UTF-8"
	case utf8.RuneCountInString(s) > MaxKeyNameLen:
		return "must be at most 100 characters"
	case hasControl(s):
		return "must not contain control characters"
	}
	return ""
}

// bidiControls reorder how text displays: in a filename they can disguise
// "invoice\u202Egpj.exe" as "invoiceexe.jpg".
const bidiControls = "\u061C\u200E\u200F\u202A\u202B\u202C\u202D\u202E\u2066\u2067\u2068\u2069"

func hasControl(s string) bool {
	return strings.IndexFunc(s, unicode.IsControl) >= 0
}
