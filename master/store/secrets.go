package store

import (
	"maps"
	"slices"
	"strings"

	"github.com/orch-io/orch/master/seal"
	orchpb "github.com/orch-io/orch/proto"
	"google.golang.org/protobuf/proto"
)

// Secrets and configs: named sets of values that services mount as files
// and read into their environment. A secret's values are stored sealed
// (the API seals them before proposing; the FSM checks that they are, and
// never sees a plain value). No watch events: a secret's change shows as
// the rollout of the services that use it, which is what watchers act on.
// Each object keeps its values of before its last change, so that rolling
// a service back finds what its previous revision ran.

const (
	kindSecret = "secret"
	kindConfig = "config"
)

func (s *Store) putSecret(index uint64, c *orchpb.PutSecret) *orchpb.CommandResult {
	sec := c.GetSecret()
	if sec.GetNamespace() == "" || sec.GetName() == "" {
		return fail(index, orchpb.ResultInvalid, "put secret: needs namespace and name")
	}
	key := svcKey{sec.Namespace, sec.Name}
	for _, k := range slices.Sorted(maps.Keys(sec.GetData())) {
		// A plain value must never reach the log: refusing here keeps a bug
		// of the API from storing one.
		if seal.KeyIDOf(sec.Data[k]) == "" {
			return fail(index, orchpb.ResultInvalid, "put secret %s: value of key %q is not sealed", key, k)
		}
	}
	if sec.GetDigest() == "" {
		return fail(index, orchpb.ResultInvalid, "put secret %s: digest is required", key)
	}
	old := s.secrets[key]
	if c.IfMatch != nil && c.GetIfMatch() != old.GetVersion() {
		return conflict(index, "secret", key.String(), c.GetIfMatch(), old.GetVersion())
	}
	if old != nil && old.GetDigest() == sec.GetDigest() {
		return &orchpb.CommandResult{} // the same values: nothing changes, nothing rolls
	}
	if msg := s.keysStillUsed(kindSecret, key, sec.GetData()); msg != "" {
		return fail(index, orchpb.ResultConflict, "put secret %s: %s", key, msg)
	}
	sec.Version = index
	sec.CreateIndex = index
	sec.PreviousData, sec.PreviousVersion = nil, 0
	if old != nil {
		sec.CreateIndex = old.GetCreateIndex()
		sec.PreviousData, sec.PreviousVersion = old.GetData(), old.GetVersion()
	}
	s.secrets[key] = sec
	s.reviseUsers(index, kindSecret, key)
	return &orchpb.CommandResult{}
}

func (s *Store) putConfig(index uint64, c *orchpb.PutConfig) *orchpb.CommandResult {
	cfg := c.GetConfig()
	if cfg.GetNamespace() == "" || cfg.GetName() == "" {
		return fail(index, orchpb.ResultInvalid, "put config: needs namespace and name")
	}
	key := svcKey{cfg.Namespace, cfg.Name}
	old := s.configs[key]
	if c.IfMatch != nil && c.GetIfMatch() != old.GetVersion() {
		return conflict(index, "config", key.String(), c.GetIfMatch(), old.GetVersion())
	}
	if old != nil && maps.Equal(old.GetData(), cfg.GetData()) &&
		maps.EqualFunc(old.GetBinaryData(), cfg.GetBinaryData(), func(a, b []byte) bool { return string(a) == string(b) }) {
		return &orchpb.CommandResult{}
	}
	keys := map[string][]byte{}
	for k := range cfg.GetData() {
		keys[k] = nil
	}
	for k := range cfg.GetBinaryData() {
		keys[k] = nil
	}
	if msg := s.keysStillUsed(kindConfig, key, keys); msg != "" {
		return fail(index, orchpb.ResultConflict, "put config %s: %s", key, msg)
	}
	cfg.Version = index
	cfg.CreateIndex = index
	cfg.Previous = nil
	if old != nil {
		cfg.CreateIndex = old.GetCreateIndex()
		prev := proto.Clone(old).(*orchpb.Config)
		prev.Previous = nil
		cfg.Previous = prev
	}
	s.configs[key] = cfg
	s.reviseUsers(index, kindConfig, key)
	return &orchpb.CommandResult{}
}

func (s *Store) deleteSecret(index uint64, c *orchpb.DeleteSecret) *orchpb.CommandResult {
	key := svcKey{c.GetNamespace(), c.GetName()}
	if s.secrets[key] == nil {
		return fail(index, orchpb.ResultNotFound, "secret %s not found", key)
	}
	if users := s.users(kindSecret, key); len(users) > 0 {
		return fail(index, orchpb.ResultConflict, "secret %s is used by %s; remove it from their specs first", key, strings.Join(users, ", "))
	}
	delete(s.secrets, key)
	return &orchpb.CommandResult{}
}

func (s *Store) deleteConfig(index uint64, c *orchpb.DeleteConfig) *orchpb.CommandResult {
	key := svcKey{c.GetNamespace(), c.GetName()}
	if s.configs[key] == nil {
		return fail(index, orchpb.ResultNotFound, "config %s not found", key)
	}
	if users := s.users(kindConfig, key); len(users) > 0 {
		return fail(index, orchpb.ResultConflict, "config %s is used by %s; remove it from their specs first", key, strings.Join(users, ", "))
	}
	delete(s.configs, key)
	return &orchpb.CommandResult{}
}

// Secret returns the stored secret (sealed values), or nil. It is shared
// with the store: do not modify it.
func (s *Store) Secret(namespace, name string) *orchpb.Secret {
	s.mu.RLock()
	defer s.mu.RUnlock()
	return s.secrets[svcKey{namespace, name}]
}

// Secrets lists the secrets of namespace ("" = all), sorted.
func (s *Store) Secrets(namespace string) []*orchpb.Secret {
	out := selectFrom(s, func() map[svcKey]*orchpb.Secret { return s.secrets }, func(k svcKey, _ *orchpb.Secret) bool { return namespace == "" || k.namespace == namespace })
	sortSecrets(out)
	return out
}

// Config returns the stored config, or nil. Shared: do not modify it.
func (s *Store) ConfigObject(namespace, name string) *orchpb.Config {
	s.mu.RLock()
	defer s.mu.RUnlock()
	return s.configs[svcKey{namespace, name}]
}

// Configs lists the configs of namespace ("" = all), sorted.
func (s *Store) Configs(namespace string) []*orchpb.Config {
	out := selectFrom(s, func() map[svcKey]*orchpb.Config { return s.configs }, func(k svcKey, _ *orchpb.Config) bool { return namespace == "" || k.namespace == namespace })
	sortConfigs(out)
	return out
}

// SecretUsers and ConfigUsers name the services (NAMESPACE/NAME) whose
// spec uses the object, sorted.
func (s *Store) SecretUsers(namespace, name string) []string {
	s.mu.RLock()
	defer s.mu.RUnlock()
	return s.users(kindSecret, svcKey{namespace, name})
}

func (s *Store) ConfigUsers(namespace, name string) []string {
	s.mu.RLock()
	defer s.mu.RUnlock()
	return s.users(kindConfig, svcKey{namespace, name})
}

func sortSecrets(list []*orchpb.Secret) {
	slices.SortFunc(list, func(a, b *orchpb.Secret) int {
		return svcKey{a.Namespace, a.Name}.compare(svcKey{b.Namespace, b.Name})
	})
}

func sortConfigs(list []*orchpb.Config) {
	slices.SortFunc(list, func(a, b *orchpb.Config) int {
		return svcKey{a.Namespace, a.Name}.compare(svcKey{b.Namespace, b.Name})
	})
}
