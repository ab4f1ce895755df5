package auth

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"testing"

	"github.com/orch-io/orch/pki"
	orchpb "github.com/orch-io/orch/proto"
)

// table is an in-memory TokenTable (the store in production).
type table map[string]string

func (t table) Token(digest string) *orchpb.Token {
	r, ok := t[digest]
	if !ok {
		return nil
	}
	return &orchpb.Token{Sha256: digest, Id: digest[:12], Role: r}
}

func TestTokens(t *testing.T) {
	ca, err := pki.NewCA()
	if err != nil {
		t.Fatal(err)
	}
	tab := table{}
	admin, digest, err := NewToken(ca.Digest(), RoleAdmin)
	if err != nil {
		t.Fatal(err)
	}
	tab[digest] = string(RoleAdmin)
	late, lateDigest, err := NewToken(ca.Digest(), RoleAgent)
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := NewToken(ca.Digest(), Role("root")); err == nil {
		t.Error("NewToken accepted an unknown role")
	}
	// catchUp stands for a follower catching up with the leader: the
	// token created there arrives while it waits.
	caughtUp := 0
	toks := NewTokens(tab, func(context.Context) error {
		caughtUp++
		tab[lateDigest] = string(RoleAgent)
		return nil
	})
	cases := []struct {
		token    string
		want     Role
		wantErr  bool
		catchUps int
	}{
		{admin, RoleAdmin, false, 0},
		{late, RoleAgent, false, 1},
		{late, RoleAgent, false, 1},
		{admin + "x", "", true, 2},
		{"", "", true, 2},
		{"Bearer-ish garbage", "", true, 2},
	}
	for _, c := range cases {
		got, err := toks.Authenticate(c.token)
		if (err != nil) != c.wantErr || got != c.want {
			t.Errorf("Authenticate(%.20q) = %q, %v; want %q (error %v)", c.token, got, err, c.want, c.wantErr)
		}
		if err != nil && !errors.Is(err, ErrUnauthenticated) {
			t.Errorf("error %v is not ErrUnauthenticated", err)
		}
		if caughtUp != c.catchUps {
			t.Errorf("after %.20q: %d catch-ups, want %d", c.token, caughtUp, c.catchUps)
		}
	}
	gotDigest, err := pki.TokenCADigest(late)
	if err != nil || gotDigest != ca.Digest() {
		t.Errorf("TokenCADigest = %q, %v; want %q", gotDigest, err, ca.Digest())
	}
}

// TestUnknownTokenWithoutACatchUp: a master that cannot catch up (no
// leader yet: a restarted master whose log is not applied) cannot tell an
// unknown token from one it has not applied; it says so (ErrCannotTell,
// which the API answers 503) instead of calling the token invalid.
func TestUnknownTokenWithoutACatchUp(t *testing.T) {
	ca, err := pki.NewCA()
	if err != nil {
		t.Fatal(err)
	}
	token, _, err := NewToken(ca.Digest(), RoleAdmin)
	if err != nil {
		t.Fatal(err)
	}
	noLeader := errors.New("no leader")
	toks := NewTokens(table{}, func(context.Context) error { return noLeader })
	_, err = toks.Authenticate(token)
	if !errors.Is(err, ErrCannotTell) || !errors.Is(err, noLeader) || errors.Is(err, ErrUnauthenticated) {
		t.Errorf("an unknown token while the master cannot catch up: %v; want ErrCannotTell (with why), not ErrUnauthenticated", err)
	}
	if _, err := toks.Authenticate("garbage"); !errors.Is(err, ErrUnauthenticated) {
		t.Errorf("a malformed token: %v, want ErrUnauthenticated (no catch-up needed to tell)", err)
	}
}

func TestLegacyTokens(t *testing.T) {
	dir := t.TempDir()
	if got, err := ReadLegacyTokens(dir); err != nil || len(got) != 0 {
		t.Fatalf("absent file: %v, %v", got, err)
	}
	data := `{"tokens":[{"role":"admin","sha256":"aa"},{"role":"agent","sha256":"bb"}]}`
	if err := os.WriteFile(filepath.Join(dir, "tokens.json"), []byte(data), 0o600); err != nil {
		t.Fatal(err)
	}
	got, err := ReadLegacyTokens(dir)
	if err != nil || got["aa"] != RoleAdmin || got["bb"] != RoleAgent || len(got) != 2 {
		t.Fatalf("ReadLegacyTokens = %v, %v", got, err)
	}
}

func TestRoleAllows(t *testing.T) {
	cases := []struct {
		have, need Role
		want       bool
	}{
		{RoleAdmin, RoleAdmin, true},
		{RoleAdmin, RoleAgent, true},
		{RoleReader, RoleReader, true},
		{RoleReader, RoleAdmin, false},
		{RoleAgent, RoleReader, false},
		{RoleAgent, RoleAdmin, false},
		{RoleMaster, RoleAgent, true},
		{RoleMaster, RoleReader, true},
	}
	for _, c := range cases {
		if got := c.have.Allows(c.need); got != c.want {
			t.Errorf("%s.Allows(%s) = %v, want %v", c.have, c.need, got, c.want)
		}
	}
}
