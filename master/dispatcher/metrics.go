package dispatcher

import (
	"sync/atomic"

	"github.com/prometheus/client_golang/prometheus"
)

var (
	descHeartbeats = prometheus.NewDesc("orch_dispatcher_heartbeats_total", "Heartbeats (status reports and stream keepalives) received from nodes by this master.", nil, nil)
	descStreams    = prometheus.NewDesc("orch_dispatcher_streams", "Open assignment streams from nodes to this master (kind=assignments), and how many of them also carry the peer list (kind=with_peers).", []string{"kind"}, nil)
	descHeard      = prometheus.NewDesc("orch_dispatcher_nodes_heard", "Nodes this master has heard from since it became leader or started.", nil, nil)
	descSentBytes  = prometheus.NewDesc("orch_dispatcher_stream_sent_bytes_total", "Bytes of messages written to agent streams, by stream kind (whole: assignment sets of v0.1.0 agents, delta: assignment deltas, endpoints).", []string{"stream"}, nil)
	descSentMsgs   = prometheus.NewDesc("orch_dispatcher_stream_messages_total", "Messages written to agent streams, by stream kind.", []string{"stream"}, nil)
	descRelays     = prometheus.NewDesc("orch_dispatcher_beat_relays_total", "Batches of heartbeats this master, a follower, relayed to the leader, by result (ok, failed: the batch is dropped).", []string{"result"}, nil)
	descCutOff     = prometheus.NewDesc("orch_dispatcher_streams_cut_off_total", "Assignment streams this master, a follower out of touch with the leader, ended when a heartbeat came up them, so that the agent beats through another master.", nil, nil)
	descResumed    = prometheus.NewDesc("orch_dispatcher_streams_resumed_total", "Delta assignment streams that began with an empty delta because the agent already held the current set.", nil, nil)
)

// Collector answers the dispatcher's metrics, read when scraped.
func (d *Dispatcher) Collector() prometheus.Collector { return dispatcherCollector{d} }

type dispatcherCollector struct{ d *Dispatcher }

func (c dispatcherCollector) Describe(ch chan<- *prometheus.Desc) {
	ch <- descHeartbeats
	ch <- descStreams
	ch <- descHeard
	ch <- descSentBytes
	ch <- descSentMsgs
	ch <- descResumed
	ch <- descRelays
	ch <- descCutOff
}

func (c dispatcherCollector) Collect(ch chan<- prometheus.Metric) {
	d := c.d
	d.mu.Lock()
	beats, heard := d.beats, len(d.heartbeats)
	d.mu.Unlock()
	assignments, peers := d.streams.counts()
	ch <- prometheus.MustNewConstMetric(descHeartbeats, prometheus.CounterValue, float64(beats))
	ch <- prometheus.MustNewConstMetric(descHeard, prometheus.GaugeValue, float64(heard))
	ch <- prometheus.MustNewConstMetric(descStreams, prometheus.GaugeValue, float64(assignments), "assignments")
	ch <- prometheus.MustNewConstMetric(descStreams, prometheus.GaugeValue, float64(peers), "with_peers")
	for _, kind := range streamKinds {
		s := d.sent.of(kind)
		ch <- prometheus.MustNewConstMetric(descSentBytes, prometheus.CounterValue, float64(s.bytes.Load()), kind)
		ch <- prometheus.MustNewConstMetric(descSentMsgs, prometheus.CounterValue, float64(s.messages.Load()), kind)
	}
	ch <- prometheus.MustNewConstMetric(descResumed, prometheus.CounterValue, float64(d.resumed.Load()))
	ch <- prometheus.MustNewConstMetric(descRelays, prometheus.CounterValue, float64(d.relayed.ok.Load()), "ok")
	ch <- prometheus.MustNewConstMetric(descRelays, prometheus.CounterValue, float64(d.relayed.failed.Load()), "failed")
	ch <- prometheus.MustNewConstMetric(descCutOff, prometheus.CounterValue, float64(d.relayed.cutOff.Load()))
}

// counts answers how many assignment streams are open, and how many of
// them carry peers.
func (f *fanout) counts() (assignments, peers int) {
	f.mu.Lock()
	defer f.mu.Unlock()
	for _, subs := range f.byNode {
		assignments += len(subs)
	}
	return assignments, len(f.peers)
}

// streamKinds are the streams the dispatcher serves: assignment sets whole
// (agents of v0.1.0) or as deltas, and endpoint updates.
var streamKinds = []string{"whole", "delta", "endpoints"}

// streamCounters are what one kind of stream wrote.
type streamCounters struct {
	messages, bytes atomic.Uint64
}

// streamStats holds the counters of every stream kind.
type streamStats struct {
	whole, delta, endpoints streamCounters
}

func (s *streamStats) of(kind string) *streamCounters {
	switch kind {
	case "whole":
		return &s.whole
	case "delta":
		return &s.delta
	default:
		return &s.endpoints
	}
}

// Streams is how many assignment streams this master serves now.
func (d *Dispatcher) Streams() int {
	n, _ := d.streams.counts()
	return n
}
