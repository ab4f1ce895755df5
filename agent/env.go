package agent

import (
	"context"
	"errors"
	"log/slog"
	"net/netip"
	"os"
	"path/filepath"
	"time"

	specs "github.com/opencontainers/runtime-spec/specs-go"

	"github.com/orch-io/orch/agent/logs"
	"github.com/orch-io/orch/agent/runtime"
	"github.com/orch-io/orch/netoverlay"
	"github.com/orch-io/orch/netoverlay/dns"
	orchpb "github.com/orch-io/orch/proto"
)

// workerEnv is all of the node a replica worker may use. The agent builds
// it once its network is up and shares it among its workers; a worker
// holds nothing else of the agent. Every part is safe for concurrent use
// by many workers.
type workerEnv struct {
	runtime runtime.Runtime
	network replicaNetwork
	files   replicaFiles
	report  statusReporter
	log     *slog.Logger
	// now stamps starts and measures runs (for the restart backoff).
	now func() time.Time
	// devices are the paths this node advertised: the only ones a
	// container may be given, whatever an assignment says.
	devices []*orchpb.DeviceGroup
}

// replicaNetwork gives a replica its network namespace and address, and
// takes them away. Setup is idempotent: a restarted container gets the
// namespace and address it had.
type replicaNetwork interface {
	Setup(ctx context.Context, replicaID string) (netoverlay.Attachment, error)
	Teardown(ctx context.Context, replicaID string) error
}

// statusReporter carries workers' status changes to the masters.
type statusReporter interface {
	// changed says a status changed: a report follows soon, shared with
	// the changes around it. It never blocks.
	changed()
	// flush sends every status now, waiting at most a second, so that a
	// state about to be left reaches the masters instead of being
	// coalesced away.
	flush(ctx context.Context)
}

// replicaFiles are a replica's files on the node: its saved state, the
// resolv.conf and hosts the agent writes for it, and its output.
type replicaFiles struct {
	dir  dataDir
	logs *logs.Files
	// volumes is the root of the persistent volumes' directories.
	volumes string
	// dnsGateway is the address of the node's DNS server, which replicas'
	// resolv.conf names; without one (no overlay, or DNS disabled) it is
	// invalid and replicas keep their image's own files.
	dnsGateway netip.Addr
}

func (f replicaFiles) statePath(replicaID string) string { return f.dir.replicaState(replicaID) }

// logPath is where the shim appends the replica's output.
func (f replicaFiles) logPath(replicaID string) string { return f.logs.Path(replicaID) }

// mounts writes the replica's /etc/resolv.conf (pointing at the node's DNS
// server) and /etc/hosts, and returns the bind mounts that put them in the
// container.
func (f replicaFiles) mounts(rep *orchpb.Replica, ip netip.Addr) ([]specs.Mount, error) {
	if !f.dnsGateway.IsValid() {
		return nil, nil
	}
	dir := f.dir.replicaEtc(rep.GetId())
	files := map[string][]byte{
		"resolv.conf": dns.ResolvConf(f.dnsGateway, rep.GetNamespace(), ""),
		"hosts":       dns.Hosts(ip, rep.DisplayName(), dns.SlotName(int(rep.GetSlot()), rep.GetService(), rep.GetNamespace(), "")),
	}
	var mounts []specs.Mount
	for _, name := range []string{"resolv.conf", "hosts"} {
		path := filepath.Join(dir, name)
		if err := writeAtomic(path, files[name], 0o644); err != nil {
			return nil, err
		}
		mounts = append(mounts, specs.Mount{Destination: "/etc/" + name, Type: "bind", Source: path, Options: []string{"rbind", "ro"}})
	}
	return mounts, nil
}

// remove deletes the replica's files, and the output of its other
// containers (by container id).
func (f replicaFiles) remove(replicaID string, others []string) error {
	_ = os.Remove(f.statePath(replicaID))
	_ = os.RemoveAll(f.dir.replicaEtc(replicaID))
	_ = os.RemoveAll(f.dir.replicaScratch(replicaID))
	if err := f.removeDataMounts(replicaID); err != nil {
		return err
	}
	errs := []error{f.logs.Remove(replicaID)}
	for _, id := range others {
		errs = append(errs, f.logs.Remove(id))
	}
	return errors.Join(errs...)
}
