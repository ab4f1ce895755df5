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
}

// ServiceDeps are the service controller's dependencies.
type ServiceDeps struct {
	Store    *store.Store
	Proposer Proposer
	Logger   *slog.Logger
	// NewID names new replicas; nil means random 12-hex-digit ids.
	NewID func() string
	// Resync is how often it reconciles with no change seen (default 1s).
	Resync time.Duration
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
	return &ServiceController{store: d.Store, proposer: d.Proposer, log: d.Logger.With("controller", "service"), newID: d.NewID, resync: d.Resync}
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
		case <-tick.C:
		}
	}
}

func (c *ServiceController) reconcileOnce(ctx context.Context) error {
	ch := Reconcile(c.store, c.newID)
	if ch.Empty() {
		return nil
	}
	if len(ch.Put) > 0 {
		cmd := &orchpb.Command{Op: &orchpb.Command_PutReplicas{PutReplicas: &orchpb.PutReplicas{Replicas: ch.Put, ExpectedVersions: ch.Expected}}}
		res, err := c.proposer.Apply(ctx, cmd)
		if err != nil {
			return fmt.Errorf("controllers: write %d replicas: %w", len(ch.Put), err)
		}
		for id, why := range res.GetRejected() {
			// Someone wrote first (an agent report, a node change): the next
			// pass decides again on fresh state.
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
