package apiserver

import (
	"net/http"
	"strings"
	"time"

	"github.com/orch-io/orch/master/endpoint"

	"github.com/orch-io/orch/api"
	"github.com/orch-io/orch/master/store"
	orchpb "github.com/orch-io/orch/proto"
	"google.golang.org/protobuf/proto"
)

func (s *Server) listReplicas(w http.ResponseWriter, r *http.Request) {
	if !s.consistentRead(w, r) {
		return
	}
	q := r.URL.Query()
	filter := store.ReplicaFilter{Namespace: q.Get("namespace"), Service: q.Get("service"), Node: q.Get("node")}
	if filter.Node != "" {
		if n := s.findNode(filter.Node); n != nil {
			filter.Node = n.GetId()
		}
	}
	writeList(w, s.deps.Store.Replicas(filter), marshalMessage[*orchpb.Replica])
}

func (s *Server) getReplica(w http.ResponseWriter, r *http.Request) {
	if !s.consistentRead(w, r) {
		return
	}
	rep := s.findReplica(r.PathValue("id"), r.URL.Query().Get("namespace"))
	if rep == nil {
		writeError(w, endpoint.NotFound("replica "+r.PathValue("id")+" not found"))
		return
	}
	writeMessage(w, http.StatusOK, rep)
}

// findReplica accepts a replica id or a display name (hello.2), the latter
// in the given namespace (default "default").
func (s *Server) findReplica(idOrName, namespace string) *orchpb.Replica {
	if rep := s.deps.Store.Replica(idOrName); rep != nil {
		return rep
	}
	if namespace == "" {
		namespace = orchpb.DefaultNamespace
	}
	if strings.Contains(idOrName, ".") {
		return s.deps.Store.ReplicaByName(namespace, idOrName)
	}
	return nil
}

func (s *Server) findNode(idOrName string) *orchpb.Node {
	if n := s.deps.Store.Node(idOrName); n != nil {
		return n
	}
	return s.deps.Store.NodeByName(idOrName)
}

// withHeartbeat fills in the one node field that lives outside Raft.
func (s *Server) withHeartbeat(n *orchpb.Node) *orchpb.Node {
	if s.deps.Heartbeats == nil {
		return n
	}
	t, ok := s.deps.Heartbeats(n.GetId())
	if !ok {
		return n
	}
	c := proto.Clone(n).(*orchpb.Node)
	c.LastHeartbeat = t.UnixMilli()
	return c
}

func (s *Server) listNodes(w http.ResponseWriter, r *http.Request) {
	if !s.consistentRead(w, r) {
		return
	}
	nodes := s.deps.Store.Nodes()
	out := make([]*orchpb.Node, 0, len(nodes))
	for _, n := range nodes {
		out = append(out, s.withHeartbeat(n))
	}
	writeList(w, out, marshalMessage[*orchpb.Node])
}

func (s *Server) getNode(w http.ResponseWriter, r *http.Request) {
	if !s.consistentRead(w, r) {
		return
	}
	n := s.findNode(r.PathValue("id"))
	if n == nil {
		writeError(w, endpoint.NotFound("node "+r.PathValue("id")+" not found"))
		return
	}
	writeMessage(w, http.StatusOK, s.withHeartbeat(n))
}

func (s *Server) setNodeState(state orchpb.NodeState) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		n := s.findNode(r.PathValue("id"))
		if n == nil {
			writeError(w, endpoint.NotFound("node "+r.PathValue("id")+" not found"))
			return
		}
		cmd := &orchpb.Command{Op: &orchpb.Command_SetNodeState{SetNodeState: &orchpb.SetNodeState{NodeId: n.GetId(), State: string(state)}}}
		if _, ok := s.propose(w, r, cmd); !ok {
			return
		}
		writeMessage(w, http.StatusOK, s.withHeartbeat(s.deps.Store.Node(n.GetId())))
	}
}

func (s *Server) cluster(w http.ResponseWriter, r *http.Request) {
	if s.deps.Cluster == nil {
		writeError(w, &api.Error{Code: "internal", Message: "cluster information unavailable", Status: http.StatusInternalServerError})
		return
	}
	c, err := s.deps.Cluster.Cluster(r.Context())
	if err != nil {
		writeError(w, endpoint.ErrorOf(err))
		return
	}
	writeAny(w, http.StatusOK, c)
}

func (s *Server) caCert(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "application/x-pem-file")
	_, _ = w.Write(s.deps.CAPEM())
}

// keepaliveInterval is how often an idle stream sends a blank line, so
// proxies and clients can tell a quiet stream from a dead one.
const keepaliveInterval = 15 * time.Second
