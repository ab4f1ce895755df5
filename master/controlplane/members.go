package controlplane

import (
	"context"
	"encoding/hex"
	"fmt"
	"net"
	"net/http"
	"net/url"

	"github.com/orch-io/orch/master/endpoint"
	"github.com/orch-io/orch/pki"

	"github.com/orch-io/orch/api"
	"github.com/orch-io/orch/master/peer"
	"github.com/orch-io/orch/master/raftnode"
	orchpb "github.com/orch-io/orch/proto"
)

// credentials gives a joining master the CA, key included. Any master can
// answer: they all hold it.
func (s *Server) credentials(w http.ResponseWriter, r *http.Request) {
	creds := peer.Credentials{CACertPEM: string(s.deps.CA.CertPEM()), CAKeyPEM: string(s.deps.CA.KeyPEM())}
	if s.deps.DataKey != nil {
		creds.DataKey = hex.EncodeToString(s.deps.DataKey.Bytes())
	}
	if cfg := s.deps.Store.Config(); cfg != nil {
		creds.ClusterID = cfg.GetClusterId()
	}
	writeJSON(w, http.StatusOK, creds)
}

func validateMember(m peer.Member) *api.Error {
	bad := func(field, msg string) *api.Error {
		return &api.Error{Code: api.CodeInvalid, Field: field, Message: field + ": " + msg, Status: http.StatusBadRequest}
	}
	if m.ID == "" || len(m.ID) > 253 {
		return bad("id", "required, at most 253 characters")
	}
	if host, _, err := net.SplitHostPort(m.RaftAddress); err != nil || net.ParseIP(host) == nil || net.ParseIP(host).IsUnspecified() {
		return bad("raftAddress", "want IP:PORT that other masters can dial, got "+m.RaftAddress)
	}
	if u, err := url.Parse(m.APIAddress); err != nil || u.Scheme != "https" || u.Host == "" {
		return bad("apiAddress", "want https://HOST:PORT, got "+m.APIAddress)
	}
	return nil
}

// Record is the command that records where master m is reached.
func Record(m peer.Member) *orchpb.Command {
	return &orchpb.Command{Op: &orchpb.Command_PutMaster{PutMaster: &orchpb.PutMaster{
		Master: &orchpb.Master{Id: m.ID, RaftAddress: m.RaftAddress, ApiAddress: m.APIAddress, Protocol: m.Protocol},
	}}}
}

// addMember makes a master a voter (the leader's part of a join). The
// record goes first, so that by the time the new master votes everyone
// knows where its API is. It is idempotent: a joiner retrying after a lost
// answer changes nothing.
func (s *Server) addMember(w http.ResponseWriter, r *http.Request) {
	var m peer.Member
	if e := readJSON(r, &m); e != nil {
		api.WriteError(w, e)
		return
	}
	if e := validateMember(m); e != nil {
		api.WriteError(w, e)
		return
	}
	m.Protocol = senderProtocol(r)
	res, err := s.apply(r.Context(), Record(m))
	if err != nil {
		api.WriteError(w, endpoint.ErrorOf(err))
		return
	}
	if !s.isVoterAt(m.ID, m.RaftAddress) {
		if err := s.deps.Raft.AddVoter(r.Context(), m.ID, m.RaftAddress); err != nil {
			api.WriteError(w, endpoint.ErrorOf(err))
			return
		}
		s.log.Info("master added", "id", m.ID, "raft", m.RaftAddress, "api", m.APIAddress)
	}
	setIndex(w, res.GetIndex())
	writeJSON(w, http.StatusOK, m)
}

func (s *Server) isVoterAt(id, addr string) bool {
	sv, ok := s.server(id)
	return ok && sv.Address == addr && sv.Role != "nonvoter" && sv.Role != "staging"
}

func (s *Server) isMember(id string) bool {
	_, ok := s.server(id)
	return ok
}

// server is id's entry in the Raft configuration; not ok when it has none
// or the configuration cannot be read.
func (s *Server) server(id string) (raftnode.Server, bool) {
	servers, err := s.deps.Raft.Servers()
	if err != nil {
		return raftnode.Server{}, false
	}
	for _, sv := range servers {
		if sv.ID == id {
			return sv, true
		}
	}
	return raftnode.Server{}, false
}

// updateMember corrects a member's record (a master restarted with another
// API address). Unlike addMember it never makes anyone a voter, so a master
// that was removed but still runs cannot come back by itself.
func (s *Server) updateMember(w http.ResponseWriter, r *http.Request) {
	var m peer.Member
	if e := readJSON(r, &m); e != nil {
		api.WriteError(w, e)
		return
	}
	if m.ID != r.PathValue("id") {
		api.WriteError(w, &api.Error{Code: api.CodeInvalid, Field: "id", Message: "id: does not match the path", Status: http.StatusBadRequest})
		return
	}
	if e := validateMember(m); e != nil {
		api.WriteError(w, e)
		return
	}
	m.Protocol = senderProtocol(r)
	if err := s.UpdateRecord(r.Context(), m); err != nil {
		api.WriteError(w, endpoint.ErrorOf(err))
		return
	}
	writeJSON(w, http.StatusOK, m)
}

// UpdateRecord writes m's record if m is in the Raft configuration; on the
// leader only.
func (s *Server) UpdateRecord(ctx context.Context, m peer.Member) error {
	if !s.deps.Raft.IsLeader() {
		return fmt.Errorf("update record of %s: %w", m.ID, raftnode.ErrNotLeader)
	}
	if !s.isMember(m.ID) {
		return &api.Error{Code: api.CodeNotFound, Message: "master " + m.ID + " is not a member of the cluster", Status: http.StatusNotFound}
	}
	_, err := s.apply(ctx, Record(m))
	return err
}

// removeMember takes a master out of the cluster: record first, then
// Raft (a leader removing itself steps down once the change commits, and
// could not write the record after).
func (s *Server) removeMember(w http.ResponseWriter, r *http.Request) {
	id := r.PathValue("id")
	servers, err := s.deps.Raft.Servers()
	if err != nil {
		api.WriteError(w, endpoint.ErrorOf(err))
		return
	}
	inRaft := false
	for _, sv := range servers {
		inRaft = inRaft || sv.ID == id
	}
	if !inRaft && s.deps.Store.Master(id) == nil {
		api.WriteError(w, &api.Error{Code: api.CodeNotFound, Message: "master " + id + " is not a member of the cluster", Status: http.StatusNotFound})
		return
	}
	if inRaft && len(servers) == 1 {
		api.WriteError(w, &api.Error{Code: api.CodeInvalid, Message: "master " + id + " is the only member: removing it would end the cluster", Status: http.StatusBadRequest})
		return
	}
	if !s.deps.Raft.IsLeader() {
		api.WriteError(w, endpoint.ErrorOf(raftnode.ErrNotLeader))
		return
	}
	if s.deps.Store.Master(id) != nil {
		if _, err := s.apply(r.Context(), &orchpb.Command{Op: &orchpb.Command_RemoveMaster{RemoveMaster: &orchpb.RemoveMaster{Id: id}}}); err != nil {
			api.WriteError(w, endpoint.ErrorOf(err))
			return
		}
	}
	if inRaft {
		if err := s.deps.Raft.RemoveServer(r.Context(), id); err != nil {
			api.WriteError(w, endpoint.ErrorOf(err))
			return
		}
	}
	s.log.Info("master removed", "id", id)
	writeJSON(w, http.StatusOK, removed{Removed: id})
}

// readIndex is the leader's half of a follower's linearizable read: it
// confirms its leadership with a quorum and answers an index at or past
// every write acknowledged before the call (its own store's, once that has
// caught up with the commit index).
func (s *Server) readIndex(w http.ResponseWriter, r *http.Request) {
	index, err := s.deps.Raft.VerifyLeader(r.Context())
	if err == nil {
		err = s.deps.Store.WaitIndex(r.Context(), index)
	}
	if err != nil {
		api.WriteError(w, endpoint.ErrorOf(err))
		return
	}
	writeJSON(w, http.StatusOK, peer.ReadIndex{Index: s.deps.Store.Index()})
}

// self is this master's view of itself, for `orchctl cluster status`.
func (s *Server) self(w http.ResponseWriter, r *http.Request) {
	writeJSON(w, http.StatusOK, s.Status())
}

// Status is this master as GET /v1/cluster shows it.
func (s *Server) Status() api.Member {
	leaderID, _ := s.deps.Raft.Leader()
	return api.Member{
		ID:           s.deps.Self.ID,
		RaftAddress:  s.deps.Self.RaftAddress,
		APIAddress:   s.deps.Self.APIAddress,
		Role:         s.deps.Raft.State(),
		AppliedIndex: s.deps.Store.Index(),
		Healthy:      leaderID != "",
		CADigest:     s.caDigest(),
		CertIssuer:   s.certIssuer(),
	}
}

func (s *Server) caDigest() string {
	if s.deps.CA == nil {
		return ""
	}
	return pki.BundleDigest(s.deps.CA.BundlePEM())
}

func (s *Server) certIssuer() string {
	if s.deps.Cert == nil {
		return ""
	}
	leaf, err := pki.LeafOf(s.deps.Cert.Load())
	if err != nil {
		return ""
	}
	return pki.IssuerKeyID(leaf)
}

// senderProtocol is the protocol the calling master speaks, as its request
// says ("" for v0.1.0, which says nothing). api.VersionHandler has checked it.
func senderProtocol(r *http.Request) string {
	if p := api.SenderProtocol(r.Header); p != api.ProtocolUnversioned {
		return p.String()
	}
	return ""
}
