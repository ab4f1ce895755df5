package hollow_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/orch-io/orch/hollow"
	"github.com/orch-io/orch/master/store"
	orchpb "github.com/orch-io/orch/proto"
)

// BenchmarkDrain drains a hollow node holding all 50 replicas of a service
// whose update policy would let 10 stop at once but whose disruption
// budget lets 1: the time until the node holds nothing, and the fewest
// slots with a running replica seen after any Raft entry (the budget says
// never below 49). Run with -benchtime 1x.
func BenchmarkDrain(b *testing.B) {
	const desired = 50
	for range b.N {
		c := startCluster(b, 0)
		big := &orchpb.ResourceAmounts{CpuMillis: 64000, MemoryBytes: 256 << 30}
		first := c.fleet(hollow.Config{Count: 1, Prefix: "d", Capacity: big})
		c.apply(fmt.Sprintf("kind: Service\nname: web\nreplicas: %d\nimage: web:1\nresources: {cpu: 100m}\n"+
			"update: {maxSurge: 0, maxUnavailable: 10}\ndisruption: {maxUnavailable: 1}\n", desired))
		c.running("web", desired, time.Minute)
		c.fleet(hollow.Config{Count: 3, Prefix: "d", First: 2, Capacity: big})
		c.eventually(time.Minute, "4 nodes ready", func() error {
			ready := 0
			for _, n := range c.m.Store().Nodes() {
				if n.Status() == orchpb.NodeReady {
					ready++
				}
			}
			if ready != 4 {
				return fmt.Errorf("%d ready", ready)
			}
			return nil
		})
		victim := first.Nodes()[0].ID()

		st := c.m.Store()
		ctx, cancel := context.WithCancel(c.ctx)
		events, err := st.Watch(ctx, st.Index())
		if err != nil {
			b.Fatal(err)
		}
		lowest := make(chan int32, 1)
		go func() {
			lowest <- lowestAvailable(events, st.Replicas(store.ReplicaFilter{Namespace: "default", Service: "web"}), desired)
		}()

		b.ResetTimer()
		start := time.Now()
		if _, err := c.api.SetNodeState(c.ctx, "d-1", "drain"); err != nil {
			b.Fatal(err)
		}
		c.eventually(5*time.Minute, "the node is empty and every slot runs elsewhere", func() error {
			left, running := 0, 0
			for _, r := range st.Replicas(store.ReplicaFilter{Namespace: "default", Service: "web"}) {
				switch {
				case r.GetNode() == victim && !r.Terminal():
					left++
				case r.Desired() == orchpb.DesiredRunning && r.Observed() == orchpb.ReplicaRunning:
					running++
				}
			}
			if left != 0 || running != desired {
				return fmt.Errorf("%d left on the node, %d of %d running elsewhere", left, running, desired)
			}
			return nil
		})
		took := time.Since(start)
		b.StopTimer()
		cancel()
		low := <-lowest
		if low < desired-1 {
			b.Errorf("only %d of %d slots ran at one point: the budget of 1 was broken", low, desired)
		}
		b.ReportMetric(took.Seconds(), "drain-s")
		b.ReportMetric(float64(low), "lowest-available")
		b.ReportMetric(desired, "desired")
	}
}

// lowestAvailable follows the store's changes until events ends and
// returns the fewest slots (1..desired) that had a replica meant to run and
// running, counted after each whole Raft entry.
func lowestAvailable(events <-chan store.Event, initial []*orchpb.Replica, desired int32) int32 {
	reps := map[string]*orchpb.Replica{}
	for _, r := range initial {
		reps[r.GetId()] = r
	}
	count := func() int32 {
		slots := map[int32]bool{}
		for _, r := range reps {
			if r.Desired() == orchpb.DesiredRunning && r.Observed() == orchpb.ReplicaRunning && r.GetSlot() >= 1 && r.GetSlot() <= desired {
				slots[r.GetSlot()] = true
			}
		}
		return int32(len(slots))
	}
	low, index := count(), uint64(0)
	for ev := range events {
		if ev.Index != index && index != 0 {
			low = min(low, count())
		}
		index = ev.Index
		r, ok := ev.Object.(*orchpb.Replica)
		if !ok || r.GetService() != "web" {
			continue
		}
		if ev.Type == store.EventDelete {
			delete(reps, r.GetId())
		} else {
			reps[r.GetId()] = r
		}
	}
	return min(low, count())
}
