package controlplane

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"strconv"
	"time"

	"github.com/orch-io/orch/master/controllers"
	"github.com/orch-io/orch/master/seal"

	"github.com/orch-io/orch/master/endpoint"

	"github.com/orch-io/orch/pki"

	"github.com/orch-io/orch/api"
	"github.com/orch-io/orch/master/auth"
	"github.com/orch-io/orch/master/peer"
	"github.com/orch-io/orch/master/raftnode"
	"github.com/orch-io/orch/master/store"
	orchpb "github.com/orch-io/orch/proto"
)

// Raft is what the routes need of this master's Raft node
// (*raftnode.Node).
type Raft interface {
	Apply(ctx context.Context, cmd *orchpb.Command) (*orchpb.CommandResult, error)
	AddVoter(ctx context.Context, id, addr string) error
	RemoveServer(ctx context.Context, id string) error
	Servers() ([]raftnode.Server, error)
	VerifyLeader(ctx context.Context) (uint64, error)
	IsLeader() bool
	Leader() (id, addr string)
	State() string
}

// Deps are what the routes need.
type Deps struct {
	Raft  Raft
	Store *store.Store
	CA    *pki.CA
	// Cert is the master's own certificate, whose issuer Status reports.
	Cert *pki.LiveCert
	// Masters asks other masters what they trust (a CA rotation's
	// progress).
	Masters controllers.MasterTrust
	// DataKey seals secret values; a joining master gets it with the CA.
	DataKey *seal.Key
	// Self is this master as others reach it.
	Self peer.Member
	// ReadBarrier linearizes a read (the master's, which works on
	// followers too).
	ReadBarrier func(ctx context.Context) error
	// LastUsed is when this master last accepted a token, if it has not
	// yet written that through Raft (auth.Tokens.LastUsed); may be nil.
	LastUsed func(id string) (time.Time, bool)
	// Now is the clock tokens' creation and expiry are read from; nil is
	// time.Now.
	Now    func() time.Time
	Logger *slog.Logger
}

// Server serves the control-plane routes.
type Server struct {
	deps Deps
	log  *slog.Logger
}

// New builds the server.
func New(deps Deps) *Server {
	if deps.Logger == nil {
		deps.Logger = slog.Default()
	}
	return &Server{deps: deps, log: deps.Logger.With("component", "controlplane")}
}

// Routes are the endpoints, for the API server.
func (s *Server) Routes() []endpoint.Route {
	member := endpoint.Path("id", "the master's Raft server id")
	return []endpoint.Route{
		{Pattern: "GET " + peer.PathCredentials, Role: auth.RoleMaster, Handler: s.credentials,
			Summary: "The cluster CA, key included, for a master that joins",
			Out:     endpoint.JSON(peer.Credentials{})},
		{Pattern: "POST " + peer.PathMembers, Role: auth.RoleMaster, Handler: s.addMember,
			Summary: "Add a master to the Raft group as a voter",
			In:      endpoint.JSON(peer.Member{}), Out: endpoint.JSON(peer.Member{})},
		{Pattern: "PUT " + peer.PathMembers + "/{id}", Role: auth.RoleMaster, Handler: s.updateMember,
			Summary: "Record a master's new addresses",
			Params:  []endpoint.Param{member}, In: endpoint.JSON(peer.Member{}), Out: endpoint.JSON(peer.Member{})},
		{Pattern: "DELETE " + peer.PathMembers + "/{id}", Role: auth.RoleMaster, Handler: s.removeMember,
			Summary: "Remove a master from the Raft group",
			Params:  []endpoint.Param{member}, Out: endpoint.JSON(removed{})},
		{Pattern: "GET " + peer.PathReadIndex, Role: auth.RoleMaster, Handler: s.readIndex,
			Summary: "The leader's half of a follower's linearizable read: an index at or past every acknowledged write",
			Out:     endpoint.JSON(peer.ReadIndex{})},
		{Pattern: "GET " + peer.PathSelf, Role: auth.RoleMaster, Handler: s.self,
			Summary: "This master's own status, for the others' GET /v1/cluster",
			Out:     endpoint.JSON(api.Member{})},
		{Pattern: "GET /v1/snapshot", Role: auth.RoleAdmin, Handler: s.snapshot,
			Summary: "The whole desired state, for `orchctl snapshot save` and `orchd master restore`",
			Params:  []endpoint.Param{endpoint.Query("stale", "true answers from this master's copy without asking the leader")},
			Out:     endpoint.Opaque(api.ContentTypeSnapshot, "a backup: the magic ORCHBKP, a format version, a binary orch.v1.StateSnapshot and its SHA-256 (docs/ARCHITECTURE.md)")},
		{Pattern: "POST /v1/tokens", Role: auth.RoleAdmin, Handler: s.createToken,
			Summary: "Create a bearer token of a role, expiring after ttl if given; its secret is shown once",
			In:      endpoint.JSON(api.TokenRequest{}),
			Out:     endpoint.Body{Types: []string{api.ContentTypeJSON}, Schema: api.Token{}, Status: http.StatusCreated}},
		{Pattern: "GET /v1/tokens", Role: auth.RoleAdmin, Handler: s.listTokens,
			Summary: "The tokens the cluster accepts: id, role, creation, expiry and last use; never a secret or digest",
			Params:  []endpoint.Param{endpoint.Query("stale", "true answers from this master's copy without asking the leader")},
			Out:     endpoint.JSONList(api.TokenInfo{})},
		{Pattern: "DELETE /v1/tokens/{id}", Role: auth.RoleAdmin, Handler: s.revokeToken,
			Summary: "Revoke a token: every master refuses it once it has applied the revoke",
			Params:  []endpoint.Param{endpoint.Path("id", "the token's id, as GET /v1/tokens lists it")},
			Out:     endpoint.JSON(revoked{})},
		{Pattern: "POST /v1/ca/rotate", Role: auth.RoleAdmin, Handler: s.rotateCA,
			Summary: "Replace the cluster CA with no downtime (docs/ca-rotation.md): start a rotation, or with abort undo one still in its trust phase; the leader moves it through trust, sign and retire",
			In:      endpoint.JSON(api.RotateCARequest{}),
			Out:     endpoint.Body{Types: []string{api.ContentTypeJSON}, Schema: api.CARotation{}, Status: http.StatusAccepted}},
		{Pattern: "GET /v1/ca/rotation", Role: auth.RoleReader, Handler: s.caRotation,
			Summary: "Where a CA rotation stands: its phase (empty when none is under way), the masters and nodes that caught up, and who is awaited",
			Out:     endpoint.JSON(api.CARotation{})},
		{Pattern: "POST " + peer.PathTokenUse, Role: auth.RoleMaster, Handler: s.reportTokenUse,
			Summary: "A follower's report of when it last accepted each token, written through Raft at most once a minute per token",
			In:      endpoint.JSON(peer.TokenUse{}), Out: endpoint.Body{Status: http.StatusNoContent}},
	}
}

// removed is the answer to a member's removal: its id.
type removed struct {
	Removed string `json:"removed"`
}

// apply proposes cmd and turns a refused result into an error.
func (s *Server) apply(ctx context.Context, cmd *orchpb.Command) (*orchpb.CommandResult, error) {
	res, err := s.deps.Raft.Apply(ctx, cmd)
	if err != nil {
		return nil, err
	}
	if e := endpoint.ResultError(res); e != nil {
		return res, e
	}
	return res, nil
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	data, err := json.Marshal(v)
	if err != nil {
		api.WriteError(w, endpoint.ErrorOf(err))
		return
	}
	w.Header().Set("Content-Type", api.ContentTypeJSON)
	w.WriteHeader(status)
	_, _ = w.Write(append(data, '\n'))
}

func readJSON(r *http.Request, v any) *api.Error {
	dec := json.NewDecoder(io.LimitReader(r.Body, 64<<10))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return &api.Error{Code: api.CodeInvalid, Message: "body: " + err.Error(), Status: http.StatusBadRequest}
	}
	return nil
}

func setIndex(w http.ResponseWriter, index uint64) {
	w.Header().Set(api.HeaderIndex, strconv.FormatUint(index, 10))
}
