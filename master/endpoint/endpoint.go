// Package endpoint is what every part of the master that answers requests
// shares: the Route (pattern, required role, description, handler) through
// which the API server, the dispatcher and the control plane declare their
// endpoints, the
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

// Route is one endpoint with the role it needs and its description. Other
// packages (the dispatcher, the control plane) contribute routes so that
// every endpoint declares its role and its documentation next to its
// definition; the API reference (GET /v1/openapi.json) is built from them.
type Route struct {
	Pattern string // net/http ServeMux pattern, "METHOD /path/{var}"
	Role    auth.Role
	Handler http.HandlerFunc
	// Summary is the route's line in the API reference. Every route has
	// one: the reference's test fails on a route without.
	Summary string
	// Params are the query parameters and headers the handler reads.
	Params []Param
	// In is the request body, Out the successful answer; zero when there is
	// none.
	In, Out Body
}

// Public marks a route that needs no token.
const Public auth.Role = ""
