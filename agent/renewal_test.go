package agent

import (
	"crypto/x509"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/orch-io/orch/pki"
)

// TestAgentRenewsItsCertificates gives the node certificates valid for a
// few seconds: the agent must register again with its own certificate
// before they expire, save the new ones and keep reporting with them past
// the first certificate's end.
func TestAgentRenewsItsCertificates(t *testing.T) {
	m := newFakeMasterLifetime(t, 3*time.Second)
	rt := &listingRuntime{fakeRuntime: newFakeRuntime(), created: map[string]bool{}}
	dir := t.TempDir()
	startAgent(t, m, dir, rt)

	first := waitFor(t, 10*time.Second, "a report with the node's certificate", func() *x509.Certificate {
		m.mu.Lock()
		defer m.mu.Unlock()
		return m.reportCert
	})
	waitFor(t, 20*time.Second, "a report after the first certificate expired", func() *x509.Certificate {
		m.mu.Lock()
		defer m.mu.Unlock()
		if c := m.reportCert; c != nil && time.Now().After(first.NotAfter) && c.SerialNumber.Cmp(first.SerialNumber) != 0 {
			return c
		}
		return nil
	})
	m.mu.Lock()
	renewals := m.renewals
	m.mu.Unlock()
	if renewals == 0 {
		t.Error("no registration with the node's own certificate: renewed with the join token?")
	}
	onDisk, err := os.ReadFile(filepath.Join(dir, "node.crt"))
	if err != nil {
		t.Fatal(err)
	}
	saved, err := pki.ParseCertPEM(onDisk)
	if err != nil {
		t.Fatal(err)
	}
	if saved.SerialNumber.Cmp(first.SerialNumber) == 0 {
		t.Error("node.crt still holds the first certificate")
	}
	// Certificates of 3 s are renewed every second or two, so a check may
	// land in the middle of the next save: staged files must be gone once
	// a save completes, not at every instant.
	waitFor(t, 10*time.Second, "no certificate left staged (node.crt.new, agent.crt.new)", func() *struct{} {
		for _, leftover := range []string{"node.crt.new", "agent.crt.new"} {
			if _, err := os.Stat(filepath.Join(dir, leftover)); err == nil {
				return nil
			}
		}
		return &struct{}{}
	})
}

// waitFor polls get until it returns non-nil, failing the test after d.
func waitFor[T any](t *testing.T, d time.Duration, what string, get func() *T) *T {
	t.Helper()
	deadline := time.Now().Add(d)
	for {
		if v := get(); v != nil {
			return v
		}
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// TestFinishSaveCompletesAnInterruptedSave: a crash after the key was
// installed but before the certificates were leaves the staged files;
// the next start installs them, so the key and certificates match again.
func TestFinishSaveCompletesAnInterruptedSave(t *testing.T) {
	d := dataDir(t.TempDir())
	for name, body := range map[string]string{"agent.key": "new key", "agent.crt.new": "new server", "node.crt.new": "new client", "node.crt": "old client"} {
		if err := os.WriteFile(d.path(name), []byte(body), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	if err := d.finishSave(); err != nil {
		t.Fatal(err)
	}
	for name, want := range map[string]string{"agent.key": "new key", "agent.crt": "new server", "node.crt": "new client"} {
		if got, _ := os.ReadFile(d.path(name)); string(got) != want {
			t.Errorf("%s = %q, want %q", name, got, want)
		}
	}
	// A request that was never answered is not a save.
	if err := os.WriteFile(d.path("agent.key.new"), []byte("unanswered"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := d.finishSave(); err != nil {
		t.Fatal(err)
	}
	if got, _ := os.ReadFile(d.path("agent.key")); string(got) != "new key" {
		t.Errorf("an unanswered request's key was installed: %q", got)
	}
}

// A request never answered (the master may have registered the node and
// only the answer was lost) is asked again for the same key; once a save
// installed it, the next request has a new one.
func TestNewCSRReusesAnUnansweredKey(t *testing.T) {
	d := dataDir(t.TempDir())
	keyOf := func(csr []byte) string {
		k, err := pki.CSRKeyDigest(csr)
		if err != nil {
			t.Fatal(err)
		}
		return k
	}
	first, err := d.newCSR("n1")
	if err != nil {
		t.Fatal(err)
	}
	again, err := d.newCSR("n1")
	if err != nil {
		t.Fatal(err)
	}
	if keyOf(first) != keyOf(again) {
		t.Error("a retried request has a new key")
	}
	if err := os.Rename(d.path("agent.key.new"), d.path("agent.key")); err != nil {
		t.Fatal(err)
	}
	next, err := d.newCSR("n1")
	if err != nil {
		t.Fatal(err)
	}
	if keyOf(next) == keyOf(first) {
		t.Error("the request after a save has the installed key")
	}
}
