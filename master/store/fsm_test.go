package store

import (
	"bytes"
	"errors"
	"io"
	"testing"

	"github.com/hashicorp/raft"
	orchpb "github.com/orch-io/orch/proto"
	"google.golang.org/protobuf/proto"
)

func logOf(t *testing.T, index uint64, cmd *orchpb.Command) *raft.Log {
	t.Helper()
	data, err := proto.Marshal(cmd)
	if err != nil {
		t.Fatal(err)
	}
	return &raft.Log{Index: index, Term: 1, Type: raft.LogCommand, Data: data}
}

func TestFSMApply(t *testing.T) {
	s := New()
	f := NewFSM(s, nil)
	res, ok := f.Apply(logOf(t, 1, putService("default", "a", 1, "a"))).(*orchpb.CommandResult)
	if !ok || res.ErrorCode != "" || res.Index != 1 || s.Service("default", "a") == nil {
		t.Fatalf("apply: %v", res)
	}
	if got := f.Apply(&raft.Log{Index: 2, Type: raft.LogConfiguration, Data: []byte("x")}); got != nil || s.Index() != 1 {
		t.Fatalf("a configuration entry reached the store: %v, index %d", got, s.Index())
	}
	res = f.Apply(&raft.Log{Index: 3, Type: raft.LogCommand, Data: []byte{0xff, 0xff, 0xff}}).(*orchpb.CommandResult)
	if res.ErrorCode != orchpb.ResultInvalid || s.Index() != 3 {
		t.Fatalf("garbage command: %v, index %d", res, s.Index())
	}
	out := f.ApplyBatch([]*raft.Log{
		logOf(t, 4, putService("default", "b", 1, "b")),
		{Index: 5, Type: raft.LogConfiguration},
		logOf(t, 6, putService("default", "b", 1, "b")),
	})
	if len(out) != 3 || out[1] != nil || out[2].(*orchpb.CommandResult).Index != 6 || s.Service("default", "b").GetVersion() != 6 {
		t.Fatalf("batch: %v", out)
	}
}

type memSink struct {
	bytes.Buffer
	closed, cancelled bool
}

func (m *memSink) ID() string    { return "mem" }
func (m *memSink) Close() error  { m.closed = true; return nil }
func (m *memSink) Cancel() error { m.cancelled = true; return nil }

func TestFSMSnapshotRestore(t *testing.T) {
	s := New()
	f := NewFSM(s, nil)
	var index uint64
	apply := func(cmd *orchpb.Command) {
		index++
		if res := f.Apply(logOf(t, index, cmd)).(*orchpb.CommandResult); res.ErrorCode != "" {
			t.Fatalf("apply %d: %v", index, res)
		}
	}
	apply(registerNode("n1", "one", 1000, 1000))
	apply(putService("default", "web", 2, "web:1"))
	apply(putReplicas(replica("r1", "default", "web", 1, "n1", 100, 100)))
	snap, err := f.Snapshot()
	if err != nil {
		t.Fatal(err)
	}
	want := s.Snapshot()
	// Raft persists while later commands apply: the snapshot must still
	// hold the state at the moment it was taken.
	apply(putReplicas(replica("r2", "default", "web", 2, "n1", 100, 100)))
	apply(&orchpb.Command{Op: &orchpb.Command_DeleteService{DeleteService: &orchpb.DeleteService{Namespace: "default", Name: "web"}}})
	sink := &memSink{}
	if err := snap.Persist(sink); err != nil || !sink.closed {
		t.Fatalf("persist: %v (closed %v)", err, sink.closed)
	}
	snap.Release()

	r := New()
	if err := NewFSM(r, nil).Restore(io.NopCloser(&sink.Buffer)); err != nil {
		t.Fatal(err)
	}
	if got := r.Snapshot(); !proto.Equal(got, want) {
		t.Fatalf("restored %v\nwant %v", got, want)
	}
	if r.Index() != 3 || r.Replica("r2") != nil {
		t.Fatalf("restored at %d with r2 %v", r.Index(), r.Replica("r2"))
	}
	if err := NewFSM(New(), nil).Restore(io.NopCloser(bytes.NewReader([]byte{0xff}))); err == nil {
		t.Fatal("restoring garbage succeeded")
	}
}

type failingSink struct{ memSink }

func (f *failingSink) Write([]byte) (int, error) { return 0, errors.New("disk full") }

func TestFSMPersistCancelsOnError(t *testing.T) {
	s := New()
	mustApply(t, s, putService("default", "a", 1, "a"))
	snap, _ := NewFSM(s, nil).Snapshot()
	sink := &failingSink{}
	if err := snap.Persist(sink); err == nil || !sink.cancelled || sink.closed {
		t.Fatalf("persist to a failing sink: %v, cancelled %v, closed %v", err, sink.cancelled, sink.closed)
	}
}
