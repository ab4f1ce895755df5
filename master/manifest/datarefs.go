package manifest

import (
	"path"
	"strings"

	orchpb "github.com/orch-io/orch/proto"
)

// validateDataRefs checks the spec's uses of secrets, configs and volumes:
// names, mount paths (one namespace for all three) and environment variables. Whether the objects and keys
// exist is the store's to say (at the moment of the write).
func validateDataRefs(l *errorList, s *orchpb.ServiceSpec) {
	paths := map[string]string{}
	mount := func(field, name, mountPath string) {
		if name == "" {
			l.add(child(field, "name"), "required")
		} else if msg := dnsLabelProblem(name); msg != "" {
			l.add(child(field, "name"), "%s", msg)
		}
		p := child(field, "mountPath")
		switch {
		case mountPath == "":
			l.add(p, "required")
		case !strings.HasPrefix(mountPath, "/") || path.Clean(mountPath) != mountPath:
			l.add(p, "must be an absolute, clean path (like /run/secrets/db), not %q", mountPath)
		case mountPath == "/" || reservedMount(mountPath):
			l.add(p, "%s is not a place to mount into", mountPath)
		case paths[mountPath] != "":
			l.add(p, "%s is already mounted by %s", mountPath, paths[mountPath])
		default:
			paths[mountPath] = field
		}
	}
	for i, m := range s.GetSecrets() {
		mount(index("secrets", i), m.GetName(), m.GetMountPath())
	}
	for i, m := range s.GetConfigs() {
		mount(index("configs", i), m.GetName(), m.GetMountPath())
	}
	names := map[string]string{}
	for i, m := range s.GetVolumes() {
		field := index("volumes", i)
		mount(field, m.GetName(), m.GetMountPath())
		if prev := names[m.GetName()]; prev != "" && m.GetName() != "" {
			l.add(child(field, "name"), "volume %s is already declared by %s", m.GetName(), prev)
		}
		names[m.GetName()] = field
		switch m.GetType() {
		case "", orchpb.VolumePersistent, orchpb.VolumeScratch:
		default:
			l.add(child(field, "type"), "must be %s or %s, not %q", orchpb.VolumePersistent, orchpb.VolumeScratch, m.GetType())
		}
	}
	for _, name := range sortedKeys(s.GetEnvFrom()) {
		src := s.EnvFrom[name]
		p := key("envFrom", name)
		switch {
		case !isEnvName(name):
			l.add(p, "must be a variable name: letters, digits, '_', '-' and '.', not starting with a digit")
		case hasKey(s.GetEnv(), name):
			l.add(p, "%s is also set in env; set it in one place", name)
		case (src.GetSecret() == "") == (src.GetConfig() == ""):
			l.add(p, "name exactly one of secret or config")
		case src.GetKey() == "":
			l.add(child(p, "key"), "required")
		default:
			obj := src.GetSecret() + src.GetConfig()
			if msg := dnsLabelProblem(obj); msg != "" {
				l.add(child(p, map[bool]string{true: "secret", false: "config"}[src.GetSecret() != ""]), "%s", msg)
			}
		}
	}
}

func hasKey(m map[string]string, k string) bool {
	_, ok := m[k]
	return ok
}

// reservedMount: paths the agent itself mounts into every replica.
func reservedMount(p string) bool {
	switch p {
	case "/etc/resolv.conf", "/etc/hosts", "/proc", "/sys", "/dev":
		return true
	}
	return strings.HasPrefix(p, "/proc/") || strings.HasPrefix(p, "/sys/") || strings.HasPrefix(p, "/dev/")
}
