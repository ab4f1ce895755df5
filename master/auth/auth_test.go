package auth

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"os"
	"path/filepath"
	"testing"
)

// table is an in-memory TokenTable (the store in production).
type table map[string]string

func (t table) TokenRole(digest string) (string, bool) { r, ok := t[digest]; return r, ok }

func TestTokens(t *testing.T) {
	ca, err := NewCA()
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
	gotDigest, err := TokenCADigest(late)
	if err != nil || gotDigest != ca.Digest() {
		t.Errorf("TokenCADigest = %q, %v; want %q", gotDigest, err, ca.Digest())
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

func TestCASaveParse(t *testing.T) {
	dir := t.TempDir()
	ca, err := LoadOrCreateCA(dir)
	if err != nil {
		t.Fatal(err)
	}
	again, err := LoadOrCreateCA(dir)
	if err != nil || again.Digest() != ca.Digest() || !bytes.Equal(again.KeyPEM(), ca.KeyPEM()) {
		t.Fatalf("reloaded CA differs: %v", err)
	}
	other, err := NewCA()
	if err != nil {
		t.Fatal(err)
	}
	if _, err := ParseCA(ca.CertPEM, other.KeyPEM()); err == nil {
		t.Error("ParseCA accepted a key of another CA")
	}
	leaf, err := ca.IssueMaster([]string{"127.0.0.1"})
	if err != nil {
		t.Fatal(err)
	}
	leafPEM := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: leaf.Certificate[0]})
	if _, err := ParseCA(leafPEM, ca.KeyPEM()); err == nil {
		t.Error("ParseCA accepted a leaf certificate")
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

func TestCAIssuesVerifiableCertificates(t *testing.T) {
	ca, err := LoadOrCreateCA(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	cert, err := ca.IssueServer("master", []string{"127.0.0.1", "localhost"})
	if err != nil {
		t.Fatal(err)
	}
	leaf, err := x509.ParseCertificate(cert.Certificate[0])
	if err != nil {
		t.Fatal(err)
	}
	if _, err := leaf.Verify(x509.VerifyOptions{Roots: ca.Pool(), DNSName: "127.0.0.1"}); err != nil {
		t.Fatalf("server certificate does not verify: %v", err)
	}
	csr, key, err := NewCSR("agent")
	if err != nil {
		t.Fatal(err)
	}
	signed, err := ca.SignCSR(csr, "node-1", []string{"10.0.0.5"})
	if err != nil {
		t.Fatal(err)
	}
	keyPEM, _ := EncodeKey(key)
	if _, err := tls.X509KeyPair(signed, keyPEM); err != nil {
		t.Fatalf("signed CSR does not pair with its key: %v", err)
	}
}
