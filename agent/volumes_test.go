package agent

import (
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"github.com/orch-io/orch/agent/logs"

	orchpb "github.com/orch-io/orch/proto"
)

func volumeAssignment(id string, slot int32, bound ...*orchpb.Volume) *orchpb.Assignment {
	return &orchpb.Assignment{
		Replica: &orchpb.Replica{Id: id, Namespace: "default", Service: "db", Slot: slot},
		Spec: &orchpb.ServiceSpec{Name: "db", Namespace: "default", User: "1000:1000", Volumes: []*orchpb.VolumeMount{
			{Name: "data", MountPath: "/data", Type: orchpb.VolumePersistent},
			{Name: "cache", MountPath: "/cache", Type: orchpb.VolumeScratch},
		}},
		Volumes: bound,
	}
}

func binding(slot int32, index uint64) *orchpb.Volume {
	return &orchpb.Volume{Namespace: "default", Service: "db", Slot: slot, Name: "data", Node: "n1", CreateIndex: index}
}

// TestVolumeMounts: the persistent volume is the binding's directory under
// the volume dir, kept when the replica goes; the scratch one is the
// replica's own and goes with it; both are writable mounts, owned by the
// container's user.
func TestVolumeMounts(t *testing.T) {
	data, vols := t.TempDir(), t.TempDir()
	f := replicaFiles{dir: dataDir(data), logs: logs.New(filepath.Join(data, "logs")), volumes: vols}
	mounts, err := f.volumeMounts(volumeAssignment("r1", 2, binding(2, 42)))
	if err != nil {
		t.Fatal(err)
	}
	if len(mounts) != 2 {
		t.Fatalf("mounts %+v", mounts)
	}
	wantData := filepath.Join(vols, "default", "db.2", "data-42")
	if mounts[0].Source != wantData || mounts[0].Destination != "/data" || !strings.Contains(strings.Join(mounts[0].Options, ","), "rw") {
		t.Fatalf("persistent mount %+v, want %s at /data rw", mounts[0], wantData)
	}
	if mounts[1].Source != filepath.Join(data, "replicas", "r1.scratch", "cache") || mounts[1].Destination != "/cache" {
		t.Fatalf("scratch mount %+v", mounts[1])
	}
	if os.Geteuid() == 0 {
		info, err := os.Stat(wantData)
		if st, ok := info.Sys().(*syscall.Stat_t); err != nil || !ok || st.Uid != 1000 || st.Gid != 1000 {
			t.Fatalf("%s not owned by the container's user 1000:1000: %v %+v", wantData, err, info.Sys())
		}
	}
	if err := os.WriteFile(filepath.Join(wantData, "kept"), []byte("x"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := f.remove("r1", nil); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(wantData, "kept")); err != nil {
		t.Fatalf("the persistent volume lost its data with the replica: %v", err)
	}
	if _, err := os.Stat(mounts[1].Source); !os.IsNotExist(err) {
		t.Fatalf("the scratch volume outlived its replica: %v", err)
	}
	// Without a binding the container is not made (the worker retries).
	if _, err := f.volumeMounts(volumeAssignment("r2", 3)); err == nil || !strings.Contains(err.Error(), `volume "data"`) {
		t.Fatalf("no binding: %v", err)
	}
}

// TestVolumeKeeper: nothing is deleted before a set lists the volumes; then
// a directory neither listed nor mounted is deleted, a listed one is
// measured, and one a replica still mounts is kept.
func TestVolumeKeeper(t *testing.T) {
	vols := t.TempDir()
	rs := newReplicaSet(nil, slog.New(slog.DiscardHandler))
	k := newVolumeKeeper(vols, rs, slog.New(slog.DiscardHandler))
	mk := func(v *orchpb.Volume, size int) string {
		dir := filepath.Join(vols, filepath.FromSlash(v.RelDir()))
		if err := os.MkdirAll(dir, 0o700); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, "f"), make([]byte, size), 0o600); err != nil {
			t.Fatal(err)
		}
		return dir
	}
	kept, released, mounted := binding(1, 10), binding(2, 20), binding(3, 30)
	keptDir, releasedDir, mountedDir := mk(kept, 10000), mk(released, 10), mk(mounted, 10)
	k.pass()
	if _, err := os.Stat(releasedDir); err != nil {
		t.Fatalf("deleted before any set listed the volumes: %v", err)
	}
	// A set from a master that does not list volumes changes nothing.
	k.setListed(&orchpb.AssignmentSet{})
	k.pass()
	if _, err := os.Stat(releasedDir); err != nil {
		t.Fatalf("deleted on a set without a volume list: %v", err)
	}
	rs.workers["r3"] = &replicaWorker{asg: volumeAssignment("r3", 3, mounted)}
	k.setListed(&orchpb.AssignmentSet{VolumesListed: true, Volumes: []*orchpb.Volume{kept}})
	k.pass()
	if _, err := os.Stat(releasedDir); !os.IsNotExist(err) {
		t.Fatalf("a released volume's data is still there: %v", err)
	}
	if _, err := os.Stat(filepath.Dir(releasedDir)); !os.IsNotExist(err) {
		t.Fatalf("its empty slot directory is still there: %v", err)
	}
	if _, err := os.Stat(mountedDir); err != nil {
		t.Fatalf("a volume a replica still mounts was deleted: %v", err)
	}
	if _, err := os.Stat(keptDir); err != nil {
		t.Fatalf("a listed volume was deleted: %v", err)
	}
	if u := k.usage(); len(u) != 1 || u[0].GetCreateIndex() != 10 || u[0].GetSizeBytes() < 10000 {
		t.Fatalf("usage %v, want the listed volume's, at least 10000 bytes", u)
	}
	delete(rs.workers, "r3")
	k.pass()
	if _, err := os.Stat(mountedDir); !os.IsNotExist(err) {
		t.Fatalf("a released volume no replica mounts any more is still there: %v", err)
	}
}
