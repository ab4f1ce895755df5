package master

import (
	"context"

	"github.com/orch-io/orch/master/api/wire"
)

// Cluster answers GET /v1/cluster from Raft's view of the membership.
func (m *Master) Cluster(ctx context.Context) (*wire.Cluster, error) {
	servers, err := m.raft.Servers()
	if err != nil {
		return nil, err
	}
	_, leaderAddr := m.raft.Leader()
	c := &wire.Cluster{Leader: leaderAddr, Index: m.store.Index()}
	if cfg := m.store.Config(); cfg != nil {
		c.ClusterID = cfg.GetClusterId()
	}
	for _, s := range servers {
		member := wire.Member{ID: s.ID, RaftAddress: s.Address, Role: s.Role}
		if s.ID == m.cfg.NodeID {
			member.APIAddress = m.apiURL
			member.AppliedIndex = m.raft.AppliedIndex()
			member.Healthy = true
		}
		c.Members = append(c.Members, member)
	}
	return c, nil
}
