package integration

import (
	"context"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/orch-io/orch/api/client"
	orchpb "github.com/orch-io/orch/proto"
)

const volumesYAML = `
kind: Service
name: db
replicas: 1
image: orch.local/hello:1
args: ["--port=8080"]
env: {REVISION: "%d"}
volumes:
  - {name: data, mountPath: /data}
  - {name: cache, mountPath: /cache, type: scratch}
update: {minHealthy: 1s}
stopGracePeriod: 1s
`

// TestVolumes: a slot's persistent volume keeps what the replica wrote
// across a crash, an update, a rollback, a delete and re-apply, and a
// kill -9 and restart of orchd; a scratch volume is new with each
// replica; get volumes shows the binding and its usage; delete --volumes
// deletes the data.
func TestVolumes(t *testing.T) {
	d := startDevCluster(t)
	d.loadHello()
	ctx := context.Background()
	d.apply(fmt.Sprintf(volumesYAML, 1))
	rep := d.running("db", 1)[0]
	d.write(rep, "/data/kept", "precious")
	d.write(rep, "/cache/tmp", "scratch")

	vols, err := d.api.ListVolumes(ctx, "default")
	if err != nil || len(vols) != 1 || vols[0].DisplayName() != "db.1/data" || vols[0].GetNode() != rep.GetNode() ||
		vols[0].GetState() != orchpb.VolumeInUse {
		t.Fatalf("volumes %v (%v), want db.1/data in use on the replica's node", vols, err)
	}
	dir := filepath.Join(d.dataDir, "agent", "volumes", filepath.FromSlash(vols[0].RelDir()))
	if data, err := os.ReadFile(filepath.Join(dir, "kept")); err != nil || string(data) != "precious" {
		t.Fatalf("the volume's directory %s: %q %v", dir, data, err)
	}

	d.volumeSurvivesReplacement(t, rep)

	// Deleting the service keeps the volume; applying it again reuses it.
	if out, errOut, code := d.orchctl(t, "delete", "service", "db"); code != 0 || !strings.Contains(out, "deleted") {
		t.Fatalf("delete: exit %d: %s %s", code, out, errOut)
	}
	d.eventually("the service's replicas are gone", func() error {
		reps, _, err := d.api.ListReplicas(ctx, client.ReplicaFilter{Namespace: "default", Service: "db"})
		if err != nil || len(reps) > 0 {
			return fmt.Errorf("replicas %v (%v)", summary(reps), err)
		}
		return nil
	})
	out, _, code := d.orchctl(t, "get", "volumes")
	if code != 0 || !strings.Contains(out, "db.1/data") || !strings.Contains(out, "idle") {
		t.Fatalf("get volumes after delete: exit %d:\n%s", code, out)
	}
	d.apply(fmt.Sprintf(volumesYAML, 3))
	again := d.running("db", 1)[0]
	d.replicaSees(again.GetIp(), "/file?path=/data/kept", "precious-2")

	// kill -9 and start of orchd: the replica is adopted, its volume too.
	pid := d.tasks()[again.GetId()]
	d.kill9()
	d.start()
	if after := d.tasks()[again.GetId()]; after != pid || pid == 0 {
		t.Fatalf("task of %s: pid %d before the restart, %d after", again.GetId(), pid, after)
	}
	d.write(again, "/data/after-restart", "yes")
	d.replicaSees(again.GetIp(), "/file?path=/data/kept", "precious-2")
	d.drainNamesPinnedSlot(t, again)

	// Usage is measured (at most every 30 s) and shown.
	d.eventually("get volumes shows the volume's usage", func() error {
		vols, err := d.api.ListVolumes(ctx, "")
		if err != nil || len(vols) != 1 || vols[0].GetSizeBytes() == 0 {
			return fmt.Errorf("volumes %v (%v)", vols, err)
		}
		return nil
	})

	// delete --volumes deletes the binding and, on the node, the data.
	if out, errOut, code := d.orchctl(t, "delete", "service", "db", "--volumes"); code != 0 || !strings.Contains(out, "with its volumes") {
		t.Fatalf("delete --volumes: exit %d: %s %s", code, out, errOut)
	}
	if vols, err := d.api.ListVolumes(ctx, ""); err != nil || len(vols) != 0 {
		t.Fatalf("volumes after delete --volumes: %v (%v)", vols, err)
	}
	d.eventually("the volume's data is deleted", func() error {
		if _, err := os.Stat(dir); !os.IsNotExist(err) {
			return fmt.Errorf("%s: %v", dir, err)
		}
		return nil
	})
}

// volumeSurvivesReplacement: a crash (same replica), an update and a
// rollback (new replicas) all find the slot's data; scratch is new with
// each replica.
func (d *devCluster) volumeSurvivesReplacement(t *testing.T, rep *orchpb.Replica) {
	ctx := context.Background()
	// A crash restarts the container of the same replica: same volume.
	if _, err := httpGet("http://" + rep.GetIp() + ":8080/crash"); err != nil && !strings.Contains(err.Error(), "EOF") {
		t.Logf("crash: %v", err)
	}
	d.eventually("the replica restarted after its crash", func() error {
		r, err := d.api.GetReplica(ctx, rep.GetId(), "")
		if err != nil || r.GetRestarts() == 0 || r.Observed() != orchpb.ReplicaRunning {
			return fmt.Errorf("replica %v (%v)", r, err)
		}
		return nil
	})
	d.replicaSees(rep.GetIp(), "/file?path=/data/kept", "precious")

	// An update replaces the replica: the volume stays, scratch is new.
	d.apply(fmt.Sprintf(volumesYAML, 2))
	updated := d.revision("db", "2")
	d.replicaSees(updated.GetIp(), "/file?path=/data/kept", "precious")
	if _, err := httpGet("http://" + updated.GetIp() + ":8080/file?path=/cache/tmp"); err == nil || !strings.Contains(err.Error(), "404") {
		t.Fatalf("the new replica's scratch volume holds the old one's file: %v", err)
	}
	d.write(updated, "/data/kept", "precious-2")

	if _, errOut, code := d.orchctl(t, "rollback", "service", "db"); code != 0 {
		t.Fatalf("rollback: exit %d: %s", code, errOut)
	}
	rolled := d.revision("db", "1")
	d.replicaSees(rolled.GetIp(), "/file?path=/data/kept", "precious-2")

}

// drainNamesPinnedSlot: a drain of the node holding the volume ends, with
// an error naming the slot that cannot move, and leaves its replica
// running; uncordon makes the node schedulable again.
func (d *devCluster) drainNamesPinnedSlot(t *testing.T, rep *orchpb.Replica) {
	nodes, _, err := d.api.ListNodes(context.Background())
	if err != nil || len(nodes) != 1 {
		t.Fatalf("nodes %v (%v)", nodes, err)
	}
	name := nodes[0].GetName()
	_, errOut, code := d.orchctl(t, "node", "drain", name, "--timeout", "2m")
	if code == 0 || !strings.Contains(errOut, "cannot move") || !strings.Contains(errOut, "default/db.1 (volume data)") {
		t.Fatalf("drain of the volume's node: exit %d: %s", code, errOut)
	}
	if got := d.running("db", 1)[0]; got.GetId() != rep.GetId() {
		t.Fatalf("the drain replaced %s by %s", rep.GetId(), got.GetId())
	}
	if _, errOut, code := d.orchctl(t, "node", "uncordon", name); code != 0 {
		t.Fatalf("uncordon: exit %d: %s", code, errOut)
	}
}

// write has the replica write data to path (on one of its volumes).
func (d *devCluster) write(rep *orchpb.Replica, path, data string) {
	d.t.Helper()
	q := url.Values{"path": {path}, "data": {data}}
	d.eventually("the replica writes "+path, func() error {
		_, err := httpGet("http://" + rep.GetIp() + ":8080/write?" + q.Encode())
		return err
	})
}

// revision waits until the service's one replica runs the spec whose
// REVISION is rev (and nothing else of it runs), and returns it.
func (d *devCluster) revision(service, rev string) *orchpb.Replica {
	d.t.Helper()
	var out *orchpb.Replica
	d.eventually(fmt.Sprintf("%s runs revision %s alone", service, rev), func() error {
		reps := d.running(service, 1)
		if got := reps[0].GetSpec().GetEnv()["REVISION"]; got != rev {
			return fmt.Errorf("revision %s", got)
		}
		out = reps[0]
		return nil
	})
	return out
}
