package agent

import (
	"bytes"
	"context"
	"io"
	"log/slog"
	"net/http"
	"os"
	"testing"
	"time"

	"github.com/orch-io/orch/pki"
	orchpb "github.com/orch-io/orch/proto"
)

// TestAgentTakesUpTheRotationBundle: an agent trusting only A refuses a
// master whose certificate B signed (no cross certificate in its chain);
// once an assignment set carries {A, B} it writes ca.crt with both and
// its very next handshake succeeds, with no restart. A set with
// renew_before later than its last registration asks for a renewal.
func TestAgentTakesUpTheRotationBundle(t *testing.T) {
	a, err := pki.NewCA()
	if err != nil {
		t.Fatal(err)
	}
	b, err := pki.NewCA()
	if err != nil {
		t.Fatal(err)
	}
	srv := masterServer(t, b, func(w http.ResponseWriter, _ *http.Request) { _, _ = io.WriteString(w, "tarball") })
	trust, err := pki.NewTrustBundle(a.CertPEM)
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	ag := &Agent{dir: dataDir(dir), log: slog.New(slog.DiscardHandler), conn: newTrustingMasterConn([]string{srv.URL}, "t", trust),
		rotation: caRotation{renew: make(chan struct{}, 1)}}
	if rc, err := ag.conn.fetchImage(context.Background(), "x"); err == nil {
		rc.Close()
		t.Fatal("a master signed by a CA the agent does not trust was accepted")
	}
	bundle := append(append([]byte{}, a.CertPEM...), b.CertPEM...)
	ag.applyCATrust(&orchpb.AssignmentSet{CaBundlePem: string(bundle)})
	saved, err := os.ReadFile(dir + "/ca.crt")
	if err != nil || !bytes.Equal(saved, bundle) {
		t.Fatalf("ca.crt holds %q (%v)", saved, err)
	}
	if got, want := trust.Digest(), pki.BundleDigest(bundle); got != want {
		t.Fatalf("trusts %s, want %s", got, want)
	}
	rc, err := ag.conn.fetchImage(context.Background(), "x")
	if err != nil {
		t.Fatalf("after taking up {A, B}: %v", err)
	}
	rc.Close()
	ag.rotation.registered(time.Now().Add(-time.Minute))
	ag.applyCATrust(&orchpb.AssignmentSet{CaBundlePem: string(bundle), RenewBefore: time.Now().UnixMilli()})
	select {
	case <-ag.rotation.renew:
	default:
		t.Fatal("a certificate older than renew_before was not renewed")
	}
}
