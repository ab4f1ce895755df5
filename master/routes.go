package master

import (
	"github.com/orch-io/orch/master/controlplane"
	"github.com/orch-io/orch/master/dispatcher"
	"github.com/orch-io/orch/master/endpoint"
)

// extraRoutes are the routes the agent channel (the dispatcher) and the
// control plane add to the API server's own. The API reference's test
// builds its server with this same list, so that docs/openapi.json covers
// every route a master serves.
func extraRoutes(d *dispatcher.Dispatcher, c *controlplane.Server) []endpoint.Route {
	return append(d.Routes(), c.Routes()...)
}
