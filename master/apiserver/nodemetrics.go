package apiserver

import (
	"context"
	"io"
	"net/http"

	"github.com/orch-io/orch/master/endpoint"
	orchpb "github.com/orch-io/orch/proto"
)

// maxNodeMetrics bounds a node's metrics answer: a few hundred series.
const maxNodeMetrics = 4 << 20

// NodeMetricsSource fetches a node's metrics from its agent (the
// dispatcher, over the node's authenticated endpoint).
type NodeMetricsSource interface {
	NodeMetrics(ctx context.Context, node *orchpb.Node) (io.ReadCloser, error)
}

// nodeMetrics answers GET /v1/nodes/{id}/metrics: the agent's own metrics
// (docs/metrics.md), which only masters may read from the agent.
func (s *Server) nodeMetrics(w http.ResponseWriter, r *http.Request) {
	n := s.findNode(r.PathValue("id"))
	if n == nil {
		writeError(w, endpoint.NotFound("node "+r.PathValue("id")+" not found"))
		return
	}
	if s.deps.NodeMetrics == nil {
		writeError(w, endpoint.NotFound("node metrics are not available on this master"))
		return
	}
	body, err := s.deps.NodeMetrics.NodeMetrics(r.Context(), n)
	if err != nil {
		writeError(w, endpoint.ErrorOf(err))
		return
	}
	defer body.Close()
	w.Header().Set("Content-Type", "text/plain; version=0.0.4; charset=utf-8")
	w.WriteHeader(http.StatusOK)
	_, _ = io.Copy(w, io.LimitReader(body, maxNodeMetrics))
}
