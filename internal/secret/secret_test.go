package secret_test

import (
	"context"
	"strings"
	"testing"

	"github.com/satchelhq/satchel/internal/secret"
)

func TestPasswordHash(t *testing.T) {
	ctx := context.Background()
	h := secret.NewHasher(secret.DefaultParams, 2)
	hash, err := h.Hash(ctx, "correct horse battery staple")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(hash, "$argon2id$v=19$m=19456,t=2,p=1$") || len(hash) > 255 {
		t.Errorf("hash %q does not carry its parameters, or is too long", hash)
	}
	if again, _ := h.Hash(ctx, "correct horse battery staple"); again == hash {
		t.Errorf("two hashes of one password are equal: the salt is not random")
	}
	for _, tt := range []struct {
		password string
		want     bool
	}{
		{"correct horse battery staple", true},
		{"correct horse battery stapl", false},
		{"", false},
	} {
		ok, err := h.Verify(ctx, hash, tt.password)
		if err != nil || ok != tt.want {
			t.Errorf("Verify(%q) = %v, %v; want %v", tt.password, ok, err, tt.want)
		}
	}
	// A hash made with other parameters still verifies: they are read from it.
	cheap := secret.NewHasher(secret.Params{Memory: 1024, Time: 1, Threads: 1}, 1)
	old, _ := cheap.Hash(ctx, "pw")
	if ok, err := h.Verify(ctx, old, "pw"); !ok || err != nil {
		t.Errorf("verify a hash with other parameters: %v, %v", ok, err)
	}
	for _, bad := range []string{"", "plain", "$argon2i$v=19$m=1,t=1,p=1$c2FsdA$aGFzaA", "$argon2id$v=19$m=99999999,t=1,p=1$c2FsdA$aGFzaA"} {
		if _, err := h.Verify(ctx, bad, "pw"); err == nil {
			t.Errorf("Verify accepted malformed hash %q", bad)
		}
	}
}

func TestAPIKeys(t *testing.T) {
	seen := map[string]bool{}
	for range 100 {
		key, prefix := secret.NewAPIKey()
		got, ok := secret.ParseAPIKey(key)
		if !ok || got != prefix || len(prefix) != 12 || !strings.HasPrefix(key, prefix+"_") || len(key) < 12+1+32 {
			t.Fatalf("key %q, prefix %q, parsed %q %v", key, prefix, got, ok)
		}
		if seen[prefix] {
			t.Fatalf("prefix %s repeated", prefix)
		}
		seen[prefix] = true
	}
	for _, bad := range []string{"", "sat_", "sat_abcdefgh_short", "xyz_abcdefgh_" + strings.Repeat("a", 40),
		"sat_abcdefgh-" + strings.Repeat("a", 40), "sat_abcd!fgh_" + strings.Repeat("a", 40), "sat_abcdefgh_" + strings.Repeat("a", 39) + "/"} {
		if _, ok := secret.ParseAPIKey(bad); ok {
			t.Errorf("ParseAPIKey accepted %q", bad)
		}
	}
}

func TestTokens(t *testing.T) {
	a, b := secret.Token(32), secret.Token(32)
	if a == b || len(a) != 43 || strings.ContainsAny(a, "+/=") {
		t.Errorf("tokens %q %q", a, b)
	}
	if secret.HashToken(a) == secret.HashToken(b) || len(secret.HashToken(a)) != 64 {
		t.Errorf("token hashes")
	}
	if !secret.EqualHash(secret.HashToken(a), secret.HashToken(a)) || secret.EqualHash(secret.HashToken(a), secret.HashToken(b)) {
		t.Errorf("EqualHash")
	}
}
