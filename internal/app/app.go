// Package app holds Satchel's use cases: accounts, keys and files. It decides
// what may happen and in what order, and declares the small interfaces it
// needs from the database and the blob storage.
package app

import (
	"context"
	"io"
	"time"

	"github.com/satchelhq/satchel/internal/satchel"
)

// AccountStore is what accounts need from the database.
type AccountStore interface {
	CreateUser(ctx context.Context, u satchel.User) (satchel.User, error)
	GetUser(ctx context.Context, id string) (satchel.User, error)
	GetUserByLogin(ctx context.Context, login string) (satchel.User, error)
	UpdateUser(ctx context.Context, id string, email, passwordHash *string, keepSession string, now time.Time) (satchel.User, error)

	CreateSession(ctx context.Context, s satchel.Session) error
	GetSession(ctx context.Context, tokenHash string, now time.Time) (satchel.Session, satchel.User, error)
	DeleteSession(ctx context.Context, id string) error
	DeleteExpiredSessions(ctx context.Context, now time.Time) (int64, error)

	CreateAPIKey(ctx context.Context, k satchel.APIKey) error
	ListAPIKeys(ctx context.Context, userID string) ([]satchel.APIKey, error)
	GetAPIKeyByPrefix(ctx context.Context, prefix string) (satchel.APIKey, satchel.User, error)
	TouchAPIKey(ctx context.Context, id string, now time.Time, minAge time.Duration) error
	DeleteAPIKey(ctx context.Context, userID, id string) error

	TakeAttempts(ctx context.Context, limits []satchel.RateLimit, now time.Time) (time.Duration, error)
	GiveBackAttempts(ctx context.Context, keys []string) error
}

// FileStore is what files need from the database.
type FileStore interface {
	BeginFile(ctx context.Context, f satchel.File, quota int64) error
	GrowFile(ctx context.Context, userID, fileID string, need, want, quota int64, now time.Time) (int64, error)
	TouchFile(ctx context.Context, fileID string, now time.Time) error
	CompleteFile(ctx context.Context, f satchel.File, now time.Time) (satchel.File, error)
	AbortFile(ctx context.Context, userID, fileID string) (bool, error)
	DeleteStalePendingFiles(ctx context.Context, before time.Time, limit int) ([]satchel.File, error)
	GetFile(ctx context.Context, userID, id string) (satchel.File, error)
	ListFiles(ctx context.Context, userID, search string, after *satchel.Cursor, limit int) (satchel.Page[satchel.File], error)
	RenameFile(ctx context.Context, userID, id, filename string, now time.Time) (satchel.File, error)
	DeleteFile(ctx context.Context, userID, id string) (satchel.File, error)
}

// BlobStore keeps file contents.
type BlobStore interface {
	// Put stores everything r yields under key and returns once it is
	// durable. When r or the storage fails, nothing is left under key.
	Put(ctx context.Context, key string, r io.Reader) (int64, error)
	// Open returns the blob for reading and seeking. On local disk it is an
	// *os.File, which keeps sendfile working.
	Open(ctx context.Context, key string) (io.ReadSeekCloser, error)
	// Delete removes a blob; a missing blob is not an error.
	Delete(ctx context.Context, key string) error
	Ping(ctx context.Context) error

	// Chunked assembly, for resumable uploads. BeginChunked prepares a blob
	// of size bytes and returns the storage's reference for it (an S3
	// multipart upload ID). PutChunk stores chunk index, which starts at
	// offset and holds size bytes, and returns once it is durable, with the
	// storage's tag for it. CompleteChunked makes the blob whole under key
	// without copying it; completing twice is not an error. AbortChunked
	// drops the chunks.
	BeginChunked(ctx context.Context, key string, size int64) (ref string, err error)
	PutChunk(ctx context.Context, key, ref string, index int, offset, size int64, r io.Reader) (etag string, err error)
	CompleteChunked(ctx context.Context, key, ref string, chunks []satchel.Chunk) error
	AbortChunked(ctx context.Context, key, ref string) error
}

// ChunkReader is implemented by blob stores that can read chunks back before
// the blob is complete (the local disk; not S3). With it, the hash of an
// upload's contiguous prefix keeps up even when chunks arrive a little out
// of order.
type ChunkReader interface {
	ReadChunk(ctx context.Context, key, ref string, offset, size int64) (io.ReadCloser, error)
}

// Principal is who a request acts for, and how they proved it.
type Principal struct {
	User      satchel.User
	SessionID string // set when authenticated by a login session
	APIKeyID  string // set when authenticated by an API key
}
