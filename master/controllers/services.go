package controllers

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"log/slog"
	"time"

	"github.com/orch-io/orch/master/store"
	orchpb "github.com/orch-io/orch/proto"
)

// ServiceController keeps every service's replicas in line with its spec.
type ServiceController struct {
	store    *store.Store
	proposer Proposer
	log      *slog.Logger
	newID    func() string
	resync   time.Duration
	ready    *Readiness
}

// ServiceDeps are the service controller's dependencies.
type ServiceDeps struct {
	Store    *store.Store
	Proposer Proposer
	Logger   *slog.Logger
	// NewID names new replicas; nil means random 12-hex-digit ids.
	NewID func() string
	// Resync is how often it reconciles with no change seen (default 1s):
	// what moves a rollout on once update.minHealthy has passed.
	Resync time.Duration
	// Readiness is the leader's memory of how long replicas have run; the
	// update controller shares it. Nil means a private one.
	Readiness *Readiness
}

// NewServiceController builds the controller.
func NewServiceController(d ServiceDeps) *ServiceController {
	if d.Logger == nil {
		d.Logger = slog.Default()
	}
	if d.NewID == nil {
		d.NewID = randomID
	}
	if d.Resync <= 0 {
		d.Resync = time.Second
	}
	if d.Readiness == nil {
		d.Readiness = NewReadiness(nil)
	}
	return &ServiceController{store: d.Store, proposer: d.Proposer, log: d.Logger.With("controller", "service"),
		newID: d.NewID, resync: d.Resync, ready: d.Readiness}
}

// Run reconciles on every store change and on a timer until ctx ends.
func (c *ServiceController) Run(ctx context.Context) error {
	changed, cancel := c.store.Notify()
	defer cancel()
	tick := time.NewTicker(c.resync)
	defer tick.Stop()
	for {
		if err := c.reconcileOnce(ctx); err != nil && ctx.Err() == nil {
			c.log.Warn("reconcile failed", "err", err)
		}
		select {
		case <-ctx.Done():
			return nil
		case <-changed:
			// Let a burst (parallel applies, a wave of status reports)
			// land first: one pass over it beats one pass per change.
			if !sleep(ctx, coalesceService) {
				return nil
			}
		case <-tick.C:
		}
	}
}

// coalesceService is how long a change waits for the ones right behind it.
const coalesceService = 5 * time.Millisecond

func sleep(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return false
	case <-t.C:
		return true
	}
}

// maxPutBatch bounds one PutReplicas command, so that a huge plan (a
// 30,000-replica apply) becomes a few Raft entries of a few MB each rather
// than one that stalls replication.
const maxPutBatch = 4096

func (c *ServiceController) reconcileOnce(ctx context.Context) error {
	all := c.store.AllReplicas()
	c.ready.Observe(all)
	ch := reconcileAll(c.store, all, Env{NewID: c.newID, Ready: c.ready.Ready})
	if ch.Empty() {
		return nil
	}
	for start := 0; start < len(ch.Put); start += maxPutBatch {
		batch := ch.Put[start:min(start+maxPutBatch, len(ch.Put))]
		expected := make(map[string]uint64, len(batch))
		for _, rep := range batch {
			if v, ok := ch.Expected[rep.GetId()]; ok {
				expected[rep.GetId()] = v
			}
		}
		cmd := &orchpb.Command{Op: &orchpb.Command_PutReplicas{PutReplicas: &orchpb.PutReplicas{Replicas: batch, ExpectedVersions: expected}}}
		res, err := c.proposer.Apply(ctx, cmd)
		if err != nil {
			return fmt.Errorf("controllers: write %d replicas: %w", len(batch), err)
		}
		for id, why := range res.GetRejected() {
			// Someone wrote first (an agent report, a node change) or the
			// plan no longer fits: the next pass decides again on fresh state.
			c.log.Debug("replica write rejected", "replica", id, "reason", why)
		}
	}
	if len(ch.Delete) > 0 {
		cmd := &orchpb.Command{Op: &orchpb.Command_DeleteReplicas{DeleteReplicas: &orchpb.DeleteReplicas{Ids: ch.Delete}}}
		if _, err := c.proposer.Apply(ctx, cmd); err != nil {
			return fmt.Errorf("controllers: delete %d replicas: %w", len(ch.Delete), err)
		}
	}
	return nil
}

func randomID() string {
	var b [6]byte
	if _, err := rand.Read(b[:]); err != nil {
		panic("controllers: crypto/rand failed: " + err.Error())
	}
	return hex.EncodeToString(b[:])
}
