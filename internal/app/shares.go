package app

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"strings"
	"time"

	"github.com/satchelhq/satchel/internal/satchel"
	"github.com/satchelhq/satchel/internal/secret"
)

// Share link rules.
const (
	shareTokenBytes    = 18 // 144 random bits
	unlockFailureLimit = 5  // wrong passwords per link ...
	unlockAddrLimit    = 20 // ... or per client address, in an attemptWindow
	unlockCookieTTL    = 24 * time.Hour
	maxShareDownloads  = 1_000_000_000
	linkCacheTTL       = 10 * time.Second // how long a node reuses a link it looked up
	linkCacheSize      = 4096
)

// ErrStaleLink says that the copy of a link a response was about to be
// served from is out of date (its file was renamed); the copy has been
// replaced, and serving again from OpenForDownload gives the current one.
var ErrStaleLink = errors.New("the share link changed while it was being served")

// ShareStore is what share links need from the database.
type ShareStore interface {
	CreateShare(ctx context.Context, sh satchel.Share) error
	ListFileShares(ctx context.Context, userID, fileID string) ([]satchel.Share, error)
	ListShares(ctx context.Context, userID string, after *satchel.Cursor, limit int) (satchel.Page[satchel.Share], error)
	GetShare(ctx context.Context, userID, id string) (satchel.Share, error)
	DeleteShare(ctx context.Context, userID, id string) error
	GetShareByToken(ctx context.Context, token string) (satchel.Share, satchel.File, error)
	CountDownload(ctx context.Context, shareID, fileName string, now time.Time) (bool, error)
	ServerSecret(ctx context.Context, name string, now time.Time) ([]byte, error)
	TakeAttempts(ctx context.Context, limits []satchel.RateLimit, now time.Time) (time.Duration, error)
	GiveBackAttempts(ctx context.Context, keys []string) error
	DeleteOldRateLimits(ctx context.Context, before time.Time) (int64, error)
	GetFile(ctx context.Context, userID, id string) (satchel.File, error)
}

// ShareObserver hears what happens on the public side of share links, for
// metrics.
type ShareObserver interface {
	SharePageViewed()
	ShareDownloadCounted()
	ShareRefused(reason string)
	ShareUnlockFailed()
}

// Shares makes share links and serves them to people without an account.
type Shares struct {
	store  ShareStore
	blobs  BlobStore
	hasher *secret.Hasher
	now    func() time.Time
	log    *slog.Logger
	obs    ShareObserver
	key    []byte // signs unlock cookies; the same on every node
	links  *linkCache
}

// NewShares returns the share links service. It reads (or makes) the secret
// that signs unlock cookies, which every node shares through the database.
func NewShares(ctx context.Context, store ShareStore, blobs BlobStore, hasher *secret.Hasher, now func() time.Time, log *slog.Logger, obs ShareObserver) (*Shares, error) {
	key, err := store.ServerSecret(ctx, "share-unlock", now())
	if err != nil {
		return nil, fmt.Errorf("load the share unlock secret: %w", err)
	}
	return &Shares{store: store, blobs: blobs, hasher: hasher, now: now, log: log, obs: obs, key: key,
		links: newLinkCache(linkCacheTTL, linkCacheSize)}, nil
}

// NewShare is what an owner asks for when making a link; nil leaves a
// setting off.
type NewShare struct {
	Password     *string
	ExpiresAt    *time.Time
	MaxDownloads *int
}

// Create makes a share link for one of the user's files.
func (s *Shares) Create(ctx context.Context, userID, fileID string, in NewShare) (satchel.Share, error) {
	if !satchel.ValidID(fileID) {
		return satchel.Share{}, satchel.NotFound("file")
	}
	now := s.now()
	var fields []satchel.FieldError
	if in.Password != nil && (len(*in.Password) == 0 || len(*in.Password) > satchel.MaxPasswordLen) {
		fields = append(fields, satchel.FieldError{Field: "password", Message: "must be 1 to 1024 bytes; leave it out for a link without a password"})
	}
	if in.ExpiresAt != nil && !in.ExpiresAt.After(now) {
		fields = append(fields, satchel.FieldError{Field: "expires_at", Message: "must be in the future"})
	}
	if in.MaxDownloads != nil && (*in.MaxDownloads < 1 || *in.MaxDownloads > maxShareDownloads) {
		fields = append(fields, satchel.FieldError{Field: "max_downloads", Message: "must be from 1 to 1000000000"})
	}
	if len(fields) > 0 {
		return satchel.Share{}, satchel.Invalid(fields...)
	}
	f, err := s.store.GetFile(ctx, userID, fileID)
	if err != nil {
		return satchel.Share{}, err
	}
	sh := satchel.Share{FileName: f.Filename,
		ID: satchel.NewID(), FileID: fileID, UserID: userID, Token: secret.Token(shareTokenBytes),
		MaxDownloads: in.MaxDownloads, CreatedAt: now,
	}
	if in.ExpiresAt != nil {
		t := in.ExpiresAt.UTC().Truncate(time.Microsecond)
		sh.ExpiresAt = &t
	}
	if in.Password != nil {
		hash, err := s.hasher.Hash(ctx, *in.Password)
		if err != nil {
			return satchel.Share{}, fmt.Errorf("hash share password: %w", err)
		}
		sh.PasswordHash = hash
	}
	if err := s.store.CreateShare(ctx, sh); err != nil {
		return satchel.Share{}, err
	}
	return sh, nil
}

// ListForFile returns the links of one of the user's files.
func (s *Shares) ListForFile(ctx context.Context, userID, fileID string) ([]satchel.Share, error) {
	if !satchel.ValidID(fileID) {
		return nil, satchel.NotFound("file")
	}
	if _, err := s.store.GetFile(ctx, userID, fileID); err != nil {
		return nil, err
	}
	return s.store.ListFileShares(ctx, userID, fileID)
}

// List returns a page of the user's links, newest first.
func (s *Shares) List(ctx context.Context, userID string, after *satchel.Cursor, limit int) (satchel.Page[satchel.Share], error) {
	return s.store.ListShares(ctx, userID, after, limit)
}

// Get returns one of the user's links.
func (s *Shares) Get(ctx context.Context, userID, id string) (satchel.Share, error) {
	if !satchel.ValidID(id) {
		return satchel.Share{}, satchel.NotFound("share")
	}
	return s.store.GetShare(ctx, userID, id)
}

// Delete revokes one of the user's links at once.
func (s *Shares) Delete(ctx context.Context, userID, id string) error {
	if !satchel.ValidID(id) {
		return satchel.NotFound("share")
	}
	return s.store.DeleteShare(ctx, userID, id)
}

// Now is the service's clock, for deriving link states.
func (s *Shares) Now() time.Time { return s.now() }

// Open finds a link by its token. An unknown or revoked token is ErrNotFound;
// the link's state (expired, exhausted) is for the caller to judge.
func (s *Shares) Open(ctx context.Context, token string) (satchel.Share, satchel.File, error) {
	if !plausibleToken(token) {
		return satchel.Share{}, satchel.File{}, satchel.NotFound("share link")
	}
	return s.store.GetShareByToken(ctx, token)
}

// OpenForDownload is Open for the download route, the hot path: it may
// answer from this node's copy of the link, so what it returns must be
// confirmed before content is sent, by CountDownload for a counted download
// and by Verify for anything else. Only a copy that looks active is used: a
// refusal (expired, used up, revoked) always comes from the database, and so
// does any link with a password, so that a revoked one answers 404 and not
// 401, and guesses at it never count against the limits.
func (s *Shares) OpenForDownload(ctx context.Context, token string) (satchel.Share, satchel.File, error) {
	if sh, f, ok := s.links.get(token); ok && sh.State(s.now()) == satchel.ShareActive {
		return sh, f, nil
	}
	sh, f, err := s.Open(ctx, token)
	s.remember(token, sh, f, err)
	return sh, f, err
}

// remember keeps this node's copy of a link as it was just read.
func (s *Shares) remember(token string, sh satchel.Share, f satchel.File, err error) {
	if err != nil || sh.HasPassword() || sh.State(s.now()) != satchel.ShareActive {
		s.links.drop(token)
		return
	}
	s.links.put(token, sh, f)
}

// Verify confirms, from the database, that a link and file as the caller
// has them may still be served: the link exists and works and its file is
// complete and has the same name. Otherwise it returns why not: ErrNotFound,
// ErrGone, or ErrStaleLink when only the name changed.
func (s *Shares) Verify(ctx context.Context, sh satchel.Share, f satchel.File) error {
	fresh, ff, err := s.store.GetShareByToken(ctx, sh.Token)
	s.remember(sh.Token, fresh, ff, err)
	if err != nil {
		return err
	}
	if err := s.Gone(fresh); err != nil {
		return err
	}
	if ff.ID != f.ID || ff.Filename != f.Filename {
		return ErrStaleLink
	}
	return nil
}

func plausibleToken(t string) bool {
	if len(t) < 16 || len(t) > 64 {
		return false
	}
	for _, c := range t {
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '_') {
			return false
		}
	}
	return true
}

// Gone returns the error for a link that no longer works, or nil.
func (s *Shares) Gone(sh satchel.Share) error {
	switch sh.State(s.now()) {
	case satchel.ShareExpired:
		s.obs.ShareRefused("expired")
		return satchel.Errorf(satchel.ErrGone, "this link has expired")
	case satchel.ShareExhausted:
		s.obs.ShareRefused("exhausted")
		return satchel.Errorf(satchel.ErrGone, "this link has been used up")
	}
	return nil
}

// ViewedPage records a view of a link's page.
func (s *Shares) ViewedPage() { s.obs.SharePageViewed() }

// Unlock checks a password for a link, under the brute-force limits, and
// returns the value of a cookie that unlocks this link only, and how long it
// lasts.
func (s *Shares) Unlock(ctx context.Context, sh satchel.Share, password, clientAddr string) (string, time.Duration, error) {
	if !sh.HasPassword() {
		return "", 0, nil // nothing to unlock
	}
	if err := s.checkPassword(ctx, sh, password, clientAddr); err != nil {
		return "", 0, err
	}
	now := s.now()
	expires := now.Add(unlockCookieTTL)
	if sh.ExpiresAt != nil && sh.ExpiresAt.Before(expires) {
		expires = *sh.ExpiresAt
	}
	return s.unlockCookie(sh, expires), expires.Sub(now), nil
}

// Authorize lets a request at a link's content: a link without a password,
// a valid unlock cookie for this link, or the right password in a header.
func (s *Shares) Authorize(ctx context.Context, sh satchel.Share, cookie, password, clientAddr string) error {
	if !sh.HasPassword() || s.validCookie(sh, cookie) {
		return nil
	}
	if password == "" {
		s.obs.ShareRefused("password")
		return satchel.Errorf(satchel.ErrUnauthenticated, "this link needs a password")
	}
	return s.checkPassword(ctx, sh, password, clientAddr)
}

// checkPassword verifies a link's password. Every attempt counts against
// the link and the client address before the check; a right password gives
// its attempt back. So however many guesses race, at most the limit are
// checked in a window.
func (s *Shares) checkPassword(ctx context.Context, sh satchel.Share, password, clientAddr string) error {
	limits := []satchel.RateLimit{
		{Key: "unlock:share:" + sh.ID, Max: unlockFailureLimit, Window: attemptWindow},
		{Key: "unlock:addr:" + clientAddr, Max: unlockAddrLimit, Window: attemptWindow},
	}
	if err := takeAttempt(ctx, s.store, s.now(), "wrong passwords", limits...); err != nil {
		if errors.Is(err, satchel.ErrRateLimited) {
			s.obs.ShareRefused("rate_limited")
		}
		return err
	}
	ok := false
	if len(password) <= satchel.MaxPasswordLen {
		var err error
		if ok, err = s.hasher.Verify(ctx, sh.PasswordHash, password); err != nil {
			return fmt.Errorf("verify share password: %w", err)
		}
	}
	if !ok {
		s.obs.ShareUnlockFailed()
		return satchel.Errorf(satchel.ErrUnauthenticated, "the password is wrong")
	}
	if err := s.store.GiveBackAttempts(ctx, []string{limits[0].Key, limits[1].Key}); err != nil {
		s.log.WarnContext(ctx, "give back unlock attempt", "err", err)
	}
	return nil
}

// unlockCookie signs (link, expiry, password hash) with the shared secret:
// the cookie unlocks this link only, until it expires or the password
// changes, on every node.
func (s *Shares) unlockCookie(sh satchel.Share, expires time.Time) string {
	var exp [8]byte
	binary.BigEndian.PutUint64(exp[:], uint64(expires.Unix()))
	return base64.RawURLEncoding.EncodeToString(exp[:]) + "." + base64.RawURLEncoding.EncodeToString(s.mac(sh, exp[:]))
}

func (s *Shares) mac(sh satchel.Share, exp []byte) []byte {
	m := hmac.New(sha256.New, s.key)
	m.Write([]byte("satchel share unlock\x00" + sh.ID + "\x00"))
	m.Write(exp)
	m.Write([]byte("\x00" + sh.PasswordHash))
	return m.Sum(nil)
}

func (s *Shares) validCookie(sh satchel.Share, cookie string) bool {
	expPart, macPart, ok := strings.Cut(cookie, ".")
	if !ok {
		return false
	}
	exp, err := base64.RawURLEncoding.DecodeString(expPart)
	if err != nil || len(exp) != 8 {
		return false
	}
	sum, err := base64.RawURLEncoding.DecodeString(macPart)
	if err != nil || !hmac.Equal(sum, s.mac(sh, exp)) {
		return false
	}
	return s.now().Unix() < int64(binary.BigEndian.Uint64(exp))
}

// CountDownload counts a download that starts at the first byte, if the
// link still allows one and f is still its file as named; otherwise it says
// why not, as Verify does.
func (s *Shares) CountDownload(ctx context.Context, sh satchel.Share, f satchel.File) error {
	ok, err := s.store.CountDownload(ctx, sh.ID, f.Filename, s.now())
	if err != nil {
		return err
	}
	if ok {
		s.obs.ShareDownloadCounted()
		return nil
	}
	// The link was revoked, expired, used up (another download took the
	// last one), or its file deleted or renamed since sh and f were read.
	if err := s.Verify(ctx, sh, f); err != nil {
		return err
	}
	s.obs.ShareRefused("exhausted")
	return satchel.Errorf(satchel.ErrGone, "this link has been used up")
}

// OpenContent opens a shared file's content.
func (s *Shares) OpenContent(ctx context.Context, f satchel.File) (io.ReadSeekCloser, error) {
	r, err := s.blobs.Open(ctx, f.StorageKey)
	if errors.Is(err, satchel.ErrNotFound) {
		return nil, fmt.Errorf("blob of file %s is missing: %v", f.ID, err)
	}
	return r, err
}

// OpenThumbnail opens a shared file's thumbnail; ErrNotFound while it has none.
func (s *Shares) OpenThumbnail(ctx context.Context, f satchel.File) (io.ReadSeekCloser, error) {
	if !f.HasThumbnail() {
		return nil, satchel.NotFound("thumbnail")
	}
	return s.blobs.Open(ctx, f.ThumbnailKey)
}

// SweepRateLimits removes rate-limit windows that have ended (of link
// passwords and of logins alike).
func (s *Shares) SweepRateLimits(ctx context.Context) error {
	_, err := s.store.DeleteOldRateLimits(ctx, s.now().Add(-attemptWindow))
	return err
}
