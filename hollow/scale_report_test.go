package hollow_test

import (
	"fmt"
	"os"
	"strconv"
	"testing"
	"time"

	"github.com/orch-io/orch/internal/measure"
)

// scaleSizes are BenchmarkScale's sizes: the (5,000 nodes, 1,000
// services of 150 replicas, 5 zones) unless ORCH_SCALE_NODES,
// ORCH_SCALE_SERVICES or ORCH_SCALE_REPLICAS say otherwise. The nodes ask
// for the peer list, as agents with an overlay do, unless
// ORCH_SCALE_PEERS=0.
type scaleSizes struct {
	nodes, services, replicas, zones int
	peers                            bool
}

func (s scaleSizes) total() int { return s.services * s.replicas }

func scaleSizesFromEnv(b *testing.B) scaleSizes {
	s := scaleSizes{nodes: 5000, services: 1000, replicas: 150, zones: 5, peers: os.Getenv("ORCH_SCALE_PEERS") != "0"}
	for name, v := range map[string]*int{"ORCH_SCALE_NODES": &s.nodes, "ORCH_SCALE_SERVICES": &s.services, "ORCH_SCALE_REPLICAS": &s.replicas} {
		if env := os.Getenv(name); env != "" {
			n, err := strconv.Atoi(env)
			if err != nil || n < 1 {
				b.Fatalf("%s=%q: want a positive number", name, env)
			}
			*v = n
		}
	}
	if s.nodes < 2 {
		b.Fatal("ORCH_SCALE_NODES: at least 2 (one is killed)")
	}
	return s
}

// scaleReport collects BenchmarkScale's figures, each phase's own; a
// phase that failed leaves its figures unmeasured and says why.
type scaleReport struct {
	sizes scaleSizes
	// fleetNice is this process's scheduling priority (favourFleet).
	fleetNice int
	// place: from the first apply to every replica running.
	registered, applied, running time.Duration
	placeMastersCores            float64 // the three masters' CPU seconds per wall second
	placeLeaderCores             float64
	placeHollowCores             float64 // this process: hollow nodes, readers
	leaderMem                    measure.Memory
	reads                        []time.Duration
	readErrors                   int
	served                       servedReads // the leader's timing of the same reads
	applyRetries                 int
	placeLeaderChanges           float64
	placeStreamBreaks            float64
	// steady: nothing changing.
	steadyLeaderCores, steadyMastersCores float64
	steadyUp, steadyDown                  float64 // bytes/s per node
	steadyConns                           int
	steadyEntries                         float64
	steadyDispatcher                      float64 // bytes/s per node the masters count sent
	// node loss.
	lossDetected, lossReplaced time.Duration
	// leader kill.
	killWrites, killReconnected time.Duration
	killRestarted, killDownMax  int
	failed                      map[string]error // by phase: place, steady, loss, kill
}

func (r *scaleReport) fail(phase string, err error) {
	if r.failed == nil {
		r.failed = map[string]error{}
	}
	r.failed[phase] = err
}

// metrics reports the figures to the benchmark (bench/results' JSON);
// unmeasured ones are left out.
func (r *scaleReport) metrics(b *testing.B) {
	b.ReportMetric(float64(r.sizes.nodes), "nodes")
	b.ReportMetric(float64(r.sizes.services), "services")
	b.ReportMetric(float64(r.sizes.replicas), "replicas/service")
	b.ReportMetric(float64(r.sizes.zones), "zones")
	peers := 0.0
	if r.sizes.peers {
		peers = 1
	}
	b.ReportMetric(peers, "peers")
	b.ReportMetric(float64(r.fleetNice), "fleet-nice")
	b.ReportMetric(r.registered.Seconds(), "register-s")
	for _, f := range r.figures() {
		if !f.Missing {
			b.ReportMetric(f.Value, f.key)
		}
	}
}

// keyed is a figure with its key in the benchmark's results.
type keyed struct {
	measure.Figure
	key string
}

// table prints the figures against the goals, each line "| ".
func (r *scaleReport) table() string {
	var figs []measure.Figure
	for _, f := range r.figures() {
		figs = append(figs, f.Figure)
	}
	out := fmt.Sprintf("| BenchmarkScale: %d nodes, %d zones, %d services x %d replicas = %d, 3 masters, peers %v\n",
		r.sizes.nodes, r.sizes.zones, r.sizes.services, r.sizes.replicas, r.sizes.total(), r.sizes.peers)
	if r.fleetNice != 0 {
		out += fmt.Sprintf("| the fleet's process at nice %d, the masters at 0\n", r.fleetNice)
	}
	if flags := os.Getenv("ORCH_SCALE_MASTER_FLAGS"); flags != "" {
		out += fmt.Sprintf("| masters started with %s (not the defaults)\n", flags)
	}
	out += measure.Table(figs)
	for _, phase := range []string{"place", "steady", "loss", "kill"} {
		if err := r.failed[phase]; err != nil {
			out += fmt.Sprintf("| phase %s failed: %v\n", phase, err)
		}
	}
	return out
}
