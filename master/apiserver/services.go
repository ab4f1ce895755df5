package apiserver

import (
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"strconv"
	"strings"

	"github.com/orch-io/orch/master/endpoint"
	"github.com/orch-io/orch/master/store"

	"github.com/orch-io/orch/api"
	"github.com/orch-io/orch/master/manifest"
	orchpb "github.com/orch-io/orch/proto"
)

// maxManifestBytes bounds a service body; real manifests are a few KiB.
const maxManifestBytes = 1 << 20

// readManifest reads a manifest body, or answers why it cannot.
func readManifest(w http.ResponseWriter, r *http.Request) ([]byte, bool) {
	body, err := io.ReadAll(io.LimitReader(r.Body, maxManifestBytes+1))
	if err != nil {
		writeError(w, endpoint.BadRequest("", "read body: "+err.Error()))
		return nil, false
	}
	if len(body) > maxManifestBytes {
		writeError(w, endpoint.BadRequest("", "manifest larger than 1 MiB"))
		return nil, false
	}
	return body, true
}

// ifMatch reads the If-Match header: nil when absent, or answers why it
// is not a service version.
func ifMatch(w http.ResponseWriter, r *http.Request) (version *uint64, ok bool) {
	v := r.Header.Get("If-Match")
	if v == "" {
		return nil, true
	}
	n, err := strconv.ParseUint(strings.Trim(v, `"`), 10, 64)
	if err != nil {
		writeError(w, endpoint.BadRequest("If-Match", "If-Match: want a service version (a number), got "+strconv.Quote(v)))
		return nil, false
	}
	return &n, true
}

func (s *Server) putService(w http.ResponseWriter, r *http.Request) {
	spec, version, ok := s.readSpec(w, r)
	if !ok {
		return
	}
	if spec.IsJob() {
		writeError(w, endpoint.BadRequest("kind", "kind: a Job is put at /v1/namespaces/{ns}/jobs/{name} (orchctl apply does)"))
		return
	}
	if e := s.mastersSpeakCanary(spec); e != nil {
		writeError(w, e)
		return
	}
	if e := s.mastersSpeakVolumes(spec); e != nil {
		writeError(w, e)
		return
	}
	put := &orchpb.PutService{Spec: spec, IfMatch: version}
	s.putAndAnswer(w, r, spec, &orchpb.Command{Op: &orchpb.Command_PutService{PutService: put}}, s.writeService)
}

// readSpec reads and admits the manifest of a PUT: parsed, named as the
// path says, host ports and references checked, and the If-Match version;
// or it answers why not.
func (s *Server) readSpec(w http.ResponseWriter, r *http.Request) (*orchpb.ServiceSpec, *uint64, bool) {
	ns, name := r.PathValue("ns"), r.PathValue("name")
	body, ok := readManifest(w, r)
	if !ok {
		return nil, nil, false
	}
	spec, err := manifest.ParseOne(body)
	if err != nil {
		writeError(w, endpoint.ErrorOf(err))
		return nil, nil, false
	}
	if spec.GetName() != name {
		writeError(w, endpoint.BadRequest("name", "name: "+strconv.Quote(spec.GetName())+" does not match the path's "+strconv.Quote(name)))
		return nil, nil, false
	}
	if spec.GetNamespace() != ns {
		writeError(w, endpoint.BadRequest("namespace", "namespace: "+strconv.Quote(spec.GetNamespace())+" does not match the path's "+strconv.Quote(ns)))
		return nil, nil, false
	}
	if err := s.hostPorts().Check(spec); err != nil {
		writeError(w, err)
		return nil, nil, false
	}
	if field, msg := s.deps.Store.RefProblem(spec); msg != "" {
		// The FSM checks again when it applies: this answer names the field.
		writeError(w, endpoint.BadRequest(strings.TrimPrefix(field, "spec."), strings.TrimPrefix(field, "spec.")+": "+msg))
		return nil, nil, false
	}
	version, ok := ifMatch(w, r)
	return spec, version, ok
}

// putAndAnswer proposes the put of spec and answers with the object as
// stored: 201 when it is new, 200 when it existed.
func (s *Server) putAndAnswer(w http.ResponseWriter, r *http.Request, spec *orchpb.ServiceSpec, cmd *orchpb.Command,
	write func(w http.ResponseWriter, status int, ns, name string)) {
	ns, name := spec.GetNamespace(), spec.GetName()
	existed := s.deps.Store.Service(ns, name) != nil
	res, ok := s.propose(w, r, cmd)
	if !ok {
		return
	}
	w.Header().Set(api.HeaderIndex, strconv.FormatUint(res.GetIndex(), 10))
	status := http.StatusOK
	if !existed {
		status = http.StatusCreated
	}
	write(w, status, ns, name)
}

func (s *Server) writeService(w http.ResponseWriter, status int, ns, name string) {
	s.writeStored(w, status, ns, name, false)
}

func (s *Server) getService(w http.ResponseWriter, r *http.Request) { s.getStored(w, r, false) }

func (s *Server) listServices(w http.ResponseWriter, r *http.Request) { s.listStored(w, r, false) }

// writeStored answers the service (job false) or job ns/name with its
// derived status, or 404 when the name is not one of that kind.
func (s *Server) writeStored(w http.ResponseWriter, status int, ns, name string, job bool) {
	svc := s.deps.Store.Service(ns, name)
	if svc == nil || svc.GetSpec().IsJob() != job {
		if job {
			writeError(w, endpoint.NotFound("job "+ns+"/"+name+" not found"))
		} else {
			writeError(w, serviceNotFound(svc, ns, name))
		}
		return
	}
	body, err := api.MarshalService(shown(s.deps.Store, svc))
	if err != nil {
		writeError(w, endpoint.ErrorOf(err))
		return
	}
	writeJSON(w, status, body)
}

func (s *Server) getStored(w http.ResponseWriter, r *http.Request, job bool) {
	if !s.consistentRead(w, r) {
		return
	}
	s.writeStored(w, http.StatusOK, r.PathValue("ns"), r.PathValue("name"), job)
}

// listStored lists the services (job false) or the jobs of the path's
// namespace, or of all.
func (s *Server) listStored(w http.ResponseWriter, r *http.Request, job bool) {
	if !s.consistentRead(w, r) {
		return
	}
	var list []*orchpb.Service
	for _, svc := range s.deps.Store.Services(r.PathValue("ns")) {
		if svc.GetSpec().IsJob() == job {
			list = append(list, svc)
		}
	}
	writeList(w, list, func(svc *orchpb.Service) ([]byte, error) {
		return api.MarshalService(shown(s.deps.Store, svc))
	})
}

// shown is a service or job with its derived status filled in.
func shown(st *store.Store, svc *orchpb.Service) *orchpb.Service {
	if svc.GetSpec().IsJob() {
		return withJobStatus(st, svc)
	}
	return withStatus(st, svc)
}

// serviceNotFound is the 404 for a name that is no service; a job's name
// says where to look.
func serviceNotFound(svc *orchpb.Service, ns, name string) *api.Error {
	if svc.GetSpec().IsJob() {
		return endpoint.NotFound("service " + ns + "/" + name + " not found: " + name + " is a job (orchctl get jobs)")
	}
	return endpoint.NotFound("service " + ns + "/" + name + " not found")
}

func (s *Server) deleteService(w http.ResponseWriter, r *http.Request) {
	ns, name := r.PathValue("ns"), r.PathValue("name")
	if svc := s.deps.Store.Service(ns, name); svc.GetSpec().IsJob() {
		writeError(w, serviceNotFound(svc, ns, name))
		return
	}
	s.proposeDelete(w, r, ns, name)
}

// proposeDelete deletes a service or a job (DeleteService).
func (s *Server) proposeDelete(w http.ResponseWriter, r *http.Request, ns, name string) {
	version, ok := ifMatch(w, r)
	if !ok {
		return
	}
	withVolumes := r.URL.Query().Get("volumes") == "true"
	if withVolumes && s.deps.Store.Service(ns, name) == nil && len(s.deps.Store.ServiceVolumes(ns, name)) > 0 {
		// Deleted earlier without --volumes: only the volumes are left.
		res, ok := s.deleteServiceVolumes(w, r, ns, name)
		if ok {
			w.Header().Set(api.HeaderIndex, strconv.FormatUint(res.GetIndex(), 10))
			writeAny(w, http.StatusOK, deleted{Deleted: ns + "/" + name})
		}
		return
	}
	del := &orchpb.DeleteService{Namespace: ns, Name: name, IfMatch: version}
	res, ok := s.propose(w, r, &orchpb.Command{Op: &orchpb.Command_DeleteService{DeleteService: del}})
	if !ok {
		return
	}
	if withVolumes && len(s.deps.Store.ServiceVolumes(ns, name)) > 0 {
		if res, ok = s.deleteServiceVolumes(w, r, ns, name); !ok {
			return
		}
	}
	w.Header().Set(api.HeaderIndex, strconv.FormatUint(res.GetIndex(), 10))
	writeAny(w, http.StatusOK, deleted{Deleted: ns + "/" + name})
}

func (s *Server) scaleService(w http.ResponseWriter, r *http.Request) {
	ns, name := r.PathValue("ns"), r.PathValue("name")
	var body api.ScaleRequest
	dec := json.NewDecoder(io.LimitReader(r.Body, 4096))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&body); err != nil {
		field := ""
		var te *json.UnmarshalTypeError
		if errors.As(err, &te) {
			field = te.Field
		}
		writeError(w, endpoint.BadRequest(field, "scale body: want {\"replicas\": N}: "+err.Error()))
		return
	}
	if body.Replicas == nil {
		writeError(w, endpoint.BadRequest("replicas", "replicas: required"))
		return
	}
	if *body.Replicas < 0 || *body.Replicas > manifest.MaxReplicas {
		writeError(w, endpoint.BadRequest("replicas", "replicas: must be between 0 and "+strconv.Itoa(manifest.MaxReplicas)))
		return
	}
	if svc := s.deps.Store.Service(ns, name); svc != nil && svc.GetSpec().GetMode() == orchpb.ModeGlobal {
		writeError(w, endpoint.BadRequest("replicas", "replicas: service "+ns+"/"+name+" is global (one replica per eligible node); it cannot be scaled"))
		return
	}
	scale := &orchpb.ScaleService{Namespace: ns, Name: name, Replicas: int32(*body.Replicas)}
	res, ok := s.propose(w, r, &orchpb.Command{Op: &orchpb.Command_ScaleService{ScaleService: scale}})
	if !ok {
		return
	}
	w.Header().Set(api.HeaderIndex, strconv.FormatUint(res.GetIndex(), 10))
	s.writeService(w, http.StatusOK, ns, name)
}
