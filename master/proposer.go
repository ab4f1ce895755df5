package master

import (
	"context"

	"github.com/orch-io/orch/master/endpoint"
	"github.com/orch-io/orch/master/raftnode"
	"github.com/orch-io/orch/master/store"
	orchpb "github.com/orch-io/orch/proto"
)

// gatedProposer is the one proposer every part of a master writes through:
// Raft, behind the store's check that the command is one every master can
// apply (store.AdmitCommand; during a rolling upgrade, old masters apply
// the same log).
type gatedProposer struct {
	raft  *raftnode.Node
	store *store.Store
}

var _ endpoint.Proposer = gatedProposer{}

func (p gatedProposer) Apply(ctx context.Context, cmd *orchpb.Command) (*orchpb.CommandResult, error) {
	if err := p.store.AdmitCommand(cmd); err != nil {
		return nil, err
	}
	return p.raft.Apply(ctx, cmd)
}

// proposer is the master's gated proposer.
func (m *Master) proposer() gatedProposer { return gatedProposer{raft: m.raft, store: m.store} }
