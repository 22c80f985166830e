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

// Statuses of a resumable upload.
const (
	UploadInProgress = "in_progress"
	UploadCompleted  = "completed"
	UploadFailed     = "failed"
)

// Upload is a resumable upload session: a file sent as chunks, in any order
// and over any number of requests, then completed into a File.
type Upload struct {
	ID             string
	UserID         string
	FileName       string
	TotalSize      int64
	ChunkSize      int64
	TotalChunks    int
	UploadedChunks int
	// Received lists the indexes of the chunks stored so far, sorted.
	Received []int
	Status   string
	FileID   string
	// MimeType and SHA256 are what the client declared, if anything.
	MimeType string
	SHA256   string
	// StorageKey is the blob the chunks assemble into; StorageRef is the
	// storage's own handle on the assembly (an S3 multipart upload ID).
	StorageKey string
	StorageRef string
	// HashState is the marshalled SHA-256 state after the first
	// HashedChunks chunks.
	HashState    []byte
	HashedChunks int
	ExpiresAt    time.Time
	CreatedAt    time.Time
	UpdatedAt    time.Time
}

// ChunkLen returns the length chunk index must have: ChunkSize, except the
// last chunk, which holds the remainder.
func (u Upload) ChunkLen(index int) int64 {
	if index == u.TotalChunks-1 {
		return u.TotalSize - int64(index)*u.ChunkSize
	}
	return u.ChunkSize
}

// Missing lists the indexes not yet received.
func (u Upload) Missing() []int {
	missing := []int{}
	next := 0
	for _, r := range u.Received {
		for ; next < r; next++ {
			missing = append(missing, next)
		}
		next = r + 1
	}
	for ; next < u.TotalChunks; next++ {
		missing = append(missing, next)
	}
	return missing
}

// Chunk is one stored chunk of an upload.
type Chunk struct {
	Index  int
	Size   int64
	SHA256 string
	// ETag is the storage's tag for the chunk (an S3 part's ETag).
	ETag string
}

// States of a share link.
const (
	ShareActive    = "active"
	ShareExpired   = "expired"
	ShareExhausted = "exhausted"
)

// Share is a link that lets anyone who has it download one file, perhaps
// with a password, until an expiry or a number of downloads.
type Share struct {
	ID           string
	FileID       string
	UserID       string // who made it
	Token        string
	PasswordHash string // "" when the link has no password
	ExpiresAt    *time.Time
	MaxDownloads *int
	// DownloadCount counts downloads that started from the first byte.
	DownloadCount int
	CreatedAt     time.Time
	// FileName is the shared file's name, filled in by lists.
	FileName string
}

// HasPassword reports whether the link asks for a password.
func (s Share) HasPassword() bool { return s.PasswordHash != "" }

// State says whether the link works at now: expired and exhausted links
// answer 410.
func (s Share) State(now time.Time) string {
	switch {
	case s.ExpiresAt != nil && !now.Before(*s.ExpiresAt):
		return ShareExpired
	case s.MaxDownloads != nil && s.DownloadCount >= *s.MaxDownloads:
		return ShareExhausted
	}
	return ShareActive
}

// RateLimit is one rate limit: at most Max events per Window for Key.
type RateLimit struct {
	Key    string
	Max    int
	Window time.Duration
}

// Partial is a blob being assembled from chunks: its key, and the storage's
// reference for it (an S3 multipart upload ID; "" on the local disk).
type Partial struct {
	Key string `json:"key"`
	Ref string `json:"ref,omitempty"`
}
