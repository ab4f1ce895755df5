// Package endpoint is what every part of the master that answers requests
// shares: the Route (pattern, required role, handler) through which the API
// server, the dispatcher and the control plane declare their endpoints, the
// Proposer through which a request becomes a Raft command, and the one
// mapping from errors of any layer to the API's error body and HTTP status.
//
// It holds no handlers and no state; it must not import the packages that
// declare routes (apiserver, dispatcher, controlplane) or the controllers.
package endpoint

import (
	"context"
	"net/http"

	"github.com/orch-io/orch/master/auth"
	orchpb "github.com/orch-io/orch/proto"
)

// Proposer puts a command through Raft and returns the FSM's result. It
// returns an error wrapping raftnode.ErrNotLeader when no leader can take it.
type Proposer interface {
	Apply(ctx context.Context, cmd *orchpb.Command) (*orchpb.CommandResult, error)
}

// Route is one endpoint with the role it needs. Other packages (the
// dispatcher) contribute routes so that every endpoint declares its role
// next to its definition.
type Route struct {
	Pattern string // net/http ServeMux pattern, "METHOD /path/{var}"
	Role    auth.Role
	Handler http.HandlerFunc
}

// Public marks a route that needs no token.
const Public auth.Role = ""
