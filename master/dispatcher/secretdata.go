package dispatcher

import (
	"fmt"
	"slices"

	"github.com/orch-io/orch/master/seal"
	"github.com/orch-io/orch/master/store"
	orchpb "github.com/orch-io/orch/proto"
)

// The values of the secrets and configs a replica uses travel only in the
// assignment set of the node that runs it: assignmentSet is built for the
// node the stream's certificate names, so a node never receives another
// node's secrets. Values are opened here, per send, and never logged.

// dataRef names one secret or config a spec uses, at a version.
type dataRef struct {
	kind, name string
	version    uint64
}

func specDataRefs(spec *orchpb.ServiceSpec) []dataRef {
	var refs []dataRef
	for _, m := range spec.GetSecrets() {
		refs = append(refs, dataRef{"secret", m.GetName(), m.GetVersion()})
	}
	for _, m := range spec.GetConfigs() {
		refs = append(refs, dataRef{"config", m.GetName(), m.GetVersion()})
	}
	for _, name := range sortedEnvNames(spec) {
		src := spec.GetEnvFrom()[name]
		if src.GetSecret() != "" {
			refs = append(refs, dataRef{"secret", src.GetSecret(), src.GetVersion()})
		} else {
			refs = append(refs, dataRef{"config", src.GetConfig(), src.GetVersion()})
		}
	}
	return refs
}

func sortedEnvNames(spec *orchpb.ServiceSpec) []string {
	names := make([]string, 0, len(spec.GetEnvFrom()))
	for n := range spec.GetEnvFrom() {
		names = append(names, n)
	}
	slices.Sort(names)
	return names
}

// secretData returns the values of everything spec uses, once per object.
// An object that is gone, or a value that does not open, is left out and
// the error says which: the agent then reports the replica as unable to
// start, naming what is missing.
func secretData(st *store.Store, key *seal.Key, spec *orchpb.ServiceSpec) ([]*orchpb.SecretData, error) {
	var out []*orchpb.SecretData
	var firstErr error
	seen := map[dataRef]bool{}
	for _, ref := range specDataRefs(spec) {
		if seen[ref] {
			continue
		}
		seen[ref] = true
		var d *orchpb.SecretData
		var err error
		if ref.kind == "secret" {
			d, err = openSecret(st.Secret(spec.GetNamespace(), ref.name), key, ref)
		} else {
			d, err = configData(st.ConfigObject(spec.GetNamespace(), ref.name), ref)
		}
		if err != nil {
			if firstErr == nil {
				firstErr = fmt.Errorf("%s %s/%s: %w", ref.kind, spec.GetNamespace(), ref.name, err)
			}
			continue
		}
		out = append(out, d)
	}
	return out, firstErr
}

// openSecret opens the values of the version ref names: the current one,
// or the one before it (a rolled-back revision). A version older than both
// gets the current values: only a replica created for that old revision
// could ask, and it can only run what exists.
func openSecret(sec *orchpb.Secret, key *seal.Key, ref dataRef) (*orchpb.SecretData, error) {
	if sec == nil {
		return nil, fmt.Errorf("not found")
	}
	if key == nil {
		return nil, fmt.Errorf("this master has no data key")
	}
	sealed, version := sec.GetData(), sec.GetVersion()
	if ref.version != 0 && ref.version == sec.GetPreviousVersion() {
		sealed, version = sec.GetPreviousData(), sec.GetPreviousVersion()
	}
	d := &orchpb.SecretData{Kind: ref.kind, Name: ref.name, Version: version, Data: make(map[string][]byte, len(sealed))}
	for k, v := range sealed {
		plain, err := key.Open(seal.SecretContext(sec.GetNamespace(), sec.GetName(), k), v)
		if err != nil {
			return nil, err
		}
		d.Data[k] = plain
	}
	return d, nil
}

func configData(cfg *orchpb.Config, ref dataRef) (*orchpb.SecretData, error) {
	if cfg == nil {
		return nil, fmt.Errorf("not found")
	}
	if ref.version != 0 && cfg.GetPrevious() != nil && ref.version == cfg.GetPrevious().GetVersion() {
		cfg = cfg.GetPrevious()
	}
	d := &orchpb.SecretData{Kind: ref.kind, Name: ref.name, Version: cfg.GetVersion(),
		Data: make(map[string][]byte, len(cfg.GetData())+len(cfg.GetBinaryData()))}
	for k, v := range cfg.GetData() {
		d.Data[k] = []byte(v)
	}
	for k, v := range cfg.GetBinaryData() {
		d.Data[k] = v
	}
	return d, nil
}
