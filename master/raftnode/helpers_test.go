package raftnode

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"net"
	"sync"
	"testing"
	"time"

	"github.com/orch-io/orch/master/store"
	orchpb "github.com/orch-io/orch/proto"
	"google.golang.org/protobuf/proto"
)

// The deadlines below are generous on purpose: the tests share two cores
// with other work and run under -race; they poll, they never time things.
const patience = 30 * time.Second

// testLog collects every master's log and prints it only if the test fails.
type testLog struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (l *testLog) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.Write(p)
}

func newTestLogger(t *testing.T) *slog.Logger {
	l := &testLog{}
	t.Cleanup(func() {
		if t.Failed() {
			l.mu.Lock()
			t.Logf("log:\n%s", l.buf.String())
			l.mu.Unlock()
		}
	})
	return slog.New(slog.NewTextHandler(l, &slog.HandlerOptions{Level: slog.LevelInfo}))
}

type master struct {
	t      *testing.T
	id     string
	dir    string
	addr   string
	node   *Node
	store  *store.Store
	logger *slog.Logger
}

// handedOut are the ports freeAddr gave: the kernel may offer a port
// again once its probe listener closed, and a test that makes several
// masters before starting any would then give two of them the same one.
var handedOut sync.Map

// freeAddr finds a loopback port no other master of this process got;
// reopened masters keep theirs.
func freeAddr(t testing.TB) string {
	t.Helper()
	for {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		addr := l.Addr().String()
		l.Close()
		if _, taken := handedOut.LoadOrStore(addr, true); !taken {
			return addr
		}
	}
}

func newMaster(t *testing.T, id string, logger *slog.Logger) *master {
	return &master{t: t, id: id, dir: t.TempDir(), addr: freeAddr(t), logger: logger}
}

// start opens the master with an empty store, as a restarted process would.
func (m *master) start(bootstrap bool, tweak func(*Config)) {
	m.t.Helper()
	cfg := Config{DataDir: m.dir, BindAddr: m.addr, NodeID: m.id, Bootstrap: bootstrap, Logger: m.logger.With("master", m.id)}
	if tweak != nil {
		tweak(&cfg)
	}
	m.store = store.New()
	n, err := Open(cfg, store.NewFSM(m.store, m.logger))
	if err != nil {
		m.t.Fatalf("open %s: %v", m.id, err)
	}
	m.node = n
	m.t.Cleanup(func() { _ = n.Shutdown() })
}

func (m *master) stop() {
	m.t.Helper()
	if err := m.node.Shutdown(); err != nil {
		m.t.Fatalf("shutdown %s: %v", m.id, err)
	}
}

func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(patience)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %s waiting for %s", patience, what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func leaderOf(t *testing.T, ms ...*master) *master {
	t.Helper()
	var leader *master
	waitFor(t, "a leader", func() bool {
		for _, m := range ms {
			if m.node.IsLeader() {
				leader = m
				return true
			}
		}
		return false
	})
	return leader
}

// applyOnLeader applies cmd on whichever master leads, retrying while
// leadership moves (as the API's forwarding would).
func applyOnLeader(t *testing.T, cmd *orchpb.Command, ms ...*master) (*orchpb.CommandResult, *master) {
	t.Helper()
	deadline := time.Now().Add(patience)
	for {
		m := leaderOf(t, ms...)
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		res, err := m.node.Apply(ctx, cmd)
		cancel()
		if err == nil {
			return res, m
		}
		if !errors.Is(err, ErrNotLeader) || time.Now().After(deadline) {
			t.Fatalf("apply on %s: %v", m.id, err)
		}
	}
}

func putService(name string, replicas int32) *orchpb.Command {
	return &orchpb.Command{Op: &orchpb.Command_PutService{PutService: &orchpb.PutService{
		Spec: &orchpb.ServiceSpec{Kind: "Service", Namespace: "default", Name: name, Replicas: proto.Int32(replicas), Image: "img:" + name},
	}}}
}

// sameState fails unless two stores hold the same state at the same index.
func sameState(t *testing.T, a, b *store.Store) {
	t.Helper()
	sa, sb := a.Snapshot(), b.Snapshot()
	if !proto.Equal(sa, sb) {
		t.Fatalf("states differ:\n%v\n%v", sa, sb)
	}
}

func mustOK(t *testing.T, res *orchpb.CommandResult, what string) {
	t.Helper()
	if res.GetErrorCode() != "" {
		t.Fatalf("%s: %s: %s", what, res.ErrorCode, res.Error)
	}
}

func ctxT(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), patience)
	t.Cleanup(cancel)
	return ctx
}

func equalSnap(a, b *orchpb.StateSnapshot) bool { return proto.Equal(a, b) }
