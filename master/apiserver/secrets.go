package apiserver

import (
	"maps"
	"net/http"
	"slices"
	"strconv"

	"github.com/orch-io/orch/api"
	"github.com/orch-io/orch/master/auth"
	"github.com/orch-io/orch/master/endpoint"
	"github.com/orch-io/orch/master/manifest"
	"github.com/orch-io/orch/master/seal"
	orchpb "github.com/orch-io/orch/proto"
)

// Secrets and configs. A secret's values are sealed here, before the
// command is proposed, so no Raft entry, snapshot or backup holds them in
// clear; no answer of this API carries them back, whatever the token
// (SecretInfo has no field for values).

var (
	secretParam = endpoint.Path("name", "the secret's name")
	configParam = endpoint.Path("name", "the config's name")
	objectBody  = endpoint.Body{Types: []string{api.ContentTypeJSON, "application/yaml"}}
)

func (s *Server) secretRoutes() []endpoint.Route {
	secretIn := objectBody
	secretIn.Schema, secretIn.Doc = api.SecretManifest{}, "a Secret manifest, in YAML or JSON: data in base64, or stringData"
	configIn := objectBody
	configIn.Schema, configIn.Doc = api.ConfigManifest{}, "a Config manifest, in YAML or JSON: data as text, binaryData in base64"
	return []endpoint.Route{
		{Pattern: "PUT /v1/namespaces/{ns}/secrets/{name}", Role: auth.RoleAdmin, Handler: s.putSecret,
			Summary: "Create or replace a secret; the services that use it roll out with the new values",
			Params:  []endpoint.Param{nsParam, secretParam, ifMatchParam}, In: secretIn,
			Out: endpoint.Body{Types: []string{api.ContentTypeJSON}, Schema: api.SecretInfo{}, Created: true,
				Doc: "the secret's keys and version, never its values: 200 when it replaced one, 201 when it is new"}},
		{Pattern: "GET /v1/namespaces/{ns}/secrets/{name}", Role: auth.RoleReader, Handler: s.getSecret,
			Summary: "Read a secret's keys, version and users (never its values)",
			Params:  []endpoint.Param{nsParam, secretParam, staleParam}, Out: endpoint.JSON(api.SecretInfo{})},
		{Pattern: "GET /v1/namespaces/{ns}/secrets", Role: auth.RoleReader, Handler: s.listSecrets,
			Summary: "List the secrets of a namespace (keys, never values)",
			Params:  []endpoint.Param{nsParam, staleParam}, Out: endpoint.JSONList(api.SecretInfo{})},
		{Pattern: "GET /v1/secrets", Role: auth.RoleReader, Handler: s.listSecrets,
			Summary: "List the secrets of every namespace (keys, never values)",
			Params:  []endpoint.Param{staleParam}, Out: endpoint.JSONList(api.SecretInfo{})},
		{Pattern: "DELETE /v1/namespaces/{ns}/secrets/{name}", Role: auth.RoleAdmin, Handler: s.deleteSecret,
			Summary: "Delete a secret; refused (409) while a service uses it, naming the services",
			Params:  []endpoint.Param{nsParam, secretParam}, Out: endpoint.JSON(deleted{})},
		{Pattern: "PUT /v1/namespaces/{ns}/configs/{name}", Role: auth.RoleAdmin, Handler: s.putConfig,
			Summary: "Create or replace a config; the services that use it roll out with the new values",
			Params:  []endpoint.Param{nsParam, configParam, ifMatchParam}, In: configIn,
			Out: endpoint.Body{Types: []string{api.ContentTypeJSON}, Schema: api.ConfigInfo{}, Created: true,
				Doc: "the config as stored: 200 when it replaced one, 201 when it is new"}},
		{Pattern: "GET /v1/namespaces/{ns}/configs/{name}", Role: auth.RoleReader, Handler: s.getConfig,
			Summary: "Read a config, values included",
			Params:  []endpoint.Param{nsParam, configParam, staleParam}, Out: endpoint.JSON(api.ConfigInfo{})},
		{Pattern: "GET /v1/namespaces/{ns}/configs", Role: auth.RoleReader, Handler: s.listConfigs,
			Summary: "List the configs of a namespace",
			Params:  []endpoint.Param{nsParam, staleParam}, Out: endpoint.JSONList(api.ConfigInfo{})},
		{Pattern: "GET /v1/configs", Role: auth.RoleReader, Handler: s.listConfigs,
			Summary: "List the configs of every namespace",
			Params:  []endpoint.Param{staleParam}, Out: endpoint.JSONList(api.ConfigInfo{})},
		{Pattern: "DELETE /v1/namespaces/{ns}/configs/{name}", Role: auth.RoleAdmin, Handler: s.deleteConfig,
			Summary: "Delete a config; refused (409) while a service uses it, naming the services",
			Params:  []endpoint.Param{nsParam, configParam}, Out: endpoint.JSON(deleted{})},
	}
}

// pathMatches answers 400 when the body names another object than the path.
func pathMatches(w http.ResponseWriter, r *http.Request, name, ns string) bool {
	if name != r.PathValue("name") {
		writeError(w, endpoint.BadRequest("name", "name: "+strconv.Quote(name)+" does not match the path's "+strconv.Quote(r.PathValue("name"))))
		return false
	}
	if ns != r.PathValue("ns") {
		writeError(w, endpoint.BadRequest("namespace", "namespace: "+strconv.Quote(ns)+" does not match the path's "+strconv.Quote(r.PathValue("ns"))))
		return false
	}
	return true
}

func (s *Server) putSecret(w http.ResponseWriter, r *http.Request) {
	body, ok := readManifest(w, r)
	if !ok {
		return
	}
	m, err := manifest.ParseSecret(body)
	if err != nil {
		writeError(w, endpoint.ErrorOf(err))
		return
	}
	if !pathMatches(w, r, m.Name, m.Namespace) {
		return
	}
	if s.deps.DataKey == nil {
		writeError(w, &api.Error{Code: "unavailable", Message: "this master has no data key to seal secrets with", Status: http.StatusServiceUnavailable})
		return
	}
	plain := make(map[string][]byte, len(m.Data)+len(m.StringData))
	maps.Copy(plain, m.Data)
	for k, v := range m.StringData {
		plain[k] = []byte(v)
	}
	sec := &orchpb.Secret{Namespace: m.Namespace, Name: m.Name, Data: make(map[string][]byte, len(plain)), Digest: s.deps.DataKey.Digest(plain)}
	for k, v := range plain {
		sealed, err := s.deps.DataKey.Seal(seal.SecretContext(m.Namespace, m.Name, k), v)
		if err != nil {
			writeError(w, endpoint.ErrorOf(err))
			return
		}
		sec.Data[k] = sealed
	}
	version, ok := ifMatch(w, r)
	if !ok {
		return
	}
	existed := s.deps.Store.Secret(m.Namespace, m.Name) != nil
	res, ok := s.propose(w, r, &orchpb.Command{Op: &orchpb.Command_PutSecret{PutSecret: &orchpb.PutSecret{Secret: sec, IfMatch: version}}})
	if !ok {
		return
	}
	w.Header().Set(api.HeaderIndex, strconv.FormatUint(res.GetIndex(), 10))
	s.writeSecret(w, createdStatus(existed), m.Namespace, m.Name)
}

func createdStatus(existed bool) int {
	if existed {
		return http.StatusOK
	}
	return http.StatusCreated
}

func (s *Server) secretInfo(sec *orchpb.Secret) api.SecretInfo {
	return api.SecretInfo{Name: sec.GetName(), Namespace: sec.GetNamespace(), Keys: slices.Sorted(maps.Keys(sec.GetData())),
		Version: sec.GetVersion(), CreateIndex: sec.GetCreateIndex(), UsedBy: s.deps.Store.SecretUsers(sec.GetNamespace(), sec.GetName())}
}

func (s *Server) writeSecret(w http.ResponseWriter, status int, ns, name string) {
	sec := s.deps.Store.Secret(ns, name)
	if sec == nil {
		writeError(w, endpoint.NotFound("secret "+ns+"/"+name+" not found"))
		return
	}
	writeAny(w, status, s.secretInfo(sec))
}

func (s *Server) getSecret(w http.ResponseWriter, r *http.Request) {
	if s.consistentRead(w, r) {
		s.writeSecret(w, http.StatusOK, r.PathValue("ns"), r.PathValue("name"))
	}
}

func (s *Server) listSecrets(w http.ResponseWriter, r *http.Request) {
	if !s.consistentRead(w, r) {
		return
	}
	out := []api.SecretInfo{}
	for _, sec := range s.deps.Store.Secrets(r.PathValue("ns")) {
		out = append(out, s.secretInfo(sec))
	}
	writeAny(w, http.StatusOK, out)
}

func (s *Server) deleteSecret(w http.ResponseWriter, r *http.Request) {
	ns, name := r.PathValue("ns"), r.PathValue("name")
	res, ok := s.propose(w, r, &orchpb.Command{Op: &orchpb.Command_DeleteSecret{DeleteSecret: &orchpb.DeleteSecret{Namespace: ns, Name: name}}})
	if !ok {
		return
	}
	w.Header().Set(api.HeaderIndex, strconv.FormatUint(res.GetIndex(), 10))
	writeAny(w, http.StatusOK, deleted{Deleted: ns + "/" + name})
}

func (s *Server) putConfig(w http.ResponseWriter, r *http.Request) {
	body, ok := readManifest(w, r)
	if !ok {
		return
	}
	m, err := manifest.ParseConfig(body)
	if err != nil {
		writeError(w, endpoint.ErrorOf(err))
		return
	}
	if !pathMatches(w, r, m.Name, m.Namespace) {
		return
	}
	version, ok := ifMatch(w, r)
	if !ok {
		return
	}
	cfg := &orchpb.Config{Namespace: m.Namespace, Name: m.Name, Data: m.Data, BinaryData: m.BinaryData}
	existed := s.deps.Store.ConfigObject(m.Namespace, m.Name) != nil
	res, ok := s.propose(w, r, &orchpb.Command{Op: &orchpb.Command_PutConfig{PutConfig: &orchpb.PutConfig{Config: cfg, IfMatch: version}}})
	if !ok {
		return
	}
	w.Header().Set(api.HeaderIndex, strconv.FormatUint(res.GetIndex(), 10))
	s.writeConfig(w, createdStatus(existed), m.Namespace, m.Name)
}

func (s *Server) configInfo(c *orchpb.Config) api.ConfigInfo {
	return api.ConfigInfo{Name: c.GetName(), Namespace: c.GetNamespace(), Data: c.GetData(), BinaryData: c.GetBinaryData(),
		Version: c.GetVersion(), CreateIndex: c.GetCreateIndex(), UsedBy: s.deps.Store.ConfigUsers(c.GetNamespace(), c.GetName())}
}

func (s *Server) writeConfig(w http.ResponseWriter, status int, ns, name string) {
	c := s.deps.Store.ConfigObject(ns, name)
	if c == nil {
		writeError(w, endpoint.NotFound("config "+ns+"/"+name+" not found"))
		return
	}
	writeAny(w, status, s.configInfo(c))
}

func (s *Server) getConfig(w http.ResponseWriter, r *http.Request) {
	if s.consistentRead(w, r) {
		s.writeConfig(w, http.StatusOK, r.PathValue("ns"), r.PathValue("name"))
	}
}

func (s *Server) listConfigs(w http.ResponseWriter, r *http.Request) {
	if !s.consistentRead(w, r) {
		return
	}
	out := []api.ConfigInfo{}
	for _, c := range s.deps.Store.Configs(r.PathValue("ns")) {
		out = append(out, s.configInfo(c))
	}
	writeAny(w, http.StatusOK, out)
}

func (s *Server) deleteConfig(w http.ResponseWriter, r *http.Request) {
	ns, name := r.PathValue("ns"), r.PathValue("name")
	res, ok := s.propose(w, r, &orchpb.Command{Op: &orchpb.Command_DeleteConfig{DeleteConfig: &orchpb.DeleteConfig{Namespace: ns, Name: name}}})
	if !ok {
		return
	}
	w.Header().Set(api.HeaderIndex, strconv.FormatUint(res.GetIndex(), 10))
	writeAny(w, http.StatusOK, deleted{Deleted: ns + "/" + name})
}
