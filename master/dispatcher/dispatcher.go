// Package dispatcher is the master's end of the agent channel: it registers
// nodes, pushes each agent its complete assignment set over one long-lived
// stream (swarmkit's dispatcher is the model), takes the agents' batched
// status reports, and keeps their heartbeats in memory.
//
// Heartbeats never go through Raft; only status changes do, and only when
// something changed. The dispatcher does not decide what runs where: it
// relays what the controllers wrote to the store.
package dispatcher

import (
	"bufio"
	"context"
	"crypto/rand"
	"encoding/hex"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/orch-io/orch/master/endpoint"
	"github.com/orch-io/orch/master/peer"
	"github.com/orch-io/orch/master/seal"

	"github.com/orch-io/orch/pki"

	"github.com/orch-io/orch/api"
	"github.com/orch-io/orch/master/auth"
	"github.com/orch-io/orch/master/store"
	orchpb "github.com/orch-io/orch/proto"
	"google.golang.org/protobuf/encoding/protodelim"
	"google.golang.org/protobuf/proto"
)

// Deps are what the dispatcher needs.
type Deps struct {
	Store    *store.Store
	Proposer endpoint.Proposer
	CA       *pki.CA
	// ClientCert is the master's certificate, presented to agents when the
	// master calls them (logs), so agents accept only masters.
	ClientCert *pki.LiveCert
	// DataKey opens the secret values a node's replicas use; nil leaves
	// them out (replicas that use secrets then cannot start).
	DataKey *seal.Key
	Logger  *slog.Logger
	// Now is the clock; nil means time.Now.
	Now func() time.Time
	// IsLeader tells whether this master leads (nil: always). A follower
	// answers bare heartbeats itself and relays them (RunBeatRelay).
	IsLeader func() bool
	// LeaderContact is when this master, a follower, last heard from the
	// leader (zero: never; nil: always now). A follower out of touch
	// stops answering heartbeats itself, so that they reach the leader
	// through another master.
	LeaderContact func() time.Time
	// Forward sends a request to the leader (the master's forwarder); a
	// follower uses it for the status reports it does not take itself.
	// Needed with IsLeader.
	Forward func(http.ResponseWriter, *http.Request)
}

// Dispatcher serves the agent channel.
type Dispatcher struct {
	deps Deps
	log  *slog.Logger

	mu         sync.Mutex
	heartbeats map[string]time.Time
	beats      uint64 // heartbeats received, for metrics

	// sent counts what the streams wrote, by kind; resumed counts delta
	// streams that began with an empty delta instead of the whole set.
	sent    streamStats
	resumed atomic.Uint64

	agentClient  *agentClient
	streams      *fanout
	slots        computeSlots
	endpointFeed *endpointFeed
	statuses     *statusBatcher
	relay        beatRelay
	relayed      relayStats
}

// New builds a dispatcher.
func New(deps Deps) *Dispatcher {
	if deps.Logger == nil {
		deps.Logger = slog.Default()
	}
	if deps.Now == nil {
		deps.Now = time.Now
	}
	return &Dispatcher{
		deps:         deps,
		log:          deps.Logger.With("component", "dispatcher"),
		heartbeats:   map[string]time.Time{},
		agentClient:  newAgentClient(deps.CA, deps.ClientCert),
		streams:      newFanout(deps.Store),
		slots:        newComputeSlots(),
		endpointFeed: newEndpointFeed(deps.Store),
		statuses:     &statusBatcher{proposer: deps.Proposer},
	}
}

// Routes are the agent channel's endpoints, for the API server. Their
// streams and reports are binary protobuf: JSON would cost every agent a
// parse of its whole assignment set each time it changes.
func (d *Dispatcher) Routes() []endpoint.Route {
	node := endpoint.Path("id", "the node's id, as registration answered it; the caller's client certificate must name that node")
	return []endpoint.Route{
		{Pattern: "POST /v1/agent/register", Role: auth.RoleAgent, Handler: d.register,
			Summary: "Register a new node with the join token, or an existing one again with its own client certificate (the name keeps its id), and sign its certificate request",
			In:      endpoint.Body{Types: []string{api.ContentTypeJSON}, Schema: &orchpb.NodeRegistration{}, Doc: "protojson (64-bit integers as strings)"},
			Out:     endpoint.Body{Types: []string{api.ContentTypeJSON}, Schema: &orchpb.NodeRegistrationResponse{}, Doc: "protojson (64-bit integers as strings)"}},
		{Pattern: "GET /v1/agent/nodes/{id}/assignments", Role: auth.RoleNode, Handler: d.assignments,
			Summary: "The node's assignment set, streamed: with delta=true the whole set, then only changes, and a few-byte keepalive every 5 s (the answer's X-Orch-Assignments header is delta); without, the whole set at connect, at every change and every 5 s",
			Params: []endpoint.Param{node,
				endpoint.Query("peers", "false leaves the other nodes out of the set (an agent without an overlay)"),
				endpoint.Query("delta", "true asks for the delta form"),
				endpoint.Query("since", "the digest (hex) of the set the agent holds, from its last message: when it is still current the stream begins with an empty delta"),
				endpoint.Query("beats", "true: the request body carries the node's heartbeats, each a length-delimited binary orch.v1.StatusReport with nothing but the node alive (one zero byte), taken as POST .../status takes a bare report (the answer's X-Orch-Beats header is stream)")},
			Out: endpoint.Opaque(contentTypeDelimited, "length-delimited binary orch.v1.AssignmentSet messages")},
		{Pattern: "GET /v1/agent/nodes/{id}/endpoints", Role: auth.RoleNode, Handler: d.endpoints,
			Summary: "The cluster's service endpoints for the node's DNS server, streamed: the whole set, then each change",
			Params:  []endpoint.Param{node},
			Out:     endpoint.Opaque(contentTypeDelimited, "length-delimited binary orch.v1.EndpointUpdate messages")},
		{Pattern: "POST /v1/agent/nodes/{id}/status", Role: auth.RoleNode, Handler: d.status,
			Summary: "The node's batched replica statuses; also its heartbeat",
			Params:  []endpoint.Param{node},
			In:      endpoint.Opaque("application/x-protobuf", "a binary orch.v1.StatusReport"),
			Out:     endpoint.Body{Status: http.StatusNoContent}},
		{Pattern: "POST " + peer.PathBeats, Role: auth.RoleMaster, Handler: d.relayedBeats,
			Summary: "A follower's batch of the heartbeats it answered itself (masters only; the leader keeps heartbeats)",
			In:      endpoint.Body{Types: []string{api.ContentTypeJSON}, Schema: &peer.Beats{}},
			Out:     endpoint.Body{Status: http.StatusNoContent}},
	}
}

// ServedByAnyMaster reports whether a write reaching a follower is for the
// follower itself rather than the leader: agents' status reports, whose
// bare heartbeats it relays in batches.
func ServedByAnyMaster(r *http.Request) bool {
	return r.Method == http.MethodPost && strings.HasPrefix(r.URL.Path, "/v1/agent/nodes/") && strings.HasSuffix(r.URL.Path, "/status")
}

// LastHeartbeat is when the node's agent was last heard by this master.
func (d *Dispatcher) LastHeartbeat(nodeID string) (time.Time, bool) {
	d.mu.Lock()
	defer d.mu.Unlock()
	t, ok := d.heartbeats[nodeID]
	return t, ok
}

// beat records that nodes were heard now.
func (d *Dispatcher) beat(nodes ...string) {
	now := d.deps.Now()
	d.mu.Lock()
	for _, id := range nodes {
		d.heartbeats[id] = now
	}
	d.beats += uint64(len(nodes))
	d.mu.Unlock()
}

// Exec implements apiserver.ExecSource by asking the node's agent.
func (d *Dispatcher) Exec(ctx context.Context, node *orchpb.Node, replica *orchpb.Replica, req api.ExecRequest) (io.ReadWriteCloser, error) {
	return d.agentClient.exec(ctx, node, replica, req)
}

// Logs implements apiserver.LogSource by asking the node's agent.
func (d *Dispatcher) Logs(ctx context.Context, node *orchpb.Node, replica *orchpb.Replica, container string, follow bool, tail int) (io.ReadCloser, error) {
	return d.agentClient.logs(ctx, node, replica, container, follow, tail)
}

// NodeMetrics implements apiserver.NodeMetricsSource by asking the node's
// agent.
func (d *Dispatcher) NodeMetrics(ctx context.Context, node *orchpb.Node) (io.ReadCloser, error) {
	return d.agentClient.metrics(ctx, node)
}

func newNodeID() string {
	var b [6]byte
	if _, err := rand.Read(b[:]); err != nil {
		panic("dispatcher: crypto/rand failed: " + err.Error())
	}
	return "n-" + hex.EncodeToString(b[:])
}

// contentTypeDelimited is a stream of length-delimited binary protobuf
// messages.
const contentTypeDelimited = "application/x-protobuf-delimited"

// delimitedStream is a streamed answer of length-delimited binary protobuf
// messages, each flushed to the agent as it is written.
type delimitedStream struct {
	bw      *bufio.Writer
	flusher http.Flusher
	sent    *streamCounters
}

// startDelimitedStream begins a streamed answer whose bytes and messages
// count toward the stream kind's metrics.
func (d *Dispatcher) startDelimitedStream(w http.ResponseWriter, kind string) *delimitedStream {
	w.Header().Set("Content-Type", contentTypeDelimited)
	w.WriteHeader(http.StatusOK)
	flusher, _ := w.(http.Flusher)
	return &delimitedStream{bw: bufio.NewWriter(w), flusher: flusher, sent: d.sent.of(kind)}
}

// send writes m; false means the agent is gone.
func (s *delimitedStream) send(m proto.Message) bool {
	n, err := protodelim.MarshalTo(s.bw, m)
	if err != nil {
		return false
	}
	if err := s.bw.Flush(); err != nil {
		return false
	}
	if s.flusher != nil {
		s.flusher.Flush()
	}
	s.sent.messages.Add(1)
	s.sent.bytes.Add(uint64(n))
	return true
}
