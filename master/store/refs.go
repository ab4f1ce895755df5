package store

import (
	"fmt"
	"slices"
	"strings"

	orchpb "github.com/orch-io/orch/proto"
	"google.golang.org/protobuf/proto"
)

// dataRef is one use of a secret or config by a spec: a mount (key "") or
// one environment variable, with the field path errors name. setVersion
// pins the version in the spec.
type dataRef struct {
	kind, name, key, field string
	setVersion             func(uint64)
}

// specRefs lists a spec's uses of secrets and configs in field order
// (environment variables by name, for a deterministic first error).
func specRefs(spec *orchpb.ServiceSpec) []dataRef {
	var refs []dataRef
	for i, m := range spec.GetSecrets() {
		refs = append(refs, dataRef{kindSecret, m.GetName(), "", fmt.Sprintf("spec.secrets[%d].name", i),
			func(v uint64) { m.Version = v }})
	}
	for i, m := range spec.GetConfigs() {
		refs = append(refs, dataRef{kindConfig, m.GetName(), "", fmt.Sprintf("spec.configs[%d].name", i),
			func(v uint64) { m.Version = v }})
	}
	vars := make([]string, 0, len(spec.GetEnvFrom()))
	for name := range spec.GetEnvFrom() {
		vars = append(vars, name)
	}
	slices.Sort(vars)
	for _, name := range vars {
		src := spec.EnvFrom[name]
		field := "spec.envFrom." + name
		switch {
		case src.GetSecret() != "":
			refs = append(refs, dataRef{kindSecret, src.GetSecret(), src.GetKey(), field + ".secret", func(v uint64) { src.Version = v }})
		default:
			refs = append(refs, dataRef{kindConfig, src.GetConfig(), src.GetKey(), field + ".config", func(v uint64) { src.Version = v }})
		}
	}
	return refs
}

// objectKeys returns the version and key names of a stored secret or
// config, or ok false when there is none.
func (s *Store) objectKeys(kind string, key svcKey) (version uint64, has func(string) bool, ok bool) {
	if kind == kindSecret {
		sec := s.secrets[key]
		if sec == nil {
			return 0, nil, false
		}
		return sec.Version, func(k string) bool { _, ok := sec.Data[k]; return ok }, true
	}
	cfg := s.configs[key]
	if cfg == nil {
		return 0, nil, false
	}
	return cfg.Version, func(k string) bool {
		_, inData := cfg.Data[k]
		_, inBinary := cfg.BinaryData[k]
		return inData || inBinary
	}, true
}

// pinRefs checks that everything spec uses exists and pins the current
// versions into spec (which the store owns). It returns the first problem
// as "FIELD: MESSAGE", or "".
func (s *Store) pinRefs(spec *orchpb.ServiceSpec) string {
	if field, msg := s.refProblem(spec, true); msg != "" {
		return field + ": " + msg
	}
	return ""
}

// RefProblem returns the first secret, config or key spec uses that does
// not exist, with its field path (spec.secrets[0].name), or "" "" when
// all do. It does not modify spec.
func (s *Store) RefProblem(spec *orchpb.ServiceSpec) (field, message string) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	return s.refProblem(spec, false)
}

func (s *Store) refProblem(spec *orchpb.ServiceSpec, pin bool) (field, message string) {
	for _, r := range specRefs(spec) {
		if r.name == "" {
			return r.field, "required"
		}
		version, has, ok := s.objectKeys(r.kind, svcKey{spec.GetNamespace(), r.name})
		if !ok {
			return r.field, fmt.Sprintf("%s %q not found in namespace %q", r.kind, r.name, spec.GetNamespace())
		}
		if r.key != "" && !has(r.key) {
			return envField(r.field) + ".key", fmt.Sprintf("%s %q has no key %q", r.kind, r.name, r.key)
		}
		if pin {
			r.setVersion(version)
		}
	}
	return "", ""
}

// envField turns spec.envFrom.NAME.secret into spec.envFrom.NAME.
func envField(field string) string {
	return strings.TrimSuffix(strings.TrimSuffix(field, ".secret"), ".config")
}

// users names the services whose current spec uses the object. The caller
// holds mu.
func (s *Store) users(kind string, key svcKey) []string {
	var out []string
	for k, svc := range s.services {
		if k.namespace != key.namespace {
			continue
		}
		for _, r := range specRefs(svc.GetSpec()) {
			if r.kind == kind && r.name == key.name {
				out = append(out, k.String())
				break
			}
		}
	}
	slices.Sort(out)
	return out
}

// keysStillUsed says which environment variable would lose its key if the
// object kept only keys; "" when none would.
func (s *Store) keysStillUsed(kind string, key svcKey, keys map[string][]byte) string {
	for _, user := range s.sortedServiceKeys(key.namespace) {
		for _, r := range specRefs(s.services[user].GetSpec()) {
			if r.kind != kind || r.name != key.name || r.key == "" {
				continue
			}
			if _, ok := keys[r.key]; !ok {
				return fmt.Sprintf("key %q is used by service %s (%s)", r.key, user, envField(r.field))
			}
		}
	}
	return ""
}

func (s *Store) sortedServiceKeys(namespace string) []svcKey {
	var out []svcKey
	for k := range s.services {
		if k.namespace == namespace {
			out = append(out, k)
		}
	}
	slices.SortFunc(out, svcKey.compare)
	return out
}

// reviseUsers makes a new revision of every service that uses the object
// just changed: the same spec with the new version pinned, which starts a
// rollout exactly as an apply of a changed spec does (health-gated, rolled
// back on failure).
func (s *Store) reviseUsers(index uint64, kind string, key svcKey) {
	for _, user := range s.users(kind, key) {
		ns, name, _ := strings.Cut(user, "/")
		svc := s.services[svcKey{ns, name}]
		spec := proto.Clone(svc.GetSpec()).(*orchpb.ServiceSpec)
		s.putService(index, &orchpb.PutService{Spec: spec})
	}
}
