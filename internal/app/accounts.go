package app

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/satchelhq/satchel/internal/satchel"
	"github.com/satchelhq/satchel/internal/secret"
)

// SessionTTL is how long a login session lasts.
const SessionTTL = 30 * 24 * time.Hour

// keyTouchInterval is how often an API key's last_used_at may be written.
const keyTouchInterval = time.Minute

// Password guessing limits, in failures per attemptWindow (which the
// rate-limit sweep also uses). A client address gets few; an account gets
// more, so that no one address can lock its owner out, while guesses spread
// over many addresses still stop.
const (
	attemptWindow     = 15 * time.Minute
	loginAddrLimit    = 20
	loginAccountLimit = 50
	// currentPasswordLimit bounds wrong current passwords when changing the
	// email or password: whoever holds a session or a key must not be able
	// to guess the password behind it.
	currentPasswordLimit = 10
	// registerAddrLimit bounds the accounts one client address may make
	// (each costs an argon2id hash) while registration is open.
	registerAddrLimit = 20
)

// Accounts registers users, logs them in and out, and manages their API keys.
type Accounts struct {
	store            AccountStore
	hasher           *secret.Hasher
	now              func() time.Time
	log              *slog.Logger
	registrationOpen bool

	dummyOnce sync.Once
	dummyHash string
}

// NewAccounts returns the accounts service.
func NewAccounts(store AccountStore, hasher *secret.Hasher, now func() time.Time, log *slog.Logger, registrationOpen bool) *Accounts {
	return &Accounts{store: store, hasher: hasher, now: now, log: log, registrationOpen: registrationOpen}
}

// RegistrationOpen reports whether anyone may create an account.
func (a *Accounts) RegistrationOpen() bool { return a.registrationOpen }

// Register creates an account through the public API; it is refused when
// registration is closed.
func (a *Accounts) Register(ctx context.Context, username, email, password, clientAddr string) (satchel.User, error) {
	if !a.registrationOpen {
		return satchel.User{}, satchel.Errorf(satchel.ErrForbidden, "registration is closed on this server")
	}
	if err := checkNewUser(username, email, password); err != nil {
		return satchel.User{}, err
	}
	limit := satchel.RateLimit{Key: "register:addr:" + clientAddr, Max: registerAddrLimit, Window: attemptWindow}
	if err := takeAttempt(ctx, a.store, a.now(), "sign-ups from this address", limit); err != nil {
		return satchel.User{}, err
	}
	return a.CreateUser(ctx, username, email, password)
}

// CreateUser creates an account whatever the registration setting (the
// administrator's `satchel user create`).
func (a *Accounts) CreateUser(ctx context.Context, username, email, password string) (satchel.User, error) {
	if err := checkNewUser(username, email, password); err != nil {
		return satchel.User{}, err
	}
	hash, err := a.hasher.Hash(ctx, password)
	if err != nil {
		return satchel.User{}, fmt.Errorf("hash password: %w", err)
	}
	now := a.now()
	return a.store.CreateUser(ctx, satchel.User{
		ID: satchel.NewID(), Username: username, Email: email, PasswordHash: hash, CreatedAt: now, UpdatedAt: now,
	})
}

// checkNewUser validates what a new account is made of.
func checkNewUser(username, email, password string) error {
	var fields []satchel.FieldError
	if msg := satchel.CheckUsername(username); msg != "" {
		fields = append(fields, satchel.FieldError{Field: "username", Message: msg})
	}
	if msg := satchel.CheckEmail(email); msg != "" {
		fields = append(fields, satchel.FieldError{Field: "email", Message: msg})
	}
	if msg := satchel.CheckPassword(password); msg != "" {
		fields = append(fields, satchel.FieldError{Field: "password", Message: msg})
	}
	if len(fields) > 0 {
		return satchel.Invalid(fields...)
	}
	return nil
}

var errBadCredentials = satchel.Errorf(satchel.ErrUnauthenticated, "the login or the password is wrong")

// Login checks a username-or-email and password and opens a session. It
// returns the session token for the cookie; only its hash is stored. Every
// attempt counts against the client address and the account before the
// check, and a right password gives its attempt back; past a limit the
// answer is ErrRateLimited whatever the password.
func (a *Accounts) Login(ctx context.Context, login, password, clientAddr string) (token string, sess satchel.Session, u satchel.User, err error) {
	if login == "" || password == "" || len(password) > satchel.MaxPasswordLen || len(login) > satchel.MaxEmailLen {
		return "", sess, u, errBadCredentials
	}
	u, err = a.store.GetUserByLogin(ctx, login)
	known := err == nil
	if err != nil && !errors.Is(err, satchel.ErrNotFound) {
		return "", sess, u, err
	}
	limits := []satchel.RateLimit{{Key: "login:addr:" + clientAddr, Max: loginAddrLimit, Window: attemptWindow}}
	if known {
		limits = append(limits, satchel.RateLimit{Key: "login:user:" + u.ID, Max: loginAccountLimit, Window: attemptWindow})
	}
	if err := takeAttempt(ctx, a.store, a.now(), "failed sign-ins", limits...); err != nil {
		return "", sess, u, err
	}
	if !known {
		// Spend the time a real check takes, so timing does not tell
		// which logins exist.
		_, _ = a.hasher.Verify(ctx, a.dummy(), password)
		return "", sess, satchel.User{}, errBadCredentials
	}
	ok, err := a.hasher.Verify(ctx, u.PasswordHash, password)
	if err != nil {
		return "", sess, u, fmt.Errorf("verify password of user %s: %w", u.ID, err)
	}
	if !ok {
		return "", sess, u, errBadCredentials
	}
	if err := a.store.GiveBackAttempts(ctx, []string{limits[0].Key, limits[1].Key}); err != nil {
		a.log.WarnContext(ctx, "give back login attempt", "err", err)
	}
	token = secret.Token(32)
	now := a.now()
	sess = satchel.Session{ID: satchel.NewID(), UserID: u.ID, TokenHash: secret.HashToken(token), CreatedAt: now, ExpiresAt: now.Add(SessionTTL)}
	if err := a.store.CreateSession(ctx, sess); err != nil {
		return "", sess, u, err
	}
	return token, sess, u, nil
}

// dummy returns a hash to verify against when a login names nobody. It is
// made with a context of its own: a cancelled request must not leave it
// empty, which would make unknown logins fast and so tell them apart.
func (a *Accounts) dummy() string {
	a.dummyOnce.Do(func() {
		a.dummyHash, _ = a.hasher.Hash(context.Background(), "not a real password")
	})
	return a.dummyHash
}

// Logout ends a session.
func (a *Accounts) Logout(ctx context.Context, sessionID string) error {
	return a.store.DeleteSession(ctx, sessionID)
}

var errNotAuthenticated = satchel.Errorf(satchel.ErrUnauthenticated, "sign in or send an API key")

// AuthenticateSession returns the principal of a session token.
func (a *Accounts) AuthenticateSession(ctx context.Context, token string) (Principal, error) {
	if token == "" || len(token) > 100 {
		return Principal{}, errNotAuthenticated
	}
	sess, u, err := a.store.GetSession(ctx, secret.HashToken(token), a.now())
	if errors.Is(err, satchel.ErrNotFound) {
		return Principal{}, satchel.Errorf(satchel.ErrUnauthenticated, "the session has ended; sign in again")
	}
	if err != nil {
		return Principal{}, err
	}
	return Principal{User: u, SessionID: sess.ID}, nil
}

// AuthenticateKey returns the principal of an API key. It records the key's
// use at most once a minute.
func (a *Accounts) AuthenticateKey(ctx context.Context, key string) (Principal, error) {
	bad := satchel.Errorf(satchel.ErrUnauthenticated, "the API key is not valid")
	prefix, ok := secret.ParseAPIKey(key)
	if !ok {
		return Principal{}, bad
	}
	k, u, err := a.store.GetAPIKeyByPrefix(ctx, prefix)
	if errors.Is(err, satchel.ErrNotFound) {
		return Principal{}, bad
	}
	if err != nil {
		return Principal{}, err
	}
	if !secret.EqualHash(secret.HashToken(key), k.KeyHash) {
		return Principal{}, bad
	}
	now := a.now()
	if k.LastUsedAt == nil || now.Sub(*k.LastUsedAt) >= keyTouchInterval {
		if err := a.store.TouchAPIKey(ctx, k.ID, now, keyTouchInterval); err != nil {
			a.log.WarnContext(ctx, "record api key use", "key_id", k.ID, "err", err)
		}
	}
	return Principal{User: u, APIKeyID: k.ID}, nil
}

// UpdateMe changes the caller's email and/or password after checking their
// current password. A new password ends the user's other sessions.
func (a *Accounts) UpdateMe(ctx context.Context, p Principal, email, password *string, currentPassword string) (satchel.User, error) {
	var fields []satchel.FieldError
	if currentPassword == "" {
		fields = append(fields, satchel.FieldError{Field: "current_password", Message: "is required"})
	}
	if email != nil {
		if msg := satchel.CheckEmail(*email); msg != "" {
			fields = append(fields, satchel.FieldError{Field: "email", Message: msg})
		}
	}
	if password != nil {
		if msg := satchel.CheckPassword(*password); msg != "" {
			fields = append(fields, satchel.FieldError{Field: "password", Message: msg})
		}
	}
	if len(fields) > 0 {
		return satchel.User{}, satchel.Invalid(fields...)
	}
	limit := satchel.RateLimit{Key: "current-password:user:" + p.User.ID, Max: currentPasswordLimit, Window: attemptWindow}
	if err := takeAttempt(ctx, a.store, a.now(), "wrong current passwords", limit); err != nil {
		return satchel.User{}, err
	}
	ok, err := a.hasher.Verify(ctx, p.User.PasswordHash, currentPassword)
	if err != nil {
		return satchel.User{}, fmt.Errorf("verify password of user %s: %w", p.User.ID, err)
	}
	if !ok {
		return satchel.User{}, &satchel.Error{Kind: satchel.ErrForbidden, Detail: "the current password is wrong",
			Fields: []satchel.FieldError{{Field: "current_password", Message: "is wrong"}}}
	}
	if err := a.store.GiveBackAttempts(ctx, []string{limit.Key}); err != nil {
		a.log.WarnContext(ctx, "give back current-password attempt", "err", err)
	}
	var hash *string
	if password != nil {
		h, err := a.hasher.Hash(ctx, *password)
		if err != nil {
			return satchel.User{}, fmt.Errorf("hash password: %w", err)
		}
		hash = &h
	}
	return a.store.UpdateUser(ctx, p.User.ID, email, hash, p.SessionID, a.now())
}

// CreateAPIKey makes a new key for the user and returns it with the key text,
// which is shown this once and never stored.
func (a *Accounts) CreateAPIKey(ctx context.Context, userID, name string) (string, satchel.APIKey, error) {
	if msg := satchel.CheckKeyName(name); msg != "" {
		return "", satchel.APIKey{}, satchel.Invalid(satchel.FieldError{Field: "name", Message: msg})
	}
	key, prefix := secret.NewAPIKey()
	k := satchel.APIKey{ID: satchel.NewID(), UserID: userID, Name: name, Prefix: prefix, KeyHash: secret.HashToken(key), CreatedAt: a.now()}
	if err := a.store.CreateAPIKey(ctx, k); err != nil {
		return "", k, err
	}
	return key, k, nil
}

// ListAPIKeys returns the user's keys, newest first.
func (a *Accounts) ListAPIKeys(ctx context.Context, userID string) ([]satchel.APIKey, error) {
	return a.store.ListAPIKeys(ctx, userID)
}

// DeleteAPIKey revokes one of the user's keys at once.
func (a *Accounts) DeleteAPIKey(ctx context.Context, userID, id string) error {
	if !satchel.ValidID(id) {
		return satchel.NotFound("api key")
	}
	return a.store.DeleteAPIKey(ctx, userID, id)
}

// GetUser returns a user by ID.
func (a *Accounts) GetUser(ctx context.Context, id string) (satchel.User, error) {
	return a.store.GetUser(ctx, id)
}

// SweepSessions removes sessions that have expired.
func (a *Accounts) SweepSessions(ctx context.Context) error {
	_, err := a.store.DeleteExpiredSessions(ctx, a.now())
	return err
}
