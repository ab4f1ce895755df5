package controllers

import (
	"context"
	"fmt"
	"log/slog"
	"strings"
	"time"

	"github.com/orch-io/orch/master/endpoint"
	"github.com/orch-io/orch/master/store"
	orchpb "github.com/orch-io/orch/proto"
)

// caRotationPoll is how often the controller looks again without a store
// change (a master's record or a node's report changes the store).
const caRotationPoll = time.Second

// CARotationDeps are what the CA rotation controller needs.
type CARotationDeps struct {
	Store    *store.Store
	Proposer endpoint.Proposer
	Logger   *slog.Logger
}

// CARotationController moves a CA rotation along (docs/ca-rotation.md):
// from trust to sign once every master and every live node trusts both
// CAs, from sign to retire once each holds a certificate the new CA
// signed. It reads the phase from the store, so a new leader resumes
// what its predecessor started; every step is idempotent. Leader-only.
type CARotationController struct {
	deps CARotationDeps
	log  *slog.Logger
	// said is the last progress line logged, so that each is said once.
	said string
}

// NewCARotationController builds the controller; Run starts it.
func NewCARotationController(deps CARotationDeps) *CARotationController {
	if deps.Logger == nil {
		deps.Logger = slog.Default()
	}
	return &CARotationController{deps: deps, log: deps.Logger.With("component", "ca-rotation")}
}

// Run drives the rotation until ctx ends.
func (c *CARotationController) Run(ctx context.Context) error {
	changed, cancel := c.deps.Store.Notify()
	defer cancel()
	tick := time.NewTicker(caRotationPoll)
	defer tick.Stop()
	for {
		if err := c.step(ctx); err != nil && ctx.Err() == nil {
			c.log.Warn("ca rotation: could not move to the next phase", "err", err)
		}
		select {
		case <-ctx.Done():
			return nil
		case <-changed:
		case <-tick.C:
		}
	}
}

// step proposes the next phase when everyone caught up with this one.
func (c *CARotationController) step(ctx context.Context) error {
	rot := c.deps.Store.Config().GetRotation()
	if rot == nil {
		return nil
	}
	st := c.deps.Store.CARotationStatus()
	line := fmt.Sprintf("ca rotation: %s reached %d/%d masters, %d/%d nodes", st.Phase, st.Masters.Ready, st.Masters.Total, st.Nodes.Ready, st.Nodes.Total)
	if len(st.Waiting) > 0 {
		line += "; waiting for " + strings.Join(st.Waiting, ", ")
	}
	if line != c.said {
		c.said = line
		c.log.Info(line)
	}
	if !st.Ready {
		return nil
	}
	next := store.CAPhaseSign
	if rot.GetPhase() == store.CAPhaseSign {
		next = store.CAPhaseRetire
	}
	cmd := &orchpb.Command{Op: &orchpb.Command_RotateCa{RotateCa: &orchpb.RotateCA{
		Phase: next, Rotation: &orchpb.CARotation{NextCertPem: rot.GetNextCertPem()}, At: time.Now().UnixMilli()}}}
	res, err := c.deps.Proposer.Apply(ctx, cmd)
	if err == nil && res.GetErrorCode() != "" {
		err = fmt.Errorf("%s", res.GetError())
	}
	if err != nil {
		return fmt.Errorf("ca rotation: propose %s: %w", next, err)
	}
	c.log.Info("ca rotation: phase " + next)
	return nil
}
