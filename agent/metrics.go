package agent

import (
	"context"
	"io"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"

	"github.com/orch-io/orch/agent/runtime"
	orchpb "github.com/orch-io/orch/proto"
)

// The agent's counters are process-wide: one agent process is one node.
var (
	restartsTotal = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "orch_agent_restarts_total",
		Help: "Containers this agent started again, by kind: main, sidecar or init.",
	}, []string{"container"})
	healthTransitions = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "orch_agent_health_results_total",
		Help: "Health check verdicts that changed a replica's health, by result: healthy or unhealthy.",
	}, []string{"result"})
	runtimeCalls = prometheus.NewHistogramVec(prometheus.HistogramOpts{
		Name:    "orch_agent_runtime_call_duration_seconds",
		Help:    "Calls to the container runtime (containerd), by call and result (ok or error); ensure_image covers image pulls and imports.",
		Buckets: []float64{.001, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10, 30},
	}, []string{"call", "result"})
)

func countRestart(kind string) { restartsTotal.WithLabelValues(kind).Inc() }

// newRegistry is the agent's registry, served at GET /metrics on its own
// endpoint (to masters, which proxy it as GET /v1/nodes/{id}/metrics).
func (a *Agent) newRegistry() *prometheus.Registry {
	reg := prometheus.NewRegistry()
	reg.MustRegister(
		collectors.NewGoCollector(),
		collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}),
		restartsTotal, healthTransitions, runtimeCalls,
		agentCollector{a},
	)
	return reg
}

var (
	descAgentReplicas = prometheus.NewDesc("orch_agent_replicas", "Replicas this agent runs, by observed state.", []string{"state"}, nil)
	descDNSQueries    = prometheus.NewDesc("orch_dns_queries_total", "Queries the node's DNS server received.", nil, nil)
	descDNSForwarded  = prometheus.NewDesc("orch_dns_forwarded_total", "Queries forwarded to the upstream resolvers.", nil, nil)
	descDNSFailures   = prometheus.NewDesc("orch_dns_forward_failures_total", "Forwarded queries no upstream answered.", nil, nil)
	descDNSRefused    = prometheus.NewDesc("orch_dns_refused_total", "Queries refused: from outside the node's subnet, or over the forwarding rate limit.", nil, nil)
)

// agentCollector reads the replicas' states and the DNS server's counters
// when scraped.
type agentCollector struct{ a *Agent }

func (c agentCollector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{descAgentReplicas, descDNSQueries, descDNSForwarded, descDNSFailures, descDNSRefused} {
		ch <- d
	}
}

func (c agentCollector) Collect(ch chan<- prometheus.Metric) {
	// The states an agent reports are always there, 0 included.
	counts := map[string]int{}
	for _, st := range []orchpb.ReplicaState{orchpb.ReplicaStarting, orchpb.ReplicaRunning, orchpb.ReplicaUnhealthy, orchpb.ReplicaFailed, orchpb.ReplicaStopped} {
		counts[string(st)] = 0
	}
	if c.a.replicas != nil {
		all, _ := c.a.replicas.statuses()
		for _, st := range all {
			counts[st.GetState()]++
		}
	}
	for state, n := range counts {
		ch <- prometheus.MustNewConstMetric(descAgentReplicas, prometheus.GaugeValue, float64(n), state)
	}
	if c.a.dns == nil {
		return
	}
	st := c.a.dns.server.Stats()
	for d, v := range map[*prometheus.Desc]uint64{descDNSQueries: st.Queries, descDNSForwarded: st.Forwarded, descDNSFailures: st.Failures, descDNSRefused: st.Refused} {
		ch <- prometheus.MustNewConstMetric(d, prometheus.CounterValue, float64(v))
	}
}

// measuredRuntime times every call to the runtime it wraps.
type measuredRuntime struct{ runtime.Runtime }

// measuredExecRuntime is a measured runtime that can exec: the optional
// interface stays visible through the wrapper (health checks look for it).
type measuredExecRuntime struct {
	measuredRuntime
	runtime.Execer
}

// measured wraps rt so its calls are timed, keeping runtime.Execer when rt
// has it.
func measured(rt runtime.Runtime) runtime.Runtime {
	if ex, ok := rt.(runtime.Execer); ok {
		return measuredExecRuntime{measuredRuntime{rt}, ex}
	}
	return measuredRuntime{rt}
}

func observeCall(call string, start time.Time, err error) {
	result := "ok"
	if err != nil {
		result = "error"
	}
	runtimeCalls.WithLabelValues(call, result).Observe(time.Since(start).Seconds())
}

func (m measuredRuntime) EnsureImage(ctx context.Context, ref string) (err error) {
	defer func(start time.Time) { observeCall("ensure_image", start, err) }(time.Now())
	return m.Runtime.EnsureImage(ctx, ref)
}

func (m measuredRuntime) ImportImage(ctx context.Context, r io.Reader) (names []string, err error) {
	defer func(start time.Time) { observeCall("import_image", start, err) }(time.Now())
	return m.Runtime.ImportImage(ctx, r)
}

func (m measuredRuntime) Create(ctx context.Context, c runtime.ContainerConfig) (err error) {
	defer func(start time.Time) { observeCall("create", start, err) }(time.Now())
	return m.Runtime.Create(ctx, c)
}

func (m measuredRuntime) Start(ctx context.Context, id string) (pid uint32, err error) {
	defer func(start time.Time) { observeCall("start", start, err) }(time.Now())
	return m.Runtime.Start(ctx, id)
}

func (m measuredRuntime) Stop(ctx context.Context, id string, grace time.Duration) (err error) {
	defer func(start time.Time) { observeCall("stop", start, err) }(time.Now())
	return m.Runtime.Stop(ctx, id, grace)
}

func (m measuredRuntime) Delete(ctx context.Context, id string) (err error) {
	defer func(start time.Time) { observeCall("delete", start, err) }(time.Now())
	return m.Runtime.Delete(ctx, id)
}

func (m measuredRuntime) List(ctx context.Context) (infos []runtime.ContainerInfo, err error) {
	defer func(start time.Time) { observeCall("list", start, err) }(time.Now())
	return m.Runtime.List(ctx)
}
