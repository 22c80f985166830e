// Package satchel is the domain vocabulary shared by every layer: the objects
// users own and the errors that describe what went wrong. It depends on the
// standard library only.
package satchel

import "time"

// Upload statuses of a file row. A pending row is an upload in flight: it
// holds the user's quota reservation and names the blob being written, so a
// crash mid-upload leaves something that can be found and swept.
const (
	StatusPending   = "pending"
	StatusCompleted = "completed"
	StatusFailed    = "failed"
)

// User is an account.
type User struct {
	ID           string
	Username     string
	Email        string
	PasswordHash string
	// StorageUsed counts the bytes of the user's files plus the space reserved
	// by uploads in flight.
	StorageUsed int64
	CreatedAt   time.Time
	UpdatedAt   time.Time
}

// Session is a browser login. The cookie holds a random token; only its hash
// is stored.
type Session struct {
	ID        string
	UserID    string
	TokenHash string
	CreatedAt time.Time
	ExpiresAt time.Time
}

// APIKey grants programmatic access. Only the hash of the key is stored; the
// prefix finds it.
type APIKey struct {
	ID         string
	UserID     string
	Name       string
	Prefix     string
	KeyHash    string
	CreatedAt  time.Time
	LastUsedAt *time.Time
}

// File is an uploaded file's metadata. Its bytes live in blob storage under
// StorageKey, a name the server generated.
type File struct {
	ID           string
	UserID       string
	Filename     string
	StorageKey   string
	MimeType     string
	Size         int64
	SHA256       string
	Status       string
	ThumbnailKey string
	CreatedAt    time.Time
	UpdatedAt    time.Time
}

// HasThumbnail reports whether a thumbnail has been made for the file.
func (f File) HasThumbnail() bool { return f.ThumbnailKey != "" }

// Page is one page of a keyset-paginated list. NextCursor is empty on the
// last page.
type Page[T any] struct {
	Items      []T
	NextCursor string
}
