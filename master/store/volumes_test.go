package store

import (
	"strings"
	"testing"

	orchpb "github.com/orch-io/orch/proto"
)

func putServiceWithVolumes(ns, name string, replicas int32) *orchpb.Command {
	cmd := putService(ns, name, replicas, "img")
	cmd.GetPutService().Spec.Volumes = []*orchpb.VolumeMount{
		{Name: "data", MountPath: "/data", Type: orchpb.VolumePersistent},
		{Name: "tmp", MountPath: "/tmp", Type: orchpb.VolumeScratch},
	}
	return cmd
}

func deleteVolumes(c *orchpb.DeleteVolumes) *orchpb.Command {
	return &orchpb.Command{Op: &orchpb.Command_DeleteVolumes{DeleteVolumes: c}}
}

// TestVolumeBinding: the first placement of a slot binds its persistent
// volumes (never its scratch ones) to the node in the same command; a later
// placement of the slot elsewhere is refused, on the same node accepted;
// the binding outlives the replica and the service, and survives a
// snapshot.
func TestVolumeBinding(t *testing.T) {
	s := New()
	mustApply(t, s, registerNode("n1", "node1", 4000, 1<<30))
	mustApply(t, s, registerNode("n2", "node2", 4000, 1<<30))
	mustApply(t, s, putServiceWithVolumes("default", "db", 2))
	mustApply(t, s, putReplicas(replica("r1", "default", "db", 1, "n1", 0, 0), replica("r2", "default", "db", 2, "", 0, 0)))
	vs := s.Volumes("")
	if len(vs) != 1 || vs[0].GetNode() != "n1" || vs[0].DisplayName() != "db.1/data" || vs[0].GetCreateIndex() == 0 {
		t.Fatalf("volumes after the first placement: %v", vs)
	}
	// A new replica of slot 1 elsewhere is refused, naming the node.
	res := mustApply(t, s, putReplicas(replica("r3", "default", "db", 1, "n2", 0, 0)))
	if why := res.Rejected["r3"]; !strings.Contains(why, "holds volume data on node node1") {
		t.Fatalf("placement elsewhere: rejected %q", why)
	}
	if res := mustApply(t, s, putReplicas(replica("r3", "default", "db", 1, "n1", 0, 0))); len(res.Rejected) > 0 {
		t.Fatalf("placement on the volume's node rejected: %v", res.Rejected)
	}
	// Forget is refused while a replica of the slot runs on the node.
	res = s.Apply(s.Index()+1, deleteVolumes(&orchpb.DeleteVolumes{Namespace: "default", Service: "db", Slot: 1, Name: "data"}))
	if res.ErrorCode != orchpb.ResultConflict || !strings.Contains(res.Error, "stop the slot first") {
		t.Fatalf("forget of a volume in use: %s %s", res.ErrorCode, res.Error)
	}
	// Deleting the service keeps the binding; a whole-service delete of
	// volumes waits for the service to be gone.
	res = s.Apply(s.Index()+1, deleteVolumes(&orchpb.DeleteVolumes{Namespace: "default", Service: "db"}))
	if res.ErrorCode != orchpb.ResultConflict {
		t.Fatalf("delete volumes of a live service: %s %s", res.ErrorCode, res.Error)
	}
	mustApply(t, s, &orchpb.Command{Op: &orchpb.Command_DeleteService{DeleteService: &orchpb.DeleteService{Namespace: "default", Name: "db"}}})
	if vs := s.Volumes("default"); len(vs) != 1 {
		t.Fatalf("volumes after deleting the service: %v", vs)
	}
	back := assertRoundTrip(t, s)
	if vs := back.Volumes(""); len(vs) != 1 || vs[0].GetNode() != "n1" {
		t.Fatalf("volumes after restore: %v", vs)
	}
	mustApply(t, s, deleteVolumes(&orchpb.DeleteVolumes{Namespace: "default", Service: "db"}))
	if vs := s.Volumes(""); len(vs) != 0 {
		t.Fatalf("volumes after delete --volumes: %v", vs)
	}
}

// TestVolumeForgetRebinds: after a forget the slot is placed anywhere and
// bound anew, with a new identity (so a new, empty directory).
func TestVolumeForgetRebinds(t *testing.T) {
	s := New()
	mustApply(t, s, registerNode("n1", "node1", 4000, 1<<30))
	mustApply(t, s, registerNode("n2", "node2", 4000, 1<<30))
	mustApply(t, s, putServiceWithVolumes("default", "db", 1))
	mustApply(t, s, putReplicas(replica("r1", "default", "db", 1, "n1", 0, 0)))
	first := s.Volumes("")[0]
	// The node is lost: the replica is stopped (as the node controller does).
	stopped := replica("r1", "default", "db", 1, "n1", 0, 0)
	stopped.SetDesired(orchpb.DesiredStopped)
	mustApply(t, s, putReplicas(stopped))
	res := s.Apply(s.Index()+1, deleteVolumes(&orchpb.DeleteVolumes{Namespace: "default", Service: "db", Slot: 1, Name: "data", IfNode: "n2"}))
	if res.ErrorCode != orchpb.ResultConflict {
		t.Fatalf("forget with the wrong node: %s %s", res.ErrorCode, res.Error)
	}
	mustApply(t, s, deleteVolumes(&orchpb.DeleteVolumes{Namespace: "default", Service: "db", Slot: 1, Name: "data", IfNode: "n1"}))
	if res := mustApply(t, s, putReplicas(replica("r2", "default", "db", 1, "n2", 0, 0))); len(res.Rejected) > 0 {
		t.Fatalf("placement after forget rejected: %v", res.Rejected)
	}
	vs := s.Volumes("")
	if len(vs) != 1 || vs[0].GetNode() != "n2" || vs[0].GetCreateIndex() == first.GetCreateIndex() || vs[0].RelDir() == first.RelDir() {
		t.Fatalf("rebound volume %v, first %v", vs, first)
	}
	res = s.Apply(s.Index()+1, deleteVolumes(&orchpb.DeleteVolumes{Namespace: "default", Service: "db", Slot: 9, Name: "data"}))
	if res.ErrorCode != orchpb.ResultNotFound || !strings.Contains(res.Error, "db.9/data") {
		t.Fatalf("forget of an unknown volume: %s %s", res.ErrorCode, res.Error)
	}
}

// TestVolumeUsage: a node's report changes only its own volumes, and only
// a changed size is news.
func TestVolumeUsage(t *testing.T) {
	s := New()
	mustApply(t, s, registerNode("n1", "node1", 4000, 1<<30))
	mustApply(t, s, putServiceWithVolumes("default", "db", 1))
	mustApply(t, s, putReplicas(replica("r1", "default", "db", 1, "n1", 0, 0)))
	id := s.Volumes("")[0].GetCreateIndex()
	sized := func(size int64) []*orchpb.VolumeSize { return []*orchpb.VolumeSize{{CreateIndex: id, SizeBytes: size}} }
	if !s.VolumeUsageIsNews("n1", sized(4096)) || s.VolumeUsageIsNews("n2", sized(4096)) {
		t.Fatal("news: want true for the holder, false for another node")
	}
	report := func(node string, size int64) *orchpb.Command {
		return &orchpb.Command{Op: &orchpb.Command_ReportVolumeUsage{ReportVolumeUsage: &orchpb.ReportVolumeUsage{
			NodeId: node, Sizes: sized(size)}}}
	}
	mustApply(t, s, report("n2", 1))
	mustApply(t, s, report("n1", 4096))
	if got := s.Volumes("")[0].GetSizeBytes(); got != 4096 {
		t.Fatalf("size %d, want 4096", got)
	}
	if s.VolumeUsageIsNews("n1", sized(4096)) {
		t.Fatal("an unchanged size is news")
	}
	// A restored store finds the volume by its index too.
	back := assertRoundTrip(t, s)
	if !back.VolumeUsageIsNews("n1", sized(8192)) || back.VolumeUsageIsNews("n1", sized(4096)) {
		t.Fatal("news after a restore: want true for a new size only")
	}
}

// TestVolumesWaitForTheProtocol: during an upgrade from v0.1.0 nothing is
// bound (an old master would not bind) and the volume commands fail as an
// old master fails them.
func TestVolumesWaitForTheProtocol(t *testing.T) {
	s := New()
	mustApply(t, s, &orchpb.Command{Op: &orchpb.Command_PutMaster{PutMaster: &orchpb.PutMaster{Master: &orchpb.Master{Id: "m-old"}}}})
	mustApply(t, s, registerNode("n1", "node1", 4000, 1<<30))
	mustApply(t, s, putServiceWithVolumes("default", "db", 1))
	mustApply(t, s, putReplicas(replica("r1", "default", "db", 1, "n1", 0, 0)))
	if vs := s.Volumes(""); len(vs) != 0 {
		t.Fatalf("bound at an old protocol: %v", vs)
	}
	res := s.Apply(s.Index()+1, deleteVolumes(&orchpb.DeleteVolumes{Namespace: "default", Service: "db", Slot: 1, Name: "data"}))
	if res.ErrorCode != orchpb.ResultInvalid {
		t.Fatalf("delete volumes at an old protocol: %s %s", res.ErrorCode, res.Error)
	}
}
