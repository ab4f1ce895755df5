package controllers

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"time"

	"github.com/orch-io/orch/master/endpoint"

	"github.com/orch-io/orch/master/store"
	orchpb "github.com/orch-io/orch/proto"
)

// ServiceController keeps every service's replicas in line with its spec.
type ServiceController struct {
	store    *store.Store
	proposer endpoint.Proposer
	log      *slog.Logger
	newID    func() string
	resync   time.Duration
	ready    *Readiness

	// cursor is where the last pass read the store; carry are services a
	// pass left unsettled (replicas it could not place, writes refused), so
	// that the next pass looks at them again even if nothing of theirs
	// changed: room may have been freed by another service.
	cursor store.Cursor
	carry  map[store.ServiceKey]bool
	wakes  readyWakes
}

// ServiceDeps are the service controller's dependencies.
type ServiceDeps struct {
	Store    *store.Store
	Proposer endpoint.Proposer
	Logger   *slog.Logger
	// NewID names new replicas; nil means random 12-hex-digit ids.
	NewID func() string
	// Resync is how often it reconciles every service though nothing
	// changed (default 10s), a safety net: changes, services left
	// unsettled and replicas that come of age (update.minHealthy) are
	// revisited as they happen.
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
		d.Resync = 10 * time.Second
	}
	if d.Readiness == nil {
		d.Readiness = NewReadiness(nil)
	}
	return &ServiceController{store: d.Store, proposer: d.Proposer, log: d.Logger.With("controller", "service"),
		newID: d.NewID, resync: d.Resync, ready: d.Readiness}
}

// Run reconciles on every store change and on timers until ctx ends. A
// change revisits only the services it touched (their spec or replicas; a
// node's change, those with replicas on it and the global ones), and so
// does the time a service waits for (a replica that will have run for
// update.minHealthy); the resync timer and a lost history revisit every
// service.
func (c *ServiceController) Run(ctx context.Context) error {
	changed, cancel := c.store.Notify()
	defer cancel()
	tick := time.NewTicker(c.resync)
	defer tick.Stop()
	wake := time.NewTimer(time.Hour)
	defer wake.Stop()
	everything := true
	for {
		if err := c.reconcileOnce(ctx, everything); err != nil && ctx.Err() == nil {
			c.log.Warn("reconcile failed", "err", err)
		}
		c.armWake(wake)
		select {
		case <-wake.C:
			everything = false
		case <-ctx.Done():
			return nil
		case <-changed:
			// Let a burst (parallel applies, a wave of status reports)
			// land first: one pass over it beats one pass per change.
			if !sleep(ctx, coalesceService) {
				return nil
			}
			everything = false
		case <-tick.C:
			everything = true
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

func (c *ServiceController) reconcileOnce(ctx context.Context, everything bool) error {
	env := Env{NewID: c.newID, Ready: c.readyOrWake}
	var ch *Changes
	// The cursor is taken before the state is read, so that nothing
	// applied in between goes unseen.
	var keys []store.ServiceKey
	all, next := true, c.store.Cursor()
	if !everything {
		keys, all, next = c.store.ChangedServices(c.cursor)
	}
	start := time.Now()
	if all {
		c.wakes.reset() // the pass records again what still waits
		reps := c.store.AllReplicas()
		c.ready.Observe(reps)
		ch = reconcileAll(c.store, reps, env)
	} else {
		for key := range c.carry {
			keys = append(keys, key)
		}
		keys = append(keys, c.wakes.due(c.ready.Now())...)
		slices.SortFunc(keys, compareKeys)
		keys = slices.Compact(keys)
		if len(keys) == 0 {
			c.cursor = next
			return nil
		}
		groups := readGroups(c.store, keys)
		for _, g := range groups {
			c.ready.ObserveSome(g.reps)
		}
		ch = reconcileGroups(c.store, groups, c.store.AllReplicas, env)
	}
	observePass(all, start, ch)
	// Changes made from here on (this pass's own writes included) are the
	// next pass's to look at.
	c.cursor = next
	c.carry = unsettled(ch)
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
			c.carryAll(batch)
			return fmt.Errorf("controllers: write %d replicas: %w", len(batch), err)
		}
		for _, rep := range batch {
			why, refused := res.GetRejected()[rep.GetId()]
			if !refused {
				continue
			}
			// Someone wrote first (an agent report, a node change) or the
			// plan no longer fits: the next pass decides again on fresh state.
			c.log.Debug("replica write rejected", "replica", rep.GetId(), "reason", why)
			c.carryAll([]*orchpb.Replica{rep})
		}
	}
	if len(ch.Delete) > 0 {
		cmd := &orchpb.Command{Op: &orchpb.Command_DeleteReplicas{DeleteReplicas: &orchpb.DeleteReplicas{Ids: ch.Delete}}}
		if _, err := c.proposer.Apply(ctx, cmd); err != nil {
			// The replicas are unchanged, so no event brings them back:
			// only the next full pass would.
			c.cursor = store.Cursor{}
			return fmt.Errorf("controllers: delete %d replicas: %w", len(ch.Delete), err)
		}
	}
	return nil
}

// unsettled are the services a pass leaves needing another look although
// nothing of theirs may change: those with replicas to place (one the
// scheduler found no room for keeps its reason and is not written again)
// and global replicas no node had room for.
func unsettled(ch *Changes) map[store.ServiceKey]bool {
	out := map[store.ServiceKey]bool{}
	for _, key := range ch.Placing {
		out[key] = true
	}
	for _, u := range ch.Unplaceable {
		out[store.ServiceKey{Namespace: u.Namespace, Name: u.Service}] = true
	}
	return out
}

func (c *ServiceController) carryAll(reps []*orchpb.Replica) {
	for _, rep := range reps {
		c.carry[store.ServiceKey{Namespace: rep.GetNamespace(), Name: rep.GetService()}] = true
	}
}

func compareKeys(a, b store.ServiceKey) int {
	if c := strings.Compare(a.Namespace, b.Namespace); c != 0 {
		return c
	}
	return strings.Compare(a.Name, b.Name)
}

func randomID() string {
	var b [6]byte
	if _, err := rand.Read(b[:]); err != nil {
		panic("controllers: crypto/rand failed: " + err.Error())
	}
	return hex.EncodeToString(b[:])
}
