package disruption

import (
	"testing"

	orchpb "github.com/orch-io/orch/proto"
	"google.golang.org/protobuf/proto"
)

func TestAllowance(t *testing.T) {
	for _, c := range []struct{ desired, available, budget, want int32 }{
		{50, 50, 1, 1},
		{50, 49, 1, 0}, // one already down: nothing more may go
		{50, 48, 1, 0}, // more down than allowed: still never negative
		{3, 3, 0, 0},
		{3, 3, 3, 3},
		{3, 3, -1, 0},
		{0, 0, 1, 1},
		{5, 3, 2, 0},
		{5, 4, 2, 1},
	} {
		if got := Allowance(c.desired, c.available, c.budget); got != c.want {
			t.Errorf("Allowance(%d, %d, %d) = %d, want %d", c.desired, c.available, c.budget, got, c.want)
		}
	}
}

func TestLimitAndSlots(t *testing.T) {
	spec := &orchpb.ServiceSpec{}
	if Limit(spec, 2) != 2 {
		t.Error("no budget: the rollout's own limit")
	}
	spec.Disruption = &orchpb.DisruptionPolicy{MaxUnavailable: proto.Int32(0)}
	if Limit(spec, 2) != 0 {
		t.Error("a budget of 0 is stricter")
	}
	running := func(slot int32, state orchpb.ReplicaState) *orchpb.Replica {
		r := &orchpb.Replica{Slot: slot}
		r.SetObserved(state)
		return r
	}
	reps := []*orchpb.Replica{running(1, orchpb.ReplicaRunning), running(1, orchpb.ReplicaRunning),
		running(2, orchpb.ReplicaStarting), running(3, orchpb.ReplicaRunning), running(4, orchpb.ReplicaRunning)}
	if got := AvailableSlots(reps, 3); got != 2 {
		t.Errorf("AvailableSlots = %d, want 2 (slot 1 once, slot 2 starting, slot 4 beyond desired)", got)
	}
}
