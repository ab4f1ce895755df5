package agent

import (
	"testing"
	"time"

	orchpb "github.com/orch-io/orch/proto"
)

func statusReport(states ...string) *orchpb.StatusReport {
	r := &orchpb.StatusReport{NodeId: "n1"}
	for i := 0; i+1 < len(states); i += 2 {
		r.Statuses = append(r.Statuses, &orchpb.ReplicaStatus{Id: states[i], State: states[i+1]})
	}
	return r
}

func sentIDs(r *orchpb.StatusReport) []string {
	var out []string
	for _, st := range r.GetStatuses() {
		out = append(out, st.GetId()+"="+st.GetState())
	}
	return out
}

// TestStatusDeltaSendsOnlyChanges: the first report carries every status,
// later ones only what changed, and a move to another master or the full
// interval sends everything again.
func TestStatusDeltaSendsOnlyChanges(t *testing.T) {
	var d statusDelta
	now := time.Unix(1000, 0)
	send := func(report *orchpb.StatusReport, master string, at time.Time, wantFull bool, want ...string) {
		t.Helper()
		sent, full := d.trim(report, master, at)
		if full != wantFull || len(sentIDs(sent)) != len(want) {
			t.Fatalf("sent %v (full %v), want %v (full %v)", sentIDs(sent), full, want, wantFull)
		}
		for i, w := range want {
			if sentIDs(sent)[i] != w {
				t.Fatalf("sent %v, want %v", sentIDs(sent), want)
			}
		}
		d.acknowledge(report, sent, full, master, at)
	}
	send(statusReport("r1", "running", "r2", "starting"), "m1", now, true, "r1=running", "r2=starting")
	send(statusReport("r1", "running", "r2", "starting"), "m1", now.Add(time.Second), false)
	send(statusReport("r1", "running", "r2", "running"), "m1", now.Add(2*time.Second), false, "r2=running")
	// r2 left the agent; when it comes back (same id) it is news again.
	send(statusReport("r1", "running"), "m1", now.Add(3*time.Second), false)
	send(statusReport("r1", "running", "r2", "running"), "m1", now.Add(4*time.Second), false, "r2=running")
	send(statusReport("r1", "running", "r2", "running"), "m2", now.Add(5*time.Second), true, "r1=running", "r2=running")
	send(statusReport("r1", "running", "r2", "running"), "m2", now.Add(5*time.Second+fullReportInterval), true, "r1=running", "r2=running")
	send(statusReport("r1", "running", "r2", "running"), "m2", now.Add(6*time.Second+fullReportInterval), false)
	// The stream opened again: the master may have lost what it took.
	d.resync()
	send(statusReport("r1", "running", "r2", "running"), "m2", now.Add(7*time.Second+fullReportInterval), true, "r1=running", "r2=running")
	// A resync while a trimmed report is on its way: its answer does not
	// undo the resync.
	report := statusReport("r1", "running", "r2", "stopped")
	sent, full := d.trim(report, "m2", now.Add(8*time.Second+fullReportInterval))
	d.resync()
	d.acknowledge(report, sent, full, "m2", now.Add(8*time.Second+fullReportInterval))
	send(report, "m2", now.Add(9*time.Second+fullReportInterval), true, "r1=running", "r2=stopped")
}

// TestStatusDeltaResendsWhatWasNotTaken: a report the master did not take
// (no acknowledge) is in the next one again.
func TestStatusDeltaResendsWhatWasNotTaken(t *testing.T) {
	var d statusDelta
	now := time.Unix(1000, 0)
	first := statusReport("r1", "starting")
	sent, full := d.trim(first, "m1", now)
	d.acknowledge(first, sent, full, "m1", now)
	changed := statusReport("r1", "running")
	if sent, _ := d.trim(changed, "m1", now.Add(time.Second)); len(sent.GetStatuses()) != 1 {
		t.Fatalf("sent %v", sentIDs(sent))
	}
	if sent, _ := d.trim(changed, "m1", now.Add(2*time.Second)); len(sent.GetStatuses()) != 1 {
		t.Fatalf("a change the master did not take was not sent again: %v", sentIDs(sent))
	}
	withUsage := statusReport("r1", "starting")
	withUsage.VolumeUsage = []*orchpb.VolumeSize{{CreateIndex: 4, SizeBytes: 10}}
	if sent, _ := d.trim(withUsage, "m1", now.Add(3*time.Second)); len(sent.GetVolumeUsage()) != 1 {
		t.Fatal("new volume usage not sent")
	}
}
