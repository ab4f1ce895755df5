package controllers

import (
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// The controllers' own metrics. They are process-wide (one leader's
// controllers run at a time in a master); Collectors hands them to the
// master's registry.
var (
	servicePasses = prometheus.NewHistogramVec(prometheus.HistogramOpts{
		Name:    "orch_controller_pass_duration_seconds",
		Help:    "Reconcile passes of the service controller (scheduling included), by kind: full (every service) or incremental (the services that changed).",
		Buckets: []float64{.0001, .0005, .001, .005, .01, .05, .1, .25, .5, 1, 2.5, 5},
	}, []string{"kind"})
	replicaWrites = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "orch_controller_replica_writes_total",
		Help: "Replica writes the service controller proposed, by op (put: created, placed or changed; delete).",
	}, []string{"op"})
	heartbeatIntakeLag = prometheus.NewGauge(prometheus.GaugeOpts{
		Name: "orch_node_controller_intake_lag_seconds",
		Help: "How late the leader hears most nodes (the silence three quarters of them exceed, at most the node timeout): a node is down only when silent for the timeout beyond it.",
	})
	nodesHeld = prometheus.NewGauge(prometheus.GaugeOpts{
		Name: "orch_node_controller_held_nodes",
		Help: "Nodes silent past the node timeout that the node controller does not mark down because most nodes (55%, 3 or more) are silent at once (this master is likelier cut off or behind); 0 otherwise.",
	})
)

// Collectors are the controllers' metrics, for a master's registry.
func Collectors() []prometheus.Collector {
	return []prometheus.Collector{servicePasses, replicaWrites, nodesHeld, heartbeatIntakeLag}
}

func observePass(full bool, start time.Time, ch *Changes) {
	kind := "incremental"
	if full {
		kind = "full"
	}
	servicePasses.WithLabelValues(kind).Observe(time.Since(start).Seconds())
	if ch != nil {
		replicaWrites.WithLabelValues("put").Add(float64(len(ch.Put)))
		replicaWrites.WithLabelValues("delete").Add(float64(len(ch.Delete)))
	}
}
