package hollow_test

import (
	"math"
	"time"

	"github.com/orch-io/orch/internal/measure"
)

// figures are the report's figures against issue 15's goals.
func (r *scaleReport) figures() []keyed {
	// A placement that failed still shows what it measured until then;
	// only the figures of its end are missing.
	placeFailed, steady, loss, kill := r.failed["place"] != nil, r.failed["steady"] != nil, r.failed["loss"] != nil, r.failed["kill"] != nil
	place := r.applied == 0
	total := float64(r.sizes.total())
	p99 := measure.Percentile(r.reads, 99)
	fig := func(key, name string, v float64, unit string, goal float64, atLeast, missing bool) keyed {
		return keyed{measure.Figure{Name: name, Value: v, Unit: unit, Goal: goal, AtLeast: atLeast, Missing: missing}, key}
	}
	info := func(key, name string, v float64, unit string, missing bool) keyed {
		return keyed{measure.Figure{Name: name, Value: v, Unit: unit, NoGoal: true, Missing: missing}, key}
	}
	// served is a latency the leader timed, as p99 and p50 (within its
	// histogram's buckets).
	served := func(key, name string, h measure.Histogram) keyed {
		return info(key+"-p99-ms", name+" p99", 1000*h.Quantile(0.99), "ms", place || h.Total() == 0)
	}
	return []keyed{
		info("apply-s", "apply (all services written)", r.applied.Seconds(), "s", place),
		fig("running-s", "apply to all replicas running", r.running.Seconds(), "s", 10, false, placeFailed),
		fig("running/s", "replicas running per second", measure.Rate(total, r.running), "/s", 15000, true, placeFailed),
		info("place-masters-cores", "3 masters' CPU while placing", r.placeMastersCores, "cores", place),
		info("place-leader-cores", "leader CPU while placing", r.placeLeaderCores, "cores", place),
		info("place-hollow-cores", "hollow process CPU while placing", r.placeHollowCores, "cores", place),
		fig("leader-rss-MB", "leader RSS after placing", float64(r.leaderMem.RSS)/(1<<20), "MB", 1536, false, placeFailed),
		info("leader-peak-rss-MB", "leader peak RSS (VmHWM)", float64(r.leaderMem.Peak)/(1<<20), "MB", placeFailed),
		fig("read-p99-ms", "API read p99 while placing", ms(p99), "ms", 100, false, place || len(r.reads) == 0),
		info("read-p50-ms", "API read p50 while placing", ms(measure.Percentile(r.reads, 50)), "ms", place || len(r.reads) == 0),
		served("read-served", "API read at the leader's handler", r.served.handler),
		info("read-served-p50-ms", "API read at the leader's handler p50", 1000*r.served.handler.Quantile(0.5), "ms", place || r.served.handler.Total() == 0),
		served("read-verify", "read barrier: leadership verified", r.served.verify),
		served("read-apply", "read barrier: read index applied", r.served.apply),
		info("reads", "API reads while placing", float64(len(r.reads)), "", place),
		info("read-errors", "API reads failed while placing", float64(r.readErrors), "", place),
		info("apply-retries", "applies retried (an error, then again)", float64(r.applyRetries), "", place),
		info("place-leader-changes", "Raft leader changes while placing", r.placeLeaderChanges, "", place || math.IsNaN(r.placeLeaderChanges)),
		info("place-stream-breaks", "agent streams broken while placing", r.placeStreamBreaks, "", place),
		fig("steady-leader-cores", "steady: leader CPU", r.steadyLeaderCores, "cores", 0.3, false, steady),
		info("steady-masters-cores", "steady: 3 masters' CPU", r.steadyMastersCores, "cores", steady),
		fig("steady-B/s/node", "steady: agent streams per node", r.steadyUp+r.steadyDown, "B/s", 50, false, steady),
		info("steady-up-B/s/node", "steady: node to master per node", r.steadyUp, "B/s", steady),
		info("steady-down-B/s/node", "steady: master to node per node", r.steadyDown, "B/s", steady),
		info("steady-dispatcher-B/s/node", "steady: message bytes masters sent per node", r.steadyDispatcher, "B/s", steady),
		info("steady-raft-entries", "steady: Raft entries in the window", r.steadyEntries, "", steady),
		info("steady-conns", "steady: agent connections counted", float64(r.steadyConns), "", steady),
		fig("nodeloss-detect-s", "node loss: detected (node down)", r.lossDetected.Seconds(), "s", 5, false, loss),
		fig("nodeloss-replaced-s", "node loss: its replicas running elsewhere", r.lossReplaced.Seconds(), "s", 5, false, loss),
		fig("leaderkill-write-s", "leader kill: writes succeed again", r.killWrites.Seconds(), "s", 3, false, kill),
		fig("leaderkill-reconnect-s", "leader kill: every node reconnected", r.killReconnected.Seconds(), "s", 10, false, kill),
		fig("leaderkill-restarted", "leader kill: replicas restarted", float64(r.killRestarted), "", 0, false, kill),
		info("leaderkill-down-max", "leader kill: most nodes down at once", float64(r.killDownMax), "", kill),
	}
}

func ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }
