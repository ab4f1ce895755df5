package dispatcher

import (
	"github.com/prometheus/client_golang/prometheus"
)

var (
	descHeartbeats = prometheus.NewDesc("orch_dispatcher_heartbeats_total", "Heartbeats (status reports and stream keepalives) received from nodes by this master.", nil, nil)
	descStreams    = prometheus.NewDesc("orch_dispatcher_streams", "Open assignment streams from nodes to this master (kind=assignments), and how many of them also carry the peer list (kind=with_peers).", []string{"kind"}, nil)
	descHeard      = prometheus.NewDesc("orch_dispatcher_nodes_heard", "Nodes this master has heard from since it became leader or started.", nil, nil)
)

// Collector answers the dispatcher's metrics, read when scraped.
func (d *Dispatcher) Collector() prometheus.Collector { return dispatcherCollector{d} }

type dispatcherCollector struct{ d *Dispatcher }

func (c dispatcherCollector) Describe(ch chan<- *prometheus.Desc) {
	ch <- descHeartbeats
	ch <- descStreams
	ch <- descHeard
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
