package raftnode

import (
	"context"
	"fmt"

	"github.com/hashicorp/raft"
)

// Server is one member of the Raft configuration.
type Server struct {
	ID, Address string
	// Role is "leader", "follower" (a voter), "nonvoter" or "staging".
	Role string
}

// AddVoter adds (or re-addresses) a voting master. Only the leader can;
// others get ErrNotLeader.
func (n *Node) AddVoter(ctx context.Context, id, addr string) error {
	timeout, err := timeoutOf(ctx)
	if err != nil {
		return err
	}
	if err := wait(ctx, n.raft.AddVoter(raft.ServerID(id), raft.ServerAddress(addr), 0, timeout)); err != nil {
		return n.mapErr(fmt.Sprintf("add voter %s at %s", id, addr), err, true)
	}
	return nil
}

// RemoveServer removes a master from the configuration. Only the leader
// can; others get ErrNotLeader. A leader removing itself steps down.
func (n *Node) RemoveServer(ctx context.Context, id string) error {
	timeout, err := timeoutOf(ctx)
	if err != nil {
		return err
	}
	if err := wait(ctx, n.raft.RemoveServer(raft.ServerID(id), 0, timeout)); err != nil {
		return n.mapErr("remove server "+id, err, true)
	}
	return nil
}

// Servers lists the members of the latest Raft configuration this master
// knows, in configuration order.
func (n *Node) Servers() ([]Server, error) {
	f := n.raft.GetConfiguration()
	if err := f.Error(); err != nil {
		return nil, n.mapErr("get configuration", err, false)
	}
	_, leader := n.raft.LeaderWithID()
	var out []Server
	for _, s := range f.Configuration().Servers {
		role := "follower"
		switch {
		case s.ID == leader:
			role = "leader"
		case s.Suffrage == raft.Nonvoter:
			role = "nonvoter"
		case s.Suffrage == raft.Staging:
			role = "staging"
		}
		out = append(out, Server{ID: string(s.ID), Address: string(s.Address), Role: role})
	}
	return out, nil
}
