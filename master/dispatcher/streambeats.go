package dispatcher

import (
	"bufio"
	"context"
	"io"
	"net/http"
	"time"

	orchpb "github.com/orch-io/orch/proto"
	"google.golang.org/protobuf/encoding/protodelim"
)

// headerBeats tells an agent that asked with ?beats=true that this master
// takes its heartbeats from the stream's request body. A master without it
// (v0.1.0) ignores the body; the agent then closes it and beats
// with requests.
const headerBeats = "X-Orch-Beats"

// A heartbeat sent as a request costs the node and the master a request
// and an answer every second: headers both ways, a handler, about 180
// bytes on the wire. Sent up the stream the node holds open anyway, it is
// one HTTP/2 data frame of one byte (an empty StatusReport, delimited):
// about 30 bytes, and no handler at all.

// acceptStreamBeats takes the heartbeats that come up the request body of
// nodeID's assignment stream until the stream ends; the stream is to be
// served with the request it returns, which ends when this master, a
// follower, takes a beat out of touch with the leader: the agent then
// opens its stream, and beats, at another master. Call stop when the
// handler returns. It must run before the stream's first write, which
// sends the header.
func (d *Dispatcher) acceptStreamBeats(w http.ResponseWriter, r *http.Request, nodeID string) (served *http.Request, stop func()) {
	ctx, cutOff := context.WithCancel(r.Context())
	w.Header().Set(headerBeats, "stream")
	rc := http.NewResponseController(w)
	// HTTP/1.1 reads no body once the answer began unless told; HTTP/2
	// always can. The stream lives for hours: no read deadline.
	_ = rc.EnableFullDuplex()
	_ = rc.SetReadDeadline(time.Time{})
	done := make(chan struct{})
	go func() {
		defer close(done)
		// The stream's request is the node speaking, signed by its own
		// certificate: heard now, not a beat interval later (a node
		// registered at a busy follower would otherwise reach the leader
		// only after its first relayed beat).
		if !d.takeBeat(nodeID) || !d.readStreamBeats(r.Body, nodeID) {
			d.relayed.cutOff.Add(1)
			d.log.Debug("ending a node's stream: no word from the leader, so its heartbeats would go nowhere", "node", nodeID)
			cutOff()
		}
	}()
	return r.WithContext(ctx), func() {
		cutOff()
		// A deadline passed wakes a read in progress (HTTP/1.1 would
		// otherwise hold Close until the client sends more).
		_ = rc.SetReadDeadline(time.Now())
		_ = r.Body.Close()
		<-done
	}
}

// maxBeatSize bounds one message of the beats body: a bare heartbeat is
// one byte.
const maxBeatSize = 1 << 10

// readStreamBeats takes each bare heartbeat of body as a heartbeat of
// nodeID, until body ends or carries something else (statuses still go as
// requests, so that their answer tells the agent they were taken). It is
// false when a beat came while this follower was out of touch with the
// leader.
func (d *Dispatcher) readStreamBeats(body io.Reader, nodeID string) bool {
	r := bufio.NewReaderSize(body, 64)
	for {
		var beat orchpb.StatusReport
		if err := (protodelim.UnmarshalOptions{MaxSize: maxBeatSize}).UnmarshalFrom(r, &beat); err != nil {
			return true
		}
		if !beat.Bare() || (beat.GetNodeId() != "" && beat.GetNodeId() != nodeID) {
			d.log.Warn("an assignment stream carried more than heartbeats; no more are taken from it", "node", nodeID)
			return true
		}
		if !d.takeBeat(nodeID) {
			return false
		}
	}
}

// takeBeat records a bare heartbeat of nodeID: the leader keeps it, a
// follower in touch with the leader relays it in its next batch. It is
// false when this master can do neither.
func (d *Dispatcher) takeBeat(nodeID string) bool {
	if d.leads() {
		// Per heartbeat: no slice, as Beat would make for its batch.
		if d.deps.Store.Node(nodeID) != nil {
			d.beat(nodeID)
		}
		return true
	}
	if !d.inTouchWithLeader() {
		return false
	}
	d.relay.add(nodeID)
	return true
}
