package raftnode

import (
	"strconv"
	"strings"
	"time"

	"github.com/hashicorp/raft"
	"github.com/prometheus/client_golang/prometheus"
)

// raftMetrics are what this member measures itself; the rest of its
// figures are read from raft when scraped (collect).
type raftMetrics struct {
	commit        prometheus.Histogram
	leaderChanges prometheus.Counter
	leaderProbes  *prometheus.CounterVec
}

func newRaftMetrics() *raftMetrics {
	m := &raftMetrics{
		commit: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name:    "orch_raft_commit_duration_seconds",
			Help:    "Time from proposing a command on the leader to its being committed and applied here.",
			Buckets: []float64{.0005, .001, .002, .005, .01, .025, .05, .1, .25, .5, 1, 2.5},
		}),
		leaderChanges: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "orch_raft_leader_changes_total",
			Help: "Leader changes this master has seen (a new leader, or none).",
		}),
		leaderProbes: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "orch_raft_leader_probes_total",
			Help: "Probes of a silent leader's Raft port by this follower, by result: answered, refused (the leader's process is gone: an election starts at once), unreachable.",
		}, []string{"result"}),
	}
	// Every result is exported from the start, at 0, so that a rate
	// over it is defined before the first probe.
	for _, result := range []string{probeAnswered, probeRefused, probeUnreachable} {
		m.leaderProbes.WithLabelValues(result)
	}
	return m
}

// countLeaderChanges counts leader observations inside raft's own
// goroutine: the filter never lets one through, so no channel or goroutine
// of ours is involved.
func (n *Node) countLeaderChanges() {
	n.raft.RegisterObserver(raft.NewObserver(nil, false, func(o *raft.Observation) bool {
		if _, ok := o.Data.(raft.LeaderObservation); ok {
			n.metrics.leaderChanges.Inc()
		}
		return false
	}))
}

var (
	descApplied     = prometheus.NewDesc("orch_raft_applied_index", "The last Raft index applied to this master's state.", nil, nil)
	descCommit      = prometheus.NewDesc("orch_raft_commit_index", "The last Raft index this master knows committed.", nil, nil)
	descTerm        = prometheus.NewDesc("orch_raft_term", "The current Raft term.", nil, nil)
	descState       = prometheus.NewDesc("orch_raft_state", "1 for this master's Raft state (leader, follower, candidate).", []string{"state"}, nil)
	descSnapIndex   = prometheus.NewDesc("orch_raft_snapshot_index", "The Raft index of the newest snapshot on disk (0: none yet).", nil, nil)
	descSnapBytes   = prometheus.NewDesc("orch_raft_snapshot_bytes", "The size of the newest snapshot on disk (0: none yet).", nil, nil)
	descSnapAge     = prometheus.NewDesc("orch_raft_snapshot_age_seconds", "How long ago the newest snapshot on disk was taken (from its file's time).", nil, nil)
	descLastContact = prometheus.NewDesc("orch_raft_last_contact_seconds", "On a follower, time since it last heard from the leader; 0 on the leader.", nil, nil)
	descFSMPending  = prometheus.NewDesc("orch_raft_fsm_pending", "Committed commands waiting to be applied to this master's state.", nil, nil)
)

// Collector answers this member's Raft metrics for a registry.
func (n *Node) Collector() prometheus.Collector { return raftCollector{n} }

type raftCollector struct{ n *Node }

func (c raftCollector) Describe(ch chan<- *prometheus.Desc) {
	c.n.metrics.commit.Describe(ch)
	c.n.metrics.leaderChanges.Describe(ch)
	c.n.metrics.leaderProbes.Describe(ch)
	for _, d := range []*prometheus.Desc{descApplied, descCommit, descTerm, descState, descSnapIndex, descSnapBytes, descSnapAge, descLastContact, descFSMPending} {
		ch <- d
	}
}

func (c raftCollector) Collect(ch chan<- prometheus.Metric) {
	n := c.n
	n.metrics.commit.Collect(ch)
	n.metrics.leaderChanges.Collect(ch)
	n.metrics.leaderProbes.Collect(ch)
	stats := n.raft.Stats()
	gauge := func(d *prometheus.Desc, v float64, labels ...string) {
		ch <- prometheus.MustNewConstMetric(d, prometheus.GaugeValue, v, labels...)
	}
	stat := func(key string) float64 {
		v, _ := strconv.ParseFloat(stats[key], 64)
		return v
	}
	gauge(descApplied, float64(n.raft.AppliedIndex()))
	gauge(descCommit, float64(n.raft.CommitIndex()))
	gauge(descTerm, stat("term"))
	gauge(descFSMPending, stat("fsm_pending"))
	gauge(descState, 1, n.State())
	contact := 0.0
	if last := n.raft.LastContact(); !last.IsZero() && !n.IsLeader() {
		contact = time.Since(last).Seconds()
	}
	gauge(descLastContact, contact)
	var snapIndex, snapBytes float64
	if metas, err := n.snaps.List(); err == nil && len(metas) > 0 {
		snapIndex, snapBytes = float64(metas[0].Index), float64(metas[0].Size)
		if t, ok := snapshotTime(metas[0].ID); ok {
			gauge(descSnapAge, time.Since(t).Seconds())
		}
	}
	gauge(descSnapIndex, snapIndex)
	gauge(descSnapBytes, snapBytes)
}

// snapshotTime reads when a snapshot was taken from its id, which raft's
// file store names TERM-INDEX-UNIXMILLIS.
func snapshotTime(id string) (time.Time, bool) {
	i := strings.LastIndexByte(id, '-')
	if i < 0 {
		return time.Time{}, false
	}
	ms, err := strconv.ParseInt(id[i+1:], 10, 64)
	if err != nil {
		return time.Time{}, false
	}
	return time.UnixMilli(ms), true
}
