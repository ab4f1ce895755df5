package auth

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"testing"
)

func TestTokensRoundTrip(t *testing.T) {
	dir := t.TempDir()
	ca, err := LoadOrCreateCA(dir)
	if err != nil {
		t.Fatal(err)
	}
	toks, err := OpenTokens(dir, ca.Digest())
	if err != nil {
		t.Fatal(err)
	}
	admin, err := toks.Create(RoleAdmin)
	if err != nil {
		t.Fatal(err)
	}
	agent, err := toks.Create(RoleAgent)
	if err != nil {
		t.Fatal(err)
	}
	reopened, err := OpenTokens(dir, ca.Digest())
	if err != nil {
		t.Fatal(err)
	}
	for token, want := range map[string]Role{admin: RoleAdmin, agent: RoleAgent} {
		got, err := reopened.Authenticate(token)
		if err != nil || got != want {
			t.Errorf("Authenticate = %q, %v; want %q", got, err, want)
		}
	}
	if _, err := reopened.Authenticate(admin + "x"); !errors.Is(err, ErrUnauthenticated) {
		t.Errorf("a wrong token authenticated: %v", err)
	}
	digest, err := TokenCADigest(agent)
	if err != nil || digest != ca.Digest() {
		t.Errorf("TokenCADigest = %q, %v; want %q", digest, err, ca.Digest())
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
