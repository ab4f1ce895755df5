package master

import (
	"context"
	"sync"

	"github.com/orch-io/orch/master/controllers"
)

// runLeaderWork starts the controllers when this master becomes leader and
// cancels them the moment it stops being one, so a deposed leader never
// acts on stale authority.
func (m *Master) runLeaderWork(ctx context.Context) {
	var (
		stop func()
		wg   sync.WaitGroup
	)
	stopWork := func() {
		if stop != nil {
			stop()
			wg.Wait()
			stop = nil
			m.log.Info("leader work stopped")
		}
	}
	defer stopWork()
	changes := m.raft.LeadershipChanges()
	if m.raft.IsLeader() {
		stop = m.startLeaderWork(ctx, &wg)
	}
	for {
		select {
		case <-ctx.Done():
			return
		case leader := <-changes:
			if leader && stop == nil {
				stop = m.startLeaderWork(ctx, &wg)
			} else if !leader {
				stopWork()
			}
		}
	}
}

func (m *Master) startLeaderWork(parent context.Context, wg *sync.WaitGroup) func() {
	ctx, cancel := context.WithCancel(parent)
	// One readiness clock, in this leader's memory, for the service
	// controller (rollout steps) and the update controller (deadlines).
	readiness := controllers.NewReadiness(nil)
	services := controllers.NewServiceController(controllers.ServiceDeps{Store: m.store, Proposer: m.proposer(), Logger: m.cfg.Logger, Readiness: readiness})
	updates := controllers.NewUpdateController(controllers.UpdateDeps{Store: m.store, Proposer: m.proposer(), Logger: m.cfg.Logger, Readiness: readiness})
	nodes := controllers.NewNodeController(controllers.NodeDeps{
		Store: m.store, Proposer: m.proposer(), Heartbeats: m.dispatcher, Timeout: m.cfg.NodeTimeout, Logger: m.cfg.Logger,
	})
	wg.Add(1)
	go func() {
		defer wg.Done()
		// A new leader may not have applied its whole log yet (after a
		// restart, entries are applied only once the new term commits).
		// Controllers acting on a partial store would replace replicas that
		// still exist, so they wait until every committed entry is applied.
		index, err := m.raft.VerifyLeader(ctx)
		if err == nil {
			err = m.store.WaitIndex(ctx, index)
		}
		if err != nil {
			m.log.Warn("leader work not started: store did not catch up", "err", err)
			return
		}
		m.log.Info("leader work started", "index", m.store.Index())
		var inner sync.WaitGroup
		jobs := controllers.NewJobController(controllers.JobDeps{Store: m.store, Proposer: m.proposer(), Logger: m.cfg.Logger})
		rotation := controllers.NewCARotationController(controllers.CARotationDeps{Store: m.store, Proposer: m.proposer(), Masters: m.peers, Logger: m.cfg.Logger})
		runs := []func(context.Context) error{services.Run, nodes.Run, updates.Run, jobs.Run, rotation.Run}
		if m.cfg.Rebalance {
			runs = append(runs, controllers.NewRebalanceController(controllers.RebalanceDeps{Store: m.store, Proposer: m.proposer(), Logger: m.cfg.Logger}).Run)
		}
		for _, run := range runs {
			inner.Add(1)
			go func() {
				defer inner.Done()
				if err := run(ctx); err != nil {
					m.log.Error("controller stopped", "err", err)
				}
			}()
		}
		inner.Wait()
	}()
	return cancel
}
