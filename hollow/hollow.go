// Package hollow runs simulated agents for scale tests and benchmarks (the
// kubemark idea): each hollow node joins through the real agent channel
// (agent.Channel: token, CA pinning, registration, the assignment stream,
// batched status reports that double as heartbeats) but runs no
// containers; a replica "runs" as soon as it is assigned, and a job's run
// ends as soon as it starts (exit 0, or 1 at a configured rate). One process can
// so act as thousands of nodes against real masters.
//
// It must never be reachable as the runtime of a real agent: only
// `orchd hollow` and tests use it. It does not touch containerd, network
// namespaces or the disk.
package hollow

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"regexp"
	"sync"
	"time"

	"github.com/orch-io/orch/agent"
	orchpb "github.com/orch-io/orch/proto"
)

// Behavior decides what a hollow replica reports: its state and message,
// given how long ago it was assigned. Tests use it to play health checks
// that pass late or never.
type Behavior func(rep *orchpb.Replica, spec *orchpb.ServiceSpec, age time.Duration) (state orchpb.ReplicaState, message string)

// Running is the default behavior: running at once.
func Running(*orchpb.Replica, *orchpb.ServiceSpec, time.Duration) (orchpb.ReplicaState, string) {
	return orchpb.ReplicaRunning, ""
}

// Config configures a fleet of hollow nodes.
type Config struct {
	// Masters are API URLs (https://HOST:PORT); Token is an agent join token.
	Masters []string
	Token   string
	// Count nodes named Prefix-1 ... Prefix-Count.
	Count  int
	Prefix string
	// First numbers the first node (default 1), so that several fleets can
	// share a prefix.
	First    int
	Labels   map[string]string
	Capacity *orchpb.ResourceAmounts
	// Devices every node advertises, as orchd agent --device does; the
	// paths are names only, nothing is opened.
	Devices []*orchpb.DeviceGroup
	// LabelsFor, when set, adds labels per node (zones, say).
	LabelsFor func(i int) map[string]string
	// Address is the underlay address every node reports (default 127.0.0.1).
	Address string
	// HeartbeatInterval is how often a node reports with nothing new
	// (default 1s, the real agent's).
	HeartbeatInterval time.Duration
	// Behavior decides replica states (default Running). Job runs do not
	// ask it: they end as soon as they start, see JobFailureRate.
	Behavior Behavior
	// JobFailureRate is the fraction of job runs that exit 1; the others
	// exit 0.
	JobFailureRate float64
	// JobRunTime is how long a job run runs before it ends (default 0:
	// it ends in the first report after it starts; a longer one ends in
	// the first heartbeat after that long).
	JobRunTime time.Duration
	// Peers asks for the peer list, as an agent with an overlay does, so
	// that the masters' fan-out of node changes is measured too; the
	// hollow node only holds it.
	Peers bool
	// RegisterParallelism bounds concurrent registrations (default 32).
	RegisterParallelism int
	Logger              *slog.Logger
}

// Fleet is a running set of hollow nodes.
type Fleet struct {
	cfg    Config
	ch     func() *agent.Channel
	nodes  []*Node
	breaks streamBreaks
}

// streamBreaks counts the fleet's broken assignment streams and keeps the
// last error and a count by reason: what a scale run reports of its
// agents' reconnects.
type streamBreaks struct {
	mu       sync.Mutex
	n        int64
	last     error
	byReason map[string]int64
}

func (b *streamBreaks) add(err error) {
	reason := breakReason(err) // outside the lock: a storm breaks thousands at once
	b.mu.Lock()
	defer b.mu.Unlock()
	b.n++
	b.last = err
	if b.byReason == nil {
		b.byReason = map[string]int64{}
	}
	b.byReason[reason]++
}

// breakReason is err without what differs from node to node (URLs,
// addresses, numbers), so that breaks of one cause count together.
func breakReason(err error) string {
	if err == nil {
		return "ended"
	}
	s := quoted.ReplaceAllString(err.Error(), `"…"`)
	return digits.ReplaceAllString(s, "N")
}

var (
	quoted = regexp.MustCompile(`"[^"]*"`)
	digits = regexp.MustCompile(`[0-9]+`)
)

// StreamBreaks is how many of the fleet's assignment streams broke so far
// (each then opened again), and the last one's error.
func (f *Fleet) StreamBreaks() (int64, error) {
	f.breaks.mu.Lock()
	defer f.breaks.mu.Unlock()
	return f.breaks.n, f.breaks.last
}

// StreamBreakReasons counts the fleet's broken streams so far by reason
// (the error, less URLs and numbers).
func (f *Fleet) StreamBreakReasons() map[string]int64 {
	f.breaks.mu.Lock()
	defer f.breaks.mu.Unlock()
	return maps.Clone(f.breaks.byReason)
}

// Start joins Count hollow nodes and runs them until ctx ends. It returns
// once every node is registered.
func Start(ctx context.Context, cfg Config) (*Fleet, error) {
	switch {
	case len(cfg.Masters) == 0:
		return nil, errors.New("hollow: at least one master URL is required")
	case cfg.Token == "":
		return nil, errors.New("hollow: a join token is required")
	case cfg.Count < 1:
		return nil, errors.New("hollow: count must be at least 1")
	}
	if cfg.Prefix == "" {
		cfg.Prefix = "hollow"
	}
	if cfg.First == 0 {
		cfg.First = 1
	}
	if cfg.Address == "" {
		cfg.Address = "127.0.0.1"
	}
	if cfg.HeartbeatInterval <= 0 {
		cfg.HeartbeatInterval = time.Second
	}
	if cfg.Behavior == nil {
		cfg.Behavior = Running
	}
	if cfg.RegisterParallelism <= 0 {
		cfg.RegisterParallelism = 32
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	if cfg.Capacity == nil {
		cfg.Capacity = &orchpb.ResourceAmounts{CpuMillis: 4000, MemoryBytes: 8 << 30}
	}
	caPEM, err := fetchCA(ctx, cfg)
	if err != nil {
		return nil, err
	}
	if _, err := agent.NewChannel(cfg.Masters, cfg.Token, caPEM); err != nil {
		return nil, fmt.Errorf("hollow: the cluster CA: %w", err)
	}
	// One channel per node, kept across restarts: each node calls with
	// its own client certificate, which it re-registers with. Each trusts
	// the CAs its own stream names.
	f := &Fleet{cfg: cfg, ch: func() *agent.Channel {
		ch, _ := agent.NewChannel(cfg.Masters, cfg.Token, caPEM) // checked above
		ch.SetHeartbeatInterval(cfg.HeartbeatInterval)
		return ch
	}}
	for i := range cfg.Count {
		f.nodes = append(f.nodes, f.newNode(cfg.First+i))
	}
	sem := make(chan struct{}, cfg.RegisterParallelism)
	errs := make([]error, len(f.nodes))
	var wg sync.WaitGroup
	for i, n := range f.nodes {
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer wg.Done()
			defer func() { <-sem }()
			errs[i] = n.start(ctx)
		}()
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		for _, n := range f.nodes {
			n.Kill()
		}
		return nil, err
	}
	cfg.Logger.Info("hollow nodes running", "count", cfg.Count, "prefix", cfg.Prefix)
	return f, nil
}

func fetchCA(ctx context.Context, cfg Config) ([]byte, error) {
	var lastErr error
	for attempt := 0; attempt < 50; attempt++ {
		for _, u := range cfg.Masters {
			pem, err := agent.FetchCA(ctx, u, cfg.Token)
			if err == nil {
				return pem, nil
			}
			lastErr = err
		}
		select {
		case <-ctx.Done():
			return nil, fmt.Errorf("hollow: fetch the cluster CA: %w (last error: %v)", ctx.Err(), lastErr)
		case <-time.After(200 * time.Millisecond):
		}
	}
	return nil, fmt.Errorf("hollow: fetch the cluster CA: %w", lastErr)
}

// Nodes are the fleet's nodes, in name order.
func (f *Fleet) Nodes() []*Node { return f.nodes }

// Node returns the node named name, or nil.
func (f *Fleet) Node(name string) *Node {
	for _, n := range f.nodes {
		if n.name == name {
			return n
		}
	}
	return nil
}

// Stop ends every node and waits for them.
func (f *Fleet) Stop() {
	for _, n := range f.nodes {
		n.Kill()
	}
}

func (f *Fleet) newNode(i int) *Node {
	labels := map[string]string{}
	for k, v := range f.cfg.Labels {
		labels[k] = v
	}
	if f.cfg.LabelsFor != nil {
		for k, v := range f.cfg.LabelsFor(i) {
			labels[k] = v
		}
	}
	return &Node{
		name:     fmt.Sprintf("%s-%d", f.cfg.Prefix, i),
		labels:   labels,
		cfg:      f.cfg,
		channel:  f.ch,
		breaks:   &f.breaks,
		replicas: map[string]*replica{},
		finished: map[string]*orchpb.ReplicaStatus{},
	}
}
