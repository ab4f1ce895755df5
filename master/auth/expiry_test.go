package auth

import (
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/orch-io/orch/pki"
	orchpb "github.com/orch-io/orch/proto"
)

// entries is a TokenTable of whole records, changed while requests read it.
type entries struct {
	mu sync.Mutex
	m  map[string]*orchpb.Token
}

func (t *entries) Token(digest string) *orchpb.Token {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.m[digest]
}

// TestExpiryAndRevoke: a token is refused from the moment the clock passes
// its expiry, with no write anywhere, and as soon as the table forgets it
// (a revoke applied); each acceptance is recorded for the last-used time.
func TestExpiryAndRevoke(t *testing.T) {
	ca, err := pki.NewCA()
	if err != nil {
		t.Fatal(err)
	}
	short, shortDigest, _ := NewToken(ca.Digest(), RoleReader)
	forever, foreverDigest, _ := NewToken(ca.Digest(), RoleAdmin)
	start := time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC)
	now := start
	tab := &entries{m: map[string]*orchpb.Token{
		shortDigest:   {Id: "short", Role: "reader", ExpiresAt: start.Add(time.Hour).UnixMilli()},
		foreverDigest: {Id: "forever", Role: "admin"},
	}}
	toks := NewTokens(tab, nil, WithClock(func() time.Time { return now }))

	if role, err := toks.Authenticate(short); err != nil || role != RoleReader {
		t.Fatalf("before expiry: %q, %v", role, err)
	}
	now = start.Add(time.Hour - time.Millisecond)
	if _, err := toks.Authenticate(short); err != nil {
		t.Fatalf("a millisecond before expiry: %v", err)
	}
	if at, ok := toks.LastUsed("short"); !ok || !at.Equal(now) {
		t.Errorf("last used = %v, %v; want %v", at, ok, now)
	}
	now = start.Add(time.Hour)
	if _, err := toks.Authenticate(short); !errors.Is(err, ErrExpired) || !errors.Is(err, ErrUnauthenticated) {
		t.Errorf("at expiry: %v, want ErrExpired", err)
	}
	now = start.Add(100 * 365 * 24 * time.Hour)
	if _, err := toks.Authenticate(forever); err != nil {
		t.Errorf("a token without expiry, a century later: %v", err)
	}

	tab.mu.Lock()
	delete(tab.m, foreverDigest)
	tab.mu.Unlock()
	if _, err := toks.Authenticate(forever); !errors.Is(err, ErrUnauthenticated) {
		t.Errorf("revoked: %v, want ErrUnauthenticated", err)
	}

	used := toks.TakeUsage()
	if len(used) != 2 || !used["forever"].Equal(now) || !used["short"].Equal(start.Add(time.Hour-time.Millisecond)) {
		t.Errorf("usage = %v", used)
	}
	if again := toks.TakeUsage(); len(again) != 0 {
		t.Errorf("usage after TakeUsage = %v, want empty", again)
	}
}
