package agent

import (
	"errors"
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"

	orchpb "github.com/orch-io/orch/proto"
)

// Secrets and configs in a replica. The values arrive in the replica's
// assignment (only this node's stream carries them) and stay in memory;
// the saved assignment set is written without them (savedSet). A secret's
// files live on a tmpfs of their own under DATA/replicas/ID.secrets/N,
// mode 0400, bind-mounted read-only at its mountPath; a config's files are
// plain files under DATA/replicas/ID.configs/N, read-only. A restarted
// agent finds the tmpfs still mounted and the container still holding its
// mounts (adoption); removing the replica unmounts and deletes them.

// secretTmpfsSize bounds one secret's tmpfs; values are at most 512 KiB.
const secretTmpfsSize = "1m"

func (d dataDir) replicaSecrets(replicaID string) string {
	return filepath.Join(string(d), "replicas", replicaID+".secrets")
}

func (d dataDir) replicaConfigs(replicaID string) string {
	return filepath.Join(string(d), "replicas", replicaID+".configs")
}

// dataFor finds the values of one secret or config in the assignment.
func dataFor(asg *orchpb.Assignment, kind, name string) (map[string][]byte, error) {
	for _, d := range asg.GetSecretData() {
		if d.GetKind() == kind && d.GetName() == name {
			return d.GetData(), nil
		}
	}
	return nil, fmt.Errorf("%s %q is not available to this node (the masters could not send it)", kind, name)
}

// dataMounts writes the replica's secrets (on tmpfs) and configs, and
// returns their bind mounts and the environment its envFrom asks for.
func (f replicaFiles) dataMounts(asg *orchpb.Assignment) ([]specs.Mount, map[string]string, error) {
	spec, id := asg.GetSpec(), asg.GetReplica().GetId()
	uid, gid, chown := numericUser(spec.GetUser())
	var mounts []specs.Mount
	for i, m := range spec.GetSecrets() {
		data, err := dataFor(asg, "secret", m.GetName())
		if err != nil {
			return nil, nil, err
		}
		dir := filepath.Join(f.dir.replicaSecrets(id), strconv.Itoa(i))
		if err := mountTmpfs(dir); err != nil {
			return nil, nil, fmt.Errorf("secret %q: %w", m.GetName(), err)
		}
		if err := writeDataFiles(dir, data, 0o400, uid, gid, chown); err != nil {
			return nil, nil, fmt.Errorf("secret %q: %w", m.GetName(), err)
		}
		mounts = append(mounts, specs.Mount{Destination: m.GetMountPath(), Type: "bind", Source: dir, Options: []string{"rbind", "ro", "nosuid", "nodev", "noexec"}})
	}
	for i, m := range spec.GetConfigs() {
		data, err := dataFor(asg, "config", m.GetName())
		if err != nil {
			return nil, nil, err
		}
		dir := filepath.Join(f.dir.replicaConfigs(id), strconv.Itoa(i))
		if err := os.RemoveAll(dir); err != nil {
			return nil, nil, fmt.Errorf("config %q: %w", m.GetName(), err)
		}
		if err := writeDataFiles(dir, data, 0o444, 0, 0, false); err != nil {
			return nil, nil, fmt.Errorf("config %q: %w", m.GetName(), err)
		}
		mounts = append(mounts, specs.Mount{Destination: m.GetMountPath(), Type: "bind", Source: dir, Options: []string{"rbind", "ro", "nosuid", "nodev", "noexec"}})
	}
	env, err := envFrom(asg)
	return mounts, env, err
}

// envFrom resolves the spec's envFrom variables.
func envFrom(asg *orchpb.Assignment) (map[string]string, error) {
	srcs := asg.GetSpec().GetEnvFrom()
	if len(srcs) == 0 {
		return nil, nil
	}
	env := make(map[string]string, len(srcs))
	for name, src := range srcs {
		kind, obj := "secret", src.GetSecret()
		if obj == "" {
			kind, obj = "config", src.GetConfig()
		}
		data, err := dataFor(asg, kind, obj)
		if err != nil {
			return nil, err
		}
		v, ok := data[src.GetKey()]
		if !ok {
			return nil, fmt.Errorf("envFrom.%s: %s %q has no key %q", name, kind, obj, src.GetKey())
		}
		env[name] = string(v)
	}
	return env, nil
}

// withEnv is the spec's env plus envFrom's, in a new map.
func withEnv(base, extra map[string]string) map[string]string {
	if len(extra) == 0 {
		return base
	}
	out := make(map[string]string, len(base)+len(extra))
	maps.Copy(out, base)
	maps.Copy(out, extra)
	return out
}

// numericUser reads UID[:GID]: a secret's files belong to the user the
// container runs as, so that mode 0400 lets it read them. A user given by
// name keeps them root's (names are resolved inside the image).
func numericUser(user string) (uid, gid int, ok bool) {
	if user == "" {
		return 0, 0, false
	}
	u, g, hasGroup := strings.Cut(user, ":")
	uid, err := strconv.Atoi(u)
	if err != nil {
		return 0, 0, false
	}
	gid = uid
	if hasGroup {
		if gid, err = strconv.Atoi(g); err != nil {
			return 0, 0, false
		}
	}
	return uid, gid, true
}

// mountTmpfs makes dir a fresh, empty tmpfs (never swapped to disk... as far
// as the kernel's tmpfs goes: a node with swap may page it out).
func mountTmpfs(dir string) error {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return err
	}
	unmountAll(dir)
	opts := "mode=0755,size=" + secretTmpfsSize
	if err := unix.Mount("tmpfs", dir, "tmpfs", unix.MS_NOSUID|unix.MS_NODEV|unix.MS_NOEXEC, opts); err != nil {
		return fmt.Errorf("mount tmpfs on %s: %w", dir, err)
	}
	return nil
}

// unmountAll removes every mount stacked on dir.
func unmountAll(dir string) {
	for range 8 {
		if err := unix.Unmount(dir, unix.MNT_DETACH); err != nil {
			return
		}
	}
}

func writeDataFiles(dir string, data map[string][]byte, mode os.FileMode, uid, gid int, chown bool) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	for k, v := range data {
		if strings.ContainsAny(k, "/\x00") || k == "." || k == ".." {
			return fmt.Errorf("key %q is not a file name", k)
		}
		path := filepath.Join(dir, k)
		if err := os.WriteFile(path, v, mode); err != nil {
			return err
		}
		// WriteFile keeps an existing file's mode and umask trims a new one's.
		if err := os.Chmod(path, mode); err != nil {
			return err
		}
		if chown {
			if err := os.Chown(path, uid, gid); err != nil {
				return err
			}
		}
	}
	return nil
}

// removeDataMounts unmounts and deletes the replica's secrets and configs.
func (f replicaFiles) removeDataMounts(replicaID string) error {
	var errs []error
	root := f.dir.replicaSecrets(replicaID)
	entries, _ := os.ReadDir(root)
	for _, e := range entries {
		unmountAll(filepath.Join(root, e.Name()))
	}
	for _, dir := range []string{root, f.dir.replicaConfigs(replicaID)} {
		if err := os.RemoveAll(dir); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

// savedSet is the set as written to DATA/assignments.pb: without the
// values of secrets and configs, which never touch the agent's disk
// outside tmpfs.
func savedSet(set *orchpb.AssignmentSet) *orchpb.AssignmentSet {
	has := false
	for _, a := range set.GetAssignments() {
		has = has || len(a.GetSecretData()) > 0
	}
	if !has {
		return set
	}
	out := &orchpb.AssignmentSet{Index: set.Index, NodeId: set.NodeId, Peers: set.Peers, Volumes: set.Volumes, VolumesListed: set.VolumesListed}
	for _, a := range set.GetAssignments() {
		out.Assignments = append(out.Assignments, &orchpb.Assignment{Replica: a.Replica, Spec: a.Spec, Volumes: a.Volumes, Started: a.Started})
	}
	return out
}

// CleanupSecretMounts unmounts and removes the secrets' tmpfs of every
// replica under the agent's data dir: for `orchd dev --cleanup` and an
// operator taking a node apart, after the containers are gone.
func CleanupSecretMounts(dataDir string) error {
	dirs, err := filepath.Glob(filepath.Join(dataDir, "replicas", "*.secrets"))
	if err != nil {
		return err
	}
	var errs []error
	for _, root := range dirs {
		entries, _ := os.ReadDir(root)
		for _, e := range entries {
			unmountAll(filepath.Join(root, e.Name()))
		}
		if err := os.RemoveAll(root); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}
