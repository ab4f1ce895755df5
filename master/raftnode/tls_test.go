package raftnode

import (
	"crypto/tls"
	"errors"
	"io"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/hashicorp/raft"
	"github.com/orch-io/orch/pki"

	"github.com/orch-io/orch/master/store"
	"google.golang.org/protobuf/proto"
)

func withTLS(ca *pki.CA, cert tls.Certificate) func(*Config) {
	return func(c *Config) {
		c.ServerTLS = ca.MasterServerTLS(pki.NewLiveCert(cert))
		c.ClientTLS = ca.MasterClientTLS(pki.NewLiveCert(cert))
	}
}

// TestMutualTLS replicates between two masters over mutual TLS, and a
// master with a certificate of another CA cannot take part.
func TestMutualTLS(t *testing.T) {
	logger := newTestLogger(t)
	ca, _ := pki.NewCA()
	other, _ := pki.NewCA()
	certOf := func(ca *pki.CA) tls.Certificate {
		c, err := ca.IssueMaster([]string{"127.0.0.1"})
		if err != nil {
			t.Fatal(err)
		}
		return c
	}
	m1, m2, intruder := newMaster(t, "m1", logger), newMaster(t, "m2", logger), newMaster(t, "x", logger)
	m1.start(true, withTLS(ca, certOf(ca)))
	leaderOf(t, m1)
	m2.start(false, withTLS(ca, certOf(ca)))
	if err := m1.node.AddVoter(ctxT(t), m2.id, m2.node.Addr()); err != nil {
		t.Fatal(err)
	}
	res, _ := applyOnLeader(t, putService("web", 1), m1, m2)
	mustOK(t, res, "put web")
	waitFor(t, "m2 to replicate over TLS", func() bool { return m2.store.Index() >= res.Index })

	// A stranger (another CA) cannot hand in votes or entries: with the
	// intruder as a third voter the cluster still commits through m1+m2,
	// but the intruder never receives anything.
	intruder.start(false, withTLS(other, certOf(other)))
	if err := m1.node.AddVoter(ctxT(t), intruder.id, intruder.node.Addr()); err != nil {
		t.Fatal(err)
	}
	res, _ = applyOnLeader(t, putService("api", 1), m1, m2)
	mustOK(t, res, "put api")
	time.Sleep(500 * time.Millisecond)
	if intruder.store.Index() != 0 {
		t.Fatalf("a master of another CA received state (index %d)", intruder.store.Index())
	}
}

func TestTLSConfigErrors(t *testing.T) {
	ca, _ := pki.NewCA()
	cert, _ := ca.IssueMaster([]string{"127.0.0.1"})
	cfg := Config{DataDir: t.TempDir(), NodeID: "x", BindAddr: "127.0.0.1:0", ServerTLS: ca.MasterServerTLS(pki.NewLiveCert(cert))}
	if n, err := Open(cfg, store.NewFSM(store.New(), nil)); err == nil {
		n.Shutdown()
		t.Fatal("Open accepted a server TLS config without a client one")
	}
	cfg.ClientTLS = ca.MasterClientTLS(pki.NewLiveCert(cert))
	cfg.BindAddr = "0.0.0.0:0"
	if n, err := Open(cfg, store.NewFSM(store.New(), nil)); err == nil || !strings.Contains(err.Error(), "advertise") {
		if n != nil {
			n.Shutdown()
		}
		t.Fatalf("Open on 0.0.0.0 without an advertise address: %v", err)
	}
}

// TestSeed starts a one-voter cluster from a state snapshot, as
// `orchd master restore` does, and refuses to seed over existing state.
func TestSeed(t *testing.T) {
	logger := newTestLogger(t)
	src := store.New()
	for i, name := range []string{"a", "b", "c"} {
		if res := src.Apply(uint64(10+i), putService(name, int32(i))); res.ErrorCode != "" {
			t.Fatal(res)
		}
	}
	snap := src.Snapshot()
	data, err := proto.MarshalOptions{Deterministic: true}.Marshal(snap)
	if err != nil {
		t.Fatal(err)
	}
	m := newMaster(t, "restored", logger)
	if has, err := HasState(m.dir); has || err != nil {
		t.Fatalf("HasState of an empty dir = %v, %v", has, err)
	}
	if err := Seed(m.dir, m.id, m.addr, snap.Index, data, logger); err != nil {
		t.Fatal(err)
	}
	if has, err := HasState(m.dir); !has || err != nil {
		t.Fatalf("HasState after Seed = %v, %v", has, err)
	}
	m.start(false, nil)
	if m.store.Index() != snap.Index {
		t.Fatalf("store index %d after Open, want %d from the seed", m.store.Index(), snap.Index)
	}
	leaderOf(t, m)
	res, err := m.node.Apply(ctxT(t), putService("d", 1))
	if err != nil {
		t.Fatal(err)
	}
	if res.Index <= snap.Index {
		t.Fatalf("first write at index %d, not after the seed's %d", res.Index, snap.Index)
	}
	servers, _ := m.node.Servers()
	if len(servers) != 1 || servers[0].ID != "restored" || servers[0].Address != m.addr {
		t.Fatalf("servers = %+v", servers)
	}
	if got := m.store.Service("default", "b"); !proto.Equal(got.GetSpec(), src.Service("default", "b").GetSpec()) {
		t.Fatalf("b = %v", got)
	}
	m.stop()
	if err := Seed(m.dir, m.id, m.addr, snap.Index, data, logger); !errors.Is(err, ErrExistingState) {
		t.Fatalf("Seed over existing state: %v", err)
	}
}

// TestHandshakeDeadline: a peer that connects and never sends a TLS
// handshake is dropped after the handshake timeout, and does not hold up
// a real master connecting meanwhile.
func TestHandshakeDeadline(t *testing.T) {
	layer, _, _ := newTestLayer(t)
	defer layer.Close()
	layer.handshakeTimeout = 300 * time.Millisecond

	silent, err := net.Dial("tcp", layer.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer silent.Close()
	accepted, err := layer.Accept()
	if err != nil {
		t.Fatal(err)
	}
	readErr := make(chan error, 1)
	go func() { _, err := accepted.Read(make([]byte, 1)); readErr <- err }()

	// A real peer connects while the silent one is being served.
	dialed := make(chan error, 1)
	go func() {
		c, err := layer.Dial(raft.ServerAddress(layer.Addr().String()), 5*time.Second)
		if err == nil {
			c.Close()
		}
		dialed <- err
	}()
	peerConn, err := layer.Accept()
	if err != nil {
		t.Fatal(err)
	}
	go func() { _, _ = peerConn.Read(make([]byte, 1)); peerConn.Close() }()
	if err := <-dialed; err != nil {
		t.Fatalf("a master could not connect while a silent peer was connected: %v", err)
	}

	select {
	case err := <-readErr:
		if err == nil || !strings.Contains(err.Error(), "handshake") {
			t.Fatalf("the silent peer's connection: %v, want a handshake error", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("the silent peer was not dropped after the handshake timeout")
	}
	_ = silent.SetReadDeadline(time.Now().Add(2 * time.Second))
	if _, err := silent.Read(make([]byte, 1)); !errors.Is(err, io.EOF) {
		t.Fatalf("the silent peer's socket: %v, want it closed by the master", err)
	}
}
