package master

import (
	"context"
	"sync"
	"time"

	"github.com/orch-io/orch/api"
)

// memberTimeout bounds how long GET /v1/cluster waits for each other
// master; one that does not answer in time is shown unhealthy.
const memberTimeout = time.Second

// Cluster answers GET /v1/cluster: Raft's membership, each master's API
// address from the replicated records, and each one's own view of itself
// (role, applied index, whether it knows a leader), asked in parallel.
func (m *Master) Cluster(ctx context.Context) (*api.Cluster, error) {
	servers, err := m.raft.Servers()
	if err != nil {
		return nil, err
	}
	leaderID, leaderAddr := m.raft.Leader()
	c := &api.Cluster{Leader: leaderAddr, LeaderID: leaderID, Index: m.store.Index()}
	if cfg := m.store.Config(); cfg != nil {
		c.ClusterID = cfg.GetClusterId()
	}
	c.Members = make([]api.Member, len(servers))
	var wg sync.WaitGroup
	for i, s := range servers {
		member := api.Member{ID: s.ID, RaftAddress: s.Address, Role: s.Role}
		if rec := m.store.Master(s.ID); rec != nil {
			member.APIAddress = rec.GetApiAddress()
			member.Protocol = api.ProtocolUnversioned.String()
			if rec.GetProtocol() != "" {
				member.Protocol = rec.GetProtocol()
			}
		}
		c.Members[i] = member
		if s.ID == m.cfg.NodeID {
			c.Members[i] = m.control.Status()
			c.Members[i].RaftAddress = s.Address
			c.Members[i].Protocol = member.Protocol
			continue
		}
		if member.APIAddress == "" {
			continue
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			ctx, cancel := context.WithTimeout(ctx, memberTimeout)
			defer cancel()
			got, err := m.peers.Self(ctx, member.APIAddress)
			if err != nil {
				return
			}
			c.Members[i].Role = got.Role
			c.Members[i].AppliedIndex = got.AppliedIndex
			c.Members[i].Healthy = got.Healthy
		}()
	}
	wg.Wait()
	return c, nil
}

// AssignmentStreams is how many nodes stream their assignments from this
// master now.
func (m *Master) AssignmentStreams() int { return m.dispatcher.Streams() }
