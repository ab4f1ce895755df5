package master

import (
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"

	"github.com/orch-io/orch/master/controllers"
	"github.com/orch-io/orch/master/store"
)

// newRegistry is this master's Prometheus registry, served at GET /metrics
// (docs/metrics.md): the process, Raft, the store, and what the API server,
// the dispatcher and the controllers register on it.
func (m *Master) newRegistry() *prometheus.Registry {
	reg := prometheus.NewRegistry()
	reg.MustRegister(
		collectors.NewGoCollector(),
		collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}),
		m.raft.Collector(),
		storeCollector{m.store},
	)
	reg.MustRegister(controllers.Collectors()...)
	reg.MustRegister(m.readWaits, m.handshakes.waiting, m.handshakes.shed)
	return reg
}

// newReadWaits times the two waits of a linearizable read (readBarrier).
func newReadWaits() *prometheus.HistogramVec {
	h := prometheus.NewHistogramVec(prometheus.HistogramOpts{
		Name:    "orch_raft_read_index_duration_seconds",
		Help:    "The two waits of a linearizable read on this master: stage verify, the leader confirming with a quorum that it still leads (asked over the API from a follower); stage apply, this master applying what was committed when the read began.",
		Buckets: []float64{.0005, .001, .002, .005, .01, .025, .05, .1, .25, .5, 1, 2.5},
	}, []string{"stage"})
	// Exported from the start, at zero, before the first read.
	h.WithLabelValues("verify")
	h.WithLabelValues("apply")
	return h
}

// timedRead runs one wait of a linearizable read and records how long it
// took as stage.
func (m *Master) timedRead(stage string, wait func() error) error {
	start := time.Now()
	err := wait()
	m.readWaits.WithLabelValues(stage).Observe(time.Since(start).Seconds())
	return err
}

var (
	descObjects  = prometheus.NewDesc("orch_store_objects", "Objects in the replicated state, by kind.", []string{"kind"}, nil)
	descReplicas = prometheus.NewDesc("orch_replicas", "Replicas by observed state (empty: not reported yet).", []string{"state"}, nil)
	descNodes    = prometheus.NewDesc("orch_nodes", "Nodes by state.", []string{"state"}, nil)
	descIndex    = prometheus.NewDesc("orch_store_index", "The Raft index the store has applied.", nil, nil)
	descUnplaced = prometheus.NewDesc("orch_scheduler_unplaced_replicas", "Replicas meant to run that no node holds (pending placement).", nil, nil)
)

// storeCollector reads the store's census when scraped: nothing is counted
// on the write path.
type storeCollector struct{ s *store.Store }

func (c storeCollector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{descObjects, descReplicas, descNodes, descIndex, descUnplaced} {
		ch <- d
	}
}

func (c storeCollector) Collect(ch chan<- prometheus.Metric) {
	census := c.s.Census()
	emit := func(d *prometheus.Desc, counts map[string]int) {
		for label, n := range counts {
			ch <- prometheus.MustNewConstMetric(d, prometheus.GaugeValue, float64(n), label)
		}
	}
	emit(descObjects, census.Objects)
	emit(descReplicas, census.ReplicasByState)
	emit(descNodes, census.NodesByState)
	ch <- prometheus.MustNewConstMetric(descIndex, prometheus.GaugeValue, float64(c.s.Index()))
	ch <- prometheus.MustNewConstMetric(descUnplaced, prometheus.GaugeValue, float64(census.Unplaced))
}
