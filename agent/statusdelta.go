package agent

import (
	"sync"
	"time"

	orchpb "github.com/orch-io/orch/proto"
	"google.golang.org/protobuf/proto"
)

// fullReportInterval is how often a report carries every status even when
// nothing changed, as a last resort. A master that lost some (a restore
// from a backup) restarted, so the agent's stream broke, and the first
// report after a stream opens is a full one (resync): the interval only
// bounds what nothing else foresaw. Every 30 s, a full report was most of
// a node's traffic at rest (about 60 of 90 bytes a second up with 30
// replicas).
const fullReportInterval = 10 * time.Minute

// statusDelta trims status reports to what the masters have not taken yet.
// A report is a heartbeat first: at rest it carries no status at all. The
// first report to a master (after a move to another one), the first after
// the assignment stream opened again, and one every fullReportInterval
// carry every status.
type statusDelta struct {
	mu      sync.Mutex
	acked   map[string]*orchpb.ReplicaStatus
	volumes []*orchpb.VolumeSize
	// trust is the CA digest and certificate issuer the masters took.
	trust    [2]string
	master   string
	lastFull time.Time
}

// trim answers the report to send to master instead of report (every status
// the agent knows), and whether it is a full one.
func (d *statusDelta) trim(report *orchpb.StatusReport, master string, now time.Time) (*orchpb.StatusReport, bool) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.acked == nil || master != d.master || now.Sub(d.lastFull) >= fullReportInterval {
		return report, true
	}
	out := &orchpb.StatusReport{NodeId: report.GetNodeId()}
	for _, st := range report.GetStatuses() {
		if prev, ok := d.acked[st.GetId()]; !ok || !prev.Same(st) {
			out.Statuses = append(out.Statuses, st)
		}
	}
	if !sameVolumeSizes(d.volumes, report.GetVolumeUsage()) {
		out.VolumeUsage = report.GetVolumeUsage()
	}
	if d.trust != [2]string{report.GetCaDigest(), report.GetCertIssuer()} {
		out.CaDigest, out.CertIssuer = report.GetCaDigest(), report.GetCertIssuer()
	}
	return out, false
}

// resync makes the next report a full one: the assignment stream opened
// again, perhaps on a master that lost what it took (restored from a
// backup).
func (d *statusDelta) resync() {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.acked = nil
}

// acknowledge records that master took sent, trimmed from report.
func (d *statusDelta) acknowledge(report, sent *orchpb.StatusReport, full bool, master string, now time.Time) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if !full && d.acked == nil {
		return // resync came in between: the next report is a full one
	}
	if full {
		d.acked = make(map[string]*orchpb.ReplicaStatus, len(report.GetStatuses()))
		d.master, d.lastFull = master, now
	}
	for _, st := range sent.GetStatuses() {
		d.acked[st.GetId()] = st
	}
	// Every status of report is acked now (those trim left out were
	// already): only a larger map holds replicas the node no longer has.
	// Most reports are a heartbeat with nothing new, and skip the set.
	if len(d.acked) > len(report.GetStatuses()) {
		current := make(map[string]bool, len(report.GetStatuses()))
		for _, st := range report.GetStatuses() {
			current[st.GetId()] = true
		}
		for id := range d.acked {
			if !current[id] {
				delete(d.acked, id)
			}
		}
	}
	if full || len(sent.GetVolumeUsage()) > 0 {
		d.volumes = report.GetVolumeUsage()
	}
	if sent.GetCaDigest() != "" {
		d.trust = [2]string{sent.GetCaDigest(), sent.GetCertIssuer()}
	}
}

func sameVolumeSizes(a, b []*orchpb.VolumeSize) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if !proto.Equal(a[i], b[i]) {
			return false
		}
	}
	return true
}
