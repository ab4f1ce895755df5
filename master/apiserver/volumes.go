package apiserver

import (
	"net/http"
	"strconv"

	"github.com/orch-io/orch/api"
	"github.com/orch-io/orch/master/auth"
	"github.com/orch-io/orch/master/endpoint"
	"github.com/orch-io/orch/master/store"
	orchpb "github.com/orch-io/orch/proto"
)

// Volumes: the slots' persistent volume bindings (docs/stateful.md). They
// are created by the FSM when a slot is first placed; the API lists them
// and releases them (forget, delete service --volumes).

var (
	slotParam   = endpoint.Path("slot", "the slot's number")
	volumeParam = endpoint.Path("volume", "the volume's name in the spec")
	ifNodeParam = endpoint.Query("node", "forget only while the volume is still on this node (id or name)")
	// deleteVolumesParam belongs to DELETE .../services/{name}.
	deleteVolumesParam = endpoint.Query("volumes", "true also deletes the service's persistent volumes (their data, on their nodes); a service deleted earlier without it may be named again to delete them")
)

func (s *Server) volumeRoutes() []endpoint.Route {
	return []endpoint.Route{
		{Pattern: "GET /v1/volumes", Role: auth.RoleReader, Handler: s.listVolumes,
			Summary: "List the persistent volumes of every namespace: slot, node, size used, state",
			Params:  []endpoint.Param{staleParam}, Out: endpoint.JSONList(&orchpb.Volume{})},
		{Pattern: "GET /v1/namespaces/{ns}/volumes", Role: auth.RoleReader, Handler: s.listVolumes,
			Summary: "List the persistent volumes of a namespace",
			Params:  []endpoint.Param{nsParam, staleParam}, Out: endpoint.JSONList(&orchpb.Volume{})},
		{Pattern: "DELETE /v1/namespaces/{ns}/services/{name}/volumes/{slot}/{volume}", Role: auth.RoleAdmin, Handler: s.forgetVolume,
			Summary: "Forget a slot's volume: the slot may start empty on another node; the old node deletes the data. Refused (409) while the slot runs on the volume's node",
			Params:  []endpoint.Param{nsParam, serviceParam, slotParam, volumeParam, ifNodeParam}, Out: endpoint.JSON(deleted{})},
	}
}

// mastersSpeakVolumes refuses persistent volumes while a master of an
// older protocol still runs: the FSM would bind none, and the slot's
// replicas could not start.
func (s *Server) mastersSpeakVolumes(spec *orchpb.ServiceSpec) *api.Error {
	if len(spec.PersistentVolumes()) == 0 {
		return nil
	}
	return s.mastersSpeak(store.ProtocolVolumes, "volumes", "persistent volumes")
}

// volumeState is what a binding means now: its slot runs on its node, or
// the node is down (or gone), or nothing of the slot runs there.
func volumeState(st *store.Store, v *orchpb.Volume) string {
	if n := st.Node(v.GetNode()); n == nil || n.Status() == orchpb.NodeDown {
		return orchpb.VolumeNodeDown
	}
	for _, r := range st.Replicas(store.ReplicaFilter{Namespace: v.GetNamespace(), Service: v.GetService()}) {
		if r.GetSlot() == v.GetSlot() && r.GetNode() == v.GetNode() && r.Desired() == orchpb.DesiredRunning && !r.Terminal() {
			return orchpb.VolumeInUse
		}
	}
	return orchpb.VolumeIdle
}

func (s *Server) listVolumes(w http.ResponseWriter, r *http.Request) {
	if !s.consistentRead(w, r) {
		return
	}
	list := s.deps.Store.Volumes(r.PathValue("ns"))
	out := make([]*orchpb.Volume, 0, len(list))
	for _, v := range list {
		c := &orchpb.Volume{Namespace: v.Namespace, Service: v.Service, Slot: v.Slot, Name: v.Name, Node: v.Node,
			Version: v.Version, CreateIndex: v.CreateIndex, SizeBytes: v.SizeBytes}
		c.State = volumeState(s.deps.Store, v)
		out = append(out, c)
	}
	writeList(w, out, marshalMessage)
}

func (s *Server) forgetVolume(w http.ResponseWriter, r *http.Request) {
	ns, name, volume := r.PathValue("ns"), r.PathValue("name"), r.PathValue("volume")
	slot, err := strconv.ParseInt(r.PathValue("slot"), 10, 32)
	if err != nil || slot < 1 {
		writeError(w, endpoint.BadRequest("slot", "slot: want a number from 1, not "+strconv.Quote(r.PathValue("slot"))))
		return
	}
	del := &orchpb.DeleteVolumes{Namespace: ns, Service: name, Slot: int32(slot), Name: volume}
	if node := r.URL.Query().Get("node"); node != "" {
		n := s.findNode(node)
		if n == nil {
			writeError(w, endpoint.NotFound("node "+node+" not found"))
			return
		}
		del.IfNode = n.GetId()
	}
	res, ok := s.propose(w, r, &orchpb.Command{Op: &orchpb.Command_DeleteVolumes{DeleteVolumes: del}})
	if !ok {
		return
	}
	w.Header().Set(api.HeaderIndex, strconv.FormatUint(res.GetIndex(), 10))
	writeAny(w, http.StatusOK, deleted{Deleted: ns + "/" + name + "." + strconv.Itoa(int(slot)) + "/" + volume})
}

// deleteServiceVolumes releases the bindings of a deleted service (delete
// service --volumes). The service itself may be gone already, deleted
// earlier without --volumes.
func (s *Server) deleteServiceVolumes(w http.ResponseWriter, r *http.Request, ns, name string) (*orchpb.CommandResult, bool) {
	return s.propose(w, r, &orchpb.Command{Op: &orchpb.Command_DeleteVolumes{DeleteVolumes: &orchpb.DeleteVolumes{Namespace: ns, Service: name}}})
}
