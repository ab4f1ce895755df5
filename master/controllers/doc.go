// Package controllers holds the leader-only reconcilers: the service
// controller turns each service into replicas, places them through the pure
// scheduler and replaces the ones that failed for good or were lost; the
// node controller turns missed heartbeats into `down` nodes and lost
// replicas.
//
// Each is New(deps) + Run(ctx): level-triggered, it reads the store,
// decides, and writes only through Raft; a new leader simply starts them and
// a deposed one cancels their context. They never call one another and
// never talk to agents.
package controllers

import (
	"context"

	orchpb "github.com/orch-io/orch/proto"
)

// Proposer puts a command through Raft.
type Proposer interface {
	Apply(ctx context.Context, cmd *orchpb.Command) (*orchpb.CommandResult, error)
}
