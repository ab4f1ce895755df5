package agent

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"maps"
	"os"
	"path/filepath"
	"sync"
	"syscall"
	"time"

	specs "github.com/opencontainers/runtime-spec/specs-go"

	orchpb "github.com/orch-io/orch/proto"
)

// Volumes in a replica (docs/stateful.md). A persistent volume is a
// directory of the node's volume dir (--volume-dir, default DATA/volumes),
// NAMESPACE/SERVICE.SLOT/NAME-INDEX, named by its binding (Volume.RelDir):
// it outlives the replica, and a restarted agent or a new replica of the
// slot finds it there. A scratch volume is DATA/replicas/ID.scratch/NAME,
// removed with the replica. Both are bind-mounted read-write into the
// main container only.
//
// The data of a binding the masters released (forget, delete --volumes) is
// deleted once the assignment set no longer lists it and no replica of
// this node mounts it (volumeKeeper); the same pass measures what each
// volume uses, for `orchctl get volumes`.

// volumeMeasureInterval is how often volume sizes are measured (du walks
// every file, so not at every heartbeat).
const volumeMeasureInterval = 30 * time.Second

func (d dataDir) replicaScratch(replicaID string) string {
	return filepath.Join(string(d), "replicas", replicaID+".scratch")
}

// volumeMounts makes the replica's volume directories and returns their
// bind mounts, for the main container.
func (f replicaFiles) volumeMounts(asg *orchpb.Assignment) ([]specs.Mount, error) {
	spec, id := asg.GetSpec(), asg.GetReplica().GetId()
	uid, gid, chown := numericUser(spec.GetUser())
	var mounts []specs.Mount
	for _, m := range spec.GetVolumes() {
		var dir string
		if m.Persistent() {
			v := boundVolume(asg, m.GetName())
			if v == nil {
				return nil, fmt.Errorf("volume %q: no binding on this node (the masters did not send one)", m.GetName())
			}
			if f.volumes == "" {
				return nil, fmt.Errorf("volume %q: the agent has no volume dir", m.GetName())
			}
			dir = filepath.Join(f.volumes, filepath.FromSlash(v.RelDir()))
		} else {
			dir = filepath.Join(f.dir.replicaScratch(id), m.GetName())
		}
		if err := makeVolumeDir(dir, uid, gid, chown); err != nil {
			return nil, fmt.Errorf("volume %q: %w", m.GetName(), err)
		}
		mounts = append(mounts, specs.Mount{Destination: m.GetMountPath(), Type: "bind", Source: dir,
			Options: []string{"rbind", "rw", "nosuid", "nodev"}})
	}
	return mounts, nil
}

// makeVolumeDir creates dir (its parents 0700: only root walks the tree)
// and gives a new one to the container's user, so that a non-root
// process can write its data.
func makeVolumeDir(dir string, uid, gid int, chown bool) error {
	if _, err := os.Stat(dir); err == nil {
		return nil
	}
	if err := os.MkdirAll(filepath.Dir(dir), 0o700); err != nil {
		return err
	}
	if err := os.Mkdir(dir, 0o755); err != nil && !errors.Is(err, fs.ErrExist) {
		return err
	}
	if chown {
		return os.Chown(dir, uid, gid)
	}
	return nil
}

func boundVolume(asg *orchpb.Assignment, name string) *orchpb.Volume {
	for _, v := range asg.GetVolumes() {
		if v.GetName() == name {
			return v
		}
	}
	return nil
}

// volumeKeeper deletes released volumes' data and measures the others.
type volumeKeeper struct {
	root     string
	replicas *replicaSet
	log      *slog.Logger
	wake     chan struct{}

	mu     sync.Mutex
	listed map[string]uint64 // RelDir -> create_index, of the last set that listed them
	known  bool              // a set from a master listed the volumes
	sizes  []*orchpb.VolumeSize
}

func newVolumeKeeper(root string, replicas *replicaSet, log *slog.Logger) *volumeKeeper {
	return &volumeKeeper{root: root, replicas: replicas, log: log, wake: make(chan struct{}, 1)}
}

// setListed takes the volumes of a new assignment set; a change wakes the
// keeper at once.
func (k *volumeKeeper) setListed(set *orchpb.AssignmentSet) {
	if !set.GetVolumesListed() {
		return // from a master that does not list them: delete nothing
	}
	listed := make(map[string]uint64, len(set.GetVolumes()))
	for _, v := range set.GetVolumes() {
		listed[filepath.FromSlash(v.RelDir())] = v.GetCreateIndex()
	}
	k.mu.Lock()
	changed := !k.known || !maps.Equal(listed, k.listed)
	k.listed, k.known = listed, true
	k.mu.Unlock()
	if changed {
		select {
		case k.wake <- struct{}{}:
		default:
		}
	}
}

// usage is the last measured size of each listed volume.
func (k *volumeKeeper) usage() []*orchpb.VolumeSize {
	k.mu.Lock()
	defer k.mu.Unlock()
	return k.sizes
}

func (k *volumeKeeper) run(ctx context.Context) {
	tick := time.NewTicker(volumeMeasureInterval)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-k.wake:
		case <-tick.C:
		}
		k.pass()
	}
}

// pass deletes what is no longer listed nor mounted, and measures the rest.
func (k *volumeKeeper) pass() {
	// In this order: a directory found exists because a worker made it,
	// and that worker was registered before, so it is in inUse even when
	// its set came after listed was read.
	dirs, _ := filepath.Glob(filepath.Join(k.root, "*", "*", "*"))
	k.mu.Lock()
	listed, known := k.listed, k.known
	k.mu.Unlock()
	if !known {
		return
	}
	inUse := k.replicas.volumesInUse()
	sizes := make([]*orchpb.VolumeSize, 0, len(listed))
	for _, dir := range dirs {
		rel, err := filepath.Rel(k.root, dir)
		if err != nil {
			continue
		}
		if idx, ok := listed[rel]; ok {
			sizes = append(sizes, &orchpb.VolumeSize{CreateIndex: idx, SizeBytes: diskUsage(dir)})
			continue
		}
		if inUse[rel] {
			continue // released while its replica still stops
		}
		if err := os.RemoveAll(dir); err != nil {
			k.log.Warn("could not delete a released volume", "dir", dir, "err", err)
			continue
		}
		k.log.Info("deleted the data of a released volume", "dir", dir)
		// The slot's and the namespace's directories go once empty.
		_ = os.Remove(filepath.Dir(dir))
		_ = os.Remove(filepath.Dir(filepath.Dir(dir)))
	}
	k.mu.Lock()
	k.sizes = sizes
	k.mu.Unlock()
}

// diskUsage is what du says: the blocks the files under dir take.
func diskUsage(dir string) int64 {
	var total int64
	_ = filepath.WalkDir(dir, func(_ string, d fs.DirEntry, err error) error {
		if err != nil {
			return nil
		}
		if info, err := d.Info(); err == nil {
			total += allocated(info)
		}
		return nil
	})
	return total
}

// allocated is the disk space a file takes (st_blocks are 512 bytes).
func allocated(info fs.FileInfo) int64 {
	if st, ok := info.Sys().(*syscall.Stat_t); ok {
		return st.Blocks * 512
	}
	return info.Size()
}
