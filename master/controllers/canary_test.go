package controllers

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/orch-io/orch/master/store"
	orchpb "github.com/orch-io/orch/proto"
)

// canaryImages counts the live replicas per image and which slots run image.
func (r *rollout) slotsOf(image string) map[int32]bool {
	out := map[int32]bool{}
	for _, rep := range r.live("web") {
		if rep.GetSpec().GetImage() == image {
			out[rep.GetSlot()] = true
		}
	}
	return out
}

func (r *rollout) propose(cmd *orchpb.Command) *orchpb.CommandResult {
	r.t.Helper()
	res, _ := proposer{r.cluster}.Apply(context.Background(), cmd)
	return res
}

// TestCanaryPromote: update.canary: 1 moves slot 1 only, pauses with a
// message once it is healthy, and a promotion finishes the rollout.
func TestCanaryPromote(t *testing.T) {
	r := newRollout(t, 2)
	r.service(webSpec("web:1", 4, "canary: 1"))
	r.step(nil)
	r.step(nil)
	r.service(webSpec("web:2", 4, "canary: 1"))
	if u := r.update(); u.GetCanary() != 1 {
		t.Fatalf("update %v: want a canary stage of 1", u)
	}
	for range 6 {
		r.step(nil)
	}
	if got := r.slotsOf("web:2"); len(got) != 1 || !got[1] {
		t.Fatalf("web:2 runs in slots %v, want slot 1 only", got)
	}
	if n := r.count("web"); n.images["web:1"] != 3 || n.live != 4 {
		t.Fatalf("%+v: want 3 replicas left on web:1", n)
	}
	u := r.update()
	if u.RolloutState() != orchpb.UpdatePaused || !strings.Contains(u.GetMessage(), "canary: 1/4 replicas of generation 2 healthy") {
		t.Fatalf("update %v: want paused for promotion", u)
	}
	r.clk.advance(time.Hour)
	r.step(nil)
	if r.update().RolloutState() != orchpb.UpdatePaused {
		t.Fatal("without autoPromote the canary waits for an operator")
	}

	res := r.propose(&orchpb.Command{Op: &orchpb.Command_SetUpdateStatus{SetUpdateStatus: &orchpb.SetUpdateStatus{
		Namespace: "default", Name: "web", Status: Promoted(r.svc("web"), "canaries promoted")}}})
	if res.GetErrorCode() != "" {
		t.Fatal(res.GetError())
	}
	// A pause decided before the promotion cannot bring the stage back.
	late := &orchpb.UpdateStatus{Generation: 2, State: string(orchpb.UpdatePaused), Canary: 1}
	if res := r.propose(&orchpb.Command{Op: &orchpb.Command_SetUpdateStatus{SetUpdateStatus: &orchpb.SetUpdateStatus{
		Namespace: "default", Name: "web", Status: late}}}); res.GetErrorCode() != orchpb.ResultConflict {
		t.Fatalf("a canary stage came back after promotion: %v", res)
	}
	for range 12 {
		r.step(nil)
	}
	if u := r.update(); u.RolloutState() != orchpb.UpdateCompleted {
		t.Fatalf("update %v: want completed after promotion", u)
	}
	if n := r.count("web"); n.images["web:2"] != 4 || n.live != 4 {
		t.Fatalf("%+v: want all 4 on web:2", n)
	}
}

// TestCanaryAbortKeepsTheOthers: aborting rolls back, replacing only the
// canary; the replicas that never left the old spec keep running.
func TestCanaryAbortKeepsTheOthers(t *testing.T) {
	r := newRollout(t, 2)
	r.service(webSpec("web:1", 3, "canary: 1"))
	r.step(nil)
	r.step(nil)
	before := map[string]bool{}
	for _, rep := range r.live("web") {
		before[rep.GetId()] = true
	}
	r.service(webSpec("web:2", 3, "canary: 1"))
	for range 6 {
		r.step(nil)
	}
	res := r.propose(&orchpb.Command{Op: &orchpb.Command_RollbackService{RollbackService: &orchpb.RollbackService{
		Namespace: "default", Name: "web", IfGeneration: 2, Reason: "canary aborted"}}})
	if res.GetErrorCode() != "" {
		t.Fatal(res.GetError())
	}
	for range 10 {
		r.step(nil)
	}
	if u := r.update(); u.RolloutState() != orchpb.UpdateRolledBack || u.GetKeptGeneration() != 1 {
		t.Fatalf("update %v: want rolled_back keeping generation 1", u)
	}
	kept := 0
	for _, rep := range r.live("web") {
		if before[rep.GetId()] {
			kept++
		}
		if rep.GetSpec().GetImage() != "web:1" {
			t.Errorf("replica %s runs %s after the abort", rep.GetId(), rep.GetSpec().GetImage())
		}
	}
	if kept != 2 || len(r.live("web")) != 3 {
		t.Fatalf("%d of the original replicas kept among %d live, want 2 of 3 (only the canary's slot replaced)", kept, len(r.live("web")))
	}
}

// TestCanaryAutoPromote: with update.autoPromote the canaries promote
// themselves once healthy that long.
func TestCanaryAutoPromote(t *testing.T) {
	r := newRollout(t, 2)
	r.service(webSpec("web:1", 3, "canary: 1, autoPromote: 30s"))
	r.step(nil)
	r.step(nil)
	r.service(webSpec("web:2", 3, "canary: 1, autoPromote: 30s"))
	for range 4 {
		r.step(nil)
	}
	if u := r.update(); u.RolloutState() != orchpb.UpdatePaused || !strings.Contains(u.GetMessage(), "automatic after 30s") {
		t.Fatalf("update %v: want paused, promoting after 30s", u)
	}
	r.clk.advance(20 * time.Second)
	r.step(nil)
	if r.update().RolloutState() != orchpb.UpdatePaused {
		t.Fatal("promoted before 30s")
	}
	r.clk.advance(15 * time.Second)
	for range 10 {
		r.step(nil)
	}
	if u := r.update(); u.RolloutState() != orchpb.UpdateCompleted {
		t.Fatalf("update %v: want completed after the automatic promotion", u)
	}
}

// TestCanaryNeedsEveryMaster: while a master of v0.1.0 is recorded, the FSM
// does not start a canary stage (its followers would not either).
func TestCanaryNeedsEveryMaster(t *testing.T) {
	r := newRollout(t, 1)
	r.apply(&orchpb.Command{Op: &orchpb.Command_PutMaster{PutMaster: &orchpb.PutMaster{Master: &orchpb.Master{Id: "m-old"}}}})
	if p, who := r.st.MastersProtocol(); p != store.ProtocolCanary.Prev() || who != "m-old" {
		t.Fatalf("MastersProtocol = %v %q", p, who)
	}
	r.service(webSpec("web:1", 2, "canary: 1"))
	r.service(webSpec("web:2", 2, "canary: 1"))
	if u := r.update(); u.GetCanary() != 0 {
		t.Fatalf("update %v: a canary stage with a v0.1.0 master recorded", u)
	}
}
